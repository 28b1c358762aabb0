import { useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import type { SignedIn } from '../app';
import { Page, Status } from './common';

export function AccountView({ user }: { user: SignedIn }) {
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string>();
  const [info, setInfo] = useState<string>();

  const change = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setInfo(undefined);
    if (password !== repeat) {
      setError('The new passwords differ.');
      return;
    }
    try {
      await api('POST', 'account/password', { current, password });
      setCurrent('');
      setPassword('');
      setRepeat('');
      setInfo('Password changed. Other browsers were signed out; devices keep their own passwords.');
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <Page title="Account">
      <p>
        Signed in as <strong>{user.name}</strong>
        {user.isAdmin ? ' (administrator)' : ''}.
      </p>
      <h2>Change password</h2>
      <form onSubmit={change} class="stack narrow">
        <label for="current-password">Current password</label>
        <input id="current-password" type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        <label for="new-password">New password (at least 8 characters)</label>
        <input id="new-password" type="password" autoComplete="new-password" minLength={8} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <label for="repeat-password">New password again</label>
        <input id="repeat-password" type="password" autoComplete="new-password" minLength={8} required value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
        <button type="submit">Change password</button>
      </form>
      <Status error={error} info={info} />
      <h2>Devices</h2>
      <p>
        <a href="#/devices">See and disconnect your devices</a>.
      </p>
      <h2>Export everything</h2>
      <p>One zip archive with every calendar as an .ics file, every address book as a .vcf file, and your files as they are.</p>
      <p>
        <a class="button" href="api/account/export" download>
          Download archive
        </a>
      </p>
    </Page>
  );
}
