import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DavError } from '../src/dav/errors.js';
import { evaluateIf, needsEtag, parseIfHeader, submittedTokens, type IfResourceState } from '../src/dav/locks/ifheader.js';

const TOKEN = 'urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2';

describe('parseIfHeader', () => {
  test('an untagged list with a token and an entity tag (RFC 4918 §10.4.6)', () => {
    assert.deepEqual(parseIfHeader(`(<${TOKEN}> ["I am an ETag"]) (["I am another ETag"])`), [
      {
        resource: undefined,
        conditions: [
          { not: false, kind: 'token', token: TOKEN },
          { not: false, kind: 'etag', etag: '"I am an ETag"', weak: false },
        ],
      },
      { resource: undefined, conditions: [{ not: false, kind: 'etag', etag: '"I am another ETag"', weak: false }] },
    ]);
  });

  test('Not, in any case and with or without a space', () => {
    const [list] = parseIfHeader(`(Not <DAV:no-lock> not["x"] NOT<${TOKEN}>)`);
    assert.deepEqual(
      list!.conditions.map((c) => c.not),
      [true, true, true],
    );
  });

  test('tagged lists keep their resource until the next tag (§10.4.7)', () => {
    const lists = parseIfHeader(`<http://h/a/> (<${TOKEN}>) ([W/"1"]) </b> (Not <DAV:no-lock>)`);
    assert.deepEqual(
      lists.map((l) => l.resource),
      ['http://h/a/', 'http://h/a/', '/b'],
    );
    assert.deepEqual(lists[1]!.conditions[0], { not: false, kind: 'etag', etag: '"1"', weak: true });
  });

  test('whitespace and line folding between productions', () => {
    assert.equal(parseIfHeader(`  \t( <${TOKEN}>\r\n  [ "e" ] )  `).length, 1);
  });

  const malformed = [
    '',
    '   ',
    '(',
    '()',
    '( )',
    `(<${TOKEN}>`,
    `<${TOKEN}>`,
    `<http://h/a> <http://h/b> (<${TOKEN}>)`,
    `(<${TOKEN}>) <http://h/a> (<${TOKEN}>)`,
    `<http://h/a> (<${TOKEN}>) (["x"]) garbage`,
    '(<not a uri>)',
    '(<no-scheme>)',
    '(<>)',
    '([unquoted])',
    '(["unterminated)',
    '(["a"] ["b")',
    '(Not)',
    '(Nope <DAV:no-lock>)',
    `(<${TOKEN}>) x`,
    '<> (<DAV:no-lock>)',
    `${TOKEN}`,
    '\u0000',
  ];
  for (const header of malformed) {
    test(`refuses ${JSON.stringify(header)} with 400`, () => {
      assert.throws(() => parseIfHeader(header), (error: unknown) => error instanceof DavError && error.status === 400);
    });
  }

  test('refuses an absurd number of lists', () => {
    assert.throws(() => parseIfHeader('(<DAV:no-lock>)'.repeat(1000)), (error: unknown) => error instanceof DavError && error.status === 400);
  });
});

describe('evaluateIf', () => {
  const locked: IfResourceState = { etag: '"e1"', lockTokens: new Set([TOKEN]) };
  const unlocked: IfResourceState = { etag: '"e2"', lockTokens: new Set() };
  const unmapped: IfResourceState = { etag: undefined, lockTokens: new Set() };
  const states = new Map<string | undefined, IfResourceState | undefined>([
    [undefined, locked],
    ['/other', unlocked],
    ['/missing', unmapped],
    ['http://elsewhere/x', undefined],
  ]);
  const evaluate = (header: string) => evaluateIf(parseIfHeader(header), (r) => states.get(r));

  test('a list is true when all its conditions hold', () => {
    assert.equal(evaluate(`(<${TOKEN}> ["e1"])`), true);
    assert.equal(evaluate(`(<${TOKEN}> ["e2"])`), false);
  });

  test('the header is true when any list is', () => {
    assert.equal(evaluate(`(<DAV:no-lock>) (["e1"])`), true);
    assert.equal(evaluate(`(<DAV:no-lock>) (["zz"])`), false);
  });

  test('Not negates a condition; <DAV:no-lock> never matches a lock', () => {
    assert.equal(evaluate('(Not <DAV:no-lock>)'), true);
    assert.equal(evaluate(`(Not <${TOKEN}>)`), false);
    assert.equal(evaluate('(Not ["e1"])'), false);
  });

  test('weak tags from the client match by their opaque part', () => {
    assert.equal(evaluate('([W/"e1"])'), true);
    assert.equal(evaluate('([W/"e2"])'), false);
  });

  test('tagged lists apply to their own resource', () => {
    assert.equal(evaluate('</other> (["e2"])'), true);
    assert.equal(evaluate(`</other> (<${TOKEN}>)`), false);
    assert.equal(evaluate('</missing> (Not ["e2"])'), true);
    assert.equal(evaluate('</missing> (["e2"])'), false);
  });

  test('a resource outside the tree makes its list false, even negated', () => {
    assert.equal(evaluate('<http://elsewhere/x> (Not <DAV:no-lock>)'), false);
    assert.equal(evaluate('<http://elsewhere/x> (Not <DAV:no-lock>) </other> (["e2"])'), true);
  });
});

describe('submittedTokens and needsEtag', () => {
  test('negated tokens are not submitted; tokens in any list are', () => {
    const lists = parseIfHeader(`</a> (Not <urn:uuid:1>) (["x"] <urn:uuid:2>) </b> (<urn:uuid:3>)`);
    assert.deepEqual([...submittedTokens(lists)].sort(), ['urn:uuid:2', 'urn:uuid:3']);
  });

  test('needsEtag looks only at the lists of that resource', () => {
    const lists = parseIfHeader(`</a> (["x"]) </b> (<urn:uuid:3>)`);
    assert.equal(needsEtag(lists, '/a'), true);
    assert.equal(needsEtag(lists, '/b'), false);
    assert.equal(needsEtag(lists, undefined), false);
  });
});
