import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { SERVER_NODE_FLAGS } from '../src/node-flags.js';
import { basicAuthorization } from './helpers/server.js';
import { runServerToExit, spawnServer, type ServerProcess } from './helpers/process.js';
import { createTestLocation, testDatabaseUrl, type TestLocation } from './helpers/store.js';

const locations: TestLocation[] = [];
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const l of locations) await l.remove();
});

async function freshLocation(): Promise<Record<string, string>> {
  const location = await createTestLocation();
  locations.push(location);
  return { DATA_DIR: location.dataDir, ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}) };
}

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const server = await spawnServer(env);
  servers.push(server);
  return server;
}

function adminPassword(output: string): string {
  const match = /password: (\S+)/.exec(output);
  assert.ok(match, `no admin password printed:\n${output}`);
  return match[1]!;
}

test('the first start creates admin with a random password, printed once', { timeout: 120_000 }, async () => {
  const env = await freshLocation();
  const first = await start(env);
  const password = adminPassword(first.output());
  assert.match(first.output(), /npm run user -- passwd admin/);
  const ok = await fetch(first.url + '/dav/files/admin/', { method: 'PROPFIND', headers: { Depth: '0', Authorization: basicAuthorization('admin', password) } });
  assert.equal(ok.status, 207);
  await first.stop();
  const second = await start(env);
  assert.doesNotMatch(second.output(), /password:/);
  await second.stop();
});

test('a fresh embedded store is made by a process of its own: the server never holds initdb\'s ~900 MB', { skip: testDatabaseUrl ? 'PGlite only' : false, timeout: 120_000 }, async () => {
  const server = await start(await freshLocation());
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const peakMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
  // initdb in the server's own thread or a worker left its peak here (~990 MiB with tsx).
  assert.ok(peakMiB < 700, `peak resident memory ${peakMiB.toFixed(0)} MiB`);
  await server.stop();
});

test('npm start and the Dockerfile start the server with the V8 flags of node-flags.ts', () => {
  const repo = new URL('../', import.meta.url);
  const start = (JSON.parse(fs.readFileSync(new URL('package.json', repo), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  assert.ok(start.endsWith(`node ${SERVER_NODE_FLAGS.join(' ')} dist/main.js`), start);
  const cmd = /^CMD (.+)$/m.exec(fs.readFileSync(new URL('Dockerfile', repo), 'utf8'))?.[1];
  assert.deepEqual(JSON.parse(cmd ?? 'null'), ['node', ...SERVER_NODE_FLAGS, 'dist/main.js']);
});

test('a server started without those flags says so once', { timeout: 120_000 }, async () => {
  const server = await spawnServer({ ...(await freshLocation()), LOG_LEVEL: 'warn' }, { nodeFlags: [] });
  servers.push(server);
  assert.equal(server.output().match(/started without the V8 flags of `npm start`/g)?.length, 1, server.output());
  const flagged = await start({ ...(await freshLocation()), LOG_LEVEL: 'warn' });
  assert.doesNotMatch(flagged.output(), /started without the V8 flags/);
});

test('invalid configuration stops start-up with one clear line', { timeout: 60_000 }, async () => {
  const result = await runServerToExit({ ...(await freshLocation()), PORT: 'eighty' });
  assert.equal(result.code, 1);
  assert.equal(result.output.trim(), 'davenport: PORT must be a whole number, got "eighty"');
});

test('a second process on the same embedded store refuses to start', { skip: testDatabaseUrl ? 'PGlite only' : false, timeout: 120_000 }, async () => {
  const env = await freshLocation();
  const first = await start(env);
  const second = await runServerToExit(env);
  assert.equal(second.code, 1);
  assert.match(second.output, /^davenport: the data directory .* is in use by another Davenport process \(pid \d+\)/m);
  assert.equal(second.output.trim().split('\n').length, 1);
  // The first is unharmed.
  const res = await fetch(first.url + '/dav/', { method: 'OPTIONS' });
  assert.equal(res.status, 200);
  await first.stop();
});

test('contacts stored before PHONE_REGION was set are found by an international search after a restart with it', { timeout: 180_000 }, async () => {
  const env = await freshLocation();
  const first = await start(env);
  const auth = basicAuthorization('admin', adminPassword(first.output()));
  const book = '/dav/addressbooks/admin/contacts/';
  const card = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:national', 'FN:National', 'TEL;TYPE=CELL:020 7946 0958', 'END:VCARD', ''].join('\r\n');
  const put = await fetch(first.url + book + 'national.vcf', { method: 'PUT', headers: { Authorization: auth, 'Content-Type': 'text/vcard' }, body: card });
  assert.equal(put.status, 201);
  const search = async (server: ServerProcess) => {
    const body = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="TEL"><CR:text-match>+44 20 7946 0958</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>`;
    const res = await fetch(server.url + book, { method: 'REPORT', headers: { Authorization: auth, Depth: '1', 'Content-Type': 'application/xml' }, body });
    assert.equal(res.status, 207);
    return (await res.text()).includes('national.vcf');
  };
  assert.equal(await search(first), false, 'without a region a national number has no international form');
  await first.stop();
  const second = await start({ ...env, PHONE_REGION: 'GB' });
  assert.equal(await search(second), true);
  await second.stop();
});

test('kill -9 during a burst of writes loses no acknowledged write', { timeout: 180_000 }, async () => {
  const env = await freshLocation();
  const server = await start(env);
  const auth = basicAuthorization('admin', adminPassword(server.output()));
  const acknowledged = new Map<string, string>();
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const name = `w${w}-${i}.txt`;
      const body = `writer ${w} write ${i} ${'x'.repeat(i % 50)}`;
      try {
        const res = await fetch(`${server.url}/dav/files/admin/${name}`, { method: 'PUT', body, headers: { Authorization: auth } });
        if (res.status === 201) acknowledged.set(name, body);
      } catch {
        return; // the server died mid-request: that write was never acknowledged
      }
    }
  };
  const writers = Promise.all(Array.from({ length: 6 }, (_, w) => writer(w)));
  while (acknowledged.size < 150) await new Promise((r) => setTimeout(r, 20));
  await server.stop('SIGKILL');
  stop = true;
  await writers;

  const restarted = await start(env);
  for (const [name, body] of acknowledged) {
    const res = await fetch(`${restarted.url}/dav/files/admin/${name}`, { headers: { Authorization: auth } });
    assert.equal(res.status, 200, name);
    assert.equal(await res.text(), body, name);
  }
  await restarted.stop();
});
