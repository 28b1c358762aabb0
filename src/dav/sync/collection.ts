import { memberChanges, type MemberChange } from '../../store/changes.js';
import { isCollection } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { parseDepth, propstats, type PropfindRequest } from '../methods/propfind.js';
import { multistatus, propstatResponse, statusResponse } from '../multistatus.js';
import { lockPath, spaceHref } from '../paths.js';
import { PropertyScope, type PropertyTarget } from '../properties/registry.js';
import { reports, type ReportDefinition } from '../reports/registry.js';
import { DAV } from '../xml/names.js';
import { child, children, textContent, type Element } from '../xml/parse.js';
import { davEl, escapeXml } from '../xml/write.js';
import { formatSyncToken, parseSyncToken, type SyncPosition } from './token.js';

/** What a DAV:sync-collection body asks for (RFC 6578 §6.1). */
export interface SyncCollectionRequest {
  /** The client's token; undefined (empty element) for an initial sync (§3.4). */
  token: string | undefined;
  level: '1' | 'infinite';
  /** DAV:limit/DAV:nresults (§3.7, RFC 5323 §5.17). */
  limit: number | undefined;
  prop: PropfindRequest;
}

export function parseSyncCollection(body: Element): SyncCollectionRequest {
  const tokenEl = child(body, DAV, 'sync-token');
  const token = tokenEl ? textContent(tokenEl).trim() : '';
  // §3.3 makes sync-level mandatory; a body without one (clients of the drafts) means "1".
  const levelEl = child(body, DAV, 'sync-level');
  const level = levelEl ? textContent(levelEl).trim() : '1';
  if (level !== '1' && level !== 'infinite') throw new DavError(400, { message: `unknown sync-level "${level}"` });

  let limit: number | undefined;
  const limitEl = child(body, DAV, 'limit');
  if (limitEl) {
    const nresults = child(limitEl, DAV, 'nresults');
    const text = nresults ? textContent(nresults).trim() : '';
    // A limit of 0 could never make progress: each answer would resume where it started.
    if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new DavError(400, { message: 'limit needs an nresults of 1 or more' });
    limit = Number(text);
  }
  // The DTD requires DAV:prop; without one, members are reported by href only.
  const prop = child(body, DAV, 'prop');
  return { token: token === '' ? undefined : token, level, limit, prop: { kind: 'prop', names: prop ? children(prop) : [] } };
}

/**
 * The position a client's token names, if it is valid for this collection now (§3.2,
 * DAV:valid-sync-token): ours, of this very collection (not one deleted and re-created under
 * the same URL, whose node id differs), and not ahead of it. Anything else is refused with
 * 403 so that clients (DAVx5, TbSync) fall back to an initial sync.
 */
function validPosition(text: string, collectionId: number, current: number): SyncPosition {
  const position = parseSyncToken(text);
  if (!position || position.collectionId !== collectionId || position.token > current) {
    throw new DavError(403, { condition: 'valid-sync-token', message: 'unknown or outdated sync token; sync again without one' });
  }
  return position;
}

/**
 * REPORT DAV:sync-collection (RFC 6578 §3) on any collection: plain ones, calendars and
 * address books alike, read from the change log in one query.
 *
 * - Depth: §3.2 defines the report for Depth 0 only (the default when absent, RFC 3253 §3.6)
 *   and answers other values with 400. Depth 1 is accepted too: iOS has been seen sending it,
 *   and the drafts before the RFC scoped this report with it. Depth infinity is a 400.
 * - sync-level infinite (§3.3) is answered like 1 for the members that are not collections;
 *   a member collection is reported with 403 and DAV:sync-traversal-supported, which tells
 *   the client to synchronise it by itself. Calendars and address books hold no collections,
 *   so there the two levels agree.
 */
async function syncCollection(req: DavRequest, body: Element): Promise<void> {
  parseDepth(req.koa.get('Depth') || undefined, 0, [0, 1]);
  const collection = req.node!;
  const request = parseSyncCollection(body);
  const from = request.token === undefined ? undefined : validPosition(request.token, collection.id, collection.syncToken);

  // One row more than the limit tells whether the answer is truncated (§3.6).
  const rows = await memberChanges(req.deps.db, req.user.id, collection.id, {
    since: from?.token,
    afterId: from?.afterId,
    upTo: collection.syncToken,
    limit: request.limit === undefined ? undefined : request.limit + 1,
  });
  const truncated = request.limit !== undefined && rows.length > request.limit;
  const page = truncated ? rows.slice(0, request.limit) : rows;

  const hrefOf = (name: string, collectionMember: boolean) =>
    spaceHref(req.prefix, req.space, req.user.name, [...req.segments, name], collectionMember);
  const reported = (row: MemberChange) => row.node !== undefined && !(request.level === 'infinite' && isCollection(row.node));
  const targets = new Map<MemberChange, PropertyTarget>();
  for (const row of page) {
    if (!reported(row)) continue;
    const member = isCollection(row.node);
    targets.set(row, {
      href: hrefOf(row.name, member),
      isCollection: member,
      name: row.name,
      node: row.node!,
      lockPath: lockPath(req.space, [...req.segments, row.name]),
    });
  }
  const scope = new PropertyScope(req.deps.db, req.user.id, req, [...targets.values()]);

  const responses: string[] = [];
  for (const row of page) {
    const target = targets.get(row);
    if (target) {
      const groups = propstats(target, request.prop, scope);
      responses.push(propstatResponse(target.href, groups instanceof Promise ? await groups : groups));
    }
    // §3.5.2: a removed member is a response with a 404 status and no propstat, at the href it
    // was reported with (a collection's ends in "/").
    else if (!row.node) responses.push(statusResponse(hrefOf(row.name, row.removedCollection), 404));
    else responses.push(statusResponse(hrefOf(row.name, true), 403, davEl('sync-traversal-supported')));
  }

  let next: SyncPosition = { collectionId: collection.id, token: collection.syncToken };
  if (truncated) {
    // §3.6: a 507 for the request URI, and a token for exactly what was returned, so that the
    // next request continues after the last member reported.
    const self = spaceHref(req.prefix, req.space, req.user.name, req.segments, true);
    responses.push(statusResponse(self, 507, davEl('number-of-matches-within-limits')));
    const last = page.at(-1)!;
    next = last.rank > 0 ? { collectionId: collection.id, token: last.rank } : { collectionId: collection.id, token: 0, afterId: last.node!.id };
  }
  req.koa.status = 207;
  req.koa.type = 'application/xml; charset=utf-8';
  req.koa.body = multistatus(responses, davEl('sync-token', escapeXml(formatSyncToken(next))));
}

export const syncCollectionReport: ReportDefinition = {
  ns: DAV,
  local: 'sync-collection',
  appliesTo: (_space, node) => isCollection(node),
  run: syncCollection,
};

reports.register(syncCollectionReport);
