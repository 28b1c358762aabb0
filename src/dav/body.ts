import type Koa from 'koa';
import { DavError } from './errors.js';
import { parseXml, type Element } from './xml/parse.js';

/** Used when the connection has no idle timeout of its own (the server sets IDLE_TIMEOUT_MS on each). */
const FALLBACK_BODY_DEADLINE_MS = 120_000;

/**
 * Reads a small request body as UTF-8 text, refusing more than `maxBytes` with 413. The whole
 * body must arrive within the connection's idle timeout (IDLE_TIMEOUT_MS): a client sending a
 * byte now and then is never idle, and would otherwise hold the request for as long as it likes.
 */
export async function readTextBody(koa: Koa.Context, maxBytes: number): Promise<string> {
  const declared = Number(koa.get('Content-Length') || '0');
  if (declared > maxBytes) throw new DavError(413, { message: `request body larger than ${maxBytes} bytes` });
  const chunks: Buffer[] = [];
  let size = 0;
  let late = false;
  const deadline = setTimeout(() => {
    late = true;
    koa.req.destroy();
  }, koa.req.socket?.timeout || FALLBACK_BODY_DEADLINE_MS);
  try {
    for await (const chunk of koa.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        koa.req.destroy();
        throw new DavError(413, { message: `request body larger than ${maxBytes} bytes` });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (late) throw new DavError(408, { message: 'the request body took too long to arrive' });
    throw error;
  } finally {
    clearTimeout(deadline);
  }
  if (late) throw new DavError(408, { message: 'the request body took too long to arrive' });
  const text = Buffer.concat(chunks).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The XML body of a DAV request, or undefined when there is none. */
export async function readXmlBody(koa: Koa.Context, maxBytes: number): Promise<Element | undefined> {
  const text = await readTextBody(koa, maxBytes);
  if (text.trim() === '') return undefined;
  return parseXml(text);
}
