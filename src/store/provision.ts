import { createAddressBook } from './addressbooks.js';
import { createCalendar, DEFAULT_COMPONENTS } from './calendars.js';
import type { Queryable } from './db.js';
import { insertNode } from './nodes.js';

/** The roots of a user's spaces: /dav/<space>/<user>/. */
export const SPACE_ROOTS = ['files', 'calendars', 'addressbooks'] as const;
export type SpaceRoot = (typeof SPACE_ROOTS)[number];

/** What every new user starts with: a root per space, a calendar 'personal' and an address book 'contacts'. */
export async function provisionUser(tx: Queryable, userId: number): Promise<void> {
  const roots = new Map<string, number>();
  for (const name of SPACE_ROOTS) roots.set(name, (await insertNode(tx, { userId, parentId: null, name, kind: 'collection' })).id);
  await createCalendar(tx, userId, roots.get('calendars')!, 'personal', { components: DEFAULT_COMPONENTS, timezone: null });
  await createAddressBook(tx, userId, roots.get('addressbooks')!, 'contacts');
}
