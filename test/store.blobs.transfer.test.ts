/**
 * Moving bodies in and out of the blob store: staging in batched writes, sending from reused
 * buffers, and folders synced and kept open across uploads.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline, Readable, Writable } from 'node:stream';
import { after, test } from 'node:test';
import { FileBlobStore } from '../src/store/blobs.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-blobs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const blobs = new FileBlobStore(root);
const USER = 7;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const fileOf = (sha: string) => path.join(root, String(USER), sha.slice(0, 2), sha);

/** `data` as a request body arriving in uneven chunks. */
function chunked(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, step = 1; at < data.length; at += step, step = (step * 7 + 13) % 200_000 + 1) chunks.push(data.subarray(at, at + step));
  return Readable.from(chunks);
}

/** A sink that keeps what it is given, taking each write after a delay like a slow socket. */
function collector(): Writable & { received(): Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(Buffer.from(chunk)); // copied: the sender reuses its buffers once this calls back
      setImmediate(done);
    },
  });
  return Object.assign(sink, { received: () => Buffer.concat(parts) });
}

test('a body many times the pending bound is staged whole, in order, with its hash', async () => {
  const data = randomBytes(9 * 1024 * 1024 + 12_345);
  const staged = await blobs.stage(USER, chunked(data), data.length);
  assert.equal(staged.size, data.length);
  assert.equal(staged.sha256, sha256(data));
  await blobs.publish(USER, staged);
  await staged.discard();
  assert.ok(fs.readFileSync(fileOf(staged.sha256)).equals(data));
  assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')), []);
});

/** Pipes a stored body into `sink` and waits until the sink has been ended. */
async function piped(stream: Readable, sink: Writable): Promise<void> {
  const done = once(sink, 'finish');
  stream.pipe(sink);
  await done;
}

test('a body is sent whole and by range through a slow sink, across several read buffers', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 777);
  const staged = await blobs.stage(USER, Readable.from([data]), data.length);
  await blobs.publish(USER, staged);
  await staged.discard();

  const whole = collector();
  await piped(blobs.open(USER, staged.sha256), whole);
  assert.ok(whole.received().equals(data));

  const range = { start: 1_000_000, end: 2_500_000 };
  const part = collector();
  await piped(blobs.open(USER, staged.sha256, range), part);
  assert.ok(part.received().equals(data.subarray(range.start, range.end + 1)));

  // Read rather than piped: the same bytes.
  const read: Buffer[] = [];
  for await (const chunk of blobs.open(USER, staged.sha256, range)) read.push(chunk as Buffer);
  assert.ok(Buffer.concat(read).equals(data.subarray(range.start, range.end + 1)));
});

/** Serves `open()` of one body as HTTP responses, as Koa does (stream.pipeline into the response). */
async function serveBody(open: () => Readable, onClosed?: (stream: Readable, error: unknown) => void) {
  const server = http.createServer((_req, res) => {
    const stream = open();
    pipeline(stream, res, (error) => onClosed?.(stream, error));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('into an HTTP response the body goes whole through the reused buffers, read slowly by the client', async () => {
  const data = randomBytes(5 * 1024 * 1024 + 4321);
  const staged = await blobs.stage(USER, Readable.from([data]), data.length);
  await blobs.publish(USER, staged);
  await staged.discard();
  const served = await serveBody(() => blobs.open(USER, staged.sha256));
  try {
    const received: Buffer[] = [];
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(served.url, resolve).on('error', reject));
    // A slow reader: the server must wait for the socket before reusing a buffer.
    for await (const chunk of response) {
      received.push(Buffer.from(chunk as Buffer));
      if (received.length % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.ok(Buffer.concat(received).equals(data));
  } finally {
    await served.close();
  }
});

test('a client that goes away mid-body ends the sending without an error, and the file is closed', async () => {
  const data = randomBytes(64 * 1024 * 1024);
  const staged = await blobs.stage(USER, Readable.from([data]), data.length);
  await blobs.publish(USER, staged);
  await staged.discard();
  let closed: (value: { stream: Readable; error: unknown }) => void = () => {};
  const ended = new Promise<{ stream: Readable; error: unknown }>((resolve) => (closed = resolve));
  const served = await serveBody(() => blobs.open(USER, staged.sha256), (stream, error) => closed({ stream, error }));
  try {
    await new Promise<void>((resolve, reject) => {
      const request = http.get(served.url, (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve() : reject(error)));
    });
    const { stream } = await ended;
    if (!stream.closed) await once(stream, 'close');
    assert.ok(stream.destroyed);
  } finally {
    await served.close();
  }
});

test('a missing body is an error of the stream, before anything is sent', async () => {
  const sink = collector();
  const stream = blobs.open(USER, 'f'.repeat(64));
  stream.pipe(sink);
  const [error] = (await once(stream, 'error')) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'ENOENT');
  assert.equal(sink.received().length, 0);
});

test('more large uploads at once than the aligned blocks serve: each is staged whole with its hash, past the cache or through it', async () => {
  // 12 bodies of 5 MiB and a bit, arriving interleaved: the pool serves 4 at once, the rest take the buffered writer.
  const bodies = Array.from({ length: 12 }, () => randomBytes(5 * 1024 * 1024 + 4321));
  const staged = await Promise.all(bodies.map((data) => blobs.stage(USER, chunked(data), data.length)));
  for (const [i, data] of bodies.entries()) {
    assert.equal(staged[i]!.size, data.length);
    assert.equal(staged[i]!.sha256, sha256(data));
    await blobs.publish(USER, staged[i]!);
    await staged[i]!.discard();
    assert.ok(fs.readFileSync(fileOf(sha256(data))).equals(data));
  }
  assert.deepEqual(fs.readdirSync(path.join(root, 'tmp')), []);
});

test('concurrent uploads into the same folders all land; a removed user starts afresh', async () => {
  const bodies = Array.from({ length: 40 }, (_, i) => Buffer.from(`body ${i % 10}`)); // duplicates on purpose
  await Promise.all(
    bodies.map(async (body) => {
      const staged = await blobs.stage(USER, Readable.from([body]), 100);
      await blobs.publish(USER, staged);
      await staged.discard();
    }),
  );
  for (const body of bodies) assert.equal(fs.readFileSync(fileOf(sha256(body)), 'utf8'), body.toString());

  // The folders were made and kept open by the uploads above; they go with the user.
  await blobs.removeUser(USER);
  assert.equal(fs.existsSync(path.join(root, String(USER))), false);
  const staged = await blobs.stage(USER, Readable.from([bodies[0]!]), 100);
  await blobs.publish(USER, staged);
  await staged.discard();
  assert.equal(fs.readFileSync(fileOf(staged.sha256), 'utf8'), 'body 0');
});
