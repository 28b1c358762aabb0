/**
 * npm run bench — Davenport side by side with other DAV servers on this machine: each target is
 * started on loopback, given the same generated data and the same checked workloads, and stopped
 * before the next starts. Prints a Markdown table of medians; `--help` lists the options.
 */
import fs from 'node:fs';
import os from 'node:os';
import { createClient } from './http.js';
import { parseOptions, UsageError, USAGE, type Options, type PeerName } from './options.js';
import { outcomeOf, type Outcome } from './outcome.js';
import { measureDiskWrite } from './disk.js';
import { footnotes, formatValue, machineLine, renderTable, type Column, type Machine } from './report.js';
import { rowSpecs, type RowSpec } from './rows.js';
import { davenportTarget } from './targets/davenport.js';
import { radicaleTarget } from './targets/radicale.js';
import type { RunningTarget, Target } from './targets/target.js';
import { xandikosTarget } from './targets/xandikos.js';
import { caldavSuite } from './workloads/caldav.js';
import { carddavSuite } from './workloads/carddav.js';
import { filesSuite } from './workloads/files.js';
import { residentBytes, resourceRows } from './workloads/resources.js';
import type { SuiteContext } from './workloads/suite.js';

/** The target being measured, stopped (with its temporary data) if the run is interrupted. */
let current: RunningTarget | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping the server under test`);
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const PEER_TARGETS: Record<PeerName, () => Target> = { radicale: radicaleTarget, xandikos: xandikosTarget };
const SUITES = { caldav: caldavSuite, carddav: carddavSuite, files: filesSuite };

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    // --help is a UsageError without a message: the usage alone, and success.
    if (!error.message) {
      console.log(USAGE);
      return 0;
    }
    console.error(`bench: ${error.message}`);
    console.error(USAGE);
    return 2;
  }
  const specs = rowSpecs(options.sizes, !options.quick);
  const diskBytes = options.sizes.bigFileBytes;
  const machine: Machine = { started: new Date(), loadStart: os.loadavg(), loadEnd: [], diskBytes, diskStart: measureDiskWrite(diskBytes), diskEnd: undefined };
  const targets = [davenportTarget(options.databaseUrl, { compiled: !options.quick }), ...options.peers.map((p) => PEER_TARGETS[p]())];

  const columns: Column[] = [];
  for (const target of targets) columns.push(await measureTarget(target, options, specs));
  machine.loadEnd = os.loadavg();
  machine.diskEnd = measureDiskWrite(diskBytes);

  const seeded = columns.slice(1).map((c) => c.label);
  // A password in --database-url stays out of the report.
  const command = ['npm run bench --', ...process.argv.slice(2)].join(' ').replace(/(\/\/[^:/@\s]+):[^@\s]*@/g, '$1:***@').replace(/ --$/, '');
  const title = `Davenport benchmark${options.quick ? ' (--quick)' : ''}: \`${command}\``;
  const report = [`### ${title}`, '', machineLine(machine, columns), '', renderTable(specs, columns), '', footnotes(columns, options.runs, options.budgetMs, seeded), ''].join('\n');
  console.log(report);
  if (options.out) fs.writeFileSync(options.out, report);

  // The benchmark fails when Davenport gives a wrong answer or an error, so it cannot rot unnoticed.
  const failures = [...columns[0]!.outcomes].filter(([, o]) => o.kind !== 'value' && o.kind !== 'absent');
  for (const [row, outcome] of failures) console.error(`bench: Davenport ${row}: ${JSON.stringify(outcome)}`);
  return failures.length ? 1 : 0;
}

async function measureTarget(target: Target, options: Options, specs: readonly RowSpec[]): Promise<Column> {
  const outcomes = new Map<string, Outcome>();
  const column: Column = { label: target.label, version: target.version, durability: target.durability, outcomes };
  if (target.store) column.store = target.store;
  const progress = (message: string) => console.error(`[${target.label}] ${message}`);
  const specOf = new Map(specs.map((s) => [s.id, s]));
  const record = (rowId: string, outcome: Outcome) => {
    outcomes.set(rowId, outcome);
    const spec = specOf.get(rowId)!;
    progress(`${spec.label}: ${outcome.kind === 'value' ? formatValue(outcome.value, spec) + medianOf(outcome, spec) : JSON.stringify(outcome)}`);
  };

  progress(`starting ${target.version}`);
  let running;
  try {
    running = await target.start();
    current = running;
  } catch (error) {
    const outcome = outcomeOf(error);
    for (const spec of specs) if (spec.group === 'resources' || options.groups.includes(spec.group)) outcomes.set(spec.id, outcome);
    progress(`did not start: ${(error as Error).message}`);
    return column;
  }
  const client = createClient(running.authorization);
  const ctx: SuiteContext = { target: running, client, sizes: options.sizes, runs: options.runs, budgetMs: options.budgetMs, progress, record };
  try {
    // Idle: started, nothing asked yet, a second to settle.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    record('idle-rss', { kind: 'value', value: residentBytes(running.pid) / 1e6, runs: 1 });
    for (const group of options.groups) await SUITES[group](ctx);
    await resourceRows(ctx);
  } finally {
    client.close();
    current = undefined;
    await running.stop();
  }
  return column;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/**
 * "(median of 5: 1 020, 1 650, …)": every run in the order it ran, so that the log shows what the
 * median hides, a server that warms up (its code optimized as it runs) or one slow run.
 */
function medianOf(outcome: Extract<Outcome, { kind: 'value' }>, spec: RowSpec): string {
  if (outcome.runs <= 1) return '';
  // A time keeps its unit (ms or s by size); a rate's or a size's unit is the median's.
  const each = outcome.each?.map((value) => (spec.unit === 'ms' ? formatValue(value, spec) : formatValue(value, spec).replace(/ \S+$/, ''))).join(', ');
  return ` (median of ${outcome.runs}${each ? `: ${each}` : ''})`;
}
