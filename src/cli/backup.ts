/**
 * `npm run backup -- <dir>`: the database and every file body it references, into a new
 * directory (format in backup-format.ts).
 *
 * PostgreSQL is backed up while the server runs. Consistency: pg_dump reads one snapshot
 * (exported by a REPEATABLE READ transaction), and that transaction's first statement locks every
 * `blobs` row the snapshot sees with FOR KEY SHARE. Bodies are immutable and named by their hash,
 * so the only way a body the dump references could vanish is its collection, which must DELETE
 * the row first and therefore waits for the lock; uploads, overwrites (NO KEY UPDATE) and
 * foreign-key checks (KEY SHARE) do not conflict with it. To keep that wait short, the bodies are
 * copied once before the snapshot without any lock, and only those added meanwhile are copied
 * under it; copies the snapshot no longer references are dropped.
 *
 * The embedded store (PGlite) has a single user, the server: it is backed up while the server is
 * stopped, with the data-directory lock held, using PGlite's own dump of its data directory.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { FileBlobStore } from '../store/blobs.js';
import type { Queryable } from '../store/db.js';
import { embeddedDatabaseDir, lockDataDir, openDatabase, StoreBusyError } from '../store/open.js';
import { PGLITE_EXTENSIONS } from '../store/pglite-extensions.js';
import {
  BackupError,
  BLOB_LIST_FILE,
  backupBlobFile,
  copyVerified,
  countStore,
  DATABASE_FILE,
  davenportVersion,
  entriesOf,
  FORMAT,
  FORMAT_VERSION,
  formatBlobList,
  hasSchema,
  MANIFEST_FILE,
  pgliteVersion,
  requireEmptyDirectory,
  requirePgTool,
  runTool,
  serverMajor,
  sha256File,
  toolConnection,
  toolError,
  type BlobRow,
  type Counts,
  type Manifest,
} from './backup-format.js';

const USAGE = `usage: npm run backup -- <dir>
Writes a backup of the store (DATABASE_URL, else the embedded store in DATA_DIR) and of the
file bodies in DATA_DIR into <dir>, which must be empty or not exist yet.
PostgreSQL is backed up while the server runs (pg_dump >= the server's version is needed);
the embedded store only while the server is stopped.`;

/** What a dump produced, before the manifest is written. */
interface Dumped {
  rows: BlobRow[];
  counts: Counts & { schemaVersion: number };
  serverVersion: string;
  dumpTool: string;
}

const blobKey = (row: BlobRow) => `${row.user_id} ${row.sha256}`;

async function blobRows(q: Queryable, lock = ''): Promise<BlobRow[]> {
  // A store not yet migrated to version 10 (the server not started since the upgrade) keeps every body as a file.
  const [{ bodies }] = (await q.query<{ bodies: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'blobs'::regclass AND attname = 'body' AND NOT attisdropped) AS bodies`,
  )) as [{ bodies: boolean }];
  const rows = await q.query<BlobRow>(`SELECT user_id, sha256, size, ${bodies ? 'body IS NOT NULL' : 'false'} AS in_row FROM blobs ORDER BY user_id, sha256 ${lock}`);
  // PGlite returns int8 as bigint: one shape for both stores.
  return rows.map((r) => ({ user_id: Number(r.user_id), sha256: r.sha256, size: Number(r.size), in_row: r.in_row }));
}

/**
 * Copies one body into the backup. `mayBeGone`: read without a lock, the body may have been
 * collected since its row was read; then false. Otherwise a missing file is a damaged store.
 */
async function copyBlob(blobs: FileBlobStore, dir: string, row: BlobRow, mayBeGone: boolean): Promise<boolean> {
  // A body kept in its row is in the database dump.
  if (row.in_row) return false;
  const target = backupBlobFile(dir, row.user_id, row.sha256);
  try {
    const size = await copyVerified(() => blobs.open(row.user_id, row.sha256), target, row.sha256);
    if (size !== row.size) throw new BackupError(`the body ${row.sha256} of user ${row.user_id} has ${size} bytes, the database says ${row.size}`);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (mayBeGone) return false;
    throw new BackupError(`the body ${row.sha256} of user ${row.user_id} is in the database but not in DATA_DIR/blobs: the store is damaged`);
  }
}

async function dumpPostgres(config: Config, databaseUrl: string, dir: string): Promise<Dumped> {
  const db = await openDatabase({ dataDir: config.dataDir, databaseUrl });
  try {
    if (!(await hasSchema(db))) throw new BackupError('the database of DATABASE_URL holds no Davenport store');
    const connection = toolConnection(databaseUrl);
    const dumpTool = await requirePgTool('pg_dump', await serverMajor(db), connection.env);
    const blobs = new FileBlobStore(path.join(config.dataDir, 'blobs'));

    // Pass 1, no lock: most bodies, while the server keeps serving.
    const copied = new Set<string>();
    for (const row of await blobRows(db)) if (await copyBlob(blobs, dir, row, true)) copied.add(blobKey(row));

    // Pass 2, in the snapshot (retried whole on a serialization failure).
    const dumped = await db.transaction(async (tx) => {
      // The first statement fixes the snapshot; the rows it sees stay until this transaction ends.
      const rows = await blobRows(tx, 'FOR KEY SHARE');
      const [{ snapshot }] = (await tx.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot')) as [{ snapshot: string }];
      const counts = await countStore(tx);
      const [{ version }] = (await tx.query<{ version: string }>('SELECT version()')) as [{ version: string }];
      const dump = runTool(
        'pg_dump',
        ['--snapshot', snapshot, '--no-owner', '--no-privileges', '--format=plain', '--file', path.join(dir, DATABASE_FILE.postgres), '--dbname', connection.url],
        connection.env,
      );
      try {
        for (const row of rows) {
          if (copied.has(blobKey(row))) continue;
          await copyBlob(blobs, dir, row, false);
          copied.add(blobKey(row));
        }
      } finally {
        // pg_dump needs the snapshot's transaction open until it has taken the snapshot over.
        const result = await dump;
        if (result.code !== 0) throw toolError('pg_dump', result);
      }
      return { rows, counts, serverVersion: version, dumpTool };
    }, { isolation: 'repeatable read' });

    // Bodies collected between the first pass and the snapshot are not part of this backup.
    const kept = new Set(dumped.rows.filter((row) => !row.in_row).map(blobKey));
    for (const key of copied) {
      if (kept.has(key)) continue;
      const [user, sha] = key.split(' ') as [string, string];
      await fsp.rm(backupBlobFile(dir, Number(user), sha), { force: true });
    }
    return dumped;
  } finally {
    await db.close();
  }
}

async function dumpEmbedded(config: Config, dir: string): Promise<Dumped> {
  const pgdata = embeddedDatabaseDir(config.dataDir);
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    throw new BackupError(`there is no embedded store in ${config.dataDir}: set DATA_DIR (or DATABASE_URL for PostgreSQL)`);
  }
  let release: () => void;
  try {
    release = lockDataDir(config.dataDir);
  } catch (error) {
    if (error instanceof StoreBusyError) throw new BackupError(`${error.message}; the embedded store is backed up while the server is stopped`);
    throw error;
  }
  try {
    const pglite = await PGlite.create(pgdata, { extensions: PGLITE_EXTENSIONS });
    try {
      const q: Queryable = {
        query: async <R extends object>(sql: string, params: readonly unknown[] = []) => (await pglite.query<R>(sql, [...params])).rows,
      };
      if (!(await hasSchema(q))) throw new BackupError(`the embedded store in ${config.dataDir} holds no Davenport schema`);
      const rows = await blobRows(q);
      const counts = await countStore(q);
      const [{ version }] = (await q.query<{ version: string }>('SELECT version()')) as [{ version: string }];
      const blobs = new FileBlobStore(path.join(config.dataDir, 'blobs'));
      for (const row of rows) await copyBlob(blobs, dir, row, false);
      // Everything on disk first, so the dump needs no recovery when restored.
      await pglite.query('CHECKPOINT');
      const tarball = await pglite.dumpDataDir('gzip');
      await fsp.writeFile(path.join(dir, DATABASE_FILE.pglite), Buffer.from(await tarball.arrayBuffer()), { flush: true });
      return { rows, counts, serverVersion: version, dumpTool: `PGlite ${pgliteVersion()}` };
    } finally {
      await pglite.close();
    }
  } finally {
    release();
  }
}

/** Writes a complete backup into `dir` (empty or new); on failure leaves nothing behind. */
export async function backup(config: Config, dir: string): Promise<Manifest> {
  requireEmptyDirectory(dir, 'the backup directory');
  fs.mkdirSync(dir, { recursive: true });
  try {
    const store = config.databaseUrl ? 'postgres' : 'pglite';
    const dumped = config.databaseUrl ? await dumpPostgres(config, config.databaseUrl, dir) : await dumpEmbedded(config, dir);
    const databaseFile = path.join(dir, DATABASE_FILE[store]);
    const blobList = formatBlobList(dumped.rows);
    await fsp.writeFile(path.join(dir, BLOB_LIST_FILE), blobList, { flush: true });
    const { schemaVersion, ...counts } = dumped.counts;
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      davenportVersion: davenportVersion(),
      store,
      serverVersion: dumped.serverVersion,
      dumpTool: dumped.dumpTool,
      schemaVersion,
      database: { file: DATABASE_FILE[store], bytes: fs.statSync(databaseFile).size, sha256: await sha256File(databaseFile) },
      blobList: { file: BLOB_LIST_FILE, sha256: createHash('sha256').update(blobList).digest('hex') },
      counts,
    };
    // Last, and atomically: a directory with a manifest is a finished backup.
    const temporary = path.join(dir, `${MANIFEST_FILE}.tmp`);
    await fsp.writeFile(temporary, JSON.stringify(manifest, null, 2) + '\n', { flush: true });
    await fsp.rename(temporary, path.join(dir, MANIFEST_FILE));
    return manifest;
  } catch (error) {
    for (const entry of entriesOf(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    throw error;
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length !== 1) {
    process.stderr.write(USAGE + '\n');
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const dir = path.resolve(positionals[0]!);
  const manifest = await backup(loadConfig(), dir);
  const { users, nodes, blobs, blobBytes } = manifest.counts;
  process.stdout.write(`backup written to ${dir}: ${users} users, ${nodes} resources, ${blobs} file bodies (${blobBytes} bytes)\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof BackupError || error instanceof ConfigError || error instanceof StoreBusyError;
  const message = known ? (error as Error).message : ((error as Error).stack ?? String(error));
  process.stderr.write(`backup failed: ${known ? message.replace(/\s*\n\s*/g, ' ') : message}\n`);
  process.exitCode = 1;
});
