/**
 * The data every target receives, and the answers it must give, computed here from the generated
 * shapes alone (never with the server's code): each event knows its own instances.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const WEEK = 7 * DAY;
const YEAR_START = Date.UTC(2026, 0, 1);

/** 20260105T090000Z */
export const utcStamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
/** 20260105 */
const dateStamp = (ms: number) => utcStamp(ms).slice(0, 8);

export interface Item {
  /** The resource name in its collection. */
  name: string;
  uid: string;
  text: string;
}

export interface GeneratedEvent extends Item {
  /** Every instance as [start, end) in ms since the epoch (UTC; all-day dates as UTC days). */
  instances: Array<[number, number]>;
}

/**
 * `count` events over 2026 starting at index `first`: 10% weekly recurring (half with COUNT, half
 * with UNTIL), about 4% all-day (some of them recurring), every one with a VALARM. With 10 000
 * events some all-day events end exactly where a month starts and some start exactly where it
 * ends — the edges a time-range query must get right.
 */
export function generateEvents(count: number, first = 0, prefix = 'e'): GeneratedEvent[] {
  return Array.from({ length: count }, (_, k) => generateEvent(first + k, prefix));
}

function generateEvent(i: number, prefix: string): GeneratedEvent {
  const allDay = i % 23 === 5;
  // All-day events take the days in turn, so each day of the year gets one: also the days that
  // end where the queried month starts and start where it ends.
  const day = YEAR_START + ((allDay ? Math.floor(i / 23) : i) % 365) * DAY;
  const recurring = i % 10 === 0;
  const [start, end] = allDay ? [day, day + DAY] : [day + (8 + (i % 10)) * HOUR, day + (9 + (i % 10)) * HOUR];
  const uid = `bench-${prefix}${i}@davenport.example`;
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Davenport bench//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z'];
  if (allDay) lines.push(`DTSTART;VALUE=DATE:${dateStamp(start)}`, `DTEND;VALUE=DATE:${dateStamp(end)}`);
  else lines.push(`DTSTART:${utcStamp(start)}`, `DTEND:${utcStamp(end)}`);

  let instances: Array<[number, number]> = [[start, end]];
  if (recurring) {
    const weeks = 6 + (i % 7);
    if (i % 20 === 0) {
      lines.push(`RRULE:FREQ=WEEKLY;COUNT=${weeks}`);
    } else {
      // RFC 5545 §3.3.10: UNTIL has DTSTART's value type and is inclusive; end it on the last start.
      const until = start + (weeks - 1) * WEEK;
      lines.push(`RRULE:FREQ=WEEKLY;UNTIL=${allDay ? dateStamp(until) : utcStamp(until)}`);
    }
    instances = Array.from({ length: weeks }, (_, w) => [start + w * WEEK, end + w * WEEK] as [number, number]);
  }
  lines.push(`SUMMARY:Bench event ${i}`, 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'DESCRIPTION:Reminder', 'END:VALARM', 'END:VEVENT', 'END:VCALENDAR', '');
  return { name: `${prefix}${i}.ics`, uid, text: lines.join('\r\n'), instances };
}

/** The names of events with an instance overlapping [from, to) (RFC 4791 §9.9: start < to and end > from). */
export function eventsOverlapping(events: readonly GeneratedEvent[], from: number, to: number): Set<string> {
  return new Set(events.filter((e) => e.instances.some(([s, t]) => s < to && t > from)).map((e) => e.name));
}

/** The same event with a changed SUMMARY: the same instances, a new body and ETag. */
export function changedEvent(event: GeneratedEvent, round: number): GeneratedEvent {
  return { ...event, text: event.text.replace(/SUMMARY:[^\r]*/, `SUMMARY:Changed ${round}`) };
}

export interface GeneratedCard extends Item {
  fn: string;
  email: string;
  tel: string;
}

const GIVEN = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Dennis', 'Sophie', 'Tim', 'Radia', 'Linus', 'Karen', 'Niklaus', 'Joan', 'John', 'Hedy', 'Claude'];
const FAMILY = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Ritchie', 'Wilson', 'Berners-Lee', 'Perlman', 'Torvalds', 'Jones', 'Wirth', 'Clarke', 'McCarthy', 'Lamarr', 'Shannon', 'Johnson', 'Anderson', 'Robertson'];

/** `count` vCards 3.0 with an FN, an e-mail address and a grouped mobile number. */
export function generateCards(count: number, first = 0, prefix = 'c'): GeneratedCard[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    const given = GIVEN[i % GIVEN.length]!;
    const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
    const fn = `${given} ${family} ${i}`;
    const email = `${given.toLowerCase()}.${i}@${i % 7 === 0 ? 'orchard' : 'example'}.org`;
    // The exchange always ends in 5, so no search below can match across the groups' gap.
    const tel = `+1 555 ${10 + (i % 90)}5 ${String(i % 10_000).padStart(4, '0')}`;
    const uid = `bench-${prefix}${i}@davenport.example`;
    const text = ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${fn}`, `N:${family};${given};;;`, `EMAIL;TYPE=INTERNET:${email}`, `item1.TEL;TYPE=CELL:${tel}`, 'item1.X-ABLabel:mobile', `ORG:Company ${i % 50}`, 'END:VCARD', ''].join('\r\n');
    return { name: `${prefix}${i}.vcf`, uid, text, fn, email, tel };
  });
}

/**
 * The searches of the contacts workload, each with its expected answer (ASCII case-insensitive, as
 * i;unicode-casemap). The TEL search matches the same cards whether a server compares the text
 * (RFC 6352 §10.5.4) or, like Davenport, phone numbers digit to digit; that is checked here.
 */
export function cardSearches(cards: readonly GeneratedCard[]): Array<{ property: 'FN' | 'EMAIL' | 'TEL'; text: string; want: Set<string> }> {
  const matching = (value: (c: GeneratedCard) => string, text: string) => new Set(cards.filter((c) => value(c).toLowerCase().includes(text.toLowerCase())).map((c) => c.name));
  const tel = matching((c) => c.tel, '042');
  const telByDigits = matching((c) => c.tel.replace(/\D/g, ''), '042');
  if (tel.size !== telByDigits.size) throw new Error('the TEL search would depend on how a server compares phone numbers');
  return [
    { property: 'FN', text: 'john', want: matching((c) => c.fn, 'john') },
    { property: 'EMAIL', text: 'ORCHARD', want: matching((c) => c.email, 'ORCHARD') },
    { property: 'TEL', text: '042', want: tel },
  ];
}
