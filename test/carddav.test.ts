import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { reindexPhoneNumbers } from '../src/dav/carddav/phone-reindex.js';
import { createLogger } from '../src/log.js';
import { readSetting } from '../src/store/settings.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/carddav/${name}`, import.meta.url), 'utf8');
const CR = 'urn:ietf:params:xml:ns:carddav';
const home = '/dav/addressbooks/alice/';
const book = home + 'contacts/';
let server: TestServer;

before(async () => {
  server = await startTestServer();
  for (const name of ['ios-johnny.vcf', 'ios-group.vcf', 'davx5-zoe.vcf', 'davx5-group.vcf']) {
    const res = await server.request('PUT', book + name, { body: fixture(name), headers: { 'Content-Type': 'text/vcard; charset=utf-8' } });
    assert.equal(res.status, 201, `${name}: ${await res.text()}`);
  }
});
after(() => server.close());

const req = (method: string, path: string, options?: Parameters<TestServer['request']>[2]) => server.request(method, path, options);
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);

async function search(filter: string, extra = ''): Promise<{ names: string[]; text: string }> {
  const body = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="${CR}"><D:prop><D:getetag/></D:prop><CR:filter${filter}</CR:filter>${extra}</CR:addressbook-query>`;
  const res = await req('REPORT', book, { headers: { Depth: '1' }, body });
  const text = await res.text();
  assert.equal(res.status, 207, text);
  return { names: hrefs(text).filter((h) => h !== book).map((h) => h.slice(book.length)).sort(), text };
}

describe('address books', () => {
  test('a new user has a contacts address book; extended MKCOL makes another', async () => {
    const list = await (await req('PROPFIND', home, { headers: { Depth: '1' }, body: `<propfind xmlns="DAV:"><prop><resourcetype/><CR:supported-address-data xmlns:CR="${CR}"/></prop></propfind>` })).text();
    assert.ok(hrefs(list).includes(book));
    assert.match(list, /<addressbook xmlns="urn:ietf:params:xml:ns:carddav"\/>/);
    assert.match(list, /version="3.0"/);
    assert.match(list, /version="4.0"/);
    const made = await req('MKCOL', home + 'work/', {
      headers: { 'Content-Type': 'application/xml' },
      body: `<D:mkcol xmlns:D="DAV:" xmlns:CR="${CR}"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>Work</D:displayname><CR:addressbook-description>Colleagues</CR:addressbook-description></D:prop></D:set></D:mkcol>`,
    });
    assert.equal(made.status, 201, await made.text());
    const props = await (await req('PROPFIND', home + 'work/', { headers: { Depth: '0' }, body: `<propfind xmlns="DAV:"><prop><displayname/><CR:addressbook-description xmlns:CR="${CR}"/></prop></propfind>` })).text();
    assert.match(props, />Work</);
    assert.match(props, />Colleagues</);
  });
});

describe('vCards', () => {
  test('what clients send comes back byte for byte: groups, grouped properties, inline photos, X- properties', async () => {
    for (const name of ['ios-johnny.vcf', 'ios-group.vcf', 'davx5-zoe.vcf', 'davx5-group.vcf']) {
      const res = await req('GET', book + name);
      assert.equal(await res.text(), fixture(name), name);
      assert.match(res.headers.get('content-type') ?? '', /^text\/vcard/);
      assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]+"$/);
    }
  });

  test('refusals are RFC 6352 preconditions and store nothing', async () => {
    const cases: Array<[string, string, string]> = [
      ['garbage.vcf', 'not a vcard', 'valid-address-data'],
      ['two.vcf', fixture('davx5-zoe.vcf') + fixture('davx5-group.vcf'), 'valid-address-data'],
      ['v21.vcf', fixture('davx5-zoe.vcf').replace('VERSION:4.0', 'VERSION:2.1'), 'supported-address-data'],
      ['no-uid.vcf', fixture('davx5-zoe.vcf').replace(/UID:[^\r]*\r\n/, ''), 'valid-address-data'],
      ['dup.vcf', fixture('davx5-zoe.vcf'), 'no-uid-conflict'],
    ];
    for (const [name, body, condition] of cases) {
      const res = await req('PUT', book + name, { body, headers: { 'Content-Type': 'text/vcard' } });
      assert.equal(res.status, 403, name);
      assert.match(await res.text(), new RegExp(`<${condition} xmlns="${CR}"`), name);
      assert.equal((await req('GET', book + name)).status, 404, name);
    }
    assert.equal((await req('PUT', home + 'loose.vcf', { body: fixture('davx5-zoe.vcf').replace('0f5a', 'aaaa'), headers: { 'Content-Type': 'text/vcard' } })).status, 403);
  });
});

describe('reports', () => {
  test('addressbook-query: contains on EMAIL and TEL, case folding, anyof/allof, negate, is-not-defined, param-filter', async () => {
    const contains = (prop: string, value: string, attrs = '') => `<CR:prop-filter name="${prop}"><CR:text-match match-type="contains"${attrs}>${value}</CR:text-match></CR:prop-filter>`;
    assert.deepEqual((await search('>' + contains('EMAIL', 'ORCHARD'))).names, ['ios-johnny.vcf']);
    assert.deepEqual((await search('>' + contains('TEL', '1234567'))).names, ['davx5-zoe.vcf']);
    // Digit to digit: found although the card writes "+1 (555) 010-9999".
    assert.deepEqual((await search('>' + contains('TEL', '5550109999'))).names, ['ios-johnny.vcf']);
    assert.deepEqual((await search('>' + contains('TEL', '555-010'))).names, ['ios-johnny.vcf']);
    assert.deepEqual((await search('>' + contains('FN', 'zoë'))).names, ['davx5-zoe.vcf']);
    assert.deepEqual((await search(' test="anyof">' + contains('FN', 'family') + contains('EMAIL', 'example.net'))).names, ['davx5-zoe.vcf', 'ios-group.vcf']);
    assert.deepEqual((await search(' test="allof">' + contains('FN', 'o') + contains('EMAIL', 'example'))).names, ['davx5-zoe.vcf', 'ios-johnny.vcf']);
    assert.deepEqual((await search('>' + contains('FN', 'johnny', ' negate-condition="yes"'))).names, ['davx5-group.vcf', 'davx5-zoe.vcf', 'ios-group.vcf']);
    assert.deepEqual((await search('><CR:prop-filter name="EMAIL"><CR:is-not-defined/></CR:prop-filter>')).names, ['davx5-group.vcf', 'ios-group.vcf']);
    assert.deepEqual((await search('><CR:prop-filter name="EMAIL"><CR:param-filter name="TYPE"><CR:text-match match-type="equals">home</CR:text-match></CR:param-filter></CR:prop-filter>')).names, ['davx5-zoe.vcf']);
    assert.deepEqual((await search('>' + `<CR:prop-filter name="FN"><CR:text-match match-type="starts-with">Cl</CR:text-match></CR:prop-filter>`)).names, ['davx5-group.vcf']);
    const unknown = await req('REPORT', book, { headers: { Depth: '1' }, body: `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="${CR}"><D:prop><D:getetag/></D:prop><CR:filter>${contains('FN', 'x', ' collation="x;bogus"')}</CR:filter></CR:addressbook-query>` });
    assert.equal(unknown.status, 403);
    assert.match(await unknown.text(), /supported-collation/);
  });

  test('a replaced vCard is searched by its new values only', async () => {
    const card = (email: string) => ['BEGIN:VCARD', 'VERSION:3.0', 'UID:replaced-1', 'FN:Rita Replaced', `EMAIL:${email}`, 'END:VCARD', ''].join('\r\n');
    const contains = (value: string) => `><CR:prop-filter name="EMAIL"><CR:text-match match-type="contains">${value}</CR:text-match></CR:prop-filter>`;
    assert.equal((await req('PUT', book + 'replaced.vcf', { body: card('rita@first.example'), headers: { 'Content-Type': 'text/vcard' } })).status, 201);
    assert.deepEqual((await search(contains('first.example'))).names, ['replaced.vcf']);
    assert.equal((await req('PUT', book + 'replaced.vcf', { body: card('rita@second.example'), headers: { 'Content-Type': 'text/vcard' } })).status, 204);
    assert.deepEqual((await search(contains('first.example'))).names, []);
    assert.deepEqual((await search(contains('second.example'))).names, ['replaced.vcf']);
    assert.equal((await req('DELETE', book + 'replaced.vcf')).status, 204);
  });

  test("contains takes LIKE's wildcards and escape character as plain characters", async () => {
    const names = { 'pct.vcf': 'Percent 100% Sure', 'under.vcf': 'Ann_Smith', 'slash.vcf': 'Back\\Slash', 'plain.vcf': 'Plain Sam' };
    for (const [name, fn] of Object.entries(names)) {
      const card = ['BEGIN:VCARD', 'VERSION:3.0', `UID:${name}`, `FN:${fn}`, 'END:VCARD', ''].join('\r\n');
      assert.equal((await req('PUT', book + name, { body: card, headers: { 'Content-Type': 'text/vcard' } })).status, 201);
    }
    const contains = (value: string) => `><CR:prop-filter name="FN"><CR:text-match match-type="contains">${value}</CR:text-match></CR:prop-filter>`;
    assert.deepEqual((await search(contains('%'))).names, ['pct.vcf']);
    assert.deepEqual((await search(contains('0% s'))).names, ['pct.vcf']);
    assert.deepEqual((await search(contains('n_s'))).names, ['under.vcf']);
    assert.deepEqual((await search(contains('k\\s'))).names, ['slash.vcf']);
    assert.deepEqual((await search(contains('ain sam'))).names, ['plain.vcf']);
    for (const name of Object.keys(names)) assert.equal((await req('DELETE', book + name)).status, 204);
  });

  test('limit with nresults: the first N and a 507 number-of-matches-within-limits', async () => {
    const { names, text } = await search('>', '<CR:limit><CR:nresults>2</CR:nresults></CR:limit>');
    assert.equal(names.length, 2);
    assert.match(text, /507 Insufficient Storage<\/D:status><D:error><D:number-of-matches-within-limits\/>/);
  });

  test('addressbook-multiget with address-data: as stored, a property selection, and the other vCard version', async () => {
    const multiget = (data: string) =>
      req('REPORT', book, { body: `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="${CR}"><D:prop><D:getetag/>${data}</D:prop><D:href>${book}ios-johnny.vcf</D:href><D:href>${book}missing.vcf</D:href></CR:addressbook-multiget>` }).then((r) => r.text());
    const whole = await multiget('<CR:address-data/>');
    assert.ok(whole.includes('item1.X-ABLabel:_$!&lt;Mobile&gt;!$_'), whole);
    assert.match(whole, /missing.vcf<\/D:href><D:status>HTTP\/1.1 404/);
    const selected = await multiget('<CR:address-data><CR:prop name="EMAIL"/><CR:prop name="FN"/></CR:address-data>');
    assert.match(selected, /FN:Johnny Appleseed/);
    assert.match(selected, /EMAIL;type=INTERNET/);
    assert.doesNotMatch(selected, /PHOTO|NICKNAME/);
    const unsupported = await req('REPORT', book, { body: `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="${CR}"><D:prop><CR:address-data content-type="text/vcard" version="2.1"/></D:prop><D:href>${book}ios-johnny.vcf</D:href></CR:addressbook-multiget>` });
    assert.equal(unsupported.status, 403);
    assert.match(await unsupported.text(), /supported-address-data/);
    const v4 = await multiget('<CR:address-data content-type="text/vcard" version="4.0"/>');
    assert.match(v4, /VERSION:4.0/);
    assert.match(v4, /FN:Johnny Appleseed/);
  });

  test('sync-collection works on address books', async () => {
    const body = (token: string) => `<D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
    const first = await (await req('REPORT', book, { body: body('') })).text();
    const token = /<D:sync-token>([^<]+)</.exec(first)![1]!;
    await req('DELETE', book + 'davx5-group.vcf');
    const next = await (await req('REPORT', book, { body: body(token) })).text();
    assert.match(next, /davx5-group.vcf<\/D:href><D:status>HTTP\/1.1 404/);
  });
});

describe('phone numbers in E.164 (PHONE_REGION)', () => {
  let uk: TestServer;
  before(async () => {
    uk = await startTestServer({ env: { PHONE_REGION: 'GB' } });
    const card = (uid: string, tel: string) => ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${uid}`, `TEL;TYPE=CELL:${tel}`, 'END:VCARD', ''].join('\r\n');
    for (const [uid, tel] of [['national', '020 7946 0958'], ['international', '+44 20 7946 0001'], ['german', '+49 30 123456']] as const) {
      const res = await uk.request('PUT', `${book}${uid}.vcf`, { body: card(uid, tel), headers: { 'Content-Type': 'text/vcard' } });
      assert.equal(res.status, 201);
    }
  });
  after(() => uk.close());

  const find = async (pattern: string, matchType = 'contains') => {
    const body = `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="${CR}"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="TEL"><CR:text-match match-type="${matchType}">${pattern}</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>`;
    const text = await (await uk.request('REPORT', book, { headers: { Depth: '1' }, body })).text();
    return hrefs(text).map((h) => h.slice(book.length)).sort();
  };

  test('an international search finds a number written nationally, and the other way round', async () => {
    assert.deepEqual(await find('+44 20 7946 0958'), ['national.vcf']);
    assert.deepEqual(await find('+442079460958', 'equals'), ['national.vcf']);
    assert.deepEqual(await find('020 7946 0001'), ['international.vcf']);
    // Dialled from the UK, 00 is the international prefix: 0049 is Germany.
    assert.deepEqual(await find('0049 30 123456', 'equals'), ['german.vcf']);
    assert.deepEqual(await find('+49 30 999999', 'equals'), []);
  });

  test('numbers indexed under no or another PHONE_REGION are indexed again at start-up, once', async () => {
    const lines: string[] = [];
    const log = createLogger('info', (line) => lines.push(line));
    const db = uk.store.db;
    // As a store whose cards were written before PHONE_REGION was set.
    assert.equal(await reindexPhoneNumbers(db, undefined, log), 3);
    assert.equal(await readSetting(db, 'phone_region'), '');
    assert.deepEqual(await find('+44 20 7946 0958'), [], 'a national number has no E.164 form without a region');
    // The start-up under GB.
    assert.equal(await reindexPhoneNumbers(db, 'GB', log), 3);
    assert.equal(await readSetting(db, 'phone_region'), 'GB');
    assert.deepEqual(await find('+44 20 7946 0958'), ['national.vcf']);
    assert.deepEqual(await find('0049 30 123456', 'equals'), ['german.vcf']);
    // The next start-up under the same region leaves the index alone.
    assert.equal(await reindexPhoneNumbers(db, 'GB', log), 0);
    assert.equal(lines.filter((l) => l.includes('re-indexed for PHONE_REGION')).length, 2);
    assert.equal(lines.filter((l) => l.includes('re-indexing contacts for PHONE_REGION')).length, 2);
  });

  test('a start-up with an unknown PHONE_REGION is refused', async () => {
    const { loadConfig } = await import('../src/config.js');
    assert.throws(() => loadConfig({ PHONE_REGION: 'XX' }), /PHONE_REGION must be a two-letter country code/);
  });
});
