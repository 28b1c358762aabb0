/** The benchmark's HTTP client: keep-alive, one Authorization for every request, abortable. */
import http from 'node:http';

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

  return {
    request: (method, url, { body, headers = {}, signal } = {}) =>
      new Promise((resolve, reject) => {
        send(method, url, headers, signal, (req) => {
          req.on('error', reject);
          req.end(body);
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
        });
      }),
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
      new Promise((resolve, reject) => {
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
    close: () => agent.destroy(),
  };
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
