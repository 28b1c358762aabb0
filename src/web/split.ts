/**
 * Splits iCalendar (RFC 5545) and vCard (RFC 6350) files of many entries into their top-level
 * components by content lines alone, keeping each entry's bytes as written and the line it
 * starts on, so one broken entry is reported by line while the others go on.
 */

/** One logical content line (RFC 5545 §3.1: folded lines joined) and where it starts. */
interface ContentLine {
  /** 1-based line number in the file of the first physical line. */
  line: number;
  /** The physical lines, as written (without their line breaks). */
  raw: string[];
  /** Name in upper case without a vCard group ('item1.'); '' when the line is not a content line. */
  name: string;
  /** Parameters as written, each with its leading ';'. */
  params: string;
  value: string;
}

function contentLines(text: string): ContentLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const lines: ContentLine[] = [];
  physical.forEach((raw, i) => {
    if ((raw.startsWith(' ') || raw.startsWith('\t')) && lines.length > 0) {
      lines.at(-1)!.raw.push(raw);
      return;
    }
    if (raw.trim() === '') return;
    lines.push({ line: i + 1, raw: [raw], name: '', params: '', value: '' });
  });
  for (const l of lines) {
    const unfolded = l.raw.map((r, i) => (i === 0 ? r : r.slice(1))).join('');
    // Name, then parameters (quoted values may hold ':' or ';'), then ':' and the value.
    const match = /^([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)?)((?:;[^:"]*(?:"[^"]*"[^:"]*)*)*):(.*)$/.exec(unfolded);
    if (match) {
      l.name = match[1]!.toUpperCase().replace(/^[^.]+\./, '');
      l.params = match[2]!;
      l.value = match[3]!;
    }
  }
  return lines;
}

/** One top-level component: VEVENT, VTODO, VTIMEZONE, VCARD… */
export interface Component {
  type: string;
  line: number;
  /** UID of the component (TZID for a VTIMEZONE), if it has one. */
  uid: string | undefined;
  /** Its content lines as written, CRLF-terminated. */
  text: string;
  /** Time zone ids its properties refer to (TZID parameters). */
  tzids: string[];
}

export interface SplitError {
  line: number;
  message: string;
}

export interface SplitResult {
  components: Component[];
  /** Calendar properties (PRODID, VERSION, CALSCALE…) of the first VCALENDAR, as written. */
  calendarProperties: string[];
  errors: SplitError[];
}

/**
 * Top-level components inside `container` (VCALENDAR), or at the top when there is none
 * (VCARD files). Several containers one after another are read as one.
 */
export function splitComponents(text: string, container: 'VCALENDAR' | undefined): SplitResult {
  const result: SplitResult = { components: [], calendarProperties: [], errors: [] };
  let inContainer = !container;
  let containers = 0;
  let current: { type: string; line: number; lines: ContentLine[]; stack: string[]; broken?: SplitError } | undefined;

  for (const l of contentLines(text)) {
    if (!l.name && !current) {
      result.errors.push({ line: l.line, message: 'not a content line' });
      continue;
    }
    const value = l.value.trim().toUpperCase();
    if (current) {
      current.lines.push(l);
      if (!l.name) current.broken ??= { line: l.line, message: 'not a content line' };
      else if (l.name === 'BEGIN') current.stack.push(value);
      else if (l.name === 'END') {
        const open = current.stack.lastIndexOf(value);
        if (open === -1) current.broken ??= { line: l.line, message: `END:${value} without BEGIN:${value}` };
        else {
          if (open !== current.stack.length - 1) current.broken ??= { line: l.line, message: `BEGIN:${current.stack.at(-1)} is not closed` };
          current.stack.length = open;
        }
        if (current.stack.length === 0) {
          if (current.broken) result.errors.push({ line: current.broken.line, message: `${current.type} starting on line ${current.line}: ${current.broken.message}` });
          else result.components.push(finish(current.type, current.line, current.lines));
          current = undefined;
        }
      }
      continue;
    }
    if (container && !inContainer) {
      if (l.name === 'BEGIN' && value === container) {
        inContainer = true;
        containers++;
      } else result.errors.push({ line: l.line, message: `expected BEGIN:${container}` });
      continue;
    }
    if (container && l.name === 'END' && value === container) {
      inContainer = false;
      continue;
    }
    if (l.name === 'BEGIN') {
      current = { type: value, line: l.line, lines: [l], stack: [value] };
      continue;
    }
    if (container && containers === 1) result.calendarProperties.push(l.raw.join('\r\n'));
    else if (!container) result.errors.push({ line: l.line, message: 'a property outside any entry' });
  }
  if (current) result.errors.push({ line: current.line, message: `${current.type} is not closed (END:${current.type} missing)` });
  else if (container && inContainer && containers > 0) result.errors.push({ line: 0, message: `END:${container} missing at the end` });
  return result;
}

function finish(type: string, line: number, lines: ContentLine[]): Component {
  let uid: string | undefined;
  const tzids = new Set<string>();
  let depth = 0;
  for (const l of lines) {
    if (l.name === 'BEGIN') depth++;
    else if (l.name === 'END') depth--;
    // The component's own UID (or a VTIMEZONE's TZID), not one of a nested VALARM.
    else if (depth === 1 && l.name === (type === 'VTIMEZONE' ? 'TZID' : 'UID')) uid ??= l.value.trim();
    for (const m of l.params.matchAll(/;TZID=("([^"]*)"|[^;:]*)/gi)) tzids.add(m[2] ?? m[1]!);
  }
  return { type, line, uid: uid || undefined, text: lines.map((l) => l.raw.join('\r\n') + '\r\n').join(''), tzids: [...tzids] };
}
