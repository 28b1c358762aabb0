import { DOMParser, type Element, type Node as DomNode } from '@xmldom/xmldom';
import { DavError } from '../errors.js';
import { DAV } from './names.js';

export type { Element };

/** Bounds on what one request body may make us build. */
const MAX_DEPTH = 64;
const MAX_ELEMENTS = 100_000;

/**
 * Parses a DAV request body. DOCTYPE is refused outright (no entity expansion, no XXE); a
 * malformed document, or one too deep or too large, is a 400.
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
  checkBounds(root);
  return root;
}

function checkBounds(root: Element): void {
  let count = 0;
  const walk = (el: Element, depth: number): void => {
    if (depth > MAX_DEPTH) throw new DavError(400, { message: `XML nested deeper than ${MAX_DEPTH} levels` });
    if (++count > MAX_ELEMENTS) throw new DavError(413, { message: `XML has more than ${MAX_ELEMENTS} elements` });
    for (const child of children(el)) walk(child, depth + 1);
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
