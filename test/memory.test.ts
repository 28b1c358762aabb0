import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { basicAuthorization } from './helpers/server.js';
import { spawnServer, writeBody, type ServerProcess, type SpawnOptions } from './helpers/process.js';
import { createTestLocation, type TestLocation } from './helpers/store.js';
import { SERVER_NODE_FLAGS } from '../src/node-flags.js';

const GIB = 1024 ** 3;
const LIMIT = 64 * 1024 ** 2;
const locations: TestLocation[] = [];
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  for (const l of locations) await l.remove();
});

async function start(options: SpawnOptions = {}): Promise<{ server: ServerProcess; auth: string; location: TestLocation }> {
  const location = await createTestLocation();
  locations.push(location);
  const server = await spawnServer({ DATA_DIR: location.dataDir, LOG_LEVEL: 'warn', ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}) }, options);
  servers.push(server);
  const password = /password: (\S+)/.exec(server.output())![1]!;
  return { server, auth: basicAuthorization('admin', password), location };
}

/** Samples the server's RSS every 20 ms while `work` runs; returns the peak. */
async function peakDuring(target: ServerProcess, work: () => Promise<void>): Promise<number> {
  let peak = target.rss();
  const timer = setInterval(() => (peak = Math.max(peak, target.rss())), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, target.rss());
}

function put(url: URL, auth: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { Authorization: auth, 'Content-Length': String(size) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    writeBody(req, size);
  });
}

function get(url: URL, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { Authorization: auth } }, (res) => {
      let received = 0;
      res.on('data', (c: Buffer) => (received += c.length));
      res.on('end', () => resolve(received));
      res.on('error', reject);
    });
  });
}

const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);

test('a 1 GiB PUT and a 1 GiB GET each raise resident memory by less than 64 MiB', { timeout: 600_000 }, async (t) => {
  const { server, auth, location } = await start();
  const url = new URL(`${server.url}/dav/files/admin/big.bin`);
  // Warm up every code path once so the idle level includes them.
  assert.equal(await put(new URL(`${server.url}/dav/files/admin/warm.bin`), auth, 8 * 1024 * 1024), 201);
  assert.equal(await get(new URL(`${server.url}/dav/files/admin/warm.bin`), auth), 8 * 1024 * 1024);
  await new Promise((r) => setTimeout(r, 500));

  const idle = server.rss();
  let status = 0;
  let started = performance.now();
  const putPeak = await peakDuring(server, async () => {
    status = await put(url, auth, GIB);
  });
  const putSeconds = (performance.now() - started) / 1000;
  assert.equal(status, 201);
  let received = 0;
  started = performance.now();
  const getPeak = await peakDuring(server, async () => {
    received = await get(url, auth);
  });
  const getSeconds = (performance.now() - started) / 1000;
  assert.equal(received, GIB);

  const store = location.databaseUrl ? 'PostgreSQL' : 'PGlite';
  t.diagnostic(`${store}: idle RSS ${mib(idle)} MiB; PUT 1 GiB peak +${mib(putPeak - idle)} MiB in ${putSeconds.toFixed(1)} s (${(1024 / putSeconds).toFixed(0)} MiB/s); GET 1 GiB peak +${mib(getPeak - idle)} MiB in ${getSeconds.toFixed(1)} s (${(1024 / getSeconds).toFixed(0)} MiB/s)`);
  assert.ok(putPeak - idle < LIMIT, `PUT raised RSS by ${mib(putPeak - idle)} MiB`);
  assert.ok(getPeak - idle < LIMIT, `GET raised RSS by ${mib(getPeak - idle)} MiB`);
});

test('an upload brings no full collection every few dozen megabytes (the V8 flags of npm start)', { timeout: 300_000 }, async (t) => {
  // node-flags.ts: without them, 512 MiB brought 15 mark-compacts here, each marking the whole heap,
  // and 256 MiB 7 or 8; with them, 0 or 1. Beside busy test files a few more come at times (the
  // threads that free the request's buffers fall behind), so the best of three uploads counts.
  const { server, auth } = await start({ memoryProbe: true });
  assert.equal(await put(new URL(`${server.url}/dav/files/admin/warm.bin`), auth, 8 * 1024 * 1024), 201);
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = await server.fullCollections();
    assert.equal(await put(new URL(`${server.url}/dav/files/admin/big-${i}.bin`), auth, 256 * 1024 * 1024), 201);
    // The observer hears of collections on a later turn.
    await new Promise((r) => setTimeout(r, 200));
    counts.push((await server.fullCollections()) - before);
  }
  t.diagnostic(`full collections during three 256 MiB PUTs: ${counts.join(', ')}`);
  assert.ok(Math.min(...counts) <= 2, `${counts.join(', ')} full collections`);
});

test('the embedded store keeps one compilation of its code (--no-liftoff): less resident memory at rest', { skip: process.env.TEST_DATABASE_URL ? 'PostgreSQL runs no WebAssembly' : false, timeout: 180_000 }, async (t) => {
  // node-flags.ts: 211–233 MB at rest against 252–295 without the flag (six starts each).
  const atRest = async (nodeFlags: readonly string[]): Promise<number> => {
    const { server, auth } = await start({ nodeFlags });
    const folder = `${server.url}/dav/files/admin/rest/`;
    const send = (method: string, url: string, body?: string) => fetch(url, { method, headers: { Authorization: auth, Depth: '1' }, body });
    assert.equal((await send('MKCOL', folder)).status, 201);
    for (let i = 0; i < 20; i++) assert.equal((await send('PUT', `${folder}f${i}.txt`, `file ${i}`)).status, 201);
    assert.equal((await send('PROPFIND', folder)).status, 207);
    await new Promise((r) => setTimeout(r, 1000));
    const rss = server.rss();
    await server.stop();
    return rss;
  };
  const once = await atRest(SERVER_NODE_FLAGS);
  const twice = await atRest(SERVER_NODE_FLAGS.filter((flag) => flag !== '--no-liftoff'));
  t.diagnostic(`at rest: ${mib(once)} MiB with --no-liftoff, ${mib(twice)} MiB without`);
  assert.ok(twice - once > 30 * 1024 ** 2, `${mib(once)} MiB with the flag, ${mib(twice)} MiB without`);
});
