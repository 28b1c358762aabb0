/**
 * The read lease on PostgreSQL (store/read-lease.ts): a server alone keeps its reads; another
 * Davenport process that opens the database makes it stand down before its first write, and
 * every write is seen at once; when that process is gone the server keeps reads again; a lost
 * lease connection stops the keeping at once. A change made behind Davenport's back (raw SQL
 * without the lease) shows whether reads are kept.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { Database } from '../src/store/db.js';
import { openDatabase } from '../src/store/open.js';
import { ReadLease } from '../src/store/read-lease.js';
import { createTestLocation, testDatabaseUrl, type TestLocation } from './helpers/store.js';

const skip = testDatabaseUrl ? false : 'PostgreSQL only (the embedded store has one process)';

let location: TestLocation;
let raw: pg.Client;
before(async () => {
  if (skip) return;
  location = await createTestLocation();
  raw = new pg.Client({ connectionString: location.databaseUrl });
  await raw.connect();
  await raw.query('CREATE TABLE notes (id int PRIMARY KEY, v text NOT NULL)');
  await raw.query("INSERT INTO notes VALUES (1, 'a')");
});
after(async () => {
  if (skip) return;
  await raw.end();
  await location.remove();
});

const read = async (db: Database) => (await db.query<{ v: string }>('SELECT v FROM notes WHERE id = $1', [1]))[0]!.v;
const behindItsBack = (v: string) => raw.query('UPDATE notes SET v = $1 WHERE id = 1', [v]);
async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
/** Whether `db` keeps its reads now: a change behind its back is not seen by the next read. */
async function keepsReads(db: Database, marker: string): Promise<boolean> {
  await read(db);
  await behindItsBack(marker);
  return (await read(db)) !== marker;
}

test('a server alone keeps reads; another process joining makes it stand down before its first write', { skip, timeout: 120_000 }, async () => {
  const server = await openDatabase({ dataDir: location.dataDir, databaseUrl: location.databaseUrl, cacheReads: true });
  try {
    assert.equal(await keepsReads(server, 'b'), true, 'alone, the server answers from what it kept');
    // A tool (npm run user, a second server) opens the database: the server stands down first.
    const tool = await openDatabase({ dataDir: location.dataDir, databaseUrl: location.databaseUrl });
    try {
      assert.equal(await read(server), 'b', 'the change behind its back is seen once it stood down');
      await tool.query('UPDATE notes SET v = $1 WHERE id = 1', ['from the tool']);
      assert.equal(await read(server), 'from the tool');
      await tool.transaction((tx) => tx.query('UPDATE notes SET v = $1 WHERE id = 1', ['in a transaction']));
      assert.equal(await read(server), 'in a transaction');
      assert.equal(await keepsReads(server, 'c'), false, 'nothing is kept while another process may write');
    } finally {
      await tool.close();
    }
    // The tool gone, the server takes the lease again at its next try (every 10 s).
    let round = 0;
    await eventually('the server keeps reads again', () => keepsReads(server, `d${round++}`));
  } finally {
    await server.close();
  }
});

test('a lost lease connection stops keeping reads at once; made again, the lease is taken again', { skip, timeout: 120_000 }, async () => {
  let resets = 0;
  const lease = await ReadLease.open({ connectionString: location.databaseUrl!, cache: true, onChange: () => resets++, retryMs: 100 });
  try {
    assert.equal(lease.exclusive, true);
    const { rows } = await raw.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'davenport-lease'");
    assert.equal(rows.length, 1);
    await raw.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await eventually('the lease noticed', async () => !lease.exclusive, 5_000);
    await eventually('the lease was taken again', async () => lease.exclusive, 10_000);
    assert.ok(resets >= 3, `${resets} changes: taken, lost, taken`);
    // Another holder: a session of raw SQL taking the lease shared, as the README says to before
    // editing by hand, after telling the holder to stand down.
    // The holder's tries to take it back (every 100 ms here) must never come in the middle of a
    // stand-down, where one would succeed and keep the session waiting for good.
    await raw.query('NOTIFY davenport_read_lease');
    await raw.query('SELECT pg_advisory_lock_shared(4927349645334308193)');
    assert.equal(lease.exclusive, false);
    await raw.query('SELECT pg_advisory_unlock_shared(4927349645334308193)');
    await eventually('the lease was taken again once the session let go', async () => lease.exclusive, 5_000);
  } finally {
    await lease.close();
  }
});
