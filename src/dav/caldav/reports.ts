import { calendarCandidates, calendarObjectData, calendarSettings } from '../../store/calendars.js';
import type { Queryable } from '../../store/db.js';
import type { Node } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { parseDepth } from '../methods/propfind.js';
import { reports } from '../reports/registry.js';
import { multigetObjects, respondWithObjects, splitReportRequest, type ObjectMatch, type ReportRequest } from '../reports/objects.js';
import { child, type Element } from '../xml/parse.js';
import { CALDAV } from '../xml/names.js';
import { CalendarDataRequestError, parseCalendarDataRequest, renderCalendarData, type CalendarDataRequest } from './ical/calendar-data.js';
import { FilterError, matchesFilter, parseFilter, parseQueryTimezone, prefilter, type CompFilter, type TimeRange } from './ical/filter.js';
import { freeBusy } from './ical/freebusy.js';
import { parseUtc } from './ical/time.js';

/** Floating and all-day times shift by at most this much between time zones (UTC−12 … UTC+14). */
const FLOATING_MARGIN_MS = 14 * 3600 * 1000;

/** A report's property request with CALDAV:calendar-data taken out (only reports answer it, §9.6). */
function splitRequest(body: Element): ReportRequest<CalendarDataRequest> {
  return splitReportRequest(body, CALDAV, 'calendar-data', (el) => {
    try {
      return parseCalendarDataRequest(el);
    } catch (error) {
      // §9.6: a media type or version this server cannot produce.
      if (error instanceof CalendarDataRequestError) {
        throw new DavError(error.condition ? 403 : 400, { ...(error.condition ? { condition: error.condition, ns: CALDAV } : {}), message: error.message });
      }
      throw error;
    }
  });
}

/** Answers with the matched objects, rendering calendar-data in the floating-time zone when asked. */
function respond(req: DavRequest, q: Queryable, matches: ObjectMatch[], request: ReportRequest<CalendarDataRequest>, missing: string[], timezone: string | undefined): Promise<void> {
  const render = (text: string) => renderCalendarData(text, request.data!, timezone ? { defaultTimezone: timezone } : {});
  return respondWithObjects(req, q, matches, request, { ns: CALDAV, local: 'calendar-data', render }, missing);
}

/** calendar-multiget (RFC 4791 §7.9): the named objects, in one query for their data. */
async function calendarMultiget(req: DavRequest, body: Element): Promise<void> {
  const request = splitRequest(body);
  const { found, missing } = await multigetObjects(req, body, 'calendar-object');
  await respond(req, req.deps.db, found, request, missing, await calendarTimezone(req, req.node));
}

/** The time zone for floating times: the query's CALDAV:timezone, else the calendar's (§7.8, §5.2.2). */
async function calendarTimezone(req: DavRequest, calendar: Node | undefined, body?: Element): Promise<string | undefined> {
  const given = body && child(body, CALDAV, 'timezone');
  if (given) {
    try {
      return parseQueryTimezone(given);
    } catch (error) {
      if (error instanceof FilterError) throw new DavError(403, { condition: error.condition, ns: CALDAV, message: error.message });
      throw error;
    }
  }
  if (!calendar || calendar.kind !== 'calendar') return undefined;
  return (await calendarSettings(req.deps.db, req.user.id, [calendar.id])).get(calendar.id)?.timezone ?? undefined;
}

function filterOf(body: Element): CompFilter {
  const element = child(body, CALDAV, 'filter');
  if (!element) throw new DavError(403, { condition: 'valid-filter', ns: CALDAV, message: 'calendar-query needs a filter' });
  try {
    return parseFilter(element);
  } catch (error) {
    if (error instanceof FilterError) throw new DavError(403, { condition: error.condition, ns: CALDAV, message: error.message });
    throw error;
  }
}

/** Whether a candidate's index alone decides it: a single instance clearly inside or outside the range. */
function decidedByIndex(c: { firstStart: Date | null; lastEnd: Date | null; recurring: boolean }, range: TimeRange): boolean {
  if (c.recurring || !c.firstStart || !c.lastEnd) return false;
  const start = range.start?.getTime() ?? -Infinity;
  const end = range.end?.getTime() ?? Infinity;
  return c.firstStart.getTime() >= start + FLOATING_MARGIN_MS && c.lastEnd.getTime() <= end - FLOATING_MARGIN_MS;
}

/**
 * calendar-query (RFC 4791 §7.8). The index selects candidates by component type and time
 * range (widened for floating times); only those the index cannot decide are parsed.
 */
async function calendarQuery(req: DavRequest, body: Element): Promise<void> {
  const request = splitRequest(body);
  const filter = filterOf(body);
  const node = req.node!;
  const { db } = req.deps;
  const calendar = node.kind === 'calendar' ? node : undefined;
  const timezone = await calendarTimezone(req, calendar ?? req.parent, body);
  const options = timezone ? { defaultTimezone: timezone } : {};
  // Validated, but Depth 0 on a calendar is read as 1: Microsoft's clients send the wrong Depth on REPORT.
  parseDepth(req.koa.get('Depth') || undefined, 0);

  let matches: ObjectMatch[] = [];
  if (node.kind === 'calendar-object') {
    const data = (await calendarObjectData(db, req.user.id, [node.id])).get(node.id) ?? '';
    if (matchesFilter(data, filter, options)) matches = [{ node, segments: req.segments, data }];
  } else if (calendar) {
    const pre = prefilter(filter);
    const range = pre.timeRange;
    const widened = {
      ...(pre.componentType ? { componentType: pre.componentType } : {}),
      ...(range?.start ? { start: new Date(range.start.getTime() - FLOATING_MARGIN_MS) } : {}),
      ...(range?.end ? { end: new Date(range.end.getTime() + FLOATING_MARGIN_MS) } : {}),
    };
    const candidates = await calendarCandidates(db, req.user.id, calendar.id, widened);
    const certain = (c: (typeof candidates)[number]) => pre.exact && (!range || decidedByIndex(c, range));
    // Text only where it is needed: to decide a candidate, or to return it as calendar-data.
    const needed = candidates.filter((c) => request.data || !certain(c)).map((c) => c.node.id);
    const texts = await calendarObjectData(db, req.user.id, needed);
    for (const c of candidates) {
      const data = texts.get(c.node.id) ?? '';
      if (certain(c) || matchesFilter(data, filter, options)) matches.push({ node: c.node, segments: [...req.segments, c.node.name], data });
    }
  }
  await respond(req, db, matches, request, [], timezone);
}

/** free-busy-query (RFC 4791 §7.10): a VFREEBUSY for the range over the calendar's events. */
async function freeBusyQuery(req: DavRequest, body: Element): Promise<void> {
  const element = child(body, CALDAV, 'time-range');
  const start = element?.getAttribute('start');
  const end = element?.getAttribute('end');
  const range = { start: (start && parseUtc(start)) || undefined, end: (end && parseUtc(end)) || undefined };
  if (!range.start || !range.end || range.end <= range.start) throw new DavError(400, { message: 'free-busy-query needs a time-range with start before end' });
  const calendar = req.node!;
  if (calendar.kind !== 'calendar') throw new DavError(403, { message: 'free-busy-query runs on a calendar' });
  const timezone = await calendarTimezone(req, calendar);
  const objects: string[] = [];
  for (const componentType of ['VEVENT', 'VFREEBUSY']) {
    const candidates = await calendarCandidates(req.deps.db, req.user.id, calendar.id, {
      componentType,
      start: new Date(range.start.getTime() - FLOATING_MARGIN_MS),
      end: new Date(range.end.getTime() + FLOATING_MARGIN_MS),
    });
    objects.push(...(await calendarObjectData(req.deps.db, req.user.id, candidates.map((c) => c.node.id))).values());
  }
  req.koa.status = 200;
  req.koa.type = 'text/calendar; charset=utf-8';
  req.koa.body = freeBusy(objects, { start: range.start, end: range.end }, timezone ? { defaultTimezone: timezone } : {});
}

const inCalendars = (space: string, node: Node) => space === 'calendars' && (node.kind === 'calendar' || node.kind === 'calendar-object');

reports.register(
  { ns: CALDAV, local: 'calendar-multiget', appliesTo: inCalendars, run: calendarMultiget },
  { ns: CALDAV, local: 'calendar-query', appliesTo: inCalendars, run: calendarQuery },
  { ns: CALDAV, local: 'free-busy-query', appliesTo: (space, node) => space === 'calendars' && node.kind === 'calendar', run: freeBusyQuery },
);
