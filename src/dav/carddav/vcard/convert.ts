/**
 * Best-effort vCard 3.0 ↔ 4.0 conversion on content lines (RFC 6350 Appendix A lists the
 * differences from RFC 2426). Lines that need no change keep their bytes as sent (folding,
 * group, parameter case); only changed lines are written anew. What changes:
 *
 * 3.0 → 4.0
 * - VERSION:4.0.
 * - PHOTO/LOGO/SOUND/KEY;ENCODING=b;TYPE=JPEG:… → PHOTO:data:image/jpeg;base64,… (RFC 6350
 *   §6.2.4); VALUE=uri with TYPE=JPEG → MEDIATYPE=image/jpeg.
 * - TYPE=pref → PREF=1 (RFC 6350 §5.3); EMAIL TYPE=internet/x400 dropped (not in 4.0);
 *   2.1-style bare parameters (TEL;CELL:) become TYPE=CELL.
 * - X-ADDRESSBOOKSERVER-KIND → KIND, X-ADDRESSBOOKSERVER-MEMBER → MEMBER (Apple's group form).
 * - Properties 4.0 removed are dropped: AGENT, CLASS, LABEL, MAILER, NAME, PROFILE, SORT-STRING.
 *
 * 4.0 → 3.0
 * - VERSION:3.0.
 * - PHOTO/LOGO/SOUND/KEY:data:…;base64,… → ;ENCODING=b;TYPE=JPEG:…; other URIs get VALUE=uri
 *   (3.0's default for these is binary) and MEDIATYPE becomes TYPE.
 * - PREF=1 → TYPE=pref, other PREF values dropped; PID and ALTID dropped; TEL;VALUE=uri:tel:x → TEL:x,
 *   TEL;VALUE=text → TEL.
 * - KIND:group/org/location → X-ADDRESSBOOKSERVER-KIND, KIND:individual dropped (the default);
 *   MEMBER → X-ADDRESSBOOKSERVER-MEMBER.
 * - GENDER, ANNIVERSARY, LANG, RELATED, XML → X-GENDER, X-ANNIVERSARY, … ; CLIENTPIDMAP dropped.
 * - N added from FN when missing (3.0 requires N; Apple groups write N as the group name).
 *
 * Left as they are in both directions: values (both versions escape text alike), grouped
 * properties (item1.TEL with item1.X-ABLabel), X- properties, other parameters.
 */
import { escapeValue, lineBreakOf, serialiseLine, unescapeValue, type ContentLine } from './lines.js';

type Version = '3.0' | '4.0';

const BINARY_PROPS = new Set(['PHOTO', 'LOGO', 'SOUND', 'KEY']);
const REMOVED_IN_4 = new Set(['AGENT', 'CLASS', 'LABEL', 'MAILER', 'NAME', 'PROFILE', 'SORT-STRING']);
const ONLY_IN_4 = new Set(['GENDER', 'ANNIVERSARY', 'LANG', 'RELATED', 'XML']);
const MEDIA_TOP: Record<string, string> = { PHOTO: 'image', LOGO: 'image', SOUND: 'audio', KEY: 'application' };

/** The lines of one vCard converted to `to`; each result is raw text ready to concatenate. */
export function convertLines(lines: ContentLine[], text: string, to: Version): string[] {
  const eol = lineBreakOf(text);
  const out: string[] = [];
  const write = (l: Pick<ContentLine, 'group' | 'name' | 'params' | 'value'>): void => {
    out.push(serialiseLine(l, to, eol));
  };
  const hasN = lines.some((l) => l.name === 'N');
  for (const line of lines) {
    const result = to === '4.0' ? to4(line) : to3(line);
    if (result === 'keep') out.push(line.raw);
    else if (result) write(result);
    // 3.0 requires N: add it right after FN, from FN.
    if (to === '3.0' && !hasN && line.name === 'FN') {
      write({ group: null, name: 'N', params: new Map(), value: `${escapeValue(unescapeValue(line.value))};;;;` });
    }
  }
  return out;
}

type Result = 'keep' | null | Pick<ContentLine, 'group' | 'name' | 'params' | 'value'>;

function to4(line: ContentLine): Result {
  const { name } = line;
  if (name === 'VERSION') return { ...line, params: new Map(), value: '4.0' };
  if (REMOVED_IN_4.has(name)) return null;
  if (name === 'X-ADDRESSBOOKSERVER-KIND') return { ...line, name: 'KIND', value: line.value.toLowerCase() };
  if (name === 'X-ADDRESSBOOKSERVER-MEMBER') return { ...line, name: 'MEMBER' };
  const params = new Map(line.params);
  let changed = false;
  if (BINARY_PROPS.has(name)) {
    const encoding = params.get('ENCODING')?.[0]?.toUpperCase();
    const type = params.get('TYPE')?.[0];
    const media = type ? (type.includes('/') ? type.toLowerCase() : `${MEDIA_TOP[name]}/${type.toLowerCase()}`) : undefined;
    if (encoding === 'B' || encoding === 'BASE64') {
      params.delete('ENCODING');
      params.delete('TYPE');
      params.delete('VALUE');
      const data = line.value.replace(/\s+/g, '');
      return { ...line, params, value: `data:${media ?? 'application/octet-stream'};base64,${data}` };
    }
    if (params.get('VALUE')?.[0]?.toLowerCase() === 'uri') {
      params.delete('VALUE'); // URI is 4.0's default for these
      if (media) {
        params.delete('TYPE');
        params.set('MEDIATYPE', [media]);
      }
      return { ...line, params };
    }
  }
  const types = params.get('TYPE');
  if (types) {
    const kept = types.filter((t) => {
      const lower = t.toLowerCase();
      if (lower === 'pref') {
        params.set('PREF', ['1']);
        return false;
      }
      return !(name === 'EMAIL' && (lower === 'internet' || lower === 'x400'));
    });
    if (kept.length !== types.length) {
      changed = true;
      // keep PREF after TYPE in the written order
      const pref = params.get('PREF');
      params.delete('PREF');
      if (kept.length) params.set('TYPE', kept);
      else params.delete('TYPE');
      if (pref) params.set('PREF', pref);
    }
  }
  // A 2.1-style bare parameter parses as TYPE but is written without "TYPE=": rewrite it.
  if (line.bareParam) changed = true;
  return changed ? { ...line, params } : 'keep';
}

function to3(line: ContentLine): Result {
  const { name } = line;
  if (name === 'VERSION') return { ...line, params: new Map(), value: '3.0' };
  if (name === 'CLIENTPIDMAP') return null;
  if (name === 'KIND') {
    const kind = line.value.trim().toLowerCase();
    return kind === 'individual' || kind === '' ? null : { ...line, name: 'X-ADDRESSBOOKSERVER-KIND', value: kind };
  }
  if (name === 'MEMBER') return { ...line, name: 'X-ADDRESSBOOKSERVER-MEMBER' };
  let changed = false;
  let value = line.value;
  let outName = name;
  if (ONLY_IN_4.has(name)) {
    outName = `X-${name}`;
    changed = true;
  }
  const params = new Map(line.params);
  for (const p of ['PID', 'ALTID']) if (params.delete(p)) changed = true;
  const pref = params.get('PREF');
  if (pref) {
    params.delete('PREF');
    if (pref[0] === '1') params.set('TYPE', [...(params.get('TYPE') ?? []), 'pref']);
    changed = true;
  }
  if (BINARY_PROPS.has(name)) {
    const data = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/is.exec(value.trim());
    if (data) {
      const media = data[1] || params.get('MEDIATYPE')?.[0] || '';
      params.delete('MEDIATYPE');
      params.delete('VALUE');
      params.set('ENCODING', ['b']);
      const sub = media.split('/')[1];
      if (sub) params.set('TYPE', [sub.toUpperCase()]);
      const base64 = /;base64/i.test(data[2] ?? '');
      value = base64 ? data[3]! : Buffer.from(decodeURIComponent(data[3]!), 'utf8').toString('base64');
      return { ...line, params, value };
    }
    params.set('VALUE', ['uri']);
    const media = params.get('MEDIATYPE')?.[0];
    params.delete('MEDIATYPE');
    const sub = media?.split('/')[1];
    if (sub) params.set('TYPE', [sub.toUpperCase()]);
    return { ...line, params };
  }
  // 3.0's TEL is a phone-number value: tel: URIs lose their scheme, VALUE=uri/text goes.
  const valueType = params.get('VALUE')?.[0]?.toLowerCase();
  if (name === 'TEL' && (valueType === 'uri' || valueType === 'text')) {
    params.delete('VALUE');
    if (valueType === 'uri') value = value.replace(/^tel:/i, '');
    changed = true;
  }
  return changed ? { ...line, name: outName, params, value } : 'keep';
}
