/**
 * Reads 207 Multi-Status bodies (RFC 4918 §13) into plain maps, for tests that compare what
 * PROPFIND, REPORTs and GET say about the same members.
 */
import assert from 'node:assert/strict';
import { DOMParser, type Element } from '@xmldom/xmldom';

export interface MemberState {
  /** The response's status, or its first propstat's when it has propstats. */
  status: number;
  /** DAV:getetag, when returned with 200. */
  etag?: string;
}

export interface Multistatus {
  /** Per href (as written, percent-encoded), each href at most once. */
  members: Map<string, MemberState>;
  /** DAV:sync-token of a sync-collection answer. */
  syncToken?: string;
}

const childElements = (parent: Element, local?: string): Element[] =>
  Array.from(parent.childNodes).filter(
    (n): n is Element => n.nodeType === 1 && (local === undefined || ((n as Element).localName === local && (n as Element).namespaceURI === 'DAV:')),
  );
const statusOf = (el: Element): number => Number(/HTTP\/1\.1 (\d{3})/.exec(el.textContent ?? '')?.[1] ?? NaN);

export function parseMultistatus(text: string): Multistatus {
  const root = new DOMParser().parseFromString(text, 'text/xml').documentElement;
  assert.ok(root && root.localName === 'multistatus', `not a multistatus: ${text.slice(0, 200)}`);
  const members = new Map<string, MemberState>();
  for (const response of childElements(root, 'response')) {
    const href = childElements(response, 'href')[0]?.textContent ?? '';
    assert.ok(!members.has(href), `${href} appears once in the multistatus`);
    const status = childElements(response, 'status')[0];
    if (status) {
      members.set(href, { status: statusOf(status) });
      continue;
    }
    const state: MemberState = { status: 0 };
    for (const propstat of childElements(response, 'propstat')) {
      const code = statusOf(childElements(propstat, 'status')[0]!);
      if (state.status === 0) state.status = code;
      for (const prop of childElements(childElements(propstat, 'prop')[0]!)) {
        if (code === 200 && prop.localName === 'getetag') state.etag = prop.textContent ?? '';
      }
    }
    members.set(href, state);
  }
  const token = childElements(root, 'sync-token')[0]?.textContent;
  return token ? { members, syncToken: token } : { members };
}

export const PROPFIND_ETAG = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>';

export const syncCollectionBody = (token: string) =>
  `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token>` +
  `<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

export const CALENDAR_QUERY_EVENTS =
  '<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">' +
  '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>';

/** A minimal VEVENT with the given UID and summary, CRLF line ends (RFC 5545 §3.1). */
export function eventText(uid: string, summary: string, start = '20250601T090000Z'): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Davenport tests//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20250101T000000Z',
    `DTSTART:${start}`,
    'DURATION:PT1H',
    `SUMMARY:${summary}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
