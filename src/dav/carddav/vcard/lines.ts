/**
 * vCard content lines as sent (RFC 6350 §3.3, RFC 2426 §4 / RFC 2425 §5.8): each logical line
 * keeps the exact bytes it arrived with, so that a selection can return them unchanged, and is
 * also split into group, name, parameters and value for matching and version conversion.
 * ical.js is not used here: it re-serialises `\;` and data: URIs wrongly (see DEPENDENCIES.md).
 */

export interface ContentLine {
  /** The physical lines of this logical line, folding and line breaks exactly as sent. */
  raw: string;
  /** "item1" for item1.TEL (RFC 6350 §3.3 group), else null. */
  group: string | null;
  /** Upper-cased property name without the group. */
  name: string;
  /** Upper-cased parameter names, each with its values (comma lists split, RFC 6868 decoded). */
  params: Map<string, string[]>;
  /** The value as written (unfolded, still escaped). */
  value: string;
  /** A vCard 2.1-style parameter without a name (TEL;CELL:) was read as TYPE. */
  bareParam?: boolean;
}

/** Splits a vCard stream into logical lines. Lines that are not content lines (blank) are skipped. */
export function contentLines(text: string): ContentLine[] {
  const out: ContentLine[] = [];
  const physical = text.match(/[^\r\n]*(?:\r\n|\n|\r|$)/g) ?? [];
  let raw = '';
  let unfolded = '';
  const flush = (): void => {
    if (unfolded.trim() !== '') {
      const line = parseLine(unfolded);
      if (line) out.push({ raw, ...line });
    }
    raw = '';
    unfolded = '';
  };
  for (const p of physical) {
    if (p === '') continue;
    const body = p.replace(/[\r\n]+$/, '');
    // RFC 6350 §3.2: a line beginning with one space or tab continues the previous one.
    if ((body.startsWith(' ') || body.startsWith('\t')) && raw !== '') {
      raw += p;
      unfolded += body.slice(1);
    } else {
      flush();
      raw = p;
      unfolded = body;
    }
  }
  flush();
  return out;
}

/** One unfolded content line: [group "."] name *(";" param) ":" value; null when there is no colon. */
export function parseLine(line: string): Omit<ContentLine, 'raw'> | null {
  let i = 0;
  while (i < line.length && line[i] !== ';' && line[i] !== ':') i++;
  if (i >= line.length) return null;
  const fullName = line.slice(0, i);
  const dot = fullName.lastIndexOf('.');
  const group = dot >= 0 ? fullName.slice(0, dot) : null;
  const name = (dot >= 0 ? fullName.slice(dot + 1) : fullName).toUpperCase();
  const params = new Map<string, string[]>();
  let bareParam = false;
  while (line[i] === ';') {
    i++;
    let j = i;
    while (j < line.length && !'=;:'.includes(line[j]!)) j++;
    const pname = line.slice(i, j).toUpperCase();
    i = j;
    if (line[i] !== '=') {
      // vCard 2.1 style bare parameter (TEL;CELL:…) is a TYPE value.
      if (pname) addParam(params, 'TYPE', [pname]);
      bareParam = true;
      continue;
    }
    i++;
    const values: string[] = [];
    for (;;) {
      if (line[i] === '"') {
        const end = line.indexOf('"', i + 1);
        if (end < 0) return null;
        const v = line.slice(i + 1, end);
        i = end + 1;
        // A quoted TYPE list (TYPE="work,voice") still lists several values (RFC 6350 §5.6).
        if (pname === 'TYPE') values.push(...v.split(',').map(decodeCaret));
        else values.push(decodeCaret(v));
      } else {
        let j2 = i;
        while (j2 < line.length && !',;:'.includes(line[j2]!)) j2++;
        values.push(decodeCaret(line.slice(i, j2)));
        i = j2;
      }
      if (line[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    addParam(params, pname, values);
  }
  if (line[i] !== ':') return null;
  const parsed: Omit<ContentLine, 'raw'> = { group, name, params, value: line.slice(i + 1) };
  if (bareParam) parsed.bareParam = true;
  return parsed;
}

function addParam(params: Map<string, string[]>, name: string, values: string[]): void {
  const had = params.get(name);
  if (had) had.push(...values);
  else params.set(name, [...values]);
}

/** RFC 6868 parameter value encoding: ^n newline, ^' double quote, ^^ caret. */
function decodeCaret(v: string): string {
  return v.includes('^') ? v.replace(/\^(n|N|'|\^)/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c === "'" ? '"' : '^')) : v;
}

function encodeCaret(v: string): string {
  return v.replace(/\^/g, '^^').replace(/\n/g, '^n').replace(/"/g, "^'");
}

/** Text value unescaping (RFC 6350 §3.4, RFC 2426 §4): \\ \, \; \n/\N; the whole value, separators included. */
export function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

export function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/,/g, '\\,').replace(/;/g, '\\;');
}

/** Property name without a group, as a filter or selection names it ("item1.TEL" → "TEL"). */
export function bareName(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot >= 0 ? name.slice(dot + 1) : name).toUpperCase();
}

/** The line break the text uses (CRLF unless it only ever uses LF). */
export function lineBreakOf(text: string): string {
  return text.includes('\r\n') || !text.includes('\n') ? '\r\n' : '\n';
}

/**
 * Writes a content line (for converted properties only): parameters quoted when they hold
 * `:;,` and, for vCard 4, RFC 6868 caret encoding; folded at 75 octets (RFC 6350 §3.2)
 * without splitting a UTF-8 sequence.
 */
export function serialiseLine(
  line: { group: string | null; name: string; params: Map<string, string[]>; value: string },
  version: '3.0' | '4.0',
  eol: string,
): string {
  let s = (line.group ? `${line.group}.` : '') + line.name;
  for (const [name, values] of line.params) {
    const vs = values.map((v) => {
      const enc = version === '4.0' ? encodeCaret(v) : v.replace(/"/g, "'");
      return /[:;,]/.test(enc) ? `"${enc}"` : enc;
    });
    s += `;${name}=${vs.join(',')}`;
  }
  s += `:${line.value}`;
  return fold(s, eol);
}

function fold(line: string, eol: string): string {
  if (Buffer.byteLength(line, 'utf8') <= 75) return line + eol;
  const parts: string[] = [];
  let current = '';
  let bytes = 0;
  let limit = 75;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > limit) {
      parts.push(current);
      current = '';
      bytes = 0;
      limit = 74; // continuation lines start with a space
    }
    current += ch;
    bytes += n;
  }
  parts.push(current);
  return parts.join(`${eol} `) + eol;
}
