import { calendarSettings, findUidOwner, saveCalendarObject, type CalendarObjectIndex } from '../../store/calendars.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { putTextObject, type TextObjectKind } from '../methods/put-text.js';
import { CALDAV } from '../xml/names.js';
import { MAX_RESOURCE_SIZE } from './calendar-properties.js';
import { CalendarDataError, parseCalendarObject, type ComponentType } from './ical/object.js';

export const CALENDAR_CONTENT_TYPE = 'text/calendar; charset=utf-8';

/** Calendar object resources (RFC 4791 §5.3.2): validated against the calendar's components and time zone. */
const calendarObjects: TextObjectKind<CalendarObjectIndex> = {
  collectionKind: 'calendar',
  objectKind: 'calendar-object',
  ns: CALDAV,
  contentType: CALENDAR_CONTENT_TYPE,
  accepts: /^text\/calendar\s*(;|$)/i,
  unsupportedCondition: 'supported-calendar-data',
  maxSize: MAX_RESOURCE_SIZE,
  async validate(req, calendar, text) {
    const settings = (await calendarSettings(req.deps.db, req.user.id, [calendar.id])).get(calendar.id);
    try {
      return parseCalendarObject(text, {
        supportedComponents: (settings?.components ?? []) as ComponentType[],
        ...(settings?.timezone ? { defaultTimezone: settings.timezone } : {}),
      });
    } catch (error) {
      if (error instanceof CalendarDataError) throw new DavError(403, { condition: error.condition, ns: CALDAV, message: error.message });
      throw error;
    }
  },
  uidOwner: (tx, calendar, uid, except) => findUidOwner(tx, calendar.userId, calendar.id, uid, except),
  save: (tx, node, calendar, index, text) => saveCalendarObject(tx, node, calendar.id, index, text),
};

/** PUT into a calendar. */
export const putCalendarObject = (req: DavRequest) => putTextObject(req, calendarObjects);
