import { DOMParser, type Element, type Node as DomNode } from '@xmldom/xmldom';
import { DavError } from '../errors.js';
import { NOT_XML_CHAR } from './chars.js';
import { DAV } from './names.js';

export type { Element };

/** Bounds on what one request body may make us build. */
const MAX_DEPTH = 64;
const MAX_ELEMENTS = 100_000;

/**
 * Parses a DAV request body. DOCTYPE is refused outright (no entity expansion, no XXE); a
 * malformed document, one with characters XML forbids, or one too deep is a 400; one with too
 * many elements is a 413.
 */
export function parseXml(text: string): Element {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new DavError(400, { message: 'DOCTYPE and entity declarations are not accepted' });
  let doc;
  try {
    doc = new DOMParser({
      onError(level: string, message: string) {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(text, 'text/xml');
  } catch (error) {
    throw new DavError(400, { message: `malformed XML: ${(error as Error).message.split('\n')[0]}` });
  }
  const root = doc.documentElement;
  if (!root) throw new DavError(400, { message: 'malformed XML: no root element' });
  checkDocument(root);
  return root;
}

/** Bounds on depth and size, and only characters XML allows (§2.2), however they were written. */
function checkDocument(root: Element): void {
  let count = 0;
  // xmldom lets `&#0;`, `&#x1;` or `&#xD800;` through; stored, they would break PostgreSQL (NUL)
  // or every later answer that echoes them.
  const refuse = (text: string | null | undefined): void => {
    const bad = text ? NOT_XML_CHAR.exec(text) : null;
    if (bad) throw new DavError(400, { message: `malformed XML: U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML` });
  };
  const walk = (el: Element, depth: number): void => {
    if (depth > MAX_DEPTH) throw new DavError(400, { message: `XML nested deeper than ${MAX_DEPTH} levels` });
    if (++count > MAX_ELEMENTS) throw new DavError(413, { message: `XML has more than ${MAX_ELEMENTS} elements` });
    for (let i = 0; i < el.attributes.length; i++) refuse(el.attributes.item(i)!.value);
    for (let n: DomNode | null = el.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1) walk(n as Element, depth + 1);
      else if (n.nodeType === 3 || n.nodeType === 4) refuse(n.nodeValue);
    }
  };
  walk(root, 1);
}

/** Child elements, in document order. */
export function children(el: Element): Element[] {
  const out: Element[] = [];
  for (let n: DomNode | null = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

export function namespaceOf(el: Element): string {
  return el.namespaceURI ?? '';
}

export function is(el: Element, ns: string, local: string): boolean {
  return el.localName === local && namespaceOf(el) === ns;
}

export function child(el: Element, ns: string, local: string): Element | undefined {
  return children(el).find((c) => is(c, ns, local));
}

export function textContent(el: Element): string {
  return el.textContent ?? '';
}

/** Requires the document element to be DAV:<local>. */
export function expectRoot(root: Element, local: string, ns: string = DAV): Element {
  if (!is(root, ns, local)) throw new DavError(400, { message: `expected a ${local} element as the document root` });
  return root;
}
