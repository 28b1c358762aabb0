import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CheckpointSync, WalSync } from '../src/store/durability.js';
import { spawnServer } from './helpers/process.js';
import { basicAuthorization } from './helpers/server.js';
import { toolSkip } from './helpers/tools.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A data directory shaped like PostgreSQL's: two WAL segments (one old, recycled), pg_control, a table file. */
function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-wal-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'pg_wal'));
  fs.mkdirSync(path.join(dir, 'global'));
  fs.mkdirSync(path.join(dir, 'base', '5'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'pg_wal', '000000010000000000000001'), 'current');
  fs.writeFileSync(path.join(dir, 'pg_wal', '000000010000000000000002'), 'recycled');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(dir, 'pg_wal', '000000010000000000000002'), old, old);
  fs.writeFileSync(path.join(dir, 'global', 'pg_control'), 'control');
  fs.writeFileSync(path.join(dir, 'base', '5', '1259'), 'table');
  return dir;
}

/** WalSync's calls, recorded (and made, so that a descriptor passed is known to be open). */
function recorder() {
  const synced: string[] = [];
  return {
    synced,
    calls: {
      segment: (file: string, fd: number) => {
        fs.fdatasyncSync(fd);
        synced.push(file);
      },
      directory: (dir: string) => void synced.push(dir),
    },
  };
}

test('a flush syncs the WAL segments written lately; segments not written since are left alone', () => {
  const dir = dataDir();
  const { synced, calls } = recorder();
  const wal = new WalSync(dir, calls);
  wal.flush(); // the first flush syncs every segment and learns the directory
  assert.deepEqual(synced, [path.join(dir, 'pg_wal', '000000010000000000000001'), path.join(dir, 'pg_wal', '000000010000000000000002'), path.join(dir, 'pg_wal')]);
  synced.length = 0;
  fs.appendFileSync(path.join(dir, 'pg_wal', '000000010000000000000001'), 'commit');
  wal.flush();
  assert.deepEqual(synced, [path.join(dir, 'pg_wal', '000000010000000000000001')]);
  wal.close();
});

test('a new WAL segment makes the directory entry durable', () => {
  const dir = dataDir();
  const { synced, calls } = recorder();
  const wal = new WalSync(dir, calls);
  wal.flush();
  synced.length = 0;
  fs.writeFileSync(path.join(dir, 'pg_wal', '000000010000000000000003'), 'next');
  wal.flush();
  assert.ok(synced.includes(path.join(dir, 'pg_wal', '000000010000000000000003')));
  assert.ok(synced.includes(path.join(dir, 'pg_wal')));
  wal.close();
});

test('a failed sync is thrown, and the segment is opened again for the next flush', () => {
  const dir = dataDir();
  const segment = path.join(dir, 'pg_wal', '000000010000000000000001');
  const descriptors: number[] = [];
  let fail = true;
  const wal = new WalSync(dir, {
    segment: (file, fd) => {
      if (file !== segment) return;
      descriptors.push(fd);
      if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    },
    directory: () => {},
  });
  assert.throws(() => wal.flush(), /EIO/);
  fail = false;
  fs.appendFileSync(segment, 'commit');
  wal.flush();
  assert.equal(descriptors.length, 2);
  // The first descriptor was closed: the second is a new open of the file.
  assert.equal(fs.readlinkSync(`/proc/self/fd/${descriptors[1]}`), segment);
  wal.close();
});

test('WAL segments are synced through descriptors kept open, opened again when a name holds a new file', () => {
  const dir = dataDir();
  const segment = path.join(dir, 'pg_wal', '000000010000000000000001');
  // This process's open descriptors on the segment, by what they point to.
  const heldOn = () =>
    fs
      .readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return ''; // the listing's own descriptor, closed by now
        }
      })
      .filter((target) => target.startsWith(segment));
  const wal = new WalSync(dir);
  wal.flush();
  fs.appendFileSync(segment, 'commit');
  wal.flush();
  assert.deepEqual(heldOn(), [segment]);
  // Recycled: another file under the same name; the old one's descriptor is closed.
  fs.rmSync(segment);
  fs.writeFileSync(segment, 'recycled');
  wal.flush();
  assert.deepEqual(heldOn(), [segment]);
  // Removed: its descriptor is closed at the next flush.
  fs.rmSync(segment);
  wal.flush();
  assert.deepEqual(heldOn(), []);
  wal.close();
  assert.deepEqual(
    fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(path.join(dir, 'pg_wal'));
      } catch {
        return false;
      }
    }),
    [],
  );
});

test('after a checkpoint (pg_control rewritten) every data file is synced; commits before it sync nothing', async () => {
  const dir = dataDir();
  const synced: string[] = [];
  const checkpoints = new CheckpointSync(dir, async (file) => void synced.push(file));
  checkpoints.noteCommit();
  await checkpoints.syncAll();
  assert.ok(synced.length > 0);
  synced.length = 0;
  checkpoints.noteCommit();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(synced.length, 0, 'no checkpoint, no sync');
  const later = new Date(Date.now() + 5_000);
  fs.utimesSync(path.join(dir, 'global', 'pg_control'), later, later);
  checkpoints.noteCommit();
  await checkpoints.syncAll(); // queued behind the background sync the checkpoint started
  assert.ok(synced.includes(path.join(dir, 'base', '5', '1259')));
  assert.ok(synced.includes(path.join(dir, 'base', '5')));
  // The background sync and the one asked for: the table file twice.
  assert.equal(synced.filter((f) => f === path.join(dir, 'base', '5', '1259')).length, 2);
});

test('an embedded write is answered after the database thread flushed its WAL; concurrent writes share flushes', { skip: toolSkip('strace'), timeout: 120_000 }, async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-wal-server-'));
  dirs.push(data);
  // DATABASE_URL empty: the embedded store, also when the suite runs on PostgreSQL.
  const server = await spawnServer({ DATA_DIR: data, DATABASE_URL: '' });
  const trace = path.join(data, 'strace.txt');
  try {
    const auth = basicAuthorization('admin', /password: (\S+)/.exec(server.output())![1]!);
    const put = (name: string) => fetch(`${server.url}/dav/files/admin/${name}`, { method: 'PUT', headers: { authorization: auth }, body: `${name} `.repeat(100) });
    assert.equal((await put('warm-up.txt')).status, 201);
    // Every thread of the server: its socket reads and writes, and its fdatasync calls, with the files' paths.
    const strace = spawn('strace', ['-f', '-qq', '-y', '-s', '40', '-e', 'trace=read,write,writev,pwrite64,fdatasync', '-o', trace, '-p', String(server.child.pid)], { stdio: 'ignore' });
    const stopped = new Promise((resolve) => strace.once('exit', resolve));
    try {
      // Attached once a syscall of the server shows up (a read of this request).
      for (let i = 0; !fs.existsSync(trace) || !fs.readFileSync(trace, 'utf8').includes('GET /'); i++) {
        assert.ok(i < 200, 'strace did not attach');
        await fetch(`${server.url}/`, { headers: { authorization: auth } });
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal((await put('alone.txt')).status, 201);
      // Eight clients (a user's uploads at once, MAX_UPLOADS_PER_USER), four PUTs each.
      const statuses: number[] = [];
      await Promise.all(Array.from({ length: 8 }, async (_, client) => {
        for (let i = 0; i < 4; i++) statuses.push((await put(`together-${client}-${i}.txt`)).status);
      }));
      assert.deepEqual(new Set(statuses), new Set([201]));
    } finally {
      strace.kill('SIGINT');
      await stopped;
    }
    const lines = fs.readFileSync(trace, 'utf8').split('\n');
    const walFlushed = (line: string) => /fdatasync\(\d+<[^>]*\/pg_wal\/[0-9A-F]{24}>/.test(line) || /<\.\.\. fdatasync resumed>/.test(line);
    const flushed = lines.flatMap((line, i) => (walFlushed(line) && / = 0$/.test(line) ? [i] : []));
    const request = lines.findIndex((line) => line.includes('"PUT /dav/files/admin/alone.txt'));
    const answered = lines.findIndex((line, i) => i > request && /^\d+ +writev?\(\d+<(socket|TCP)/.test(line) && line.includes('HTTP/1.1 201'));
    assert.ok(request >= 0 && answered > request, 'the PUT and its answer are in the trace');
    assert.ok(flushed.some((i) => i > request && i < answered), 'a WAL flush between the request and its answer');
    // The flush ran on the database thread: the one that wrote the WAL, not the one that answered.
    const thread = (i: number) => lines[i]!.split(' ')[0];
    const flushedBefore = flushed.filter((i) => i > request && i < answered).at(-1)!;
    const walWriters = new Set(lines.flatMap((line, i) => (/^\d+ +pwrite64\(\d+<[^>]*\/pg_wal\//.test(line) ? [thread(i)] : [])));
    assert.deepEqual([...walWriters], [thread(flushedBefore)]);
    assert.notEqual(thread(flushedBefore), thread(answered));
    const concurrent = flushed.filter((i) => i > answered).length;
    assert.ok(concurrent >= 1 && concurrent < 32, `${concurrent} WAL flushes for 32 PUTs by 8 clients`);
  } finally {
    await server.stop();
  }
});
