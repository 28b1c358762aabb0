/**
 * Calendar objects written in batches (write-batches.ts): an import, or a client syncing a
 * calendar up, PUTs many at once. The batch's statement writes the objects' nodes, their
 * change-log entries and their calendar_objects rows (data and index, as calendarObjectRow does
 * for one). A UID already held in the calendar, or twice in the batch, fails the batch on
 * CALENDAR_UID_KEY; each object then goes alone and the one in conflict is told which member holds it.
 */
import { calendarObjectRow, type CalendarObjectIndex } from './calendars.js';
import type { Queryable } from './db.js';
import { nodeColumns, rowToNode, writeMember, type NodeContent, type NodeRow, type WrittenMember } from './nodes.js';
import { batcherPerDatabase, bumpAndWrite, BUMPED_CTE, LOGGED_CTES, type BatchKind, type BatchParent } from './write-batches.js';

/** A validated calendar object to write: its name, node content, index and text. */
export interface CalendarObjectWrite {
  name: string;
  expected: 'any' | 'absent';
  content: NodeContent;
  index: CalendarObjectIndex;
  data: string;
}

/** As file-batches.ts's statement, with the calendar_objects rows where that one claims blobs. */
function writeSql(expected: 'any' | 'absent'): string {
  const onConflict =
    expected === 'absent'
      ? 'NOTHING'
      : `UPDATE SET size = EXCLUDED.size, etag = EXCLUDED.etag, content_type = EXCLUDED.content_type, modified_at = now()
         WHERE n.kind = 'calendar-object'`;
  return `WITH input AS (
       SELECT * FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::boolean[], $12::text[])
         WITH ORDINALITY AS i (name, size, content_type, etag, uid, component, first_start, last_end, recurring, data, ord)
     ), ${BUMPED_CTE}, written AS (
       INSERT INTO nodes AS n (user_id, parent_id, name, kind, size, content_type, etag)
       SELECT $1, $2, i.name, 'calendar-object', i.size, i.content_type, i.etag FROM input i, bumped ORDER BY i.ord
       ON CONFLICT (user_id, parent_id, name) DO ${onConflict}
       RETURNING ${nodeColumns('n')}, xmax = 0 AS created
     ), ${LOGGED_CTES}, indexed AS (
       INSERT INTO calendar_objects (user_id, node_id, calendar_id, uid, component, first_start, last_end, recurring, data)
       SELECT w.user_id, w.id, $2, i.uid, i.component, i.first_start, i.last_end, i.recurring, i.data FROM written w JOIN input i ON i.name = w.name
       ON CONFLICT (user_id, node_id) DO UPDATE SET calendar_id = EXCLUDED.calendar_id, uid = EXCLUDED.uid, component = EXCLUDED.component,
         first_start = EXCLUDED.first_start, last_end = EXCLUDED.last_end, recurring = EXCLUDED.recurring, data = EXCLUDED.data
     )
     SELECT * FROM written`;
}
const WRITE_SQL = { any: writeSql('any'), absent: writeSql('absent') };

/** Writes one batch (distinct names) in two statements; by name, what was written. */
export async function writeCalendarObjectBatch(tx: Queryable, calendar: BatchParent, expected: 'any' | 'absent', writes: readonly CalendarObjectWrite[]): Promise<Map<string, WrittenMember>> {
  const rows = await bumpAndWrite<NodeRow & { created: boolean }>(tx, calendar, writes.length, WRITE_SQL[expected], [
    calendar.userId,
    calendar.id,
    writes.map((w) => w.name),
    writes.map((w) => w.content.size),
    writes.map((w) => w.content.contentType),
    writes.map((w) => w.content.etag),
    writes.map((w) => w.index.uid),
    writes.map((w) => w.index.componentType),
    writes.map((w) => w.index.firstStart),
    writes.map((w) => w.index.lastEnd),
    writes.map((w) => w.index.recurring),
    writes.map((w) => w.data),
  ]);
  return new Map(rows.map((row) => [row.name, { node: rowToNode(row), created: row.created, previousBlob: null }]));
}

/** Calendar objects, as a kind of batched write. */
export const calendarObjectWrites: BatchKind<CalendarObjectWrite> = {
  writeBatch: writeCalendarObjectBatch,
  writeAlone: (db, calendar, write) =>
    db.pipelined((tx) => writeMember(tx, calendar, write.name, 'calendar-object', write.content, write.expected, calendarObjectRow(calendar.id, write.index, write.data)), { batchKey: calendar.userId }),
};

/** The batcher of calendar objects of a database. */
export const calendarObjectBatcher = batcherPerDatabase(calendarObjectWrites);
