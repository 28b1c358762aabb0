/**
 * node-postgres talking to PGlite in this process, one pipeline per call into PostgreSQL.
 *
 * PGlite's own adapter hands every protocol message pg writes (Parse, Bind, Describe, Execute,
 * Sync) to PostgreSQL separately, each a call into WebAssembly with its own buffers and result
 * parsing: four or five per statement. Here the messages of one statement are queued until pg
 * ends its pipeline (Sync or Flush, PostgreSQL's protocol §55.2.3), sent in one call, and the
 * answer's bytes go to pg-protocol's parser, the one pg uses on a socket. A point query costs
 * about a quarter less; a PUT is some ten statements.
 */
import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { parse, serialize } from 'pg-protocol';

type SerializeArgument<K extends keyof typeof serialize> = Parameters<(typeof serialize)[K]>[0];

/**
 * The connection pg's Client drives (the methods its Query calls), over a PGlite instance.
 * PGlite serves one session, so the pool built on it has a single client at a time.
 */
class PipelinedConnection extends EventEmitter {
  readonly #pglite: PGlite;
  #pending: Buffer[] = [];
  /** Calls into PGlite one after another, in the order pg sent them. */
  #queue: Promise<unknown>;
  /** What pg-protocol's parser reads, as if from a socket. */
  readonly #wire = new EventEmitter();

  // Read by pg's Client: prepared statements it has sent on this connection.
  parsedStatements: Record<string, string> = {};
  submittedNamedStatements: Record<string, string> = {};
  // Client.end() skips connection.end() unless this is set, and destroys `stream` while a query runs.
  _connecting = false;
  readonly stream = { destroy: () => this.end() };

  constructor(pglite: PGlite) {
    super();
    this.#pglite = pglite;
    this.#queue = pglite.waitReady;
    // pg expects an ErrorResponse as 'errorMessage'.
    void parse(this.#wire as unknown as NodeJS.ReadableStream, (message) => this.emit(message.name === 'error' ? 'errorMessage' : message.name, message));
  }

  async connect(): Promise<void> {
    this._connecting = true;
    await this.#pglite.waitReady;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  query(text: string): void {
    this.#pending.push(serialize.query(text));
    this.#send();
  }
  parse(query: SerializeArgument<'parse'>): void {
    this.#pending.push(serialize.parse(query));
  }
  bind(config: SerializeArgument<'bind'>): void {
    this.#pending.push(serialize.bind(config));
  }
  describe(message: SerializeArgument<'describe'>): void {
    this.#pending.push(serialize.describe(message));
  }
  execute(config: SerializeArgument<'execute'>): void {
    this.#pending.push(serialize.execute(config));
  }
  close(message: SerializeArgument<'close'>): void {
    this.#pending.push(serialize.close(message));
  }
  flush(): void {
    this.#pending.push(serialize.flush());
    this.#send();
  }
  sync(): void {
    this.#pending.push(serialize.sync());
    this.#send();
  }

  /** Like a socket closing. The PGlite instance is the store's, so it stays open. */
  end(): void {
    this.#queue = this.#queue.then(() => this.emit('end'));
    // The pool gives this connection to its next client: the ended client hears nothing more.
    for (const event of this.eventNames()) if (event !== 'newListener') this.removeAllListeners(event);
  }

  // Part of the interface pg drives; nothing to do in process.
  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}
  ref(): void {}
  unref(): void {}

  #send(): void {
    const message = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    this.#pending = [];
    this.#queue = this.#queue
      .then(async () => {
        const chunks: Buffer[] = [];
        // The bytes are a view of PostgreSQL's output buffer, reused by the next write: copied.
        await this.#pglite.execProtocolRawStream(message, { onRawData: (bytes) => void chunks.push(Buffer.from(bytes)) });
        // Parsed once the call has returned, so that pg's handlers never run inside PostgreSQL.
        for (const chunk of chunks) this.#wire.emit('data', chunk);
      })
      .catch((error: unknown) => this.emit('error', error));
  }
}

/** Pool settings for node-postgres over `pglite`: one connection, which pipelines each statement. */
export function pglitePoolConfig(pglite: PGlite): pg.PoolConfig {
  // `connection` is how pg's Client takes a transport other than a socket; pg's types omit it.
  return { max: 1, user: 'postgres', database: 'postgres', password: 'unused', connection: new PipelinedConnection(pglite) } as pg.PoolConfig;
}
