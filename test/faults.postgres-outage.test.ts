/**
 * PostgreSQL going away while Davenport runs: requests get 503 with Retry-After (never 500,
 * never a hang), the process stays up, and it serves again by itself once the database is back.
 * The outage is simulated by a TCP proxy between the two (the machine's PostgreSQL server is
 * shared with other tests and must not be stopped).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventText } from './helpers/multistatus.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { basicAuthorization } from './helpers/server.js';
import { createTestLocation, testDatabaseUrl, type TestLocation } from './helpers/store.js';
import { startTcpProxy, throughProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const skip = testDatabaseUrl ? false : 'PostgreSQL only (set TEST_DATABASE_URL): PGlite is embedded, there is no connection to lose';

let location: TestLocation | undefined;
let proxy: TcpProxy | undefined;
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop('SIGKILL');
  await proxy?.close();
  await location?.remove();
});

/** A request with a deadline: an answer must come within `ms`, whatever it is. */
async function timed(url: string, init: RequestInit, ms = 8_000): Promise<{ status: number; retryAfter: string | null; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started };
}

test('PostgreSQL unreachable: 503 with Retry-After, the process stays up and recovers by itself', { skip, timeout: 180_000 }, async () => {
  location = await createTestLocation();
  const upstream = new URL(location.databaseUrl!);
  proxy = await startTcpProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
  server = await spawnServer({ DATA_DIR: location.dataDir, DATABASE_URL: throughProxy(location.databaseUrl!, proxy) });
  const password = /password: (\S+)/.exec(server.output())![1]!;
  const auth = basicAuthorization('admin', password);
  const files = `${server.url}/dav/files/admin/`;
  const calendar = `${server.url}/dav/calendars/admin/personal/`;
  const get = (url: string, authorization = auth) => timed(url, { headers: { Authorization: authorization } });
  const put = (url: string, body: string) =>
    timed(url, { method: 'PUT', body, headers: { Authorization: auth, 'Content-Type': url.endsWith('.ics') ? 'text/calendar' : 'text/plain' } });
  const propfind = (url: string) => timed(url, { method: 'PROPFIND', headers: { Authorization: auth, Depth: '1' } });

  assert.equal((await put(files + 'before.txt', 'written before the outage')).status, 201);
  assert.equal((await put(calendar + 'before.ics', eventText('outage-before', 'before'))).status, 201);

  // A burst of writes while the proxy cuts every connection: each gets a 2xx or a 503 — a
  // connection lost mid-transaction must neither crash the process nor answer 500.
  let stop = false;
  const statuses: number[] = [];
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const target = w % 2 ? calendar + `burst-${w}-${i}.ics` : files + `burst-${w}-${i}.txt`;
      const body = w % 2 ? eventText(`burst-${w}-${i}`, `burst ${i}`) : `burst ${w} ${i}`;
      // 0: no answer at all (the process died, or the request hung past its deadline).
      const res = await put(target, body).catch(() => ({ status: 0, retryAfter: null }));
      statuses.push(res.status);
      if (res.status === 503) assert.equal(res.retryAfter, '5');
      if (res.status === 0) return;
    }
  });
  while (statuses.length < 20) await new Promise((r) => setTimeout(r, 10));
  await proxy.cut();
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(writers);
  assert.ok(statuses.includes(503), `some writes met the outage: ${statuses.join(' ')}`);
  assert.deepEqual(
    statuses.filter((s) => s !== 201 && s !== 503),
    [],
    'every write was stored (201) or refused as unavailable (503)',
  );

  // During the outage: every kind of request, with cached and uncached credentials.
  const during = [
    await get(files + 'before.txt'),
    await propfind(files),
    await propfind(calendar),
    await put(files + 'during.txt', 'not stored'),
    await put(calendar + 'during.ics', eventText('outage-during', 'during')),
    await timed(calendar, {
      method: 'REPORT',
      headers: { Authorization: auth, Depth: '1', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>',
    }),
    // Not in the success cache: checking this password needs the database too.
    await get(files + 'before.txt', basicAuthorization('admin', 'not-the-password')),
  ];
  for (const res of during) {
    assert.equal(res.status, 503);
    assert.equal(res.retryAfter, '5');
    assert.ok(res.ms < 6_000, `answered in ${Math.round(res.ms)} ms`);
  }
  assert.equal(server.child.exitCode, null, 'the process is still running');
  assert.equal(server.child.signalCode, null);
  assert.match(server.output(), /WARN database unavailable/);
  assert.doesNotMatch(server.output(), /unhandled error/);

  // The database comes back: the pool reconnects without a restart.
  await proxy.restore();
  let recovered: Awaited<ReturnType<typeof get>> | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    recovered = await get(files + 'before.txt');
    if (recovered.status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(recovered?.status, 200, 'serves again after the outage');
  assert.equal((await put(files + 'after.txt', 'written after the outage')).status, 201);
  assert.equal((await put(calendar + 'after.ics', eventText('outage-after', 'after'))).status, 201);
  assert.equal((await propfind(calendar)).status, 207);
  const text = await (await fetch(files + 'after.txt', { headers: { Authorization: auth } })).text();
  assert.equal(text, 'written after the outage');

  // And a clean stop still works.
  assert.equal(await server.stop('SIGTERM'), 0);
});
