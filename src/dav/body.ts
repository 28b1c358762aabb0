import type Koa from 'koa';
import { DavError } from './errors.js';
import { parseXml, type Element } from './xml/parse.js';

/** Reads a small request body as UTF-8 text, refusing more than `maxBytes` with 413. */
export async function readTextBody(koa: Koa.Context, maxBytes: number): Promise<string> {
  const declared = Number(koa.get('Content-Length') || '0');
  if (declared > maxBytes) throw new DavError(413, { message: `request body larger than ${maxBytes} bytes` });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of koa.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      koa.req.destroy();
      throw new DavError(413, { message: `request body larger than ${maxBytes} bytes` });
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The XML body of a DAV request, or undefined when there is none. */
export async function readXmlBody(koa: Koa.Context, maxBytes: number): Promise<Element | undefined> {
  const text = await readTextBody(koa, maxBytes);
  if (text.trim() === '') return undefined;
  return parseXml(text);
}
