import { statusElement } from './errors.js';
import { davDocument, davEl, escapeXml } from './xml/write.js';

/** Properties of one resource grouped by status (RFC 4918 §14.22 propstat). */
export type PropstatGroups = Map<number, string[]>;

/** Adds a property element under its status. */
export function addToGroups(groups: PropstatGroups, status: number, xml: string): void {
  const list = groups.get(status);
  if (list) list.push(xml);
  else groups.set(status, [xml]);
}

/**
 * One DAV:response with its propstats. Its parts are joined once: a listing writes one per
 * member, and building it element by element left a dozen intermediate strings each.
 */
export function propstatResponse(href: string, groups: PropstatGroups): string {
  const parts = ['<D:response><D:href>', escapeXml(href), '</D:href>'];
  for (const [status, props] of groups.size === 1 ? groups : [...groups].sort(([a], [b]) => a - b)) {
    if (props.length === 0) parts.push('<D:propstat><D:prop/>');
    else parts.push('<D:propstat><D:prop>', ...props, '</D:prop>');
    parts.push(statusElement(status), '</D:propstat>');
  }
  parts.push('</D:response>');
  return parts.join('');
}

export function statusResponse(href: string, status: number, error?: string): string {
  return davEl('response', davEl('href', escapeXml(href)) + statusElement(status) + (error ? davEl('error', error) : ''));
}

export function multistatus(responses: readonly string[], extra = ''): string {
  return davDocument('multistatus', responses.join('') + extra);
}
