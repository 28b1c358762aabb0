/**
 * Preloaded (`--import`) into a server spawned with `--expose-gc` and an IPC channel: asked
 * "memory", it collects garbage fully and answers a ProbedMemory; asked "full-collections", it
 * answers how many mark-compacts the serving thread's heap has had (its own included). Resident
 * memory moves by tens of megabytes with the heap's ebb and flow and malloc's arenas; the heap that survives a full
 * collection grows only with what the process keeps, so a leak shows there. Compiled code is
 * counted apart: V8 goes on optimizing hot functions long after a warm-up (heap snapshots of a
 * load run showed all of its growth in code objects).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The serving thread's memory; the embedded database's thread shows only in resident memory. */
export interface ProbedMemory extends NodeJS.MemoryUsage {
  /** Of heapUsed, the bytes in V8's code spaces. */
  codeUsed: number;
}

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('the memory probe needs node --expose-gc');

function codeUsed(): number {
  return v8
    .getHeapSpaceStatistics()
    .filter((space) => space.space_name.startsWith('code_'))
    .reduce((sum, space) => sum + space.space_used_size, 0);
}

let fullCollections = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullCollections++;
}).observe({ entryTypes: ['gc'] });

process.on('message', (message) => {
  if (message === 'full-collections') return void process.send!(fullCollections);
  if (message !== 'memory') return;
  // Two passes: the first may only queue finalizers whose objects the second frees.
  collect();
  collect();
  const usage: ProbedMemory = { ...process.memoryUsage(), codeUsed: codeUsed() };
  process.send!(usage);
});
// The channel must not keep the server alive once it is told to stop.
process.channel?.unref();
