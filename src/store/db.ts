import { createHash } from 'node:crypto';
import pg from 'pg';
import { types } from './pg-types.js';

/** Anything that runs SQL: the pool, or one transaction's connection. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/** The store's one database interface; the same SQL runs on PostgreSQL and on PGlite. */
export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `work` in one transaction; commits when it resolves, rolls back when it throws.
   * On PostgreSQL a serialization failure or deadlock retries the whole unit of work.
   * `isolation` sets the transaction's level from its BEGIN (a backup's one snapshot).
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * A transaction whose statements are all issued at once: those `work` issues before its first
   * await, with COMMIT sent right behind them, so that on PostgreSQL the whole transaction is one
   * round trip and its row locks are held for no round trip of the client. It commits whatever
   * they did; if one fails, all are rolled back and its error is thrown. A statement issued
   * after an await throws (the transaction has ended).
   *
   * Pipelined transactions may share one transaction (group commit): on PGlite those queued back
   * to back, on PostgreSQL those of one `batchKey` (a user's id) that wait while the key's
   * earlier ones run. So `work` must only issue statements and read their answers: when a
   * shared transaction fails, each `work` runs again in a transaction of its own.
   */
  pipelined<T>(work: (tx: Queryable) => Promise<T>, options?: PipelinedOptions): Promise<T>;
  /** Connections of the pool right now, for /metrics. */
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export interface PipelinedOptions {
  /** Pipelined transactions of one key may share a transaction on PostgreSQL (see pipelined). */
  batchKey?: number;
}

export interface TransactionOptions {
  /** Above READ COMMITTED, PostgreSQL's default (set with BEGIN: SET TRANSACTION must come before any statement). */
  isolation?: 'repeatable read' | 'serializable';
  /** A change that frees room (a DELETE): the embedded store takes it on a fuller disk than others (disk-room.ts). */
  frees?: boolean;
}

/** BEGIN with the transaction's options. */
export function beginStatement(options: TransactionOptions = {}): string {
  return options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN';
}

export interface PoolStats {
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

/** SQLSTATEs that say the server is going away or not accepting connections yet. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket errors from the connection to the database. */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** pg's own errors for a lost or unobtainable connection carry no code, only these messages. */
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * Whether an error means the database cannot be reached right now (a transient outage the
 * client should retry: SQLSTATE class 08, admin shutdown, cannot connect now, too many
 * connections, a refused or cut socket, a pool connection timeout), not that a statement failed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

/** Whether an error is the violation of the unique key `constraint` (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && violated === constraint;
}

/**
 * Whether an error is the quota trigger's refusal (migrations 3 and 12): SQLSTATE 53100
 * (disk_full) with the trigger's message. PostgreSQL answers the same code when its disk is full.
 */
export function isQuotaExceeded(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '53100' && message === 'quota exceeded';
}

/**
 * Parameterised queries run as named prepared statements, so each connection plans them once:
 * planning the recursive path walk alone costs ~2 ms, ten times its execution.
 */
const statementNames = new Map<string, string>();
function statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
  if (params.length === 0) return { text: sql };
  let name = statementNames.get(sql);
  if (!name) {
    name = 's' + createHash('sha1').update(sql).digest('hex').slice(0, 20);
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as unknown[] };
}

/**
 * Runs `issue`, whose statements then leave in one write to the socket: pg writes each simple
 * statement, and each prepared one's messages, on their own, and every write to a socket is a
 * system call (on loopback it runs the receiver's TCP path too). Queries are submitted
 * synchronously in pipeline mode.
 */
function inOneWrite<T>(client: pg.PoolClient, issue: () => T): T {
  const { stream } = (client as unknown as pg.Client).connection;
  stream.cork();
  try {
    return issue();
  } finally {
    stream.uncork();
  }
}

async function rowsOf<R extends object>(client: pg.PoolClient, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  return (await client.query<R & pg.QueryResultRow>(statement(sql, params))).rows;
}

/** A pipelined transaction waiting to share one with others of its key. */
interface Batched {
  work: (tx: Queryable) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Pipelined transactions in one shared transaction at most: bounds what one failure makes run twice. */
const MAX_GROUP = 32;

/**
 * A batch key's writes: those waiting, the groups sent and not yet answered, and the connection
 * they are sent on while there are any.
 */
interface Lane {
  waiting: Batched[];
  inFlight: number;
  client?: Promise<pg.PoolClient>;
}

/**
 * Groups of a lane sent before the one before has answered, on its one connection: the next
 * group's round trip overlaps the last one's work in PostgreSQL, and neither waits on the other's
 * row locks. 2 000 x 4 KiB PUTs by 8 clients, servers in turn: 1 720 files/s on average with one,
 * 1 800 with two, 1 640 with three (smaller groups).
 */
const GROUPS_IN_FLIGHT = 2;

const ignoreLost = () => {};

/** PostgreSQL through a pool of pg connections (the embedded store is pglite-database.ts). */
export class PoolDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #onClose: () => Promise<void>;
  /** By batch key: the lanes of keys with writes waiting or running. */
  readonly #lanes = new Map<number, Lane>();

  /**
   * `afterCommit` hears of every committed transaction, and the commit is acknowledged when it
   * resolves (the statistics keeper). `firstStatement`, asked at each transaction's start, is a
   * statement to run right after its BEGIN, in the same round trip (the read lease's shared
   * hold, read-lease.ts).
   */
  constructor(
    config: pg.PoolConfig,
    onClose: () => Promise<void> = async () => {},
    private readonly afterCommit: () => void | Promise<void> = () => {},
    private readonly firstStatement: () => string | undefined = () => undefined,
  ) {
    // Pipeline mode: a statement is sent without waiting for the answers to those before it,
    // so BEGIN travels with a transaction's first statement, and statements a caller issues
    // together (writeMember) share one round trip.
    this.#pool = new pg.Pool({ ...config, types, pipeline: true });
    // An idle client that errors (server restart) must not crash the process; the pool replaces it.
    this.#pool.on('error', () => {});
    this.#onClose = onClose;
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.#pool.query<R & pg.QueryResultRow>(statement(sql, params));
    return result.rows;
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#attempts(async (client, drop) => {
      const tx: Queryable = { query: (sql, params) => rowsOf(client, sql, params) };
      try {
        // Not awaited alone: BEGIN goes out with the first statement, in one write. It fails
        // only with its connection, and every statement after it with it.
        const [begun, working] = inOneWrite(client, () => [this.#begin(client, options), work(tx)] as const);
        begun.catch(() => undefined);
        const result = await working;
        await begun;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A client whose ROLLBACK failed is broken: the pool drops it.
        await client.query('ROLLBACK').catch(drop);
        throw error;
      }
    });
  }

  pipelined<T>(work: (tx: Queryable) => Promise<T>, options?: PipelinedOptions): Promise<T> {
    const key = options?.batchKey;
    if (key === undefined) return this.#pipelinedAlone(work);
    let lane = this.#lanes.get(key);
    if (!lane) this.#lanes.set(key, (lane = { waiting: [], inFlight: 0 }));
    const promise = new Promise<T>((resolve, reject) => lane.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject }));
    this.#pump(key, lane);
    return promise;
  }

  /**
   * Sends what waits in a lane as groups, each one transaction, while fewer than
   * GROUPS_IN_FLIGHT are; those that come meanwhile wait for the next group.
   */
  #pump(key: number, lane: Lane): void {
    while (lane.inFlight < GROUPS_IN_FLIGHT && lane.waiting.length > 0) {
      const group = lane.waiting.splice(0, MAX_GROUP);
      lane.inFlight++;
      void this.#runGroup(lane, group)
        // Settling one that has settled does nothing: this only reaches those left waiting.
        .catch((error: unknown) => group.forEach(({ reject }) => reject(error)))
        .finally(() => {
          lane.inFlight--;
          if (lane.inFlight > 0 || lane.waiting.length > 0) return this.#pump(key, lane);
          this.#lanes.delete(key);
          this.#releaseLane(lane);
        });
    }
  }

  /** The lane's connection: its groups run one after another in one session, so they never wait on each other's locks. */
  #laneClient(lane: Lane): Promise<pg.PoolClient> {
    if (!lane.client) {
      lane.client = this.#pool.connect().then((client) => {
        // A connection lost while idle in the lane is emitted on it; the next query rejects too.
        client.on('error', ignoreLost);
        return client;
      });
      lane.client.catch(() => (lane.client = undefined));
    }
    return lane.client;
  }

  #releaseLane(lane: Lane, broken?: Error): void {
    const client = lane.client;
    lane.client = undefined;
    void client?.then((c) => {
      c.removeListener('error', ignoreLost);
      c.release(broken);
    }, () => undefined);
  }

  /**
   * Pipelined transactions as one: BEGIN, the statements of each, COMMIT, in one write. Each gets
   * its own answers once the COMMIT is. If a statement fails, the whole transaction is rolled
   * back, and each runs again alone; if the connection fails, whether it committed is unknown
   * and every one of them fails with that error.
   */
  async #runGroup(lane: Lane, group: Batched[]): Promise<void> {
    const held = this.#laneClient(lane);
    const { b, c, settled } = await this.#issue(await held, group.map(({ work }) => work));
    if (c.status === 'rejected' && !(c.reason as { code?: string }).code) {
      // The connection failed: the lane takes a new one for its next group.
      if (lane.client === held) this.#releaseLane(lane, c.reason as Error);
      for (const { reject } of group) reject(c.reason);
      return;
    }
    if (b.status === 'rejected' || c.status === 'rejected' || c.value.command !== 'COMMIT') {
      // A statement failed (or the BEGIN) and rolled the group back: its error, and any other,
      // shows when each runs alone, with its own retries after a deadlock. Not awaited: those
      // runs take connections of the pool, which the lanes holding the others must not wait for.
      for (const { work, resolve, reject } of group) void this.#pipelinedAlone(work).then(resolve, reject);
      return;
    }
    await this.afterCommit();
    group.forEach(({ resolve, reject }, i) => {
      const result = settled[i]!;
      if (result.status === 'fulfilled') resolve(result.value);
      else reject(result.reason);
    });
  }

  #pipelinedAlone<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#attempts(async (client, drop) => {
      const { b, c, settled } = await this.#issue(client, [work]);
      const d = settled[0] as PromiseSettledResult<T>;
      // A COMMIT without an answer from PostgreSQL (the connection failed): the pool drops the client.
      if (c.status === 'rejected' && !(c.reason as { code?: string }).code) drop(c.reason as Error);
      if (b.status === 'rejected') throw b.reason;
      if (d.status === 'rejected') throw d.reason;
      if (c.status === 'rejected') throw c.reason;
      // PostgreSQL answers the COMMIT of a transaction a statement aborted with ROLLBACK.
      if (c.value.command !== 'COMMIT') throw new Error('the transaction was rolled back');
      return d.value;
    });
  }

  /**
   * Sends BEGIN, the statements each of `works` issues before its first await, and COMMIT, in
   * one write to the socket; `b`, `c` and `settled`: how the BEGIN, the COMMIT and each work ended.
   */
  async #issue(client: pg.PoolClient, works: readonly ((tx: Queryable) => Promise<unknown>)[]) {
    let open = true;
    const tx: Queryable = {
      query: (sql, params) => (open ? rowsOf(client, sql, params) : Promise.reject(new Error('a pipelined transaction takes no statement after its first await'))),
    };
    const [begun, done, committed] = inOneWrite(client, () => {
      const begun = this.#begin(client);
      const done = works.map((work) => {
        try {
          return work(tx);
        } catch (error) {
          return Promise.reject(error);
        }
      });
      open = false;
      return [begun, done, client.query('COMMIT')] as const;
    });
    const [b, c, ...settled] = await Promise.allSettled([begun, committed, ...done]);
    return { b, c: c as PromiseSettledResult<pg.QueryResult>, settled };
  }

  /** BEGIN, and the first statement if there is one; fails with either. */
  #begin(client: pg.PoolClient, options?: TransactionOptions): Promise<unknown> {
    const first = this.firstStatement();
    const begun = client.query(beginStatement(options));
    if (!first) return begun;
    const ran = client.query(first);
    return Promise.all([begun, ran]);
  }

  /**
   * Runs a transaction on a connection of the pool; a serialization failure or deadlock runs it
   * again. `drop` marks the connection broken, so that the pool closes it.
   */
  async #attempts<T>(run: (client: pg.PoolClient, drop: (error: Error) => void) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // Retries start at random moments, so the transactions that collided do not collide again.
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * attempt));
      const client = await this.#pool.connect();
      // A connection lost mid-transaction is emitted as 'error' on the checked-out client, which
      // the pool does not listen to then: without this listener the process would crash. The
      // pending query rejects too, so the error reaches the caller that way.
      const onLost = () => {};
      client.on('error', onLost);
      let broken: Error | undefined;
      let result: T;
      try {
        result = await run(client, (error) => void (broken = error));
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw error;
      } finally {
        client.removeListener('error', onLost);
        client.release(broken);
      }
      // With the connection already free for others: a commit may wait here for its WAL to reach the disk.
      await this.afterCommit();
      return result;
    }
  }

  poolStats(): PoolStats {
    return { total: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.#pool.end();
    await this.#onClose();
  }
}
