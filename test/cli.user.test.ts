import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { verifyPassword } from '../src/auth/passwords.js';
import { findAppPassword, listAppPasswords } from '../src/store/credentials.js';
import { openDatabase } from '../src/store/open.js';
import { findLogin, findUserByName } from '../src/store/users.js';
import { createTestLocation, type TestLocation } from './helpers/store.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const location = await createTestLocation({ migrated: true });
after(() => location.remove());

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run user -- …` (tsx src/cli/user.ts) as a child process against `where`. */
function cli(args: string[], input = '', where: TestLocation = location): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: where.dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  if (where.databaseUrl) env.DATABASE_URL = where.databaseUrl;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/user.ts', ...args], { cwd: REPO_ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A failure: exit status 1 and exactly one line on stderr, no stack trace. */
function assertOneLineError(result: Result, pattern: RegExp): void {
  assert.equal(result.code, 1, JSON.stringify(result));
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

/** Opens the store the CLI uses, in this process (only while no CLI runs, on PGlite). */
async function inspect<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const db = await openDatabase(location);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

let appPasswordSecret = '';
let appPasswordId = 0;

test('add creates users with the password from the first line of standard input', async () => {
  const bob = await cli(['add', 'bob'], 'bob-password-1\nthis second line is ignored\n');
  assert.equal(bob.code, 0, bob.stderr);
  assert.equal(bob.stdout, 'created user bob\n');
  const carol = await cli(['add', 'carol', '--admin', '--email', 'carol@example.org'], 'carol-password\r\n');
  assert.equal(carol.code, 0, carol.stderr);
  assert.match(carol.stdout, /created user carol \(administrator\)/);

  await inspect(async (db) => {
    const login = await findLogin(db, 'bob');
    assert.ok(login);
    assert.equal(await verifyPassword('bob-password-1', login.passwordHash), true);
    const carolLogin = await findLogin(db, 'carol');
    assert.equal(await verifyPassword('carol-password', carolLogin!.passwordHash), true, 'CRLF is not part of the password');
    assert.equal(carolLogin!.user.isAdmin, true);
    assert.equal(carolLogin!.user.email, 'carol@example.org');
  });
});

test('add refuses taken and invalid names, short or missing passwords, and passwords in argv', async () => {
  assertOneLineError(await cli(['add', 'bob'], 'another-password\n'), /^error: a user named "bob" already exists$/);
  assertOneLineError(await cli(['add', 'Dave'], 'dave-password\n'), /^error: invalid user name "Dave"/);
  assertOneLineError(await cli(['add', 'dave'], 'short\n'), /^error: the password must have at least 8 characters$/);
  assertOneLineError(await cli(['add', 'dave']), /^error: no password/);
  assertOneLineError(await cli(['add', 'dave', 'dave-password']), /^error: usage: npm run user -- add <name>/);
  assertOneLineError(await cli(['add', 'dave', '--password', 'dave-password']), /^error: Unknown option '--password'/);
});

test('list shows one user per line with the admin flag, email and usage', async () => {
  assert.equal((await cli(['quota', 'bob', '5G'])).code, 0);
  const email = await cli(['email', 'bob', 'bob@example.org']);
  assert.equal(email.code, 0, email.stderr);
  const list = await cli(['list']);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, list.stdout);
  assert.match(lines[0]!, /^bob\s+-\s+bob@example\.org\s+0 B \/ 5 GiB$/);
  assert.match(lines[1]!, /^carol\s+admin\s+carol@example\.org\s+0 B \/ no quota$/);

  assert.equal((await cli(['quota', 'bob', 'none'])).code, 0);
  assertOneLineError(await cli(['quota', 'bob', 'lots']), /^error: a quota is a number of bytes/);
  assert.match((await cli(['list'])).stdout, /^bob\s+-\s+bob@example\.org\s+0 B \/ no quota$/m);
});

test('app-password add prints the secret once; list shows it without the secret', async () => {
  const added = await cli(['app-password', 'add', 'bob', "Bob's phone"]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^[a-z2-7]{5}(-[a-z2-7]{5}){3}\n$/);
  assert.match(added.stderr, /shown only this once/);
  appPasswordSecret = added.stdout.trim();

  const list = await cli(['app-password', 'list', 'bob']);
  assert.equal(list.code, 0, list.stderr);
  const match = /^(\d+)\s+Bob's phone\s+created \d{4}-\d\d-\d\d \d\d:\d\d UTC\s+never used$/m.exec(list.stdout);
  assert.ok(match, list.stdout);
  appPasswordId = Number(match[1]);
  assert.ok(!list.stdout.includes(appPasswordSecret));
  assertOneLineError(await cli(['app-password', 'list', 'nobody']), /^error: no user named "nobody"$/);
});

test('passwd changes the password; the app password is unaffected', async () => {
  const changed = await cli(['passwd', 'bob'], 'bob-password-2\n');
  assert.equal(changed.code, 0, changed.stderr);
  assertOneLineError(await cli(['passwd', 'nobody'], 'whatever-password\n'), /^error: no user named "nobody"$/);
  assertOneLineError(await cli(['passwd', 'bob'], 'short\n'), /at least 8 characters/);

  await inspect(async (db) => {
    const login = await findLogin(db, 'bob');
    assert.equal(await verifyPassword('bob-password-2', login!.passwordHash), true);
    assert.equal(await verifyPassword('bob-password-1', login!.passwordHash), false);
    assert.equal(await findAppPassword(db, login!.user.id, appPasswordSecret), appPasswordId);
  });
});

test('a store held by another process: one line on stderr, exit status 1', async () => {
  // The lock exists only for the embedded store; on PostgreSQL use a PGlite directory of its own.
  const embedded = location.databaseUrl ? await createTestLocation({ migrated: true, embedded: true }) : location;
  const held = await openDatabase(embedded);
  try {
    const result = await cli(['list'], '', embedded);
    assertOneLineError(result, new RegExp(`^error: the data directory .* is in use by another Davenport process \\(pid ${process.pid}\\)`));
    assert.equal(result.stdout, '');
  } finally {
    await held.close();
    if (embedded !== location) await embedded.remove();
  }
});

test('app-password revoke removes it, once', async () => {
  const revoked = await cli(['app-password', 'revoke', 'bob', String(appPasswordId)]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assertOneLineError(await cli(['app-password', 'revoke', 'bob', String(appPasswordId)]), /^error: bob has no app password \d+$/);
  assertOneLineError(await cli(['app-password', 'revoke', 'bob', 'phone']), /^error: an app password id is a number/);
  await inspect(async (db) => {
    const bob = await findUserByName(db, 'bob');
    assert.deepEqual(await listAppPasswords(db, bob!.id), []);
  });
});

test('delete removes the user; list no longer shows them', async () => {
  const deleted = await cli(['delete', 'bob']);
  assert.equal(deleted.code, 0, deleted.stderr);
  const list = await cli(['list']);
  assert.equal(list.stdout.trimEnd().split('\n').length, 1);
  assert.match(list.stdout, /^carol\s/);
  assertOneLineError(await cli(['delete', 'bob']), /^error: no user named "bob"$/);
});

test('usage errors', async () => {
  const none = await cli([]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^usage: npm run user -- <command>/);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /app-password revoke <name> <id>/);
  assertOneLineError(await cli(['frobnicate']), /^error: unknown command "frobnicate"/);
  assertOneLineError(await cli(['list', '--admin']), /^error: --admin does not apply to "list"$/);
});
