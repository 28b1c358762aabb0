/**
 * npm run backup / npm run restore, end to end: an instance with files, calendars, address books,
 * dead properties and two users is backed up (on PostgreSQL while it serves and changes; on the
 * embedded store once stopped), restored into a fresh instance, and every PROPFIND and GET of
 * the two compared.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/server.js';
import { FileBlobStore } from '../src/store/blobs.js';
import type { Database } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { createUser } from '../src/store/users.js';
import { basicAuthorization } from './helpers/server.js';
import { createTestLocation, testDatabaseUrl, type TestLocation } from './helpers/store.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const fixture = (kind: string, name: string) => fs.readFileSync(new URL(`./fixtures/${kind}/${name}`, import.meta.url), 'utf8');
const PASSWORDS: Record<string, string> = { alice: 'alice-password-1', bob: 'bob-password-12', carol: 'carol-password-1' };

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-backup-test-'));
cleanup.push(async () => fs.rmSync(scratch, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run <script> -- …` (tsx src/cli/<script>.ts) against a store location. */
function cli(script: 'backup' | 'restore', args: string[], where: { dataDir: string; databaseUrl?: string }): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: where.dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  if (where.databaseUrl) env.DATABASE_URL = where.databaseUrl;
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { cwd: REPO_ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function assertOneLineFailure(result: Result, pattern: RegExp): void {
  assert.equal(result.code, 1, JSON.stringify(result));
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
}

interface Instance {
  db: Database;
  running: RunningServer;
  request(user: string, method: string, pathname: string, headers?: Record<string, string>, body?: string | Buffer): Promise<Response>;
  /** Stops the server and closes the store; the location stays. */
  stop(): Promise<void>;
}

/** A server over a store location, as main.ts would run it (schema migrated if needed). */
async function serve(location: TestLocation): Promise<Instance> {
  const db = await openDatabase(location);
  await migrate(db);
  const config = loadConfig({
    DATA_DIR: location.dataDir,
    ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const running = await startServer({ config, db, blobs: new FileBlobStore(path.join(location.dataDir, 'blobs')), log: createLogger('silent') });
  let stopped = false;
  const instance: Instance = {
    db,
    running,
    request: (user, method, pathname, headers = {}, body) =>
      fetch(running.url + pathname, {
        method,
        headers: { Authorization: basicAuthorization(user, PASSWORDS[user]!), ...headers },
        ...(body !== undefined ? { body } : {}),
      }),
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.close();
      await db.close();
    },
  };
  cleanup.push(() => instance.stop());
  return instance;
}

async function newLocation(options: { migrated?: boolean } = {}): Promise<TestLocation> {
  const location = await createTestLocation(options);
  cleanup.push(() => location.remove());
  return location;
}

async function expectStatus(response: Promise<Response>, status: number): Promise<void> {
  const res = await response;
  assert.equal(res.status, status, `${res.url}: ${await res.text()}`);
}

const binary = randomBytes(300_000);

/** Files (a nested folder, a binary file, a body shared by two names), dead properties, a calendar with events, an address book with cards. */
async function populate(instance: Instance): Promise<void> {
  await createUser(instance.db, { name: 'alice', password: PASSWORDS.alice! });
  await createUser(instance.db, { name: 'bob', password: PASSWORDS.bob! });
  const alice = (method: string, p: string, headers?: Record<string, string>, body?: string | Buffer) =>
    expectStatus(instance.request('alice', method, p, headers, body), method === 'PROPPATCH' ? 207 : 201);

  await alice('MKCOL', '/dav/files/alice/Documents/');
  await alice('MKCOL', '/dav/files/alice/Documents/Deep/');
  await alice('MKCOL', '/dav/files/alice/Documents/Deep/Deeper/');
  await alice('PUT', '/dav/files/alice/Documents/notes.txt', { 'Content-Type': 'text/plain' }, 'first line\nsecond line\n');
  await alice('PUT', '/dav/files/alice/Documents/Deep/Deeper/photo.bin', { 'Content-Type': 'application/octet-stream' }, binary);
  await alice('PUT', '/dav/files/alice/copy-of-photo.bin', {}, binary);
  await alice('PUT', '/dav/files/alice/Documents/Deep/ünïcødé name.md', {}, '# hello\n');
  await alice('PUT', '/dav/files/alice/empty.txt', {}, '');
  await alice(
    'PROPPATCH',
    '/dav/files/alice/Documents/notes.txt',
    { 'Content-Type': 'application/xml' },
    `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:props"><D:set><D:prop><Z:colour>blue</Z:colour><Z:tags><Z:tag>a</Z:tag><Z:tag>b</Z:tag></Z:tags></D:prop></D:set></D:propertyupdate>`,
  );
  await alice(
    'PROPPATCH',
    '/dav/files/alice/Documents/',
    { 'Content-Type': 'application/xml' },
    `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:props"><D:set><D:prop><Z:pinned>yes</Z:pinned></D:prop></D:set></D:propertyupdate>`,
  );
  for (const name of ['allday.ics', 'weekly.ics', 'task-due.ics']) {
    await alice('PUT', `/dav/calendars/alice/personal/${name}`, { 'Content-Type': 'text/calendar; charset=utf-8' }, fixture('caldav', name));
  }
  await alice('MKCALENDAR', '/dav/calendars/alice/work/');
  await alice('PUT', '/dav/calendars/alice/work/floating.ics', { 'Content-Type': 'text/calendar; charset=utf-8' }, fixture('caldav', 'floating.ics'));
  for (const name of ['ios-johnny.vcf', 'davx5-zoe.vcf', 'davx5-group.vcf']) {
    await alice('PUT', `/dav/addressbooks/alice/contacts/${name}`, { 'Content-Type': 'text/vcard; charset=utf-8' }, fixture('carddav', name));
  }
  await expectStatus(instance.request('bob', 'PUT', '/dav/files/bob/plan.txt', {}, 'bob was here\n'), 201);
  await expectStatus(instance.request('bob', 'PUT', '/dav/files/bob/same-as-alice.bin', {}, binary), 201);
  await expectStatus(instance.request('bob', 'PUT', '/dav/addressbooks/bob/contacts/ios-group.vcf', { 'Content-Type': 'text/vcard' }, fixture('carddav', 'ios-group.vcf')), 201);
}

const ALLPROP = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

/** The responses of a multistatus, keyed by href, so the comparison does not depend on order. */
function responses(xml: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const match of xml.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)) {
    const href = /<D:href>([^<]*)<\/D:href>/.exec(match[1]!)![1]!;
    map.set(href, match[1]!);
  }
  assert.ok(map.size > 0, xml);
  return map;
}

/** Everything a client can see of the users' data: PROPFIND answers and every GET (status, ETag, body). */
async function observe(instance: Instance, users: string[]): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const propfind = async (user: string, p: string, depth: string) => {
    const res = await instance.request(user, 'PROPFIND', p, { Depth: depth, 'Content-Type': 'application/xml' }, ALLPROP);
    assert.equal(res.status, 207, p);
    const found = responses(await res.text());
    for (const [href, body] of found) seen.set(`PROPFIND ${depth} ${href}`, body);
    return [...found.keys()];
  };
  for (const user of users) {
    const hrefs = await propfind(user, `/dav/files/${user}/`, 'infinity');
    for (const home of [`/dav/calendars/${user}/`, `/dav/addressbooks/${user}/`]) {
      for (const collection of await propfind(user, home, '1')) {
        if (collection === home) continue;
        hrefs.push(...(await propfind(user, collection, '1')));
      }
    }
    for (const href of new Set(hrefs)) {
      if (href.endsWith('/')) continue;
      const res = await instance.request(user, 'GET', href);
      const body = Buffer.from(await res.arrayBuffer());
      seen.set(`GET ${href}`, `${res.status} ${res.headers.get('etag')} ${res.headers.get('content-type')} ${createHash('sha256').update(body).digest('hex')}`);
    }
  }
  return seen;
}

function assertSameView(restored: Map<string, string>, original: Map<string, string>): void {
  assert.deepEqual([...restored.keys()].sort(), [...original.keys()].sort());
  for (const [key, value] of original) assert.equal(restored.get(key), value, key);
  // The view is not trivially small: files, calendar objects and cards were all compared.
  const gets = [...original.keys()].filter((k) => k.startsWith('GET '));
  assert.ok(gets.some((k) => k.endsWith('.bin')) && gets.some((k) => k.endsWith('.ics')) && gets.some((k) => k.endsWith('.vcf')), gets.join('\n'));
}

test('a backup restores into a fresh instance that answers exactly as the original', { timeout: 300_000 }, async () => {
  const originalLocation = await newLocation({ migrated: true });
  const original = await serve(originalLocation);
  await populate(original);
  const before = await observe(original, ['alice', 'bob']);
  assert.ok(before.size >= 30, `only ${before.size} observations`);
  const backupDir = path.join(scratch, 'backup');

  if (testDatabaseUrl) {
    // On PostgreSQL, while the server serves a third user who keeps adding and deleting files.
    await createUser(original.db, { name: 'carol', password: PASSWORDS.carol! });
    let churning = true;
    let served = 0;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        await expectStatus(original.request('carol', 'PUT', `/dav/files/carol/f${i}.txt`, {}, `content of f${i}\n`), 201);
        if (i >= 2) await expectStatus(original.request('carol', 'DELETE', `/dav/files/carol/f${i - 2}.txt`), 204);
        served++;
      }
    })();
    const result = await cli('backup', [backupDir], originalLocation);
    churning = false;
    await churn;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(served > 0, 'the server kept serving during the backup');
  } else {
    // The embedded store is backed up only while the server is stopped.
    const refused = await cli('backup', [backupDir], originalLocation);
    assertOneLineFailure(refused, /^backup failed: .*in use by another Davenport process.*backed up while the server is stopped$/);
    assert.deepEqual(fs.readdirSync(backupDir), []);
    await original.stop();
    const result = await cli('backup', [backupDir], originalLocation);
    assert.equal(result.code, 0, result.stderr);
  }

  const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.store, testDatabaseUrl ? 'postgres' : 'pglite');
  assert.ok(fs.existsSync(path.join(backupDir, manifest.database.file)));
  assert.equal(manifest.counts.users, testDatabaseUrl ? 3 : 2);

  // A fresh instance: an empty database (not even migrated) and an empty DATA_DIR.
  const target = await newLocation();
  const restored = await cli('restore', [backupDir], target);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /^restored the backup of .* file bodies/);

  const copy = await serve(target);
  assertSameView(await observe(copy, ['alice', 'bob']), before);
  // Unchanged while backed up: alice's view is also identical to the original's now.
  if (testDatabaseUrl) assertSameView(await observe(original, ['alice', 'bob']), before);

  // A restored server accepts writes: the identity sequences went along.
  await expectStatus(copy.request('alice', 'PUT', '/dav/files/alice/after-restore.txt', {}, 'new\n'), 201);
  await expectStatus(copy.request('alice', 'MKCOL', '/dav/files/alice/New Folder/'), 201);

  if (testDatabaseUrl) {
    // Carol's files are whatever the snapshot held, and every one of them is whole.
    const listing = responses(await (await copy.request('carol', 'PROPFIND', '/dav/files/carol/', { Depth: '1' })).text());
    for (const href of listing.keys()) {
      if (href.endsWith('/')) continue;
      const res = await copy.request('carol', 'GET', href);
      assert.equal(res.status, 200, href);
      assert.equal(await res.text(), `content of ${href.split('/').pop()!.replace(/\.txt$/, '')}\n`);
    }
  }

  // Into a store that is not empty any more: refused, and nothing is changed.
  await copy.stop();
  const again = await cli('restore', [backupDir], target);
  assertOneLineFailure(again, /^restore failed: DATA_DIR .* is not empty/);
});

test('backup and restore refuse bad targets and damaged backups with one line', { timeout: 120_000 }, async () => {
  const nonEmpty = path.join(scratch, 'not-empty');
  fs.mkdirSync(nonEmpty);
  fs.writeFileSync(path.join(nonEmpty, 'something'), 'x');
  const location = await newLocation({ migrated: true });
  assertOneLineFailure(await cli('backup', [nonEmpty], location), /^backup failed: the backup directory .*not-empty is not empty \(something\)/);
  assertOneLineFailure(await cli('restore', [nonEmpty], location), /^restore failed: .* holds no manifest.json: not a Davenport backup, or an unfinished one$/);

  // A small real backup, then damaged in turn.
  const dir = path.join(scratch, 'small');
  const instance = await serve(location);
  await createUser(instance.db, { name: 'alice', password: PASSWORDS.alice! });
  // Past SMALL_BODY_BYTES, so a file in the store and in the backup; the small one is kept in its row.
  const text = 'some text\n'.repeat(7_000);
  await expectStatus(instance.request('alice', 'PUT', '/dav/files/alice/a.txt', {}, text), 201);
  await expectStatus(instance.request('alice', 'PUT', '/dav/files/alice/small.txt', {}, 'small\n'), 201);
  await instance.stop();
  const made = await cli('backup', [dir], location);
  assert.equal(made.code, 0, made.stderr);

  const fresh = await newLocation();
  const listed = fs.readFileSync(path.join(dir, 'blobs.txt'), 'utf8').trim().split('\n').map((line) => line.split(' '));
  assert.deepEqual(listed.map((fields) => fields.slice(2)).sort(), [['6', 'row'], [String(text.length)]], 'the small body is marked as carried by the database');
  const blobFile = listed.find((fields) => fields.length === 3)!;
  assert.deepEqual(fs.readdirSync(path.join(dir, 'blobs', blobFile[0]!)), [blobFile[1]], 'only the large body is a file of the backup');
  const body = path.join(dir, 'blobs', blobFile[0]!, blobFile[1]!);
  fs.writeFileSync(body, text.replace('some', 'same'));
  assertOneLineFailure(await cli('restore', [dir], fresh), /^restore failed: blobs\/\d+\/[0-9a-f]{64} does not match its name or size: the backup is damaged$/);
  assert.deepEqual(fs.readdirSync(fresh.dataDir), [], 'a failed restore leaves the target empty');
  fs.writeFileSync(body, text);

  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  fs.appendFileSync(path.join(dir, manifest.database.file), '\n');
  assertOneLineFailure(await cli('restore', [dir], fresh), /^restore failed: database\.(sql|tar\.gz) does not match its checksum/);

  fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, schemaVersion: 9999 }));
  assertOneLineFailure(await cli('restore', [dir], fresh), /^restore failed: the backup's schema \(version 9999\) is newer than this Davenport knows/);

  fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, store: testDatabaseUrl ? 'pglite' : 'postgres' }));
  assertOneLineFailure(await cli('restore', [dir], fresh), testDatabaseUrl ? /unset DATABASE_URL/ : /set DATABASE_URL/);
});

test('backup on PostgreSQL fails clearly without a suitable pg_dump', { skip: !testDatabaseUrl && 'PostgreSQL only', timeout: 60_000 }, async () => {
  const location = await newLocation({ migrated: true });
  const bin = path.join(scratch, 'fake-bin');
  fs.mkdirSync(bin, { recursive: true });
  const old = path.join(bin, 'pg_dump');
  fs.writeFileSync(old, '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.2"\n', { mode: 0o755 });
  const run = (dir: string, PATH: string) => {
    const env = { ...process.env, PATH, DATA_DIR: location.dataDir, DATABASE_URL: location.databaseUrl! };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/backup.ts', dir], { cwd: REPO_ROOT, env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout: '', stderr })));
  };
  assertOneLineFailure(await run(path.join(scratch, 'old'), `${bin}:${process.env.PATH}`), /^backup failed: pg_dump is version 12, older than the server \(\d+\); install postgresql-client \d+ or newer$/);
  fs.rmSync(old);
  assertOneLineFailure(await run(path.join(scratch, 'none'), bin), /^backup failed: pg_dump was not found: install PostgreSQL's client tools/);
});
