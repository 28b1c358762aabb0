// CalDAV (RFC 4791): registers its properties, reports and stored text with the DAV core.
import { calendarObjectData, calendarSettings, copyCalendarObject, findUidOwner, moveCalendarObject } from '../../store/calendars.js';
import { DavError } from '../errors.js';
import { placementRules } from '../placement.js';
import { CALDAV } from '../xml/names.js';
import { textSources } from '../object-text.js';
import './calendar-properties.js';
import './reports.js';

textSources.set('calendar-object', calendarObjectData);

// COPY/MOVE: calendars stay in the calendar home; objects go only into calendars that accept
// their component, keeping UIDs unique there (RFC 4791 §5.3.2.1 applies to COPY and MOVE).
placementRules.set('calendar', { fits: ({ parent, segments }) => parent.parentId === null && segments.length === 1, copyable: false });
placementRules.set('calendar-object', {
  fits: ({ parent }) => parent.kind === 'calendar',
  copyable: true,
  async landed(tx, source, landed, { parent }, copied) {
    const [index] = await tx.query<{ uid: string; component: string }>(
      'SELECT uid, component FROM calendar_objects WHERE user_id = $1 AND node_id = $2',
      [source.userId, source.id],
    );
    if (!index) return;
    const settings = (await calendarSettings(tx, source.userId, [parent.id])).get(parent.id);
    if (!settings?.components.includes(index.component)) {
      throw new DavError(403, { condition: 'supported-calendar-component', ns: CALDAV, message: `this calendar does not accept ${index.component}` });
    }
    // A copy next to its source has the source's UID: that is a conflict too.
    if ((await findUidOwner(tx, source.userId, parent.id, index.uid, copied ? landed.id : source.id)) !== undefined) {
      throw new DavError(403, { condition: 'no-uid-conflict', ns: CALDAV, message: `UID ${index.uid} is already used in that calendar` });
    }
    if (copied) await copyCalendarObject(tx, source.userId, source.id, landed.id, parent.id);
    else await moveCalendarObject(tx, source.userId, source.id, parent.id);
  },
});
