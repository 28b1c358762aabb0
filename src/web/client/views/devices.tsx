import { useEffect, useState } from 'preact/hooks';
import { api, getCsrfToken, messageOf } from '../api';
import { formatDate } from '../format';
import { Copyable, Page, Status } from './common';
import type { DeviceSetup as Setup } from '../../api-types.js';


interface Device {
  id: number;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

interface Created {
  device: { id: number; name: string; secret: string };
  setup: Setup;
}

export function DevicesView() {
  const [devices, setDevices] = useState<Device[]>([]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<Created>();
  const [error, setError] = useState<string>();

  const load = () => api<{ devices: Device[] }>('GET', 'devices').then((d) => setDevices(d.devices), (e) => setError(messageOf(e)));
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      setCreated(await api<Created>('POST', 'devices', { name }));
      setName('');
      await load();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const revoke = async (device: Device) => {
    if (!confirm(`Disconnect “${device.name}”? It will no longer be able to sign in.`)) return;
    try {
      await api('DELETE', `devices/${device.id}`);
      if (created?.device.id === device.id) setCreated(undefined);
      await load();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <Page title="Connect a device">
      <p>Each phone, computer or app gets its own password, so you can disconnect one without touching the others.</p>
      <form onSubmit={create} class="inline">
        <label for="device-name">Device name</label>
        <input id="device-name" required maxLength={100} placeholder="e.g. Anna’s iPhone" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit">Create app password</button>
      </form>
      <Status error={error} />
      {created && <SetUp created={created} onDone={() => setCreated(undefined)} />}

      <h2>Connected devices</h2>
      {devices.length === 0 ? (
        <p>No device yet.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.id}>
                <td>{d.name}</td>
                <td>{formatDate(d.createdAt)}</td>
                <td>{formatDate(d.lastUsedAt)}</td>
                <td>
                  <button type="button" class="small danger" onClick={() => revoke(d)} aria-label={`Revoke ${d.name}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

/** The new password, shown once, and how to set up each kind of device with it. */
function SetUp({ created, onDone }: { created: Created; onDone(): void }) {
  const { device, setup } = created;
  return (
    <section class="setup" aria-labelledby="setup-title">
      <h2 id="setup-title">Set up “{device.name}”</h2>
      <p class="notice">This password is shown only now. Type or paste it into the device; you will not see it again.</p>
      <Copyable id="app-password" label="App password" value={device.secret} />
      <Copyable id="server-address" label="Server address" value={setup.serverUrl} />
      <Copyable id="user-name" label="User name" value={setup.userName} />

      <details open>
        <summary>iPhone, iPad and Mac</summary>
        <p>Download the profile and open it: it adds your calendars and contacts in one step (on iPhone: Settings → Profile Downloaded → Install).</p>
        <form method="post" action={`api/devices/${device.id}/mobileconfig`}>
          <input type="hidden" name="password" value={device.secret} />
          <input type="hidden" name="csrf" value={getCsrfToken()} />
          <button type="submit">Download configuration profile</button>
        </form>
      </details>

      <details open>
        <summary>Android (DAVx⁵)</summary>
        <p>Scan the code with the phone, or open the link on the phone with DAVx⁵ installed, then enter the app password.</p>
        <img class="qr" src={setup.davx5Qr} alt={`QR code for ${setup.davx5Link}`} width={200} height={200} />
        <p>
          <a href={setup.davx5Link}>Open in DAVx⁵</a>
        </p>
      </details>

      <details>
        <summary>Thunderbird</summary>
        <ol>
          <li>Calendar: New Calendar → On the Network; Contacts: New Address Book → CardDAV.</li>
          <li>User name <code>{setup.userName}</code>, location <code>{setup.serverUrl}</code>.</li>
          <li>Enter the app password when asked, and pick the calendars or address books to add.</li>
        </ol>
      </details>

      <details>
        <summary>GNOME (Calendar, Contacts, Evolution)</summary>
        <ol>
          <li>Settings → Online Accounts → Calendar, Contacts and Files (WebDAV), or in Evolution: File → New → Collection Account.</li>
          <li>Server <code>{setup.serverUrl}</code>, user name <code>{setup.userName}</code>, and the app password.</li>
        </ol>
      </details>

      <details>
        <summary>Files on Windows, macOS and Linux</summary>
        <ul>
          <li>
            Windows: Explorer → This PC → Map network drive → <code>{setup.filesUrl}</code> (Windows requires HTTPS for this).
          </li>
          <li>
            macOS: Finder → Go → Connect to Server → <code>{setup.filesUrl}</code>
          </li>
          <li>
            Linux (GNOME Files, Dolphin): <code>{setup.filesDavUrl}</code>
          </li>
        </ul>
      </details>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </section>
  );
}
