/**
 * Load test: a spawned Davenport process with pre-loaded events, contacts and files, driven by
 * a mix of PROPFIND, REPORTs, GET and PUT over loopback. Reports per kind and overall
 * throughput and latency, errors, and memory before and after, each read after a full garbage
 * collection (a leak shows as growth).
 *
 *   npm run load -- [--duration 60] [--connections 32] [--warmup 10] [--database-url postgres://…]
 *                   [--events 2000] [--cards 1000] [--files 200]
 *
 * With --database-url the run creates a fresh database on that PostgreSQL server and drops it
 * afterwards; without, it uses the embedded store in a temporary directory.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { spawnServer, type ServerProcess } from '../test/helpers/process.js';
import { loadData, send, type DataSize } from './data.js';
import { requestKinds, shareConnections, type RequestKind } from './mix.js';

// autocannon refuses methods outside RFC 7231 unless they are in its list; DAV needs two more.
const autocannonMethods = createRequire(import.meta.url)('autocannon/lib/httpMethods.js') as string[];
for (const method of ['PROPFIND', 'REPORT']) if (!autocannonMethods.includes(method)) autocannonMethods.push(method);

export interface LoadOptions extends DataSize {
  /** Measured phase, seconds. */
  duration: number;
  connections: number;
  /** Same mix before "memory before" is taken, seconds. */
  warmup: number;
  /** A PostgreSQL server to create the run's database on; PGlite when undefined. */
  databaseUrl: string | undefined;
}

export interface KindFigures {
  name: string;
  connections: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Answers outside the expected statuses, connection errors and timeouts. */
  errors: number;
  /** Unexpected statuses seen, with counts. */
  statuses: Record<string, number>;
}

export interface LoadReport {
  machine: string;
  options: LoadOptions;
  kinds: KindFigures[];
  overall: KindFigures;
  /** Each reading after the server idled and collected its garbage fully. */
  before: MemoryReading;
  after: MemoryReading;
}

export interface MemoryReading {
  /** Resident memory, bytes. */
  rss: number;
  /** V8's heap in use, compiled code left out, bytes. */
  heap: number;
  /** V8's compiled code, bytes. */
  code: number;
  /** Memory outside V8's heap held by the serving thread's objects (Buffers), bytes. */
  external: number;
}

export const DEFAULTS: LoadOptions = { duration: 60, connections: 32, warmup: 10, databaseUrl: undefined, events: 2000, cards: 1000, files: 200 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

interface Tally {
  latencies: number[];
  unexpected: Map<number, number>;
  failures: number;
}

/** Runs every kind at once for `seconds`, each on its share of the connections. */
async function drive(url: string, kinds: readonly RequestKind[], shares: readonly number[], seconds: number): Promise<Tally[]> {
  const tallies: Tally[] = kinds.map(() => ({ latencies: [], unexpected: new Map(), failures: 0 }));
  await Promise.all(
    kinds.map(
      (kind, k) =>
        new Promise<void>((resolve, reject) => {
          const tally = tallies[k]!;
          const instance = autocannon(
            { url, connections: shares[k]!, duration: seconds, timeout: 10, requests: [{ setupRequest: () => kind.next() }] },
            (error, result) => {
              if (error) return reject(error);
              // Connection errors include timeouts.
              tally.failures += result.errors;
              resolve();
            },
          );
          // The instance emits (client, status, bytes, ms); its typings describe the client's event.
          (instance as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
            tally.latencies.push(ms);
            if (!kind.expected.includes(status)) tally.unexpected.set(status, (tally.unexpected.get(status) ?? 0) + 1);
          });
        }),
    ),
  );
  return tallies;
}

function figures(name: string, connections: number, tally: Tally, seconds: number): KindFigures {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  const unexpected = [...tally.unexpected.values()].reduce((a, b) => a + b, 0);
  return {
    name,
    connections,
    requests: sorted.length,
    perSecond: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: unexpected + tally.failures,
    statuses: Object.fromEntries([...tally.unexpected].map(([s, n]) => [String(s), n])),
  };
}

export function describeMachine(store: string): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, ${store}`;
}

/**
 * Idle time before each memory reading, the same for both: V8 hands unused heap back only once
 * allocation has been quiet for some seconds, so a short pause measures the last burst, not a leak.
 */
const SETTLE_MS = 10_000;

/** Memory once the process has been idle for a moment and collected its garbage. */
async function settledMemory(server: ServerProcess, ms: number): Promise<MemoryReading> {
  await sleep(ms);
  const usage = await server.memoryAfterCollection();
  return { rss: server.rss(), heap: usage.heapUsed - usage.codeUsed, code: usage.codeUsed, external: usage.external };
}

export async function runLoad(options: LoadOptions, log: (line: string) => void = () => {}): Promise<LoadReport> {
  // The test helpers create (and later drop) a fresh database on the server TEST_DATABASE_URL
  // names, read when they are first imported: hence set first, imported here.
  if (options.databaseUrl) process.env.TEST_DATABASE_URL = options.databaseUrl;
  const { createTestLocation } = await import('../test/helpers/store.js');
  const { basicAuthorization } = await import('../test/helpers/server.js');
  const location = await createTestLocation();
  if (Boolean(options.databaseUrl) !== Boolean(location.databaseUrl)) {
    await location.remove();
    throw new Error('the store helper was loaded before the database URL was set: run one load per process');
  }
  let server: ServerProcess | undefined;
  try {
    server = await spawnServer({
      DATA_DIR: location.dataDir,
      ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}),
      LOG_LEVEL: 'warn',
      // One user drives all PUTs here; the per-user bound on simultaneous uploads is not under test.
      MAX_UPLOADS_PER_USER: String(Math.max(8, options.connections)),
    }, { memoryProbe: true });
    const authorization = basicAuthorization('admin', /password: (\S+)/.exec(server.output())![1]!);
    const started = performance.now();
    const data = await loadData(server.url, authorization, 'admin', options);
    log(`loaded ${options.events} events, ${options.cards} cards, ${options.files} files in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const syncToken = await currentSyncToken(server.url, authorization, data.calendar);

    const kinds = requestKinds(data, authorization, syncToken);
    const shares = shareConnections(kinds, options.connections);
    if (options.warmup > 0) {
      log(`warm-up: ${options.warmup} s`);
      await drive(server.url, kinds, shares, options.warmup);
    }
    const before = await settledMemory(server, SETTLE_MS);
    log(`measuring: ${options.duration} s, ${options.connections} connections`);
    const tallies = await drive(server.url, kinds, shares, options.duration);
    const after = await settledMemory(server, SETTLE_MS);

    const kindFigures = kinds.map((kind, k) => figures(kind.name, shares[k]!, tallies[k]!, options.duration));
    const all: Tally = { latencies: tallies.flatMap((t) => t.latencies), unexpected: new Map(), failures: 0 };
    for (const t of tallies) {
      all.failures += t.failures;
      for (const [s, n] of t.unexpected) all.unexpected.set(s, (all.unexpected.get(s) ?? 0) + n);
    }
    return {
      machine: describeMachine(location.databaseUrl ? 'PostgreSQL' : 'PGlite (embedded)'),
      options,
      kinds: kindFigures,
      overall: figures('overall', options.connections, all, options.duration),
      before,
      after,
    };
  } finally {
    if (server) await server.stop();
    await location.remove();
  }
}

async function currentSyncToken(base: string, authorization: string, calendar: string): Promise<string> {
  const text = await new Promise<string>((resolve, reject) => {
    fetch(base + calendar, {
      method: 'PROPFIND',
      headers: { Authorization: authorization, Depth: '0', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>',
    }).then((res) => res.text().then(resolve), reject);
  });
  const token = /<D:sync-token>([^<]+)</.exec(text)?.[1];
  if (!token) throw new Error(`no sync-token on ${calendar}: ${text.slice(0, 200)}`);
  return token;
}

const growth = (before: number, after: number) => (after - before) / before;
const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

export function formatReport(report: LoadReport): string {
  const ms = (v: number) => v.toFixed(1).padStart(8);
  const lines = [
    `machine: ${report.machine}`,
    `run: ${report.options.duration} s, ${report.options.connections} connections, after ${report.options.warmup} s warm-up; data: ${report.options.events} events, ${report.options.cards} cards, ${report.options.files} files`,
    '',
    `${'kind'.padEnd(20)} ${'conns'.padStart(5)} ${'requests'.padStart(9)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(6)}`,
  ];
  for (const k of [...report.kinds, report.overall]) {
    const statuses = Object.keys(k.statuses).length ? `  (${Object.entries(k.statuses).map(([s, n]) => `${n}× ${s}`).join(', ')})` : '';
    lines.push(`${k.name.padEnd(20)} ${String(k.connections).padStart(5)} ${String(k.requests).padStart(9)} ${k.perSecond.toFixed(1).padStart(8)} ${ms(k.p50)} ${ms(k.p99)} ${String(k.errors).padStart(6)}${statuses}`);
  }
  const mib = (b: number) => (b / 1024 ** 2).toFixed(1);
  const change = (field: keyof MemoryReading) => {
    const { before, after } = report;
    return `${mib(before[field])} → ${mib(after[field])} MiB (${percent(growth(before[field], after[field]))})`;
  };
  lines.push('', `after a full collection: heap ${change('heap')}, compiled code ${change('code')}, external ${change('external')}, resident ${change('rss')}`);
  return lines.join('\n');
}

/**
 * Growth allowed in the memory JavaScript holds after a full collection (the heap but for compiled
 * code, and external memory). The run's contents repeat after the warm-up, so the heap moved by
 * −5.6% to +1.5% in runs of 10 and 60 s on both stores; in the suite's short run, 5% of ~25 MiB
 * is a leak of about 250 bytes a request (a test leak of 300 bytes a request failed it on both
 * stores).
 */
const HELD_BOUND = 0.05;
/**
 * Growth of external memory (Buffers, a few MiB here) not counted against HELD_BOUND. One buffer
 * held at the moment of a reading moves it by a megabyte: +1.1 MiB (+27%) between the readings of
 * one CI run on PostgreSQL, with the heap +0.6%, which failed it; the same test run alone eight
 * times after it moved external memory by −1.2% to +0.7%. External growth beyond this still counts.
 */
const EXTERNAL_SLACK_BYTES = 1.5 * 1024 ** 2;
/**
 * Growth allowed in resident memory: a guard against gross leaks outside JavaScript's objects
 * (the embedded database's memory, native buffers). Resident memory of the same run moves by
 * −33% to +29% on PostgreSQL after a full collection (malloc's arenas, V8's committed pages), so
 * a tighter bound fails without a leak.
 */
const RESIDENT_BOUND = 0.5;

/** What passes: no errors at all, and memory within the bounds above. */
export function verdict(report: LoadReport): string[] {
  const problems: string[] = [];
  if (report.overall.errors > 0) problems.push(`${report.overall.errors} errors`);
  const held = (r: MemoryReading) => r.heap + r.external;
  const forgiven = Math.min(Math.max(0, report.after.external - report.before.external), EXTERNAL_SLACK_BYTES);
  const heldGrowth = growth(held(report.before), held(report.after) - forgiven);
  if (heldGrowth > HELD_BOUND) problems.push(`memory held by JavaScript grew by ${percent(heldGrowth)} (bound: ${percent(HELD_BOUND)})`);
  const rss = growth(report.before.rss, report.after.rss);
  if (rss > RESIDENT_BOUND) problems.push(`resident memory grew by ${percent(rss)} (bound: ${percent(RESIDENT_BOUND)})`);
  return problems;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      'database-url': { type: 'string' },
      events: { type: 'string' },
      cards: { type: 'string' },
      files: { type: 'string' },
    },
  });
  const number = (value: string | undefined, fallback: number, name: string): number => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a whole number, got "${value}"`);
    return Number(value);
  };
  const options: LoadOptions = {
    duration: number(values.duration, DEFAULTS.duration, 'duration'),
    connections: Math.max(1, number(values.connections, DEFAULTS.connections, 'connections')),
    warmup: number(values.warmup, DEFAULTS.warmup, 'warmup'),
    databaseUrl: values['database-url'] ?? DEFAULTS.databaseUrl,
    events: number(values.events, DEFAULTS.events, 'events'),
    cards: number(values.cards, DEFAULTS.cards, 'cards'),
    files: number(values.files, DEFAULTS.files, 'files'),
  };
  const report = await runLoad(options, (line) => process.stdout.write(line + '\n'));
  process.stdout.write('\n' + formatReport(report) + '\n');
  const problems = verdict(report);
  if (problems.length > 0) {
    process.stdout.write(`FAILED: ${problems.join('; ')}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`load: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
