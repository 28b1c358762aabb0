/**
 * The embedded store's Database: PostgreSQL's wire protocol spoken to PGlite directly, on a
 * thread of its own (pglite-worker.ts).
 *
 * Driving PGlite through pg's Client, a pool of one and an adapter cost about as much JavaScript
 * per statement as PostgreSQL's own work on a small one. Here each statement is a few protocol
 * messages: the first time Parse, Bind, Describe, Execute and Sync (the named statement and its
 * row description are then kept), after that Bind, Execute and Sync (PostgreSQL's protocol
 * §55.2.3). DataRows are read here, other messages by pg-protocol, pg's own parser. A first
 * answer is text, read by the same type parsers as on PostgreSQL; later Binds ask for the types
 * of BINARY_READERS in binary, read to the same values. Both stores give the same rows and errors.
 *
 * PGlite is one session. A caller's statements are posted to its thread in the order callers
 * take their turns, and a turn ends as soon as they are posted, except for a transaction whose
 * statements depend on earlier answers (`transaction`), which keeps it until its COMMIT (or
 * ROLLBACK) is posted. So while the serving thread answers HTTP, the database thread always has the next
 * statements to run: a pipelined write (`pipelined`) is one batch, BEGIN to COMMIT.
 */
import { EventEmitter } from 'node:events';
import { parse, serialize, type DatabaseError } from 'pg-protocol';
import type { BackendMessage, CommandCompleteMessage, RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import { prepareValue } from 'pg/lib/utils.js';
import { beginStatement, type Database, type PoolStats, type Queryable, type TransactionOptions } from './db.js';
import type { DiskRoom } from './disk-room.js';
import type { PgliteThread, SendOptions } from './pglite-thread.js';
import { types } from './pg-types.js';
import { mayWrite } from './read-cache.js';

type Parser = (text: string) => unknown;
/** Reads one field's value from `data[start, end)`. */
type FieldReader = (data: Buffer, start: number, end: number) => unknown;

interface Columns {
  names: string[];
  /** Each field sent as text (an answer whose Bind asked for text, or a first one). */
  text: FieldReader[];
  /** Each field in the format `resultFormats` asks for: binary where a type has a reader below. */
  mixed: FieldReader[];
  /** The tail of a Bind message asking for those formats (PostgreSQL's protocol §55.7, Bind). */
  resultFormats?: Buffer;
}

interface Statement {
  name: string;
  /** Whether PGlite has confirmed the Parse of the named statement (false: sent, not yet answered). */
  parsed: boolean;
  /** Column names and value parsers, once a Describe has told them (undefined: not yet). */
  columns?: Columns;
}

/** One statement's protocol messages, and what reading its answer needs. */
interface Encoded {
  bytes: Buffer;
  /** The named statement it uses; `parses`: this message creates it. */
  statement?: Statement;
  parses: boolean;
  sql: string;
  /** Columns whose formats the Bind asked for; undefined: every field comes as text. */
  columns?: Columns;
}

interface Answer<R> {
  rows: R[];
  /** The command tag of the last CommandComplete (e.g. COMMIT, or ROLLBACK for an aborted transaction). */
  command?: string;
}

const SYNC = serialize.sync();

/** A statement without parameters, in the simple protocol. */
function simple(sql: string): Encoded {
  return { bytes: serialize.query(sql), parses: false, sql };
}

/** What the database needs of its thread (pglite-thread.ts). */
export type DatabaseThread = Pick<PgliteThread, 'send' | 'unanswered' | 'terminate' | 'onEnd'>;

export interface PgliteDatabaseOptions {
  /** Refuses every statement that may write while the disk is too full for it (disk-room.ts). */
  room?: Pick<DiskRoom, 'check'>;
  /** Hears, once, that the database stopped for good (a PANIC, or its thread's end). */
  onStopped?: (error: Error) => void;
}

/**
 * The embedded PostgreSQL stopped for good: SQLSTATE 57P02 (crash_shutdown), which the server
 * answers with 503 as any unavailable database (db.ts, isDatabaseUnavailable).
 */
export class DatabaseStoppedError extends Error {
  readonly code = '57P02';
}

export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #thread: DatabaseThread;
  /** Set once PostgreSQL stopped for good (#stop): every call fails with it at once. */
  #stopped: DatabaseStoppedError | undefined;
  readonly #statements = new Map<string, Statement>();
  #statementCount = 0;
  /** Resolves when the next caller may post its statements. */
  #session: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  /** Messages of the answer being read, delivered by pg-protocol's parser. */
  #messages: BackendMessage[] = [];
  readonly #wire = new EventEmitter();

  readonly #room: Pick<DiskRoom, 'check'> | undefined;
  readonly #onStopped: ((error: Error) => void) | undefined;

  /**
   * `afterCommit` hears of every committed transaction (the statistics keeper, the checkpoints'
   * sync), whose answer came once its WAL was on disk (pglite-worker.ts); `onClose` ends the
   * session (and the thread).
   */
  constructor(
    thread: DatabaseThread,
    private readonly onClose: () => Promise<void>,
    private readonly afterCommit: () => void,
    { room, onStopped }: PgliteDatabaseOptions = {},
  ) {
    this.#thread = thread;
    this.#room = room;
    this.#onStopped = onStopped;
    thread.onEnd((error) => this.#stop(error));
    void parse(this.#wire as unknown as NodeJS.ReadableStream, (message) => void this.#messages.push(message));
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const writes = mayWrite(sql);
    if (writes) this.#room?.check();
    const release = await this.#turn();
    let answer: Promise<Answer<R>[]>;
    try {
      answer = this.#post<R>([this.#encode(sql, params)], { durable: writes });
    } finally {
      release();
    }
    const [{ rows }] = (await answer) as [Answer<R>];
    // A statement outside a transaction commits by itself: answered once durable, like a transaction.
    if (writes) this.afterCommit();
    return rows;
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const release = await this.#turn();
    let value: T;
    // The turn passes on once COMMIT or ROLLBACK is posted: what others post runs after it.
    let ended: Promise<Answer<object>[]>;
    try {
      // BEGIN goes out with the first statement; its answer is read with that statement's.
      const begun = this.#post([simple(beginStatement(options))]);
      begun.catch(() => undefined);
      const tx: Queryable = {
        query: async <R extends object>(sql: string, params: readonly unknown[] = []) => {
          if (mayWrite(sql)) this.#room?.check(options?.frees);
          return (await this.#post<R>([this.#encode(sql, params)]))[0]!.rows;
        },
      };
      try {
        value = await work(tx);
        await begun;
      } catch (error) {
        // Not awaited: what others post runs after it, and a failed ROLLBACK has nothing to add.
        this.#post([simple('ROLLBACK')]).catch(() => undefined);
        throw error;
      }
      ended = this.#post([simple('COMMIT')], { durable: true });
    } finally {
      release();
    }
    const [committed] = await ended;
    if (committed!.command !== 'COMMIT') throw new Error('the transaction was rolled back');
    this.afterCommit();
    return value;
  }

  async pipelined<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    // Pipelined transactions write.
    this.#room?.check();
    const issued: { resolve(rows: unknown[]): void; reject(error: unknown): void }[] = [];
    const batch: Encoded[] = [simple('BEGIN')];
    let done: Promise<T>;
    let answers: Promise<(Answer<object> | Error)[]>;
    const release = await this.#turn();
    try {
      let open = true;
      const tx: Queryable = {
        query: <R extends object>(sql: string, params: readonly unknown[] = []) => {
          if (!open) return Promise.reject(new Error('a pipelined transaction takes no statement after its first await'));
          batch.push(this.#encode(sql, params));
          return new Promise<R[]>((resolve, reject) => issued.push({ resolve: resolve as (rows: unknown[]) => void, reject }));
        },
      };
      done = work(tx);
      open = false;
      batch.push(simple('COMMIT'));
      // The database thread may run it in one transaction with its neighbours (pglite-worker.ts).
      answers = this.#postEach(batch, { joinable: !batch.some((e) => e.parses), durable: true });
    } finally {
      release();
    }
    let all: (Answer<object> | Error)[];
    try {
      all = await answers;
    } catch (error) {
      // The database thread is gone: nothing of the batch ran to its end.
      for (const settle of issued) settle.reject(error);
      await done.catch(() => undefined);
      throw error;
    }
    issued.forEach((settle, i) => {
      const answer = all[i + 1]!;
      if (answer instanceof Error) settle.reject(answer);
      else settle.resolve(answer.rows);
    });
    const value = await done;
    const failure = all.find((a) => a instanceof Error);
    if (failure) throw failure;
    // PostgreSQL answers the COMMIT of a transaction a statement aborted with ROLLBACK.
    if ((all.at(-1) as Answer<object>).command !== 'COMMIT') throw new Error('the transaction was rolled back');
    this.afterCommit();
    return value;
  }

  poolStats(): PoolStats {
    return { total: 1, idle: this.#thread.unanswered === 0 ? 1 : 0, waiting: this.#waiting };
  }

  async close(): Promise<void> {
    // Every caller's statements are posted by the end of the last turn; the thread answers them before it closes.
    await this.#session;
    await this.onClose();
  }

  /** Resolves when it is this caller's turn to post, with the function that ends the turn. */
  #turn(): Promise<() => void> {
    this.#waiting++;
    let release!: () => void;
    const ended = new Promise<void>((resolve) => (release = resolve));
    const turn = this.#session.then(() => {
      this.#waiting--;
      return release;
    });
    this.#session = ended;
    return turn;
  }

  /** Posts statements as one batch (in the caller's turn) and reads their answers; throws the first error. */
  async #post<R extends object>(encoded: Encoded[], options?: SendOptions): Promise<Answer<R>[]> {
    const answers = await this.#postEach<R>(encoded, options);
    const failure = answers.find((a) => a instanceof Error);
    if (failure) throw failure;
    return answers as Answer<R>[];
  }

  /** Posts statements as one batch and reads each one's answer, or its error. */
  async #postEach<R extends object>(encoded: Encoded[], options?: SendOptions): Promise<(Answer<R> | Error)[]> {
    if (this.#stopped) throw this.#stopped;
    const outputs = await this.#thread.send(encoded.map((e) => e.bytes), options);
    return outputs.map((output, i) => {
      try {
        return this.#read<R>(output, encoded[i]!);
      } catch (error) {
        return error as Error;
      }
    });
  }

  #encode(sql: string, params: readonly unknown[]): Encoded {
    // Without parameters, the simple protocol: it also runs scripts of several statements (migrations).
    if (params.length === 0) return simple(sql);
    const values = { values: params as unknown[], valueMapper: prepareValue };
    let statement = this.#statements.get(sql);
    if (statement && !statement.parsed) {
      // Its Parse is on its way and may yet fail: this one runs unnamed, by itself.
      return {
        bytes: Buffer.concat([serialize.parse({ text: sql, types: [] }), serialize.bind(values), serialize.describe({ type: 'P', name: '' }), serialize.execute({}), SYNC]),
        parses: false,
        sql,
      };
    }
    const parts: Buffer[] = [];
    const parses = !statement;
    if (!statement) {
      statement = { name: `s${++this.#statementCount}`, parsed: false };
      this.#statements.set(sql, statement);
      parts.push(serialize.parse({ name: statement.name, text: sql, types: [] }));
    }
    const columns = statement.columns;
    const bind = serialize.bind({ statement: statement.name, ...values });
    parts.push(columns?.resultFormats ? withResultFormats(bind, columns.resultFormats) : bind);
    if (!columns) parts.push(serialize.describe({ type: 'P', name: '' }));
    parts.push(serialize.execute({}), SYNC);
    return { bytes: Buffer.concat(parts), statement, parses, sql, ...(columns?.resultFormats && { columns }) };
  }

  /**
   * Reads the answer to one statement; throws its error. DataRows are read here, field by field
   * in the formats the Bind asked for; every other message by pg-protocol.
   */
  #read<R extends object>(output: readonly Buffer[], { statement, parses, sql, columns: bound }: Encoded): Answer<R> {
    const data = output.length === 1 ? output[0]! : Buffer.concat(output);
    let error: Error | undefined;
    let readers = bound ? bound.mixed : statement?.columns?.text;
    let names = (bound ?? statement?.columns)?.names;
    let rows: R[] = [];
    let command: string | undefined;
    for (let offset = 0; offset < data.length; ) {
      const end = offset + 1 + data.readInt32BE(offset + 1);
      if (data[offset] === DATA_ROW) {
        if (readers) rows.push(readRow<R>(data, offset + 5, names!, readers));
        offset = end;
        continue;
      }
      this.#messages = [];
      this.#wire.emit('data', data.subarray(offset, end));
      offset = end;
      for (const m of this.#messages) {
        switch (m.name) {
          case 'parseComplete':
            // The server holds the named statement from now on, whatever follows.
            if (statement && parses) statement.parsed = true;
            break;
          case 'rowDescription': {
            // Described with this answer, whose Bind asked for text; later Binds ask for binary where it reads faster.
            const described = describe(m as RowDescriptionMessage);
            if (statement) statement.columns = described;
            readers = described.text;
            names = described.names;
            rows = [];
            break;
          }
          case 'noData':
            if (statement) statement.columns = { names: [], text: [], mixed: [] };
            break;
          case 'commandComplete':
            command = (m as CommandCompleteMessage).text;
            break;
          case 'error': {
            const failure = m as DatabaseError;
            // PostgreSQL stops at a PANIC (a WAL write that failed, say); PGlite's session then never answers again.
            if (failure.severity === 'PANIC') error = this.#stop(failure);
            else error ??= failure;
            break;
          }
        }
      }
    }
    this.#messages = [];
    // A Parse that failed (or never ran, in an aborted transaction) is sent again next time.
    if (statement && parses && !statement.parsed && this.#statements.get(sql) === statement) this.#statements.delete(sql);
    if (error) throw error;
    return { rows, command };
  }

  /** The database stopped for good: its thread is stopped (it would spin), and every call fails from now on. */
  #stop(cause: Error): DatabaseStoppedError {
    if (!this.#stopped) {
      this.#stopped = new DatabaseStoppedError(`the embedded database stopped: ${cause.message}`);
      void this.#thread.terminate().catch(() => undefined);
      this.#onStopped?.(this.#stopped);
    }
    return this.#stopped;
  }
}

const DATA_ROW = 0x44; // 'D'

/**
 * Types read from their binary form (PostgreSQL's *send functions): no text to decode and parse
 * on this thread, and no text to format on the database thread (timestamptz_out looks up the
 * time zone and prints every field). The values are those the text parsers of pg-types.ts give.
 */
const BINARY_READERS = new Map<number, FieldReader>([
  [16, (data, start) => data[start] === 1], // bool
  [21, (data, start) => data.readInt16BE(start)], // int2
  [23, (data, start) => data.readInt32BE(start)], // int4
  [20, (data, start) => readInt64(data, start)], // int8, as a number (pg-types.ts)
  [1184, (data, start) => readTimestamptz(data, start)],
  [17, (data, start, end) => Buffer.from(data.subarray(start, end))], // bytea: a copy, not a view of the whole answer
]);

/** A big-endian int64 as the nearest number, as Number() of its text gives. */
function readInt64(data: Buffer, start: number): number {
  return data.readInt32BE(start) * 4_294_967_296 + data.readUInt32BE(start + 4);
}

/** PostgreSQL's epoch, 2000-01-01 UTC, in milliseconds since 1970. */
const POSTGRES_EPOCH_MS = 946_684_800_000;

/** timestamptz sent as microseconds since 2000-01-01 UTC; ±infinity as ±Infinity, as pg's text parser gives. */
function readTimestamptz(data: Buffer, start: number): Date | number {
  const micros = readInt64(data, start);
  // ±infinity are int64's extremes, which no finite timestamp comes near (PostgreSQL's range ends in 294276).
  if (micros >= 2 ** 63) return Infinity;
  if (micros <= -(2 ** 63)) return -Infinity;
  // Exact in a number up to 2^53 µs (about 285 years either side of 2000); beyond, in a bigint.
  if (Math.abs(micros) < 2 ** 53) return new Date(Math.floor(micros / 1000) + POSTGRES_EPOCH_MS);
  const big = data.readBigInt64BE(start);
  const floored = big / 1000n - (big < 0n && big % 1000n !== 0n ? 1n : 0n);
  return new Date(Number(floored) + POSTGRES_EPOCH_MS);
}

function describe(message: RowDescriptionMessage): Columns {
  const names = message.fields.map((f) => f.name);
  const text = message.fields.map((f): FieldReader => {
    const parse = types.getTypeParser(f.dataTypeID, 'text') as Parser;
    return (data, start, end) => parse(data.toString('utf8', start, end));
  });
  const binary = message.fields.map((f) => BINARY_READERS.get(f.dataTypeID));
  if (!binary.some(Boolean)) return { names, text, mixed: text };
  const formats = Buffer.alloc(2 + 2 * binary.length);
  formats.writeInt16BE(binary.length, 0);
  binary.forEach((reader, i) => formats.writeInt16BE(reader ? 1 : 0, 2 + 2 * i));
  return { names, text, mixed: binary.map((reader, i) => reader ?? text[i]!), resultFormats: formats };
}

/** pg-protocol's Bind asks for text results (its last four bytes: one format code, 0); this asks for `formats` instead. */
function withResultFormats(bind: Buffer, formats: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bind.length - 4 + formats.length);
  bind.copy(out, 0, 0, bind.length - 4);
  formats.copy(out, bind.length - 4);
  out.writeInt32BE(out.length - 1, 1);
  return out;
}

/** A DataRow's fields (PostgreSQL's protocol §55.7: count, then each length and bytes, -1 for NULL) as a row. */
function readRow<R extends object>(data: Buffer, offset: number, names: readonly string[], readers: readonly FieldReader[]): R {
  const row: Record<string, unknown> = {};
  const count = data.readInt16BE(offset);
  offset += 2;
  for (let i = 0; i < count; i++) {
    const length = data.readInt32BE(offset);
    offset += 4;
    if (length < 0) {
      row[names[i]!] = null;
      continue;
    }
    row[names[i]!] = readers[i]!(data, offset, offset + length);
    offset += length;
  }
  return row as R;
}
