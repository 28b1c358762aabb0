/**
 * CalDAV figures: a calendar of 10 000 events (10% weekly recurring, some all-day), loaded by
 * 8 clients, then the reads a phone makes. Each answer is checked, not only timed.
 */
import { textClient, timedRuns, type Row } from './http.js';


const DAY = 86_400_000;
const YEAR_START = Date.UTC(2026, 0, 1);
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const date = (ms: number) => stamp(ms).slice(0, 8);

interface Generated {
  name: string;
  text: string;
  /** Instances as [start, end) in ms, for an independent time-range computation. */
  instances: Array<[number, number]>;
}

export function generateEvents(count: number): Generated[] {
  const events: Generated[] = [];
  for (let i = 0; i < count; i++) {
    const day = YEAR_START + (i % 365) * DAY;
    const start = day + (8 + (i % 10)) * 3600_000;
    const recurring = i % 10 === 0;
    const allDay = i % 25 === 1;
    const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Davenport bench//EN', 'BEGIN:VEVENT', `UID:bench-${i}@davenport`, 'DTSTAMP:20260101T000000Z'];
    let instances: Array<[number, number]>;
    if (allDay) {
      lines.push(`DTSTART;VALUE=DATE:${date(day)}`, `DTEND;VALUE=DATE:${date(day + DAY)}`);
      instances = [[day, day + DAY]];
    } else {
      lines.push(`DTSTART:${stamp(start)}`, `DTEND:${stamp(start + 3600_000)}`);
      instances = [[start, start + 3600_000]];
    }
    if (recurring) {
      lines.push('RRULE:FREQ=WEEKLY;COUNT=10');
      instances = Array.from({ length: 10 }, (_, w) => [instances[0]![0] + w * 7 * DAY, instances[0]![1] + w * 7 * DAY] as [number, number]);
    }
    lines.push(`SUMMARY:Bench event ${i}`, 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'DESCRIPTION:Reminder', 'END:VALARM', 'END:VEVENT', 'END:VCALENDAR', '');
    events.push({ name: `e${i}.ics`, text: lines.join('\r\n'), instances });
  }
  return events;
}

export async function caldavBench(base: string, auth: string, count = 10_000): Promise<Row[]> {
  const client = textClient(auth);
  const { request } = client;
  const cal = `${base}/dav/calendars/admin/bench/`;
  const rows: Row[] = [];
  if ((await request(cal, 'MKCALENDAR')).status !== 201) throw new Error('MKCALENDAR failed');

  const events = generateEvents(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < events.length; i = next++) {
        const { status } = await request(cal + events[i]!.name, 'PUT', events[i]!.text, { 'Content-Type': 'text/calendar' });
        if (status !== 201) throw new Error(`PUT answered ${status}`);
      }
    }),
  );
  rows.push([`PUT ${count} events, 8 clients (events/s)`, (count / ((performance.now() - started) / 1000)).toFixed(0)]);

  const propfind = await timedRuns(5, async () => {
    const { status, text } = await request(cal, 'PROPFIND', '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>', { Depth: '1' });
    const n = text.split('<D:response>').length - 1;
    if (status !== 207 || n !== count + 1) throw new Error(`PROPFIND: ${status}, ${n} responses`);
  });
  rows.push([`PROPFIND Depth 1 with getetag, ${count} events (ms, median of 5)`, propfind.toFixed(0)]);

  const hrefs = events.slice(0, 100).map((e) => `<D:href>/dav/calendars/admin/bench/${e.name}</D:href>`).join('');
  const multiget = await timedRuns(15, async () => {
    const body = `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>${hrefs}</C:calendar-multiget>`;
    const { status, text } = await request(cal, 'REPORT', body, { Depth: '1' });
    if (status !== 207 || text.split('BEGIN:VCALENDAR').length - 1 !== 100) throw new Error('multiget: wrong answer');
  });
  rows.push(['calendar-multiget of 100 (ms, median of 15)', multiget.toFixed(1)]);

  // February 2026, counted independently from the generated instances.
  const [from, to] = [Date.UTC(2026, 1, 1), Date.UTC(2026, 2, 1)];
  const expected = events.filter((e) => e.instances.some(([s, t]) => s < to && t > from)).length;
  const query = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${stamp(from)}" end="${stamp(to)}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
  const monthly = await timedRuns(15, async () => {
    const { status, text } = await request(cal, 'REPORT', query, { Depth: '1' });
    const n = text.split('<D:response>').length - 1;
    if (status !== 207 || n !== expected) throw new Error(`calendar-query: ${n} matches, expected ${expected}`);
  });
  rows.push([`calendar-query, one month (${expected} matches) (ms, median of 15)`, monthly.toFixed(1)]);

  const tokenOf = (text: string) => /<D:sync-token>([^<]+)<\/D:sync-token>/.exec(text)?.[1];
  const syncBody = (token: string) => `<D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
  const initial = await request(cal, 'REPORT', syncBody(''));
  const token = tokenOf(initial.text);
  if (initial.status !== 207 || !token) throw new Error(`initial sync-collection: ${initial.status}`);
  for (const e of events.slice(0, 10)) await request(cal + e.name, 'PUT', e.text.replace('SUMMARY:', 'SUMMARY:Changed '), { 'Content-Type': 'text/calendar' });
  const sync = await timedRuns(15, async () => {
    const { status, text } = await request(cal, 'REPORT', syncBody(token));
    if (status !== 207 || text.split('<D:response>').length - 1 !== 10) throw new Error('sync-collection: wrong answer');
  });
  rows.push(['sync-collection after 10 changes (ms, median of 15)', sync.toFixed(1)]);
  client.close();
  return rows;
}
