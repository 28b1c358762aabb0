/**
 * Xandikos from Debian (`apt-get install -y xandikos`) on a free loopback port: `--defaults` makes
 * the user "user" with calendars/ and contacts/; every collection is a git repository.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basicAuthorization } from '../http.js';
import { debianVersion, freeLoopbackPort, spawnPeer, writeItems } from './peer.js';
import type { RunningTarget, Target } from './target.js';

export function xandikosTarget(): Target {
  return {
    label: 'Xandikos',
    version: debianVersion('xandikos'),
    durability: 'a git commit per write (dulwich fsyncs objects and refs)',
    start: startXandikos,
  };
}

async function startXandikos(): Promise<RunningTarget> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-bench-xandikos-'));
  const port = await freeLoopbackPort();
  const root = path.join(dataDir, 'root');
  try {
    const peer = await spawnPeer('/usr/bin/xandikos', ['--defaults', '-d', root, '-l', '127.0.0.1', '-p', String(port)], `http://127.0.0.1:${port}/`);
    const base = `http://127.0.0.1:${port}`;
    return {
      pid: peer.pid,
      dataDir,
      // Xandikos does no authentication of its own; the header is sent and ignored.
      authorization: basicAuthorization('user', 'user'),
      calendarHome: `${base}/user/calendars/`,
      addressBookHome: `${base}/user/contacts/`,
      // A collection is a git working tree whose index Xandikos reads: add the files, commit once.
      async seed(collectionUrl, items) {
        const repo = path.join(root, new URL(collectionUrl).pathname);
        writeItems(repo, items);
        const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd: repo, stdio: 'ignore' });
        git('add', '-A');
        git('commit', '-q', '-m', `seed ${items.length} items`);
      },
      async stop() {
        await peer.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
