/**
 * Discovery as CalDAV/CardDAV clients do it (RFC 6764, RFC 5397, RFC 3744, RFC 4791 §6.2.1):
 * well-known URLs, current-user-principal everywhere, the principal and its home sets, and
 * the ACL-ish properties clients read to decide what they may write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { setEmail } from '../src/store/users.js';
import { startTestServer, type TestServer } from './helpers/server.js';

interface PropResult {
  status: number;
  element: Element;
}
interface DavResponse {
  href: string;
  /** A response-level status (no propstat). */
  status?: number;
  /** By Clark name, e.g. '{DAV:}getetag'. */
  props: Map<string, PropResult>;
}

const elements = (parent: Element, ns?: string, local?: string): Element[] =>
  Array.from(parent.childNodes).filter(
    (n): n is Element => n.nodeType === 1 && (local === undefined || ((n as Element).localName === local && (n as Element).namespaceURI === ns)),
  );
const first = (parent: Element, ns: string, local: string): Element | undefined => elements(parent, ns, local)[0];
const statusCode = (el: Element | undefined): number | undefined => (el ? Number(/HTTP\/1\.1 (\d{3})/.exec(el.textContent ?? '')?.[1]) : undefined);

function parseMultistatus(text: string): DavResponse[] {
  const root = new DOMParser().parseFromString(text, 'text/xml').documentElement!;
  assert.equal(root.localName, 'multistatus');
  return elements(root, 'DAV:', 'response').map(parseResponse);
}

/** One DAV:response element: of a multistatus, or inside an expanded property (RFC 3253 §3.8). */
function parseResponse(r: Element): DavResponse {
  const props = new Map<string, PropResult>();
  for (const propstat of elements(r, 'DAV:', 'propstat')) {
    const status = statusCode(first(propstat, 'DAV:', 'status'))!;
    for (const p of elements(first(propstat, 'DAV:', 'prop')!)) props.set(`{${p.namespaceURI}}${p.localName}`, { status, element: p });
  }
  const response: DavResponse = { href: first(r, 'DAV:', 'href')!.textContent ?? '', props };
  const status = statusCode(first(r, 'DAV:', 'status'));
  if (status !== undefined) response.status = status;
  return response;
}

/** The hrefs inside a property value, in order. */
const hrefsIn = (p: PropResult | undefined): string[] =>
  p ? Array.from(p.element.getElementsByTagNameNS('DAV:', 'href')).map((h) => h.textContent ?? '') : [];
/** Clark names of the child elements of a property value (resourcetype, privileges). */
const childNames = (el: Element): string[] => elements(el).map((c) => `{${c.namespaceURI}}${c.localName}`);
const privilegesIn = (p: PropResult | undefined): string[] =>
  p ? elements(p.element, 'DAV:', 'privilege').map((priv) => elements(priv)[0]!.localName!) : [];

const propfindBody = (props: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop>${props.map((p) => `<${p}/>`).join('')}</D:prop></D:propfind>`;

const PRINCIPAL_PROPS = [
  'D:resourcetype',
  'D:displayname',
  'D:principal-URL',
  'C:calendar-home-set',
  'CR:addressbook-home-set',
  'C:calendar-user-address-set',
  'D:principal-collection-set',
  'D:current-user-principal',
  'D:supported-report-set',
  'D:current-user-privilege-set',
  'D:owner',
];

const OWNER_PRIVILEGES = ['read', 'write', 'write-properties', 'write-content', 'bind', 'unbind', 'unlock', 'read-acl', 'read-current-user-privilege-set'];

describe('discovery', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer({ users: ['alice', 'bob'] })));
  after(() => server.close());

  async function propfind(path: string, props: string[], depth = '0', as?: TestServer['users'][number]): Promise<DavResponse[]> {
    const res = await server.request('PROPFIND', path, { headers: { Depth: depth, 'Content-Type': 'application/xml' }, body: propfindBody(props), ...(as ? { as } : {}) });
    assert.equal(res.status, 207, `PROPFIND ${path}`);
    return parseMultistatus(await res.text());
  }

  describe('well-known URLs (RFC 6764 §5)', () => {
    test('GET and HEAD are redirected to the context path with 301, without credentials', async () => {
      for (const path of ['/.well-known/caldav', '/.well-known/carddav', '/.well-known/caldav/']) {
        for (const method of ['GET', 'HEAD']) {
          const res = await server.request(method, path, { as: null });
          assert.equal(res.status, 301, `${method} ${path}`);
          assert.equal(res.headers.get('location'), '/dav/');
        }
      }
    });

    test('PROPFIND is answered on the URL itself (macOS does not follow the redirect), after authentication', async () => {
      const anonymous = await server.request('PROPFIND', '/.well-known/caldav', { as: null, headers: { Depth: '0' } });
      assert.equal(anonymous.status, 401);
      for (const path of ['/.well-known/caldav', '/.well-known/carddav']) {
        const [self, ...rest] = await propfind(path, ['D:current-user-principal', 'D:resourcetype', 'D:principal-URL'], '1');
        assert.equal(rest.length, 0);
        assert.equal(self!.href, path);
        assert.deepEqual(hrefsIn(self!.props.get('{DAV:}current-user-principal')), ['/dav/principals/alice/']);
        assert.deepEqual(childNames(self!.props.get('{DAV:}resourcetype')!.element), ['{DAV:}collection']);
        assert.equal(self!.props.get('{DAV:}principal-URL')!.status, 404);
      }
      // Without a body (allprop) it still leads on.
      const bare = await server.request('PROPFIND', '/.well-known/carddav', { headers: { Depth: '0' } });
      assert.equal(bare.status, 207);
      const [allprop] = parseMultistatus(await bare.text());
      assert.deepEqual(hrefsIn(allprop!.props.get('{DAV:}current-user-principal')), ['/dav/principals/alice/']);
      // Each user learns their own principal there.
      const [bobs] = await propfind('/.well-known/caldav', ['D:current-user-principal'], '0', server.users[1]);
      assert.deepEqual(hrefsIn(bobs!.props.get('{DAV:}current-user-principal')), ['/dav/principals/bob/']);
    });

    test('OPTIONS answers DAV and Allow', async () => {
      const res = await server.request('OPTIONS', '/.well-known/carddav', { as: null });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('dav') ?? '', /\b1\b/);
      assert.match(res.headers.get('allow') ?? '', /PROPFIND/);
    });
  });

  describe('current-user-principal (RFC 5397) on every resource', () => {
    test('on the virtual collections above the homes', async () => {
      for (const path of ['/', '/dav/', '/dav/files/', '/dav/calendars/', '/dav/principals/']) {
        const responses = await propfind(path, ['D:current-user-principal', 'D:principal-collection-set'], '1');
        assert.ok(responses.length >= 1, path);
        for (const r of responses) {
          assert.deepEqual(hrefsIn(r.props.get('{DAV:}current-user-principal')), ['/dav/principals/alice/'], r.href);
          assert.deepEqual(hrefsIn(r.props.get('{DAV:}principal-collection-set')), ['/dav/principals/'], r.href);
        }
      }
      // /dav/ leads to the principals collection, and that to the own principal only.
      const dav = await propfind('/dav/', ['D:resourcetype'], '1');
      assert.ok(dav.some((r) => r.href === '/dav/principals/'));
      const principals = await propfind('/dav/principals/', ['D:resourcetype'], '1');
      assert.deepEqual(principals.map((r) => r.href), ['/dav/principals/', '/dav/principals/alice/']);
    });

    test('on a file collection and on a file, with owner; not in allprop', async () => {
      await server.request('MKCOL', '/dav/files/alice/docs/');
      await server.request('PUT', '/dav/files/alice/docs/a.txt', { body: 'a' });
      const responses = await propfind('/dav/files/alice/docs/', ['D:current-user-principal', 'D:owner', 'D:principal-URL'], '1');
      assert.equal(responses.length, 2);
      for (const r of responses) {
        assert.deepEqual(hrefsIn(r.props.get('{DAV:}current-user-principal')), ['/dav/principals/alice/']);
        assert.deepEqual(hrefsIn(r.props.get('{DAV:}owner')), ['/dav/principals/alice/']);
        assert.equal(r.props.get('{DAV:}principal-URL')!.status, 404, 'principal-URL belongs to principals only');
      }
      const allprop = await server.request('PROPFIND', '/dav/files/alice/docs/', { headers: { Depth: '0' } });
      const text = await allprop.text();
      for (const name of ['current-user-principal', 'current-user-privilege-set', 'sync-token', 'supported-report-set', 'owner', 'principal-collection-set']) {
        assert.doesNotMatch(text, new RegExp(`<D:${name}\\b`), `${name} must not be in allprop`);
      }
    });
  });

  describe('the principal (RFC 3744 §2)', () => {
    test('OPTIONS answers DAV and Allow (iOS)', async () => {
      const res = await server.request('OPTIONS', '/dav/principals/alice/');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('dav') ?? '', /\b1\b/);
      assert.deepEqual((res.headers.get('allow') ?? '').split(/,\s*/).sort(), ['OPTIONS', 'PROPFIND', 'REPORT']);
    });

    test('PROPFIND answers every discovery property', async () => {
      const [p, ...rest] = await propfind('/dav/principals/alice/', PRINCIPAL_PROPS, '1');
      assert.equal(rest.length, 0, 'a principal has no members');
      assert.equal(p!.href, '/dav/principals/alice/');
      for (const [name, prop] of p!.props) assert.equal(prop.status, 200, name);
      assert.deepEqual(childNames(p!.props.get('{DAV:}resourcetype')!.element), ['{DAV:}collection', '{DAV:}principal']);
      assert.equal(p!.props.get('{DAV:}displayname')!.element.textContent, 'alice');
      assert.deepEqual(hrefsIn(p!.props.get('{DAV:}principal-URL')), ['/dav/principals/alice/']);
      assert.deepEqual(hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:caldav}calendar-home-set')), ['/dav/calendars/alice/']);
      assert.deepEqual(hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:carddav}addressbook-home-set')), ['/dav/addressbooks/alice/']);
      assert.deepEqual(hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:caldav}calendar-user-address-set')), ['/dav/principals/alice/']);
      assert.deepEqual(hrefsIn(p!.props.get('{DAV:}principal-collection-set')), ['/dav/principals/']);
      assert.deepEqual(hrefsIn(p!.props.get('{DAV:}current-user-principal')), ['/dav/principals/alice/']);
      assert.deepEqual(hrefsIn(p!.props.get('{DAV:}owner')), ['/dav/principals/alice/']);
      const reportsOffered = elements(p!.props.get('{DAV:}supported-report-set')!.element).map((r) => childNames(elements(r)[0]!)[0]);
      assert.deepEqual(reportsOffered, ['{DAV:}expand-property', '{DAV:}principal-property-search', '{DAV:}principal-search-property-set']);
      assert.deepEqual(privilegesIn(p!.props.get('{DAV:}current-user-privilege-set')), ['read', 'read-current-user-privilege-set']);
    });

    test('calendar-user-address-set starts with the mailto: address once the user has one (DAVx5)', async () => {
      await setEmail(server.store.db, server.users[0]!.user.id, 'alice@example.org');
      try {
        const [p] = await propfind('/dav/principals/alice/', ['C:calendar-user-address-set']);
        assert.deepEqual(hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:caldav}calendar-user-address-set')), ['mailto:alice@example.org', '/dav/principals/alice/']);
      } finally {
        await setEmail(server.store.db, server.users[0]!.user.id, null);
      }
    });

    test('allprop gives the RFC 4918 properties only; the URL without its slash works too', async () => {
      const res = await server.request('PROPFIND', '/dav/principals/alice', { headers: { Depth: '0' } });
      assert.equal(res.status, 207);
      const [p] = parseMultistatus(await res.text());
      assert.deepEqual(childNames(p!.props.get('{DAV:}resourcetype')!.element), ['{DAV:}collection', '{DAV:}principal']);
      assert.equal(p!.props.has('{DAV:}current-user-principal'), false);
      assert.equal(p!.props.has('{urn:ietf:params:xml:ns:caldav}calendar-home-set'), false);
    });

    test('propname lists the principal properties', async () => {
      const res = await server.request('PROPFIND', '/dav/principals/alice/', {
        headers: { Depth: '0' },
        body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>',
      });
      const [p] = parseMultistatus(await res.text());
      for (const name of ['{DAV:}principal-URL', '{urn:ietf:params:xml:ns:caldav}calendar-home-set', '{DAV:}resourcetype']) assert.ok(p!.props.has(name), name);
      assert.equal(p!.props.get('{DAV:}resourcetype')!.element.childNodes.length, 0);
    });

    test('another user’s principal, or none, is 404; other methods are 405', async () => {
      for (const path of ['/dav/principals/bob/', '/dav/principals/nobody/']) {
        assert.equal((await server.request('PROPFIND', path, { headers: { Depth: '0' } })).status, 404, path);
        assert.equal((await server.request('OPTIONS', path)).status, 404, path);
      }
      const patch = await server.request('PROPPATCH', '/dav/principals/alice/', {
        body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>',
      });
      assert.equal(patch.status, 405);
      assert.match(patch.headers.get('allow') ?? '', /PROPFIND/);
    });

    test('REPORT expand-property (RFC 3253 §3.8): hrefs become responses for the own resources, others 404', async () => {
      await setEmail(server.store.db, server.users[0]!.user.id, 'alice@example.org');
      try {
        const body = `<?xml version="1.0" encoding="utf-8"?>
          <D:expand-property xmlns:D="DAV:">
            <D:property name="calendar-user-address-set" namespace="urn:ietf:params:xml:ns:caldav">
              <D:property name="displayname"/>
              <D:property name="calendar-home-set" namespace="urn:ietf:params:xml:ns:caldav">
                <D:property name="resourcetype"/>
              </D:property>
            </D:property>
            <D:property name="calendar-proxy-write-for" namespace="http://calendarserver.org/ns/"><D:property name="displayname"/></D:property>
            <D:property name="principal-URL"/>
          </D:expand-property>`;
        const res = await server.request('REPORT', '/dav/principals/alice/', { headers: { Depth: '0', 'Content-Type': 'application/xml' }, body });
        const text = await res.text();
        assert.equal(res.status, 207, text);
        const root = new DOMParser().parseFromString(text, 'text/xml').documentElement!;
        const [top, ...others] = elements(root, 'DAV:', 'response');
        assert.equal(others.length, 0);
        const self = parseResponse(top!);
        assert.equal(self.href, '/dav/principals/alice/');
        assert.deepEqual(hrefsIn(self.props.get('{DAV:}principal-URL')), ['/dav/principals/alice/']);
        assert.equal(self.props.get('{http://calendarserver.org/ns/}calendar-proxy-write-for')?.status, 404);
        // The address set: the mailto: address is not a resource here (404), the principal is expanded.
        const set = self.props.get('{urn:ietf:params:xml:ns:caldav}calendar-user-address-set')!;
        assert.equal(set.status, 200);
        const inner = elements(set.element, 'DAV:', 'response');
        assert.deepEqual(inner.map((r) => first(r, 'DAV:', 'href')!.textContent), ['mailto:alice@example.org', '/dav/principals/alice/']);
        assert.equal(statusCode(first(inner[0]!, 'DAV:', 'status')), 404);
        const principal = parseResponse(inner[1]!);
        assert.equal(principal.props.get('{DAV:}displayname')!.element.textContent, 'alice');
        // Two levels down: the calendar home, with its resourcetype.
        const homeSet = principal.props.get('{urn:ietf:params:xml:ns:caldav}calendar-home-set')!;
        const home = parseResponse(elements(homeSet.element, 'DAV:', 'response')[0]!);
        assert.equal(home.href, '/dav/calendars/alice/');
        assert.deepEqual(childNames(home.props.get('{DAV:}resourcetype')!.element), ['{DAV:}collection']);
      } finally {
        await setEmail(server.store.db, server.users[0]!.user.id, null);
      }
      // Any other report on a principal is refused as unsupported.
      const other = await server.request('REPORT', '/dav/principals/alice/', {
        body: '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>',
      });
      assert.equal(other.status, 403);
      assert.match(await other.text(), /supported-report/);
    });

    test('REPORT expand-property on a calendar: its owner expanded into the principal', async () => {
      const body = `<?xml version="1.0"?><D:expand-property xmlns:D="DAV:"><D:property name="owner"><D:property name="displayname"/></D:property><D:property name="displayname"/></D:expand-property>`;
      const res = await server.request('REPORT', '/dav/calendars/alice/personal/', { headers: { 'Content-Type': 'application/xml' }, body });
      const text = await res.text();
      assert.equal(res.status, 207, text);
      const root = new DOMParser().parseFromString(text, 'text/xml').documentElement!;
      const [top] = elements(root, 'DAV:', 'response');
      const calendar = parseResponse(top!);
      assert.equal(calendar.href, '/dav/calendars/alice/personal/');
      const owner = parseResponse(elements(calendar.props.get('{DAV:}owner')!.element, 'DAV:', 'response')[0]!);
      assert.equal(owner.href, '/dav/principals/alice/');
      assert.equal(owner.props.get('{DAV:}displayname')!.element.textContent, 'alice');
    });

    test('a client following the chain: well-known → principal → calendar home', async () => {
      const [wk] = await propfind('/.well-known/caldav', ['D:current-user-principal']);
      const principal = hrefsIn(wk!.props.get('{DAV:}current-user-principal'))[0]!;
      const [p] = await propfind(principal, ['C:calendar-home-set', 'CR:addressbook-home-set']);
      const home = hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:caldav}calendar-home-set'))[0]!;
      const listing = await propfind(home, ['D:resourcetype', 'D:current-user-principal'], '1');
      assert.equal(listing[0]!.href, home);
      assert.ok(listing.every((r) => hrefsIn(r.props.get('{DAV:}current-user-principal'))[0] === principal));
      const books = hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:carddav}addressbook-home-set'))[0]!;
      assert.equal((await propfind(books, ['D:resourcetype']))[0]!.href, books);
    });
  });

  describe('finding principals (RFC 3744 §9.4, §9.5)', () => {
    const C = 'urn:ietf:params:xml:ns:caldav';
    const search = (criteria: string, { test = '', props = '<D:displayname/><C:calendar-home-set/>', apply = false } = {}) =>
      `<?xml version="1.0"?><D:principal-property-search xmlns:D="DAV:" xmlns:C="${C}"${test ? ` test="${test}"` : ''}>${criteria}` +
      (props ? `<D:prop>${props}</D:prop>` : '') +
      (apply ? '<D:apply-to-principal-collection-set/>' : '') +
      '</D:principal-property-search>';
    const by = (prop: string, match: string) => `<D:property-search><D:prop>${prop}</D:prop><D:match>${match}</D:match></D:property-search>`;
    async function found(path: string, body: string, headers: Record<string, string> = { Depth: '0' }): Promise<DavResponse[]> {
      const res = await server.request('REPORT', path, { headers: { 'Content-Type': 'application/xml', ...headers }, body });
      const text = await res.text();
      assert.equal(res.status, 207, text);
      return parseMultistatus(text);
    }

    test('the principal collection finds the user by a caseless part of their name or address, with the properties asked for', async () => {
      const [alice, ...rest] = await found('/dav/principals/', search(by('<D:displayname/>', 'LIC')));
      assert.equal(rest.length, 0);
      assert.equal(alice!.href, '/dav/principals/alice/');
      assert.equal(alice!.props.get('{DAV:}displayname')!.element.textContent, 'alice');
      assert.deepEqual(hrefsIn(alice!.props.get(`{${C}}calendar-home-set`)), ['/dav/calendars/alice/']);

      await setEmail(server.store.db, server.users[0]!.user.id, 'alice@Example.org');
      try {
        const byAddress = await found('/dav/principals/', search(by('<C:calendar-user-address-set/>', 'mailto:ALICE@example')));
        assert.deepEqual(byAddress.map((r) => r.href), ['/dav/principals/alice/']);
        // Each address is matched alone: text across two of them matches nothing.
        assert.deepEqual(await found('/dav/principals/', search(by('<C:calendar-user-address-set/>', 'example.org/dav'))), []);
      } finally {
        await setEmail(server.store.db, server.users[0]!.user.id, null);
      }
      // Without DAV:prop: the hrefs alone.
      const [bare] = await found('/dav/principals/', search(by('<D:displayname/>', 'alice'), { props: '' }));
      assert.equal(bare!.href, '/dav/principals/alice/');
      assert.equal(bare!.props.size, 0);
    });

    test('another user is never found; criteria combine with allof (the default) or anyof', async () => {
      assert.deepEqual(await found('/dav/principals/', search(by('<D:displayname/>', 'bob'))), []);
      const bobSees = await server.request('REPORT', '/dav/principals/', { as: server.users[1], headers: { Depth: '0' }, body: search(by('<D:displayname/>', 'alice')) });
      assert.deepEqual(parseMultistatus(await bobSees.text()), []);

      const both = by('<D:displayname/>', 'ali') + by('<D:displayname/>', 'nobody');
      assert.deepEqual(await found('/dav/principals/', search(both)), []);
      assert.deepEqual(await found('/dav/principals/', search(both, { test: 'allof' })), []);
      assert.deepEqual((await found('/dav/principals/', search(both, { test: 'anyof' }))).map((r) => r.href), ['/dav/principals/alice/']);
      // A property not offered for searching (§9.5) matches nothing.
      assert.deepEqual(await found('/dav/principals/', search(by('<D:getetag/>', ''))), []);
    });

    test('elsewhere only with apply-to-principal-collection-set; a principal has no principals below it', async () => {
      const criteria = by('<D:displayname/>', 'alice');
      assert.deepEqual(await found('/dav/calendars/alice/personal/', search(criteria)), []);
      assert.deepEqual((await found('/dav/calendars/alice/personal/', search(criteria, { apply: true }))).map((r) => r.href), ['/dav/principals/alice/']);
      assert.deepEqual(await found('/dav/principals/alice/', search(criteria)), []);
      assert.deepEqual((await found('/dav/principals/alice/', search(criteria, { apply: true }))).map((r) => r.href), ['/dav/principals/alice/']);
      // Depth defaults to 0 for a REPORT.
      assert.equal((await found('/dav/principals/', search(criteria), {})).length, 1);
    });

    test('malformed searches are 400: no criteria, a criterion without match, an unknown test, Depth other than 0', async () => {
      const report = (body: string, depth = '0') => server.request('REPORT', '/dav/principals/', { headers: { Depth: depth }, body });
      assert.equal((await report(search(''))).status, 400);
      assert.equal((await report(search('<D:property-search><D:prop><D:displayname/></D:prop></D:property-search>'))).status, 400);
      assert.equal((await report(search(by('<D:displayname/>', 'a'), { test: 'someof' }))).status, 400);
      assert.equal((await report(search(by('<D:displayname/>', 'a')), '1')).status, 400);
      assert.equal((await report('<?xml version="1.0"?><D:principal-search-property-set xmlns:D="DAV:"/>', 'infinity')).status, 400);
    });

    test('principal-search-property-set names what can be searched, each described', async () => {
      const res = await server.request('REPORT', '/dav/principals/', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:principal-search-property-set xmlns:D="DAV:"/>' });
      assert.equal(res.status, 200);
      const root = new DOMParser().parseFromString(await res.text(), 'text/xml').documentElement!;
      assert.equal(root.localName, 'principal-search-property-set');
      const offered = elements(root, 'DAV:', 'principal-search-property');
      assert.deepEqual(offered.map((p) => childNames(first(p, 'DAV:', 'prop')!)[0]), ['{DAV:}displayname', `{${C}}calendar-user-address-set`]);
      for (const p of offered) assert.ok(first(p, 'DAV:', 'description')!.getAttribute('xml:lang'));
    });

    test('the principal collection offers the two reports; the other virtual collections still refuse REPORT', async () => {
      const options = await server.request('OPTIONS', '/dav/principals/');
      assert.match(options.headers.get('allow') ?? '', /REPORT/);
      const [collection] = await propfind('/dav/principals/', ['D:supported-report-set']);
      const offered = elements(collection!.props.get('{DAV:}supported-report-set')!.element).map((r) => childNames(elements(r)[0]!)[0]);
      assert.deepEqual(offered, ['{DAV:}principal-property-search', '{DAV:}principal-search-property-set']);
      const elsewhere = await server.request('REPORT', '/dav/', { headers: { Depth: '0' }, body: search(by('<D:displayname/>', 'alice')) });
      assert.equal(elsewhere.status, 405);
      assert.doesNotMatch(elsewhere.headers.get('allow') ?? '', /REPORT/);
      const otherReport = await server.request('REPORT', '/dav/principals/', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:expand-property xmlns:D="DAV:"/>' });
      assert.equal(otherReport.status, 403);
    });
  });

  describe('privileges and reports', () => {
    test('current-user-privilege-set: everything on the own tree (TbSync), read on virtual ones', async () => {
      for (const path of ['/dav/files/alice/', '/dav/files/alice/docs/a.txt', '/dav/calendars/alice/']) {
        const [r] = await propfind(path, ['D:current-user-privilege-set']);
        assert.deepEqual(privilegesIn(r!.props.get('{DAV:}current-user-privilege-set')), OWNER_PRIVILEGES, path);
      }
      for (const path of ['/', '/dav/', '/dav/files/']) {
        const [r] = await propfind(path, ['D:current-user-privilege-set']);
        assert.deepEqual(privilegesIn(r!.props.get('{DAV:}current-user-privilege-set')), ['read', 'read-current-user-privilege-set'], path);
      }
    });

    test('acl: one protected grant to the owner', async () => {
      const [r] = await propfind('/dav/files/alice/', ['D:acl']);
      const acl = r!.props.get('{DAV:}acl')!;
      assert.equal(acl.status, 200);
      const aces = elements(acl.element, 'DAV:', 'ace');
      assert.equal(aces.length, 1);
      assert.deepEqual(hrefsIn({ status: 200, element: first(aces[0]!, 'DAV:', 'principal')! }), ['/dav/principals/alice/']);
      assert.ok(first(aces[0]!, 'DAV:', 'protected'));
    });

    test('supported-report-set lists sync-collection on collections only', async () => {
      const report = (r: DavResponse) =>
        Array.from(r.props.get('{DAV:}supported-report-set')!.element.getElementsByTagNameNS('DAV:', 'report')).map((el) => childNames(el)[0]);
      for (const path of ['/dav/files/alice/', '/dav/files/alice/docs/', '/dav/calendars/alice/', '/dav/addressbooks/alice/']) {
        const [r] = await propfind(path, ['D:supported-report-set']);
        assert.ok(report(r!).includes('{DAV:}sync-collection'), path);
      }
      const [file] = await propfind('/dav/files/alice/docs/a.txt', ['D:supported-report-set']);
      assert.ok(!report(file!).includes('{DAV:}sync-collection'));
    });

    test('sync-token (RFC 6578 §4) on collections, not on files or virtual collections', async () => {
      const [dir] = await propfind('/dav/files/alice/docs/', ['D:sync-token']);
      assert.match(dir!.props.get('{DAV:}sync-token')!.element.textContent ?? '', /^http:\/\/davenport\.invalid\/sync\/\d+-\d+$/);
      const [file] = await propfind('/dav/files/alice/docs/a.txt', ['D:sync-token']);
      assert.equal(file!.props.get('{DAV:}sync-token')!.status, 404);
      const [virtual] = await propfind('/dav/', ['D:sync-token']);
      assert.equal(virtual!.props.get('{DAV:}sync-token')!.status, 404);
    });
  });
});

describe('discovery behind a reverse proxy (BASE_URL with a path)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer({ env: { BASE_URL: 'https://cloud.example.org/me/' } })));
  after(() => server.close());

  test('the well-known redirect and the principal carry the prefix', async () => {
    for (const path of ['/.well-known/caldav', '/me/.well-known/carddav']) {
      const res = await server.request('GET', path, { as: null });
      assert.equal(res.status, 301, path);
      assert.equal(res.headers.get('location'), 'https://cloud.example.org/me/dav/');
    }
    const res = await server.request('PROPFIND', '/.well-known/caldav', { headers: { Depth: '0' }, body: propfindBody(['D:current-user-principal']) });
    assert.equal(res.status, 207);
    const [self] = parseMultistatus(await res.text());
    assert.deepEqual(hrefsIn(self!.props.get('{DAV:}current-user-principal')), ['/me/dav/principals/alice/']);
    const principal = await server.request('PROPFIND', '/me/dav/principals/alice/', { headers: { Depth: '0' }, body: propfindBody(['C:calendar-home-set']) });
    const [p] = parseMultistatus(await principal.text());
    assert.deepEqual(hrefsIn(p!.props.get('{urn:ietf:params:xml:ns:caldav}calendar-home-set')), ['/me/dav/calendars/alice/']);
  });
});
