import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from './helpers/server.js';
import { toolSkip } from './helpers/tools.js';

const skip = toolSkip('vdirsyncer');
let server: TestServer;
let work: string;

before(async () => {
  if (skip) return;
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-vdirsyncer-'));
});
after(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const event = (uid: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

async function vdirsyncer(config: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)('sh', ['-c', `yes | vdirsyncer -c '${config}' ${args.join(' ')}`], { maxBuffer: 8 * 1024 * 1024 });
  return stdout + stderr;
}

/** Two-way calendar sync with a local folder, as a laptop running vdirsyncer does. */
test('vdirsyncer syncs a calendar both ways, with edits on each side and nothing lost or duplicated', { skip, timeout: 180_000 }, async () => {
  const user = server.users[0]!;
  const cal = '/dav/calendars/alice/personal/';
  for (const i of [1, 2, 3]) await server.request('PUT', `${cal}server-${i}.ics`, { body: event(`server-${i}`, `From the server ${i}`), headers: { 'Content-Type': 'text/calendar' } });
  const local = path.join(work, 'local');
  const config = path.join(work, 'config');
  fs.writeFileSync(
    config,
    `[general]\nstatus_path = "${path.join(work, 'status')}/"\n\n[pair cal]\na = "local"\nb = "remote"\ncollections = ["from b"]\nconflict_resolution = "b wins"\n\n` +
      `[storage local]\ntype = "filesystem"\npath = "${local}/"\nfileext = ".ics"\n\n` +
      `[storage remote]\ntype = "caldav"\nurl = "${server.url}/"\nusername = "${user.name}"\npassword = "${user.password}"\n`,
  );
  await vdirsyncer(config, 'discover');
  const out = await vdirsyncer(config, 'sync');
  const folder = path.join(local, 'personal');
  assert.equal(fs.readdirSync(folder).length, 3, out);

  // Edits on both sides: a new local event, a local change, a server change, a server deletion.
  fs.writeFileSync(path.join(folder, 'laptop-1.ics'), event('laptop-1', 'From the laptop'));
  const localFile = fs.readdirSync(folder).map((f) => path.join(folder, f)).find((f) => fs.readFileSync(f, 'utf8').includes('UID:server-1'))!;
  fs.writeFileSync(localFile, event('server-1', 'Edited on the laptop'));
  await server.request('PUT', `${cal}server-2.ics`, { body: event('server-2', 'Edited on the server'), headers: { 'Content-Type': 'text/calendar' } });
  await server.request('DELETE', `${cal}server-3.ics`);
  const second = await vdirsyncer(config, 'sync');

  const listing = await (await server.request('PROPFIND', cal, { headers: { Depth: '1' } })).text();
  const remote = [...listing.matchAll(/<D:href>([^<]*\.ics)<\/D:href>/g)].map((m) => m[1]!);
  const remoteTexts = await Promise.all(remote.map(async (href) => (await server.request('GET', href)).text()));
  const uids = remoteTexts.map((t) => /UID:(\S+)/.exec(t)![1]).sort();
  assert.deepEqual(uids, ['laptop-1', 'server-1', 'server-2'], second);
  assert.ok(remoteTexts.some((t) => t.includes('Edited on the laptop')));
  const localTexts = fs.readdirSync(folder).map((f) => fs.readFileSync(path.join(folder, f), 'utf8'));
  assert.equal(localTexts.length, 3);
  assert.ok(localTexts.some((t) => t.includes('Edited on the server')));
  assert.ok(!localTexts.some((t) => t.includes('UID:server-3')));
});

const contact = (uid: string, fn: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${fn};;;;\r\nEND:VCARD\r\n`;

/** Two-way contact sync with a local folder, with edits on each side. */
test('vdirsyncer syncs contacts both ways, with edits on each side and nothing lost or duplicated', { skip, timeout: 180_000 }, async () => {
  const user = server.users[0]!;
  const book = '/dav/addressbooks/alice/contacts/';
  for (const i of [1, 2, 3]) await server.request('PUT', `${book}server-${i}.vcf`, { body: contact(`card-${i}`, `Server ${i}`), headers: { 'Content-Type': 'text/vcard' } });
  const dir = path.join(work, 'contacts');
  const local = path.join(dir, 'local');
  const config = path.join(dir, 'config');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    config,
    `[general]\nstatus_path = "${path.join(dir, 'status')}/"\n\n[pair contacts]\na = "local"\nb = "remote"\ncollections = ["from b"]\nconflict_resolution = "b wins"\n\n` +
      `[storage local]\ntype = "filesystem"\npath = "${local}/"\nfileext = ".vcf"\n\n` +
      `[storage remote]\ntype = "carddav"\nurl = "${server.url}/"\nusername = "${user.name}"\npassword = "${user.password}"\n`,
  );
  await vdirsyncer(config, 'discover');
  const out = await vdirsyncer(config, 'sync');
  const folder = path.join(local, 'contacts');
  assert.equal(fs.readdirSync(folder).length, 3, out);

  fs.writeFileSync(path.join(folder, 'laptop-1.vcf'), contact('laptop-1', 'From the laptop'));
  const localFile = fs.readdirSync(folder).map((f) => path.join(folder, f)).find((f) => fs.readFileSync(f, 'utf8').includes('UID:card-1'))!;
  fs.writeFileSync(localFile, contact('card-1', 'Edited on the laptop'));
  await server.request('PUT', `${book}server-2.vcf`, { body: contact('card-2', 'Edited on the server'), headers: { 'Content-Type': 'text/vcard' } });
  await server.request('DELETE', `${book}server-3.vcf`);
  const second = await vdirsyncer(config, 'sync');

  const listing = await (await server.request('PROPFIND', book, { headers: { Depth: '1' } })).text();
  const remote = [...listing.matchAll(/<D:href>([^<]*\.vcf)<\/D:href>/g)].map((m) => m[1]!);
  const texts = await Promise.all(remote.map(async (href) => (await server.request('GET', href)).text()));
  assert.deepEqual(texts.map((t) => /UID:(\S+)/.exec(t)![1]).sort(), ['card-1', 'card-2', 'laptop-1'], second);
  assert.ok(texts.some((t) => t.includes('Edited on the laptop')));
  const localTexts = fs.readdirSync(folder).map((f) => fs.readFileSync(path.join(folder, f), 'utf8'));
  assert.equal(localTexts.length, 3);
  assert.ok(localTexts.some((t) => t.includes('Edited on the server')));
});
