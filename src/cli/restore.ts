/**
 * `npm run restore -- <dir>`: a backup made by `npm run backup` into a fresh instance: an empty
 * DATA_DIR and, with DATABASE_URL, an empty database. Everything in the backup is checked
 * (manifest, checksums of the dump, of the body list and of every body) before or while it is
 * written, and the counts are compared once the database is loaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { FileBlobStore } from '../store/blobs.js';
import type { Queryable } from '../store/db.js';
import { listMigrations } from '../store/migrate.js';
import { embeddedDatabaseDir, lockDataDir, openDatabase, StoreBusyError } from '../store/open.js';
import { PGLITE_EXTENSIONS } from '../store/pglite-extensions.js';
import {
  BackupError,
  backupBlobFile,
  countStore,
  entriesOf,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST_FILE,
  parseBlobList,
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

const USAGE = `usage: npm run restore -- <dir>
Restores the backup in <dir> into the store of DATABASE_URL (which must be an empty database),
or into a new embedded store in DATA_DIR; DATA_DIR must be empty or not exist. A PostgreSQL
backup restores into PostgreSQL (psql is needed), an embedded one into the embedded store.`;

/** The manifest, checked for what this version of Davenport can restore. */
export function readManifest(dir: string): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw new BackupError(`${dir} holds no ${MANIFEST_FILE}: not a Davenport backup, or an unfinished one`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw new BackupError(`${path.join(dir, MANIFEST_FILE)} is not valid JSON`);
  }
  if (manifest.format !== FORMAT) throw new BackupError(`${MANIFEST_FILE} is not a Davenport backup manifest`);
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw new BackupError(`the backup has format version ${manifest.formatVersion}; this Davenport reads version ${FORMAT_VERSION}`);
  }
  const known = Math.max(...listMigrations().map((m) => m.version));
  if (manifest.schemaVersion > known) {
    throw new BackupError(`the backup's schema (version ${manifest.schemaVersion}) is newer than this Davenport knows (${known}): restore with Davenport ${manifest.davenportVersion} or later`);
  }
  return manifest;
}

async function verifyFile(dir: string, file: string, sha256: string): Promise<void> {
  const actual = await sha256File(path.join(dir, file)).catch(() => undefined);
  if (actual === undefined) throw new BackupError(`the backup is incomplete: ${file} is missing`);
  if (actual !== sha256) throw new BackupError(`${file} does not match its checksum in ${MANIFEST_FILE}: the backup is damaged`);
}

/** The body list, checked against the manifest. */
async function readBlobList(dir: string, manifest: Manifest): Promise<BlobRow[]> {
  await verifyFile(dir, manifest.blobList.file, manifest.blobList.sha256);
  const rows = parseBlobList(fs.readFileSync(path.join(dir, manifest.blobList.file), 'utf8'));
  const bytes = rows.reduce((sum, r) => sum + r.size, 0);
  if (rows.length !== manifest.counts.blobs || bytes !== manifest.counts.blobBytes) {
    throw new BackupError(`${manifest.blobList.file} lists ${rows.length} bodies (${bytes} bytes); the manifest says ${manifest.counts.blobs} (${manifest.counts.blobBytes})`);
  }
  return rows;
}

/** Copies every body into the new store through the blob store itself, which hashes what it receives. */
async function restoreBlobs(dir: string, blobs: FileBlobStore, rows: readonly BlobRow[]): Promise<void> {
  for (const row of rows) {
    // A body kept in its row comes back with the database.
    if (row.in_row) continue;
    const source = backupBlobFile(dir, row.user_id, row.sha256);
    if (!fs.existsSync(source)) throw new BackupError(`the backup is incomplete: ${path.relative(dir, source)} is missing`);
    const staged = await blobs.stage(row.user_id, fs.createReadStream(source), Number.MAX_SAFE_INTEGER);
    try {
      if (staged.sha256 !== row.sha256 || staged.size !== row.size) {
        throw new BackupError(`${path.relative(dir, source)} does not match its name or size: the backup is damaged`);
      }
      await blobs.publish(row.user_id, staged);
    } finally {
      await staged.discard();
    }
  }
}

function checkCounts(found: Counts, manifest: Manifest): void {
  const expected = manifest.counts;
  const keys = Object.keys(expected) as (keyof Counts)[];
  const wrong = keys.filter((k) => Number(found[k]) !== expected[k]);
  if (wrong.length > 0) {
    throw new BackupError(`the restored database does not match the manifest: ${wrong.map((k) => `${k} ${found[k]} instead of ${expected[k]}`).join(', ')}`);
  }
}

/** Refuses a database that already holds any table: a restore never merges. */
async function requireEmptyDatabase(q: Queryable): Promise<void> {
  const rows = await q.query<{ tables: number }>(
    `SELECT count(*)::int AS tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
  );
  if (rows[0]!.tables > 0) {
    throw new BackupError(`the database of DATABASE_URL is not empty (${rows[0]!.tables} tables or sequences); restore into a new, empty database`);
  }
}

async function restorePostgres(config: Config, databaseUrl: string, dir: string, manifest: Manifest, rows: BlobRow[]): Promise<void> {
  const db = await openDatabase({ dataDir: config.dataDir, databaseUrl });
  try {
    await requireEmptyDatabase(db);
    const connection = toolConnection(databaseUrl);
    await requirePgTool('psql', await serverMajor(db), connection.env);
    fs.mkdirSync(config.dataDir, { recursive: true });
    await restoreBlobs(dir, new FileBlobStore(path.join(config.dataDir, 'blobs')), rows);
    // One transaction: a dump that fails half-way leaves the database empty, as it was.
    const result = await runTool(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', connection.url, '-f', path.join(dir, manifest.database.file)],
      connection.env,
    );
    if (result.code !== 0) throw toolError('psql', result);
    checkCounts(await countStore(db), manifest);
  } finally {
    await db.close();
  }
}

async function restoreEmbedded(config: Config, dir: string, manifest: Manifest, rows: BlobRow[]): Promise<void> {
  const made = manifest.dumpTool.replace(/^PGlite /, '');
  const here = pgliteVersion();
  // PGlite 0.x: a release may change the embedded PostgreSQL; its data directories follow.
  if (made.split('.').slice(0, 2).join('.') !== here.split('.').slice(0, 2).join('.')) {
    throw new BackupError(`the backup was made with PGlite ${made}; this installation has PGlite ${here}: restore with a matching Davenport, then upgrade`);
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const release = lockDataDir(config.dataDir);
  try {
    await restoreBlobs(dir, new FileBlobStore(path.join(config.dataDir, 'blobs')), rows);
    const tarball = new Blob([fs.readFileSync(path.join(dir, manifest.database.file))]);
    const pglite = await PGlite.create(embeddedDatabaseDir(config.dataDir), { loadDataDir: tarball, extensions: PGLITE_EXTENSIONS });
    try {
      const q: Queryable = {
        query: async <R extends object>(sql: string, params: readonly unknown[] = []) => (await pglite.query<R>(sql, [...params])).rows,
      };
      checkCounts(await countStore(q), manifest);
    } finally {
      await pglite.close();
    }
  } finally {
    release();
  }
}

/** Restores `dir` into the configured store; on failure the (empty) target is emptied again. */
export async function restore(config: Config, dir: string): Promise<Manifest> {
  const manifest = readManifest(dir);
  const kind = config.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.store !== kind) {
    throw new BackupError(
      manifest.store === 'postgres'
        ? 'this is a backup of a PostgreSQL store: set DATABASE_URL to an empty database to restore it'
        : 'this is a backup of the embedded store: unset DATABASE_URL to restore it into DATA_DIR',
    );
  }
  await verifyFile(dir, manifest.database.file, manifest.database.sha256);
  const rows = await readBlobList(dir, manifest);
  requireEmptyDirectory(config.dataDir, 'DATA_DIR');
  try {
    if (config.databaseUrl) await restorePostgres(config, config.databaseUrl, dir, manifest, rows);
    else await restoreEmbedded(config, dir, manifest, rows);
  } catch (error) {
    for (const entry of entriesOf(config.dataDir)) fs.rmSync(path.join(config.dataDir, entry), { recursive: true, force: true });
    throw error;
  }
  return manifest;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length !== 1) {
    process.stderr.write(USAGE + '\n');
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const dir = path.resolve(positionals[0]!);
  const config = loadConfig();
  const manifest = await restore(config, dir);
  const { users, nodes, blobs, blobBytes } = manifest.counts;
  const where = config.databaseUrl ? 'the database of DATABASE_URL' : `the embedded store in ${config.dataDir}`;
  process.stdout.write(
    `restored the backup of ${manifest.createdAt} into ${where}: ${users} users, ${nodes} resources, ${blobs} file bodies (${blobBytes} bytes)\n`,
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof BackupError || error instanceof ConfigError || error instanceof StoreBusyError;
  const message = known ? (error as Error).message : ((error as Error).stack ?? String(error));
  process.stderr.write(`restore failed: ${known ? message.replace(/\s*\n\s*/g, ' ') : message}\n`);
  process.exitCode = 1;
});
