import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { checkThrottle, pruneThrottle, recordFailure, recordSuccess, THROTTLE } from '../src/auth/throttle.js';
import { createUser } from '../src/store/users.js';
import { openTestStore } from './helpers/store.js';

const store = await openTestStore();
const { db } = store;
after(() => store.close());

async function fail(times: number, userName: string, address: string): Promise<void> {
  for (let i = 0; i < times; i++) await recordFailure(db, userName, address);
}

/** Moves every failure recorded so far `seconds` into the past. */
async function age(seconds: number): Promise<void> {
  await db.query('UPDATE login_failures SET at = at - make_interval(secs => $1::int)', [seconds]);
}

test('a fresh pair is allowed', async () => {
  assert.deepEqual(await checkThrottle(db, 'nobody', '192.0.2.1'), { allowed: true, retryAfterSeconds: 0 });
});

test('10 failures a minute block the (user, address) pair, not its neighbours', async () => {
  await fail(THROTTLE.perPair - 1, 'pairuser', '192.0.2.10');
  assert.equal((await checkThrottle(db, 'pairuser', '192.0.2.10')).allowed, true);
  await fail(1, 'pairuser', '192.0.2.10');
  const blocked = await checkThrottle(db, 'pairuser', '192.0.2.10');
  assert.equal(blocked.allowed, false);
  assert.ok(blocked.retryAfterSeconds >= 55 && blocked.retryAfterSeconds <= 60, `retry after ${blocked.retryAfterSeconds}`);
  // Another name from the same address is still allowed …
  assert.equal((await checkThrottle(db, 'someone-else', '192.0.2.10')).allowed, true);
  // … while those 10 failures also reached the per-user limit, for every address not known to be the user's.
  assert.equal((await checkThrottle(db, 'pairuser', '192.0.2.11')).allowed, false);
});

test('30 failures a minute from one address block it for every user name', async () => {
  const address = '198.51.100.7';
  for (let i = 0; i < THROTTLE.perAddress - 1; i++) await recordFailure(db, `sprayed${i}`, address);
  assert.equal((await checkThrottle(db, 'fresh-name', address)).allowed, true);
  await recordFailure(db, 'sprayed-last', address);
  assert.equal((await checkThrottle(db, 'fresh-name', address)).allowed, false);
  assert.equal((await checkThrottle(db, 'fresh-name', '198.51.100.8')).allowed, true, 'another address is not affected');
});

test("failures from elsewhere lock out unknown addresses but never the owner's known one", async () => {
  const owner = await createUser(db, { name: 'owner', password: 'owner-password' });
  const home = '203.0.113.5';
  await recordSuccess(db, owner.id, home);

  // A distributed attack: 10 failures, each from its own address.
  for (let i = 0; i < THROTTLE.perUser; i++) await recordFailure(db, 'owner', `10.9.8.${i}`);

  const stranger = await checkThrottle(db, 'owner', '10.1.1.1');
  assert.equal(stranger.allowed, false, 'a new address is blocked by the per-user limit');
  assert.ok(stranger.retryAfterSeconds > 0);
  assert.deepEqual(await checkThrottle(db, 'owner', home), { allowed: true, retryAfterSeconds: 0 });

  // The pair and address limits still apply to the known address itself.
  await fail(THROTTLE.perPair, 'owner', home);
  assert.equal((await checkThrottle(db, 'owner', home)).allowed, false);
});

test('a known address expires after 30 days without a successful login', async () => {
  const user = await createUser(db, { name: 'traveller', password: 'traveller-password' });
  await recordSuccess(db, user.id, '203.0.113.77');
  for (let i = 0; i < THROTTLE.perUser; i++) await recordFailure(db, 'traveller', `10.7.7.${i}`);
  assert.equal((await checkThrottle(db, 'traveller', '203.0.113.77')).allowed, true);
  await db.query("UPDATE known_addresses SET last_success_at = now() - interval '31 days' WHERE user_id = $1", [user.id]);
  assert.equal((await checkThrottle(db, 'traveller', '203.0.113.77')).allowed, false);
});

test('an exemption belongs to one user: a known address of one user does not exempt another', async () => {
  const a = await createUser(db, { name: 'exempt-a', password: 'password-a' });
  await createUser(db, { name: 'exempt-b', password: 'password-b' });
  await recordSuccess(db, a.id, '203.0.113.90');
  for (let i = 0; i < THROTTLE.perUser; i++) await recordFailure(db, 'exempt-b', `10.6.6.${i}`);
  assert.equal((await checkThrottle(db, 'exempt-b', '203.0.113.90')).allowed, false);
});

test('recording a success writes at most once a minute per pair', async () => {
  const user = await createUser(db, { name: 'steady', password: 'steady-password' });
  const stamp = async () =>
    (await db.query<{ last_success_at: Date }>('SELECT last_success_at FROM known_addresses WHERE user_id = $1', [user.id]))[0]!.last_success_at;
  await recordSuccess(db, user.id, '192.0.2.200');
  await db.query("UPDATE known_addresses SET last_success_at = now() - interval '30 seconds' WHERE user_id = $1", [user.id]);
  const first = await stamp();
  await recordSuccess(db, user.id, '192.0.2.200');
  assert.deepEqual(await stamp(), first, 'not rewritten 30 s later');
  await db.query("UPDATE known_addresses SET last_success_at = now() - interval '90 seconds' WHERE user_id = $1", [user.id]);
  await recordSuccess(db, user.id, '192.0.2.200');
  assert.ok(Date.now() - (await stamp()).getTime() < 30_000, 'rewritten after a minute');
});

// Ages every failure recorded so far: keep it after the tests that rely on fresh failures.
test('failures older than the window no longer count, and old rows are pruned', async () => {
  await fail(THROTTLE.perPair, 'windowed', '192.0.2.50');
  assert.equal((await checkThrottle(db, 'windowed', '192.0.2.50')).allowed, false);

  await age(THROTTLE.windowSeconds - 10);
  const soon = await checkThrottle(db, 'windowed', '192.0.2.50');
  assert.equal(soon.allowed, false);
  assert.ok(soon.retryAfterSeconds >= 1 && soon.retryAfterSeconds <= 10, `retry after ${soon.retryAfterSeconds}`);

  await age(11);
  assert.equal((await checkThrottle(db, 'windowed', '192.0.2.50')).allowed, true);

  const count = async () => (await db.query<{ count: number }>('SELECT count(*) AS count FROM login_failures'))[0]!.count;
  assert.ok((await count()) > 3);
  await age(THROTTLE.keepSeconds + 1);
  await recordFailure(db, 'recent', '192.0.2.51'); // three rows: user, address, pair
  await pruneThrottle(db);
  assert.equal(await count(), 3);
  assert.equal((await checkThrottle(db, 'recent', '192.0.2.51')).allowed, true);

  // Addresses not used for 30 days are forgotten too; recent ones stay.
  const known = await db.query<{ stale: number; fresh: number }>(
    `SELECT count(*) FILTER (WHERE last_success_at < now() - interval '30 days') AS stale,
            count(*) FILTER (WHERE last_success_at >= now() - interval '30 days') AS fresh FROM known_addresses`,
  );
  assert.deepEqual(known[0], { stale: 0, fresh: 3 });
});
