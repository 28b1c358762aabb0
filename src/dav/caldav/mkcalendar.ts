import { createCalendar, DEFAULT_COMPONENTS } from '../../store/calendars.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { readXmlBody } from '../body.js';
import { collectionFactories, makeCollection, placementAllowed } from '../methods/mkcol.js';
import { parseInstructions, type Instruction } from '../methods/proppatch.js';
import { children, is } from '../xml/parse.js';
import { CALDAV } from '../xml/names.js';
import { COMPONENT_TYPES } from './calendar-properties.js';

/** The components a new calendar accepts: supported-calendar-component-set if given (§5.2.3), else events and tasks. */
function componentsOf(instructions: readonly Instruction[]): string[] {
  const set = instructions.find((i) => i.op === 'set' && i.ns === CALDAV && i.local === 'supported-calendar-component-set');
  if (!set) return DEFAULT_COMPONENTS;
  const names = children(set.element)
    .filter((c) => is(c, CALDAV, 'comp'))
    .map((c) => (c.getAttribute('name') ?? '').toUpperCase());
  if (names.length === 0 || names.some((n) => !(COMPONENT_TYPES as readonly string[]).includes(n))) {
    throw new DavError(403, { condition: 'supported-calendar-component', ns: CALDAV, message: 'unsupported calendar component in supported-calendar-component-set' });
  }
  return [...new Set(names)];
}

collectionFactories.set('calendar', (instructions) => {
  const components = componentsOf(instructions);
  return (tx, parent, name) => createCalendar(tx, parent.userId, parent.id, name, { components, timezone: null });
});

/** MKCALENDAR (RFC 4791 §5.3.1): a calendar in the calendar home, with initial properties. */
export async function mkcalendar(req: DavRequest): Promise<void> {
  if (req.node) throw new DavError(405, { condition: 'resource-must-be-null' });
  const body = await readXmlBody(req.koa, req.deps.config.maxXmlBytes);
  if (body && !is(body, CALDAV, 'mkcalendar')) throw new DavError(400, { message: 'MKCALENDAR takes a CALDAV:mkcalendar body' });
  if (!req.parent) throw new DavError(409, { message: 'the calendar home does not exist' });
  if (!placementAllowed(req, 'calendar', req.parent)) throw new DavError(403, { condition: 'calendar-collection-location-ok', ns: CALDAV });
  const instructions = body ? parseInstructions(body) : [];
  if (instructions.some((i) => i.op === 'remove')) throw new DavError(400, { message: 'mkcalendar may only set properties' });
  await makeCollection(req, collectionFactories.get('calendar')!(instructions), instructions, { ns: CALDAV, local: 'mkcalendar-response' });
}
