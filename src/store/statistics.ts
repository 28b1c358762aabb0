/**
 * Planner statistics as tables grow, and dead row versions cleared where nothing else clears them.
 * PGlite runs no autovacuum daemon, so nothing refreshes pg_statistic there, and plans chosen for
 * empty tables stay: a calendar of 10 000 events planned as if it held none, or the foreign key's
 * check of each file's blob row made a sequential scan while `blobs` was empty and kept, cached,
 * while it grows (2 ms a commit at 20 000 rows, and rising). PostgreSQL's autovacuum gets to a
 * grown table only on its next round. This applies autovacuum's rule for ANALYZE to each table
 * (PostgreSQL §25.1.6: more rows changed since its last ANALYZE than a base threshold plus a
 * fraction of its rows), checked every 100 commits, at most once a second, in the background.
 *
 * Every write updates its user's row (the quota trigger) and its collection's (the sync token):
 * without VACUUM each leaves a dead version behind, and the row's lookups (a foreign key check
 * per write) wade through them. On a PostgreSQL with autovacuum off, 30 000 event PUTs took 8
 * clients from 940 to 346 events/s; a VACUUM gave 982 back. Where no autovacuum runs (PGlite, or
 * a server with it off) the same check applies its rule for VACUUM too (§25.1.5: more dead rows
 * than a base threshold plus a fraction of the table's).
 *
 * A large table is looked after at most once a minute, as often as autovacuum visits a database
 * (autovacuum_naptime). Its plans follow its growth without new statistics (the planner scales
 * them by the table's current size), while the maintenance is dear on the embedded database's one
 * thread: under a steady upload the rule picked the nodes and blobs tables every second, 20–40 ms
 * each, about 6% of that thread, and a request arriving meanwhile waited (a MOVE took 32 ms
 * instead of 5). A small table still gets its statistics within a second, for the plans made
 * while it was nearly empty.
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
/** autovacuum_vacuum_threshold and autovacuum_vacuum_scale_factor, at PostgreSQL's defaults. */
const VACUUM_BASE_ROWS = 50;
const VACUUM_ROW_FRACTION = 0.2;
/** Tables of this many rows or more are large: maintained at most once per LARGE_TABLE_SECONDS. */
const LARGE_TABLE_ROWS = 10_000;
/** autovacuum_naptime, at PostgreSQL's default. */
const LARGE_TABLE_SECONDS = 60;

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

/**
 * ANALYZE of each table of the store that autovacuum's rule says has changed enough, and with
 * `vacuum` VACUUM of each that its rule says holds enough dead rows; answers the statements run.
 * A large table is left alone if it had the same within the last `largeTableSeconds`.
 */
export async function maintainChangedTables(q: Queryable, { vacuum, largeTableSeconds = LARGE_TABLE_SECONDS }: { vacuum: boolean; largeTableSeconds?: number }): Promise<string[]> {
  const due = (last: string) => `(GREATEST(c.reltuples, 0) < $6 OR COALESCE(${last}, '-infinity') < now() - make_interval(secs => $7))`;
  const tables = await q.query<{ name: string; analyze: boolean; vacuum: boolean }>(
    `SELECT quote_ident(s.relname) AS name,
            s.n_mod_since_analyze > $1 + $2 * GREATEST(c.reltuples, 0) AND ${due('GREATEST(s.last_analyze, s.last_autoanalyze)')} AS analyze,
            $5 AND s.n_dead_tup > $3 + $4 * GREATEST(c.reltuples, 0) AND ${due('GREATEST(s.last_vacuum, s.last_autovacuum)')} AS vacuum
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = current_schema()`,
    [ANALYZE_BASE_ROWS, ANALYZE_ROW_FRACTION, VACUUM_BASE_ROWS, VACUUM_ROW_FRACTION, vacuum, LARGE_TABLE_ROWS, largeTableSeconds],
  );
  const statements = tables.flatMap((t) => (t.vacuum ? [`VACUUM ${t.analyze ? '(ANALYZE) ' : ''}${t.name}`] : t.analyze ? [`ANALYZE ${t.name}`] : []));
  for (const statement of statements) await q.query(statement);
  return statements;
}

/** Whether PostgreSQL's autovacuum looks after this database (PGlite has no daemon for it). */
export async function autovacuumRuns(q: Queryable): Promise<boolean> {
  const [row] = await q.query<{ on: boolean }>("SELECT current_setting('autovacuum')::boolean AND current_setting('track_counts')::boolean AS on");
  return row?.on ?? false;
}

/**
 * ANALYZE of every table of the database that holds pages (the embedded store, at start-up). An
 * empty table is left never analyzed: PostgreSQL then plans it as if it held 10 pages at least
 * (table_block_relation_estimate_size in tableam.c: "avoid assuming a newly-created table is
 * really small ... once some data gets loaded into it"), where an ANALYZE of it empty makes it
 * believed empty. A new store's first writes had their foreign-key checks planned, and cached,
 * as sequential scans of `nodes` and `blobs` while both filled, until the keeper's first look 100
 * commits later: 40 batches of 8 files of 4 KiB written in-process cost the embedded database
 * 1 058–1 206 µs a file, the next 40 1 658–1 812, against 350–450 once analyzed; with the empty
 * tables left alone, 637–686 and 356–381. An empty table that an earlier start-up analyzed (a
 * store made before this, whose address books, say, were never used) is made never analyzed
 * again, where PostgreSQL can (18 and later: pg_clear_relation_stats; the embedded one is 18).
 */
export async function analyzeDatabase(q: Queryable): Promise<void> {
  const tables = await q.query<{ name: string; schema: string; table: string; filled: boolean; clear: boolean }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, n.nspname AS schema, c.relname AS table,
            pg_relation_size(c.oid) > 0 AS filled,
            -- Empty and analyzed so (reltuples is -1 until the first ANALYZE).
            pg_relation_size(c.oid) = 0 AND c.reltuples = 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND current_setting('server_version_num')::int >= 180000 AS clear
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'`,
  );
  const filled = tables.filter((t) => t.filled);
  if (filled.length > 0) await q.query(`ANALYZE ${filled.map((t) => t.name).join(', ')}`);
  for (const t of tables) if (t.clear) await q.query('SELECT pg_clear_relation_stats($1, $2)', [t.schema, t.table]);
}
