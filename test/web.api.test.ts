import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { basicAuthorization, startTestServer, type TestServer } from './helpers/server.js';
import { ensureWebAssets } from './helpers/browser.js';
import { WebClient } from './helpers/web.js';

let server: TestServer;
let web: WebClient;

before(async () => {
  await ensureWebAssets();
  server = await startTestServer({ users: ['alice'] });
  web = new WebClient(server.url + '/');
  assert.equal((await web.signIn('alice', 'alice-password-1')).status, 200);
});
after(() => server.close());

const event = (uid: string, summary: string, start = '20260301T100000Z') =>
  `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:${start}\r\nDTEND:20260301T110000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\n`;
const calendarFile = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:PUBLISH\r\n${events.join('')}END:VCALENDAR\r\n`;

/** A minimal property-list reader (dict, array, string, integer, true, false), enough to check a profile. */
function readPlist(xml: string): unknown {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement!;
  assert.equal(root.nodeName, 'plist');
  const elements = (e: Element) => Array.from(e.childNodes).filter((n): n is Element => n.nodeType === 1);
  const value = (e: Element): unknown => {
    switch (e.nodeName) {
      case 'dict': {
        const out: Record<string, unknown> = {};
        const kids = elements(e);
        for (let i = 0; i < kids.length; i += 2) {
          assert.equal(kids[i]!.nodeName, 'key');
          out[kids[i]!.textContent ?? ''] = value(kids[i + 1]!);
        }
        return out;
      }
      case 'array':
        return elements(e).map(value);
      case 'string':
        return e.textContent ?? '';
      case 'integer':
        return Number(e.textContent);
      case 'true':
        return true;
      case 'false':
        return false;
      default:
        throw new Error(`unexpected plist element ${e.nodeName}`);
    }
  };
  return value(elements(root)[0]!);
}

describe('pages and security headers', () => {
  test('the shell names hashed assets, which are cached for good; every page carries the security headers', async () => {
    const shell = await fetch(server.at('/'));
    assert.equal(shell.status, 200);
    assert.match(shell.headers.get('content-type')!, /text\/html/);
    assert.equal(shell.headers.get('cache-control'), 'no-cache');
    const csp = shell.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(shell.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(shell.headers.get('x-frame-options'), 'DENY');
    assert.ok(shell.headers.get('referrer-policy'));
    assert.equal(shell.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
    const html = await shell.text();
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
    const script = /src="(assets\/app-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(server.at('/' + script));
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control')!, /immutable/);
    assert.match(asset.headers.get('content-type')!, /javascript/);
    assert.equal((await fetch(server.at('/assets/../package.json'))).status, 404);
    assert.equal((await fetch(server.at('/nothing-here'))).status, 404);
  });
});

describe('sessions', () => {
  test('sign-in sets an HttpOnly, SameSite cookie; the session answers; sign-out ends it', async () => {
    const client = new WebClient(server.url + '/');
    const res = await client.signIn('Alice', 'alice-password-1');
    assert.equal(res.status, 200);
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Secure/);
    const me = await client.json<{ user: { name: string } }>('GET', 'api/session');
    assert.equal(me.user.name, 'alice');
    assert.equal((await client.request('DELETE', 'api/session')).status, 204);
    assert.equal((await client.request('GET', 'api/session')).status, 401);
    assert.equal((await client.request('GET', 'api/overview')).status, 401);
  });

  test('an app password never signs in to the pages, though it works for DAV', async () => {
    const { device } = await web.json<{ device: { secret: string } }>('POST', 'api/devices', { json: { name: 'laptop' } }, 201);
    const client = new WebClient(server.url + '/');
    assert.equal((await client.signIn('alice', device.secret)).status, 401);
    const dav = await fetch(server.at('/dav/files/alice/'), { method: 'PROPFIND', headers: { Depth: '0', Authorization: basicAuthorization('alice', device.secret) } });
    assert.equal(dav.status, 207);
  });

  test('failed sign-ins are throttled by the same rules and table as DAV logins', async () => {
    await server.addUser('tom');
    const client = new WebClient(server.url + '/');
    for (let i = 0; i < 10; i++) assert.equal((await client.signIn('tom', 'wrong-password')).status, 401);
    const throttled = await client.signIn('tom', 'tom-password-1');
    assert.equal(throttled.status, 429);
    assert.ok(Number(throttled.headers.get('retry-after')) > 0);
    // The DAV side sees the same failures for this user and address.
    const dav = await fetch(server.at('/dav/files/tom/'), { method: 'PROPFIND', headers: { Depth: '0', Authorization: basicAuthorization('tom', 'tom-password-1') } });
    assert.equal(dav.status, 429);
  });

  test('every change needs the CSRF token and a same-origin request', async () => {
    const noToken = await web.request('POST', 'api/devices', { json: { name: 'x' }, noCsrf: true });
    assert.equal(noToken.status, 403);
    const wrong = await web.request('POST', 'api/devices', { json: { name: 'x' }, noCsrf: true, headers: { 'X-CSRF-Token': 'nope' } });
    assert.equal(wrong.status, 403);
    const crossSite = await web.request('POST', 'api/devices', { json: { name: 'x' }, headers: { Origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    const fetchSite = await web.request('POST', 'api/devices', { json: { name: 'x' }, headers: { 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(fetchSite.status, 403);
    const form = await web.request('POST', 'api/session', { body: 'name=alice&password=alice-password-1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415, 'sign-in takes JSON only, which a cross-site form cannot send');
  });
});

describe('devices', () => {
  test('a new device gets its password once, a profile naming the right host, port, paths and user, and can be revoked', async () => {
    const created = await web.json<{ device: { id: number; secret: string }; setup: Record<string, unknown> }>('POST', 'api/devices', { json: { name: 'iPhone' } }, 201);
    const port = Number(new URL(server.url).port);
    assert.equal(created.setup.host, '127.0.0.1');
    assert.equal(created.setup.port, port);
    assert.equal(created.setup.davx5Link, `caldav://alice@127.0.0.1:${port}/`);
    assert.match(String(created.setup.davx5Qr), /^data:image\/svg\+xml;base64,/);
    assert.equal(created.setup.filesUrl, `${server.url}/dav/files/alice/`);

    const form = (password: string) =>
      web.request('POST', `api/devices/${created.device.id}/mobileconfig`, {
        noCsrf: true,
        body: new URLSearchParams({ password, csrf: web.csrf }).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    assert.equal((await form('aaaaa-bbbbb-ccccc-ddddd')).status, 403, 'only this device’s password');
    const res = await form(created.device.secret);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-apple-aspen-config');
    assert.match(res.headers.get('content-disposition')!, /attachment; filename=".*\.mobileconfig"/);
    const profile = readPlist(await res.text()) as Record<string, unknown>;
    assert.equal(profile.PayloadType, 'Configuration');
    const payloads = profile.PayloadContent as Array<Record<string, unknown>>;
    const caldav = payloads.find((p) => p.PayloadType === 'com.apple.caldav.account')!;
    const carddav = payloads.find((p) => p.PayloadType === 'com.apple.carddav.account')!;
    for (const [kind, p] of [['CalDAV', caldav], ['CardDAV', carddav]] as const) {
      assert.equal(p[`${kind}HostName`], '127.0.0.1');
      assert.equal(p[`${kind}Port`], port);
      assert.equal(p[`${kind}PrincipalURL`], '/dav/principals/alice/');
      assert.equal(p[`${kind}UseSSL`], false);
      assert.equal(p[`${kind}Username`], 'alice');
      assert.equal(p[`${kind}Password`], created.device.secret);
      assert.match(String(p.PayloadIdentifier), /\S/);
    }
    const uuids = [profile.PayloadUUID, caldav.PayloadUUID, carddav.PayloadUUID];
    assert.equal(new Set(uuids).size, 3);
    for (const u of uuids) assert.match(String(u), /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    // The principal the profile names answers with the app password.
    const principal = await fetch(server.at('/dav/principals/alice/'), { method: 'PROPFIND', headers: { Depth: '0', Authorization: basicAuthorization('alice', created.device.secret) } });
    assert.equal(principal.status, 207);

    const list = await web.json<{ devices: Array<{ id: number; lastUsedAt: string | null }> }>('GET', 'api/devices');
    assert.ok(list.devices.find((d) => d.id === created.device.id)!.lastUsedAt, 'last use recorded');
    assert.equal((await web.request('DELETE', `api/devices/${created.device.id}`)).status, 204);
    const after = await fetch(server.at('/dav/principals/alice/'), { method: 'PROPFIND', headers: { Depth: '0', Authorization: basicAuthorization('alice', created.device.secret) } });
    assert.equal(after.status, 401, 'revoked at once');
  });
});

describe('calendars and address books', () => {
  test('create, rename, recolour and delete a calendar, seen over CalDAV', async () => {
    const { id } = await web.json<{ id: number }>('POST', 'api/calendars', { json: { displayName: 'Work Things', color: '#ff8800' } }, 201);
    const propfind = async () => {
      const res = await server.request('PROPFIND', '/dav/calendars/alice/', {
        headers: { Depth: '1' },
        body: '<propfind xmlns="DAV:"><prop><displayname/><calendar-color xmlns="http://apple.com/ns/ical/"/><resourcetype/></prop></propfind>',
      });
      return res.text();
    };
    let xml = await propfind();
    assert.match(xml, /\/dav\/calendars\/alice\/work-things\//);
    assert.match(xml, /Work Things/);
    assert.match(xml, /#FF8800FF/);
    await web.json('PATCH', `api/calendars/${id}`, { json: { displayName: 'Job', color: '#00aa00' } }, 204);
    xml = await propfind();
    assert.match(xml, />Job</);
    assert.match(xml, /#00AA00FF/);
    const listed = await web.json<{ collections: Array<{ id: number; displayName: string; color: string }> }>('GET', 'api/calendars');
    assert.deepEqual(listed.collections.find((c) => c.id === id), { ...listed.collections.find((c) => c.id === id), displayName: 'Job', color: '#00aa00' });
    assert.equal((await web.request('PATCH', `api/calendars/${id}`, { json: { color: 'red' } })).status, 400);
    assert.equal((await web.request('DELETE', `api/calendars/${id}`)).status, 204);
    assert.doesNotMatch(await propfind(), /work-things/);
    assert.equal((await web.request('DELETE', `api/calendars/${id}`)).status, 404);
  });

  test('an .ics import stores one object per UID, reports a broken entry by line, and updates on re-import', async () => {
    const { id } = await web.json<{ id: number }>('POST', 'api/calendars', { json: { displayName: 'Imported' } }, 201);
    const recurring =
      'BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260302T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\n' +
      'BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260309T090000\r\nDTSTART;TZID=Europe/Berlin:20260309T100000\r\nDURATION:PT1H\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n';
    const file = calendarFile(event('one', 'One'), recurring, event('broken', 'Broken', 'not-a-date'), event('two@example.org', 'Two'));
    const brokenLine = file.split('\r\n').findIndex((l) => l === 'UID:broken');
    const report = await web.json<{ created: number; updated: number; failed: Array<{ line: number; message: string }> }>(
      'POST', `api/calendars/${id}/import`, { body: file, headers: { 'Content-Type': 'text/calendar' } });
    assert.equal(report.created, 3);
    assert.equal(report.updated, 0);
    assert.equal(report.failed.length, 1);
    assert.equal(report.failed[0]!.line, brokenLine, 'the line where the broken entry begins');

    const listing = await server.request('PROPFIND', '/dav/calendars/alice/imported/', { headers: { Depth: '1' } });
    const names = [...(await listing.text()).matchAll(/<D:href>\/dav\/calendars\/alice\/imported\/([^<]+)<\/D:href>/g)].map((m) => m[1]);
    assert.deepEqual(names.sort(), ['one.ics', 'two%40example.org.ics', 'weekly.ics']);
    // The index is filled as by a PUT: a time-range query finds the moved instance.
    const query = await server.request('REPORT', '/dav/calendars/alice/imported/', {
      headers: { Depth: '1', 'Content-Type': 'application/xml' },
      body: '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260309T085000Z" end="20260309T093000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>',
    });
    assert.match(await query.text(), /weekly\.ics/);
    const stored = await (await server.request('GET', '/dav/calendars/alice/imported/weekly.ics')).text();
    assert.match(stored, /BEGIN:VTIMEZONE|TZID=Europe\/Berlin/);
    assert.doesNotMatch(stored, /METHOD:/, 'no METHOD in a stored object (RFC 4791 §4.1)');
    assert.equal((stored.match(/BEGIN:VEVENT/g) ?? []).length, 2, 'the override travels with its series');

    const again = await web.json<{ created: number; updated: number }>('POST', `api/calendars/${id}/import`, {
      body: calendarFile(event('one', 'One, renamed')),
      headers: { 'Content-Type': 'text/calendar' },
    });
    assert.deepEqual([again.created, again.updated], [0, 1]);
    assert.match(await (await server.request('GET', '/dav/calendars/alice/imported/one.ics')).text(), /One, renamed/);

    const exported = await web.request('GET', `api/calendars/${id}/export`);
    assert.equal(exported.status, 200);
    assert.match(exported.headers.get('content-disposition')!, /Imported\.ics/);
    const text = await exported.text();
    assert.match(text, /^BEGIN:VCALENDAR\r\n/);
    assert.match(text, /END:VCALENDAR\r\n$/);
    for (const uid of ['one', 'weekly', 'two@example.org']) assert.match(text, new RegExp(`UID:${uid}\r\n`));
    assert.equal((text.match(/BEGIN:VCALENDAR/g) ?? []).length, 1);
  });

  test('a .vcf import and export round-trips the cards', async () => {
    const books = await web.json<{ collections: Array<{ id: number; name: string }> }>('GET', 'api/addressbooks');
    const contacts = books.collections.find((b) => b.name === 'contacts')!;
    const card = (uid: string, fn: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${fn};;;;\r\nEND:VCARD\r\n`;
    const file = card('ann', 'Ann') + 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No UID\r\nEND:VCARD\r\n' + card('bob', 'Bob');
    const report = await web.json<{ created: number; failed: Array<{ line: number }> }>('POST', `api/addressbooks/${contacts.id}/import`, {
      body: file,
      headers: { 'Content-Type': 'text/vcard' },
    });
    assert.equal(report.created, 2);
    assert.deepEqual(report.failed.map((f) => f.line), [7]);
    const exported = await (await web.request('GET', `api/addressbooks/${contacts.id}/export`)).text();
    assert.equal(exported, card('ann', 'Ann') + card('bob', 'Bob'));
  });
});

describe('files', () => {
  test('upload, list, download, new folder, move, rename and delete', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const up = await web.request('PUT', 'api/files/content?path=report.bin', { body, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(up.status, 201, await up.text());
    await web.json('POST', 'api/files/folder', { json: { path: 'Archive' } }, 201);
    assert.equal((await web.request('POST', 'api/files/folder', { json: { path: 'Archive' } })).status, 409);
    let list = await web.json<{ entries: Array<{ name: string; folder: boolean; size: number }> }>('GET', 'api/files?path=');
    assert.deepEqual(list.entries.map((e) => [e.name, e.folder, e.size]), [['Archive', true, 0], ['report.bin', false, body.length]]);

    const down = await web.request('GET', 'api/files/content?path=report.bin');
    assert.match(down.headers.get('content-disposition')!, /attachment/);
    assert.match(down.headers.get('content-security-policy')!, /sandbox/);
    assert.ok(Buffer.from(await down.arrayBuffer()).equals(body));

    await web.json('POST', 'api/files/move', { json: { from: 'report.bin', to: 'Archive/report.bin' } });
    await web.json('PUT', 'api/files/content?path=Archive%2Fother.txt', { body: 'hello', headers: { 'Content-Type': 'text/plain' } }, 201);
    assert.equal((await web.request('POST', 'api/files/move', { json: { from: 'Archive/other.txt', to: 'Archive/report.bin' } })).status, 409, 'never overwrites');
    await web.json('POST', 'api/files/move', { json: { from: 'Archive/other.txt', to: 'Archive/renamed.txt' } });
    list = await web.json('GET', 'api/files?path=Archive');
    assert.deepEqual(list.entries.map((e) => e.name), ['renamed.txt', 'report.bin']);
    assert.equal((await server.request('GET', '/dav/files/alice/Archive/renamed.txt').then((r) => r.text())), 'hello');

    assert.equal((await web.request('GET', 'api/files?path=..')).status, 400);
    assert.equal((await web.request('DELETE', 'api/files?path=Archive')).status, 204);
    list = await web.json('GET', 'api/files?path=');
    assert.deepEqual(list.entries, []);
  });

  test('a client lock and the quota apply to the pages as to DAV clients', async () => {
    await web.json('PUT', 'api/files/content?path=locked.txt', { body: 'mine', headers: { 'Content-Type': 'text/plain' } }, 201);
    const lock = await server.request('LOCK', '/dav/files/alice/locked.txt', {
      headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600' },
      body: '<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>',
    });
    assert.equal(lock.status, 200);
    assert.equal((await web.request('DELETE', 'api/files?path=locked.txt')).status, 423);
    assert.equal((await web.request('PUT', 'api/files/content?path=locked.txt', { body: 'x' })).status, 423);

    const bob = await server.addUser('bob');
    await server.deps.db.query('UPDATE users SET quota_bytes = 1000 WHERE id = $1', [bob.user.id]);
    const client = new WebClient(server.url + '/');
    await client.signIn('bob', bob.password);
    const full = await client.request('PUT', 'api/files/content?path=big.bin', { body: Buffer.alloc(2000) });
    assert.equal(full.status, 507);
    assert.match(((await full.json()) as { error: string }).error, /quota/);
  });
});

describe('account and administration', () => {
  test('the archive holds every calendar, address book and file', async () => {
    await web.json('PUT', 'api/files/content?path=notes.txt', { body: 'some notes', headers: { 'Content-Type': 'text/plain' } }, 201);
    const res = await web.request('GET', 'api/account/export');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davenport-zip-'));
    try {
      const zip = path.join(dir, 'all.zip');
      fs.writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
      const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n');
      for (const name of ['calendars/personal.ics', 'calendars/imported.ics', 'contacts/contacts.vcf', 'files/notes.txt']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
      assert.equal(execFileSync('unzip', ['-p', zip, 'files/notes.txt'], { encoding: 'utf8' }), 'some notes');
      assert.match(execFileSync('unzip', ['-p', zip, 'calendars/imported.ics'], { encoding: 'utf8' }), /UID:weekly/);
      assert.match(execFileSync('unzip', ['-p', zip, 'contacts/contacts.vcf'], { encoding: 'utf8' }), /FN:Ann/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('only administrators manage users; a created user signs in; a password reset ends their sessions', async () => {
    assert.equal((await web.request('GET', 'api/admin/users')).status, 403);
    await server.deps.db.query("UPDATE users SET is_admin = true WHERE name = 'alice'");
    const created = await web.json<{ id: number }>('POST', 'api/admin/users', { json: { name: 'carol', password: 'carol-password', email: 'carol@example.org' } }, 201);
    assert.equal((await web.request('POST', 'api/admin/users', { json: { name: 'carol', password: 'carol-password' } })).status, 409);
    assert.equal((await web.request('POST', 'api/admin/users', { json: { name: 'Bad Name', password: 'carol-password' } })).status, 400);
    const carol = new WebClient(server.url + '/');
    assert.equal((await carol.signIn('carol', 'carol-password')).status, 200);
    await web.json('PUT', `api/admin/users/${created.id}/quota`, { json: { bytes: 5 * 1024 ** 3 } }, 204);
    const overview = await carol.json<{ user: { quotaBytes: number } }>('GET', 'api/overview');
    assert.equal(overview.user.quotaBytes, 5 * 1024 ** 3);
    await web.json('POST', `api/admin/users/${created.id}/password`, { json: { password: 'carol-new-password' } }, 204);
    assert.equal((await carol.request('GET', 'api/overview')).status, 401, 'signed out by the reset');
    assert.equal((await carol.signIn('carol', 'carol-new-password')).status, 200);
    assert.equal((await web.request('DELETE', `api/admin/users/${created.id}`)).status, 204);
    assert.equal((await carol.request('GET', 'api/overview')).status, 401);
    const me = (await web.json<{ users: Array<{ id: number; name: string }> }>('GET', 'api/admin/users')).users.find((u) => u.name === 'alice')!;
    assert.equal((await web.request('DELETE', `api/admin/users/${me.id}`)).status, 409);
  });

  test('changing the password needs the current one and signs out other browsers', async () => {
    const other = new WebClient(server.url + '/');
    await other.signIn('alice', 'alice-password-1');
    assert.equal((await web.request('POST', 'api/account/password', { json: { current: 'wrong-one!', password: 'alice-password-2' } })).status, 403);
    assert.equal((await web.request('POST', 'api/account/password', { json: { current: 'alice-password-1', password: 'short' } })).status, 400);
    await web.json('POST', 'api/account/password', { json: { current: 'alice-password-1', password: 'alice-password-2' } }, 204);
    assert.equal((await other.request('GET', 'api/overview')).status, 401);
    assert.equal((await web.request('GET', 'api/overview')).status, 200, 'this browser stays signed in');
    const dav = await fetch(server.at('/dav/files/alice/'), { method: 'PROPFIND', headers: { Depth: '0', Authorization: basicAuthorization('alice', 'alice-password-1') } });
    assert.equal(dav.status, 401, 'the old password no longer works for DAV');
  });
});

describe('behind a proxy with an https BASE_URL and a path', () => {
  test('pages, API and cookie live under the path; the cookie is Secure; the setup names the public address', async () => {
    const proxied = await startTestServer({ users: ['dan'], env: { BASE_URL: 'https://cloud.example.org/dav-home/' } });
    try {
      const shell = await fetch(proxied.at('/dav-home/'));
      assert.equal(shell.status, 200);
      assert.match(shell.headers.get('strict-transport-security') ?? '', /max-age/);
      const redirect = await fetch(proxied.at('/dav-home'), { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      const client = new WebClient(proxied.url + '/dav-home/');
      const res = await client.signIn('dan', 'dan-password-1');
      assert.equal(res.status, 200);
      const cookie = res.headers.get('set-cookie')!;
      assert.match(cookie, /Path=\/dav-home\//);
      assert.match(cookie, /; Secure/);
      const { setup } = await client.json<{ setup: Record<string, unknown> }>('POST', 'api/devices', { json: { name: 'phone' } }, 201);
      assert.equal(setup.serverUrl, 'https://cloud.example.org/dav-home/');
      assert.equal(setup.port, 443);
      assert.equal(setup.ssl, true);
      assert.equal(setup.principalPath, '/dav-home/dav/principals/dan/');
      assert.equal(setup.davx5Link, 'caldavs://dan@cloud.example.org/dav-home/');
      assert.equal(setup.filesDavUrl, 'davs://cloud.example.org/dav-home/dav/files/dan/');
      const cals = await client.json<{ collections: Array<{ href: string }> }>('GET', 'api/calendars');
      assert.deepEqual(cals.collections.map((c) => c.href), ['/dav-home/dav/calendars/dan/personal/']);
    } finally {
      await proxied.close();
    }
  });
});
