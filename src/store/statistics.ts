/**
 * Planner statistics as tables grow. PGlite runs no autovacuum daemon, so nothing refreshes
 * pg_statistic there, and plans chosen for empty tables stay (a calendar of 10 000 events planned
 * as if it held none); PostgreSQL's autovacuum gets to a grown table only on its next round. This
 * applies autovacuum's rule for ANALYZE (PostgreSQL §25.1.6: a base threshold plus a fraction of
 * the table's rows) to committed write transactions, and runs ANALYZE in the background when it
 * is met.
 */
import type { Queryable } from './db.js';

/** Commits before the first ANALYZE, and the base of every later threshold. */
const BASE_COMMITS = 1_000;
/** The share of the tree's rows that must change again before the next ANALYZE. */
const ROW_FRACTION = 0.5;

export class StatisticsKeeper {
  #commits = 0;
  #threshold = BASE_COMMITS;
  #running: Promise<void> | undefined;

  /** `analyze` refreshes the statistics and answers how many rows the node tree now has. */
  constructor(private readonly analyze: () => Promise<number>) {}

  /** Counts one committed write transaction; may start an ANALYZE (never awaited by the writer). */
  noteCommit(): void {
    if (++this.#commits < this.#threshold || this.#running) return;
    this.#commits = 0;
    this.#running = this.analyze()
      .then((rows) => void (this.#threshold = BASE_COMMITS + Math.round(ROW_FRACTION * rows)))
      // The store may be closing; the next threshold tries again.
      .catch(() => undefined)
      .finally(() => (this.#running = undefined));
  }

  /** Resolves when no ANALYZE is running (for an orderly close). */
  async idle(): Promise<void> {
    await this.#running;
  }
}

/** ANALYZE of the whole database; answers the node tree's row count as the statistics now say. */
export async function analyzeDatabase(q: Queryable): Promise<number> {
  await q.query('ANALYZE');
  const rows = await q.query<{ rows: number }>("SELECT GREATEST(reltuples, 0)::bigint AS rows FROM pg_class WHERE relname = 'nodes' AND relkind = 'r'");
  return rows[0]?.rows ?? 0;
}
