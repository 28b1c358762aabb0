/** The benchmark's HTTP client: keep-alive, one Authorization for every request, abortable. */
import http from 'node:http';
import net from 'node:net';
import { LeanPool } from './lean-http.js';

export interface Answer {
  status: number;
  text: string;
}

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Client {
  /** Sends a request and reads the answer as UTF-8 text. */
  request(method: string, url: string, options?: RequestOptions): Promise<Answer>;
  /** Streams `size` bytes as the body of a PUT and returns the status. */
  putStream(url: string, size: number, signal?: AbortSignal): Promise<number>;
  /** GETs `url`, counting the body's bytes without keeping them. */
  getCounted(url: string, signal?: AbortSignal): Promise<{ status: number; bytes: number }>;
  close(): void;
}

export function basicAuthorization(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

export function createClient(authorization: string): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  function send(method: string, url: string, headers: Record<string, string>, signal: AbortSignal | undefined, write: (req: http.ClientRequest) => void, read: (res: http.IncomingMessage) => void): void {
    write(http.request(url, { method, agent, signal, headers: { Authorization: authorization, ...headers } }, read));
  }

  // Requests with small bodies go through lean-http.ts (the load generator's CPU is the server's too).
  const pools = new Map<string, LeanPool>();
  const leanRequest = (method: string, target: URL, body: string | Buffer | undefined, headers: Record<string, string>, signal?: AbortSignal) => {
    let pool = pools.get(target.host);
    if (!pool) pools.set(target.host, (pool = new LeanPool(target.hostname, Number(target.port || 80), 16)));
    const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    return pool.request(method, target.pathname + target.search, { Host: target.host, Authorization: authorization, ...headers }, bytes, signal);
  };

  return {
    request: (method, url, { body, headers = {}, signal } = {}) => {
      const target = new URL(url);
      if (target.protocol === 'http:') return leanRequest(method, target, body, headers, signal);
      return new Promise((resolve, reject) => {
        send(method, url, headers, signal, (req) => {
          req.on('error', reject);
          req.end(body);
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
        });
      });
    },
    putStream: (url, size, signal) =>
      new Promise((resolve, reject) => {
        send('PUT', url, { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' }, signal, (req) => {
          req.on('error', reject);
          writeBody(req, size);
        }, (res) => {
          res.resume();
          res.on('error', reject);
          res.on('end', () => resolve(res.statusCode!));
        });
      }),
    getCounted: (url, signal) =>
      new URL(url).protocol === 'http:' ? getCountedRaw(url, authorization, signal) : new Promise((resolve, reject) => {
        send('GET', url, {}, signal, (req) => {
          req.on('error', reject);
          req.end();
        }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode!, bytes }));
        });
      }),
    close: () => {
      agent.destroy();
      for (const pool of pools.values()) pool.close();
    },
  };
}

/** Bytes per read of a counted GET's body. */
const READ_BYTES = 256 * 1024;

/**
 * A GET on a connection of its own, read into one reused buffer as curl reads. Node's HTTP client
 * allocates a buffer per 64 KiB read, and their garbage collection made this process, not the
 * server, the bound on a large download. Every byte still crosses the socket and is counted.
 */
function getCountedRaw(url: string, authorization: string, signal?: AbortSignal): Promise<{ status: number; bytes: number }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let status = 0;
    let length = -1;
    let bytes = 0;
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      signal?.removeEventListener('abort', abort);
      if (error) reject(error);
      else resolve({ status, bytes });
    };
    const abort = () => finish(signal!.reason);
    const socket = net.connect({
      host: target.hostname,
      port: Number(target.port || 80),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BYTES),
        // true: keep reading (false would pause the socket).
        callback: (read, buffer) => {
          count(read, buffer);
          return true;
        },
      },
    });
    const count = (read: number, buffer: Uint8Array) => {
      if (length >= 0) {
        bytes += read;
      } else {
        head = Buffer.concat([head, buffer.subarray(0, read)]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
        const declared = lines.find((line) => /^content-length:/i.test(line));
        if (!declared) return finish(new Error(`GET ${url}: answer without Content-Length`));
        length = Number(declared.slice(declared.indexOf(':') + 1));
        bytes = head.length - end - 4;
      }
      if (bytes >= length) finish();
    };
    signal?.addEventListener('abort', abort, { once: true });
    socket.on('connect', () => socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`));
    socket.on('error', finish);
    // Closed early: what arrived is counted, and the caller sees the shortfall.
    socket.on('close', () => finish());
  });
}

/** Writes `size` bytes in 1 MiB chunks, honouring back-pressure, then ends the request. */
function writeBody(req: http.ClientRequest, size: number): void {
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      const part = Math.min(chunk.length, size - sent);
      sent += part;
      if (!req.write(part === chunk.length ? chunk : chunk.subarray(0, part))) return void req.once('drain', pump);
    }
    req.end();
  };
  pump();
}

/** Runs `work` for every item with `clients` concurrent workers. */
export async function inParallel<T>(items: readonly T[], clients: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < items.length; i = next++) await work(items[i]!, i);
    }),
  );
}
