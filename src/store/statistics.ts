/**
 * Planner statistics as tables grow. PGlite runs no autovacuum daemon, so nothing refreshes
 * pg_statistic there, and plans chosen for empty tables stay: a calendar of 10 000 events planned
 * as if it held none, or the foreign key's check of each file's blob row made a sequential scan
 * while `blobs` was empty and kept, cached, while it grows (2 ms a commit at 20 000 rows, and
 * rising). PostgreSQL's autovacuum gets to a grown table only on its next round. This applies
 * autovacuum's rule for ANALYZE to each table (PostgreSQL §25.1.6: more rows changed since its
 * last ANALYZE than a base threshold plus a fraction of its rows), checked every 100 commits, at
 * most once a second, in the background.
 */
import type { Queryable } from './db.js';

/**
 * Commits between two looks at the tables' change counts, and the least time between two: each
 * ANALYZE makes PostgreSQL plan again every cached statement on its table, so a burst of writes
 * into growing tables must not set one off every few commits.
 */
const CHECK_EVERY_COMMITS = 100;
const CHECK_EVERY_MS = 1_000;
/** autovacuum_analyze_threshold and autovacuum_analyze_scale_factor, at PostgreSQL's defaults. */
const ANALYZE_BASE_ROWS = 50;
const ANALYZE_ROW_FRACTION = 0.1;

export class StatisticsKeeper {
  #commits = 0;
  #lastCheck = -Infinity;
  #running: Promise<void> | undefined;

  /** `refresh` analyzes the tables that need it (analyzeChangedTables). */
  constructor(
    private readonly refresh: () => Promise<unknown>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one committed write transaction; may start a refresh (never awaited by the writer). */
  noteCommit(): void {
    if (++this.#commits < CHECK_EVERY_COMMITS || this.#running || this.now() - this.#lastCheck < CHECK_EVERY_MS) return;
    this.#commits = 0;
    this.#lastCheck = this.now();
    this.#running = this.refresh()
      // The store may be closing; the next check tries again.
      .then(() => undefined, () => undefined)
      .finally(() => (this.#running = undefined));
  }

  /** Resolves when no refresh is running (for an orderly close). */
  async idle(): Promise<void> {
    await this.#running;
  }
}

/** ANALYZE of each table of the store that autovacuum's rule says has changed enough; answers their names. */
export async function analyzeChangedTables(q: Queryable): Promise<string[]> {
  const tables = await q.query<{ name: string }>(
    `SELECT quote_ident(s.relname) AS name
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze > $1 + $2 * GREATEST(c.reltuples, 0)`,
    [ANALYZE_BASE_ROWS, ANALYZE_ROW_FRACTION],
  );
  for (const { name } of tables) await q.query(`ANALYZE ${name}`);
  return tables.map((t) => t.name);
}

/** ANALYZE of the whole database (the embedded store, at start-up). */
export async function analyzeDatabase(q: Queryable): Promise<void> {
  await q.query('ANALYZE');
}
