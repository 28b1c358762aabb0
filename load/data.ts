/** The data a load run starts from: events, contacts and files of one user, stored over HTTP. */
import http from 'node:http';

export interface DataSize {
  events: number;
  cards: number;
  files: number;
}

/** Where the pre-loaded resources live, for the request mix to pick from. */
export interface LoadedData {
  calendar: string;
  addressbook: string;
  /** Folders of files, each with `filesPerFolder` members named f<i>.txt. */
  folders: string[];
  eventNames: string[];
  cardNames: string[];
  fileNames: string[];
}

const FOLDERS = 4;

/** A VEVENT in 2025: every tenth recurs weekly. CRLF line ends (RFC 5545 §3.1). */
export function eventText(uid: string, index: number, summary: string): string {
  const day = new Date(Date.UTC(2025, 0, 1) + (index % 365) * 86_400_000);
  const ymd = day.toISOString().slice(0, 10).replace(/-/g, '');
  const hour = String(8 + (index % 10)).padStart(2, '0');
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Davenport load//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20250101T000000Z',
    `DTSTART:${ymd}T${hour}0000Z`,
    'DURATION:PT1H',
    `SUMMARY:${summary}`,
    ...(index % 10 === 0 ? ['RRULE:FREQ=WEEKLY;COUNT=10'] : []),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

export function cardText(uid: string, index: number): string {
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `UID:${uid}`,
    `FN:Person ${index}`,
    `N:${index};Person;;;`,
    `EMAIL:person${index}@example.org`,
    `TEL:+1 555 ${String(1000 + index).padStart(4, '0')}`,
    'END:VCARD',
    '',
  ].join('\r\n');
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Sends one request and expects one of `expected`; the body is read and dropped. */
export function send(base: string, authorization: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, headers: { Authorization: authorization, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Stores the data set as user `user`; fails on the first refused write. */
export async function loadData(base: string, authorization: string, user: string, size: DataSize): Promise<LoadedData> {
  const data: LoadedData = {
    calendar: `/dav/calendars/${user}/personal/`,
    addressbook: `/dav/addressbooks/${user}/contacts/`,
    folders: Array.from({ length: FOLDERS }, (_, i) => `/dav/files/${user}/folder-${i}/`),
    eventNames: Array.from({ length: size.events }, (_, i) => `event-${i}.ics`),
    cardNames: Array.from({ length: size.cards }, (_, i) => `card-${i}.vcf`),
    fileNames: Array.from({ length: size.files }, (_, i) => `f${i}.txt`),
  };
  const expect = async (what: string, status: Promise<number>, ok: number[]) => {
    const got = await status;
    if (!ok.includes(got)) throw new Error(`loading data: ${what} answered ${got}`);
  };
  for (const folder of data.folders) await expect(`MKCOL ${folder}`, send(base, authorization, 'MKCOL', folder), [201]);
  await pool(data.eventNames, 8, (name) => {
    const i = Number(/\d+/.exec(name)![0]);
    return expect(name, send(base, authorization, 'PUT', data.calendar + name, eventText(`load-${i}`, i, `Event ${i}`), { 'Content-Type': 'text/calendar' }), [201]);
  });
  await pool(data.cardNames, 8, (name) => {
    const i = Number(/\d+/.exec(name)![0]);
    return expect(name, send(base, authorization, 'PUT', data.addressbook + name, cardText(`card-${i}`, i), { 'Content-Type': 'text/vcard' }), [201]);
  });
  await pool(data.fileNames, 8, (name) => {
    const i = Number(/\d+/.exec(name)![0]);
    // 4 KiB to 64 KiB of text.
    const body = `file ${i}\n`.padEnd(4096 * (1 + (i % 16)), 'lorem ipsum ');
    return expect(name, send(base, authorization, 'PUT', data.folders[i % FOLDERS]! + name, body, { 'Content-Type': 'text/plain' }), [201]);
  });
  return data;
}
