/**
 * Davenport as a child process of its own (src/main.ts): PGlite in a temporary data directory, or
 * a fresh database on the PostgreSQL server of `databaseUrl`, dropped afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { spawnServer } from '../../test/helpers/process.js';
import { basicAuthorization } from '../http.js';
import type { RunningTarget, Target } from './target.js';

const REPO = new URL('../../', import.meta.url);

/**
 * The server as it runs in production (`npm start`): compiled to JavaScript, without the tsx
 * loader, which alone adds some 75 MB of resident memory. Built under node_modules/.cache so
 * that its imports resolve and nothing in the tree moves; `--quick` runs the source instead.
 */
function buildServer(): string {
  const out = fileURLToPath(new URL('node_modules/.cache/davenport-bench-server/', REPO));
  fs.rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [fileURLToPath(new URL('node_modules/typescript/bin/tsc', REPO)), '-p', 'tsconfig.build.json', '--outDir', out, '--tsBuildInfoFile', path.join(out, '.tsbuildinfo')], { cwd: REPO, stdio: 'inherit' });
  fs.cpSync(fileURLToPath(new URL('src/store/migrations', REPO)), path.join(out, 'store', 'migrations'), { recursive: true });
  return path.join(out, 'main.js');
}

export function davenportTarget(databaseUrl?: string, options: { compiled?: boolean } = {}): Target {
  return {
    label: databaseUrl ? 'Davenport (PostgreSQL)' : 'Davenport (PGlite)',
    store: databaseUrl ? 'PostgreSQL' : 'PGlite',
    version: davenportVersion(),
    durability: databaseUrl ? 'PostgreSQL commits with its defaults (fsync, synchronous_commit on)' : 'PGlite in its normal durable mode (a WAL flush per commit), file bodies fsynced',
    start: () => startDavenport(databaseUrl, options.compiled ? buildServer() : undefined),
  };
}

async function startDavenport(adminUrl: string | undefined, entry: string | undefined): Promise<RunningTarget> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-bench-'));
  const database = adminUrl ? await createDatabase(adminUrl) : undefined;
  const removeAll = async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  };
  try {
    // DATABASE_URL is always set so that one inherited from the shell cannot choose the store.
    const server = await spawnServer({ DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: database?.url ?? '' }, { entry });
    const password = /password: (\S+)/.exec(server.output())?.[1];
    if (!password) throw new Error(`no admin password in the server's output:\n${server.output()}`);
    const dav = `${server.url}/dav`;
    const running: RunningTarget = {
      pid: server.child.pid!,
      dataDir,
      authorization: basicAuthorization('admin', password),
      calendarHome: `${dav}/calendars/admin/`,
      addressBookHome: `${dav}/addressbooks/admin/`,
      filesFolder: `${dav}/files/admin/`,
      async stop() {
        await server.stop();
        await removeAll();
      },
    };
    if (database) return { ...running, externalBytes: () => database.size() };
    return running;
  } catch (error) {
    await removeAll();
    throw error;
  }
}

interface BenchDatabase {
  url: string;
  size(): Promise<number>;
  drop(): Promise<void>;
}

async function createDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `davenport_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    size: () => admin(async (c) => Number((await c.query<{ size: string }>('SELECT pg_database_size($1) AS size', [name])).rows[0]!.size)),
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

function davenportVersion(): string {
  const { version } = JSON.parse(fs.readFileSync(new URL('package.json', REPO), 'utf8')) as { version: string };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], { cwd: REPO, encoding: 'utf8' }).trim() !== '';
    return `${version} (${commit}${dirty ? ' + uncommitted changes' : ''})`;
  } catch {
    return version;
  }
}
