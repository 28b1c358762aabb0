import type { Element, Node as DomNode } from '@xmldom/xmldom';
import { DAV } from './names.js';

/**
 * Escapes text for element content and attribute values. CR is written as a character
 * reference because an XML parser turns a raw CR into LF (calendar data needs its CRLFs).
 * Characters XML cannot carry (§2.2 Char: C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone
 * surrogates, as NOT_XML_CHAR_PATTERN says) become U+FFFD, so that one odd value never makes a
 * whole multistatus unreadable; GET still returns the stored bytes as they are. A loop over the
 * code units, returning the text itself when nothing is replaced: a regular expression with
 * look-behind for the surrogates made escaping a tenth of a large listing's work.
 */
export function escapeXml(text: string): string {
  let escaped = '';
  /** Where the text not yet copied into `escaped` begins. */
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let replacement: string;
    if (c === 0x26) replacement = '&amp;';
    else if (c === 0x3c) replacement = '&lt;';
    else if (c === 0x3e) replacement = '&gt;';
    else if (c === 0x22) replacement = '&quot;';
    else if (c === 0x0d) replacement = '&#13;';
    else if (c < 0x20) {
      if (c === 0x09 || c === 0x0a) continue;
      replacement = '\uFFFD';
    } else if (c < 0xd800) continue;
    else if (c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      i++;
      continue;
    } else if (c <= 0xdfff || c >= 0xfffe) replacement = '\uFFFD';
    else continue;
    escaped += text.slice(copied, i) + replacement;
    copied = i + 1;
  }
  return copied === 0 ? text : escaped + text.slice(copied);
}

/** The text escapeXml wrote, back as it was (U+FFFD replacements stay). */
export function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#13);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#13': '\r' })[name]!);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * An element in DAV: written with the D: prefix bound on the multistatus root; any other
 * namespace is declared inline as the default namespace, so each element stands on its own.
 */
export function el(ns: string, local: string, inner?: string): string {
  const empty = inner === undefined || inner === '';
  // Written in one template each (a listing writes several elements per member).
  if (ns === DAV) return empty ? `<D:${local}/>` : `<D:${local}>${inner}</D:${local}>`;
  return empty ? `<${local} xmlns="${escapeXml(ns)}"/>` : `<${local} xmlns="${escapeXml(ns)}">${inner}</${local}>`;
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
