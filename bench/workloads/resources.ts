/** The server's memory (from /proc) and its data on disk. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { SuiteContext } from './suite.js';

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
  if (!kb) throw new Error(`no ${field} for process ${pid}`);
  return Number(kb) * 1024;
}

/** Resident memory now. */
export const residentBytes = (pid: number) => statusField(pid, 'VmRSS');
/** The kernel's high-water mark of resident memory since the process started. */
export const peakResidentBytes = (pid: number) => statusField(pid, 'VmHWM');

/** Bytes allocated on disk under `dir`, as `du` counts them. */
export function diskBytes(dir: string): number {
  const out = execFileSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' });
  return Number(out.split(/\s/)[0]);
}

/** Records peak memory and data size; called last, after every workload ran. */
export async function resourceRows(ctx: SuiteContext): Promise<void> {
  const { target } = ctx;
  ctx.record('peak-rss', { kind: 'value', value: peakResidentBytes(target.pid) / 1e6, runs: 1 });
  const disk = diskBytes(target.dataDir) + ((await target.externalBytes?.()) ?? 0);
  ctx.record('disk', { kind: 'value', value: disk / 1e6, runs: 1 });
}
