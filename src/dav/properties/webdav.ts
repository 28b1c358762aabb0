import type { NodeKind } from '../../store/nodes.js';
import { contentTypeFor } from '../content-type.js';
import { CALDAV, CARDDAV, DAV } from '../xml/names.js';
import { davEl, el, escapeXml } from '../xml/write.js';
import { properties, type PropertyDefinition } from './registry.js';
import { httpDate } from '../http-date.js';

/** What a collection's kind adds to DAV:collection (RFC 4791 §4.2, RFC 6352 §5.2); principals add DAV:principal (RFC 3744 §4). */
const KIND_TYPES: Partial<Record<NodeKind, string>> = {
  calendar: el(CALDAV, 'calendar'),
  addressbook: el(CARDDAV, 'addressbook'),
};

/** The RFC 4918 §15 live properties of stored and virtual resources. */
const webdavProperties: PropertyDefinition[] = [
  {
    ns: DAV,
    local: 'resourcetype',
    inAllprop: true,
    get: (t) =>
      (t.isCollection ? davEl('collection') : '') + (t.node ? (KIND_TYPES[t.node.kind] ?? '') : '') + (t.principal !== undefined ? davEl('principal') : ''),
  },
  {
    ns: DAV,
    local: 'displayname',
    inAllprop: true,
    writable: true,
    // A set value is a dead property (it wins, see propfind); otherwise the name itself.
    get: (t) => (t.name ? escapeXml(t.name) : undefined),
  },
  {
    ns: DAV,
    local: 'getcontentlength',
    inAllprop: true,
    get: (t) => (t.node && !t.isCollection ? String(t.node.size) : undefined),
  },
  {
    ns: DAV,
    local: 'getcontenttype',
    inAllprop: true,
    get: (t) => (t.node && !t.isCollection ? escapeXml(contentTypeFor(t.name, t.node.contentType)) : t.isCollection ? 'httpd/unix-directory' : undefined),
  },
  {
    ns: DAV,
    local: 'getetag',
    inAllprop: true,
    get: (t) => (t.node ? escapeXml(t.node.etag) : undefined),
  },
  {
    ns: DAV,
    local: 'getlastmodified',
    inAllprop: true,
    get: (t) => (t.node ? httpDate(t.node.modifiedAt) : undefined),
  },
  {
    ns: DAV,
    local: 'creationdate',
    inAllprop: true,
    get: (t) => (t.node ? t.node.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined),
  },
];

/** RFC 4331 quota properties, on collections of a user's tree; not part of allprop (§3). */
const quotaProperties: PropertyDefinition[] = [
  {
    ns: DAV,
    local: 'quota-used-bytes',
    inAllprop: false,
    get: async (t, scope) => (t.node && t.isCollection ? String((await scope.usage()).used) : undefined),
  },
  {
    ns: DAV,
    local: 'quota-available-bytes',
    inAllprop: false,
    async get(t, scope) {
      if (!t.node || !t.isCollection) return undefined;
      const { used, quota } = await scope.usage();
      // Without a quota, what the disk has left (RFC 4331 §4): Windows and Finder show it.
      const free = await scope.once('free-bytes', () => scope.req.deps.blobs.freeBytes());
      return String(quota === null ? free : Math.max(0, Math.min(quota - used, free)));
    },
  },
];

properties.register(...webdavProperties, ...quotaProperties);
