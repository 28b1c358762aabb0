/**
 * A read cache. PGlite runs PostgreSQL in this process, on one thread of its own, one statement
 * at a time: each query costs 0.1–0.3 ms of that thread and a round trip to it, so a phone
 * fetching one event at a time is bound by the two reads behind it; on PostgreSQL every read is a
 * round trip and a statement. The embedded store has exactly one writer (this process: the
 * DATA_DIR lock refuses any other), so a read's result stays true until this process writes. On
 * PostgreSQL that holds while this process holds the read lease alone (read-lease.ts); without
 * it, nothing is kept. The rule is then the simplest that is exact: any statement that may
 * write, and any transaction, makes every cached result stale.
 *
 * Only small answers to plain, deterministic SELECTs are kept (a path lookup, an object's text);
 * listings and anything that depends on the clock or on the server's own state are not.
 */
import type { Database, PipelinedOptions, PoolStats, Queryable, TransactionOptions } from './db.js';

/** Answers with more rows than this are listings: not kept. */
const MAX_ROWS = 16;
/** Largest answer kept, and all answers together (approximate bytes of their text). */
const MAX_ENTRY_BYTES = 256 * 1024;
const MAX_TOTAL_BYTES = 32 * 1024 * 1024;

/** Statements that may change data or the server's state (a leading WITH may hold an INSERT). */
const WRITES = /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|FOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE)|FOR\s+KEY\s+SHARE)\b/i;
/** Results that change without a write: the clock, randomness, sequences, the catalogs and statistics. */
const VOLATILE = /\b(now|current_timestamp|current_date|current_time|localtime|localtimestamp|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|gen_random_uuid|nextval|currval|setval|lastval|txid_\w+)\b|\bpg_/i;

/**
 * Whether a statement only reads stored rows, deterministically, so its answer may be kept until
 * the next write. A statement reading no table (`SELECT 1`, the health probe) always runs.
 */
export function isCacheableRead(sql: string): boolean {
  return classify(sql).cacheable;
}

/** Whether a statement may change stored data (anything but a SELECT, or a WITH, that writes nothing). */
export function mayWrite(sql: string): boolean {
  return classify(sql).writes;
}

/**
 * What each statement text is, worked out once: the application runs a fixed set of statements,
 * and matching the patterns above against a long one cost more than the rest of a cached read.
 * Each also gets a number that stands for it in cache keys: a key holding the whole text (a
 * path lookup is 1–2 kB) had to be built and hashed on every read, a fifth of a cached GET.
 */
interface Statement {
  writes: boolean;
  /** VACUUM and ANALYZE: they change no row, and cannot run in a transaction block. */
  maintenance: boolean;
  cacheable: boolean;
  id: number;
}
const classified = new Map<string, Statement>();
/** Bounds the map should some caller build statement texts without end. */
const MAX_CLASSIFIED = 4096;
let nextStatementId = 0;

function classify(sql: string): Statement {
  let kind = classified.get(sql);
  if (!kind) {
    const writes = !/^\s*(SELECT|WITH)\b/i.test(sql) || WRITES.test(sql);
    // Ids are never reused, so clearing the map cannot make two texts share a key.
    kind = { writes, maintenance: /^\s*(VACUUM|ANALYZE)\b/i.test(sql), cacheable: !writes && /\bFROM\b/i.test(sql) && !VOLATILE.test(sql), id: nextStatementId++ };
    if (classified.size >= MAX_CLASSIFIED) classified.clear();
    classified.set(sql, kind);
  }
  return kind;
}

interface Entry {
  rows: readonly object[];
  bytes: number;
}

export class ReadCachingDatabase implements Database {
  /** Moves on when a write starts and when it ends: an entry is valid only for the generation it was read in. */
  #generation = 0;
  #entryGeneration = -1;
  /** In least-recently-used order (a Map keeps insertion order). */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  /** `lease`: on PostgreSQL, reads are kept only while it is held exclusively (call reset() when that changes). */
  constructor(
    private readonly inner: Database,
    private readonly lease?: { readonly exclusive: boolean },
  ) {}

  /** Forgets every kept read, and any read still running (the lease changed hands). */
  reset(): void {
    this.#generation++;
    this.#forgetIfStale();
  }

  get kind(): Database['kind'] {
    return this.inner.kind;
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const statement = classify(sql);
    if (this.lease && !this.lease.exclusive) {
      // Another process may write: nothing is kept, and a write runs in a transaction, whose first
      // statement announces it to any process that would keep reads (read-lease.ts).
      return statement.writes && !statement.maintenance ? this.#writing(() => this.inner.pipelined((tx) => tx.query<R>(sql, params))) : this.inner.query<R>(sql, params);
    }
    if (!statement.cacheable) return this.#writing(() => this.inner.query<R>(sql, params));
    const key = keyOf(statement, params);
    if (key === undefined) return this.inner.query<R>(sql, params);
    this.#forgetIfStale();
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      // Copies, so a caller that changes its rows cannot change what the next one reads.
      return hit.rows.map((row) => ({ ...row })) as R[];
    }
    const generation = this.#generation;
    const rows = await this.inner.query<R>(sql, params);
    // Kept only when no write started or ended while it ran.
    if (generation === this.#generation) this.#remember(key, rows);
    return rows;
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#writing(() => this.inner.transaction(work, options));
  }

  pipelined<T>(work: (tx: Queryable) => Promise<T>, options?: PipelinedOptions): Promise<T> {
    return this.#writing(() => this.inner.pipelined(work, options));
  }

  poolStats(): PoolStats {
    return this.inner.poolStats();
  }

  close(): Promise<void> {
    this.#entries.clear();
    return this.inner.close();
  }

  async #writing<T>(work: () => Promise<T>): Promise<T> {
    this.#generation++;
    try {
      return await work();
    } finally {
      this.#generation++;
    }
  }

  /** Entries all belong to one generation: a newer one makes them all stale. */
  #forgetIfStale(): void {
    if (this.#entryGeneration === this.#generation) return;
    this.#entries.clear();
    this.#bytes = 0;
    this.#entryGeneration = this.#generation;
  }

  #remember(key: string, rows: readonly object[]): void {
    if (rows.length > MAX_ROWS) return;
    this.#forgetIfStale();
    const bytes = key.length + rows.reduce<number>((sum, row) => sum + sizeOf(row), 0);
    if (bytes > MAX_ENTRY_BYTES) return;
    this.#entries.set(key, { rows: rows.map((row) => ({ ...row })), bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= MAX_TOTAL_BYTES) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }
}

/** The statement and its parameters as one key; undefined for parameters not worth keying (binary). */
function keyOf(statement: Statement, params: readonly unknown[]): string | undefined {
  if (params.some((p) => p instanceof Uint8Array)) return undefined;
  return statement.id + JSON.stringify(params);
}

function sizeOf(row: object): number {
  let bytes = 64;
  for (const value of Object.values(row)) bytes += typeof value === 'string' ? value.length : 16;
  return bytes;
}
