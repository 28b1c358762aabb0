/**
 * The JSON shapes the web API answers with, shared by the server (src/web) and the pages
 * (src/web/client), so the two cannot drift apart. Types only: nothing here runs.
 */

/** The two spaces whose members the pages manage as named, coloured collections. */
export type CollectionSpace = 'calendars' | 'addressbooks';

export interface CollectionInfo {
  id: number;
  /** The last segment of its URL. */
  name: string;
  displayName: string;
  /** #rrggbb, calendars only. */
  color: string | null;
  /** Calendar objects or vCards it holds. */
  count: number;
  /** Its DAV address (absolute path). */
  href: string;
}

/** What an import did: entries stored as new, entries that replaced the one with their UID, and refusals by line. */
export interface ImportReport {
  created: number;
  updated: number;
  failed: Array<{ line: number; uid?: string; message: string }>;
}

/** What a person types into a device, and the links that spare them the typing. */
export interface DeviceSetup {
  /** The server's public address, e.g. https://example.org/cloud/ */
  serverUrl: string;
  host: string;
  port: number;
  ssl: boolean;
  userName: string;
  /** Absolute path of the user's principal: CalDAV and CardDAV clients discover from it. */
  principalPath: string;
  /** The WebDAV address of the user's files. */
  filesUrl: string;
  /** The same as a dav:// or davs:// address, for GNOME Files and KDE Dolphin. */
  filesDavUrl: string;
  /** A caldav(s):// link that opens DAVx⁵'s login with the address and user filled in. */
  davx5Link: string;
  /** That link as a QR code (an SVG data URL), for the phone's camera. */
  davx5Qr: string;
}
