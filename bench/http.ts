/** What the benchmarks share: a keep-alive text client, medians and repeated timings. */
import http from 'node:http';

export type Row = [string, string];

export interface TextClient {
  request(url: string, method: string, body?: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  close(): void;
}

/** An HTTP client sending `authorization` on every request, reading answers as text. */
export function textClient(authorization: string): TextClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  return {
    request: (url, method, body, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = http.request(url, { method, agent, headers: { Authorization: authorization, ...headers } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** The median time of `runs` runs of `work`, in milliseconds. */
export async function timedRuns(runs: number, work: () => Promise<void>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    ms.push(performance.now() - started);
  }
  return median(ms);
}
