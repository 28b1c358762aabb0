/**
 * Recurrence sets (RFC 5545 §3.8.5): DTSTART, RRULE, RDATE and EXDATE of a master component,
 * with overridden instances (RECURRENCE-ID) replacing the instances they name.
 *
 * ical.js's RecurExpansion is not used: it cannot be interrupted, and a rule such as
 * FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30 loops inside one next() call for ever. We drive
 * ical.js's RecurIterator ourselves and count its inner steps, so every expansion is bounded
 * in instances, in iterator steps and in wall-clock time, and says when it stopped early.
 * RANGE=THISANDFUTURE overrides are treated as single-instance overrides.
 */
import ICAL from 'ical.js';
import { addDays, daysBetween, toMs, type Zone } from './time.js';

/** A master component and the overrides that share its UID. */
export interface RecurrenceSet {
  master: ICAL.Component | null;
  overrides: ICAL.Component[];
}

/** One instance of a recurrence set (or the only one of a component that does not recur). */
export interface Occurrence {
  /** The component whose properties describe this instance: the master or an override. */
  component: ICAL.Component;
  overridden: boolean;
  /** The instance's RECURRENCE-ID, in the master's zone; null when the set does not recur. */
  recurrenceId: ICAL.Time | null;
  /** DTSTART of this instance; null when the component has none (e.g. a VTODO with only DUE). */
  start: ICAL.Time | null;
  startMs: number | null;
  /** An explicit end from an RDATE PERIOD value (RFC 5545 §3.8.5.2). */
  periodEndMs?: number;
}

export interface ExpandRange {
  start?: Date;
  end?: Date;
}

export interface ExpandLimits {
  /** Most rule-generated occurrences returned (overrides always are). */
  maxInstances: number;
  /** Most ical.js iterator steps; each candidate date a rule examines is one. */
  maxSteps?: number;
  /** Most wall-clock milliseconds spent iterating. */
  maxMillis?: number;
  /** Rule-generated instances starting after this are not looked for. */
  horizon?: Date;
}

export interface Expansion {
  /** Occurrences that may touch the range, in start order (see expandInstances). */
  occurrences: Occurrence[];
  /** True when instances in the range may be missing: a limit stopped the expansion. */
  truncated: boolean;
  /** True when a rule has neither COUNT nor UNTIL. */
  infinite: boolean;
}

export const DEFAULT_MAX_STEPS = 100_000;
export const DEFAULT_MAX_MILLIS = 250;
/** Beyond any calendar anyone plans: open-ended rules stop here. */
export const DEFAULT_HORIZON = new Date(Date.UTC(2100, 0, 1));

/** Groups the components of one type by UID; a component without UID is its own set. */
export function recurrenceSets(components: ICAL.Component[]): RecurrenceSet[] {
  const byUid = new Map<string, RecurrenceSet>();
  const sets: RecurrenceSet[] = [];
  for (const component of components) {
    const uid = component.getFirstPropertyValue('uid');
    let set = typeof uid === 'string' ? byUid.get(uid) : undefined;
    if (!set) {
      set = { master: null, overrides: [] };
      sets.push(set);
      if (typeof uid === 'string') byUid.set(uid, set);
    }
    if (component.hasProperty('recurrence-id')) set.overrides.push(component);
    else if (!set.master) set.master = component;
    else sets.push({ master: component, overrides: [] });
  }
  return sets;
}

/** True when the set has more than one possible instance. */
export function isRecurring(set: RecurrenceSet): boolean {
  const m = set.master;
  return set.overrides.length > 0 || (!!m && (m.hasProperty('rrule') || m.hasProperty('rdate')));
}

class BudgetExceeded extends Error {}

/** Counts iterator steps and watches the clock; throws BudgetExceeded past either. */
class Budget {
  private steps = 0;
  private readonly deadline: number;
  constructor(
    private readonly maxSteps: number,
    maxMillis: number,
  ) {
    this.deadline = performance.now() + maxMillis;
  }
  tick(): void {
    this.steps++;
    if (this.steps > this.maxSteps || ((this.steps & 127) === 0 && performance.now() > this.deadline)) throw new BudgetExceeded();
  }
}

interface Candidate {
  time: ICAL.Time;
  ms: number;
  periodEndMs?: number;
}

/** A stream of candidate instance starts in ascending order. */
interface Source {
  peek(): Candidate | null;
  advance(): void;
}

function listSource(items: Candidate[]): Source {
  let i = 0;
  return { peek: () => items[i] ?? null, advance: () => void i++ };
}

/** ical.js's iterator for a rule, its inner loop charged to `budget`. */
function budgetedIterator(rule: ICAL.Recur, dtstart: ICAL.Time, budget: Budget): ICAL.RecurIterator {
  const iterator = rule.iterator(dtstart);
  const check = iterator.check_contracting_rules.bind(iterator);
  // The loop inside RecurIterator.next() calls this once per candidate date it rejects or accepts.
  iterator.check_contracting_rules = () => {
    budget.tick();
    return check();
  };
  return iterator;
}

/** An RRULE through ical.js's iterator, every inner step charged to the budget. */
function ruleSource(rule: ICAL.Recur, dtstart: ICAL.Time, floating: Zone, budget: Budget, onError: () => void, skipToMs: number): Source {
  const iterator = budgetedIterator(rule, fastForward(rule, dtstart, floating, skipToMs, budget) ?? dtstart, budget);
  let current: Candidate | null = null;
  let done = false;
  const pull = (): void => {
    budget.tick();
    let next: ICAL.Time | null;
    try {
      next = iterator.next();
    } catch (error) {
      if (error instanceof BudgetExceeded) throw error;
      // ical.js gives up on some rules ("Same occurrence found twice"): end the rule there.
      next = null;
      onError();
    }
    if (next) current = { time: next.clone(), ms: toMs(next, floating) };
    else {
      current = null;
      done = true;
    }
  };
  return {
    peek() {
      if (!current && !done) pull();
      return current;
    },
    advance() {
      current = null;
    },
  };
}

const UNIT_SECONDS: Record<string, number> = { SECONDLY: 1, MINUTELY: 60, HOURLY: 3600, DAILY: 86_400, WEEKLY: 604_800 };
const WEEK_SECONDS = 604_800;
const DAY_MS = 86_400_000;

/**
 * Whole days a rule's start can move on without changing the instants it yields after it,
 * or null. That holds when every period of the rule looks alike: FREQ up to WEEKLY, no COUNT
 * (it counts from the real start), and only BY parts that depend on the weekday and the
 * time of day. Moving by a multiple of both the period and a week keeps the weekday, the
 * time of day and the week grid of INTERVAL.
 */
function fastForwardDays(rule: ICAL.Recur): number | null {
  const unit = UNIT_SECONDS[rule.freq];
  if (!unit || rule.count) return null;
  for (const [part, values] of Object.entries(rule.parts)) {
    if (!values || values.length === 0) continue;
    if (!['BYDAY', 'BYHOUR', 'BYMINUTE', 'BYSECOND'].includes(part)) return null;
    if (part === 'BYDAY' && values.some((v) => !/^[A-Z]{2}$/.test(String(v)))) return null;
  }
  const period = unit * (rule.interval || 1);
  return lcm(period, WEEK_SECONDS) / 86_400;
}

function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/**
 * A later start for the rule's iterator, close before `skipToMs`, so that an open-ended daily
 * rule asked about a range years after its DTSTART costs a few steps rather than thousands.
 * Only when DTSTART is itself an instance of the rule, else the moved start could add one.
 */
function fastForward(rule: ICAL.Recur, dtstart: ICAL.Time, floating: Zone, skipToMs: number, budget: Budget): ICAL.Time | null {
  const days = fastForwardDays(rule);
  if (!days || !Number.isFinite(skipToMs)) return null;
  // One step of margin for DST changes between the two.
  const steps = Math.floor((skipToMs - toMs(dtstart, floating)) / (days * DAY_MS)) - 1;
  if (steps < 1) return null;
  let first: ICAL.Time | null;
  try {
    first = budgetedIterator(rule, dtstart, budget).next();
  } catch (error) {
    if (error instanceof BudgetExceeded) throw error;
    return null;
  }
  return first && first.compare(dtstart) === 0 ? addDays(dtstart, steps * days) : null;
}

/** DTSTART as the iterators need it: a floating DATE-TIME pinned to the calendar's zone. */
function iteratorStart(dtstart: ICAL.Time, floating: Zone): ICAL.Time {
  const start = dtstart.clone();
  if (!start.isDate && floating && (start.zone === ICAL.Timezone.localTimezone || start.zone?.tzid === 'floating')) start.zone = floating;
  return start;
}

function timeValues(component: ICAL.Component, name: string): (ICAL.Time | ICAL.Period)[] {
  const out: (ICAL.Time | ICAL.Period)[] = [];
  for (const property of component.getAllProperties(name)) {
    for (const value of property.getValues()) if (value instanceof ICAL.Time || value instanceof ICAL.Period) out.push(value);
  }
  return out;
}

function dateKey(time: ICAL.Time): string {
  return `${time.year}-${time.month}-${time.day}`;
}

/** EXDATE as a test: DATE-TIME values exclude that instant, DATE values that whole day. */
function exclusions(master: ICAL.Component, floating: Zone): (c: Candidate) => boolean {
  const instants = new Set<number>();
  const days = new Set<string>();
  for (const value of timeValues(master, 'exdate')) {
    if (!(value instanceof ICAL.Time)) continue;
    if (value.isDate) days.add(dateKey(value));
    instants.add(toMs(value, floating));
  }
  if (instants.size === 0) return () => false;
  return (c) => instants.has(c.ms) || (days.size > 0 && days.has(dateKey(c.time)));
}

/**
 * The occurrences of `set` that may touch `range`: every override, and every rule-generated
 * instance whose start lies in [range.start − the master's longest span, range.end]
 * (both inclusive, because some §9.9 conditions are). Callers apply the exact RFC 4791 §9.9
 * test to each. A set that does not recur gives its one component.
 */
export function expandInstances(set: RecurrenceSet, range: ExpandRange, limits: ExpandLimits, floating: Zone = null): Expansion {
  const { master } = set;
  const overrides = set.overrides.map((component) => overrideOccurrence(component, floating));
  if (!master) return { occurrences: sortOccurrences(overrides), truncated: false, infinite: false };
  const dtstart = master.getFirstPropertyValue('dtstart');
  if (!(dtstart instanceof ICAL.Time) || !isRecurring(set)) {
    const single: Occurrence = {
      component: master,
      overridden: false,
      recurrenceId: null,
      start: dtstart instanceof ICAL.Time ? dtstart : null,
      startMs: dtstart instanceof ICAL.Time ? toMs(dtstart, floating) : null,
    };
    return { occurrences: sortOccurrences([single, ...overrides]), truncated: false, infinite: false };
  }

  const budget = new Budget(limits.maxSteps ?? DEFAULT_MAX_STEPS, limits.maxMillis ?? DEFAULT_MAX_MILLIS);
  const rules = master
    .getAllProperties('rrule')
    .map((p) => p.getFirstValue())
    .filter((r): r is ICAL.Recur => r instanceof ICAL.Recur && !!r.freq);
  const infinite = rules.some((r) => !r.count && !r.until);
  let truncated = false;

  const start = iteratorStart(dtstart, floating);
  const fixed: Candidate[] = [{ time: start, ms: toMs(start, floating) }];
  for (const value of timeValues(master, 'rdate')) {
    const time = value instanceof ICAL.Period ? value.start : value;
    const candidate: Candidate = { time, ms: toMs(time, floating) };
    if (value instanceof ICAL.Period) candidate.periodEndMs = toMs(value.getEnd(), floating);
    fixed.push(candidate);
  }
  fixed.sort((a, b) => a.ms - b.ms);

  const windowStart = range.start ? range.start.getTime() - longestSpanMs(master, fixed) : -Infinity;
  const sources: Source[] = [listSource(fixed)];
  for (const rule of rules) {
    try {
      sources.push(ruleSource(rule, start, floating, budget, () => (truncated = true), windowStart));
    } catch {
      truncated = true; // a rule ical.js cannot iterate: validation refuses these on the way in
    }
  }

  const byRecurrenceId = new Map<number, Occurrence>();
  for (const o of overrides) if (o.recurrenceId) byRecurrenceId.set(toMs(o.recurrenceId, floating), o);
  const excluded = exclusions(master, floating);
  const rangeEnd = range.end ? range.end.getTime() : Infinity;
  const horizon = (limits.horizon ?? DEFAULT_HORIZON).getTime();
  const stopAt = Math.min(rangeEnd, horizon);

  const found: Occurrence[] = [];
  let last = -Infinity;
  try {
    for (;;) {
      let best: Source | null = null;
      let bestCandidate: Candidate | null = null;
      for (const source of sources) {
        const c = source.peek();
        if (c && (!bestCandidate || c.ms < bestCandidate.ms)) {
          best = source;
          bestCandidate = c;
        }
      }
      if (!best || !bestCandidate) break;
      if (bestCandidate.ms > stopAt) {
        if (bestCandidate.ms > horizon && rangeEnd > horizon) truncated = true;
        break;
      }
      best.advance();
      if (bestCandidate.ms === last) continue; // the same instant from two sources
      last = bestCandidate.ms;
      if (byRecurrenceId.has(bestCandidate.ms) || excluded(bestCandidate) || bestCandidate.ms < windowStart) continue;
      if (found.length >= limits.maxInstances) {
        truncated = true;
        break;
      }
      const occurrence: Occurrence = {
        component: master,
        overridden: false,
        recurrenceId: bestCandidate.time,
        start: bestCandidate.time,
        startMs: bestCandidate.ms,
      };
      if (bestCandidate.periodEndMs !== undefined) occurrence.periodEndMs = bestCandidate.periodEndMs;
      found.push(occurrence);
    }
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    truncated = true;
  }
  return { occurrences: sortOccurrences([...found, ...overrides]), truncated, infinite };
}

function overrideOccurrence(component: ICAL.Component, floating: Zone): Occurrence {
  const rid = component.getFirstPropertyValue('recurrence-id');
  const start = component.getFirstPropertyValue('dtstart');
  return {
    component,
    overridden: true,
    recurrenceId: rid instanceof ICAL.Time ? rid : null,
    start: start instanceof ICAL.Time ? start : null,
    startMs: start instanceof ICAL.Time ? toMs(start, floating) : null,
  };
}

function sortOccurrences(list: Occurrence[]): Occurrence[] {
  return list.sort((a, b) => (a.startMs ?? -Infinity) - (b.startMs ?? -Infinity));
}

const TWO_DAYS_MS = 2 * 86_400_000;

/**
 * How long before a range an instance may start and still reach into it: the master's
 * DTEND/DUE/DURATION span, plus slack for nominal days across DST changes.
 */
function longestSpanMs(master: ICAL.Component, fixed: Candidate[]): number {
  let span = 0;
  const dtstart = master.getFirstPropertyValue('dtstart');
  for (const name of ['dtend', 'due']) {
    const end = master.getFirstPropertyValue(name);
    if (dtstart instanceof ICAL.Time && end instanceof ICAL.Time) span = Math.max(span, Math.abs(end.toUnixTime() - dtstart.toUnixTime()) * 1000);
  }
  const duration = master.getFirstPropertyValue('duration');
  if (duration instanceof ICAL.Duration) span = Math.max(span, Math.abs(duration.toSeconds()) * 1000);
  for (const c of fixed) if (c.periodEndMs !== undefined) span = Math.max(span, c.periodEndMs - c.ms);
  return span + TWO_DAYS_MS;
}

/**
 * The instant of a property of the master as it falls in `occurrence` (DTEND, DUE): an
 * override's own value, or the master's moved with the instance — by the same exact
 * duration for DATE-TIME values, by whole days for DATE values (RFC 5545 §3.8.5.3).
 */
export function shiftedMs(occurrence: Occurrence, name: string, floating: Zone): number | null {
  const value = occurrence.component.getFirstPropertyValue(name);
  if (!(value instanceof ICAL.Time)) return null;
  if (occurrence.overridden || !occurrence.recurrenceId || !occurrence.start || occurrence.startMs === null) return toMs(value, floating);
  const dtstart = occurrence.component.getFirstPropertyValue('dtstart');
  if (!(dtstart instanceof ICAL.Time)) return toMs(value, floating);
  if (dtstart.isDate && value.isDate) return toMs(addDays(occurrence.start, daysBetween(dtstart, value)), floating);
  return occurrence.startMs + (toMs(value, floating) - toMs(dtstart, floating));
}

/**
 * Steps a rule through its first few instances and rethrows what ical.js throws, so that a
 * rule it cannot expand is refused on the way in rather than ignored later. A rule that is
 * merely sparse (it runs out of budget first) passes.
 */
export function probeRule(rule: ICAL.Recur, dtstart: ICAL.Time, floating: Zone): void {
  const iterator = budgetedIterator(rule, iteratorStart(dtstart, floating), new Budget(20_000, 100));
  try {
    for (let i = 0; i < 3 && iterator.next(); i++);
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
  }
}
