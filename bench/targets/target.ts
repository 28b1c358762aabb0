/**
 * A server under test, as the workloads see it: where its calendars, address books and files
 * live, how to authenticate, which process to measure and where its data is. Workloads speak
 * plain HTTP/DAV to these URLs, so they run unchanged against every target.
 */
import type { Item } from '../generate.js';

export interface Target {
  /** Column heading, e.g. "Davenport (PGlite)". */
  readonly label: string;
  readonly version: string;
  /** How the server makes a write durable, for the footnote. */
  readonly durability: string;
  /** Davenport's store, which decides whether a store-specific goal applies. */
  readonly store?: 'PGlite' | 'PostgreSQL';
  start(): Promise<RunningTarget>;
}

export interface RunningTarget {
  /** The process whose memory is measured. */
  readonly pid: number;
  /** Everything the server stores on disk lives under here. */
  readonly dataDir: string;
  readonly authorization: string;
  /** Collections where MKCALENDAR creates calendars (URL ending in /). */
  readonly calendarHome: string;
  /** Collections where extended MKCOL creates address books (URL ending in /). */
  readonly addressBookHome: string;
  /** A folder for plain WebDAV files; absent when the server has none. */
  readonly filesFolder?: string;
  /**
   * Loads items into an existing collection in the server's own storage format, for servers
   * too slow to load tens of thousands over HTTP within the run. Absent: loaded by PUT.
   */
  seed?(collectionUrl: string, items: readonly Item[]): Promise<void>;
  /** Bytes stored outside `dataDir` (a PostgreSQL database). */
  externalBytes?(): Promise<number>;
  stop(): Promise<void>;
}
