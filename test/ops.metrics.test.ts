import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { HttpMetrics, LATENCY_BUCKETS, sameSecret } from '../src/ops/metrics.js';
import { startTestServer } from './helpers/server.js';

const TOKEN = 'scrape-token-0123456789abcdef';
const server = await startTestServer({ env: { METRICS_TOKEN: TOKEN } });
after(() => server.close());

const scrape = (authorization?: string) =>
  server.request('GET', '/metrics', { as: null, headers: authorization ? { Authorization: authorization } : {} });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses exposition text strictly: every line is a comment or a well-formed sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith('\n'));
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `family ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][\w:]* .+$/.test(line)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{((?:[a-zA-Z_]\w*="[^"\\\n]*",?)*)\})? (-?[\d.e+]+|\+Inf|NaN)$/.exec(line);
    assert.ok(match, `malformed line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of match[2]?.matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g) ?? []) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('/metrics requires the bearer token', async () => {
  const none = await scrape();
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
  assert.equal((await scrape(`Bearer ${TOKEN}x`)).status, 401);
  assert.equal((await scrape(`Bearer ${TOKEN.slice(0, -1)}`)).status, 401);
  // A user's Basic credentials are no key to the metrics.
  assert.equal((await scrape(server.users[0]!.authorization)).status, 401);
  const ok = await scrape(`bearer ${TOKEN}`);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(ok.headers.get('cache-control'), 'no-store');
});

test('requests, latency, pool, blob bytes and memory are exposed', async () => {
  const body = Buffer.alloc(3000, 7);
  assert.equal((await server.request('PUT', '/dav/files/alice/a.bin', { body })).status, 201);
  // The same content again is the same blob: counted once.
  assert.equal((await server.request('PUT', '/dav/files/alice/b.bin', { body })).status, 201);
  assert.equal((await server.request('PUT', '/dav/files/alice/c.txt', { body: 'hello' })).status, 201);
  for (let i = 0; i < 3; i++) assert.equal((await server.request('PROPFIND', '/dav/files/alice/', { headers: { Depth: '1' } })).status, 207);
  // Node's parser knows SEARCH; Davenport does not implement it.
  assert.equal((await server.request('SEARCH', '/dav/files/alice/')).status, 405);

  const response = await scrape(`Bearer ${TOKEN}`);
  const { samples, types } = parse(await response.text());
  assert.equal(types.get('davenport_http_requests_total'), 'counter');
  assert.equal(types.get('davenport_http_request_duration_seconds'), 'histogram');
  assert.equal(value(samples, 'davenport_http_requests_total', { method: 'PROPFIND', status: '207' }), 3);
  assert.equal(value(samples, 'davenport_http_requests_total', { method: 'PUT', status: '201' }), 3);
  // Unknown methods share one label value.
  assert.equal(value(samples, 'davenport_http_requests_total', { method: 'other', status: '405' }), 1);

  const buckets = samples.filter((s) => s.name === 'davenport_http_request_duration_seconds_bucket' && s.labels.method === 'PROPFIND');
  assert.deepEqual(
    buckets.map((b) => b.labels.le),
    [...LATENCY_BUCKETS.map(String), '+Inf'],
  );
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'buckets are cumulative');
  assert.equal(buckets.at(-1)!.value, 3);
  assert.equal(value(samples, 'davenport_http_request_duration_seconds_count', { method: 'PROPFIND' }), 3);
  assert.ok(value(samples, 'davenport_http_request_duration_seconds_sum', { method: 'PROPFIND' })! > 0);

  assert.equal(value(samples, 'davenport_store_up'), 1);
  assert.equal(value(samples, 'davenport_blob_bytes'), 3005);
  assert.equal(value(samples, 'davenport_blobs'), 2);
  const total = value(samples, 'davenport_db_pool_connections', { state: 'total' });
  const idle = value(samples, 'davenport_db_pool_connections', { state: 'idle' });
  assert.ok(total !== undefined && total >= 1 && idle !== undefined && idle <= total);
  assert.equal(value(samples, 'davenport_db_pool_waiting'), 0);
  assert.ok(value(samples, 'process_resident_memory_bytes')! > 10 * 1024 * 1024);
  // The scrapes themselves are counted: two 401s and one 200 from the first test, at least.
  assert.ok(value(samples, 'davenport_http_requests_total', { method: 'GET', status: '401' })! >= 4);
});

test('without METRICS_TOKEN there is no /metrics', async () => {
  const other = await startTestServer({ users: [] });
  try {
    const response = await fetch(other.at('/metrics'), { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 404);
  } finally {
    await other.close();
  }
});

test('the histogram counts an observation in every bucket at or above it', () => {
  const metrics = new HttpMetrics();
  metrics.observe('GET', 200, 0.03);
  metrics.observe('GET', 200, 100);
  const text = metrics.render();
  assert.match(text, /_bucket\{method="GET",le="0.025"\} 0\n/);
  assert.match(text, /_bucket\{method="GET",le="0.05"\} 1\n/);
  assert.match(text, /_bucket\{method="GET",le="30"\} 1\n/);
  assert.match(text, /_bucket\{method="GET",le="\+Inf"\} 2\n/);
  assert.match(text, /_sum\{method="GET"\} 100.03\n/);
});

test('sameSecret compares whole secrets', () => {
  assert.equal(sameSecret('abc', 'abc'), true);
  assert.equal(sameSecret('abc', 'abd'), false);
  assert.equal(sameSecret('abc', 'abcd'), false);
  assert.equal(sameSecret('', 'a'), false);
});
