/**
 * The Markdown table: a row per workload, Davenport's median with its goal mark, and each peer's
 * median with its ratio to Davenport from the same run.
 */
import os from 'node:os';
import type { DiskWrite } from './disk.js';
import type { Outcome } from './outcome.js';
import { higherIsBetter, type RowSpec } from './rows.js';

export interface Column {
  label: string;
  version: string;
  durability: string;
  /** Davenport's store, which decides whether a store-specific goal applies. */
  store?: 'PGlite' | 'PostgreSQL';
  outcomes: Map<string, Outcome>;
}

export function formatValue(value: number, spec: RowSpec): string {
  switch (spec.unit) {
    case 'ms':
      return value >= 1000 ? `${(value / 1000).toFixed(value >= 10_000 ? 1 : 2)} s` : `${value.toFixed(value >= 100 ? 0 : 1)} ms`;
    case 'per-s':
      return `${grouped(value)} ${spec.rateUnit ?? '/s'}`;
    case 'MB/s':
      return `${grouped(value)} MB/s`;
    case 'MB':
      return `${value.toFixed(value >= 100 ? 0 : 1)} MB`;
  }
}

const grouped = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US').replace(/,/g, ' ') : value.toFixed(1));

function describe(outcome: Outcome | undefined, spec: RowSpec): string {
  if (!outcome) return 'not run';
  switch (outcome.kind) {
    case 'value':
      return formatValue(outcome.value, spec) + (outcome.planned && outcome.runs < outcome.planned ? ` (${outcome.runs} of ${outcome.planned} runs)` : '');
    case 'wrong':
      return `wrong (${outcome.detail})`;
    case 'status':
      return `HTTP ${outcome.status} (${outcome.during})`;
    case 'over-budget':
      return `> ${outcome.budgetMs / 1000} s`;
    case 'failed':
      return `error: ${outcome.message.split('\n')[0]!.slice(0, 80)}`;
    case 'absent':
      return '—';
  }
}

function goalText(spec: RowSpec): string {
  if (!spec.goal) return '';
  const sign = higherIsBetter(spec.unit) ? '≥' : '≤';
  return `${sign} ${formatValue(spec.goal.value, spec).replace('.0 ', ' ')}${spec.goal.store ? ` (${spec.goal.store})` : ''}`;
}

function goalMark(outcome: Outcome | undefined, spec: RowSpec, column: Column): string {
  if (!spec.goal || (spec.goal.store && spec.goal.store !== column.store)) return '';
  if (outcome?.kind !== 'value') return ' ✗';
  const met = higherIsBetter(spec.unit) ? outcome.value >= spec.goal.value : outcome.value <= spec.goal.value;
  return met ? ' ✓' : ' ✗';
}

/** "×140 slower" / "×2.1 faster": how the peer compares with Davenport, whatever the unit's direction. */
function ratio(peer: Outcome | undefined, ours: Outcome | undefined, spec: RowSpec): string {
  if (peer?.kind !== 'value' || ours?.kind !== 'value' || peer.value <= 0 || ours.value <= 0) return '';
  const slower = higherIsBetter(spec.unit) ? ours.value / peer.value : peer.value / ours.value;
  const factor = slower >= 1 ? slower : 1 / slower;
  const shown = factor >= 10 ? Math.round(factor).toString() : factor.toFixed(1);
  if (shown === '1.0') return ' (×1.0)';
  const word = spec.unit === 'MB' ? (slower >= 1 ? 'more' : 'less') : slower >= 1 ? 'slower' : 'faster';
  return ` (×${shown} ${word})`;
}

export function renderTable(specs: readonly RowSpec[], columns: readonly Column[]): string {
  const [ours, ...peers] = columns;
  const showGoals = specs.some((s) => s.goal);
  const head = ['workload', ...(showGoals ? ['goal'] : []), ...columns.map((c) => c.label)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const spec of specs) {
    if (columns.every((c) => !c.outcomes.has(spec.id))) continue;
    const cells = [spec.label];
    if (showGoals) cells.push(goalText(spec));
    if (ours) cells.push(describe(ours.outcomes.get(spec.id), spec) + goalMark(ours.outcomes.get(spec.id), spec, ours));
    for (const peer of peers) {
      const outcome = peer.outcomes.get(spec.id);
      cells.push(describe(outcome, spec) + ratio(outcome, ours?.outcomes.get(spec.id), spec));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface Machine {
  started: Date;
  loadStart: number[];
  loadEnd: number[];
  /** The disk's sequential durable write (bench/disk.ts), at start and at end. */
  diskStart: DiskWrite;
  diskEnd: DiskWrite | undefined;
  diskBytes: number;
}

function diskLine({ diskBytes, diskStart, diskEnd }: Machine): string {
  const size = diskBytes >= 1024 ** 3 ? `${diskBytes / 1024 ** 3} GiB` : `${diskBytes / 1024 ** 2} MiB`;
  const rate = (mbps: number | undefined) => (mbps === undefined ? 'refused' : `${Math.round(mbps)} MB/s`);
  const both = (pick: (d: DiskWrite) => number | undefined) => `${rate(pick(diskStart))} at start, ${diskEnd ? rate(pick(diskEnd)) : '?'} at end`;
  return `Disk: a new ${size} file written and fdatasynced past the page cache (O_DIRECT, as Davenport writes large bodies; \`dd oflag=direct conv=fdatasync\`) at ${both((d) => d.direct)}; through the page cache (\`dd conv=fdatasync\`) at ${both((d) => d.buffered)}. A durable streamed PUT cannot beat the first.`;
}

export function machineLine(machine: Machine, columns: readonly Column[]): string {
  const cpus = os.cpus();
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const servers = columns.map((c) => `${c.label} ${c.version}`).join('; ');
  return [
    `Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()}; Node ${process.version}; loopback.`,
    `Load average at start ${load(machine.loadStart)}, at end ${load(machine.loadEnd)}. Run ${machine.started.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    diskLine(machine),
    `Servers: ${servers}.`,
  ].join('\n');
}

export function footnotes(columns: readonly Column[], runs: number, budgetMs: number, seeded: readonly string[]): string {
  const notes = [
    `Medians of ${runs} runs per workload, 3 at most for the big file (fewer when a run would overrun the ${budgetMs / 1000} s budget per workload and server; "> ${budgetMs / 1000} s" when not even one run finished). Ratios compare each peer with Davenport from this same run.`,
    'Every answer is checked against the generated data (member sets, bodies, an independent expansion of recurring events); "wrong (…)" is a wrong answer, "HTTP n" an error status — never a time.',
    `Durability: ${columns.map((c) => `${c.label}: ${c.durability}`).join('; ')}.`,
  ];
  if (seeded.length) notes.push(`${seeded.join(' and ')}: the big calendar and address book are written into the server's own storage before the reads (loading them by PUT takes these servers tens of minutes); their PUT rows measure PUT over HTTP.`);
  if (columns.some((c) => !c.outcomes.size || [...c.outcomes.values()].some((o) => o.kind === 'absent'))) notes.push('"—": the server has no plain WebDAV file storage.');
  return notes.map((n) => `- ${n}`).join('\n');
}
