/**
 * Many writers on one calendar at once: no 500s, every change takes its own sync token, and an
 * incremental sync-collection reports every changed member exactly once, in its final state.
 * On PostgreSQL the store also retries deadlocks and serialization failures by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventText, parseMultistatus, PROPFIND_ETAG, syncCollectionBody, type Multistatus } from './helpers/multistatus.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { testDatabaseUrl } from './helpers/store.js';

const CLIENTS = 20;
const OPS_PER_CLIENT = 15;
const SHARED = 30;

describe('concurrent writers', () => {
  let server: TestServer;
  // One user's 20 clients: above the default bound on one user's simultaneous uploads.
  before(async () => (server = await startTestServer({ env: { MAX_UPLOADS_PER_USER: String(CLIENTS) } })));
  after(() => server.close());

  const calendar = '/dav/calendars/alice/personal/';
  const multistatus = async (method: string, depth: string, body: string): Promise<Multistatus> => {
    const res = await server.request(method, calendar, { headers: { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' }, body });
    const text = await res.text();
    assert.equal(res.status, 207, text);
    return parseMultistatus(text);
  };
  const tokenPosition = (token: string) => {
    const match = /\/sync\/(\d+)-(\d+)$/.exec(token);
    assert.ok(match, token);
    return { collectionId: Number(match[1]), token: Number(match[2]) };
  };
  const put = (name: string, summary: string) =>
    server.request('PUT', calendar + name, { body: eventText(`${name}@concurrency`, summary), headers: { 'Content-Type': 'text/calendar' } });

  test(`${CLIENTS} clients creating, updating and deleting in one calendar`, { timeout: 300_000 }, async () => {
    for (let i = 0; i < SHARED; i++) assert.equal((await put(`shared-${i}.ics`, 'initial')).status, 201);
    const start = (await multistatus('REPORT', '0', syncCollectionBody(''))).syncToken!;
    const { collectionId, token: startToken } = tokenPosition(start);

    // A watcher reads the collection's token throughout: it never goes back.
    let running = true;
    const observed: number[] = [];
    const watcher = (async () => {
      while (running) {
        const res = await server.request('PROPFIND', calendar, { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>' });
        const token = /<D:sync-token>([^<]+)</.exec(await res.text())?.[1];
        assert.ok(res.status === 207 && token, 'the calendar reports its sync-token');
        observed.push(tokenPosition(token).token);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    let changes = 0;
    const touched = new Set<string>();
    const refused: string[] = [];
    const client = async (c: number) => {
      for (let i = 0; i < OPS_PER_CLIENT; i++) {
        const shared = `shared-${(c * 7 + i * 13) % SHARED}.ics`;
        const op = (c + i) % 4;
        const name = op === 0 ? `own-${c}-${i}.ics` : shared;
        const res = op === 3 ? await server.request('DELETE', calendar + name) : await put(name, `client ${c} op ${i}`);
        await res.arrayBuffer();
        const ok = op === 3 ? [204, 404] : [201, 204];
        if (!ok.includes(res.status)) refused.push(`${op === 3 ? 'DELETE' : 'PUT'} ${name}: ${res.status}`);
        if (res.status === 201 || res.status === 204) {
          changes++;
          touched.add(name);
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    running = false;
    await watcher;
    assert.deepEqual(refused, [], 'no write failed (no 500 from a deadlock or serialization failure)');

    // The final state, as PROPFIND lists it.
    const final = new Map<string, string>();
    for (const [href, state] of (await multistatus('PROPFIND', '1', PROPFIND_ETAG)).members) {
      if (href !== calendar) final.set(href.slice(calendar.length), state.etag!);
    }

    // The collection's token moved on once per acknowledged change, none lost, none extra; the log
    // keeps each changed name once, under a token of its own, the last one the collection's.
    const end = tokenPosition((await multistatus('REPORT', '0', syncCollectionBody(''))).syncToken!).token;
    assert.equal(end, startToken + changes);
    const rows = await server.store.db.query<{ token: number; name: string }>(
      'SELECT token, name FROM changes WHERE collection_id = $1 AND token > $2 ORDER BY token',
      [collectionId, startToken],
    );
    assert.deepEqual(new Set(rows.map((r) => r.name)), touched, 'each changed name is logged');
    assert.equal(rows.length, touched.size, 'once');
    assert.equal(new Set(rows.map((r) => r.token)).size, rows.length, 'tokens are not repeated');
    assert.equal(rows.at(-1)?.token, end, 'the last change is logged under the collection\'s token');
    for (let k = 1; k < observed.length; k++) assert.ok(observed[k]! >= observed[k - 1]!, `the token never goes back: ${observed.join(' ')}`);

    // The incremental sync from before the burst: each changed member once, as it is now.
    const incremental = await multistatus('REPORT', '0', syncCollectionBody(start));
    const reported = new Map<string, { status: number; etag?: string }>();
    for (const [href, state] of incremental.members) reported.set(href.slice(calendar.length), state);
    assert.deepEqual(new Set(reported.keys()), touched, 'every changed member, and only those');
    for (const [name, state] of reported) {
      if (final.has(name)) {
        assert.equal(state.status, 200, name);
        assert.equal(state.etag, final.get(name), `${name}: reported in its final state`);
      } else {
        assert.equal(state.status, 404, `${name}: deleted, reported as removed`);
      }
    }
    // And a sync from the new token has nothing to say.
    const again = await multistatus('REPORT', '0', syncCollectionBody(incremental.syncToken!));
    assert.equal(again.members.size, 0);
  });

  const pgOnly = testDatabaseUrl ? false : 'PostgreSQL only: PGlite has one connection, so transactions never overlap';

  test('a deadlock between two transactions is retried, not returned', { skip: pgOnly, timeout: 60_000 }, async () => {
    const db = server.store.db;
    await db.query('CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL)');
    await db.query('INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)');
    const attempts = [0, 0];
    let arrived = 0;
    let release!: () => void;
    const bothHoldTheirFirstRow = new Promise<void>((r) => (release = r));
    const crosswise = (who: 0 | 1, first: number, second: number) =>
      db.transaction(async (tx) => {
        attempts[who]!++;
        await tx.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = $1', [first]);
        if (attempts[who] === 1) {
          if (++arrived === 2) release();
          await bothHoldTheirFirstRow;
        }
        await tx.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = $1', [second]);
      });
    await Promise.all([crosswise(0, 1, 2), crosswise(1, 2, 1)]);
    assert.equal(attempts[0]! + attempts[1]!, 3, 'one side ran twice');
    assert.deepEqual(await db.query('SELECT id, n FROM deadlock_probe ORDER BY id'), [{ id: 1, n: 2 }, { id: 2, n: 2 }]);
  });

  test('a serialization failure is retried, not returned', { skip: pgOnly, timeout: 60_000 }, async () => {
    const db = server.store.db;
    await db.query('CREATE TABLE serial_probe (k int NOT NULL)');
    const attempts = [0, 0];
    let arrived = 0;
    let release!: () => void;
    const bothHaveRead = new Promise<void>((r) => (release = r));
    // Each inserts the count it read: under SERIALIZABLE, both committing would be a write skew.
    const countThenInsert = (who: 0 | 1) =>
      db.transaction(async (tx) => {
        attempts[who]!++;
        const [{ count }] = (await tx.query<{ count: number }>('SELECT count(*) AS count FROM serial_probe')) as [{ count: number }];
        if (attempts[who] === 1) {
          if (++arrived === 2) release();
          await bothHaveRead;
        }
        await tx.query('INSERT INTO serial_probe VALUES ($1)', [count]);
      }, { isolation: 'serializable' });
    await Promise.all([countThenInsert(0), countThenInsert(1)]);
    assert.ok(attempts[0]! + attempts[1]! >= 3, 'one side ran again');
    assert.deepEqual((await db.query<{ k: number }>('SELECT k FROM serial_probe ORDER BY k')).map((r) => r.k), [0, 1]);
  });
});
