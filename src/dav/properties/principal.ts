import { isCollection } from '../../store/nodes.js';
import { principalHref, SPACES, type Space } from '../paths.js';
import { PRINCIPAL_COLLECTION_REPORTS, PRINCIPAL_REPORTS } from '../principals.js';
import { reports } from '../reports/registry.js';
import { formatSyncToken } from '../sync/token.js';
import { DAV } from '../xml/names.js';
import { davEl, el, escapeXml } from '../xml/write.js';
import { properties, type PropertyDefinition, type PropertyScope, type PropertyTarget } from './registry.js';

/**
 * What the owner may do with a stored resource (RFC 3744 §3): everything this server
 * implements. DAV:write contains write-properties, write-content, bind and unbind (§3.2), and
 * §5.4 lists aggregates with what they contain. Not DAV:all: there is no ACL method, so no
 * write-acl. Thunderbird and TbSync decide writability from this list.
 */
export const OWNER_PRIVILEGES = [
  'read',
  'write',
  'write-properties',
  'write-content',
  'bind',
  'unbind',
  'unlock',
  'read-acl',
  'read-current-user-privilege-set',
] as const;

/** The virtual collections above the homes and the principal: readable, never writable. */
export const READ_ONLY_PRIVILEGES = ['read', 'read-current-user-privilege-set'] as const;

const href = (value: string) => davEl('href', escapeXml(value));
const privileges = (names: readonly string[]) => names.map((p) => davEl('privilege', davEl(p))).join('');
const signedIn = (scope: PropertyScope) => principalHref(scope.req.prefix, scope.req.user.name);

/**
 * The space of a stored resource, from its lock path ('calendars/work' → 'calendars'). Only a
 * user's own tree is ever reached (the dispatcher 404s others), so its owner is the signed-in user.
 */
function spaceOf(target: PropertyTarget): Space | undefined {
  const first = target.lockPath?.split('/')[0];
  return SPACES.find((s) => s === first);
}

// None of these is in allprop: RFC 3744 §5 and §4 (principal and ACL properties), RFC 5397 §3
// (current-user-principal), RFC 3253 §3.1.5 (supported-report-set), RFC 6578 §4 (sync-token).
const principalProperties: PropertyDefinition[] = [
  {
    // RFC 5397 §3, on every resource (virtual ones and the well-known URLs too): clients start
    // discovery by asking for it wherever the user pointed them.
    ns: DAV,
    local: 'current-user-principal',
    inAllprop: false,
    get: (_t, scope) => href(signedIn(scope)),
  },
  {
    // RFC 3744 §4.2: the principal's own URL, on the principal.
    ns: DAV,
    local: 'principal-URL',
    inAllprop: false,
    get: (t, scope) => (t.principal !== undefined ? href(principalHref(scope.req.prefix, t.principal)) : undefined),
  },
  {
    // RFC 3744 §5.8: where principals are listed.
    ns: DAV,
    local: 'principal-collection-set',
    inAllprop: false,
    get: (_t, scope) => href(`${scope.req.prefix}dav/principals/`),
  },
  {
    // RFC 3744 §5.1: stored resources belong to the user whose tree holds them; a principal to itself.
    ns: DAV,
    local: 'owner',
    inAllprop: false,
    get(t, scope) {
      if (t.principal !== undefined) return href(principalHref(scope.req.prefix, t.principal));
      return t.node ? href(signedIn(scope)) : undefined;
    },
  },
  {
    // RFC 3744 §5.4.
    ns: DAV,
    local: 'current-user-privilege-set',
    inAllprop: false,
    get: (t) => privileges(t.node ? OWNER_PRIVILEGES : READ_ONLY_PRIVILEGES),
  },
  {
    // RFC 3744 §5.5: one protected grant to the owner, the same privileges as above.
    ns: DAV,
    local: 'acl',
    inAllprop: false,
    get: (t, scope) =>
      t.node
        ? davEl('ace', davEl('principal', href(signedIn(scope))) + davEl('grant', privileges(['read', 'write', 'unlock', 'read-acl', 'read-current-user-privilege-set'])) + davEl('protected'))
        : undefined,
  },
  {
    // RFC 3253 §3.1.5, computed from the report registry so it cannot drift from what REPORT runs.
    ns: DAV,
    local: 'supported-report-set',
    inAllprop: false,
    get(t) {
      const listed = (names: readonly string[]) => names.map((name) => davEl('supported-report', davEl('report', davEl(name)))).join('');
      if (t.principal !== undefined) return listed(PRINCIPAL_REPORTS);
      if (t.principalCollection) return listed(PRINCIPAL_COLLECTION_REPORTS);
      const space = spaceOf(t);
      if (!t.node || !space) return '';
      return reports
        .forResource(space, t.node)
        .map((r) => davEl('supported-report', davEl('report', el(r.ns, r.local))))
        .join('');
    },
  },
  {
    // RFC 6578 §4: on every collection, the token a sync-collection REPORT would answer now.
    ns: DAV,
    local: 'sync-token',
    inAllprop: false,
    get: (t) => (t.node && isCollection(t.node) ? escapeXml(formatSyncToken({ collectionId: t.node.id, token: t.node.syncToken })) : undefined),
  },
];

properties.register(...principalProperties);
