import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PoolDatabase, type Database } from './db.js';
import { DiskRoom } from './disk-room.js';
import { CheckpointSync } from './durability.js';
import { PgliteDatabase } from './pglite-database.js';
import { PgliteThread } from './pglite-thread.js';
import { ReadCachingDatabase } from './read-cache.js';
import { LEASE_WRITE_SQL, ReadLease } from './read-lease.js';
import { autovacuumRuns, maintainChangedTables, StatisticsKeeper } from './statistics.js';

/** The store is held by another live process (PGlite has no lock of its own). */
export class StoreBusyError extends Error {}

export interface StoreLocation {
  dataDir: string;
  databaseUrl?: string | undefined;
  /**
   * On PostgreSQL, keep reads while this process is the only one using the database (the
   * server asks for it; tools such as `npm run user` do not). The embedded store always keeps them.
   */
  cacheReads?: boolean;
  /**
   * Hears that the embedded store stopped for good (PostgreSQL's PANIC, its thread's end); every
   * statement then fails with a 503. The server exits, to be started again and recover.
   */
  onStopped?: (error: Error) => void;
  /** The embedded store's page cache in MiB (config.ts: EMBEDDED_CACHE_MB); its default otherwise. */
  embeddedCacheMb?: number;
}

export async function openDatabase(location: StoreLocation): Promise<Database> {
  if (location.databaseUrl) {
    // Fail fast while PostgreSQL is unreachable (the request answers 503) rather than hang: a new
    // connection, or a wait for a free one, gives up after 5 s. Keep-alive notices a silently
    // dropped connection.
    // Autovacuum analyzes a table a minute or so after it has grown; a big import (a first sync,
    // a restored address book) would be planned as an empty table until then.
    // Where autovacuum is turned off on the server, the keeper vacuums too.
    const statistics = new StatisticsKeeper(async () => maintainChangedTables(db, { vacuum: !(await autovacuumRuns(db)) }));
    // Reads are kept only while this process holds the read lease alone; while it does not, its
    // transactions take it shared (read-lease.ts).
    let cache: ReadCachingDatabase | undefined;
    const lease = await ReadLease.open({ connectionString: location.databaseUrl, cache: location.cacheReads ?? false, onChange: () => cache?.reset() });
    const db: Database = new PoolDatabase(
      { connectionString: location.databaseUrl, max: 10, connectionTimeoutMillis: 5_000, keepAlive: true },
      async () => {
        await statistics.idle();
        await lease.close();
      },
      () => statistics.noteCommit(),
      () => (lease.exclusive ? undefined : LEASE_WRITE_SQL),
    );
    cache = new ReadCachingDatabase(db, lease);
    return cache;
  }
  return openEmbedded(location.dataDir, location.embeddedCacheMb, location.onStopped);
}

async function openEmbedded(dataDir: string, cacheMb: number | undefined, onStopped: ((error: Error) => void) | undefined): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true });
  const release = lockDataDir(dataDir);
  try {
    const dir = embeddedDatabaseDir(dataDir);
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await createEmbedded(dir);
    const thread = await PgliteThread.start(dir, cacheMb);
    const checkpoints = new CheckpointSync(dir);
    // Whatever start-up recovered or wrote is on disk before the first request.
    await checkpoints.syncAll();
    const statistics = new StatisticsKeeper(() => maintainChangedTables(db, { vacuum: true }));
    const db: Database = new PgliteDatabase(
      thread,
      async () => {
        await statistics.idle();
        await thread.close();
        // The shutdown checkpoint wrote every page; make them durable before the lock is released.
        await checkpoints.syncAll();
        release();
      },
      () => {
        statistics.noteCommit();
        checkpoints.noteCommit();
      },
      { room: new DiskRoom(dir), ...(onStopped && { onStopped }) },
    );
    // This process is the store's only writer (the lock above), so reads can be kept until it writes.
    return new ReadCachingDatabase(db);
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * initdb in a process of its own: it grows PGlite's WebAssembly memory to ~900 MB, which an
 * instance never gives back. In a worker thread that memory came back, but the server kept
 * the peak (VmHWM) and ~100 MB more resident than when it opens an existing store; a process
 * returns everything when it exits. The server then opens the new database at half of that.
 */
function createEmbedded(dir: string): Promise<void> {
  const pgliteModule = import.meta.resolve('@electric-sql/pglite');
  const code = 'import(process.argv[1]).then(({ PGlite }) => PGlite.create(process.argv[2])).then((db) => db.close());';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, pgliteModule, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => void (stderr = (stderr + text).slice(-4_000)));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`creating the embedded database failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`)),
    );
  });
}

/** Where the embedded store keeps its PostgreSQL data directory. */
export function embeddedDatabaseDir(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

/** Takes DATA_DIR for this process (as the server does), e.g. for an offline backup; returns the release. */
export function lockDataDir(dataDir: string): () => void {
  return acquireLock(path.join(dataDir, 'davenport.lock'));
}

/**
 * A lock file holding our pid. A file left by a process that died (kill -9) is taken over;
 * one held by a live process refuses the second opener.
 */
function acquireLock(file: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new StoreBusyError(
          `the data directory ${path.dirname(file)} is in use by another Davenport process (pid ${pid}); stop it first or set DATABASE_URL`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new StoreBusyError(`could not take the lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
