/**
 * The embedded PostgreSQL stopping for good: at a PANIC (after which PGlite's session never
 * answers again and its thread spins), or when its thread ends. The database stops the thread,
 * tells its owner once, and fails every call at once with an error the server answers with 503.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { isDatabaseUnavailable } from '../src/store/db.js';
import { freeBytes } from '../src/store/disk-room.js';
import { DatabaseStoppedError, PgliteDatabase, type DatabaseThread } from '../src/store/pglite-database.js';
import { PgliteThread } from '../src/store/pglite-thread.js';
import { embeddedStoreOnSmallDisk, type StoreOnSmallDisk } from './helpers/small-disk.js';

/** A backend message: its type, then its length and body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
const readyForQuery = message('Z', Buffer.from('I'));
const errorAnswer = (severity: string, code: string, text: string) =>
  Buffer.concat([message('E', Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${text}\0\0`)), readyForQuery]);
const selectOneAnswer = Buffer.concat([message('C', Buffer.from('SELECT 1\0')), readyForQuery]);

/** A thread that answers every statement with `answer`, and counts what it is asked. */
class FakeThread implements DatabaseThread {
  readonly unanswered = 0;
  sent = 0;
  terminated = 0;
  readonly #listeners: ((error: Error) => void)[] = [];
  constructor(public answer: Buffer) {}
  send(messages: readonly Buffer[]): Promise<Buffer[][]> {
    this.sent++;
    return Promise.resolve(messages.map(() => [this.answer]));
  }
  terminate(): Promise<void> {
    this.terminated++;
    return Promise.resolve();
  }
  onEnd(listener: (error: Error) => void): void {
    this.#listeners.push(listener);
  }
  end(error: Error): void {
    for (const listener of this.#listeners) listener(error);
  }
}

function fakeDatabase(thread: FakeThread): { db: PgliteDatabase; stops: Error[] } {
  const stops: Error[] = [];
  const db = new PgliteDatabase(thread, async () => {}, () => {}, { onStopped: (error) => stops.push(error) });
  return { db, stops };
}

test('an ERROR is a failed statement; the database goes on', async () => {
  const thread = new FakeThread(errorAnswer('ERROR', '23505', 'duplicate key value'));
  const { db, stops } = fakeDatabase(thread);
  await assert.rejects(db.query('SELECT 1'), { code: '23505' });
  thread.answer = selectOneAnswer;
  assert.deepEqual(await db.query('SELECT 1'), []);
  assert.equal(thread.sent, 2);
  assert.deepEqual(stops, []);
  assert.equal(thread.terminated, 0);
});

test('a PANIC stops the database: its thread is stopped, the owner told once, and every call fails at once with a 503 error', async () => {
  const thread = new FakeThread(errorAnswer('PANIC', '53100', 'could not write to file "pg_wal/xlogtemp.42": No space left on device'));
  const { db, stops } = fakeDatabase(thread);
  const stopped = (error: unknown) => error instanceof DatabaseStoppedError && isDatabaseUnavailable(error) && /stopped: could not write to file/.test(error.message);
  await assert.rejects(db.query('SELECT 1'), stopped);
  assert.equal(thread.terminated, 1);
  assert.equal(stops.length, 1);
  await assert.rejects(db.query('SELECT 1'), stopped);
  await assert.rejects(db.transaction((tx) => tx.query('SELECT 1')), stopped);
  await assert.rejects(db.pipelined((tx) => tx.query('SELECT 1')), stopped);
  assert.equal(thread.sent, 1, 'nothing more is sent to the stopped thread');
  assert.equal(stops.length, 1);
});

test('a thread that ends by itself stops the database the same way', async () => {
  const thread = new FakeThread(selectOneAnswer);
  const { db, stops } = fakeDatabase(thread);
  thread.end(new Error("the embedded database's thread ended (exit 1)"));
  await assert.rejects(db.query('SELECT 1'), { code: '57P02' });
  assert.equal(stops.length, 1);
  assert.equal(thread.sent, 0);
});

let store: StoreOnSmallDisk | undefined;
after(async () => {
  await store?.remove();
});

test('PGlite on a disk that fills: the PANIC stops the database instead of leaving its thread spinning', { timeout: 120_000 }, async (t) => {
  const mounted = await embeddedStoreOnSmallDisk('64m');
  if (typeof mounted === 'string') return t.skip(mounted);
  store = mounted;
  const { disk } = store;
  const dir = path.join(disk, 'pglite');
  const thread = await PgliteThread.start(dir);
  const stops: Error[] = [];
  // No room check here (open.ts gives one): the disk fills until a WAL write meets ENOSPC.
  const db = new PgliteDatabase(thread, () => thread.close(), () => {}, { onStopped: (error) => stops.push(error) });
  await db.query('CREATE TABLE notes (body text)');
  // The disk full but for 1 MiB; the next WAL segment (16 MiB) cannot be made.
  fs.writeFileSync(path.join(disk, 'filler'), Buffer.alloc(Math.max(0, freeBytes(disk) - 1024 * 1024)));
  await db.query('SELECT pg_switch_wal()');
  const failure = await db.query("INSERT INTO notes VALUES ('after the switch')").then(() => undefined, (error: unknown) => error);
  assert.ok(failure instanceof DatabaseStoppedError, `the failure: ${String(failure)}`);
  assert.match(failure.message, /No space left on device/);
  assert.equal(stops.length, 1);
  // The thread is stopped, not spinning: a call fails at once, and closing returns.
  await assert.rejects(db.query('SELECT 1'), DatabaseStoppedError);
  await db.close();
});
