/**
 * Which process may keep read results of a PostgreSQL database (read-cache.ts). A kept read stays
 * true only while no other process writes, so the right to keep them is a lease: PostgreSQL's
 * advisory lock LEASE_KEY, held exclusively, on a connection of its own, by the one process that
 * caches, and shared by every other Davenport process while it runs (servers, `npm run user`,
 * backup and restore).
 *
 * - A process that wants to cache takes the lock exclusively if it can, and otherwise joins
 *   shared, trying again every `retryMs` to be the only one left.
 * - Joining tells the holder by NOTIFY to stand down; the holder stops caching first, then takes
 *   the lock shared and lets go of its exclusive hold, and the newcomer's shared request is granted.
 * - Every write transaction of a process that does not hold the lease exclusively takes the lock
 *   shared for its own duration (`LEASE_WRITE_SQL`, in the transaction's first round trip), so no
 *   write can slip past a cache even while the writer's lease connection is being re-made: the
 *   holder cannot take the lease while such a transaction runs, and such a transaction waits
 *   while it is held.
 * - A lost lease connection stops caching at once; it is made again in the background.
 *
 * Someone editing the database by hand takes the same lock shared in their session
 * (`NOTIFY davenport_read_lease; SELECT pg_advisory_lock_shared(…)`, README).
 */
import pg from 'pg';

/** The lease: an advisory lock key of this database ("DavenLea" in ASCII, as a bigint). */
export const LEASE_KEY = '4927349645334308193';
const CHANNEL = 'davenport_read_lease';
/** The shared hold a write transaction of a process without the lease takes first. */
export const LEASE_WRITE_SQL = `SELECT pg_advisory_xact_lock_shared(${LEASE_KEY})`;
/** How long joining waits for a holder to stand down. */
const JOIN_TIMEOUT_MS = 30_000;
const RECONNECT_MS = 1_000;

export interface ReadLeaseOptions {
  connectionString: string;
  /** Whether this process wants to cache (hold the lease exclusively). */
  cache: boolean;
  /** Called when the lease is taken or given up: what was cached is then stale. */
  onChange: () => void;
  /** How often a process that wants to cache tries again to be the only one (ms). */
  retryMs?: number;
}

export class ReadLease {
  #client: pg.Client | undefined;
  #exclusive = false;
  #shared = false;
  #closed = false;
  /** The next try for the exclusive hold, and the next attempt to connect again. */
  #retry: NodeJS.Timeout | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  /** The lease connection's steps, one after another (#serially). */
  #steps: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: ReadLeaseOptions) {}

  /**
   * Connects and takes the lease, exclusively or shared. When that fails (PostgreSQL unreachable,
   * a holder that does not stand down) it goes on trying in the background: meanwhile nothing is
   * cached, and writes wait for their shared hold as always.
   */
  static async open(options: ReadLeaseOptions): Promise<ReadLease> {
    const lease = new ReadLease(options);
    await lease.#connect().catch(() => lease.#reconnectLater());
    return lease;
  }

  /** Whether this process holds the lease alone: its kept reads are true. */
  get exclusive(): boolean {
    return this.#exclusive;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#reconnect);
    this.#set(false);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.connectionString, application_name: 'davenport-lease', keepAlive: true, connectionTimeoutMillis: 5_000 });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    await client.connect();
    // Closed while connecting: this connection must not take the lease.
    if (this.#closed) return void (await client.end().catch(() => {}));
    try {
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      client.on('notification', (message: pg.Notification) => {
        if (message.processId !== pid) void this.#serially(() => this.#standDown(client)).catch(() => client.end());
      });
      await client.query(`LISTEN ${CHANNEL}`);
      this.#client = client;
      this.#shared = false;
      await this.#serially(async () => {
        if (!(this.options.cache && (await this.#tryExclusive(client)))) await this.#join(client);
      });
    } catch (error) {
      this.#client = undefined;
      await client.end().catch(() => {});
      throw error;
    }
    this.#schedule();
  }

  /** Takes the lease shared, telling any holder to stand down until it does. */
  async #join(client: pg.Client): Promise<void> {
    const deadline = Date.now() + JOIN_TIMEOUT_MS;
    for (;;) {
      await client.query(`NOTIFY ${CHANNEL}`);
      if ((await client.query<{ got: boolean }>(`SELECT pg_try_advisory_lock_shared(${LEASE_KEY}) AS got`)).rows[0]!.got) {
        this.#shared = true;
        return;
      }
      if (Date.now() > deadline) throw new Error('another Davenport process holds the read lease of this database and did not give it up');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Takes the lease exclusively if no other session holds it at all; then lets go of a shared hold. */
  async #tryExclusive(client: pg.Client): Promise<boolean> {
    if (!(await client.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(${LEASE_KEY}) AS got`)).rows[0]!.got) return false;
    if (this.#shared) await client.query(`SELECT pg_advisory_unlock_shared(${LEASE_KEY})`);
    this.#shared = false;
    this.#set(true);
    return true;
  }

  /** Another process joins: stop caching first, then hold the lease shared and let go of it. */
  async #standDown(client: pg.Client): Promise<void> {
    if (!this.#exclusive || client !== this.#client) return;
    this.#set(false);
    await client.query(`SELECT pg_advisory_lock_shared(${LEASE_KEY})`);
    this.#shared = true;
    await client.query(`SELECT pg_advisory_unlock(${LEASE_KEY})`);
  }

  /**
   * Runs `step` once those before it have ended. A try for the exclusive hold made in the middle
   * of a stand-down (between its shared hold and its release) would succeed, as the session
   * already holds the lock, and keep the newcomer waiting for good; so would a notice heard
   * between a try's success and its being noted.
   */
  #serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#steps.then(step, step);
    this.#steps = run.catch(() => undefined);
    return run;
  }

  /** While it wants the lease and does not hold it: try again later. */
  #schedule(): void {
    if (this.#closed || !this.options.cache) return;
    this.#retry = setTimeout(() => {
      const client = this.#client;
      if (!client) return; // lost: the next connection schedules its own tries
      const attempt = this.#serially(async () => (this.#exclusive || client !== this.#client ? false : this.#tryExclusive(client)));
      void attempt.catch(() => client.end()).finally(() => {
        if (client === this.#client) this.#schedule();
      });
    }, this.options.retryMs ?? 10_000);
    this.#retry.unref();
  }

  #lost(client: pg.Client): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#shared = false;
    this.#set(false);
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    clearTimeout(this.#retry);
    clearTimeout(this.#reconnect);
    if (this.#closed) return;
    this.#reconnect = setTimeout(() => {
      if (!this.#closed) void this.#connect().catch(() => this.#reconnectLater());
    }, RECONNECT_MS);
    this.#reconnect.unref();
  }

  #set(exclusive: boolean): void {
    if (this.#exclusive === exclusive) return;
    this.#exclusive = exclusive;
    this.options.onChange();
  }
}
