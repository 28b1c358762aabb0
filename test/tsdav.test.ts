import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDAVClient } from 'tsdav';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => (server = await startTestServer()));
after(() => server.close());

const event = (uid: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tsdav test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260201T100000Z\r\nDTEND:20260201T110000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

/** An independent CalDAV client (npm tsdav) given only the base URL, a user name and a password. */
test('tsdav discovers the calendars from the base URL, creates, updates, deletes and syncs', { timeout: 60_000 }, async () => {
  const user = server.users[0]!;
  const client = await createDAVClient({
    serverUrl: server.url,
    credentials: { username: user.name, password: user.password },
    authMethod: 'Basic',
    defaultAccountType: 'caldav',
  });
  const calendars = await client.fetchCalendars();
  const personal = calendars.find((c) => c.url.endsWith('/dav/calendars/alice/personal/'));
  assert.ok(personal, `calendars found: ${calendars.map((c) => c.url).join(', ')}`);
  assert.ok(personal.syncToken, 'the calendar has a sync token');

  const created = await client.createCalendarObject({ calendar: personal, filename: 'a.ics', iCalString: event('tsdav-a', 'First') });
  assert.ok(created.ok);
  await client.createCalendarObject({ calendar: personal, filename: 'b.ics', iCalString: event('tsdav-b', 'Second') });
  let objects = await client.fetchCalendarObjects({ calendar: personal });
  assert.deepEqual(objects.map((o) => o.url.split('/').at(-1)).sort(), ['a.ics', 'b.ics']);

  const a = objects.find((o) => o.url.endsWith('a.ics'))!;
  const updated = await client.updateCalendarObject({ calendarObject: { ...a, data: event('tsdav-a', 'First, edited') } });
  assert.ok(updated.ok);
  const b = objects.find((o) => o.url.endsWith('b.ics'))!;
  assert.ok((await client.deleteCalendarObject({ calendarObject: b })).ok);

  // Incremental sync from the token read before the changes.
  const synced = await client.smartCollectionSync({
    collection: { ...personal, objectMultiGet: client.calendarMultiGet },
    method: 'webdav',
    detailedResult: true,
  });
  const { created: added, updated: changed, deleted } = synced.objects;
  const names = (list: Array<{ url: string }>) => list.map((o) => o.url.split('/').at(-1)).sort();
  assert.deepEqual([...names(added), ...names(changed)].sort(), ['a.ics']);
  // b.ics was created and deleted after the token: RFC 6578 §3.5.2 lets it be reported as removed.
  assert.ok(names(deleted).every((n) => n === 'b.ics'), names(deleted).join());
  assert.match(String([...added, ...changed][0]!.data), /First, edited/);
  objects = await client.fetchCalendarObjects({ calendar: personal });
  assert.deepEqual(objects.map((o) => o.url.split('/').at(-1)), ['a.ics']);
});

const card = (uid: string, fn: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${fn};;;;\r\nEMAIL;type=INTERNET:${uid}@example.org\r\nEND:VCARD\r\n`;

test('tsdav discovers the address book from the base URL, creates, updates, deletes and syncs cards', { timeout: 60_000 }, async () => {
  const user = server.users[0]!;
  const client = await createDAVClient({
    serverUrl: server.url,
    credentials: { username: user.name, password: user.password },
    authMethod: 'Basic',
    defaultAccountType: 'carddav',
  });
  const books = await client.fetchAddressBooks();
  const contacts = books.find((b) => b.url.endsWith('/dav/addressbooks/alice/contacts/'));
  assert.ok(contacts, `address books found: ${books.map((b) => b.url).join(', ')}`);
  assert.ok(contacts.syncToken);

  assert.ok((await client.createVCard({ addressBook: contacts, filename: 'ann.vcf', vCardString: card('ann', 'Ann') })).ok);
  assert.ok((await client.createVCard({ addressBook: contacts, filename: 'bob.vcf', vCardString: card('bob', 'Bob') })).ok);
  const cards = await client.fetchVCards({ addressBook: contacts });
  assert.deepEqual(cards.map((c) => c.url.split('/').at(-1)).sort(), ['ann.vcf', 'bob.vcf']);
  const ann = cards.find((c) => c.url.endsWith('ann.vcf'))!;
  assert.ok((await client.updateVCard({ vCard: { ...ann, data: card('ann', 'Ann Edited') } })).ok);
  assert.ok((await client.deleteVCard({ vCard: cards.find((c) => c.url.endsWith('bob.vcf'))! })).ok);

  const synced = await client.smartCollectionSync({
    collection: { ...contacts, objectMultiGet: client.addressBookMultiGet },
    method: 'webdav',
    detailedResult: true,
  });
  const changed = [...synced.objects.created, ...synced.objects.updated];
  assert.deepEqual(changed.map((o) => o.url.split('/').at(-1)), ['ann.vcf']);
  assert.match(String(changed[0]!.data), /FN:Ann Edited/);
});
