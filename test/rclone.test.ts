import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from './helpers/server.js';
import { toolSkip } from './helpers/tools.js';

const skip = toolSkip('rclone');
let server: TestServer;
let work: string;
const run = promisify(execFile);

before(async () => {
  if (skip) return;
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-rclone-'));
});
after(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function rclone(...args: string[]): Promise<string> {
  const user = server.users[0]!;
  const { stdout: obscured } = await run('rclone', ['obscure', user.password]);
  const env = {
    ...process.env,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_DAV_TYPE: 'webdav',
    RCLONE_CONFIG_DAV_VENDOR: 'other',
    RCLONE_CONFIG_DAV_URL: server.at(`/dav/files/${user.name}/`),
    RCLONE_CONFIG_DAV_USER: user.name,
    RCLONE_CONFIG_DAV_PASS: obscured.trim(),
  };
  const { stdout, stderr } = await run('rclone', [...args, '--retries', '1', '--low-level-retries', '1'], { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout + stderr;
}

/** 200 MiB of varied bytes, written in 1 MiB steps (never held whole). */
function writeLargeFile(file: string, mebibytes: number): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mebibytes; i++) {
    for (let j = 0; j < block.length; j += 4) block.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
    fs.writeSync(fd, block);
    hash.update(block);
  }
  fs.closeSync(fd);
  return hash.digest('hex');
}

test('rclone copies a tree with Unicode names and a 200 MiB file; rclone check finds no difference', { skip, timeout: 600_000 }, async () => {
  const tree = path.join(work, 'tree');
  const names = ['Ünïcødé', 'spaces and % signs', '日本語', 'emoji 🎉', 'CON', 'a:b'];
  for (const [i, name] of names.entries()) {
    const dir = path.join(tree, name, `sub ${i}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `fïle ${i}.txt`), `content ${i} ${name}\n`.repeat(i + 1));
    fs.writeFileSync(path.join(tree, name, 'empty'), '');
  }
  const sha = writeLargeFile(path.join(tree, 'large.bin'), 200);

  await rclone('copy', tree, 'dav:tree');
  const check = await rclone('check', tree, 'dav:tree', '--download');
  assert.match(check, /0 differences found/);

  const res = await server.request('GET', `/dav/files/alice/tree/large.bin`);
  const hash = createHash('sha256');
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  assert.equal(hash.digest('hex'), sha);

  // A second sync changes nothing; a rename on the server is seen by check.
  await rclone('moveto', 'dav:tree/日本語', 'dav:tree/日本語 renamed');
  const after = await rclone('check', tree, 'dav:tree').catch((error: { stdout?: string; stderr?: string }) => `${error.stdout}${error.stderr}`);
  assert.match(after, /differences found/);
  assert.doesNotMatch(after, /\b0 differences found/);
  await rclone('purge', 'dav:tree');
  assert.equal((await server.request('PROPFIND', '/dav/files/alice/tree/', { headers: { Depth: '0' } })).status, 404);
});
