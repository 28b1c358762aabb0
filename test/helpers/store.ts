/**
 * Fresh, migrated stores for tests: embedded PGlite in a temporary DATA_DIR by default, or a
 * new uniquely named database on the PostgreSQL server of TEST_DATABASE_URL when it is set.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Database } from '../../src/store/db.js';
import { listMigrations, migrate } from '../../src/store/migrate.js';
import { openDatabase } from '../../src/store/open.js';

export interface TestStore {
  db: Database;
  /** A temporary directory, removed by close(); with PGlite the database lives in it too. */
  dataDir: string;
  /** Set when the store is a PostgreSQL database (TEST_DATABASE_URL). */
  databaseUrl?: string;
  /** Closes the store and deletes it (the directory, and the database on PostgreSQL). */
  close(): Promise<void>;
}

/** Where a store can be opened (e.g. by a child process), not opened yet. */
export interface TestLocation {
  dataDir: string;
  databaseUrl?: string;
  /** Deletes the directory, and the database on PostgreSQL. Close every connection first. */
  remove(): Promise<void>;
}

/** Whether tests run on real PostgreSQL rather than PGlite. */
export const testDatabaseUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Opens a fresh, migrated store; share one per test file (a PGlite instance costs ~300 MiB). */
export async function openTestStore(): Promise<TestStore> {
  const location = await createTestLocation({ migrated: true });
  let db: Database;
  try {
    db = await openDatabase(location);
    await migrate(db);
  } catch (error) {
    await location.remove();
    throw error;
  }
  const store: TestStore = {
    db,
    dataDir: location.dataDir,
    async close() {
      await db.close();
      await location.remove();
    },
  };
  if (location.databaseUrl) store.databaseUrl = location.databaseUrl;
  return store;
}

export interface TestLocationOptions {
  /** The schema is already in place (on PGlite this skips the 3 s initdb). */
  migrated?: boolean;
  /** PGlite even when TEST_DATABASE_URL is set (e.g. to test the data-directory lock). */
  embedded?: boolean;
}

/** A fresh store location without opening it, for tests that hand it to another process. */
export async function createTestLocation(options: TestLocationOptions = {}): Promise<TestLocation> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-test-'));
  const removeDir = async () => fs.rmSync(dataDir, { recursive: true, force: true });
  if (!testDatabaseUrl || options.embedded) {
    if (options.migrated) fs.cpSync(await pgliteTemplate(), path.join(dataDir, 'pglite'), { recursive: true });
    return { dataDir, remove: removeDir };
  }

  const name = `davenport_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdminConnection((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const remove = async () => {
    await withAdminConnection((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    await removeDir();
  };
  if (options.migrated) {
    try {
      const db = await openDatabase({ dataDir, databaseUrl });
      await migrate(db).finally(() => db.close());
    } catch (error) {
      await remove();
      throw error;
    }
  }
  return { dataDir, databaseUrl, remove };
}

async function withAdminConnection<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A migrated PGlite data directory to copy from (0.4 s instead of an initdb), built once per
 * machine and kept in the temporary directory under a name that changes with the migrations
 * and the PGlite version.
 */
async function pgliteTemplate(): Promise<string> {
  const fingerprint = createHash('sha256');
  fingerprint.update(pgliteVersion());
  for (const m of listMigrations()) fingerprint.update(`\0${m.version}\0${m.name}\0${m.sql}`);
  const template = path.join(os.tmpdir(), `davenport-test-template-${fingerprint.digest('hex').slice(0, 16)}`);
  const ready = path.join(template, 'pglite');
  if (fs.existsSync(ready)) return ready;

  // Built aside, then renamed into place: test files starting together never see half a template.
  const build = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-test-template-build-'));
  try {
    const db = await openDatabase({ dataDir: build });
    await migrate(db).finally(() => db.close());
    fs.rmSync(path.join(build, 'davenport.lock'), { force: true });
    fs.renameSync(build, template);
  } catch (error) {
    fs.rmSync(build, { recursive: true, force: true });
    // Another test process finished its template first: use that one.
    if (!fs.existsSync(ready)) throw error;
  }
  return ready;
}

function pgliteVersion(): string {
  try {
    const file = path.join(REPO_ROOT, 'node_modules/@electric-sql/pglite/package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** `inner`, counting the pipelined transactions sent through it (what a batcher makes of concurrent writes). */
export function countingPipelined(inner: Database): { db: Database; sent: () => number } {
  let sent = 0;
  const db: Database = Object.create(inner, {
    pipelined: { value: (work: Parameters<Database['pipelined']>[0], options?: Parameters<Database['pipelined']>[1]) => (sent++, inner.pipelined(work, options)) },
  }) as Database;
  return { db, sent: () => sent };
}
