/**
 * A short load run (the full one is `npm run load`): a spawned server under a mix of PROPFIND,
 * REPORTs, GET and PUT answers every request as expected, and its resident memory after the run
 * is at most 10% above what it was after a warm-up of 10 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, runLoad, verdict } from '../load/run.js';
import { testDatabaseUrl } from './helpers/store.js';

test('10 s of mixed DAV traffic: no errors, no memory growth', { timeout: 300_000 }, async (t) => {
  // The warm-up lets the server's read cache and V8's heap reach their working size (on
  // PostgreSQL, after 4 s they still grew by 8–15% in the next 10 s; over `npm run load`'s 60 s
  // after 10 s, −2.4%).
  const report = await runLoad({ duration: 10, connections: 8, warmup: 10, databaseUrl: testDatabaseUrl, events: 300, cards: 150, files: 40 });
  for (const line of formatReport(report).split('\n')) t.diagnostic(line);
  assert.ok(report.overall.requests > 100, `${report.overall.requests} requests answered`);
  for (const kind of report.kinds) assert.ok(kind.requests > 0, `${kind.name}: some requests answered`);
  assert.deepEqual(verdict(report), []);
});
