/**
 * The DAV requests the workloads send and a reader for multistatus answers, written once for all
 * targets: servers differ in namespace prefixes (D:, ns0:, none) and href forms, so answers are
 * parsed as XML, not matched as text.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import { WrongAnswer } from './outcome.js';

const DAV = 'DAV:';
const CALDAV = 'urn:ietf:params:xml:ns:caldav';
const CARDDAV = 'urn:ietf:params:xml:ns:carddav';

export interface MultistatusEntry {
  /** The href's last path segment, decoded ('' for the collection itself). */
  name: string;
  /** The status of the response or of its first successful propstat. */
  ok: boolean;
  /** Text of calendar-data or address-data, when asked for. */
  data?: string;
}

export interface Multistatus {
  entries: MultistatusEntry[];
  syncToken?: string;
}

/** Parses a 207 body; a body that is not a multistatus is a wrong answer. */
export function parseMultistatus(text: string, collectionUrl: string): Multistatus {
  let root: Element | null = null;
  try {
    root = new DOMParser({ onError: () => undefined }).parseFromString(text, 'text/xml').documentElement as Element | null;
  } catch {
    root = null;
  }
  if (!root || root.namespaceURI !== DAV || root.localName !== 'multistatus') throw new WrongAnswer('not a multistatus');
  const collectionPath = new URL(collectionUrl).pathname;
  const entries: MultistatusEntry[] = [];
  for (const response of children(root, DAV, 'response')) {
    const href = children(response, DAV, 'href')[0]?.textContent?.trim() ?? '';
    const path = decodeURIComponent(new URL(href, collectionUrl).pathname);
    const name = samePath(path, collectionPath) ? '' : path.replace(/\/$/, '').split('/').pop()!;
    const direct = children(response, DAV, 'status')[0]?.textContent ?? '';
    const propstats = children(response, DAV, 'propstat');
    const okPropstat = propstats.find((p) => / 200 /.test(children(p, DAV, 'status')[0]?.textContent ?? ''));
    const entry: MultistatusEntry = { name, ok: / 200 /.test(direct) || okPropstat !== undefined };
    const prop = okPropstat && children(okPropstat, DAV, 'prop')[0];
    const data = prop && (children(prop, CALDAV, 'calendar-data')[0] ?? children(prop, CARDDAV, 'address-data')[0]);
    if (data) entry.data = data.textContent ?? '';
    entries.push(entry);
  }
  const syncToken = children(root, DAV, 'sync-token')[0]?.textContent?.trim();
  return syncToken ? { entries, syncToken } : { entries };
}

/** The members' names, without the collection itself. */
export function memberNames(status: Multistatus): string[] {
  return status.entries.filter((e) => e.name !== '').map((e) => e.name);
}

function samePath(a: string, b: string): boolean {
  return a.replace(/\/$/, '') === decodeURIComponent(b).replace(/\/$/, '');
}

function children(parent: Element, ns: string, local: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const el = node as Element;
    if (node.nodeType === 1 && el.namespaceURI === ns && el.localName === local) found.push(el);
  }
  return found;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const bodies = {
  propfindEtag: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>',
  propfindFiles: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontentlength/><D:getlastmodified/><D:resourcetype/></D:prop></D:propfind>',
  mkcalendar: '<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>bench</D:displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>',
  mkAddressBook: '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>bench</D:displayname></D:prop></D:set></D:mkcol>',
  calendarMultiget: (paths: readonly string[]) =>
    `<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>${paths.map((p) => `<D:href>${escape(p)}</D:href>`).join('')}</C:calendar-multiget>`,
  addressbookMultiget: (paths: readonly string[]) =>
    `<?xml version="1.0" encoding="utf-8"?><CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>${paths.map((p) => `<D:href>${escape(p)}</D:href>`).join('')}</CR:addressbook-multiget>`,
  /** RFC 4791 §9.9: VEVENTs with an instance overlapping [start, end). */
  timeRangeQuery: (start: string, end: string) =>
    `<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
  /** RFC 6352 §10.5: cards whose property contains `text` (default collation i;unicode-casemap). */
  containsQuery: (property: string, text: string) =>
    `<?xml version="1.0" encoding="utf-8"?><CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="${property}"><CR:text-match match-type="contains">${escape(text)}</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>`,
  /** RFC 6578 §3.2; an empty token asks for the initial full listing. */
  syncCollection: (token: string) =>
    `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${escape(token)}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`,
};

export const xmlHeaders = { 'Content-Type': 'application/xml; charset=utf-8' };
