import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { StoreProbe } from '../src/ops/health.js';
import { startServer } from '../src/server.js';
import { FileBlobStore } from '../src/store/blobs.js';
import type { Database } from '../src/store/db.js';
import { openDatabase } from '../src/store/open.js';
import { createTestLocation } from './helpers/store.js';

// Built by hand rather than with startTestServer: the last test closes the database under it.
const location = await createTestLocation({ migrated: true });
const db = await openDatabase(location);
const config = loadConfig({
  DATA_DIR: location.dataDir,
  ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}),
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'silent',
  BASE_URL: 'http://127.0.0.1/cloud',
});
const running = await startServer({ config, db, blobs: new FileBlobStore(path.join(location.dataDir, 'blobs')), log: createLogger('silent') });
let dbOpen = true;
after(async () => {
  await running.close();
  if (dbOpen) await db.close();
  await location.remove();
});

const server = {
  request: (method: string, pathname: string) => fetch(running.url + pathname, { method }),
};

test('GET /healthz answers 200 without credentials and is never cached', async () => {
  for (const path of ['/healthz', '/cloud/healthz']) {
    const response = await server.request('GET', path);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(await response.text(), 'ok\n');
  }
  const head = await server.request('HEAD', '/healthz');
  assert.equal(head.status, 200);
  const post = await server.request('POST', '/healthz');
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

/** A Database whose queries do what `query` says; only what StoreProbe uses. */
function fakeDatabase(query: () => Promise<never[]>): Database & { calls: number } {
  const fake = {
    kind: 'postgres' as const,
    calls: 0,
    query: () => {
      fake.calls++;
      return query();
    },
    transaction: () => Promise.reject(new Error('not used')),
    poolStats: () => ({ total: 0, idle: 0, waiting: 0 }),
    close: async () => {},
  };
  return fake as unknown as Database & { calls: number };
}

test('a store that does not answer in time is unreachable, and concurrent probes share one query', async () => {
  const db = fakeDatabase(() => new Promise<never[]>(() => {}));
  const probe = new StoreProbe(db, 50);
  const started = Date.now();
  const results = await Promise.all([probe.reachable(), probe.reachable(), probe.reachable()]);
  assert.deepEqual(results, [false, false, false]);
  assert.equal(db.calls, 1);
  assert.ok(Date.now() - started < 1_000);
  // The next probe is a new query.
  assert.equal(await probe.reachable(), false);
  assert.equal(db.calls, 2);
});

test('a store that fails the query is unreachable', async () => {
  const probe = new StoreProbe(fakeDatabase(() => Promise.reject(new Error('connection refused'))), 1_000);
  assert.equal(await probe.reachable(), false);
});

test('GET /healthz answers 503 with Retry-After once the database is gone', async () => {
  await db.close();
  dbOpen = false;
  const response = await server.request('GET', '/healthz');
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '5');
  assert.equal(response.headers.get('cache-control'), 'no-store');
});
