import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { readXmlBody } from '../body.js';
import { reports } from '../reports/registry.js';
import { namespaceOf } from '../xml/parse.js';

/**
 * REPORT (RFC 3253 §3.6): the body's root element names the report. One this resource does not
 * offer is 403 with DAV:supported-report.
 */
export async function report(req: DavRequest): Promise<void> {
  const body = await readXmlBody(req.koa, req.deps.config.maxXmlBytes);
  if (!body) throw new DavError(400, { message: 'REPORT needs a body naming the report' });
  if (!req.node) throw new DavError(404);
  const definition = reports.get(namespaceOf(body), body.localName ?? '');
  if (!definition || !definition.appliesTo(req.space, req.node)) {
    throw new DavError(403, { condition: 'supported-report', message: `${body.localName} is not a report of this resource` });
  }
  await definition.run(req, body);
}
