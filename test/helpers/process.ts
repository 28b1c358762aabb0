/**
 * Davenport as a separate process (src/main.ts), for tests that kill it, measure its memory
 * or start two of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../src/node-flags.js';
import type { ProbedMemory } from './memory-probe.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const MEMORY_PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resident memory in bytes, read from /proc. */
  rss(): number;
  /** After a full garbage collection in the server; only when spawned with `memoryProbe`. */
  memoryAfterCollection(): Promise<ProbedMemory>;
  /** Full collections (mark-compact) of the serving thread's heap so far; only with `memoryProbe`. */
  fullCollections(): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnResult {
  code: number | null;
  output: string;
}

export interface SpawnOptions {
  timeoutMs?: number;
  /** A compiled main.js to run as it is; the TypeScript source through tsx by default. */
  entry?: string;
  /** Preload test/helpers/memory-probe.ts, for `memoryAfterCollection` and `fullCollections`. */
  memoryProbe?: boolean;
  /** The V8 flags to start it with: those of `npm start` unless told (src/node-flags.ts). */
  nodeFlags?: readonly string[];
}

function launch(env: Record<string, string>, options: SpawnOptions = {}): { child: ChildProcess; output: () => string } {
  const probe = options.memoryProbe ? ['--expose-gc', '--import', MEMORY_PROBE] : [];
  // tsx runs the TypeScript source, and the probe, which is TypeScript too.
  const tsx = !options.entry || options.memoryProbe ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeFlags ?? SERVER_NODE_FLAGS), ...tsx, ...probe, options.entry ?? MAIN], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.memoryProbe ? (['ipc'] as const) : [])],
  });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  return { child, output: () => text };
}

/** Starts the server and waits until it listens. */
export async function spawnServer(env: Record<string, string>, options: SpawnOptions = {}): Promise<ServerProcess> {
  const { timeoutMs = 60_000 } = options;
  const { child, output } = launch(env, options);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output()}`)), timeoutMs);
    const check = () => {
      const match = /listening on (http:\/\/[\d.:]+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output()}`));
    });
  });
  const ask = <T>(question: string): Promise<T> => {
    if (!options.memoryProbe) return Promise.reject(new Error('spawned without the memory probe'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the memory probe did not answer in 30 s')), 30_000);
      child.once('message', (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      child.send(question);
    });
  };
  return {
    child,
    url,
    output,
    rss() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    memoryAfterCollection: () => ask<ProbedMemory>('memory'),
    fullCollections: () => ask<number>('full-collections'),
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}

/** Runs the server expecting it to exit by itself (e.g. refused start-up). */
export async function runServerToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<SpawnResult> {
  const { child, output } = launch(env);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not exit:\n${output()}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output() });
    });
  });
}

/** Writes `size` bytes to a request in 1 MiB chunks, honouring back-pressure, then ends it. */
export function writeBody(req: http.ClientRequest, size: number): void {
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      sent += chunk.length;
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
    req.end();
  };
  pump();
}
