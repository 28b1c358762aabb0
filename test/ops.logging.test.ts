import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createLogger, redact } from '../src/log.js';
import { startServer } from '../src/server.js';
import { FileBlobStore } from '../src/store/blobs.js';
import { createAppPassword } from '../src/store/credentials.js';
import { createUser } from '../src/store/users.js';
import { basicAuthorization } from './helpers/server.js';
import { openTestStore } from './helpers/store.js';

// A server whose debug log is captured line by line.
const lines: string[] = [];
const store = await openTestStore();
const config = loadConfig({
  DATA_DIR: store.dataDir,
  ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'debug',
});
const log = createLogger('debug', (line) => lines.push(line));
const running = await startServer({ config, db: store.db, blobs: new FileBlobStore(path.join(store.dataDir, 'blobs')), log });
after(async () => {
  await running.close();
  await store.close();
});

const PASSWORD = 'correct horse battery staple';
const user = await createUser(store.db, { name: 'carol', password: PASSWORD });
const appPassword = await createAppPassword(store.db, user.id, 'phone');

function assertSecretsAbsent(secrets: string[]): void {
  const text = lines.join('\n');
  assert.ok(lines.length > 0);
  for (const secret of secrets) assert.ok(!text.includes(secret), `the log contains ${JSON.stringify(secret)}:\n${text}`);
}

test('the debug log of requests with credentials holds neither the password nor the Authorization value', async () => {
  lines.length = 0;
  const cases = [
    basicAuthorization('carol', PASSWORD),
    basicAuthorization('carol', appPassword.secret),
    // A failed login, and a header that is not even well-formed Basic.
    basicAuthorization('carol', PASSWORD + '-wrong'),
    'Basic %%%not-base64%%%',
  ];
  const cookie = 'session=s3cr3t-session-id';
  for (const authorization of cases) {
    const response = await fetch(`${running.url}/dav/files/carol/`, {
      method: 'PROPFIND',
      headers: { Authorization: authorization, Cookie: cookie, Depth: '0' },
    });
    await response.arrayBuffer();
  }
  // The headers were logged (that is what debug is for), with the secrets redacted.
  assert.ok(lines.some((line) => line.includes('request headers') && line.includes('"authorization":"[redacted]"')));
  assert.ok(lines.some((line) => line.includes('"cookie":"[redacted]"')));
  assert.ok(lines.some((line) => /login failed.*user="carol"/.test(line)));
  assertSecretsAbsent([
    PASSWORD,
    appPassword.secret,
    's3cr3t-session-id',
    ...cases.map((header) => header.slice('Basic '.length)),
  ]);
});

test('redact hides secrets by key and credentials inside text', () => {
  assert.deepEqual(redact({ Authorization: 'Basic abc', 'set-cookie': ['a=b'], depth: '1', nested: { password: 'x' } }), {
    Authorization: '[redacted]',
    'set-cookie': '[redacted]',
    depth: '1',
    nested: { password: '[redacted]' },
  });
  assert.equal(redact('header was "Basic YWxpY2U6cHc=" here'), 'header was "Basic [redacted]" here');
  assert.equal(redact('Bearer abc.def-ghi'), 'Bearer [redacted]');
  const lines: string[] = [];
  createLogger('info', (line) => lines.push(line)).info('x', { authorization: 'Basic abc', cookie: 'a=b', user: 'carol' });
  assert.match(lines[0]!, /authorization="\[redacted\]" cookie="\[redacted\]" user="carol"$/);
});
