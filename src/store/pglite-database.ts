/**
 * The embedded store's Database: PostgreSQL's wire protocol spoken to PGlite directly.
 *
 * PGlite runs PostgreSQL in WebAssembly on this thread, one session. Driving it through pg's
 * Client, a pool of one and an adapter cost about as much JavaScript per statement as PostgreSQL's
 * own work on a small one (a quarter of the serving thread during PUTs). Here each statement is
 * one call into PGlite: the first time Parse, Bind, Describe, Execute and Sync (the named
 * statement and its row description are then kept), after that Bind, Execute and Sync
 * (PostgreSQL's protocol §55.2.3). Answers are read by pg-protocol, pg's own parser, and values
 * by the same type parsers as on PostgreSQL, so both stores give the same rows and errors.
 */
import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import { parse, serialize, type DatabaseError } from 'pg-protocol';
import type { BackendMessage, DataRowMessage, RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import { prepareValue } from 'pg/lib/utils.js';
import type { Database, PoolStats, Queryable } from './db.js';
import { types } from './pg-types.js';

type Parser = (text: string) => unknown;

interface Statement {
  name: string;
  sql: string;
  /** Column names and value parsers, once a Describe has told them (undefined: not yet). */
  columns?: { names: string[]; parsers: Parser[] };
}

const SYNC = serialize.sync();

export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #pglite: PGlite;
  readonly #statements = new Map<string, Statement>();
  /** The session is used by one caller at a time: each waits for the one before. */
  #session: Promise<unknown> = Promise.resolve();
  #busy = false;
  #waiting = 0;
  /** Messages of the answer being read, delivered by pg-protocol's parser. */
  #messages: BackendMessage[] = [];
  readonly #wire = new EventEmitter();

  /**
   * `afterCommit` hears of every committed transaction, and the commit is acknowledged when it
   * resolves (the statistics keeper and the WAL flush); `onClose` runs after the session ends.
   */
  constructor(
    pglite: PGlite,
    private readonly onClose: () => Promise<void>,
    private readonly afterCommit: () => void | Promise<void>,
  ) {
    this.#pglite = pglite;
    void parse(this.#wire as unknown as NodeJS.ReadableStream, (message) => void this.#messages.push(message));
  }

  query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.#exclusive(() => this.#run<R>(sql, params));
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#transaction(work, false);
  }

  /** In-process, no round trip is saved: only the rule on statements after an await is kept. */
  pipelined<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#transaction(work, true);
  }

  async #transaction<T>(work: (tx: Queryable) => Promise<T>, pipelined: boolean): Promise<T> {
    const result = await this.#exclusive(async () => {
      // Statements issued together (writeMember) run one after the other, in the order issued.
      let last: Promise<unknown> = Promise.resolve();
      let open = true;
      const tx: Queryable = {
        query: <R extends object>(sql: string, params: readonly unknown[] = []) => {
          if (!open) return Promise.reject(new Error('a pipelined transaction takes no statement after its first await'));
          const run = last.then(() => this.#run<R>(sql, params));
          last = run.catch(() => undefined);
          return run;
        },
      };
      await this.#run('BEGIN', []);
      try {
        const done = work(tx);
        if (pipelined) open = false;
        const value = await done;
        await this.#run('COMMIT', []);
        return value;
      } catch (error) {
        await last;
        await this.#run('ROLLBACK', []);
        throw error;
      }
    });
    // With the session already free for others: a commit may wait here for its WAL to reach the disk.
    await this.afterCommit();
    return result;
  }

  poolStats(): PoolStats {
    return { total: 1, idle: this.#busy ? 0 : 1, waiting: this.#waiting };
  }

  async close(): Promise<void> {
    await this.#session.catch(() => undefined);
    await this.onClose();
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.#waiting++;
    const turn = this.#session.catch(() => undefined).then(async () => {
      this.#waiting--;
      this.#busy = true;
      try {
        return await work();
      } finally {
        this.#busy = false;
      }
    });
    this.#session = turn;
    return turn;
  }

  /** One statement in the session; resolves with its rows (of the last result, for a script). */
  async #run<R extends object>(sql: string, params: readonly unknown[]): Promise<R[]> {
    // Without parameters, the simple protocol: it also runs scripts of several statements (migrations).
    if (params.length === 0) return this.#answer<R>(serialize.query(sql), undefined);
    let statement = this.#statements.get(sql);
    const parts: Buffer[] = [];
    if (!statement) {
      statement = { name: `s${this.#statements.size + 1}`, sql };
      parts.push(serialize.parse({ name: statement.name, text: sql, types: [] }));
    }
    parts.push(serialize.bind({ statement: statement.name, values: params as unknown[], valueMapper: prepareValue }));
    if (!statement.columns) parts.push(serialize.describe({ type: 'P', name: '' }));
    parts.push(serialize.execute({}), SYNC);
    return this.#answer<R>(Buffer.concat(parts), statement);
  }

  /** Sends one pipeline and reads its answer; a statement learns its name and columns from it. */
  async #answer<R extends object>(message: Buffer, statement: Statement | undefined): Promise<R[]> {
    this.#messages = [];
    const chunks: Buffer[] = [];
    // The bytes are a view of PostgreSQL's output buffer, reused by the next write: copied.
    await this.#pglite.execProtocolRawStream(message, { onRawData: (bytes) => void chunks.push(Buffer.from(bytes)) });
    for (const chunk of chunks) this.#wire.emit('data', chunk);
    const messages = this.#messages;
    this.#messages = [];

    let error: DatabaseError | undefined;
    let columns = statement?.columns;
    let rows: R[] = [];
    for (const m of messages) {
      switch (m.name) {
        case 'parseComplete':
          // The server holds the named statement from now on, whatever follows.
          if (statement) this.#statements.set(statement.sql, statement);
          break;
        case 'rowDescription':
          columns = describe(m as RowDescriptionMessage);
          if (statement) statement.columns = columns;
          rows = [];
          break;
        case 'noData':
          if (statement) statement.columns = { names: [], parsers: [] };
          break;
        case 'dataRow':
          if (columns) rows.push(toRow<R>(m as DataRowMessage, columns));
          break;
        case 'error':
          error ??= m as DatabaseError;
          break;
      }
    }
    if (error) throw error;
    return rows;
  }
}

function describe(message: RowDescriptionMessage): { names: string[]; parsers: Parser[] } {
  return {
    names: message.fields.map((f) => f.name),
    parsers: message.fields.map((f) => types.getTypeParser(f.dataTypeID, 'text') as Parser),
  };
}

function toRow<R extends object>(message: DataRowMessage, columns: { names: string[]; parsers: Parser[] }): R {
  const row: Record<string, unknown> = {};
  const { names, parsers } = columns;
  for (let i = 0; i < names.length; i++) {
    const value = message.fields[i];
    row[names[i]!] = value === null || value === undefined ? null : parsers[i]!(value);
  }
  return row as R;
}
