import type { Element, Node as DomNode } from '@xmldom/xmldom';
import { NOT_XML_CHAR_PATTERN } from './chars.js';
import { DAV } from './names.js';

/** What escapeXml replaces: the characters it escapes, and those XML cannot carry at all. */
const ESCAPED = new RegExp(`[&<>"\\r]|${NOT_XML_CHAR_PATTERN}`, 'g');

/**
 * Escapes text for element content and attribute values. CR is written as a character
 * reference because an XML parser turns a raw CR into LF (calendar data needs its CRLFs).
 * Characters XML cannot carry (a control character in a stored vCard or a file name) become
 * U+FFFD, so that one odd value never makes a whole multistatus unreadable; GET still returns
 * the stored bytes as they are.
 */
export function escapeXml(text: string): string {
  return text.replace(ESCAPED, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === '\r' ? '&#13;' : '\uFFFD'));
}

/**
 * An element in DAV: written with the D: prefix bound on the multistatus root; any other
 * namespace is declared inline as the default namespace, so each element stands on its own.
 */
export function el(ns: string, local: string, inner?: string): string {
  const open = ns === DAV ? `D:${local}` : `${local} xmlns="${escapeXml(ns)}"`;
  const close = ns === DAV ? `D:${local}` : local;
  return inner === undefined || inner === '' ? `<${open}/>` : `<${open}>${inner}</${close}>`;
}

export function davEl(local: string, inner?: string): string {
  return el(DAV, local, inner);
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';

/** A whole document whose root is DAV:<local>. */
export function davDocument(local: string, inner: string): string {
  return `${XML_DECLARATION}<D:${local} xmlns:D="DAV:">${inner}</D:${local}>`;
}

/**
 * Serialises a parsed element with every namespace it uses declared on itself, so it can be
 * stored and later embedded anywhere (dead property values, lock owners).
 */
export function serializeElement(element: Element): string {
  return writeElement(element, null);
}

function writeElement(element: Element, parentNs: string | null): string {
  const ns = element.namespaceURI ?? '';
  const name = element.localName ?? element.nodeName;
  let attrs = ns === parentNs ? '' : ` xmlns="${escapeXml(ns)}"`;
  let prefixes = 0;
  for (let i = 0; i < element.attributes.length; i++) {
    const attr = element.attributes.item(i)!;
    if (attr.name === 'xmlns' || attr.prefix === 'xmlns') continue;
    if (attr.namespaceURI) {
      const prefix = `a${prefixes++}`;
      attrs += ` xmlns:${prefix}="${escapeXml(attr.namespaceURI)}" ${prefix}:${attr.localName}="${escapeXml(attr.value)}"`;
    } else {
      attrs += ` ${attr.name}="${escapeXml(attr.value)}"`;
    }
  }
  let inner = '';
  for (let n: DomNode | null = element.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) inner += writeElement(n as Element, ns);
    else if (n.nodeType === 3 || n.nodeType === 4) inner += escapeXml(n.nodeValue ?? '');
  }
  return inner === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${inner}</${name}>`;
}
