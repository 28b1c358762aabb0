import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import { resolvePath, isCollection } from '../store/nodes.js';
import type { DavRequest, MethodHandler, ServerDeps } from './context.js';
import { DavError } from './errors.js';
import { copy, move } from './methods/copymove.js';
import { del } from './methods/delete.js';
import { get } from './methods/get.js';
import { mkcol } from './methods/mkcol.js';
import { answerOptions } from './methods/options.js';
import { propfind } from './methods/propfind.js';
import { proppatch } from './methods/proppatch.js';
import { put, putSkipsLookup } from './methods/put.js';
import { lock, unlock } from './locks/methods.js';
import { parseTarget, type Space, type Target } from './paths.js';
import { answerPrincipal } from './principals.js';
import { report } from './methods/report.js';
import { mkcalendar } from './caldav/mkcalendar.js';
import { putCalendarObject } from './caldav/put-object.js';
import { putCard } from './carddav/put-card.js';
import { answerVirtual } from './virtual.js';
import { limitUploads } from './upload-limit.js';

/** The methods of a user's tree; `Allow` is computed from this table so it cannot drift. */
const METHODS: Record<string, MethodHandler> = {
  GET: get,
  HEAD: get,
  PUT: limitUploads(put),
  DELETE: del,
  MKCOL: mkcol,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  COPY: copy,
  MOVE: move,
  LOCK: lock,
  UNLOCK: unlock,
  REPORT: report,
  MKCALENDAR: mkcalendar,
};

/** Where a space handles a method its own way (a PUT into a calendar stores a calendar object). */
const SPACE_METHODS: Partial<Record<Space, Record<string, MethodHandler>>> = {
  calendars: { PUT: limitUploads(putCalendarObject) },
  addressbooks: { PUT: limitUploads(putCard) },
};

/** Methods that make sense on an unmapped URL; others answer 404 there. */
const ON_UNMAPPED = new Set(['PUT', 'MKCOL', 'MKCALENDAR', 'LOCK', 'OPTIONS']);

export function allowedMethods(space: Space, exists: boolean, collection: boolean): string[] {
  const all = ['OPTIONS', ...Object.keys(METHODS)].filter((m) => m !== 'MKCALENDAR' || space === 'calendars');
  if (!exists) return all.filter((m) => ON_UNMAPPED.has(m));
  return all.filter((m) => !(collection && m === 'PUT') && m !== 'MKCOL' && m !== 'MKCALENDAR');
}

/** Decodes the target of a request; undefined when it is outside the DAV URL space. */
export function targetOf(koa: Koa.Context, prefix: string): Target | undefined {
  const raw = (koa.req.url ?? '/').split('?')[0]!;
  return parseTarget(raw, prefix);
}

/**
 * Routes an authenticated request: virtual collections above the homes, or a user's own tree.
 * Another user's tree is always 404, whether or not it exists.
 */
export async function dispatch(koa: Koa.Context, deps: ServerDeps, user: AuthUser, target: Target, prefix: string): Promise<void> {
  if (target.type === 'virtual') {
    await answerVirtual(koa, deps, user, target, prefix);
    return;
  }
  if (target.owner !== user.name) throw new DavError(404);
  if (target.type === 'principal') {
    await answerPrincipal(koa, deps, user, prefix);
    return;
  }

  // A GET or HEAD of a calendar object or a vCard gets its text in the same statement, a PUT into
  // a calendar the calendar's settings.
  const withText = koa.method === 'GET' || koa.method === 'HEAD';
  const withCalendar = koa.method === 'PUT' && target.space === 'calendars';
  const unresolved = koa.method === 'PUT' && putSkipsLookup(koa, target);
  const { node, parent, text, parentCalendar } = unresolved ? {} : await resolvePath(deps.db, user.id, [target.space, ...target.segments], { withText, withCalendar });
  if (koa.method === 'OPTIONS') {
    answerOptions(koa, allowedMethods(target.space, Boolean(node), isCollection(node)));
    return;
  }
  const handler = SPACE_METHODS[target.space]?.[koa.method] ?? METHODS[koa.method];
  if (!handler) {
    koa.set('Allow', allowedMethods(target.space, Boolean(node), isCollection(node)).join(', '));
    throw new DavError(405);
  }
  // RFC 4918 §5.2: a collection's URL without the trailing slash still names it; a file's URL with
  // one does not name the file.
  if (node && node.kind === 'file' && target.trailingSlash) throw new DavError(404);
  const req: DavRequest = {
    koa,
    deps,
    user,
    space: target.space,
    segments: target.segments,
    trailingSlash: target.trailingSlash,
    unresolved: unresolved || undefined,
    node,
    parent,
    text,
    parentCalendar,
    prefix,
  };
  await handler(req);
}
