import type { Queryable } from '../../store/db.js';
import { getNode } from '../../store/nodes.js';
import { removeProperty, setProperty } from '../../store/properties.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { readXmlBody } from '../body.js';
import { multistatus, propstatResponse, type PropstatGroups } from '../multistatus.js';
import { checkPreconditions } from '../locks/guard.js';
import { storedTarget } from './propfind.js';
import { properties, type PropertyRefusal, type PropertyTarget } from '../properties/registry.js';
import { children, expectRoot, is, namespaceOf, type Element } from '../xml/parse.js';
import { DAV } from '../xml/names.js';
import { el, serializeElement } from '../xml/write.js';

export interface Instruction {
  op: 'set' | 'remove';
  ns: string;
  local: string;
  element: Element;
}

/** The set/remove instructions under `root` (a propertyupdate, mkcol or mkcalendar), in document order. */
export function parseInstructions(root: Element): Instruction[] {
  const instructions: Instruction[] = [];
  for (const part of children(root)) {
    const op = is(part, DAV, 'set') ? 'set' : is(part, DAV, 'remove') ? 'remove' : undefined;
    if (!op) continue;
    for (const prop of children(part).filter((c) => is(c, DAV, 'prop'))) {
      for (const element of children(prop)) instructions.push({ op, ns: namespaceOf(element), local: element.localName ?? '', element });
    }
  }
  return instructions;
}

/** The set/remove instructions of a propertyupdate (RFC 4918 §9.2). */
export function parsePropertyUpdate(root: Element | undefined): Instruction[] {
  if (!root) throw new DavError(400, { message: 'PROPPATCH needs a propertyupdate body' });
  expectRoot(root, 'propertyupdate');
  const instructions = parseInstructions(root);
  if (instructions.length === 0) throw new DavError(400, { message: 'propertyupdate names no property' });
  return instructions;
}

/** Why an instruction cannot be applied, or undefined when it can. */
function refusalOf(target: PropertyTarget, i: Instruction, skip: ReadonlySet<string>): PropertyRefusal | undefined {
  if (skip.has(`${i.ns} ${i.local}`)) return undefined;
  const def = properties.get(i.ns, i.local);
  if (!def) return undefined;
  if (!def.writable) return { status: 403, ns: DAV, condition: 'cannot-modify-protected-property' };
  return i.op === 'set' ? def.store?.validate(target, i.element) : undefined;
}

/**
 * Validates every instruction, then applies all of them in the caller's transaction only if
 * none is refused (RFC 4918 §9.2: all or nothing). Names in `skip` were handled by the caller
 * (resourcetype at creation). Returns the per-property statuses and whether anything failed.
 */
export async function applyPropertyUpdates(
  tx: Queryable,
  target: PropertyTarget & { node: NonNullable<PropertyTarget['node']> },
  instructions: readonly Instruction[],
  skip: ReadonlySet<string> = new Set(),
): Promise<{ failed: boolean; groups: PropstatGroups }> {
  const refusals = new Map(instructions.map((i) => [i, refusalOf(target, i, skip)] as const));
  const failed = [...refusals.values()].some(Boolean);
  const { userId, id } = target.node;
  if (!failed) {
    for (const i of instructions) {
      if (skip.has(`${i.ns} ${i.local}`)) continue;
      const store = properties.get(i.ns, i.local)?.store;
      if (store) await store.apply(tx, target, i.op === 'set' ? i.element : undefined);
      else if (i.op === 'set') await setProperty(tx, userId, id, { namespace: i.ns, name: i.local, xml: serializeElement(i.element) });
      else await removeProperty(tx, userId, id, i.ns, i.local);
    }
  }
  const groups: PropstatGroups = new Map();
  for (const i of instructions) {
    const refusal = refusals.get(i);
    const status = refusal ? refusal.status : failed ? 424 : 200;
    groups.set(status, [...(groups.get(status) ?? []), el(i.ns, i.local)]);
  }
  return { failed, groups };
}

/** The reasons for refused properties, as RFC 4918 §16 names them, for a responsedescription. */
export function refusalDescription(target: PropertyTarget, instructions: readonly Instruction[]): string {
  const names = new Set(instructions.map((i) => refusalOf(target, i, new Set())?.condition).filter(Boolean));
  return [...names].join(', ');
}

/** PROPPATCH: all or nothing, in one transaction, with a 207 entry per property. */
export async function proppatch(req: DavRequest): Promise<void> {
  const { deps, user, koa } = req;
  const instructions = parsePropertyUpdate(await readXmlBody(koa, deps.config.maxXmlBytes));
  const node = req.node;
  if (!node) throw new DavError(404);
  const target = storedTarget(req.prefix, req.space, user.name, req.segments, node);

  const { failed, groups } = await deps.db.transaction(async (tx) => {
    if (!(await getNode(tx, user.id, node.id, true))) throw new DavError(404);
    await checkPreconditions(req, tx, [{ path: target.lockPath }]);
    return applyPropertyUpdates(tx, target, instructions);
  });
  let body = propstatResponse(target.href, groups);
  if (failed) {
    const reasons = refusalDescription(target, instructions);
    if (reasons) body = body.replace('</D:response>', `<D:responsedescription>${reasons}</D:responsedescription></D:response>`);
  }
  koa.status = 207;
  koa.type = 'application/xml; charset=utf-8';
  koa.body = multistatus([body]);
}
