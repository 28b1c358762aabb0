/**
 * What a workload produces for one target: a measured value, or the reason there is none (a wrong
 * answer, an HTTP error, the time budget spent, a feature the server does not have). A wrong
 * answer is never shown as a time.
 */

/** How a measured value reads and which direction is better. */
export type Unit = 'ms' | 'per-s' | 'MB/s' | 'MB';

export type Outcome =
  | { kind: 'value'; value: number; runs: number; planned?: number; each?: number[] }
  | { kind: 'wrong'; detail: string }
  | { kind: 'status'; status: number; during: string }
  | { kind: 'over-budget'; budgetMs: number }
  | { kind: 'failed'; message: string }
  | { kind: 'absent' };

/** The server answered, but not what the generated data says it must. */
export class WrongAnswer extends Error {
  constructor(readonly detail: string) {
    super(`wrong (${detail})`);
  }
}

/** The server answered with an unexpected status (e.g. 500, or 403 to MKCALENDAR). */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    readonly during: string,
  ) {
    super(`HTTP ${status} to ${during}`);
  }
}

/** The run was cut off at the end of its time budget. */
export class OverBudget extends Error {
  constructor(readonly budgetMs: number) {
    super(`over the time budget of ${budgetMs / 1000} s`);
  }
}

/** Throws StatusError unless `status` is one of `expected`. */
export function expectStatus(status: number, expected: readonly number[], during: string): void {
  if (!expected.includes(status)) throw new StatusError(status, during);
}

/** Compares an answer's set of names with the independently computed one. */
export function expectSameSet(got: readonly string[], want: ReadonlySet<string>): void {
  const gotSet = new Set(got);
  const missing = [...want].filter((name) => !gotSet.has(name)).length;
  const extra = [...gotSet].filter((name) => !want.has(name)).length;
  const duplicates = got.length - gotSet.size;
  if (missing === 0 && extra === 0 && duplicates === 0) return;
  const parts = [`got ${got.length}, want ${want.size}`];
  if (missing) parts.push(`${missing} missing`);
  if (extra) parts.push(`${extra} unexpected`);
  if (duplicates) parts.push(`${duplicates} repeated`);
  throw new WrongAnswer(parts.join(', '));
}

export function outcomeOf(error: unknown): Outcome {
  if (error instanceof WrongAnswer) return { kind: 'wrong', detail: error.detail };
  if (error instanceof StatusError) return { kind: 'status', status: error.status, during: error.during };
  if (error instanceof OverBudget) return { kind: 'over-budget', budgetMs: error.budgetMs };
  return { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The time left for one workload on one target; `signal` aborts its requests when it is spent. */
export interface Budget {
  readonly signal: AbortSignal;
  readonly budgetMs: number;
  /** Milliseconds left. */
  left(): number;
}

export function startBudget(budgetMs: number): Budget & { dispose(): void } {
  const controller = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => controller.abort(new OverBudget(budgetMs)), budgetMs);
  return {
    signal: controller.signal,
    budgetMs,
    left: () => budgetMs - (performance.now() - started),
    dispose: () => clearTimeout(timer),
  };
}

/**
 * Runs `once` up to `runs` times and returns the median of what each run measured. A further run
 * is started only when the last one would still fit in the budget, so a slow server yields fewer
 * runs rather than a stalled benchmark; if not even one run fits, the budget's abort ends it.
 * `each` keeps every run's figure in order, so that the log shows a server warming up.
 */
export async function repeat(runs: number, budget: Budget, once: (run: number) => Promise<number>): Promise<{ value: number; runs: number; planned: number; each: number[] }> {
  const values: number[] = [];
  let longest = 0;
  for (let run = 0; run < runs; run++) {
    if (run > 0 && budget.left() < longest * 1.2) break;
    const started = performance.now();
    values.push(await once(run));
    longest = Math.max(longest, performance.now() - started);
  }
  return { value: median(values), runs: values.length, planned: runs, each: values };
}

/** What `work` gave and the milliseconds it took. */
export async function timedAnswer<T>(work: () => Promise<T>): Promise<{ ms: number; answer: T }> {
  const started = performance.now();
  const answer = await work();
  return { ms: performance.now() - started, answer };
}

/** Milliseconds taken by `work`. */
export async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}
