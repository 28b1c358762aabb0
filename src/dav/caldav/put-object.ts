import { createHash } from 'node:crypto';
import { calendarSettings, findUidOwner, saveCalendarObject } from '../../store/calendars.js';
import { fileEtag, insertNode, lockMember, updateContent } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { evaluateConditions } from '../conditional.js';
import { DavError } from '../errors.js';
import { readTextBody } from '../body.js';
import { checkPreconditions, type WriteScope } from '../locks/guard.js';
import { lockPath, spaceHref } from '../paths.js';
import { CALDAV, DAV } from '../xml/names.js';
import { el, escapeXml } from '../xml/write.js';
import { MAX_RESOURCE_SIZE } from './calendar-properties.js';
import { CalendarDataError, parseCalendarObject, type ComponentType } from './ical/object.js';

export const CALENDAR_CONTENT_TYPE = 'text/calendar; charset=utf-8';

/** A CALDAV: precondition failure (RFC 4791 §5.3.2.1): 403 with the condition in DAV:error. */
function refused(condition: string, message: string, conditionBody?: string): DavError {
  return new DavError(403, { condition, ns: CALDAV, message, ...(conditionBody ? { conditionBody } : {}) });
}

/**
 * PUT of a calendar object resource (RFC 4791 §5.3.2): validated and indexed before anything
 * is stored; a refusal stores nothing. If-Match / If-None-Match: * as clients use them to
 * avoid overwriting each other.
 */
export async function putCalendarObject(req: DavRequest): Promise<void> {
  const { koa, deps, user } = req;
  const name = req.segments.at(-1);
  const calendar = req.parent;
  if (name === undefined || !calendar || calendar.kind !== 'calendar' || req.segments.length !== 2) {
    throw new DavError(403, { message: 'calendar objects can only be stored in a calendar' });
  }
  if (req.node && req.node.kind !== 'calendar-object') throw new DavError(405, { message: 'cannot PUT to a collection' });
  const type = koa.get('Content-Type');
  if (type && !/^text\/calendar\s*(;|$)/i.test(type) && !/^application\/octet-stream/i.test(type)) {
    throw refused('supported-calendar-data', 'calendar objects must be text/calendar');
  }
  evaluateConditions(koa, req.node, false);

  let text: string;
  try {
    text = await readTextBody(koa, MAX_RESOURCE_SIZE);
  } catch (error) {
    if (error instanceof DavError && error.status === 413) throw refused('max-resource-size', `calendar objects are limited to ${MAX_RESOURCE_SIZE} bytes`);
    throw error;
  }
  const settings = (await calendarSettings(deps.db, user.id, [calendar.id])).get(calendar.id);
  let index;
  try {
    index = parseCalendarObject(text, {
      supportedComponents: (settings?.components ?? []) as ComponentType[],
      ...(settings?.timezone ? { defaultTimezone: settings.timezone } : {}),
    });
  } catch (error) {
    if (error instanceof CalendarDataError) throw refused(error.condition, error.message);
    throw error;
  }

  const bytes = Buffer.byteLength(text);
  const content = { blobSha256: null, size: bytes, contentType: CALENDAR_CONTENT_TYPE, etag: fileEtag(createHash('sha256').update(text).digest('hex')) };
  const path = lockPath(req.space, req.segments);
  const { node, created } = await deps.db.transaction(async (tx) => {
    const { parent, member } = await lockMember(tx, user.id, calendar.id, name);
    if (!parent) throw new DavError(409, { message: 'the calendar was removed' });
    evaluateConditions(koa, member, false);
    const scopes: WriteScope[] = member ? [{ path }] : [{ path }, { path: lockPath(req.space, req.segments.slice(0, -1)) }];
    await checkPreconditions(req, tx, scopes);
    const other = await findUidOwner(tx, user.id, calendar.id, index.uid, member?.id);
    if (other !== undefined) {
      // §5.3.2.1 no-uid-conflict names the resource that already has the UID.
      const href = spaceHref(req.prefix, req.space, user.name, [...req.segments.slice(0, -1), other], false);
      throw refused('no-uid-conflict', `UID ${index.uid} is already used in this calendar`, el(DAV, 'href', escapeXml(href)));
    }
    const node = member
      ? await updateContent(tx, member, content)
      : await insertNode(tx, { userId: user.id, parentId: calendar.id, name, kind: 'calendar-object', ...content });
    await saveCalendarObject(tx, node, calendar.id, index, text);
    return { node, created: !member };
  });
  koa.set('ETag', node.etag);
  koa.set('Last-Modified', node.modifiedAt.toUTCString());
  koa.status = created ? 201 : 204;
}
