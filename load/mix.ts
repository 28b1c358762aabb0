/**
 * The request mix of a load run: what calendar, contacts and file clients send most, each kind
 * with its share of the connections and the statuses it must answer with.
 */
import type autocannon from 'autocannon';
import { eventText, type LoadedData } from './data.js';

export interface RequestKind {
  name: string;
  /** Share of the connections. */
  weight: number;
  /** Statuses that count as success; anything else is an error. */
  expected: readonly number[];
  /** A fresh request each time (autocannon's setupRequest). */
  next(): autocannon.Request;
}

const XML = { 'Content-Type': 'application/xml; charset=utf-8' };
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** How many of the pre-loaded events and files the PUTs rewrite (a client editing recent items). */
const REWRITTEN = 100;
/**
 * Each rewrite changes the item, but only between two versions: after the warm-up the run repeats
 * contents the server has seen, so bounded caches keyed by content (parsed iCalendar, filter
 * answers) are as full as they get, and memory that still grows is a leak.
 */
const VERSIONS = 2;

export function requestKinds(data: LoadedData, authorization: string, syncToken: string): RequestKind[] {
  const auth = { Authorization: authorization };
  let writes = 0;
  const caldav = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
  return [
    {
      name: 'PROPFIND folder',
      weight: 5,
      expected: [207],
      next: () => ({
        method: 'PROPFIND',
        path: pick(data.folders),
        headers: { ...auth, ...XML, Depth: '1' },
        body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontentlength/><D:getlastmodified/><D:resourcetype/></D:prop></D:propfind>',
      }),
    },
    {
      name: 'calendar-multiget',
      weight: 4,
      expected: [207],
      next: () => {
        const hrefs = Array.from({ length: 20 }, () => `<D:href>${data.calendar}${pick(data.eventNames)}</D:href>`).join('');
        return {
          method: 'REPORT',
          path: data.calendar,
          headers: { ...auth, ...XML, Depth: '1' },
          body: `<?xml version="1.0"?><C:calendar-multiget ${caldav}><D:prop><D:getetag/><C:calendar-data/></D:prop>${hrefs}</C:calendar-multiget>`,
        };
      },
    },
    {
      name: 'calendar-query',
      weight: 4,
      expected: [207],
      next: () => {
        // One week of 2025, as a calendar app fetching the visible week.
        const start = new Date(Date.UTC(2025, 0, 1) + Math.floor(Math.random() * 51) * 7 * 86_400_000);
        const end = new Date(start.getTime() + 7 * 86_400_000);
        const ical = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
        return {
          method: 'REPORT',
          path: data.calendar,
          headers: { ...auth, ...XML, Depth: '1' },
          body:
            `<?xml version="1.0"?><C:calendar-query ${caldav}><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">` +
            `<C:comp-filter name="VEVENT"><C:time-range start="${ical(start)}" end="${ical(end)}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
        };
      },
    },
    {
      name: 'sync-collection',
      weight: 4,
      expected: [207],
      next: () => ({
        method: 'REPORT',
        path: data.calendar,
        headers: { ...auth, ...XML, Depth: '0' },
        body: `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${syncToken}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`,
      }),
    },
    {
      name: 'addressbook-query',
      weight: 4,
      expected: [207],
      next: () => ({
        method: 'REPORT',
        path: data.addressbook,
        headers: { ...auth, ...XML, Depth: '1' },
        body:
          `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>` +
          `<C:filter><C:prop-filter name="EMAIL"><C:text-match collation="i;unicode-casemap" match-type="contains">person${Math.floor(Math.random() * data.cardNames.length)}@</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`,
      }),
    },
    {
      name: 'GET',
      weight: 7,
      expected: [200],
      next: () => {
        if (Math.random() < 0.5) return { method: 'GET', path: data.calendar + pick(data.eventNames), headers: auth };
        const i = Math.floor(Math.random() * data.fileNames.length);
        return { method: 'GET', path: data.folders[i % data.folders.length]! + data.fileNames[i]!, headers: auth };
      },
    },
    {
      name: 'PUT',
      weight: 4,
      expected: [201, 204],
      next: () => {
        const n = writes++;
        const i = n % Math.min(REWRITTEN, data.eventNames.length);
        // A pass over the rewritten items flips each to its other version.
        const version = Math.floor(n / REWRITTEN) % VERSIONS;
        if (n % 2 === 0) {
          return {
            method: 'PUT',
            path: data.calendar + data.eventNames[i]!,
            headers: { ...auth, 'Content-Type': 'text/calendar; charset=utf-8' },
            body: eventText(`load-${i}`, i, `Event ${i}, version ${version}`),
          };
        }
        return {
          method: 'PUT',
          path: `${data.folders[0]}written-${i}.txt`,
          headers: { ...auth, 'Content-Type': 'text/plain' },
          body: `written ${i}, version ${version}\n`.padEnd(4096, '.'),
        };
      },
    },
  ];
}

/** Splits `connections` among the kinds by weight, at least one each. */
export function shareConnections(kinds: readonly RequestKind[], connections: number): number[] {
  const total = kinds.reduce((sum, k) => sum + k.weight, 0);
  const shares = kinds.map((k) => Math.max(1, Math.floor((connections * k.weight) / total)));
  // Whatever rounding left over goes to the heaviest kinds first.
  const order = kinds.map((_, i) => i).sort((a, b) => kinds[b]!.weight - kinds[a]!.weight);
  for (let k = 0; shares.reduce((a, b) => a + b, 0) < connections; k++) shares[order[k % order.length]!]!++;
  return shares;
}
