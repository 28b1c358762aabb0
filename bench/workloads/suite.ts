/** What every workload group is given: the running target, a client, the sizes and the way to record a row. */
import type { Item } from '../generate.js';
import type { Client } from '../http.js';
import { inParallel } from '../http.js';
import { bodies, parseMultistatus, xmlHeaders, type Multistatus } from '../dav.js';
import { expectStatus, outcomeOf, startBudget, type Budget, type Outcome } from '../outcome.js';
import type { Sizes } from '../rows.js';
import type { RunningTarget } from '../targets/target.js';

export interface Measured {
  value: number;
  runs: number;
  /** The runs that were asked for; fewer ran when the budget would not hold another. */
  planned: number;
  /** Each run's figure, in the order they ran. */
  each?: number[];
}

export interface SuiteContext {
  target: RunningTarget;
  client: Client;
  sizes: Sizes;
  runs: number;
  budgetMs: number;
  progress(message: string): void;
  record(rowId: string, outcome: Outcome): void;
}

/**
 * Runs one row's work within the time budget and records what it gives. Returns false when the
 * row failed, so that rows which depend on its data can say so.
 */
export async function measure(ctx: SuiteContext, rowId: string, work: (budget: Budget) => Promise<Measured>): Promise<boolean> {
  const budget = startBudget(ctx.budgetMs);
  const spent = new Promise<never>((_, reject) => budget.signal.addEventListener('abort', () => reject(budget.signal.reason as Error), { once: true }));
  const running = work(budget);
  running.catch(() => undefined); // after the budget is spent its rejection has no reader
  try {
    const { value, runs, planned, each } = await Promise.race([running, spent]);
    ctx.record(rowId, { kind: 'value', value, runs, planned, ...(each ? { each } : {}) });
    return true;
  } catch (error) {
    ctx.record(rowId, outcomeOf(error));
    return false;
  } finally {
    budget.dispose();
  }
}

/** DAV operations bound to one client and one abort signal. */
export function davSession(client: Client, signal?: AbortSignal) {
  const options = (extra: { body?: string; headers?: Record<string, string> }) => (signal ? { ...extra, signal } : extra);
  /**
   * A REPORT or PROPFIND expected to answer 207, with the time the server took to answer in full:
   * from sending the request to the last byte of the body. Parsing the answer (a DOM of 10 000
   * responses costs this process more than the server) is not part of it.
   */
  const timedMultistatus = async (method: 'REPORT' | 'PROPFIND', url: string, body: string, depth: '0' | '1', during: string): Promise<{ ms: number; answer: Multistatus }> => {
    const started = performance.now();
    const { status, text } = await client.request(method, url, options({ body, headers: { ...xmlHeaders, Depth: depth } }));
    const ms = performance.now() - started;
    expectStatus(status, [207], during);
    return { ms, answer: parseMultistatus(text, url) };
  };
  return {
    async put(url: string, text: string, contentType: string, during: string): Promise<void> {
      const { status } = await client.request('PUT', url, options({ body: text, headers: { 'Content-Type': contentType } }));
      expectStatus(status, [200, 201, 204], during);
    },
    /** A new calendar object or vCard, as calendar and contact clients create one: If-None-Match: *. */
    async create(url: string, text: string, contentType: string, during: string): Promise<void> {
      const { status } = await client.request('PUT', url, options({ body: text, headers: { 'Content-Type': contentType, 'If-None-Match': '*' } }));
      expectStatus(status, [201], during);
    },
    /** A REPORT or PROPFIND expected to answer 207, parsed. */
    async multistatus(method: 'REPORT' | 'PROPFIND', url: string, body: string, depth: '0' | '1', during: string): Promise<Multistatus> {
      return (await timedMultistatus(method, url, body, depth, during)).answer;
    },
    timedMultistatus,
    async send(method: string, url: string, expected: number[], during: string, headers: Record<string, string> = {}, body?: string): Promise<void> {
      const { status } = await client.request(method, url, options(body === undefined ? { headers } : { headers, body }));
      expectStatus(status, expected, during);
    },
  };
}

/** Creates a calendar or an address book named `name` in its home and returns its URL. */
export async function createCollection(ctx: SuiteContext, kind: 'calendar' | 'addressbook', name: string, signal?: AbortSignal): Promise<string> {
  const dav = davSession(ctx.client, signal);
  if (kind === 'calendar') {
    const url = `${ctx.target.calendarHome}${name}/`;
    await dav.send('MKCALENDAR', url, [201], 'MKCALENDAR', xmlHeaders, bodies.mkcalendar);
    return url;
  }
  const url = `${ctx.target.addressBookHome}${name}/`;
  await dav.send('MKCOL', url, [201], 'MKCOL of an address book', xmlHeaders, bodies.mkAddressBook);
  return url;
}

/**
 * Loads `items` into a collection before the reads are measured: in the server's own format when
 * the target can, otherwise by PUT with 8 clients, with progress on stderr.
 */
export async function load(ctx: SuiteContext, collectionUrl: string, items: readonly Item[], contentType: string): Promise<void> {
  const started = performance.now();
  if (ctx.target.seed) {
    await ctx.target.seed(collectionUrl, items);
    ctx.progress(`seeded ${items.length} items on disk in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // A PUT would have parsed and cached each item; one untimed listing lets the server do so now.
    const warm = performance.now();
    await davSession(ctx.client).multistatus('PROPFIND', collectionUrl, bodies.propfindEtag, '1', 'PROPFIND after seeding');
    ctx.progress(`first listing after seeding took ${((performance.now() - warm) / 1000).toFixed(1)} s (not counted)`);
    return;
  }
  const dav = davSession(ctx.client);
  let done = 0;
  await inParallel(items, 8, async (item) => {
    await dav.put(collectionUrl + item.name, item.text, contentType, 'PUT while loading');
    if (++done % 1000 === 0) ctx.progress(`loaded ${done} / ${items.length}`);
  });
  const seconds = (performance.now() - started) / 1000;
  ctx.progress(`loaded ${items.length} items by PUT in ${seconds.toFixed(1)} s (${(items.length / seconds).toFixed(0)}/s)`);
}

/** The path part of a member's URL, as clients put it in a multiget's hrefs. */
export const hrefPath = (collectionUrl: string, name: string) => new URL(collectionUrl).pathname + encodeURIComponent(name);
