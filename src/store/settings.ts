import type { Queryable } from './db.js';

/** The names of the server-wide settings (migration 14). */
export type SettingName = 'phone_region';

export async function readSetting(q: Queryable, name: SettingName): Promise<string | undefined> {
  const rows = await q.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]);
  return rows[0]?.value;
}

export async function writeSetting(q: Queryable, name: SettingName, value: string): Promise<void> {
  await q.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value', [name, value]);
}
