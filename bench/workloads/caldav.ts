/**
 * Calendars: PUT rates into a fresh calendar, then the reads a phone makes on a big one. Every
 * answer is checked against what the generator knows.
 */
import autocannon from 'autocannon';
import { bodies, memberNames } from '../dav.js';
import { changedEvent, eventsOverlapping, generateEvents, utcStamp, type GeneratedEvent } from '../generate.js';
import { inParallel } from '../http.js';
import { expectSameSet, expectStatus, repeat, timed, WrongAnswer, type Budget } from '../outcome.js';
import { createCollection, davSession, hrefPath, load, measure, type Measured, type SuiteContext } from './suite.js';

const ICS = 'text/calendar; charset=utf-8';
/** The month every calendar-query asks for. */
const MONTH: [number, number] = [Date.UTC(2026, 1, 1), Date.UTC(2026, 2, 1)];

export async function caldavSuite(ctx: SuiteContext): Promise<void> {
  const { sizes } = ctx;
  const fresh = generateEvents(sizes.putEvents, 0, 'p');
  let smallCalendar: string | undefined;

  await measure(ctx, 'put-seq', (budget) => putRate(ctx, budget, 'seq', fresh, 1));
  await measure(ctx, 'put-par', (budget) =>
    putRate(ctx, budget, 'par', fresh, 8, (url, run) => {
      if (run === 0) smallCalendar = url;
    }),
  );
  if (smallCalendar) {
    const url = smallCalendar;
    await measure(ctx, 'propfind-small', (budget) => propfindRuns(ctx, budget, url, new Set(fresh.map((e) => e.name))));
  } else {
    ctx.record('propfind-small', { kind: 'failed', message: 'no calendar from the PUT workload' });
  }

  const events = generateEvents(sizes.events);
  let calendar: string;
  try {
    calendar = await createCollection(ctx, 'calendar', 'bench-calendar');
    ctx.progress(`loading ${events.length} events`);
    await load(ctx, calendar, events, ICS);
  } catch (error) {
    for (const row of ['propfind-large', 'multiget', 'query-month', 'sync-initial', 'sync-changes', 'get-one', 'put-into']) ctx.record(row, { kind: 'failed', message: `loading failed: ${(error as Error).message}` });
    return;
  }
  const names = new Set(events.map((e) => e.name));

  await measure(ctx, 'propfind-large', (budget) => propfindRuns(ctx, budget, calendar, names));
  await measure(ctx, 'multiget', (budget) => multigetRuns(ctx, budget, calendar, events.slice(0, 100)));
  await measure(ctx, 'query-month', (budget) => monthQueryRuns(ctx, budget, calendar, events));
  await measure(ctx, 'sync-initial', (budget) => syncInitialRuns(ctx, budget, calendar, names));
  await measure(ctx, 'sync-changes', (budget) => syncChangesRuns(ctx, budget, calendar, events));
  await measure(ctx, 'get-one', (budget) => getOneRuns(ctx, budget, calendar + events[1]!.name, events[1]!));
  await measure(ctx, 'put-into', (budget) => {
    let round = 0;
    return repeat(ctx.runs, budget, async () => {
      const more = generateEvents(sizes.putIntoLoaded, sizes.events + round++ * sizes.putIntoLoaded);
      const dav = davSession(ctx.client, budget.signal);
      const ms = await timed(() => inParallel(more, 8, (e) => dav.create(calendar + e.name, e.text, ICS, 'PUT')));
      return more.length / (ms / 1000);
    });
  });
}

/** Events per second PUT by `clients` clients into a fresh calendar, one per run. */
function putRate(ctx: SuiteContext, budget: Budget, name: string, events: readonly GeneratedEvent[], clients: number, made?: (url: string, run: number) => void): Promise<Measured> {
  return repeat(ctx.runs, budget, async (run) => {
    const url = await createCollection(ctx, 'calendar', `bench-calendar-${name}-${run}`, budget.signal);
    const dav = davSession(ctx.client, budget.signal);
    const ms = await timed(() => inParallel(events, clients, (e) => dav.create(url + e.name, e.text, ICS, 'PUT')));
    made?.(url, run);
    return events.length / (ms / 1000);
  });
}

/** PROPFIND Depth 1 asking for getetag: every member listed once, each with its ETag. */
function propfindRuns(ctx: SuiteContext, budget: Budget, url: string, want: ReadonlySet<string>): Promise<Measured> {
  const dav = davSession(ctx.client, budget.signal);
  return repeat(ctx.runs, budget, async () => {
    const { ms, answer } = await dav.timedMultistatus('PROPFIND', url, bodies.propfindEtag, '1', 'PROPFIND');
    expectSameSet(memberNames(answer), want);
    return ms;
  });
}

function multigetRuns(ctx: SuiteContext, budget: Budget, calendar: string, wanted: readonly GeneratedEvent[]): Promise<Measured> {
  const dav = davSession(ctx.client, budget.signal);
  const body = bodies.calendarMultiget(wanted.map((e) => hrefPath(calendar, e.name)));
  const uidOf = new Map(wanted.map((e) => [e.name, e.uid]));
  return repeat(ctx.runs, budget, async () => {
    const { ms, answer } = await dav.timedMultistatus('REPORT', calendar, body, '1', 'calendar-multiget');
    const entries = answer.entries.filter((e) => e.ok && e.data?.includes(`UID:${uidOf.get(e.name)}`));
    expectSameSet(entries.map((e) => e.name), new Set(uidOf.keys()));
    return ms;
  });
}

/** RFC 4791 §9.9: the expected set comes from each event's own instances, recurring ones expanded here. */
function monthQueryRuns(ctx: SuiteContext, budget: Budget, calendar: string, events: readonly GeneratedEvent[]): Promise<Measured> {
  const dav = davSession(ctx.client, budget.signal);
  const want = eventsOverlapping(events, ...MONTH);
  const body = bodies.timeRangeQuery(utcStamp(MONTH[0]), utcStamp(MONTH[1]));
  ctx.progress(`calendar-query expects ${want.size} events`);
  return repeat(ctx.runs, budget, async () => {
    const { ms, answer } = await dav.timedMultistatus('REPORT', calendar, body, '1', 'calendar-query');
    expectSameSet(memberNames(answer), want);
    return ms;
  });
}

function syncInitialRuns(ctx: SuiteContext, budget: Budget, calendar: string, want: ReadonlySet<string>): Promise<Measured> {
  const dav = davSession(ctx.client, budget.signal);
  return repeat(ctx.runs, budget, async () => {
    const { ms, answer } = await dav.timedMultistatus('REPORT', calendar, bodies.syncCollection(''), '0', 'sync-collection');
    if (!answer.syncToken) throw new WrongAnswer('no sync-token');
    expectSameSet(memberNames(answer), want);
    return ms;
  });
}

/** RFC 6578 §3.2: after a token, exactly the 10 changed members. */
async function syncChangesRuns(ctx: SuiteContext, budget: Budget, calendar: string, events: readonly GeneratedEvent[]): Promise<Measured> {
  const dav = davSession(ctx.client, budget.signal);
  const initial = await dav.multistatus('REPORT', calendar, bodies.syncCollection(''), '0', 'sync-collection');
  const token = initial.syncToken;
  if (!token) throw new WrongAnswer('no sync-token');
  const changed = events.slice(0, 10);
  for (const e of changed) await dav.put(calendar + e.name, changedEvent(e, 1).text, ICS, 'PUT of a change');
  const want = new Set(changed.map((e) => e.name));
  return repeat(ctx.runs, budget, async () => {
    const { ms, answer } = await dav.timedMultistatus('REPORT', calendar, bodies.syncCollection(token), '0', 'sync-collection');
    expectSameSet(memberNames(answer), want);
    return ms;
  });
}

/** Requests per second for one event over 16 keep-alive connections; any other answer makes the row wrong. */
async function getOneRuns(ctx: SuiteContext, budget: Budget, url: string, event: GeneratedEvent): Promise<Measured> {
  const { status, text } = await ctx.client.request('GET', url, { signal: budget.signal });
  expectStatus(status, [200], 'GET');
  if (!text.includes(`UID:${event.uid}`)) throw new WrongAnswer('GET returned another body');
  return repeat(ctx.runs, budget, async () => {
    const result = await autocannon({ url, connections: 16, duration: ctx.sizes.getSeconds, headers: { Authorization: ctx.target.authorization }, expectBody: text });
    const bad = result.non2xx + result.errors + result.timeouts + result.mismatches;
    if (bad > 0) throw new WrongAnswer(`${bad} of ${result.requests.total} answers were not the event`);
    // Not a rate of zero: every request was still waiting for its answer when the window closed.
    if (result.requests.total === 0) throw new Error(`no answer within ${ctx.sizes.getSeconds} s`);
    return result.requests.total / result.duration;
  });
}
