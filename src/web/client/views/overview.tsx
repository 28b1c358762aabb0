import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { formatBytes } from '../format';
import { Page, Status } from './common';
import type { CollectionInfo as Collection } from '../../api-types.js';

interface Overview {
  user: { name: string; email: string | null; usedBytes: number; quotaBytes: number | null };
  calendars: Collection[];
  addressBooks: Collection[];
  devices: number;
}

export function OverviewView() {
  const [data, setData] = useState<Overview>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<Overview>('GET', 'overview').then(setData, (e) => setError(messageOf(e)));
  }, []);

  return (
    <Page title="Overview">
      <Status error={error} />
      {data && (
        <div class="cards">
          <article class="card">
            <h2>Storage</h2>
            {data.user.quotaBytes === null ? (
              <p>{formatBytes(data.user.usedBytes)} used, no quota.</p>
            ) : (
              <>
                <p id="storage-text">
                  {formatBytes(data.user.usedBytes)} of {formatBytes(data.user.quotaBytes)} used
                </p>
                <meter aria-labelledby="storage-text" min={0} max={data.user.quotaBytes} value={data.user.usedBytes} high={data.user.quotaBytes * 0.9} />
              </>
            )}
            <p>
              <a href="#/files">Browse files</a>
            </p>
          </article>
          <article class="card">
            <h2>Calendars</h2>
            <ul class="plain">
              {data.calendars.map((c) => (
                <li key={c.id}>
                  <span class="swatch" style={{ background: c.color ?? 'transparent' }} aria-hidden="true" /> {c.displayName}{' '}
                  <span class="muted">({c.count})</span>
                </li>
              ))}
            </ul>
            <p>
              <a href="#/calendars">Manage calendars</a>
            </p>
          </article>
          <article class="card">
            <h2>Contacts</h2>
            <ul class="plain">
              {data.addressBooks.map((c) => (
                <li key={c.id}>
                  {c.displayName} <span class="muted">({c.count})</span>
                </li>
              ))}
            </ul>
            <p>
              <a href="#/contacts">Manage address books</a>
            </p>
          </article>
          <article class="card">
            <h2>Devices</h2>
            <p>{data.devices === 1 ? 'One device is connected.' : `${data.devices} devices are connected.`}</p>
            <p>
              <a href="#/devices">Connect a device</a>
            </p>
          </article>
        </div>
      )}
    </Page>
  );
}
