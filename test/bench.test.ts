/**
 * The benchmark itself must not rot: `npm run bench -- --quick` runs every workload on small sizes
 * against Davenport (PGlite, or PostgreSQL with TEST_DATABASE_URL), checks every answer and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventsOverlapping, generateEvents } from '../bench/generate.js';
import { expectSameSet, WrongAnswer } from '../bench/outcome.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'bench', '--', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the expected month is computed at its edges: all-day events touching it from outside do not match', () => {
  const events = generateEvents(10_000);
  const february = eventsOverlapping(events, Date.UTC(2026, 1, 1), Date.UTC(2026, 2, 1));
  const allDayOn = (date: string) => events.filter((e) => e.text.includes(`DTSTART;VALUE=DATE:${date}`) && !e.text.includes('RRULE'));
  for (const [date, inside] of [['20260131', false], ['20260301', false], ['20260201', true], ['20260228', true]] as const) {
    assert.ok(allDayOn(date).length > 0, `an all-day event on ${date}`);
    for (const e of allDayOn(date)) assert.equal(february.has(e.name), inside, `${e.name} on ${date}`);
  }
  // UNTIL is inclusive (RFC 5545 §3.3.10): e10 starts 11 January and repeats until 8 March, 08:00.
  const e10 = events[10]!;
  assert.match(e10.text, /RRULE:FREQ=WEEKLY;UNTIL=20260308T080000Z/);
  assert.deepEqual(e10.instances.at(-1), [Date.UTC(2026, 2, 8, 8), Date.UTC(2026, 2, 8, 9)]);
  assert.equal(e10.instances.length, 9);
});

test('a wrong answer names what differs', () => {
  assert.doesNotThrow(() => expectSameSet(['a', 'b'], new Set(['b', 'a'])));
  assert.throws(() => expectSameSet(['a', 'c', 'c'], new Set(['a', 'b'])), (error: unknown) => error instanceof WrongAnswer && error.detail === 'got 3, want 2, 1 missing, 1 unexpected, 1 repeated');
});

test('npm run bench -- --quick measures every workload with right answers', { timeout: 300_000 }, async () => {
  const { code, stdout, stderr } = await runBench(['--quick']);
  assert.equal(code, 0, `bench failed:\n${stdout}\n${stderr.slice(-4000)}`);
  const rows = stdout.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| workload'));
  assert.doesNotMatch(rows.join('\n'), /wrong|HTTP \d|error:|not run|> \d+ s/, stdout);
  const cells = new Map(rows.map((line) => line.split('|').map((cell) => cell.trim()).slice(1, 3) as [string, string]));
  for (const label of ['PUT 100 events, 8 clients', 'PROPFIND Depth 1 with getetag, 500 events', 'calendar-multiget of 100 in 500', 'calendar-query, February of 500 events', 'sync-collection after 10 changes, 500 events', 'GET one event, 16 connections', 'addressbook-query EMAIL contains "ORCHARD", 300 cards', '64 MiB file PUT, streamed', 'MOVE of that 200-file folder', 'peak resident memory (VmHWM) over the run', 'data on disk at the end']) {
    assert.match(cells.get(label) ?? '', /^[\d.]+( \d{3})* (ms|s|ev\/s|req\/s|cards\/s|files\/s|MB\/s|MB)\b/, `row "${label}" in:\n${stdout}`);
  }
  assert.match(stdout, /Machine: .+ cores/);
  // The log names every run, in order, beside its median.
  assert.match(stderr, /\] GET one event, 16 connections: [\d ]+ req\/s \(median of 3: [\d ]+, [\d ]+, [\d ]+\)/, stderr.slice(-4000));
});

test('npm run bench refuses an unknown option with its usage', { timeout: 60_000 }, async () => {
  const { code, stderr } = await runBench(['--peers', 'apache']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown peer "apache"/);
  assert.match(stderr, /--quick/);
});
