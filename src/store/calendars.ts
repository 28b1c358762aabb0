import type { Queryable } from './db.js';
import { insertNode, nodeColumns, rowToNode, type Beside, type Node, type NodeRow } from './nodes.js';

type NodeRowWithIndex = NodeRow & { first_start: Date | null; last_end: Date | null; recurring: boolean };

/** A calendar collection's own settings (RFC 4791 §5.2). */
export interface CalendarSettings {
  /** supported-calendar-component-set */
  components: string[];
  /** calendar-timezone: a VCALENDAR text with one VTIMEZONE, or null */
  timezone: string | null;
}

export const DEFAULT_COMPONENTS = ['VEVENT', 'VTODO'];

export async function createCalendar(tx: Queryable, userId: number, parentId: number, name: string, settings: CalendarSettings): Promise<Node> {
  const node = await insertNode(tx, { userId, parentId, name, kind: 'calendar' });
  await tx.query('INSERT INTO calendars (user_id, node_id, components, timezone) VALUES ($1, $2, $3, $4)', [
    userId,
    node.id,
    settings.components,
    settings.timezone,
  ]);
  return node;
}

/** Settings of several calendars at once (one query for a whole listing). */
export async function calendarSettings(q: Queryable, userId: number, nodeIds: readonly number[]): Promise<Map<number, CalendarSettings>> {
  const rows = await q.query<{ node_id: number; components: string[]; timezone: string | null }>(
    'SELECT node_id, components, timezone FROM calendars WHERE user_id = $1 AND node_id = ANY($2::bigint[])',
    [userId, nodeIds],
  );
  return new Map(rows.map((r) => [r.node_id, { components: r.components, timezone: r.timezone }]));
}

export async function setCalendarTimezone(tx: Queryable, userId: number, nodeId: number, timezone: string | null): Promise<void> {
  await tx.query('UPDATE calendars SET timezone = $3 WHERE user_id = $1 AND node_id = $2', [userId, nodeId, timezone]);
}

/** What the index keeps of a calendar object (written at PUT time). */
export interface CalendarObjectIndex {
  uid: string;
  componentType: string;
  firstStart: Date | null;
  lastEnd: Date | null;
  recurring: boolean;
}

/**
 * A calendar object's data and index, written (or replaced) beside its node by the same statement.
 * A second object with its UID in the calendar violates the unique key (CALENDAR_UID_KEY).
 */
export function calendarObjectRow(calendarId: number, index: CalendarObjectIndex, data: string): Beside {
  return {
    params: [calendarId, index.uid, index.componentType, index.firstStart, index.lastEnd, index.recurring, data],
    statements: (p) => [
      `INSERT INTO calendar_objects (user_id, node_id, calendar_id, uid, component, first_start, last_end, recurring, data)
       SELECT user_id, id, $${p}::bigint, $${p + 1}::text, $${p + 2}::text, $${p + 3}::timestamptz, $${p + 4}::timestamptz, $${p + 5}::boolean, $${p + 6}::text FROM written
       ON CONFLICT (user_id, node_id) DO UPDATE SET calendar_id = EXCLUDED.calendar_id, uid = EXCLUDED.uid, component = EXCLUDED.component,
         first_start = EXCLUDED.first_start, last_end = EXCLUDED.last_end, recurring = EXCLUDED.recurring, data = EXCLUDED.data`,
    ],
  };
}

/** The unique key that keeps a UID to one object per calendar (calendarObjectRow violates it). */
export const CALENDAR_UID_KEY = 'calendar_objects_user_id_calendar_id_uid_key';

/** The member of a calendar holding `uid`, other than `exceptNodeId`. */
export async function findUidOwner(q: Queryable, userId: number, calendarId: number, uid: string, exceptNodeId?: number): Promise<string | undefined> {
  const rows = await q.query<{ name: string }>(
    `SELECT n.name FROM calendar_objects o JOIN nodes n ON n.user_id = o.user_id AND n.id = o.node_id
      WHERE o.user_id = $1 AND o.calendar_id = $2 AND o.uid = $3 AND o.node_id <> $4`,
    [userId, calendarId, uid, exceptNodeId ?? 0],
  );
  return rows[0]?.name;
}

/** The stored text of calendar objects, by node id (one query for a whole multiget). */
export async function calendarObjectData(q: Queryable, userId: number, nodeIds: readonly number[]): Promise<Map<number, string>> {
  const rows = await q.query<{ node_id: number; data: string }>(
    'SELECT node_id, data FROM calendar_objects WHERE user_id = $1 AND node_id = ANY($2::bigint[])',
    [userId, nodeIds],
  );
  return new Map(rows.map((r) => [r.node_id, r.data]));
}

/** Moves an object's index to another calendar (MOVE between calendars). */
export async function moveCalendarObject(tx: Queryable, userId: number, nodeId: number, calendarId: number): Promise<void> {
  await tx.query('UPDATE calendar_objects SET calendar_id = $3 WHERE user_id = $1 AND node_id = $2', [userId, nodeId, calendarId]);
}

/** Copies an object's index and data to a new node in `calendarId` (COPY). */
export async function copyCalendarObject(tx: Queryable, userId: number, fromNodeId: number, toNodeId: number, calendarId: number): Promise<void> {
  await tx.query(
    `INSERT INTO calendar_objects (user_id, node_id, calendar_id, uid, component, first_start, last_end, recurring, data)
     SELECT user_id, $3, $4, uid, component, first_start, last_end, recurring, data FROM calendar_objects WHERE user_id = $1 AND node_id = $2`,
    [userId, fromNodeId, toNodeId, calendarId],
  );
}

/** A calendar member selected by the index for a calendar-query (its text is loaded separately, when needed). */
export interface CalendarCandidate {
  node: Node;
  firstStart: Date | null;
  lastEnd: Date | null;
  recurring: boolean;
}

/** How far a "short" object may span: the start index is searched this much before the range. */
const SHORT_SPAN_MS = 7 * 86_400_000;

/**
 * Members of a calendar that may match: of the given component type and overlapping the
 * range as the index knows it (a NULL start or end counts as open). Short single instances
 * come from the start index, the others from the end index (migration 0005).
 */
export async function calendarCandidates(
  q: Queryable,
  userId: number,
  calendarId: number,
  filter: { componentType?: string; start?: Date; end?: Date },
): Promise<CalendarCandidate[]> {
  const params: unknown[] = [userId, calendarId];
  const common = ['o.user_id = $1', 'o.calendar_id = $2'];
  if (filter.componentType) common.push(`o.component = $${params.push(filter.componentType)}`);
  const short = [...common, 'NOT o.long_span'];
  const long = [...common, 'o.long_span'];
  if (filter.start) {
    const start = params.push(filter.start);
    short.push(`o.first_start > $${params.push(new Date(filter.start.getTime() - SHORT_SPAN_MS))}`, `o.last_end > $${start}`);
    long.push(`COALESCE(o.last_end, 'infinity'::timestamptz) > $${start}`);
  }
  if (filter.end) {
    const end = params.push(filter.end);
    short.push(`o.first_start < $${end}`);
    long.push(`(o.first_start IS NULL OR o.first_start < $${end})`);
  }
  const select = (where: string[]) =>
    `SELECT o.user_id, o.node_id, o.first_start, o.last_end, o.recurring FROM calendar_objects o WHERE ${where.join(' AND ')}`;
  // Materialized: candidates come from the partial indexes first, then their nodes by primary
  // key, whatever the planner's statistics say (PGlite never gathers them by itself).
  const rows = await q.query<NodeRowWithIndex>(
    `WITH candidates AS MATERIALIZED (${select(short)} UNION ALL ${select(long)})
     SELECT ${nodeColumns('n')}, c.first_start, c.last_end, c.recurring
       FROM candidates c JOIN nodes n ON n.user_id = c.user_id AND n.id = c.node_id
      ORDER BY n.name`,
    params,
  );
  return rows.map((row) => ({ node: rowToNode(row), firstStart: row.first_start, lastEnd: row.last_end, recurring: row.recurring }));
}
