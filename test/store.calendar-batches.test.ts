import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import { calendarObjectWrites, type CalendarObjectWrite } from '../src/store/calendar-batches.js';
import { fileEtag, resolvePath } from '../src/store/nodes.js';
import { WriteBatcher } from '../src/store/write-batches.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { countingPipelined } from './helpers/store.js';

let server: TestServer;
before(async () => (server = await startTestServer()));
after(() => server.close());

const home = '/dav/calendars/alice/';
const C = 'urn:ietf:params:xml:ns:caldav';

function event(uid: string, day: number, summary = uid): string {
  const date = `202603${String(day).padStart(2, '0')}`;
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${date}T100000Z`, `DTEND:${date}T110000Z`, `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

async function calendar(name: string): Promise<string> {
  const url = `${home}${name}/`;
  assert.equal((await server.request('MKCALENDAR', url)).status, 201);
  return url;
}

/** Runs `work` for every item with eight concurrent clients, as the calendar benchmark does. */
async function eightAtOnce<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i]!);
  }));
}

async function syncCollection(url: string): Promise<{ hrefs: string[]; token: string }> {
  const res = await server.request('REPORT', url, {
    headers: { 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>',
  });
  assert.equal(res.status, 207);
  const text = await res.text();
  return { hrefs: [...text.matchAll(/<D:href>([^<]+)<\/D:href>/g)].map((m) => m[1]!), token: /<D:sync-token>([^<]+)</.exec(text)![1]! };
}

test('events PUT by eight clients at once all land, indexed: a time-range query and sync-collection find each once', async () => {
  const url = await calendar('batched');
  const days = Array.from({ length: 60 }, (_, i) => ({ name: `ev${i}.ics`, uid: `uid-${i}@test`, day: (i % 28) + 1 }));
  const etags = new Map<string, string>();
  await eightAtOnce(days, async ({ name, uid, day }) => {
    const res = await server.request('PUT', url + name, { headers: { 'Content-Type': 'text/calendar', 'If-None-Match': '*' }, body: event(uid, day) });
    assert.equal(res.status, 201, name);
    etags.set(name, res.headers.get('etag')!);
  });
  // The index: the first ten days of March hold the events of days 1-10.
  const query = await server.request('REPORT', url, {
    headers: { Depth: '1', 'Content-Type': 'application/xml' },
    body: `<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/></D:prop>
      <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260301T000000Z" end="20260311T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
  });
  assert.equal(query.status, 207);
  const found = [...(await query.text()).matchAll(/ev(\d+)\.ics/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  assert.deepEqual(found, days.filter((d) => d.day <= 10).map((_, i, all) => Number(all[i]!.name.slice(2, -4))).sort((a, b) => a - b));
  // One change-log entry each, on tokens of their own, and the ETags answered are the stored ones.
  const { hrefs } = await syncCollection(url);
  assert.equal(hrefs.length, days.length);
  assert.equal(new Set(hrefs).size, days.length);
  for (const { name } of days.slice(0, 5)) {
    const got = await server.request('GET', url + name);
    assert.equal(got.headers.get('etag'), etags.get(name));
  }
});

test('eight clients replacing events at once (no precondition): each ends with its last version, indexed anew', async () => {
  const url = await calendar('batched-replace');
  const names = Array.from({ length: 16 }, (_, i) => `r${i}.ics`);
  await eightAtOnce(names, async (name) => assert.equal((await server.request('PUT', url + name, { headers: { 'Content-Type': 'text/calendar' }, body: event(name, 1) })).status, 201));
  // Moved to the 20th, with a new summary.
  await eightAtOnce(names, async (name) => assert.equal((await server.request('PUT', url + name, { headers: { 'Content-Type': 'text/calendar' }, body: event(name, 20, `moved ${name}`) })).status, 204));
  for (const name of names.slice(0, 4)) assert.match(await (await server.request('GET', url + name)).text(), new RegExp(`SUMMARY:moved ${name}`));
  const query = await server.request('REPORT', url, {
    headers: { Depth: '1', 'Content-Type': 'application/xml' },
    body: `<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/></D:prop>
      <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260320T000000Z" end="20260321T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
  });
  assert.equal([...(await query.text()).matchAll(/r\d+\.ics/g)].length, names.length);
});

test('a UID sent twice at once: one PUT stores it, the other is refused with no-uid-conflict naming the first; the rest of the batch lands', async () => {
  const url = await calendar('batched-uid');
  const puts = ['a.ics', 'b.ics', 'c.ics', 'd.ics'].map((name) =>
    server.request('PUT', url + name, { headers: { 'Content-Type': 'text/calendar', 'If-None-Match': '*' }, body: event(name === 'b.ics' ? 'shared@test' : name === 'c.ics' ? 'shared@test' : name, 3) }),
  );
  const answers = await Promise.all(puts);
  const [a, b, c, d] = answers;
  assert.equal(a!.status, 201);
  assert.equal(d!.status, 201);
  const statuses = [b!.status, c!.status].sort();
  assert.deepEqual(statuses, [201, 403]);
  const refused = b!.status === 403 ? b! : c!;
  const holder = b!.status === 403 ? 'c.ics' : 'b.ics';
  const body = await refused.text();
  assert.match(body, /no-uid-conflict/);
  assert.match(body, new RegExp(`<D:href>${url}${holder}</D:href>`));
  assert.equal((await syncCollection(url)).hrefs.length, 3);
});

test('a batched event whose name is taken by a collection, or present for If-None-Match: *, gets the general path\'s answer', async () => {
  const url = await calendar('batched-taken');
  assert.equal((await server.request('PUT', url + 'kept.ics', { headers: { 'Content-Type': 'text/calendar' }, body: event('kept', 4) })).status, 201);
  const [kept, fresh] = await Promise.all([
    server.request('PUT', url + 'kept.ics', { headers: { 'Content-Type': 'text/calendar', 'If-None-Match': '*' }, body: event('kept-again', 5) }),
    server.request('PUT', url + 'fresh.ics', { headers: { 'Content-Type': 'text/calendar', 'If-None-Match': '*' }, body: event('fresh', 5) }),
  ]);
  assert.equal(kept.status, 412);
  assert.equal(fresh.status, 201);
  assert.match(await (await server.request('GET', url + 'kept.ics')).text(), /UID:kept\r\n/);
});

test('calendar objects written in one turn of the event loop go as one transaction, with their index rows', async () => {
  const url = await calendar('batched-store');
  const db = server.store.db;
  const { node } = await resolvePath(db, server.users[0]!.user.id, ['calendars', 'batched-store']);
  assert.ok(node);
  const { db: counting, sent } = countingPipelined(db);
  const batcher = new WriteBatcher(counting, calendarObjectWrites);
  const writes: CalendarObjectWrite[] = Array.from({ length: 12 }, (_, i) => {
    const data = event(`s${i}@test`, i + 1);
    return {
      name: `s${i}.ics`,
      expected: 'absent',
      content: { blobSha256: null, size: Buffer.byteLength(data), contentType: 'text/calendar; charset=utf-8', etag: fileEtag(createHash('sha256').update(data).digest('hex')) },
      index: { uid: `s${i}@test`, componentType: 'VEVENT', firstStart: new Date(Date.UTC(2026, 2, i + 1, 10)), lastEnd: new Date(Date.UTC(2026, 2, i + 1, 11)), recurring: i % 2 === 0 },
      data,
    };
  });
  const written = await Promise.all(writes.map((w) => batcher.write({ userId: node.userId, id: node.id, kind: node.kind }, w)));
  assert.equal(sent(), 1);
  for (const [i, w] of written.entries()) {
    assert.ok(w);
    assert.equal(w.created, true);
    assert.equal(w.node.etag, writes[i]!.content.etag);
  }
  const rows = await db.query<{ uid: string; first_start: Date; last_end: Date; recurring: boolean; data: string }>(
    'SELECT uid, first_start, last_end, recurring, data FROM calendar_objects WHERE user_id = $1 AND calendar_id = $2 ORDER BY first_start',
    [node.userId, node.id],
  );
  assert.deepEqual(rows.map((r) => [r.uid, new Date(r.first_start).toISOString(), new Date(r.last_end).toISOString(), r.recurring, r.data]), writes.map((w) => [w.index.uid, w.index.firstStart!.toISOString(), w.index.lastEnd!.toISOString(), w.index.recurring, w.data]));
  assert.equal((await syncCollection(url)).hrefs.length, writes.length);
});
