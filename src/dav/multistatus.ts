import { statusLine } from './errors.js';
import { davDocument, davEl, escapeXml } from './xml/write.js';

/** Properties of one resource grouped by status (RFC 4918 §14.22 propstat). */
export type PropstatGroups = Map<number, string[]>;

/** Adds a property element under its status. */
export function addToGroups(groups: PropstatGroups, status: number, xml: string): void {
  const list = groups.get(status);
  if (list) list.push(xml);
  else groups.set(status, [xml]);
}

export function propstatResponse(href: string, groups: PropstatGroups): string {
  let inner = davEl('href', escapeXml(href));
  for (const [status, props] of groups.size === 1 ? groups : [...groups].sort(([a], [b]) => a - b)) {
    inner += davEl('propstat', davEl('prop', props.join('')) + davEl('status', statusLine(status)));
  }
  return davEl('response', inner);
}

export function statusResponse(href: string, status: number, error?: string): string {
  return davEl('response', davEl('href', escapeXml(href)) + davEl('status', statusLine(status)) + (error ? davEl('error', error) : ''));
}

export function multistatus(responses: readonly string[], extra = ''): string {
  return davDocument('multistatus', responses.join('') + extra);
}
