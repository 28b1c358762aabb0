/**
 * Calendar objects written in batches (write-batches.ts): an import, or a client syncing a
 * calendar up, PUTs many at once. The batch's statement writes the objects' nodes, their
 * change-log entries and their calendar_objects rows (data and index, as calendarObjectRow does
 * for one). A UID already held in the calendar, or twice in the batch, fails the batch on
 * CALENDAR_UID_KEY; each object then goes alone and the one in conflict is told which member holds it.
 */
import { calendarObjectRow, type CalendarObjectIndex } from './calendars.js';
import type { Queryable } from './db.js';
import { writeMember, type WrittenMember } from './nodes.js';
import { batcherPerDatabase, textObjectBatchSql, writeTextObjectBatch, type BatchKind, type CollectionById, type TextObjectWrite } from './write-batches.js';

/** A validated calendar object to write: its node content, index and text. */
export interface CalendarObjectWrite extends TextObjectWrite {
  index: CalendarObjectIndex;
  data: string;
}

const COLUMNS = [['uid', 'text'], ['component', 'text'], ['first_start', 'timestamptz'], ['last_end', 'timestamptz'], ['recurring', 'boolean'], ['data', 'text']] as const;

const INDEXED = `indexed AS (
       INSERT INTO calendar_objects (user_id, node_id, calendar_id, uid, component, first_start, last_end, recurring, data)
       SELECT w.user_id, w.id, $2, i.uid, i.component, i.first_start, i.last_end, i.recurring, i.data FROM written w JOIN input i ON i.name = w.name
       ON CONFLICT (user_id, node_id) DO UPDATE SET calendar_id = EXCLUDED.calendar_id, uid = EXCLUDED.uid, component = EXCLUDED.component,
         first_start = EXCLUDED.first_start, last_end = EXCLUDED.last_end, recurring = EXCLUDED.recurring, data = EXCLUDED.data
     )`;
const WRITE_SQL = { any: textObjectBatchSql('calendar-object', 'any', COLUMNS, INDEXED), absent: textObjectBatchSql('calendar-object', 'absent', COLUMNS, INDEXED) };

/** Writes one batch (distinct names) in two statements; by name, what was written. */
export function writeCalendarObjectBatch(tx: Queryable, calendar: CollectionById, expected: 'any' | 'absent', writes: readonly CalendarObjectWrite[]): Promise<Map<string, WrittenMember>> {
  return writeTextObjectBatch(tx, calendar, WRITE_SQL[expected], writes, [
    writes.map((w) => w.index.uid),
    writes.map((w) => w.index.componentType),
    writes.map((w) => w.index.firstStart),
    writes.map((w) => w.index.lastEnd),
    writes.map((w) => w.index.recurring),
    writes.map((w) => w.data),
  ]);
}

/** Calendar objects, as a kind of batched write. */
export const calendarObjectWrites: BatchKind<CalendarObjectWrite, CollectionById> = {
  writeBatch: writeCalendarObjectBatch,
  writeAlone: (db, calendar, write) =>
    db.pipelined((tx) => writeMember(tx, calendar, write.name, 'calendar-object', write.content, write.expected, calendarObjectRow(calendar.id, write.index, write.data)), { batchKey: calendar.userId }),
};

/** The batcher of calendar objects of a database. */
export const calendarObjectBatcher = batcherPerDatabase(calendarObjectWrites);
