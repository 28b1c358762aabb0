import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from './helpers/server.js';
import { toolSkip } from './helpers/tools.js';

const skip = toolSkip('litmus');
let server: TestServer;

before(async () => {
  if (!skip) server = await startTestServer();
});
after(() => server?.close());

/** litmus (RFC 4918 compliance): every suite must report 0 failures and 0 warnings. */
test('litmus: basic, copymove, props, locks and http suites pass', { skip, timeout: 300_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-litmus-'));
  const user = server.users[0]!;
  const { stdout } = await promisify(execFile)('litmus', ['-k', server.at(`/dav/files/${user.name}/`), user.name, user.password], {
    cwd,
    env: { ...process.env, TESTS: 'basic copymove props locks http' },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  fs.rmSync(cwd, { recursive: true, force: true });
  const summaries = [...stdout.matchAll(/summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/g)];
  const bySuite: Record<string, { run: number; failed: number }> = Object.fromEntries(
    summaries.map((m) => [m[1]!, { run: Number(m[2]), failed: Number(m[4]) }]),
  );
  assert.deepEqual(Object.keys(bySuite).sort(), ['basic', 'copymove', 'http', 'locks', 'props'], stdout);
  for (const [suite, { failed }] of Object.entries(bySuite)) assert.equal(failed, 0, `${suite}:\n${stdout}`);
  assert.doesNotMatch(stdout, /WARNING/, stdout);
  // A skipped litmus test hides a failure in the request it depends on (e.g. HEAD).
  assert.doesNotMatch(stdout, /tests? (were|was) skipped/, stdout);
  assert.equal(Object.values(bySuite).reduce((n, s) => n + s.run, 0), 104, stdout);
});
