/**
 * The benchmark's lean HTTP client (bench/lean-http.ts) against answers framed every way
 * RFC 9112 §6.3 allows, written by a raw server in pieces as a slow network would deliver them.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { LeanPool } from '../bench/lean-http.js';

/** Answers by request path; each is written in 3-byte pieces. */
const ANSWERS: Record<string, string> = {
  '/length': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  '/chunked': 'HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n6\r\npedia \r\n0\r\nTrailer: x\r\n\r\n',
  '/continue': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
  '/empty': 'HTTP/1.1 204 No Content\r\n\r\n',
  '/close': 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end',
  '/http10': 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/garbage': 'SMTP ready\r\n\r\n',
};

let server: net.Server;
let port: number;
let connections = 0;
const bodies: string[] = [];

before(async () => {
  server = net.createServer((socket) => {
    connections++;
    let buffered = '';
    socket.on('data', async (data) => {
      buffered += data.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const path = buffered.split(' ')[1]!;
        bodies.push(buffered.slice(end + 4, end + 4 + length));
        buffered = buffered.slice(end + 4 + length);
        const answer = ANSWERS[path]!;
        for (let i = 0; i < answer.length; i += 3) {
          socket.write(answer.slice(i, i + 3), 'latin1');
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (path === '/close' || path === '/http10' || path === '/garbage') socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('answers framed by length, chunks, interim answers, no body and the close all read whole; kept connections are reused', async () => {
  const pool = new LeanPool('127.0.0.1', port, 2);
  const ask = (path: string, body?: string) => pool.request('PUT', path, { Host: 'x' }, body === undefined ? undefined : Buffer.from(body));
  assert.deepEqual(await ask('/length', 'abc'), { status: 200, text: 'hello' });
  assert.deepEqual(await ask('/chunked'), { status: 207, text: 'wikipedia ' });
  assert.deepEqual(await ask('/continue', 'x'.repeat(10_000)), { status: 201, text: '' });
  assert.deepEqual(await ask('/empty'), { status: 204, text: '' });
  assert.equal(connections, 1, 'one connection served the answers that keep it');
  assert.deepEqual(await ask('/close'), { status: 200, text: 'until the end' });
  assert.deepEqual(await ask('/http10'), { status: 200, text: 'ok' });
  assert.deepEqual(await ask('/length'), { status: 200, text: 'hello' });
  assert.equal(connections, 3, 'a new connection after each answer that closed one');
  assert.deepEqual(bodies.slice(0, 3), ['abc', '', 'x'.repeat(10_000)]);
  // Many at once share the pool's two connections.
  const many = await Promise.all(Array.from({ length: 20 }, () => ask('/chunked')));
  assert.ok(many.every((a) => a.text === 'wikipedia '));
  assert.ok(connections <= 5, `${connections} connections`);
  await assert.rejects(ask('/garbage'), /not an HTTP answer/);
  pool.close();
});
