/**
 * The embedded PostgreSQL on a thread of its own (worker_threads). PGlite runs PostgreSQL in
 * WebAssembly on whichever thread loads it; on the serving thread its statements took half of
 * that thread's time under a write load, while the second core of a small machine idled. Here
 * the serving thread only encodes statements and parses answers (pglite-database.ts).
 *
 * It speaks in batches: each message is a list of protocol messages (each ending in Sync or a
 * simple Query), run in order, and the answer is the backend's bytes for each (as the chunks
 * PGlite wrote them), in one reply.
 *
 * Group commit: joinable transactions (pipelined writes) found queued one after another, or
 * posted while the group runs, run as one, BEGIN of the first to COMMIT of the last, and each
 * gets that BEGIN's and that COMMIT's answers as its own. A transaction's BEGIN and COMMIT cost
 * more than a small write's own statements (the commit record, the thread's wake-ups): 2 000
 * writes of a 4 KiB file by 8 writers took 1.0 ms of CPU each at one transaction apiece, 0.55 ms
 * at eight to a transaction. Reads do not join: one would wait for the whole group, and a mixed
 * load (`npm run load`) ran 8% slower when they did. Each statement still sees what the
 * statements before it did, as when run alone, and no answer leaves before the COMMIT, so no one
 * is told of a change that is not committed (nor before its WAL is flushed: below). When a
 * statement of the group fails, the whole transaction has rolled back, and each batch then runs
 * again by itself: one request's error is never another's.
 *
 * Durable writes: a batch marked `durable` (a COMMIT, a write outside a transaction) is answered
 * once the WAL is on disk (durability.ts). This thread flushes it itself, as PostgreSQL's backend
 * does at commit: answering first and flushing on the serving thread cost two more wake-ups of a
 * thread per commit (the thread pool's, and the serving thread's at its end) and the serving
 * thread's own part; 2 000 × 4 KiB PUTs by 8 clients (`npm run bench -- --only files`, two
 * interleaved pairs): 1 364 and 1 272 files/s against 1 143 and 1 155. The flush waits while
 * other batches are queued, holding the answers of the writes it will cover, so that one flush
 * serves every write run back to back (group commit across transactions too) and reads do not
 * wait for it. HOLD_MS bounds the wait, checked between batches: a held answer may wait out one
 * long statement queued behind it, as a write queued behind that statement would. Flushing at
 * once unless a pipelined write came next ran the same load at 1 210 and 1 129 files/s against
 * 1 435 and 1 334 (interleaved).
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';
import { WalSync } from './durability.js';
import { PGLITE_EXTENSIONS } from './pglite-extensions.js';

export interface WorkerBatch {
  id: number;
  messages: Uint8Array[];
  /**
   * A transaction (simple BEGIN first, simple COMMIT last) that may share one with the joinable
   * batches queued beside it. It creates no named statement, so it can run again by itself (a
   * Parse that succeeded could not).
   */
  joinable?: true;
  /** Answered only once the WAL it wrote is on disk: it commits a write. */
  durable?: true;
}

/** `outputs[i]`: the chunks of the answer to `messages[i]`. */
export type WorkerReply = { id: number; outputs: Uint8Array[][] } | { id: number; error: string };

/** The thread posts replies in lists: those of a group at once. */
export type WorkerReplies = WorkerReply[];

export interface WorkerOptions {
  dir: string;
  /** PostgreSQL's shared_buffers, in MiB. */
  sharedBuffersMb: number;
}

if (!parentPort) throw new Error('pglite-worker.ts runs as a worker thread');
const port = parentPort;
const { dir, sharedBuffersMb } = workerData as WorkerOptions;
// Set at each start (config.ts explains the size); postgresql.conf keeps initdb's 128MB.
const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffersMb}MB`];
const pglite = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS, startParams });
const wal = new WalSync(dir);

/**
 * How long the thread keeps looking for the next batch before it sleeps. A thread woken from
 * sleep costs tens of microseconds here (more under a hypervisor), as much as a small statement:
 * looking for 0.2 ms catches the next statement of a busy server, or of the same request, awake.
 * Interleaved runs of 2 000 x 4 KiB PUTs by 8 clients: 1 775 files/s on average against 1 623.
 */
const SPIN_MS = 0.2;

/** Chunks at least this large are moved to the serving thread rather than copied. */
const MOVE_BYTES = 64 * 1024;

/** Joinable batches in one transaction at most: bounds what one failure makes run twice. */
const MAX_GROUP = 32;

/** How long a durable write's answer waits for its flush at most while other batches run. */
const HOLD_MS = 1;

/** Answers of durable writes whose WAL is not flushed yet, and since when the first waits. */
let unflushed: WorkerReplies = [];
let unflushedSince = 0;

/** Batches posted and not yet run, in the order they were posted. */
const queued: (WorkerBatch | 'close')[] = [];
let running = false;

port.on('message', (message: WorkerBatch | 'close') => {
  queued.push(message);
  if (!running) void run();
});

/** Runs what is queued, in order, until the queue stays empty for SPIN_MS. */
async function run(): Promise<void> {
  running = true;
  try {
    for (;;) {
      takePosted();
      if (queued.length === 0 || performance.now() - unflushedSince >= HOLD_MS) flushHeld();
      if (queued.length === 0 && !spinForNext()) return;
      const next = queued.shift()!;
      if (next === 'close') {
        flushHeld();
        await pglite.close();
        wal.close();
        port.close();
        return;
      }
      const replies = next.joinable ? await handleGroup(next) : await handle(next);
      if (next.durable) hold(replies);
      else post(replies);
    }
  } finally {
    running = false;
  }
}

function isJoinable(batch: WorkerBatch | 'close' | undefined): boolean {
  return typeof batch === 'object' && batch.joinable === true;
}

/** Moves batches already posted (whose message events have not fired yet) to the queue. */
function takePosted(): void {
  for (let got = receiveMessageOnPort(port); got; got = receiveMessageOnPort(port)) queued.push(got.message as WorkerBatch | 'close');
}

/** Looks for a batch for SPIN_MS; whether one came. */
function spinForNext(): boolean {
  const until = performance.now() + SPIN_MS;
  while (performance.now() < until) {
    const got = receiveMessageOnPort(port);
    if (got) {
      queued.push(got.message as WorkerBatch | 'close');
      takePosted();
      return true;
    }
  }
  return false;
}

async function handle(batch: WorkerBatch): Promise<WorkerReplies> {
  try {
    const outputs: Uint8Array[][] = [];
    for (const bytes of batch.messages) outputs.push(await exchange(bytes));
    return [{ id: batch.id, outputs }];
  } catch (error) {
    return [{ id: batch.id, error: (error as Error).message }];
  }
}

async function handleEach(batches: WorkerBatch[]): Promise<WorkerReplies> {
  const replies: WorkerReplies = [];
  for (const batch of batches) replies.push(...(await handle(batch)));
  return replies;
}

const BEGIN = new Uint8Array(serialize.query('BEGIN'));
const COMMIT = new Uint8Array(serialize.query('COMMIT'));

/**
 * A joinable transaction and those queued behind it as one; each by itself when that one did not
 * commit. Those posted while the group runs join it too, up to its COMMIT: under a steady write
 * load most arrive one at a time, and groups of one or two paid a BEGIN and a COMMIT each
 * (6 000 small files by 8 clients: 2 557 commits before, 1 745 with late joiners; the server's
 * CPU per file 9–11% less once warm).
 */
async function handleGroup(first: WorkerBatch): Promise<WorkerReplies> {
  const group = [first];
  try {
    const begun = await exchange(BEGIN);
    const answers: Uint8Array[][][] = [];
    for (let i = 0; i < group.length; i++) {
      // Each one's own BEGIN and COMMIT are left out, and answered by the group's.
      const outputs: Uint8Array[][] = [];
      for (const bytes of group[i]!.messages.slice(1, -1)) outputs.push(await exchange(bytes));
      answers.push(outputs);
      takePosted();
      while (group.length < MAX_GROUP && isJoinable(queued[0])) group.push(queued.shift() as WorkerBatch);
    }
    const ended = await exchange(COMMIT);
    // ROLLBACK: a statement failed and rolled the whole group back.
    if (commandTag(ended) !== 'COMMIT') return await handleEach(group);
    return group.map((batch, i) => ({ id: batch.id, outputs: [begun, ...answers[i]!, ended] }));
  } catch (error) {
    return group.map((batch) => ({ id: batch.id, error: (error as Error).message }));
  }
}

function hold(replies: WorkerReplies): void {
  if (unflushed.length === 0) unflushedSince = performance.now();
  unflushed.push(...replies);
}

/** Flushes the WAL and posts the answers that waited for it; if the flush fails, each is that error. */
function flushHeld(): void {
  if (unflushed.length === 0) return;
  const replies = unflushed;
  unflushed = [];
  let failure: string | undefined;
  try {
    wal.flush();
  } catch (error) {
    failure = `the commit could not be made durable: ${(error as Error).message}`;
  }
  post(failure === undefined ? replies : replies.map((reply) => ({ id: reply.id, error: failure })));
}

function post(replies: WorkerReplies): void {
  // Moving a buffer costs more than copying a small one (most answers are a few hundred bytes).
  const moved = replies.flatMap((reply) => ('outputs' in reply ? reply.outputs.flat().filter((chunk) => chunk.byteLength >= MOVE_BYTES) : []));
  port.postMessage(replies, moved.map((chunk) => chunk.buffer as ArrayBuffer));
}

const COMMAND_COMPLETE = 0x43; // 'C'

/** The tag of the last CommandComplete in an answer (COMMIT, or ROLLBACK for an aborted transaction). */
function commandTag(chunks: readonly Uint8Array[]): string | undefined {
  const data = Buffer.concat(chunks);
  let tag: string | undefined;
  for (let offset = 0; offset + 5 <= data.length; offset += 1 + data.readInt32BE(offset + 1)) {
    if (data[offset] !== COMMAND_COMPLETE) continue;
    const end = data.indexOf(0, offset + 5);
    tag = data.toString('latin1', offset + 5, end);
  }
  return tag;
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
