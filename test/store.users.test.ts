import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { ensureInitialAdmin } from '../src/auth/bootstrap.js';
import { verifyPassword } from '../src/auth/passwords.js';
import { createLogger } from '../src/log.js';
import { claimBlob, FileBlobStore, isStorageFull } from '../src/store/blobs.js';
import {
  createAppPassword,
  findAppPassword,
  InvalidAppPasswordNameError,
  listAppPasswords,
  revokeAppPassword,
  touchAppPassword,
} from '../src/store/credentials.js';
import { insertNode, listChildren, resolvePath } from '../src/store/nodes.js';
import {
  countUsers,
  createUser,
  deleteUser,
  findLogin,
  findUserByName,
  getUser,
  InvalidEmailError,
  InvalidPasswordError,
  InvalidQuotaError,
  InvalidUserNameError,
  listUsers,
  setEmail,
  setPassword,
  setQuota,
  SPACE_ROOTS,
  UserExistsError,
} from '../src/store/users.js';
import { isQuotaExceeded } from '../src/store/db.js';
import { openTestStore } from './helpers/store.js';

const store = await openTestStore();
const { db } = store;
after(() => store.close());

// First: it needs the store without users.
test('the first start creates admin with a random password, printed once', async () => {
  assert.equal(await countUsers(db), 0);
  const printed: string[] = [];
  const logged: string[] = [];
  const log = createLogger('info', (line) => logged.push(line));
  assert.equal(await ensureInitialAdmin(db, log, (text) => printed.push(text)), true);
  assert.equal(printed.length, 1);
  const password = /password: (\S+)/.exec(printed[0]!)?.[1];
  assert.ok(password && password.length >= 20, printed[0]);
  assert.match(printed[0]!, /user: +admin\n/);
  assert.match(printed[0]!, /npm run user -- passwd admin/);
  assert.ok(!logged.join('\n').includes(password), 'the password is printed, never logged');

  const login = await findLogin(db, 'admin');
  assert.equal(login?.user.isAdmin, true);
  assert.equal(await verifyPassword(password, login!.passwordHash), true);
  assert.ok((await resolvePath(db, login!.user.id, ['files'])).node);

  assert.equal(await ensureInitialAdmin(db, log, (text) => printed.push(text)), false);
  assert.equal(printed.length, 1, 'printed once');
  assert.equal(await countUsers(db), 1);
});

test('creating a user stores its fields and creates its space roots and default collections', async () => {
  const before = await countUsers(db);
  const user = await createUser(db, { name: 'alice', password: 'alice-password', email: 'alice@example.org', isAdmin: true });
  assert.equal(user.name, 'alice');
  assert.equal(user.email, 'alice@example.org');
  assert.equal(user.isAdmin, true);
  assert.equal(user.quotaBytes, null);
  assert.equal(user.usedBytes, 0);
  assert.ok(user.createdAt instanceof Date && Math.abs(user.createdAt.getTime() - Date.now()) < 60_000);
  assert.equal(typeof user.id, 'number');
  assert.equal(await countUsers(db), before + 1);

  assert.ok(SPACE_ROOTS.includes('files'));
  for (const root of SPACE_ROOTS) {
    const { node } = await resolvePath(db, user.id, [root]);
    assert.ok(node, `root ${root} exists`);
    assert.equal(node.kind, 'collection');
    assert.equal(node.parentId, null);
    // The files start empty; the calendars and address books hold a default collection each.
    const members = (await listChildren(db, user.id, node.id)).map((m) => [m.name, m.kind]);
    const defaults: Record<string, string[][]> = { calendars: [['personal', 'calendar']], addressbooks: [['contacts', 'addressbook']] };
    assert.deepEqual(members, defaults[root] ?? []);
  }
  const roots = await db.query<{ name: string }>('SELECT name FROM nodes WHERE user_id = $1 AND parent_id IS NULL ORDER BY name', [user.id]);
  assert.deepEqual(roots.map((r) => r.name), [...SPACE_ROOTS].sort());
});

test('the password is stored as a scrypt hash', async () => {
  const user = await createUser(db, { name: 'hash.check', password: 'the-password' });
  const login = await findLogin(db, 'hash.check');
  assert.ok(login);
  assert.equal(login.user.id, user.id);
  assert.match(login.passwordHash, /^scrypt\$/);
  assert.ok(!login.passwordHash.includes('the-password'));
  assert.equal(await verifyPassword('the-password', login.passwordHash), true);
  assert.equal(Object.keys(user).includes('passwordHash'), false);
});

test('user names that would not be safe in a URL are refused', async () => {
  const before = await countUsers(db);
  for (const name of ['', '.hidden', '.', '..', 'Bob', 'a/b', 'a b', 'a%2fb', 'élise', 'x'.repeat(65), 'a:b', 'user@host', 'tab\t']) {
    await assert.rejects(createUser(db, { name, password: 'long enough' }), (error: Error) => {
      assert.ok(error instanceof InvalidUserNameError, `${JSON.stringify(name)}: ${error}`);
      assert.match(error.message, /invalid user name .*a-z, 0-9/);
      return true;
    });
  }
  assert.equal(await countUsers(db), before);
});

test('user names at the edges of the rules are accepted', async () => {
  for (const name of ['z', '0', '_x', '-dash', 'a.b-c_d', 'n'.repeat(64), 'dots...']) {
    const user = await createUser(db, { name, password: 'long enough' });
    assert.equal((await findUserByName(db, name))?.id, user.id);
  }
});

test('a taken name is refused and leaves nothing behind', async () => {
  const first = await createUser(db, { name: 'twice', password: 'password-1' });
  const nodesBefore = await db.query<{ count: number }>('SELECT count(*) AS count FROM nodes');
  await assert.rejects(createUser(db, { name: 'twice', password: 'password-2' }), UserExistsError);
  const nodesAfter = await db.query<{ count: number }>('SELECT count(*) AS count FROM nodes');
  assert.deepEqual(nodesAfter, nodesBefore);
  assert.equal((await findUserByName(db, 'twice'))?.id, first.id);
});

test('short passwords and bad email addresses are refused', async () => {
  await assert.rejects(createUser(db, { name: 'shorty', password: 'seven77' }), InvalidPasswordError);
  await assert.rejects(createUser(db, { name: 'shorty', password: 'long enough', email: 'not an address' }), InvalidEmailError);
  assert.equal(await findUserByName(db, 'shorty'), undefined);
  // Eight characters, counted as characters rather than UTF-16 units or bytes.
  await createUser(db, { name: 'shorty', password: '🔑🔑🔑🔑🔑🔑🔑🔑' });
});

test('lookups by name and id, and the list in name order', async () => {
  const carol = await createUser(db, { name: 'carol', password: 'carol-password' });
  assert.deepEqual(await getUser(db, carol.id), carol);
  assert.deepEqual(await findUserByName(db, 'carol'), carol);
  assert.equal(await findUserByName(db, 'Carol'), undefined);
  assert.equal(await getUser(db, 987_654_321), undefined);
  const names = (await listUsers(db)).map((u) => u.name);
  assert.ok(names.includes('carol'));
  assert.deepEqual(names, [...names].sort());
  assert.equal(names.length, await countUsers(db));
});

test('password, email and quota can be changed', async () => {
  const dave = await createUser(db, { name: 'dave', password: 'first-password' });
  assert.equal(await setPassword(db, dave.id, 'second-password'), true);
  const login = await findLogin(db, 'dave');
  assert.equal(await verifyPassword('second-password', login!.passwordHash), true);
  assert.equal(await verifyPassword('first-password', login!.passwordHash), false);
  await assert.rejects(setPassword(db, dave.id, 'short'), InvalidPasswordError);

  assert.equal(await setEmail(db, dave.id, 'dave@example.org'), true);
  assert.equal((await getUser(db, dave.id))?.email, 'dave@example.org');
  assert.equal(await setEmail(db, dave.id, null), true);
  assert.equal((await getUser(db, dave.id))?.email, null);
  await assert.rejects(setEmail(db, dave.id, 'dave at example'), InvalidEmailError);

  assert.equal(await setQuota(db, dave.id, 5 * 1024 ** 3), true);
  assert.equal((await getUser(db, dave.id))?.quotaBytes, 5 * 1024 ** 3);
  assert.equal(await setQuota(db, dave.id, 0), true);
  assert.equal((await getUser(db, dave.id))?.quotaBytes, 0);
  assert.equal(await setQuota(db, dave.id, null), true);
  assert.equal((await getUser(db, dave.id))?.quotaBytes, null);
  await assert.rejects(setQuota(db, dave.id, -1), InvalidQuotaError);
  await assert.rejects(setQuota(db, dave.id, 1.5), InvalidQuotaError);

  for (const change of [() => setPassword(db, 987_654_321, 'whatever-password'), () => setEmail(db, 987_654_321, null), () => setQuota(db, 987_654_321, 1)]) {
    assert.equal(await change(), false);
  }
});

test('deleting a user removes their rows everywhere and their blob files', async () => {
  const blobs = new FileBlobStore(path.join(store.dataDir, 'blobs'));
  const erin = await createUser(db, { name: 'erin', password: 'erin-password' });
  const other = await createUser(db, { name: 'frank', password: 'frank-password' });
  // Past SMALL_BODY_BYTES, so that the body is a file of the blob store.
  const content = Buffer.from('hello, world\n'.repeat(6_000));
  const sha = createHash('sha256').update(content).digest('hex');
  for (const user of [erin, other]) {
    const staged = await blobs.stage(user.id, Readable.from([content]), 1024 * 1024);
    await db.transaction(async (tx) => {
      await claimBlob(tx, blobs, user.id, staged);
      const { node: root } = await resolvePath(tx, user.id, ['files']);
      const folder = await insertNode(tx, { userId: user.id, parentId: root!.id, name: 'docs', kind: 'collection' });
      await insertNode(tx, { userId: user.id, parentId: folder.id, name: 'hello.txt', kind: 'file', blobSha256: sha, size: content.length });
    });
    await createAppPassword(db, user.id, 'laptop');
    await db.query('INSERT INTO known_addresses (user_id, address) VALUES ($1, $2)', [user.id, '192.0.2.1']);
  }
  assert.equal((await getUser(db, erin.id))?.usedBytes, content.length);
  const erinFile = path.join(store.dataDir, 'blobs', String(erin.id), sha.slice(0, 2), sha);
  assert.ok(fs.existsSync(erinFile));

  assert.equal(await deleteUser(db, blobs, erin.id), true);
  assert.equal(await getUser(db, erin.id), undefined);
  for (const table of ['nodes', 'blobs', 'app_passwords', 'known_addresses', 'changes']) {
    const rows = await db.query<{ count: number }>(`SELECT count(*) AS count FROM ${table} WHERE user_id = $1`, [erin.id]);
    assert.equal(rows[0]?.count, 0, table);
  }
  assert.equal(fs.existsSync(path.join(store.dataDir, 'blobs', String(erin.id))), false);
  assert.equal(await deleteUser(db, blobs, erin.id), false);

  // The neighbour is untouched.
  assert.equal((await getUser(db, other.id))?.usedBytes, content.length);
  assert.ok(fs.existsSync(path.join(store.dataDir, 'blobs', String(other.id), sha.slice(0, 2), sha)));
  assert.equal((await listAppPasswords(db, other.id)).length, 1);
});

test('a write past the quota fails with the quota trigger\'s error, told apart from a full disk', async () => {
  const quincy = await createUser(db, { name: 'quincy', password: 'quincy-password' });
  await setQuota(db, quincy.id, 10);
  const refused = await db
    .transaction(async (tx) => {
      const { node: root } = await resolvePath(tx, quincy.id, ['files']);
      await tx.query('INSERT INTO blobs (user_id, sha256, size) VALUES ($1, $2, 11)', [quincy.id, 'a'.repeat(64)]);
      await insertNode(tx, { userId: quincy.id, parentId: root!.id, name: 'big.txt', kind: 'file', blobSha256: 'a'.repeat(64), size: 11 });
    })
    .then(() => undefined, (error: unknown) => error);
  assert.equal(isQuotaExceeded(refused), true, String(refused));
  assert.equal(isStorageFull(refused), false);
  assert.equal((await getUser(db, quincy.id))?.usedBytes, 0);
  // PostgreSQL's own disk_full has the same code and another message.
  const diskFull = Object.assign(new Error('could not extend file "base/5/16384": No space left on device'), { code: '53100' });
  assert.equal(isQuotaExceeded(diskFull), false);
  assert.equal(isStorageFull(diskFull), true);
});

test('app passwords: created once, found by secret, listed, touched and revoked', async () => {
  const gina = await createUser(db, { name: 'gina', password: 'gina-password' });
  const hank = await createUser(db, { name: 'hank', password: 'hank-password' });
  const phone = await createAppPassword(db, gina.id, '  Gina’s phone ');
  assert.equal(phone.name, 'Gina’s phone');
  assert.match(phone.secret, /^[a-z2-7]{5}(-[a-z2-7]{5}){3}$/);
  const laptop = await createAppPassword(db, gina.id, 'laptop');
  assert.notEqual(laptop.secret, phone.secret);

  assert.equal(await findAppPassword(db, gina.id, phone.secret), phone.id);
  assert.equal(await findAppPassword(db, gina.id, laptop.secret), laptop.id);
  // Typed on a phone: capitals, spaces or no dashes are the same secret.
  assert.equal(await findAppPassword(db, gina.id, phone.secret.toUpperCase()), phone.id);
  assert.equal(await findAppPassword(db, gina.id, phone.secret.replaceAll('-', '')), phone.id);
  assert.equal(await findAppPassword(db, gina.id, phone.secret.replaceAll('-', ' ')), phone.id);
  // Someone else's, a near miss, and something that is not an app password at all.
  assert.equal(await findAppPassword(db, hank.id, phone.secret), undefined);
  const nearMiss = phone.secret.slice(0, -1) + (phone.secret.endsWith('a') ? 'b' : 'a');
  assert.equal(await findAppPassword(db, gina.id, nearMiss), undefined);
  assert.equal(await findAppPassword(db, gina.id, 'gina-password'), undefined);

  // Only the SHA-256 of the canonical secret is stored.
  const rows = await db.query<{ token_hash: Buffer }>('SELECT token_hash FROM app_passwords WHERE user_id = $1 AND id = $2', [gina.id, phone.id]);
  const expected = createHash('sha256').update(phone.secret.replaceAll('-', '')).digest();
  assert.deepEqual(rows[0]?.token_hash, expected);

  let list = await listAppPasswords(db, gina.id);
  assert.deepEqual(list.map((p) => [p.id, p.name, p.lastUsedAt]), [
    [phone.id, 'Gina’s phone', null],
    [laptop.id, 'laptop', null],
  ]);
  assert.ok(list[0]!.createdAt instanceof Date);
  assert.equal(Object.keys(list[0]!).includes('secret'), false);

  await touchAppPassword(db, gina.id, phone.id);
  const firstUse = (await listAppPasswords(db, gina.id))[0]!.lastUsedAt;
  assert.ok(firstUse instanceof Date);
  await touchAppPassword(db, gina.id, phone.id);
  assert.deepEqual((await listAppPasswords(db, gina.id))[0]!.lastUsedAt, firstUse, 'no second write within a minute');
  await db.query("UPDATE app_passwords SET last_used_at = now() - interval '2 minutes' WHERE id = $1", [phone.id]);
  await touchAppPassword(db, gina.id, phone.id);
  const later = (await listAppPasswords(db, gina.id))[0]!.lastUsedAt!;
  assert.ok(Date.now() - later.getTime() < 30_000, 'written again after a minute');

  assert.equal(await revokeAppPassword(db, hank.id, phone.id), false, "hank cannot revoke gina's");
  assert.equal(await revokeAppPassword(db, gina.id, phone.id), true);
  assert.equal(await revokeAppPassword(db, gina.id, phone.id), false);
  assert.equal(await findAppPassword(db, gina.id, phone.secret), undefined);
  assert.equal(await findAppPassword(db, gina.id, laptop.secret), laptop.id);
  list = await listAppPasswords(db, gina.id);
  assert.deepEqual(list.map((p) => p.id), [laptop.id]);

  await assert.rejects(createAppPassword(db, gina.id, '   '), InvalidAppPasswordNameError);
  await assert.rejects(createAppPassword(db, gina.id, 'two\nlines'), InvalidAppPasswordNameError);
});
