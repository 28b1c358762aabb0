import { calendarObjectBatcher } from '../../store/calendar-batches.js';
import { CALENDAR_UID_KEY, calendarObjectRow, calendarSettings, findUidOwner, type CalendarObjectIndex, type CalendarSettings } from '../../store/calendars.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { putTextObject, type TextObjectKind } from '../methods/put-text.js';
import { CALDAV } from '../xml/names.js';
import { MAX_RESOURCE_SIZE } from './calendar-properties.js';
import { CalendarDataError, parseCalendarObject, type ComponentType } from './ical/object.js';

export const CALENDAR_CONTENT_TYPE = 'text/calendar; charset=utf-8';

/**
 * Calendar object resources (RFC 4791 §5.3.2): validated against the calendar's components and
 * time zone, read by validate() unless `settings` are the calendar's, read already.
 */
function calendarObjectKind(settings?: CalendarSettings): TextObjectKind<CalendarObjectIndex> {
  return {
    collectionKind: 'calendar',
    objectKind: 'calendar-object',
    ns: CALDAV,
    contentType: CALENDAR_CONTENT_TYPE,
    accepts: /^text\/calendar\s*(;|$)/i,
    unsupportedCondition: 'supported-calendar-data',
    maxSize: MAX_RESOURCE_SIZE,
    async validate(q, calendar, text) {
      const known = settings ?? (await calendarSettings(q, calendar.userId, [calendar.id])).get(calendar.id);
      // PostgreSQL text cannot hold NUL, and iCalendar never has one (RFC 5545 §3.1).
      if (text.includes('\0')) throw new DavError(403, { condition: 'valid-calendar-data', ns: CALDAV, message: 'NUL characters are not allowed in iCalendar' });
      try {
        return parseCalendarObject(text, {
          supportedComponents: (known?.components ?? []) as ComponentType[],
          ...(known?.timezone ? { defaultTimezone: known.timezone } : {}),
        });
      } catch (error) {
        if (error instanceof CalendarDataError) throw new DavError(403, { condition: error.condition, ns: CALDAV, message: error.message });
        // ical.js decodes values lazily, so a malformed one (e.g. VERSION;VALUE=DATE:2.0) throws a
        // plain Error in the middle of validation: the data is invalid, the server is not at fault.
        if (error instanceof Error && !(error instanceof DavError)) throw new DavError(403, { condition: 'valid-calendar-data', ns: CALDAV, message: `not valid iCalendar: ${error.message}` });
        throw error;
      }
    },
    uidKey: CALENDAR_UID_KEY,
    uidOwner: (tx, calendar, uid, except) => findUidOwner(tx, calendar.userId, calendar.id, uid, except),
    rows: (calendar, index, text) => calendarObjectRow(calendar.id, index, text),
    writeBatched: (db, calendar, name, content, index, data, expected) =>
      calendarObjectBatcher(db).write({ userId: calendar.userId, id: calendar.id, kind: calendar.kind }, { name, expected, content, index, data }),
  };
}

export const calendarObjects = calendarObjectKind();

/** PUT into a calendar; the settings usually came with the path (dispatch.ts). */
export const putCalendarObject = (req: DavRequest) => putTextObject(req, req.parentCalendar ? calendarObjectKind(req.parentCalendar) : calendarObjects);
