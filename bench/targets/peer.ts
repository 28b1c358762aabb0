/** What the peer servers (Debian's Radicale and Xandikos) share: a free loopback port, a child process, a version. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Item } from '../generate.js';

export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface PeerProcess {
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `command` and waits until `probeUrl` answers HTTP at all. */
export async function spawnPeer(command: string, args: readonly string[], probeUrl: string, timeoutMs = 30_000): Promise<PeerProcess> {
  if (!fs.existsSync(command)) throw new Error(`${command} is not installed (apt-get install -y ${path.basename(command)})`);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const peer: PeerProcess = { pid: child.pid!, output: () => text, stop: () => stopChild(child) };
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(probeUrl))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await peer.stop();
      throw new Error(`${command} did not start:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return peer;
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'OPTIONS', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The Debian package's version, e.g. "3.1.8-2". */
export function debianVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim() || 'unknown';
  } catch {
    return 'not installed';
  }
}

/** Writes each item as a file named by its resource name into `dir`. */
export function writeItems(dir: string, items: readonly Item[]): void {
  for (const item of items) fs.writeFileSync(path.join(dir, item.name), item.text);
}
