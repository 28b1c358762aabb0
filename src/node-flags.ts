/**
 * The V8 flags the server runs with. V8 reads them only when it makes the heap, and Node.js takes
 * none of them from NODE_OPTIONS, so they are on the command line of every way the server is
 * started: package.json's `start` script and the Dockerfile's CMD (test/process.test.ts holds both
 * to this list), and the benchmark's and tests' server processes (test/helpers/process.ts).
 *
 * --initial-old-space-size=64: the old generation's allocation limit stays at 64 MB at least.
 * V8 counts the ArrayBuffers allocated since its last full collection against that limit, and
 * Node.js's HTTP parser copies every request-body chunk (64 KiB) into a new one. With the default
 * limit (~38 MB for a fresh server's ~15 MB heap) an upload began a full collection every ~32 MB:
 * 31 in a 1 GiB PUT, whose marking took ~1 s of CPU on V8's helper threads besides the serving
 * thread's share, and the upload ran at 254–337 MB/s against 342–482 with the flag (3 fresh
 * servers each, 2 cores). The floor is a trade: the chunks that outlive two young collections
 * wait in the old generation for the next full one, so a higher floor holds more of them. After
 * the benchmark's calendar and contact workloads (which grow the live heap: the read cache, the
 * parsed-object caches) a 1 GiB PUT ran at 555–610 MB/s with 64 (once 344), 665–734 with 128 or
 * 96, but the resident memory it added on PostgreSQL went from 42–57 MB to 68–82, past the 64 MB
 * the issue allows.
 *
 * --no-liftoff: the embedded store's WebAssembly (PostgreSQL, 9 MB) is compiled by V8's optimizing
 * compiler when a function first runs, not first by its baseline compiler and then again when
 * hot. The baseline code of every function PostgreSQL had run stayed resident beside the
 * optimized code of the hot ones: an idle embedded server held 252–295 MB with it, 211–233
 * without (six starts each, AMD EPYC, 2 cores), and the benchmark's peak went from 450–463 MB to
 * 360–371 with every row within this machine's spread (two interleaved pairs). It costs start-up
 * time, compiling each function well at its first call: a restart took 3.5–4.6 s against 2.0, a
 * first start (initdb) 10.4–11.9 s against 8.0–8.7. On PostgreSQL (DATABASE_URL) nothing runs as
 * WebAssembly and the flag changes nothing.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64', '--no-liftoff'];

/** Whether this process was started with SERVER_NODE_FLAGS. */
export function startedWithServerFlags(argv: readonly string[] = process.execArgv): boolean {
  return SERVER_NODE_FLAGS.every((flag) => argv.includes(flag));
}
