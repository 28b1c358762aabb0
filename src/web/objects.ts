import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { calendarObjects } from '../dav/caldav/put-object.js';
import { vcards } from '../dav/carddav/put-card.js';
import { DavError } from '../dav/errors.js';
import { checkPreconditions } from '../dav/locks/guard.js';
import { writeTextObject, type TextObjectKind } from '../dav/methods/put-text.js';
import { lockPath } from '../dav/paths.js';
import { addressObjectData } from '../store/addressbooks.js';
import { calendarObjectData } from '../store/calendars.js';
import type { Queryable } from '../store/db.js';
import { getNode, listChildren, lockMember, type Node } from '../store/nodes.js';
import type { CollectionSpace, ImportReport } from './api-types.js';
import { davRequest } from './dav-bridge.js';
import type { WebContext } from './http.js';
import { splitComponents, type Component } from './split.js';


interface Entry {
  line: number;
  text: string;
}

/** Writes this many entries per transaction, so no collection stays locked for long. */
const BATCH = 200;

// The protocols' own definitions: the same validation, index and storage as a CalDAV or CardDAV PUT.
const KINDS: { [S in CollectionSpace]: TextObjectKind<{ uid: string }> } = { calendars: calendarObjects, addressbooks: vcards };
const EXTENSION = { calendars: '.ics', addressbooks: '.vcf' } as const;
/** Calendar properties an object keeps from the file (RFC 4791 §4.1: never METHOD). */
const KEPT_CALENDAR_PROPERTY = /^(VERSION|PRODID|CALSCALE)[;:]/i;

/**
 * Entries of an .ics file, one per UID (a recurring event's overrides travel with it, RFC 4791
 * §4.1), each a VCALENDAR with the time zones it refers to.
 */
function calendarEntries(text: string, report: ImportReport): Entry[] {
  const split = splitComponents(text, 'VCALENDAR');
  report.failed.push(...split.errors);
  const zones = new Map<string, Component>();
  const byUid = new Map<string, Component[]>();
  for (const c of split.components) {
    if (c.type === 'VTIMEZONE') {
      if (c.uid && !zones.has(c.uid)) zones.set(c.uid, c);
    } else if (!c.uid) report.failed.push({ line: c.line, message: `${c.type} has no UID` });
    else byUid.set(c.uid, [...(byUid.get(c.uid) ?? []), c]);
  }
  const kept = split.calendarProperties.filter((p) => KEPT_CALENDAR_PROPERTY.test(p)).map((p) => p + '\r\n');
  if (!kept.some((p) => /^VERSION[;:]/i.test(p))) kept.unshift('VERSION:2.0\r\n');
  if (!kept.some((p) => /^PRODID[;:]/i.test(p))) kept.push('PRODID:-//Davenport//Import//EN\r\n');
  return [...byUid.values()].map((components) => {
    const tzids = new Set(components.flatMap((c) => c.tzids));
    const timezones = [...tzids].flatMap((id) => (zones.has(id) ? [zones.get(id)!.text] : []));
    const body = ['BEGIN:VCALENDAR\r\n', ...kept, ...timezones, ...components.map((c) => c.text), 'END:VCALENDAR\r\n'].join('');
    return { line: components[0]!.line, text: body };
  });
}

function cardEntries(text: string, report: ImportReport): Entry[] {
  const split = splitComponents(text, undefined);
  report.failed.push(...split.errors);
  return split.components.flatMap((c) => {
    if (c.type !== 'VCARD') {
      report.failed.push({ line: c.line, message: `expected BEGIN:VCARD, found BEGIN:${c.type}` });
      return [];
    }
    return [{ line: c.line, text: c.text }];
  });
}

/** The member name for a UID: the UID itself when it is a plain name, else a hash of it. */
function memberName(uid: string, space: CollectionSpace): string {
  const plain = /^[A-Za-z0-9@_-][A-Za-z0-9@._-]{0,150}$/.test(uid);
  return (plain ? uid : createHash('sha256').update(uid).digest('hex').slice(0, 32)) + EXTENSION[space];
}

/**
 * Imports a file of many entries into a calendar or address book: each validated as a PUT
 * would be; a refused entry is reported with its line and the others still stored; an entry
 * whose UID is already in the collection replaces that object rather than adding a second.
 */
export async function importObjects(web: WebContext, space: CollectionSpace, collection: Node, text: string): Promise<ImportReport> {
  const report: ImportReport = { created: 0, updated: 0, failed: [] };
  const kind = KINDS[space];
  const entries = space === 'calendars' ? calendarEntries(text, report) : cardEntries(text, report);
  const valid: Array<{ text: string; index: { uid: string } }> = [];
  const seen = new Map<string, number>();
  for (const entry of entries) {
    try {
      if (Buffer.byteLength(entry.text) > kind.maxSize) throw new DavError(413, { message: `larger than ${kind.maxSize} bytes` });
      const index = await kind.validate(web.deps.db, collection, entry.text, web.deps.config);
      // The same UID twice in one file: the later entry wins, as a second PUT would.
      const at = seen.get(index.uid);
      if (at !== undefined) valid[at] = { text: entry.text, index };
      else {
        seen.set(index.uid, valid.length);
        valid.push({ text: entry.text, index });
      }
    } catch (error) {
      if (!(error instanceof DavError)) throw error;
      report.failed.push({ line: entry.line, message: error.options.message ?? error.message });
    }
  }
  report.failed.sort((a, b) => a.line - b.line);

  const req = await davRequest(web, space, [collection.name]);
  for (let i = 0; i < valid.length; i += BATCH) {
    const batch = valid.slice(i, i + BATCH);
    await web.deps.db.transaction(async (tx) => {
      const parent = await getNode(tx, web.user.id, collection.id, true);
      if (!parent) throw new DavError(409, { message: 'the collection was removed' });
      // Any client lock in the collection stops the import, as it would stop those PUTs.
      await checkPreconditions(req, tx, [{ path: lockPath(space, [collection.name]), subtree: true }]);
      for (const { text: body, index } of batch) {
        const created = await storeEntry(tx, kind, space, parent, body, index);
        if (created) report.created++;
        else report.updated++;
      }
    });
  }
  return report;
}

/** Stores one entry under the member holding its UID, or a new member; true when it is new. */
async function storeEntry(tx: Queryable, kind: TextObjectKind<{ uid: string }>, space: CollectionSpace, parent: Node, text: string, index: { uid: string }): Promise<boolean> {
  const owner = await kind.uidOwner(tx, parent, index.uid, undefined);
  let name = owner ?? memberName(index.uid, space);
  let { member } = await lockMember(tx, parent.userId, parent.id, name);
  // That name holds an object with another UID (stored by a client): leave it alone.
  if (member && owner === undefined) {
    name = randomUUID() + EXTENSION[space];
    member = undefined;
  }
  await writeTextObject(tx, kind, parent, member, name, text, index);
  return member === undefined;
}

/** iCalendar TEXT escaping (RFC 5545 §3.3.11). */
function escapeText(text: string): string {
  return text.replace(/[\\;,]/g, (c) => '\\' + c).replace(/\r?\n/g, '\\n');
}

/**
 * One collection as a single file, streamed: a VCALENDAR holding every object's components
 * (each time zone once), or the vCards one after another, all as stored.
 */
export function exportCollection(db: Queryable, space: CollectionSpace, collection: Node, displayName: string): Readable {
  return Readable.from(space === 'calendars' ? calendarText(db, collection, displayName) : cardText(db, collection), { objectMode: false });
}

async function* storedTexts(db: Queryable, collection: Node, load: typeof calendarObjectData): AsyncGenerator<string> {
  const members = await listChildren(db, collection.userId, collection.id);
  for (let i = 0; i < members.length; i += BATCH) {
    const ids = members.slice(i, i + BATCH).map((n) => n.id);
    const texts = await load(db, collection.userId, ids);
    for (const id of ids) {
      const text = texts.get(id);
      if (text !== undefined) yield text;
    }
  }
}

async function* calendarText(db: Queryable, collection: Node, displayName: string): AsyncGenerator<string> {
  yield `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Davenport//Export//EN\r\nX-WR-CALNAME:${escapeText(displayName)}\r\n`;
  const zones = new Set<string>();
  for await (const text of storedTexts(db, collection, calendarObjectData)) {
    let out = '';
    for (const c of splitComponents(text, 'VCALENDAR').components) {
      if (c.type === 'VTIMEZONE') {
        if (!c.uid || zones.has(c.uid)) continue;
        zones.add(c.uid);
      }
      out += c.text;
    }
    yield out;
  }
  yield 'END:VCALENDAR\r\n';
}

async function* cardText(db: Queryable, collection: Node): AsyncGenerator<string> {
  for await (const text of storedTexts(db, collection, addressObjectData)) yield /\r?\n$/.test(text) ? text : text + '\r\n';
}
