import { useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { Status } from './common';

interface Props {
  onSignedIn(answer: { user: { name: string; isAdmin: boolean }; csrfToken: string }): void;
}

export function LoginView({ onSignedIn }: Props) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api('POST', 'session', { name, password }));
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>Davenport</h1>
      <p>Sign in with your account password. Device passwords only work in calendar, contacts and file apps.</p>
      <form onSubmit={submit} class="stack">
        <label for="login-name">User name</label>
        <input id="login-name" name="username" autoComplete="username" autoCapitalize="none" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <Status error={error} />
    </main>
  );
}
