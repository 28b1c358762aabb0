/**
 * The V8 flags the server runs with. V8 reads them only when it makes the heap, and Node.js takes
 * none of them from NODE_OPTIONS, so they are on the command line of every way the server is
 * started: package.json's `start` script and the Dockerfile's CMD (test/process.test.ts holds both
 * to this list), and the benchmark's and tests' server processes (test/helpers/process.ts).
 *
 * --initial-old-space-size=128: the old generation's allocation limit stays at 128 MB at least.
 * V8 counts the ArrayBuffers allocated since its last full collection against that limit, and
 * Node.js's HTTP parser copies every request-body chunk (64 KiB) into a new one. With the default
 * limit (~38 MB for a fresh server's ~15 MB heap) an upload began a full collection every ~32 MB:
 * 31 in a 1 GiB PUT, whose marking took ~1 s of CPU on V8's helper threads besides the serving
 * thread's share, and the upload ran at 254–337 MB/s against 342–482 with a 64 MB floor (3 fresh
 * servers each, 2 cores). The floor must leave room above the live heap, which the read cache
 * (up to 32 MB) and the parsed-object caches grow: after the benchmark's calendar and contact
 * workloads a 64 MB floor gave 344 MB/s in one run, 128 gave 683. The heap itself is not made
 * bigger: the limit only decides when garbage is collected.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/** Whether this process was started with SERVER_NODE_FLAGS. */
export function startedWithServerFlags(argv: readonly string[] = process.execArgv): boolean {
  return SERVER_NODE_FLAGS.every((flag) => argv.includes(flag));
}
