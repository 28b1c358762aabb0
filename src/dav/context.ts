import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { CalendarSettings } from '../store/calendars.js';
import type { Database } from '../store/db.js';
import type { Node } from '../store/nodes.js';
import type { Space } from './paths.js';

/** What the server is built from; created once in main.ts and shared by every request. */
export interface ServerDeps {
  config: Config;
  db: Database;
  blobs: BlobStore;
  log: Logger;
}

/**
 * One DAV request on a user's space, once the path has been decoded, the user authenticated
 * and authorised, and the target looked up.
 */
export interface DavRequest {
  koa: Koa.Context;
  deps: ServerDeps;
  user: AuthUser;
  space: Space;
  /** Names below the user's home. */
  segments: string[];
  /** Whether the request path ended with '/'. */
  trailingSlash: boolean;
  /**
   * Set when the target was not looked up (a PUT of a small file, whose batch finds its folder by
   * path: methods/put.ts putSkipsLookup); node and parent are then undefined until the handler
   * looks them up itself.
   */
  unresolved?: true | undefined;
  /** The stored resource at the target, if any. */
  node: Node | undefined;
  /** The stored collection that holds (or would hold) the target, if any. */
  parent: Node | undefined;
  /** The target's text, read with it for a GET or HEAD when the database keeps it (a calendar object, a vCard). */
  text?: string | undefined;
  /** The parent's settings, read with it for a PUT when the parent is a calendar. */
  parentCalendar?: CalendarSettings | undefined;
  /** BASE_URL's path, '/' by default; every href starts with it. */
  prefix: string;
}

export type MethodHandler = (req: DavRequest) => Promise<void>;
