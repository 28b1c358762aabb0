import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { readXmlBody } from '../body.js';
import { multistatus, propstatResponse, type PropstatGroups } from '../multistatus.js';
import { checkPreconditions } from '../locks/guard.js';
import { lockPath, spaceHref } from '../paths.js';
import { properties } from '../properties/registry.js';
import { children, expectRoot, is, namespaceOf, type Element } from '../xml/parse.js';
import { DAV } from '../xml/names.js';
import { el, serializeElement } from '../xml/write.js';
import { getNode } from '../../store/nodes.js';
import { removeProperty, setProperty } from '../../store/properties.js';

interface Instruction {
  op: 'set' | 'remove';
  ns: string;
  local: string;
  element: Element;
}

/** The set/remove instructions of a propertyupdate, in document order (RFC 4918 §9.2). */
export function parsePropertyUpdate(root: Element | undefined): Instruction[] {
  if (!root) throw new DavError(400, { message: 'PROPPATCH needs a propertyupdate body' });
  expectRoot(root, 'propertyupdate');
  const instructions: Instruction[] = [];
  for (const part of children(root)) {
    const op = is(part, DAV, 'set') ? 'set' : is(part, DAV, 'remove') ? 'remove' : undefined;
    if (!op) continue;
    for (const prop of children(part).filter((c) => is(c, DAV, 'prop'))) {
      for (const element of children(prop)) instructions.push({ op, ns: namespaceOf(element), local: element.localName ?? '', element });
    }
  }
  if (instructions.length === 0) throw new DavError(400, { message: 'propertyupdate names no property' });
  return instructions;
}

/**
 * PROPPATCH: validate every instruction, then apply all of them in one transaction; if one
 * fails, none is applied and the others are reported as 424 (RFC 4918 §9.2).
 */
export async function proppatch(req: DavRequest): Promise<void> {
  const { deps, user, koa } = req;
  const instructions = parsePropertyUpdate(await readXmlBody(koa, deps.config.maxXmlBytes));
  const node = req.node;
  if (!node) throw new DavError(404);

  const refused = new Set(instructions.filter((i) => {
    const def = properties.get(i.ns, i.local);
    return def !== undefined && !def.writable;
  }));
  const groups: PropstatGroups = new Map();
  const report = (status: number, i: Instruction) => groups.set(status, [...(groups.get(status) ?? []), el(i.ns, i.local)]);

  await deps.db.transaction(async (tx) => {
    if (!(await getNode(tx, user.id, node.id, true))) throw new DavError(404);
    await checkPreconditions(req, tx, [{ path: lockPath(req.space, req.segments) }]);
    if (refused.size > 0) return;
    for (const i of instructions) {
      if (i.op === 'set') await setProperty(tx, user.id, node.id, { namespace: i.ns, name: i.local, xml: serializeElement(i.element) });
      else await removeProperty(tx, user.id, node.id, i.ns, i.local);
    }
  });
  for (const i of instructions) report(refused.size === 0 ? 200 : refused.has(i) ? 403 : 424, i);

  const href = spaceHref(req.prefix, req.space, user.name, req.segments, node.kind === 'collection');
  let body = propstatResponse(href, groups);
  if (refused.size > 0) {
    // The reason for the 403s, as RFC 4918 §16 names it.
    body = body.replace('</D:response>', `<D:responsedescription>cannot-modify-protected-property</D:responsedescription></D:response>`);
  }
  koa.status = 207;
  koa.type = 'application/xml; charset=utf-8';
  koa.body = multistatus([body]);
}
