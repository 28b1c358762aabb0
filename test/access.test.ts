/**
 * Access, table-driven: every method on every space of alice's, tried as bob (another user), as
 * an anonymous client and with a revoked app password, answers 401/403/404 with no data in the
 * body; and bob cannot tell alice's existing resources from missing ones (same status, same
 * body, same headers that matter). COPY/MOVE from bob's own space into alice's is refused the
 * same way, whatever is there. Afterwards alice's data is exactly as it was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forgetCredentials } from '../src/auth/authenticate.js';
import { createAppPassword, revokeAppPassword } from '../src/store/credentials.js';
import { basicAuthorization, startTestServer, type TestServer, type TestUser } from './helpers/server.js';

const C = 'urn:ietf:params:xml:ns:caldav';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
/** Alice's revoked app password, as an identity. */
let revoked: TestUser;

/** Strings only alice's data contains: no refused answer may include any of them. */
const SECRETS = ['alice-secret-content', 'Alice Secret Event', 'Secret Contact', 'secret.txt', 'ev.ics', 'card.vcf', 'secret-dir', 'alice-dead-prop', 'alice@'];

const EVENT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:secret-event', 'DTSTAMP:20060101T000000Z', 'DTSTART:20060104T100000Z', 'SUMMARY:Alice Secret Event', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const CARD = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:secret-card', 'FN:Secret Contact', 'N:Contact;Secret;;;', 'END:VCARD', ''].join('\r\n');

/** Alice's resources by space: an existing one and a missing twin (in her space, and under a user that does not exist). */
const SPACES = {
  files: { existing: ['/dav/files/alice/secret.txt', '/dav/files/alice/secret-dir/'], missing: ['/dav/files/alice/nothing.txt', '/dav/files/alice/no-dir/', '/dav/files/nobody/secret.txt', '/dav/files/nobody/'] },
  calendars: {
    existing: ['/dav/calendars/alice/personal/', '/dav/calendars/alice/personal/ev.ics', '/dav/calendars/alice/'],
    missing: ['/dav/calendars/alice/nocal/', '/dav/calendars/alice/personal/none.ics', '/dav/calendars/nobody/', '/dav/calendars/nobody/personal/ev.ics'],
  },
  addressbooks: {
    existing: ['/dav/addressbooks/alice/contacts/', '/dav/addressbooks/alice/contacts/card.vcf'],
    missing: ['/dav/addressbooks/alice/nobook/', '/dav/addressbooks/alice/contacts/none.vcf', '/dav/addressbooks/nobody/contacts/card.vcf'],
  },
  principals: { existing: ['/dav/principals/alice/'], missing: ['/dav/principals/nobody/', '/dav/principals/alice2/'] },
} as const;

/** Each method with a body and headers a real client would send. */
function requestFor(method: string, path: string): { headers: Record<string, string>; body?: string } {
  switch (method) {
    case 'PUT':
      return { headers: { 'Content-Type': path.endsWith('.ics') ? 'text/calendar' : path.endsWith('.vcf') ? 'text/vcard' : 'text/plain' }, body: path.endsWith('.ics') ? EVENT.replace('secret-event', 'bob-event') : path.endsWith('.vcf') ? CARD.replace('secret-card', 'bob') : 'overwritten by bob' };
    case 'PROPFIND':
      return { headers: { Depth: '1' }, body: '<propfind xmlns="DAV:"><allprop/></propfind>' };
    case 'PROPPATCH':
      return { headers: {}, body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>pwned</D:displayname></D:prop></D:set></D:propertyupdate>' };
    case 'REPORT':
      return { headers: { Depth: '1' }, body: path.includes('/calendars/') ? `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>` : '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>' };
    case 'LOCK':
      return { headers: { Timeout: 'Second-60' }, body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' };
    case 'UNLOCK':
      return { headers: { 'Lock-Token': '<opaquelocktoken:00000000-0000-0000-0000-000000000000>' } };
    case 'COPY':
    case 'MOVE':
      return { headers: { Destination: server.at(path.replace(/\/?$/, '-copy')), Overwrite: 'T' } };
    case 'POST':
      return { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'x=1' };
    default:
      return { headers: {} };
  }
}

const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'MKCALENDAR', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'REPORT', 'LOCK', 'UNLOCK', 'POST'];

interface Answer {
  status: number;
  body: string;
  /** Headers that could tell existence apart. */
  telling: string;
}

async function ask(method: string, path: string, who: TestUser | null, override?: { headers: Record<string, string>; body?: string }): Promise<Answer> {
  const { headers, body } = override ?? requestFor(method, path);
  const res = await server.request(method, path, { as: who, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const telling = ['allow', 'dav', 'etag', 'last-modified', 'content-length', 'lock-token', 'location'].map((h) => `${h}=${res.headers.get(h)}`).join(' ');
  return { status: res.status, body: text, telling };
}

function assertRefused(answer: Answer, expected: readonly number[], what: string): void {
  assert.ok(expected.includes(answer.status), `${what}: ${answer.status} ${answer.body.slice(0, 200)}`);
  for (const secret of SECRETS) assert.ok(!answer.body.includes(secret), `${what}: the answer reveals "${secret}"`);
}

/** What alice has, read as alice: must be the same before and after everything the others tried. */
async function snapshot(): Promise<string> {
  const parts: string[] = [];
  for (const home of ['/dav/files/alice/', '/dav/calendars/alice/', '/dav/addressbooks/alice/']) {
    const res = await server.request('PROPFIND', home, { as: alice, headers: { Depth: 'infinity' }, body: '<propfind xmlns="DAV:"><prop><getetag/><displayname/><resourcetype/><lockdiscovery/></prop></propfind>' });
    parts.push((await res.text()).replace(/<D:getlastmodified>[^<]*<\/D:getlastmodified>/g, ''));
  }
  for (const path of ['/dav/files/alice/secret.txt', '/dav/calendars/alice/personal/ev.ics', '/dav/addressbooks/alice/contacts/card.vcf']) {
    parts.push(await (await server.request('GET', path, { as: alice })).text());
  }
  return parts.join('\n');
}

let before0 = '';

before(async () => {
  server = await startTestServer({ users: ['alice', 'bob'] });
  [alice, bob] = server.users as [TestUser, TestUser];
  const ok = async (p: Promise<Response>) => {
    const res = await p;
    assert.ok(res.status < 300, `${res.status} ${await res.text()}`);
  };
  await ok(server.request('PUT', '/dav/files/alice/secret.txt', { body: 'alice-secret-content' }));
  await ok(server.request('MKCOL', '/dav/files/alice/secret-dir/'));
  await ok(server.request('PROPPATCH', '/dav/files/alice/secret-dir/', { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">alice-dead-prop</x></D:prop></D:set></D:propertyupdate>' }));
  await ok(server.request('PUT', '/dav/calendars/alice/personal/ev.ics', { body: EVENT, headers: { 'Content-Type': 'text/calendar' } }));
  await ok(server.request('PUT', '/dav/addressbooks/alice/contacts/card.vcf', { body: CARD, headers: { 'Content-Type': 'text/vcard' } }));
  // Bob's own things, the sources of his COPY/MOVE attempts into alice's space.
  await ok(server.request('PUT', '/dav/files/bob/mine.txt', { as: bob, body: 'bob' }));
  await ok(server.request('PUT', '/dav/calendars/bob/personal/mine.ics', { as: bob, body: EVENT.replace('secret-event', 'bob-1').replace('Alice Secret Event', 'Bob'), headers: { 'Content-Type': 'text/calendar' } }));
  await ok(server.request('PUT', '/dav/addressbooks/bob/contacts/mine.vcf', { as: bob, body: CARD.replace('secret-card', 'bob-1').replace(/Secret Contact|Contact;Secret/g, 'Bob'), headers: { 'Content-Type': 'text/vcard' } }));

  // An app password of alice's, used once (so its success is cached), then revoked the way the
  // web pages' device list does it (src/web/api/devices.ts): revoke, then forgetCredentials.
  const device = await createAppPassword(server.store.db, alice.user.id, 'old phone');
  revoked = { ...alice, password: device.secret, authorization: basicAuthorization('alice', device.secret) };
  assert.equal((await server.request('PROPFIND', '/dav/files/alice/', { as: revoked, headers: { Depth: '0' } })).status, 207);
  assert.ok(await revokeAppPassword(server.store.db, alice.user.id, device.id));
  forgetCredentials(alice.user.id);

  before0 = await snapshot();
});
after(() => server.close());

describe('another user, an anonymous client, a revoked app password', () => {
  for (const [space, { existing }] of Object.entries(SPACES)) {
    test(`${space}: every method is refused with no data`, async () => {
      for (const path of existing) {
        for (const method of METHODS) {
          assertRefused(await ask(method, path, bob), [403, 404], `bob ${method} ${path}`);
          const anonymous = await ask(method, path, null);
          assertRefused(anonymous, [401], `anonymous ${method} ${path}`);
          // So many failures from one address end in throttling (429), which refuses just as well.
          assertRefused(await ask(method, path, revoked), [401, 429], `revoked app password ${method} ${path}`);
        }
      }
    });
  }

  test('the revoked app password stopped working at once, while the main password still works', async () => {
    // The failures above throttled this address (pair limit); start afresh to see the plain answers.
    await server.store.db.query('DELETE FROM login_failures');
    assert.equal((await server.request('GET', '/dav/files/alice/secret.txt', { as: revoked })).status, 401);
    assert.equal((await server.request('GET', '/dav/files/alice/secret.txt', { as: alice })).status, 200);
  });
});

describe("bob cannot tell alice's existing resources from missing ones", () => {
  for (const [space, { existing, missing }] of Object.entries(SPACES)) {
    test(`${space}: same status, body and headers for existing and missing`, async () => {
      for (const method of METHODS) {
        const answers = await Promise.all([...existing, ...missing].map(async (path) => ({ path, answer: await ask(method, path, bob) })));
        const [first] = answers;
        for (const { path, answer } of answers) {
          assert.deepEqual({ status: answer.status, body: answer.body, telling: answer.telling }, { status: first!.answer.status, body: first!.answer.body, telling: first!.answer.telling }, `bob ${method} ${path} vs ${first!.path}`);
        }
      }
    });
  }

  test('principals: PROPFIND on the principal collection lists only the asker', async () => {
    const res = await server.request('PROPFIND', '/dav/principals/', { as: bob, headers: { Depth: '1' } });
    const text = await res.text();
    assert.ok(res.status === 207 || res.status === 405, String(res.status));
    assert.ok(!text.includes('/principals/alice/'), 'alice is not listed to bob');
  });
});

describe("COPY and MOVE from one's own space into another user's", () => {
  const sources = { files: '/dav/files/bob/mine.txt', calendars: '/dav/calendars/bob/personal/mine.ics', addressbooks: '/dav/addressbooks/bob/contacts/mine.vcf' } as const;
  for (const [space, source] of Object.entries(sources)) {
    test(`${space}: refused the same whether the destination exists or not`, async () => {
      const { existing, missing } = SPACES[space as keyof typeof sources];
      const destinations = [...existing, ...missing, ...(space === 'files' ? ['/dav/calendars/alice/personal/x.ics', '/dav/principals/alice/'] : [])];
      for (const method of ['COPY', 'MOVE']) {
        const answers: Array<{ to: string; answer: Answer }> = [];
        for (const to of destinations) {
          for (const overwrite of ['T', 'F']) {
            const answer = await ask(method, source, bob, { headers: { Destination: server.at(to), Overwrite: overwrite } });
            assertRefused(answer, [403, 404, 409, 502], `bob ${method} ${source} → ${to}`);
            answers.push({ to, answer });
          }
        }
        for (const { to, answer } of answers) assert.deepEqual(answer, answers[0]!.answer, `${method} → ${to} answers like → ${answers[0]!.to}`);
      }
      // The source is still bob's and still there.
      assert.equal((await server.request('GET', source, { as: bob })).status, 200);
    });
  }
});

describe('nothing changed', () => {
  test("alice's files, calendars and contacts are exactly as before", async () => {
    assert.equal(await snapshot(), before0);
  });
});

describe('regressions', () => {
  test('HEAD of a missing resource is 404, not 204 (the error boundary set a null body, which Koa turns into 204)', async () => {
    const own = await server.request('HEAD', '/dav/files/alice/nothing.txt', { as: alice });
    assert.equal(own.status, 404);
    assert.equal(await own.text(), '');
    assert.equal((await server.request('HEAD', '/dav/files/alice/secret.txt', { as: bob })).status, 404);
    assert.equal((await server.request('HEAD', '/dav/files/alice/secret.txt', { as: alice })).status, 200);
  });
});
