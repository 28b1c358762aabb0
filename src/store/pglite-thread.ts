/**
 * The serving thread's side of pglite-worker.ts: batches of protocol messages posted in order,
 * answered in order. The thread keeps the process alive only while a batch is waiting for its
 * answer, as an in-thread PGlite would.
 */
import { Worker } from 'node:worker_threads';
import { DEFAULT_EMBEDDED_CACHE_MB } from '../config.js';
import type { WorkerBatch, WorkerOptions, WorkerReplies, WorkerReply } from './pglite-worker.js';

/** The worker's module beside this one: compiled JavaScript, or its TypeScript when this runs from source. */
function startWorker(options: WorkerOptions): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./pglite-worker.js', import.meta.url), { workerData: options });
  // Under tsx (the tests, the CLI), a worker does not inherit tsx's loader on Node 20: it registers it first.
  // Both are resolved here: code evaluated in a worker resolves bare names from the working directory.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const source = JSON.stringify(new URL('./pglite-worker.ts', import.meta.url).href);
  return new Worker(`import(${tsx}).then((tsx) => tsx.register()).then(() => import(${source}))`, { eval: true, workerData: options });
}

export interface SendOptions {
  joinable?: boolean;
  durable?: boolean;
}

interface Pending {
  resolve(outputs: Buffer[][]): void;
  reject(error: Error): void;
}

export class PgliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the thread has ended or failed: every batch after it fails with this. */
  #ended: Error | undefined;
  readonly #exited: Promise<void>;
  /** Set by close() and terminate(): the thread's end is then no news. */
  #ending = false;
  readonly #endListeners: ((error: Error) => void)[] = [];

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#worker.unref();
    this.#worker.on('message', (replies: WorkerReplies) => {
      for (const reply of replies) this.#settle(reply);
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        const error = new Error(`the embedded database's thread ended (exit ${code})`);
        this.#fail(error);
        if (!this.#ending) for (const listener of this.#endListeners) listener(error);
        resolve();
      });
    });
    this.#worker.on('error', (error) => this.#fail(new Error(`the embedded database failed: ${error.message}`)));
  }

  /**
   * Starts PGlite on the data directory `dir` in a new thread, with `sharedBuffersMb` MiB of page
   * cache; resolves once it accepts statements.
   */
  static start(dir: string, sharedBuffersMb = DEFAULT_EMBEDDED_CACHE_MB): Promise<PgliteThread> {
    const worker = startWorker({ dir, sharedBuffersMb });
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      const onExit = (code: number) => reject(new Error(`the embedded database's thread ended while starting (exit ${code})`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: unknown) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message === 'ready') resolve(new PgliteThread(worker));
        else reject(new Error(`unexpected first message from the embedded database's thread: ${String(message)}`));
      });
    });
  }

  /**
   * Posts `messages` to run after every batch posted before; resolves with the backend's answer
   * to each, in chunks. Posting is synchronous, so callers order their batches by the order of
   * their calls. `joinable`: a transaction that may share one with its neighbours; `durable`: it
   * commits a write, answered once its WAL is on disk (WorkerBatch).
   */
  send(messages: readonly Buffer[], { joinable = false, durable = false }: SendOptions = {}): Promise<Buffer[][]> {
    if (this.#ended) return Promise.reject(this.#ended);
    const id = this.#nextId++;
    const answer = new Promise<Buffer[][]>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#pending.size === 1) this.#worker.ref();
    this.#worker.postMessage({ id, messages: messages as Buffer[], ...(joinable && { joinable }), ...(durable && { durable }) } satisfies WorkerBatch);
    return answer;
  }

  /** Batches posted and not yet answered. */
  get unanswered(): number {
    return this.#pending.size;
  }

  /** Hears of the thread ending by itself (not by close() or terminate()). */
  onEnd(listener: (error: Error) => void): void {
    this.#endListeners.push(listener);
  }

  /** Stops the thread now, wherever it is (a PostgreSQL that will not answer again); batches not answered fail. */
  async terminate(): Promise<void> {
    this.#ending = true;
    await this.#worker.terminate();
    await this.#exited;
  }

  /** Closes PGlite (a shutdown checkpoint) after every batch posted before, and ends the thread. */
  async close(): Promise<void> {
    if (this.#ended) return;
    this.#ending = true;
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }

  #settle(reply: WorkerReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if ('error' in reply) pending.reject(new Error(`the embedded database failed: ${reply.error}`));
    else pending.resolve(reply.outputs.map((chunks) => chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
  }

  #fail(error: Error): void {
    this.#ended ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
