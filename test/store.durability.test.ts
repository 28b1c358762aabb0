import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { WalFlusher } from '../src/store/durability.js';

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

function recorder() {
  const synced: string[] = [];
  return { synced, sync: async (file: string) => void synced.push(file) };
}

test('a commit waits for its WAL segment; segments not written lately are left alone', async () => {
  const dir = dataDir();
  const { synced, sync } = recorder();
  const wal = new WalFlusher(dir, sync, sync);
  await wal.flush(); // the first round syncs every segment and learns the directory
  synced.length = 0;
  fs.appendFileSync(path.join(dir, 'pg_wal', '000000010000000000000001'), 'commit');
  await wal.flush();
  assert.deepEqual(synced, [path.join(dir, 'pg_wal', '000000010000000000000001')]);
});

test('group commit: commits that finish while a flush runs share the next one', async () => {
  const dir = dataDir();
  let rounds = 0;
  let release: () => void = () => {};
  const sync = async (file: string) => {
    if (file.endsWith('000000010000000000000001')) {
      rounds++;
      await new Promise<void>((r) => (release = r));
    }
  };
  const wal = new WalFlusher(dir, sync, sync);
  const roundsReach = async (n: number) => {
    while (rounds < n) await new Promise((r) => setTimeout(r, 5));
  };
  const first = wal.flush();
  await roundsReach(1);
  const waiting = Array.from({ length: 10 }, () => wal.flush());
  release();
  await first;
  await roundsReach(2);
  release();
  await Promise.all(waiting);
  assert.equal(rounds, 2);
});

test('a new WAL segment makes the directory entry durable', async () => {
  const dir = dataDir();
  const { synced, sync } = recorder();
  const wal = new WalFlusher(dir, sync, sync);
  await wal.flush();
  synced.length = 0;
  fs.writeFileSync(path.join(dir, 'pg_wal', '000000010000000000000003'), 'next');
  await wal.flush();
  assert.ok(synced.includes(path.join(dir, 'pg_wal')));
});

test('after a checkpoint (pg_control rewritten) every data file is synced', async () => {
  const dir = dataDir();
  const { synced, sync } = recorder();
  const wal = new WalFlusher(dir, sync, sync);
  await wal.flush();
  synced.length = 0;
  const later = new Date(Date.now() + 5_000);
  fs.utimesSync(path.join(dir, 'global', 'pg_control'), later, later);
  await wal.flush();
  await wal.syncAll(); // queued behind the background sync the checkpoint started
  assert.ok(synced.includes(path.join(dir, 'base', '5', '1259')));
  assert.ok(synced.includes(path.join(dir, 'base', '5')));
});

test('WAL segments are synced through handles kept open, reopened when a name holds a new file', async () => {
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
  const wal = new WalFlusher(dir, async () => {});
  await wal.flush();
  fs.appendFileSync(segment, 'commit');
  await wal.flush();
  assert.deepEqual(heldOn(), [segment]);
  // Recycled: another file under the same name; the old one's handle is closed.
  fs.rmSync(segment);
  fs.writeFileSync(segment, 'recycled');
  await wal.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(heldOn(), [segment]);
  // Removed: its handle is closed at the next round.
  fs.rmSync(segment);
  await wal.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(heldOn(), []);
  wal.close();
});
