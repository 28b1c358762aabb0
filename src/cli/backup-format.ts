/**
 * What `npm run backup` writes and `npm run restore` reads, and the helpers both use.
 *
 *   <dir>/manifest.json     written last: a directory without it is an unfinished backup
 *   <dir>/database.sql      PostgreSQL: pg_dump's plain SQL (no owners, no privileges)
 *   <dir>/database.tar.gz   embedded store: PGlite's own dump of its data directory
 *   <dir>/blobs.txt         one line per file body in the database: <user id> <sha256> <size>,
 *                           then " row" for a small body kept in its row (it is in the dump)
 *   <dir>/blobs/<user id>/<sha256>   the other bodies; each file's name is its checksum
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../store/db.js';

export const FORMAT = 'davenport-backup';
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const BLOB_LIST_FILE = 'blobs.txt';
export const DATABASE_FILE = { postgres: 'database.sql', pglite: 'database.tar.gz' } as const;
/** pg_dump and psql must be at least this major version (and at least the server's). */
export const MIN_PG_MAJOR = 15;

/** A problem the operator can fix: printed as one line, exit status 1. */
export class BackupError extends Error {}

export interface Counts {
  users: number;
  nodes: number;
  blobs: number;
  blobBytes: number;
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: number;
  createdAt: string;
  davenportVersion: string;
  store: 'postgres' | 'pglite';
  /** The database server's version() (PGlite reports the PostgreSQL it embeds). */
  serverVersion: string;
  /** pg_dump --version, or the PGlite package version. */
  dumpTool: string;
  /** The highest migration applied: a restore needs code that knows it. */
  schemaVersion: number;
  database: { file: string; bytes: number; sha256: string };
  blobList: { file: string; sha256: string };
  counts: Counts;
}

export interface BlobRow {
  user_id: number;
  sha256: string;
  size: number;
  /** Kept in its blobs row (migration 10), so carried by the database dump, not as a file. */
  in_row: boolean;
}

/** Where a body lives inside a backup directory. */
export function backupBlobFile(dir: string, userId: number, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256) || !Number.isSafeInteger(userId) || userId <= 0) {
    throw new BackupError(`not a blob reference: ${userId} ${sha256}`);
  }
  return path.join(dir, 'blobs', String(userId), sha256);
}

export function formatBlobList(rows: readonly BlobRow[]): string {
  return rows.map((r) => `${r.user_id} ${r.sha256} ${r.size}${r.in_row ? ' row' : ''}\n`).join('');
}

export function parseBlobList(text: string): BlobRow[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      const match = /^(\d+) ([0-9a-f]{64}) (\d+)( row)?$/.exec(line);
      if (!match) throw new BackupError(`${BLOB_LIST_FILE} line ${i + 1} is malformed`);
      return { user_id: Number(match[1]), sha256: match[2]!, size: Number(match[3]), in_row: match[4] !== undefined };
    });
}

/** Counts that the manifest records and a restore checks again; the same SQL on both stores. */
export async function countStore(q: Queryable): Promise<Counts & { schemaVersion: number }> {
  const rows = await q.query<Counts & { schemaVersion: number }>(
    `SELECT (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM nodes) AS nodes,
            (SELECT count(*)::int FROM blobs) AS blobs,
            (SELECT coalesce(sum(size), 0)::float8 FROM blobs) AS "blobBytes",
            (SELECT max(version)::int FROM schema_migrations) AS "schemaVersion"`,
  );
  return rows[0]!;
}

/** Whether the database has Davenport's schema at all. */
export async function hasSchema(q: Queryable): Promise<boolean> {
  const rows = await q.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  return rows[0]!.present;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Streams `open()` into a new file `target` (fsynced), checking on the way that its SHA-256 is
 * `sha256`: a body damaged on disk is reported, never copied silently.
 */
export async function copyVerified(open: () => Readable, target: string, sha256: string): Promise<number> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  // Opened only now, with pipeline listening at once: an open that fails must not go unheard.
  const source = open();
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, fs.createWriteStream(target, { flags: 'wx', flush: true }));
  } catch (error) {
    await fsp.rm(target, { force: true });
    throw error;
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) {
    await fsp.rm(target, { force: true });
    throw new BackupError(`the body ${sha256} reads back with checksum ${actual}: the file is damaged`);
  }
  return size;
}

/** Files and directories in `dir` (none when it does not exist). */
export function entriesOf(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Refuses to write into a directory that holds anything. */
export function requireEmptyDirectory(dir: string, what: string): void {
  const entries = entriesOf(dir);
  if (entries.length > 0) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
    throw new BackupError(`${what} ${dir} is not empty (${shown}); use an empty or new directory`);
  }
}

function packageVersion(packageJson: URL): string {
  return (JSON.parse(fs.readFileSync(fileURLToPath(packageJson), 'utf8')) as { version: string }).version;
}

export function davenportVersion(): string {
  return packageVersion(new URL('../../package.json', import.meta.url));
}

/** The embedded store's data directory format follows the PGlite release that wrote it. */
export function pgliteVersion(): string {
  return packageVersion(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url));
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL's client tools.

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end; a missing program is a BackupError naming the package to install. */
export function runTool(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(new BackupError(`${command} was not found: install PostgreSQL's client tools (Debian: apt-get install postgresql-client), version ${MIN_PG_MAJOR} or newer`));
      } else reject(error);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Checks that `tool` (pg_dump, psql) exists and is not older than the server: pg_dump cannot
 * dump a newer server, and its output is only guaranteed to load with a psql as new as it.
 */
export async function requirePgTool(tool: string, serverMajor: number, env?: NodeJS.ProcessEnv): Promise<string> {
  const { code, stdout } = await runTool(tool, ['--version'], env);
  const match = /\(PostgreSQL\) (\d+)/.exec(stdout);
  if (code !== 0 || !match) throw new BackupError(`${tool} --version did not report a PostgreSQL version: ${stdout.trim()}`);
  const major = Number(match[1]);
  const needed = Math.max(serverMajor, MIN_PG_MAJOR);
  if (major < needed) {
    throw new BackupError(`${tool} is version ${major}, older than the server (${serverMajor}); install postgresql-client ${needed} or newer`);
  }
  return stdout.trim();
}

export async function serverMajor(q: Queryable): Promise<number> {
  const rows = await q.query<{ num: number }>(`SELECT current_setting('server_version_num')::int AS num`);
  return Math.floor(rows[0]!.num / 10_000);
}

/**
 * A connection string for a PostgreSQL tool without its password, which goes in PGPASSWORD
 * instead: other users of the machine can read a command line in `ps`, not an environment.
 */
export function toolConnection(databaseUrl: string): { url: string; env: NodeJS.ProcessEnv } {
  const url = new URL(databaseUrl);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (url.password) {
    env.PGPASSWORD = decodeURIComponent(url.password);
    url.password = '';
  }
  return { url: url.toString(), env };
}

/** The last lines a failed tool printed, on one line. */
export function toolError(tool: string, result: ToolResult): BackupError {
  const said = result.stderr.trim().split('\n').slice(-3).join(' / ');
  return new BackupError(`${tool} failed (exit ${result.code}): ${said}`);
}
