/**
 * RFC 6578 collection synchronisation on a plain file collection; calendars and address books
 * are collections too and answer the same report.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { resolvePath } from '../src/store/nodes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

interface SyncAnswer {
  /** Per href: its status (a response-level status, or 200 when it has propstats). */
  statuses: Map<string, number>;
  /** Per href: the getetag value, when returned. */
  etags: Map<string, string>;
  /** Per href: the precondition named in a response-level DAV:error. */
  errors: Map<string, string>;
  /** Per href: props returned with 404. */
  missing: Map<string, string[]>;
  token: string;
}

const elements = (parent: Element, local?: string): Element[] =>
  Array.from(parent.childNodes).filter((n): n is Element => n.nodeType === 1 && (local === undefined || ((n as Element).localName === local && (n as Element).namespaceURI === 'DAV:')));
const statusOf = (el: Element): number => Number(/HTTP\/1\.1 (\d{3})/.exec(el.textContent ?? '')![1]);

function parseSync(text: string): SyncAnswer {
  const root = new DOMParser().parseFromString(text, 'text/xml').documentElement!;
  const answer: SyncAnswer = { statuses: new Map(), etags: new Map(), errors: new Map(), missing: new Map(), token: '' };
  for (const response of elements(root, 'response')) {
    const href = elements(response, 'href')[0]!.textContent!;
    assert.ok(!answer.statuses.has(href), `${href} appears once (RFC 6578 §3.2)`);
    const status = elements(response, 'status')[0];
    const propstats = elements(response, 'propstat');
    // RFC 6578 §3.2: a status or propstats, never both.
    assert.ok(Boolean(status) !== propstats.length > 0, `${href}: status xor propstat`);
    answer.statuses.set(href, status ? statusOf(status) : 200);
    const error = elements(response, 'error')[0];
    if (error) answer.errors.set(href, elements(error)[0]!.localName!);
    for (const propstat of propstats) {
      const code = statusOf(elements(propstat, 'status')[0]!);
      for (const prop of elements(elements(propstat, 'prop')[0]!)) {
        if (code === 404) answer.missing.set(href, [...(answer.missing.get(href) ?? []), prop.localName!]);
        else if (prop.localName === 'getetag') answer.etags.set(href, prop.textContent!);
      }
    }
  }
  answer.token = elements(root, 'sync-token')[0]?.textContent ?? '';
  return answer;
}

interface SyncOptions {
  level?: string;
  limit?: number;
  props?: string;
  depth?: string | null;
}

const syncBody = (token: string, { level = '1', limit, props = '<D:getetag/>' }: SyncOptions = {}) =>
  `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>${level}</D:sync-level>` +
  (limit === undefined ? '' : `<D:limit><D:nresults>${limit}</D:nresults></D:limit>`) +
  `<D:prop>${props}</D:prop></D:sync-collection>`;

describe('sync-collection (RFC 6578)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer({ users: ['alice', 'bob'] })));
  after(() => server.close());

  const base = '/dav/files/alice/';

  async function report(path: string, token: string, options: SyncOptions = {}, as?: TestServer['users'][number]): Promise<Response> {
    const headers: Record<string, string> = { 'Content-Type': 'application/xml; charset=utf-8' };
    if (options.depth !== null) headers.Depth = options.depth ?? '0';
    return server.request('REPORT', path, { headers, body: syncBody(token, options), ...(as ? { as } : {}) });
  }
  async function sync(path: string, token: string, options: SyncOptions = {}): Promise<SyncAnswer> {
    const res = await report(path, token, options);
    const text = await res.text();
    assert.equal(res.status, 207, text);
    return parseSync(text);
  }
  async function assertInvalidToken(path: string, token: string, as?: TestServer['users'][number]): Promise<void> {
    const res = await report(path, token, {}, as);
    const text = await res.text();
    assert.equal(res.status, 403, `${token}: ${text}`);
    assert.match(text, /<D:error[^>]*>\s*<D:valid-sync-token\/>/);
  }
  async function tokenProperty(path: string): Promise<string> {
    const res = await server.request('PROPFIND', path, { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>' });
    return /<D:sync-token>([^<]*)<\/D:sync-token>/.exec(await res.text())![1]!;
  }
  async function mkcol(path: string): Promise<void> {
    assert.equal((await server.request('MKCOL', path)).status, 201, path);
  }
  async function put(path: string, body: string): Promise<void> {
    assert.ok([201, 204].includes((await server.request('PUT', path, { body })).status), path);
  }
  const sorted = (map: Map<string, number>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1));

  test('initial sync: every current member with its properties, and the token of the sync-token property', async () => {
    const dir = `${base}initial/`;
    await mkcol(dir);
    const empty = await sync(dir, '');
    assert.equal(empty.statuses.size, 0);
    assert.equal(empty.token, await tokenProperty(dir));

    await put(`${dir}a.txt`, 'a');
    await put(`${dir}b.txt`, 'b');
    await mkcol(`${dir}sub`);
    const initial = await sync(dir, '');
    assert.deepEqual(sorted(initial.statuses), [
      [`${dir}a.txt`, 200],
      [`${dir}b.txt`, 200],
      [`${dir}sub/`, 200],
    ]);
    const head = await server.request('HEAD', `${dir}a.txt`);
    assert.equal(initial.etags.get(`${dir}a.txt`), head.headers.get('etag'));
    assert.equal(initial.token, await tokenProperty(dir));
    assert.notEqual(initial.token, empty.token);
  });

  test('incremental sync: created, modified, deleted and renamed members; removed ones as 404 without propstat', async () => {
    const dir = `${base}incremental/`;
    await mkcol(dir);
    await put(`${dir}keep.txt`, 'keep');
    await put(`${dir}modify.txt`, 'v1');
    await put(`${dir}delete.txt`, 'x');
    await put(`${dir}rename.txt`, 'r');
    const { token, etags } = await sync(dir, '');

    await put(`${dir}new.txt`, 'new');
    await put(`${dir}modify.txt`, 'v2');
    assert.equal((await server.request('DELETE', `${dir}delete.txt`)).status, 204);
    assert.equal((await server.request('MOVE', `${dir}rename.txt`, { headers: { Destination: server.at(`${dir}renamed.txt`) } })).status, 201);
    const changes = await sync(dir, token);
    assert.deepEqual(sorted(changes.statuses), [
      [`${dir}delete.txt`, 404],
      [`${dir}modify.txt`, 200],
      [`${dir}new.txt`, 200],
      [`${dir}rename.txt`, 404],
      [`${dir}renamed.txt`, 200],
    ]);
    assert.notEqual(changes.etags.get(`${dir}modify.txt`), etags.get(`${dir}modify.txt`));

    const none = await sync(dir, changes.token);
    assert.equal(none.statuses.size, 0);
    assert.equal(none.token, changes.token);
    // An old token stays valid: the same changes again, with the latest state.
    assert.deepEqual(sorted((await sync(dir, token)).statuses), sorted(changes.statuses));
  });

  test('moves between collections show in both; a name deleted and re-created is changed, one created and deleted is removed', async () => {
    const a = `${base}move-a/`;
    const b = `${base}move-b/`;
    await mkcol(a);
    await mkcol(b);
    await put(`${a}f.txt`, 'f');
    await put(`${a}again.txt`, '1');
    const tokenA = (await sync(a, '')).token;
    const tokenB = (await sync(b, '')).token;

    assert.equal((await server.request('MOVE', `${a}f.txt`, { headers: { Destination: server.at(`${b}f.txt`) } })).status, 201);
    await server.request('DELETE', `${a}again.txt`);
    await put(`${a}again.txt`, '2');
    await put(`${a}brief.txt`, 'gone soon');
    await server.request('DELETE', `${a}brief.txt`);

    assert.deepEqual(sorted((await sync(a, tokenA)).statuses), [
      [`${a}again.txt`, 200],
      [`${a}brief.txt`, 404],
      [`${a}f.txt`, 404],
    ]);
    assert.deepEqual(sorted((await sync(b, tokenB)).statuses), [[`${b}f.txt`, 200]]);
  });

  test('a removed sub-collection is reported at its collection href, with the trailing slash it was listed with', async () => {
    const dir = `${base}nested/`;
    await mkcol(dir);
    await mkcol(`${dir}deleted/`);
    await mkcol(`${dir}moved/`);
    await mkcol(`${dir}became-file/`);
    await put(`${dir}file.txt`, 'f');
    const first = await sync(dir, '');
    assert.deepEqual(sorted(first.statuses), [
      [`${dir}became-file/`, 200],
      [`${dir}deleted/`, 200],
      [`${dir}file.txt`, 200],
      [`${dir}moved/`, 200],
    ]);

    assert.equal((await server.request('DELETE', `${dir}deleted/`)).status, 204);
    assert.equal((await server.request('MOVE', `${dir}moved/`, { headers: { Destination: server.at(`${base}nested-moved/`) } })).status, 201);
    assert.equal((await server.request('DELETE', `${dir}became-file/`)).status, 204);
    await put(`${dir}became-file`, 'now a file');
    assert.equal((await server.request('DELETE', `${dir}file.txt`)).status, 204);

    assert.deepEqual(sorted((await sync(dir, first.token)).statuses), [
      [`${dir}became-file`, 200],
      [`${dir}deleted/`, 404],
      [`${dir}file.txt`, 404],
      [`${dir}moved/`, 404],
    ]);
  });

  test('the change log keeps one entry per name; tokens from before any of its edits report the same changes', async () => {
    const dir = `${base}compact/`;
    await mkcol(dir);
    await put(`${dir}stable.txt`, 'stable');
    const first = await sync(dir, '');
    await put(`${dir}edited.txt`, 'v1');
    const middle = await sync(dir, first.token);
    for (let i = 2; i <= 6; i++) await put(`${dir}edited.txt`, `v${i}`);
    await server.request('DELETE', `${dir}again.txt`);
    await put(`${dir}again.txt`, 'one');
    await server.request('DELETE', `${dir}again.txt`);
    await put(`${dir}again.txt`, 'two');
    await put(`${dir}gone.txt`, 'x');
    await server.request('DELETE', `${dir}gone.txt`);

    const { node } = await resolvePath(server.store.db, server.users[0]!.user.id, ['files', 'compact']);
    const rows = await server.store.db.query<{ name: string; entries: number }>(
      'SELECT name, count(*)::int AS entries FROM changes WHERE collection_id = $1 GROUP BY name ORDER BY name',
      [node!.id],
    );
    assert.deepEqual(rows, [
      { name: 'again.txt', entries: 1 },
      { name: 'edited.txt', entries: 1 },
      { name: 'gone.txt', entries: 1 },
      { name: 'stable.txt', entries: 1 },
    ]);
    const expected = [
      [`${dir}again.txt`, 200],
      [`${dir}edited.txt`, 200],
      [`${dir}gone.txt`, 404],
    ];
    assert.deepEqual(sorted((await sync(dir, first.token)).statuses), expected);
    assert.deepEqual(sorted((await sync(dir, middle.token)).statuses), expected);
    const body = await (await server.request('GET', `${dir}edited.txt`)).text();
    assert.equal(body, 'v6');
  });

  test('tokens that are garbage, of another collection, ahead, or of a deleted and re-created collection are 403 valid-sync-token', async () => {
    const dir = `${base}tokens/`;
    const other = `${base}tokens-other/`;
    await mkcol(dir);
    await mkcol(other);
    await put(`${dir}x.txt`, 'x');
    const mine = (await sync(dir, '')).token;
    const theirs = (await sync(other, '')).token;

    for (const garbage of ['foo', 'http://sabre.io/ns/sync/3', 'data:,1-2', 'http://davenport.invalid/sync/', 'http://davenport.invalid/sync/1-x', 'http://davenport.invalid/sync/1-1.5']) {
      await assertInvalidToken(dir, garbage);
    }
    // macOS was seen sending a UUID of its own.
    await assertInvalidToken(dir, 'b905a5fd-ce23-4190-9be3-236969d071a8');
    await assertInvalidToken(dir, theirs);
    await assertInvalidToken(dir, mine.replace(/-(\d+)$/, (_m, n: string) => `-${Number(n) + 1}`));
    const bobs = (await report('/dav/files/bob/', '', {}, server.users[1])).status;
    assert.equal(bobs, 207);
    await assertInvalidToken('/dav/files/bob/', mine, server.users[1]);

    // The same URL, a new collection: the old token must not be taken for it.
    await server.request('DELETE', dir);
    await mkcol(dir);
    await put(`${dir}x.txt`, 'x');
    await assertInvalidToken(dir, mine);
    // The fallback a client then makes: an initial sync.
    assert.equal((await sync(dir, '')).statuses.size, 1);
  });

  test('limit: at most N members, a 507 for the collection, and a token that resumes where it stopped (§3.6)', async () => {
    const dir = `${base}limit/`;
    await mkcol(dir);
    const names = ['1.txt', '2.txt', '3.txt', '4.txt', '5.txt'];
    for (const n of names) await put(`${dir}${n}`, n);

    const seen = new Set<string>();
    let token = '';
    for (let round = 0; ; round++) {
      assert.ok(round < 5, 'paging ends');
      const res = await report(dir, token, { limit: 2 });
      const answer = parseSync(await res.text());
      const truncated = answer.statuses.get(dir) === 507;
      const members = [...answer.statuses.keys()].filter((h) => h !== dir);
      assert.ok(members.length <= 2);
      for (const m of members) seen.add(m);
      token = answer.token;
      if (!truncated) break;
      assert.equal(answer.errors.get(dir), 'number-of-matches-within-limits');
    }
    assert.deepEqual([...seen].sort(), names.map((n) => `${dir}${n}`));
    assert.equal(token, await tokenProperty(dir));

    // Incremental with a limit: modify three, delete one.
    await put(`${dir}2.txt`, 'two');
    await put(`${dir}4.txt`, 'four');
    await server.request('DELETE', `${dir}1.txt`);
    const first = await sync(dir, token, { limit: 2 });
    assert.equal(first.statuses.get(dir), 507);
    assert.deepEqual(sorted(first.statuses), [
      [`${dir}`, 507],
      [`${dir}2.txt`, 200],
      [`${dir}4.txt`, 200],
    ]);
    const rest = await sync(dir, first.token, { limit: 2 });
    assert.deepEqual(sorted(rest.statuses), [[`${dir}1.txt`, 404]]);
    assert.equal((await sync(dir, rest.token)).statuses.size, 0);
  });

  test('limit over members copied without a change log entry resumes by a cursor', async () => {
    const src = `${base}copy-src/`;
    const dst = `${base}copy-dst/`;
    await mkcol(src);
    for (const n of ['a', 'b', 'c']) await put(`${src}${n}.txt`, n);
    assert.equal((await server.request('COPY', src, { headers: { Destination: server.at(dst), Depth: 'infinity' } })).status, 201);

    const seen: string[] = [];
    let token = '';
    for (let round = 0; round < 4; round++) {
      const answer = await sync(dst, token, { limit: 2 });
      seen.push(...[...answer.statuses.keys()].filter((h) => h !== dst));
      token = answer.token;
      if (answer.statuses.get(dst) !== 507) break;
    }
    assert.deepEqual(seen.sort(), ['a', 'b', 'c'].map((n) => `${dst}${n}.txt`));
    await put(`${dst}d.txt`, 'd');
    await server.request('DELETE', `${dst}a.txt`);
    assert.deepEqual(sorted((await sync(dst, token)).statuses), [
      [`${dst}a.txt`, 404],
      [`${dst}d.txt`, 200],
    ]);
  });

  test('Depth: 0 or absent as §3.2 says, 1 as iOS sends it; infinity is 400', async () => {
    const dir = `${base}depth/`;
    await mkcol(dir);
    for (const depth of ['0', '1', null]) assert.equal((await report(dir, '', { depth })).status, 207, String(depth));
    assert.equal((await report(dir, '', { depth: 'infinity' })).status, 400);
  });

  test('sync-level infinite reports member collections as 403 sync-traversal-supported; unknown levels and limits are 400', async () => {
    const dir = `${base}levels/`;
    await mkcol(dir);
    await mkcol(`${dir}child`);
    await put(`${dir}child/deep.txt`, 'deep');
    await put(`${dir}top.txt`, 'top');
    const infinite = await sync(dir, '', { level: 'infinite' });
    assert.deepEqual(sorted(infinite.statuses), [
      [`${dir}child/`, 403],
      [`${dir}top.txt`, 200],
    ]);
    assert.equal(infinite.errors.get(`${dir}child/`), 'sync-traversal-supported');
    assert.equal((await report(dir, '', { level: '2' })).status, 400);
    assert.equal((await report(dir, '', { limit: 0 })).status, 400);
  });

  test('requested properties: unknown ones are 404 in a propstat; hrefs are escaped', async () => {
    const dir = `${base}props/`;
    await mkcol(dir);
    await put(`${dir}with%20space.txt`, 'x');
    const answer = await sync(dir, '', { props: '<D:getetag/><D:getcontentlength/><X:nope xmlns:X="urn:x"/>' });
    assert.deepEqual([...answer.statuses.keys()], [`${dir}with%20space.txt`]);
    assert.deepEqual(answer.missing.get(`${dir}with%20space.txt`), ['nope']);
    assert.ok(answer.etags.has(`${dir}with%20space.txt`));
  });

  test('the report applies to collections only, calendars included', async () => {
    await put(`${base}plain.txt`, 'x');
    const res = await report(`${base}plain.txt`, '');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /supported-report/);
    for (const path of ['/dav/calendars/alice/', '/dav/calendars/alice/personal/', '/dav/addressbooks/alice/']) {
      const answer = await sync(path, '');
      assert.match(answer.token, /^http:\/\/davenport\.invalid\/sync\/\d+-\d+$/, path);
    }
    const home = await sync('/dav/calendars/alice/', '');
    assert.equal(home.statuses.get('/dav/calendars/alice/personal/'), 200);
  });
});
