import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, randomBase32, verifyPassword } from '../src/auth/passwords.js';

test('a hash verifies its own password and no other', async () => {
  const stored = await hashPassword('correct horse battery staple');
  assert.equal(await verifyPassword('correct horse battery staple', stored), true);
  assert.equal(await verifyPassword('correct horse battery stapl', stored), false);
  assert.equal(await verifyPassword('Correct horse battery staple', stored), false);
  assert.equal(await verifyPassword('', stored), false);
});

test('the stored form names its parameters and salts every hash', async () => {
  const a = await hashPassword('same password');
  const b = await hashPassword('same password');
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, b);
  assert.notEqual(a.split('$')[4], b.split('$')[4]);
});

test('verification reads the cost from the stored string', async () => {
  // A hash made with other parameters (as after a future change of cost) still verifies.
  const { scryptSync } = await import('node:crypto');
  const salt = Buffer.from('0123456789abcdef');
  const key = scryptSync('old password', salt, 32, { N: 1024, r: 8, p: 1 });
  const stored = `scrypt$1024$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
  assert.equal(await verifyPassword('old password', stored), true);
  assert.equal(await verifyPassword('new password', stored), false);
});

test('composed and decomposed spellings of a password are the same password', async () => {
  const stored = await hashPassword('caf\u00e9-cr\u00e8me');
  assert.equal(await verifyPassword('cafe\u0301-cre\u0300me', stored), true);
});

test('a malformed or absurd stored hash never matches and never throws', async () => {
  const good = await hashPassword('password1');
  const [, , r, p, salt, hash] = good.split('$');
  for (const stored of [
    '',
    'plain text',
    'argon2id$v=19$m=65536,t=3,p=4$abc$def',
    good.replace('scrypt', 'SCRYPT'),
    `scrypt$32768$${r}$${p}$${salt}`,
    `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
    `scrypt$${2 ** 30}$${r}$${p}$${salt}$${hash}`, // a gigabyte of memory: refused before scrypt runs
    `scrypt$32768$${r}$${p}$$${hash}`,
  ]) {
    assert.equal(await verifyPassword('password1', stored), false, stored);
  }
});

test('hashing runs off the event loop', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    await Promise.all([hashPassword('a password'), hashPassword('another one')]);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 3, `the event loop ran ${ticks} timers during two hashes`);
});

test('random base32 secrets use the whole alphabet and nothing else', () => {
  const text = randomBase32(4000);
  assert.equal(text.length, 4000);
  assert.match(text, /^[a-z2-7]+$/);
  assert.equal(new Set(text).size, 32);
  assert.notEqual(randomBase32(20), randomBase32(20));
});
