/**
 * SHA-256 of large bodies on a thread of their own. Hashing ran on the serving thread at about
 * 1.7 GB/s, a third of that thread's time during a 1 GiB upload, while the upload's writes ran
 * on libuv's threads and the second core had room. The direct-write blocks live in one shared
 * memory (direct-io.ts), so the hashing thread reads each block where it is, with no copy: the
 * serving thread posts where a block is and how long, and the block is not refilled before the
 * thread has answered.
 *
 * One thread serves every upload; it answers in the order it was asked, so one queue of waiting
 * callers is enough, and each upload's blocks are hashed in the order they were filled.
 */
import { Worker } from 'node:worker_threads';

/** The thread's code: a hash per upload, fed blocks of the shared memory by offset and length. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memory = Buffer.from(workerData);
const hashes = new Map();
parentPort.on('message', ({ id, offset, length, op }) => {
  try {
    if (op === 'update') {
      let hash = hashes.get(id);
      if (!hash) hashes.set(id, (hash = createHash('sha256')));
      hash.update(memory.subarray(offset, offset + length));
      parentPort.postMessage({});
    } else if (op === 'digest') {
      const hash = hashes.get(id) ?? createHash('sha256');
      hashes.delete(id);
      parentPort.postMessage({ hex: hash.digest('hex') });
    } else {
      hashes.delete(id);
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
});
`;

interface Reply {
  hex?: string;
  error?: string;
}

/** One body's hash, fed in order: update() each block before the next is filled, then digest(). */
export interface BlockHash {
  /** Adds the first `length` bytes of `block` (a view of the shared memory). */
  update(block: Buffer, length: number): Promise<void>;
  /** The hex SHA-256 of everything added; the hash is then gone. */
  digest(): Promise<string>;
  /** Forgets the hash without a digest (an abandoned upload). */
  drop(): void;
}

export class BlockHasher {
  readonly #memory: SharedArrayBuffer;
  #worker: Worker | undefined;
  /** Callers waiting for the thread's answers, in the order they asked. */
  readonly #waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  #nextId = 0;

  constructor(memory: SharedArrayBuffer) {
    this.#memory = memory;
  }

  start(): BlockHash {
    const id = this.#nextId++;
    // A hash lives in one thread: if that thread dies, the rest of this body cannot be hashed.
    const worker = (this.#worker ??= this.#startWorker());
    let ended = false;
    return {
      update: async (block, length) => {
        if (block.buffer !== this.#memory) throw new Error("the block is not in the hasher's memory");
        const reply = await this.#ask(worker, { id, op: 'update', offset: block.byteOffset, length });
        if (reply.error) throw new Error(`hashing failed: ${reply.error}`);
      },
      digest: async () => {
        ended = true;
        const reply = await this.#ask(worker, { id, op: 'digest' });
        if (reply.hex === undefined) throw new Error(`hashing failed: ${reply.error}`);
        return reply.hex;
      },
      drop: () => {
        if (ended || worker !== this.#worker) return;
        ended = true;
        worker.postMessage({ id, op: 'drop' });
      },
    };
  }

  #ask(worker: Worker, message: { id: number; op: 'update' | 'digest'; offset?: number; length?: number }): Promise<Reply> {
    if (worker !== this.#worker) return Promise.reject(new Error('the hashing thread exited'));
    if (this.#waiting.length === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      worker.postMessage(message);
    });
  }

  #startWorker(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.#memory });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      this.#waiting.shift()?.resolve(reply);
      // An idle thread does not keep the process alive.
      if (this.#waiting.length === 0) worker.unref();
    });
    // A thread that died fails what it was asked; the next upload starts another.
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiting of this.#waiting.splice(0)) waiting.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
    return worker;
  }
}
