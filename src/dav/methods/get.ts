import type { DavRequest } from '../context.js';
import { evaluateConditions } from '../conditional.js';
import { contentTypeFor } from '../content-type.js';
import { DavError } from '../errors.js';
import { httpDate } from '../http-date.js';
import { textSources } from '../object-text.js';
import { checkPreconditions } from '../locks/guard.js';
import { openBody, type ByteRange } from '../../store/blobs.js';
import { isCollection } from '../../store/nodes.js';

/**
 * One byte range from a Range header (RFC 9110 §14.2). Several ranges are answered with the
 * whole body, which the RFC allows; an unsatisfiable range is 416.
 */
export function parseRange(header: string, size: number): ByteRange | 'ignore' | 'unsatisfiable' {
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!match) return 'ignore';
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return 'ignore';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return 'ignore';
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export async function get(req: DavRequest): Promise<void> {
  const { koa } = req;
  const node = req.node;
  if (!node) throw new DavError(404);
  await checkPreconditions(req, req.deps.db, []);
  koa.set('ETag', node.etag);
  koa.set('Last-Modified', httpDate(node.modifiedAt));
  if (evaluateConditions(koa, node, true) === 304) {
    koa.status = 304;
    return;
  }

  if (isCollection(node)) {
    // A plain listing so a browser pointed at the share shows something useful.
    koa.type = 'text/plain; charset=utf-8';
    koa.body = `${req.segments.join('/') || '/'} is a collection; use PROPFIND to list it.\n`;
    return;
  }

  const name = req.segments.at(-1) ?? '';
  const source = textSources.get(node.kind);
  if (source) {
    // Content kept in the database (calendar objects, vCards): small, served whole.
    const text = req.text ?? (await source(req.deps.db, req.user.id, [node.id])).get(node.id);
    if (text === undefined) throw new DavError(404);
    koa.status = 200;
    koa.set('Content-Type', contentTypeFor(name, node.contentType));
    // Also for HEAD (RFC 9110 §9.3.2: the GET's status and headers): Koa sends no body for it, and
    // a null body would make the answer 204 without its Content-Type and Content-Length.
    koa.body = text;
    return;
  }
  // Set as stored: Koa's `type` setter would append a charset to what the client chose.
  koa.set('Content-Type', contentTypeFor(name, node.contentType));
  // A stored HTML or SVG file opened in a browser must not run script on this origin (where the
  // web pages and their API live): it is shown sandboxed, as the pages' own downloads are.
  koa.set('Content-Security-Policy', 'sandbox');
  koa.set('X-Content-Type-Options', 'nosniff');
  koa.set('Accept-Ranges', 'bytes');
  let range: ByteRange | undefined;
  const rangeHeader = koa.get('Range');
  const ifRange = koa.get('If-Range');
  const rangeApplies = rangeHeader && (!ifRange || ifRange === node.etag || ifRange === httpDate(node.modifiedAt));
  if (rangeApplies) {
    const parsed = parseRange(rangeHeader, node.size);
    if (parsed === 'unsatisfiable') {
      koa.set('Content-Range', `bytes */${node.size}`);
      throw new DavError(416, { headers: { 'Content-Range': `bytes */${node.size}` } });
    }
    if (parsed !== 'ignore') range = parsed;
  }
  // Set explicitly: Koa answers 404 for a response that never gets a body (HEAD).
  koa.status = range ? 206 : 200;
  if (range) koa.set('Content-Range', `bytes ${range.start}-${range.end}/${node.size}`);
  koa.length = range ? range.end - range.start + 1 : node.size;
  if (koa.method === 'HEAD' || koa.length === 0) {
    if (koa.method !== 'HEAD') koa.body = '';
    return;
  }
  koa.body = await openBody(req.deps.db, req.deps.blobs, req.user.id, node.blobSha256!, node.size, range);
}
