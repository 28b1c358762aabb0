import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { formatBytes, parseBytes } from '../format';
import { Page, Status, useFeedback } from './common';

interface UserRow {
  id: number;
  name: string;
  email: string | null;
  isAdmin: boolean;
  quotaBytes: number | null;
  usedBytes: number;
}

export function AdminView({ self }: { self: string }) {
  const [users, setUsers] = useState<UserRow[]>([]);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);

  const { error, setError, info, run } = useFeedback(() => load());
  const load = () => api<{ users: UserRow[] }>('GET', 'admin/users').then((d) => setUsers(d.users), (e) => setError(messageOf(e)));
  useEffect(() => void load(), []);


  const create = (e: Event) => {
    e.preventDefault();
    const created = name;
    void run(async () => {
      await api('POST', 'admin/users', { name, email: email || undefined, password, isAdmin });
      setName('');
      setEmail('');
      setPassword('');
      setIsAdmin(false);
    }, `Created ${created}.`);
  };

  const resetPassword = (u: UserRow) => {
    const next = prompt(`New password for ${u.name} (at least 8 characters)`);
    if (!next) return;
    void run(() => api('POST', `admin/users/${u.id}/password`, { password: next }), `Password of ${u.name} changed.`);
  };

  const setQuota = (u: UserRow) => {
    const text = prompt(`Quota for ${u.name}, e.g. 50G or 500M; empty for none`, u.quotaBytes === null ? '' : formatBytes(u.quotaBytes).replace(/ ([KMGT])iB/, '$1'));
    if (text === null) return;
    const bytes = text.trim() === '' ? null : parseBytes(text);
    if (bytes === undefined) {
      setError(`“${text}” is not a size.`);
      return;
    }
    void run(() => api('PUT', `admin/users/${u.id}/quota`, { bytes }), `Quota of ${u.name} set.`);
  };

  const remove = (u: UserRow) => {
    if (!confirm(`Delete ${u.name} and everything they store? This cannot be undone.`)) return;
    void run(() => api('DELETE', `admin/users/${u.id}`), `Deleted ${u.name}.`);
  };

  return (
    <Page title="Users">
      <h2>New user</h2>
      <form onSubmit={create} class="stack narrow">
        <label for="user-name">User name</label>
        <input id="user-name" required autoCapitalize="none" pattern="[a-z0-9_\-][a-z0-9._\-]{0,63}" title="a-z, 0-9, '.', '_' or '-'" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="user-email">Email (optional)</label>
        <input id="user-email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <label for="user-password">Password (at least 8 characters)</label>
        <input id="user-password" type="password" autoComplete="new-password" minLength={8} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.currentTarget.checked)} /> Administrator
        </label>
        <button type="submit">Create user</button>
      </form>
      <Status error={error} info={info} />
      <h2>All users</h2>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col" class="wide">
              Email
            </th>
            <th scope="col">Storage</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>
                {u.name}
                {u.isAdmin ? ' (admin)' : ''}
              </td>
              <td class="wide">{u.email ?? ''}</td>
              <td>
                {formatBytes(u.usedBytes)}
                {u.quotaBytes === null ? '' : ` of ${formatBytes(u.quotaBytes)}`}
              </td>
              <td class="row-actions">
                <button type="button" class="small secondary" onClick={() => resetPassword(u)} aria-label={`Reset password of ${u.name}`}>
                  Password
                </button>
                <button type="button" class="small secondary" onClick={() => setQuota(u)} aria-label={`Set quota of ${u.name}`}>
                  Quota
                </button>
                {u.name !== self && (
                  <button type="button" class="small danger" onClick={() => remove(u)} aria-label={`Delete ${u.name}`}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
