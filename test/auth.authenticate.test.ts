import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import Koa from 'koa';
import { authenticate, forgetCredentials, parseBasicAuthorization, type AuthUser } from '../src/auth/authenticate.js';
import { THROTTLE } from '../src/auth/throttle.js';
import { createLogger } from '../src/log.js';
import { createAppPassword, listAppPasswords, revokeAppPassword } from '../src/store/credentials.js';
import { createUser, setPassword } from '../src/store/users.js';
import { openTestStore } from './helpers/store.js';

const store = await openTestStore();
const { db } = store;
const logLines: string[] = [];
const log = createLogger('debug', (line) => logLines.push(line));

const app = new Koa();
app.proxy = true; // so each test can speak from its own address through X-Forwarded-For
app.use(authenticate({ db, log }));
app.use((ctx) => {
  ctx.body = ctx.state.user as AuthUser;
});
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dav/files/`;

after(async () => {
  server.close();
  await store.close();
});

const CHALLENGE = 'Basic realm="Davenport", charset="UTF-8"';

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

async function request(address: string, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { 'x-forwarded-for': address };
  if (authorization !== undefined) headers.authorization = authorization;
  return fetch(base, { headers });
}

async function failuresFrom(address: string): Promise<number> {
  const rows = await db.query<{ count: number }>('SELECT count(*) AS count FROM login_failures WHERE key = $1', [`addr:${address}`]);
  return rows[0]!.count;
}

test('RFC 7617 parsing', () => {
  assert.deepEqual(parseBasicAuthorization(basic('alice', 'pa:ss word')), { userName: 'alice', password: 'pa:ss word' });
  assert.deepEqual(parseBasicAuthorization('bAsIc   ' + Buffer.from('bob:x').toString('base64')), { userName: 'bob', password: 'x' });
  assert.deepEqual(parseBasicAuthorization(basic('bob', '')), { userName: 'bob', password: '' });
  // The RFC 7617 §2.1 example: user "test", password "123£" in UTF-8.
  assert.deepEqual(parseBasicAuthorization('Basic dGVzdDoxMjPCow=='), { userName: 'test', password: '123£' });
  // The same in ISO-8859-1, as older clients send it.
  assert.deepEqual(parseBasicAuthorization('Basic dGVzdDoxMjOj'), { userName: 'test', password: '123£' });
  // Padding dropped by some clients.
  assert.deepEqual(parseBasicAuthorization('Basic ' + Buffer.from('ab:c').toString('base64').replace(/=+$/, '')), { userName: 'ab', password: 'c' });
  // A capitalised first letter (phone keyboards) folds to the lower-case name.
  assert.equal(parseBasicAuthorization(basic('Alice', 'x'))?.userName, 'alice');
  for (const header of ['Basic', 'Basic ', 'Basic !!!!', 'Basic a b', 'Bearer abc', 'Digest username="a"', basic('', 'pw'), basic('nocolon', '').slice(0, -4), 'Basic ' + Buffer.from('nocolon').toString('base64'), basic('a\u0000b', 'pw'), basic('a\nb', 'pw')]) {
    assert.equal(parseBasicAuthorization(header), undefined, header);
  }
});

test('no credentials: 401 with the challenge, not counted as a failure', async () => {
  const response = await request('192.0.2.1');
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('www-authenticate'), CHALLENGE);
  assert.equal(await failuresFrom('192.0.2.1'), 0);
});

test('malformed credentials: 401 with the challenge, never 500', async () => {
  for (const header of ['Basic', 'Basic !!!!', 'Basic ' + Buffer.from('nocolon').toString('base64'), 'Bearer token', basic('nul\u0000', 'x'), 'Basic ' + 'A'.repeat(6000)]) {
    const response = await request('192.0.2.2', header);
    assert.equal(response.status, 401, header.slice(0, 40));
    assert.equal(response.headers.get('www-authenticate'), CHALLENGE);
  }
});

test('the right password lets the request through with ctx.state.user set', async () => {
  const user = await createUser(db, { name: 'alice', password: 'pässwörd-£€', isAdmin: true });
  const response = await request('192.0.2.3', basic('alice', 'pässwörd-£€'));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { id: user.id, name: 'alice', isAdmin: true });
  const known = await db.query('SELECT 1 FROM known_addresses WHERE user_id = $1 AND address = $2', [user.id, '192.0.2.3']);
  assert.equal(known.length, 1, 'the address is now known');
  // A capitalised user name is the same user.
  assert.equal((await request('192.0.2.3', basic('Alice', 'pässwörd-£€'))).status, 200);
});

test('a wrong password: 401, a failure recorded, a warning without the password', async () => {
  await createUser(db, { name: 'bob', password: 'bob-password' });
  logLines.length = 0;
  const response = await request('192.0.2.4', basic('bob', 'guess-number-1'));
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('www-authenticate'), CHALLENGE);
  assert.equal(await failuresFrom('192.0.2.4'), 1);
  const warning = logLines.find((line) => line.includes('WARN') && line.includes('login failed'));
  assert.ok(warning, logLines.join('\n'));
  assert.match(warning, /user="bob"/);
  assert.match(warning, /address="192\.0\.2\.4"/);
  for (const line of logLines) {
    assert.ok(!line.includes('guess-number-1'), line);
    assert.ok(!line.includes(Buffer.from('bob:guess-number-1').toString('base64')), line);
  }
});

test('an unknown user: 401 and a failure recorded, like a wrong password', async () => {
  const response = await request('192.0.2.5', basic('ghost', 'whatever-password'));
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('www-authenticate'), CHALLENGE);
  assert.equal(await failuresFrom('192.0.2.5'), 1);
});

test('an app password signs in and is marked as used; revoked, it no longer does', async () => {
  const carol = await createUser(db, { name: 'carol', password: 'carol-password' });
  const phone = await createAppPassword(db, carol.id, 'phone');
  const response = await request('192.0.2.6', basic('carol', phone.secret));
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as AuthUser).id, carol.id);
  assert.ok((await listAppPasswords(db, carol.id))[0]!.lastUsedAt instanceof Date);
  // Another user's name with this secret is no login.
  await createUser(db, { name: 'carl', password: 'carl-password' });
  assert.equal((await request('192.0.2.6', basic('carl', phone.secret))).status, 401);

  await revokeAppPassword(db, carol.id, phone.id);
  forgetCredentials(carol.id);
  assert.equal((await request('192.0.2.6', basic('carol', phone.secret))).status, 401);
});

test('a success is cached until forgetCredentials', async () => {
  const dave = await createUser(db, { name: 'dave', password: 'old-password' });
  assert.equal((await request('192.0.2.7', basic('dave', 'old-password'))).status, 200);
  await setPassword(db, dave.id, 'new-password');
  // Still cached: no scrypt, no database.
  assert.equal((await request('192.0.2.7', basic('dave', 'old-password'))).status, 200);
  forgetCredentials(dave.id);
  assert.equal((await request('192.0.2.7', basic('dave', 'old-password'))).status, 401);
  assert.equal((await request('192.0.2.7', basic('dave', 'new-password'))).status, 200);
});

test('parallel requests with the same credentials are verified once', async () => {
  await createUser(db, { name: 'erin', password: 'erin-password' });
  const responses = await Promise.all(Array.from({ length: 5 }, () => request('192.0.2.8', basic('erin', 'wrong-password'))));
  assert.deepEqual(responses.map((r) => r.status), [401, 401, 401, 401, 401]);
  assert.equal(await failuresFrom('192.0.2.8'), 1);
});

test("throttling: 429 with Retry-After, but the owner's known address still gets in", async () => {
  const frank = await createUser(db, { name: 'frank', password: 'frank-password' });
  const home = '203.0.113.20';
  assert.equal((await request(home, basic('frank', 'frank-password'))).status, 200);

  const attacker = '198.51.100.66';
  for (let i = 0; i < THROTTLE.perPair; i++) {
    assert.equal((await request(attacker, basic('frank', `guess-${i}`))).status, 401);
  }
  logLines.length = 0;
  const blocked = await request(attacker, basic('frank', 'guess-x'));
  assert.equal(blocked.status, 429);
  const retryAfter = Number(blocked.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
  assert.match(await blocked.text(), /too many failed logins/i);
  assert.ok(logLines.some((line) => line.includes('WARN') && line.includes('login throttled') && line.includes(attacker)));
  assert.equal(await failuresFrom(attacker), THROTTLE.perPair, 'a throttled attempt is not counted again');

  // Even the right password is refused from the attacker's address …
  forgetCredentials(frank.id);
  assert.equal((await request(attacker, basic('frank', 'frank-password'))).status, 429);
  // … and from any address frank never used (the per-user limit) …
  assert.equal((await request('198.51.100.67', basic('frank', 'frank-password'))).status, 429);
  // … but not from his own.
  const own = await request(home, basic('frank', 'frank-password'));
  assert.equal(own.status, 200);
  assert.equal(((await own.json()) as AuthUser).id, frank.id);
});
