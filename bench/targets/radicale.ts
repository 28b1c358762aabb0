/**
 * Radicale from Debian (`apt-get install -y radicale`) on a free loopback port, with a temporary
 * filesystem store and no authentication (any user name is taken as given).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basicAuthorization } from '../http.js';
import { debianVersion, freeLoopbackPort, spawnPeer, writeItems } from './peer.js';
import type { RunningTarget, Target } from './target.js';

export function radicaleTarget(): Target {
  return {
    label: 'Radicale',
    version: debianVersion('radicale'),
    durability: 'fsync on every write (its default `_filesystem_fsync = True`)',
    start: startRadicale,
  };
}

async function startRadicale(): Promise<RunningTarget> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-bench-radicale-'));
  const port = await freeLoopbackPort();
  const store = path.join(dataDir, 'collections');
  const config = path.join(dataDir, 'config');
  fs.writeFileSync(config, ['[server]', `hosts = 127.0.0.1:${port}`, '[auth]', 'type = none', '[storage]', `filesystem_folder = ${store}`, '[logging]', 'level = warning', ''].join('\n'));
  try {
    const peer = await spawnPeer('/usr/bin/radicale', ['--config', config], `http://127.0.0.1:${port}/`);
    const home = `http://127.0.0.1:${port}/bench/`;
    return {
      pid: peer.pid,
      dataDir,
      authorization: basicAuthorization('bench', 'bench'),
      calendarHome: home,
      addressBookHome: home,
      // Radicale keeps one file per item in the collection's folder; it parses new files on first read.
      async seed(collectionUrl, items) {
        writeItems(path.join(store, 'collection-root', new URL(collectionUrl).pathname), items);
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
