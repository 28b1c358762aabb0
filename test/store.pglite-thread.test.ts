/**
 * The embedded database's thread (store/pglite-thread.ts): batches answered in order, each
 * message its own answer; a store it cannot open, and a thread that has closed, give errors
 * rather than a wait. And PgliteDatabase's commit hook (the WAL flush) for writes outside a
 * transaction.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, serialize } from 'pg-protocol';
import type { BackendMessage, DataRowMessage } from 'pg-protocol/dist/messages.js';
import { loadConfig } from '../src/config.js';
import { embeddedDatabaseDir } from '../src/store/open.js';
import { PgliteDatabase } from '../src/store/pglite-database.js';
import { PgliteThread } from '../src/store/pglite-thread.js';
import { createTestLocation, type TestLocation } from './helpers/store.js';

let location: TestLocation;
before(async () => {
  location = await createTestLocation({ migrated: true, embedded: true });
});
after(() => location.remove());

/** The values of the DataRows of one answer. */
function values(output: Buffer[]): (string | null)[] {
  const messages: BackendMessage[] = [];
  const wire = new EventEmitter();
  void parse(wire as unknown as NodeJS.ReadableStream, (m) => void messages.push(m));
  for (const chunk of output) wire.emit('data', chunk);
  return messages.filter((m) => m.name === 'dataRow').flatMap((m) => (m as DataRowMessage).fields);
}

test('batches posted back to back are answered in order, one answer per message; a closed thread refuses more', async () => {
  const thread = await PgliteThread.start(embeddedDatabaseDir(location.dataDir));
  const select = (n: number) => serialize.query(`SELECT ${n} AS n`);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => thread.send([select(i), select(i + 100)])));
  assert.deepEqual(answers.map((batch) => batch.map((output) => values(output)[0])), Array.from({ length: 20 }, (_, i) => [String(i), String(i + 100)]));
  // A session's state carries from one batch to the next: it is one connection.
  await thread.send([serialize.query('CREATE TEMPORARY TABLE probe (n int)'), serialize.query('INSERT INTO probe VALUES (7)')]);
  assert.deepEqual(values((await thread.send([serialize.query('SELECT n FROM probe')]))[0]!), ['7']);
  await thread.close();
  await assert.rejects(thread.send([select(1)]), /thread ended/);
});

test('a data directory PGlite cannot open fails the start with its error', async () => {
  const broken = path.join(location.dataDir, 'broken');
  fs.cpSync(embeddedDatabaseDir(location.dataDir), broken, { recursive: true });
  fs.writeFileSync(path.join(broken, 'PG_VERSION'), '9\n');
  await assert.rejects(PgliteThread.start(broken), /PGlite failed to initialize/);
});

test('a write outside a transaction is acknowledged after the commit hook, as a transaction is; a read is not held', async () => {
  const thread = await PgliteThread.start(embeddedDatabaseDir(location.dataDir));
  const commits: string[] = [];
  const db = new PgliteDatabase(thread, () => thread.close(), () => void commits.push('commit'));
  try {
    await db.query('CREATE TABLE autocommit_probe (n int)');
    await db.query('INSERT INTO autocommit_probe VALUES ($1)', [1]);
    await db.query('WITH gone AS (DELETE FROM autocommit_probe WHERE n = $1 RETURNING n) SELECT count(*) FROM gone', [1]);
    assert.equal(commits.length, 3);
    await db.query('SELECT n FROM autocommit_probe WHERE n = $1', [1]);
    await db.query('WITH c AS (SELECT count(*) AS n FROM autocommit_probe) SELECT n FROM c');
    assert.equal(commits.length, 3);
    await db.transaction((tx) => tx.query('INSERT INTO autocommit_probe VALUES ($1)', [2]));
    assert.equal(commits.length, 4);
  } finally {
    await db.close();
  }
});

test('the page cache is EMBEDDED_CACHE_MB, 32 MiB unless set, whatever postgresql.conf says', async () => {
  const shared = async (thread: PgliteThread) => values((await thread.send([serialize.query('SHOW shared_buffers')]))[0]!)[0];
  const byDefault = await PgliteThread.start(embeddedDatabaseDir(location.dataDir));
  try {
    assert.equal(await shared(byDefault), '32MB');
  } finally {
    await byDefault.close();
  }
  const configured = await PgliteThread.start(embeddedDatabaseDir(location.dataDir), loadConfig({ EMBEDDED_CACHE_MB: '48' }).embeddedCacheMb);
  try {
    assert.equal(await shared(configured), '48MB');
  } finally {
    await configured.close();
  }
  assert.throws(() => loadConfig({ EMBEDDED_CACHE_MB: '8' }), /EMBEDDED_CACHE_MB must be between 16 and 16384/);
});
