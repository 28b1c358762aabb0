/** The namespaces Davenport speaks, and Clark notation ({ns}local) for qualified names. */
export const DAV = 'DAV:';
export const CALDAV = 'urn:ietf:params:xml:ns:caldav';
export const CARDDAV = 'urn:ietf:params:xml:ns:carddav';
export const CALSERVER = 'http://calendarserver.org/ns/';
export const APPLE_ICAL = 'http://apple.com/ns/ical/';

export interface QName {
  ns: string;
  local: string;
}

export function clark(ns: string, local: string): string {
  return `{${ns}}${local}`;
}
