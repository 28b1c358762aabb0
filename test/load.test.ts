/**
 * A short load run (the full one is `npm run load`): a spawned server under a mix of PROPFIND,
 * REPORTs, GET and PUT answers every request as expected, and the memory its JavaScript holds
 * after a full collection is at most 5% above what it was after a warm-up of 10 s (resident
 * memory at most 50%: see load/run.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, runLoad, verdict } from '../load/run.js';
import { testDatabaseUrl } from './helpers/store.js';

test('10 s of mixed DAV traffic: no errors, no memory growth', { timeout: 300_000 }, async (t) => {
  // The warm-up lets the server's caches see every content the run sends (the PUTs cycle through
  // two versions of each item) and V8 compile the hot code.
  const report = await runLoad({ duration: 10, connections: 8, warmup: 10, databaseUrl: testDatabaseUrl, events: 300, cards: 150, files: 40 });
  for (const line of formatReport(report).split('\n')) t.diagnostic(line);
  assert.ok(report.overall.requests > 100, `${report.overall.requests} requests answered`);
  for (const kind of report.kinds) assert.ok(kind.requests > 0, `${kind.name}: some requests answered`);
  assert.ok(report.before.heap > 1024 ** 2 && report.after.code > 0, 'the server reported its heap');
  assert.deepEqual(verdict(report), []);
});
