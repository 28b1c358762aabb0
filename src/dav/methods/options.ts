import type Koa from 'koa';

/**
 * RFC 4918 §10.1: class 1, 2 (locks) and 3 (the revised RFC 4918 behaviour); calendar-access
 * (RFC 4791 §5.1, which clients look for before they try CalDAV), addressbook (RFC 6352 §6.1)
 * and extended-mkcol (RFC 5689 §3).
 */
export const DAV_COMPLIANCE = '1, 2, 3, calendar-access, addressbook, extended-mkcol';

/** OPTIONS: what this resource supports. `MS-Author-Via` makes Windows and Office treat it as writable. */
export function answerOptions(koa: Koa.Context, allow: readonly string[]): void {
  koa.set('DAV', DAV_COMPLIANCE);
  koa.set('MS-Author-Via', 'DAV');
  koa.set('Allow', allow.join(', '));
  koa.set('Accept-Ranges', 'bytes');
  koa.status = 200;
  koa.body = '';
}
