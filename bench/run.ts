/**
 * npm run bench — file and calendar figures on this machine, against a Davenport process of its own.
 * BENCH_EVENTS and BENCH_CARDS set the sizes (10 000 events, 5 000 cards); BENCH_ONLY=caldav or
 * carddav runs that part alone.
 * Rows match ../shared/PEERS.md where a peer was measured. TEST_DATABASE_URL runs it on PostgreSQL.
 */
import http from 'node:http';
import os from 'node:os';
import { basicAuthorization } from '../test/helpers/server.js';
import { spawnServer, writeBody, type ServerProcess } from '../test/helpers/process.js';
import { createTestLocation } from '../test/helpers/store.js';
import { caldavBench } from './caldav.js';
import { median } from './http.js';
import { carddavBench } from './carddav.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(url: string, method: string, auth: string, body?: Buffer | ((req: http.ClientRequest) => void), headers: Record<string, string> = {}): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { Authorization: auth, ...headers } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode!, bytes }));
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req);
    else req.end(body);
  });
}

function streamBody(size: number) {
  return (req: http.ClientRequest) => writeBody(req, size);
}


async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const location = await createTestLocation();
  const server = await spawnServer({ DATA_DIR: location.dataDir, LOG_LEVEL: 'warn', ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}) });
  const auth = basicAuthorization('admin', /password: (\S+)/.exec(server.output())![1]!);
  const base = `${server.url}/dav/files/admin/`;
  const rows: Array<[string, string]> = [];
  try {
    if (!process.env.BENCH_ONLY) await fileBench(base, auth, server, rows);
    if (process.env.BENCH_ONLY !== 'carddav') rows.push(...(await caldavBench(server.url, auth, Number(process.env.BENCH_EVENTS ?? 10_000))));
    if (process.env.BENCH_ONLY !== 'caldav') rows.push(...(await carddavBench(server.url, auth, Number(process.env.BENCH_CARDS ?? 5_000))));
  } finally {
    await server.stop();
    await location.remove();
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Davenport benchmarks — ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, store: ${location.databaseUrl ? 'PostgreSQL' : 'PGlite'}, loopback`);
  for (const [name, value] of rows) console.log(`${name.padEnd(60)} ${value}`);
}

/** Files: 1 GiB streamed both ways, many small files, a folder listed and moved. */
async function fileBench(base: string, auth: string, server: ServerProcess, rows: Array<[string, string]>): Promise<void> {
  {
    const idle = server.rss();
    const GIB = 1024 ** 3;
    const putMs: number[] = [];
    const getMs: number[] = [];
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 20);
    for (let i = 0; i < 3; i++) {
      putMs.push(await timed(async () => void (await request(base + 'big.bin', 'PUT', auth, streamBody(GIB), { 'Content-Length': String(GIB) }))));
      getMs.push(await timed(async () => void (await request(base + 'big.bin', 'GET', auth))));
    }
    clearInterval(sampler);
    rows.push(['1 GiB PUT / GET (MB/s, median of 3)', `${(GIB / 1e6 / (median(putMs) / 1000)).toFixed(0)} / ${(GIB / 1e6 / (median(getMs) / 1000)).toFixed(0)}`]);
    rows.push(['resident memory: idle / peak during 1 GiB transfers (MiB)', `${(idle / 2 ** 20).toFixed(0)} / ${(peak / 2 ** 20).toFixed(0)}`]);

    await request(base + 'many', 'MKCOL', auth);
    const small = Buffer.alloc(4096, 0x62);
    let next = 0;
    const putMany = await timed(async () => {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < 2000; i = next++) {
            const { status } = await request(`${base}many/f${i}.txt`, 'PUT', auth, Buffer.concat([small, Buffer.from(String(i))]));
            if (status !== 201) throw new Error(`PUT answered ${status}`);
          }
        }),
      );
    });
    rows.push(['2 000 × 4 KiB PUT, 8 clients (files/s)', (2000 / (putMany / 1000)).toFixed(0)]);

    const propfindMs: number[] = [];
    for (let i = 0; i < 5; i++) propfindMs.push(await timed(async () => void (await request(base + 'many/', 'PROPFIND', auth, undefined, { Depth: '1' }))));
    rows.push(['PROPFIND Depth 1 on 2 000 files (ms, median of 5)', median(propfindMs).toFixed(1)]);

    const moveMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [from, to] = i % 2 === 0 ? ['many', 'moved'] : ['moved', 'many'];
      moveMs.push(await timed(async () => {
        const { status } = await request(base + from + '/', 'MOVE', auth, undefined, { Destination: base + to + '/' });
        if (status !== 201) throw new Error(`MOVE answered ${status}`);
      }));
    }
    rows.push(['MOVE of a 2 000-file folder (ms, median of 5)', median(moveMs).toFixed(1)]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
