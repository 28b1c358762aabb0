import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { cardWrites, type CardWrite } from '../src/store/card-batches.js';
import { fileEtag, resolvePath } from '../src/store/nodes.js';
import { WriteBatcher } from '../src/store/write-batches.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { countingPipelined } from './helpers/store.js';

let server: TestServer;
before(async () => (server = await startTestServer()));
after(() => server.close());

const home = '/dav/addressbooks/alice/';
const CR = 'urn:ietf:params:xml:ns:carddav';
const VCARD = { 'Content-Type': 'text/vcard; charset=utf-8' };

function card(uid: string, fn: string, email: string): string {
  return ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${fn}`, `N:${fn};;;;`, `EMAIL:${email}`, 'TEL:+44 20 7946 0958', 'END:VCARD', ''].join('\r\n');
}

async function book(name: string): Promise<string> {
  const url = `${home}${name}/`;
  const made = await server.request('MKCOL', url, {
    headers: { 'Content-Type': 'application/xml' },
    body: `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="${CR}"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`,
  });
  assert.equal(made.status, 201);
  return url;
}

async function eightAtOnce<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i]!);
  }));
}

/** The names an addressbook-query `contains` on `prop` finds. */
async function search(url: string, prop: string, text: string): Promise<string[]> {
  const res = await server.request('REPORT', url, {
    headers: { Depth: '1', 'Content-Type': 'application/xml' },
    body: `<?xml version="1.0"?><CR:addressbook-query xmlns:D="DAV:" xmlns:CR="${CR}"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="${prop}"><CR:text-match match-type="contains">${text}</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>`,
  });
  const body = await res.text();
  assert.equal(res.status, 207, body);
  return [...body.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!.slice(url.length)).filter(Boolean).sort();
}

test('vCards PUT by eight clients at once all land with their search values; replaced at once, the old values are gone', async () => {
  const url = await book('batched');
  const people = Array.from({ length: 40 }, (_, i) => ({ name: `p${i}.vcf`, uid: `p${i}@test`, fn: i % 4 === 0 ? `Orchard ${i}` : `Person ${i}` }));
  await eightAtOnce(people, async (p) => {
    const res = await server.request('PUT', url + p.name, { headers: { ...VCARD, 'If-None-Match': '*' }, body: card(p.uid, p.fn, `${p.uid.split('@')[0]}@old.example`) });
    assert.equal(res.status, 201, p.name);
  });
  assert.deepEqual(await search(url, 'FN', 'orchard'), people.filter((p) => p.fn.startsWith('Orchard')).map((p) => p.name).sort());
  assert.equal((await search(url, 'EMAIL', '@old.example')).length, people.length);
  assert.equal((await search(url, 'TEL', '2079460958')).length, people.length);
  // Replaced without a precondition, eight at a time: every card's values are its new ones only.
  await eightAtOnce(people, async (p) => {
    const res = await server.request('PUT', url + p.name, { headers: VCARD, body: card(p.uid, p.fn, `${p.uid.split('@')[0]}@new.example`) });
    assert.equal(res.status, 204, p.name);
  });
  assert.deepEqual(await search(url, 'EMAIL', '@old.example'), []);
  assert.equal((await search(url, 'EMAIL', '@new.example')).length, people.length);
  const count = await server.store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM address_values WHERE prop = 'EMAIL' AND value LIKE '%.example'");
  assert.equal(count[0]!.n, people.length);
});

test('a card UID sent twice at once: one PUT stores it, the other is refused with no-uid-conflict naming the first', async () => {
  const url = await book('batched-uid');
  const answers = await Promise.all(['a.vcf', 'b.vcf', 'c.vcf'].map((name) =>
    server.request('PUT', url + name, { headers: { ...VCARD, 'If-None-Match': '*' }, body: card(name === 'a.vcf' ? 'a@test' : 'shared@test', name, `${name}@example.org`) }),
  ));
  assert.equal(answers[0]!.status, 201);
  assert.deepEqual([answers[1]!.status, answers[2]!.status].sort(), [201, 403]);
  const refused = answers[1]!.status === 403 ? answers[1]! : answers[2]!;
  const holder = answers[1]!.status === 403 ? 'c.vcf' : 'b.vcf';
  const body = await refused.text();
  assert.match(body, /no-uid-conflict/);
  assert.match(body, new RegExp(`<D:href>${url}${holder}</D:href>`));
});

test('vCards written in one turn of the event loop go as one transaction, each with its own values', async () => {
  const url = await book('batched-store');
  const db = server.store.db;
  const { node } = await resolvePath(db, server.users[0]!.user.id, ['addressbooks', 'batched-store']);
  assert.ok(node);
  const { db: counting, sent } = countingPipelined(db);
  const batcher = new WriteBatcher(counting, cardWrites);
  const writes: CardWrite[] = Array.from({ length: 10 }, (_, i) => {
    const data = card(`s${i}@test`, `Name ${i}`, `s${i}@example.org`);
    return {
      name: `s${i}.vcf`,
      expected: 'absent',
      content: { blobSha256: null, size: Buffer.byteLength(data), contentType: 'text/vcard; charset=utf-8', etag: fileEtag(createHash('sha256').update(data).digest('hex')) },
      // Card i has i + 1 values, so a value landing on the wrong card shows.
      index: { uid: `s${i}@test`, version: '3.0', kind: 'individual', values: Array.from({ length: i + 1 }, (_, j) => ({ prop: 'EMAIL', value: `s${i}.${j}@example.org`, folded: `s${i}.${j}@example.org` })) },
      data,
    };
  });
  const written = await Promise.all(writes.map((w) => batcher.write({ userId: node.userId, id: node.id, kind: node.kind }, w)));
  assert.equal(sent(), 1);
  for (const w of written) assert.equal(w?.created, true);
  const rows = await db.query<{ name: string; value: string }>(
    `SELECT n.name, v.value FROM address_values v JOIN nodes n ON n.user_id = v.user_id AND n.id = v.node_id WHERE v.user_id = $1 AND v.book_id = $2 ORDER BY v.value`,
    [node.userId, node.id],
  );
  assert.deepEqual(rows.map((r) => [r.name, r.value]), writes.flatMap((w) => w.index.values.map((v) => [w.name, v.value])).sort((a, b) => (a[1]! < b[1]! ? -1 : 1)));
  assert.deepEqual(await search(url, 'EMAIL', 's3.2@'), ['s3.vcf']);
});
