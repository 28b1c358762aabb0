/**
 * The rows of the table: what each workload measures, in which unit, and the goal from issue 7
 * (goals hold for the full sizes on the project's 2-core machine, so --quick shows none).
 */
import type { Unit } from './outcome.js';

export interface Sizes {
  /** Events in the big calendar. */
  events: number;
  /** Events PUT by each PUT workload into a fresh calendar. */
  putEvents: number;
  /** Events PUT into the big calendar. */
  putIntoLoaded: number;
  cards: number;
  putCards: number;
  bigFileBytes: number;
  smallFiles: number;
  /** Seconds of each GET run with 16 connections. */
  getSeconds: number;
}

export const FULL: Sizes = { events: 10_000, putEvents: 1_000, putIntoLoaded: 100, cards: 5_000, putCards: 1_000, bigFileBytes: 1024 ** 3, smallFiles: 2_000, getSeconds: 3 };
export const QUICK: Sizes = { events: 500, putEvents: 100, putIntoLoaded: 20, cards: 300, putCards: 100, bigFileBytes: 64 * 1024 ** 2, smallFiles: 200, getSeconds: 1 };

export type Group = 'caldav' | 'carddav' | 'files' | 'resources';

export interface Goal {
  value: number;
  /** Only checked on this store (idle memory is a PostgreSQL goal). */
  store?: 'PostgreSQL';
}

export interface RowSpec {
  id: string;
  group: Group;
  label: string;
  unit: Unit;
  /** Shown after a rate, e.g. "ev/s". */
  rateUnit?: string;
  goal?: Goal;
}

const n = (value: number) => value.toLocaleString('en-US').replace(/,/g, ' ');
const bytes = (value: number) => (value >= 1024 ** 3 ? `${value / 1024 ** 3} GiB` : `${value / 1024 ** 2} MiB`);

export function rowSpecs(sizes: Sizes, withGoals: boolean): RowSpec[] {
  const specs: Array<RowSpec & { target?: Goal }> = [
    { id: 'put-seq', group: 'caldav', label: `PUT ${n(sizes.putEvents)} events, sequential`, unit: 'per-s', rateUnit: 'ev/s' },
    { id: 'put-par', group: 'caldav', label: `PUT ${n(sizes.putEvents)} events, 8 clients`, unit: 'per-s', rateUnit: 'ev/s', target: { value: 1000 } },
    { id: 'propfind-small', group: 'caldav', label: `PROPFIND Depth 1 with getetag, ${n(sizes.putEvents)} events`, unit: 'ms' },
    { id: 'propfind-large', group: 'caldav', label: `PROPFIND Depth 1 with getetag, ${n(sizes.events)} events`, unit: 'ms', target: { value: 150 } },
    { id: 'multiget', group: 'caldav', label: `calendar-multiget of 100 in ${n(sizes.events)}`, unit: 'ms', target: { value: 15 } },
    { id: 'query-month', group: 'caldav', label: `calendar-query, February of ${n(sizes.events)} events`, unit: 'ms', target: { value: 40 } },
    { id: 'sync-initial', group: 'caldav', label: `sync-collection, initial, ${n(sizes.events)} events`, unit: 'ms' },
    { id: 'sync-changes', group: 'caldav', label: `sync-collection after 10 changes, ${n(sizes.events)} events`, unit: 'ms', target: { value: 10 } },
    { id: 'get-one', group: 'caldav', label: 'GET one event, 16 connections', unit: 'per-s', rateUnit: 'req/s', target: { value: 5000 } },
    { id: 'put-into', group: 'caldav', label: `PUT ${n(sizes.putIntoLoaded)} events into the ${n(sizes.events)}-event calendar, 8 clients`, unit: 'per-s', rateUnit: 'ev/s' },
    { id: 'put-cards', group: 'carddav', label: `PUT ${n(sizes.putCards)} vCards, 8 clients`, unit: 'per-s', rateUnit: 'cards/s' },
    { id: 'card-query-FN', group: 'carddav', label: `addressbook-query FN contains "john", ${n(sizes.cards)} cards`, unit: 'ms', target: { value: 20 } },
    { id: 'card-query-EMAIL', group: 'carddav', label: `addressbook-query EMAIL contains "ORCHARD", ${n(sizes.cards)} cards`, unit: 'ms', target: { value: 20 } },
    { id: 'card-query-TEL', group: 'carddav', label: `addressbook-query TEL contains "042", ${n(sizes.cards)} cards`, unit: 'ms', target: { value: 20 } },
    { id: 'card-multiget', group: 'carddav', label: `addressbook-multiget of 100 in ${n(sizes.cards)}`, unit: 'ms' },
    { id: 'file-put', group: 'files', label: `${bytes(sizes.bigFileBytes)} file PUT, streamed`, unit: 'MB/s', target: { value: 500 } },
    { id: 'file-get', group: 'files', label: `${bytes(sizes.bigFileBytes)} file GET, streamed`, unit: 'MB/s', target: { value: 1000 } },
    { id: 'file-memory', group: 'files', label: `resident memory added during the ${bytes(sizes.bigFileBytes)} PUT and GET`, unit: 'MB', target: { value: 64 } },
    { id: 'small-put', group: 'files', label: `${n(sizes.smallFiles)} × 4 KiB PUT, 8 clients`, unit: 'per-s', rateUnit: 'files/s', target: { value: 2000 } },
    { id: 'small-propfind', group: 'files', label: `PROPFIND Depth 1 of that ${n(sizes.smallFiles)}-file folder`, unit: 'ms' },
    { id: 'small-move', group: 'files', label: `MOVE of that ${n(sizes.smallFiles)}-file folder`, unit: 'ms', target: { value: 50 } },
    { id: 'idle-rss', group: 'resources', label: 'resident memory, idle after start-up', unit: 'MB', target: { value: 120, store: 'PostgreSQL' } },
    { id: 'peak-rss', group: 'resources', label: 'peak resident memory (VmHWM) over the run', unit: 'MB' },
    { id: 'disk', group: 'resources', label: 'data on disk at the end', unit: 'MB' },
  ];
  return specs.map(({ target, ...spec }) => (withGoals && target ? { ...spec, goal: target } : spec));
}

/** Whether a larger value is better (rates) or a smaller one (times, memory). */
export const higherIsBetter = (unit: Unit) => unit === 'per-s' || unit === 'MB/s';
