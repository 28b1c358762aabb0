import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NOT_XML_CHAR_PATTERN } from '../src/dav/xml/chars.js';
import { escapeXml } from '../src/dav/xml/write.js';

/** What escapeXml must do, as a regular expression: the five escapes, and U+FFFD for what XML cannot carry. */
const REFERENCE = new RegExp(`[&<>"\\r]|${NOT_XML_CHAR_PATTERN}`, 'g');
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;' };
const reference = (text: string) => text.replace(REFERENCE, (c) => ENTITIES[c] ?? '\uFFFD');

test('escapeXml: entities, CR, controls, U+FFFE/FFFF and lone surrogates', () => {
  assert.equal(escapeXml('/dav/a b/"x"&<y>'), '/dav/a b/&quot;x&quot;&amp;&lt;y&gt;');
  assert.equal(escapeXml('line\r\nnext\ttab'), 'line&#13;\nnext\ttab');
  assert.equal(escapeXml('a\u0000b\u001Fc\uFFFEd\uFFFF'), 'a\uFFFDb\uFFFDc\uFFFDd\uFFFD');
  assert.equal(escapeXml('pair \uD83D\uDE00 ok'), 'pair \uD83D\uDE00 ok');
  assert.equal(escapeXml('lone \uD83D end'), 'lone \uFFFD end');
  assert.equal(escapeXml('\uDE00 lone low first'), '\uFFFD lone low first');
  assert.equal(escapeXml('high at end \uD83D'), 'high at end \uFFFD');
  assert.equal(escapeXml('\uD83D\uD83D\uDE00'), '\uFFFD\uD83D\uDE00');
  const clean = 'nothing/to-escape.ics';
  assert.equal(escapeXml(clean), clean);
  assert.equal(escapeXml(''), '');
});

test('escapeXml replaces exactly what the reference pattern matches', () => {
  // Code units from the interesting ranges, so that escapes, controls and surrogates meet often.
  const unit = fc.oneof(
    fc.constantFrom(0x26, 0x3c, 0x3e, 0x22, 0x0d, 0x0a, 0x09, 0x00, 0x1f, 0x20, 0x41, 0xfffe, 0xffff, 0xfffd, 0xe9),
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.integer({ min: 0, max: 0xffff }),
  );
  fc.assert(
    fc.property(fc.array(unit, { maxLength: 40 }), (units) => {
      const text = String.fromCharCode(...units);
      assert.equal(escapeXml(text), reference(text));
    }),
    { numRuns: 20_000 },
  );
});
