/**
 * The embedded PostgreSQL on a thread of its own (worker_threads). PGlite runs PostgreSQL in
 * WebAssembly on whichever thread loads it; on the serving thread its statements took half of
 * that thread's time under a write load, while the second core of a small machine idled. Here
 * the serving thread only encodes statements and parses answers (pglite-database.ts).
 *
 * It speaks in batches: each message is a list of protocol messages (each ending in Sync or a
 * simple Query), run in order, and the answer is the backend's bytes for each (as the chunks
 * PGlite wrote them), in one reply.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_EXTENSIONS } from './pglite-extensions.js';

export interface WorkerBatch {
  id: number;
  messages: Uint8Array[];
}

/** `outputs[i]`: the chunks of the answer to `messages[i]`. */
export type WorkerReply = { id: number; outputs: Uint8Array[][] } | { id: number; error: string };

export interface WorkerOptions {
  dir: string;
}

if (!parentPort) throw new Error('pglite-worker.ts runs as a worker thread');
const port = parentPort;
const { dir } = workerData as WorkerOptions;
const pglite = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS });

/** Batches run one after another, in the order they were posted; closing waits for those before it. */
let queue: Promise<void> = Promise.resolve();

/**
 * How long the thread keeps looking for the next batch before it sleeps. A thread woken from
 * sleep costs tens of microseconds here (more under a hypervisor), as much as a small statement:
 * looking for 0.2 ms catches the next statement of a busy server, or of the same request, awake.
 * Interleaved runs of 2 000 x 4 KiB PUTs by 8 clients: 1 775 files/s on average against 1 623.
 */
const SPIN_MS = 0.2;

/** Chunks at least this large are moved to the serving thread rather than copied. */
const MOVE_BYTES = 64 * 1024;

port.on('message', (message: WorkerBatch | 'close') => {
  queue = queue.then(async () => {
    // Batches that arrive while this one runs or while the thread looks are taken here, in order.
    let next: WorkerBatch | 'close' | undefined = message;
    while (next !== undefined) {
      if (next === 'close') {
        await pglite.close();
        port.close();
        return;
      }
      await handle(next);
      next = undefined;
      const until = performance.now() + SPIN_MS;
      while (performance.now() < until) {
        const got = receiveMessageOnPort(port);
        if (got) {
          next = got.message as WorkerBatch | 'close';
          break;
        }
      }
    }
  });
});

async function handle(message: WorkerBatch): Promise<void> {
  let outputs: Uint8Array[][];
  try {
    outputs = [];
    for (const bytes of message.messages) outputs.push(await exchange(bytes));
  } catch (error) {
    port.postMessage({ id: message.id, error: (error as Error).message } satisfies WorkerReply);
    return;
  }
  // Moving a buffer costs more than copying a small one (most answers are a few hundred bytes).
  const moved = outputs.flat().filter((chunk) => chunk.byteLength >= MOVE_BYTES);
  port.postMessage({ id: message.id, outputs } satisfies WorkerReply, moved.map((chunk) => chunk.buffer as ArrayBuffer));
}
port.postMessage('ready');

/**
 * One exchange with the backend. Through the streaming call: the plain synchronous one also
 * parses every answer into a list that nothing ever empties. Its file-system sync is a no-op on
 * Node (durability.ts makes commits durable). The chunks are views of a buffer the next write
 * reuses: each is copied once, into a buffer of its own that can be moved to the serving thread.
 */
async function exchange(bytes: Uint8Array): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  await pglite.execProtocolRawStream(bytes, { syncToFs: false, onRawData: (chunk) => void chunks.push(chunk.slice()) });
  return chunks;
}
