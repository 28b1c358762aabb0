import type { Config } from '../../config.js';
import { createHash } from 'node:crypto';
import { isUniqueViolation, type Database, type Queryable } from '../../store/db.js';
import { fileEtag, insertNode, lockMember, updateContent, writeMember, type Beside, type Node, type NodeContent, type NodeKind, type WrittenMember } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { evaluateConditions, expectedMember } from '../conditional.js';
import { DavError } from '../errors.js';
import { readTextBody } from '../body.js';
import { checkPreconditions, type WriteScope } from '../locks/guard.js';
import { lockPath, spaceHref } from '../paths.js';
import { DAV } from '../xml/names.js';
import { el, escapeXml } from '../xml/write.js';
import { httpDate } from '../http-date.js';

/**
 * How one protocol stores its text objects (calendar objects, vCards) in its collections:
 * validation and indexing are the protocol's; the PUT itself is shared.
 */
export interface TextObjectKind<Index extends { uid: string }> {
  collectionKind: NodeKind;
  objectKind: NodeKind;
  /** Namespace of the protocol's preconditions (CALDAV: or CARDDAV:). */
  ns: string;
  contentType: string;
  /** Request Content-Types accepted (besides none and application/octet-stream). */
  accepts: RegExp;
  /** Precondition for a wrong media type, and for a body over maxSize. */
  unsupportedCondition: string;
  maxSize: number;
  /** Validates and indexes the text for this collection; throws DavError on refusal. */
  validate(q: Queryable, collection: Node, text: string, config: Config): Promise<Index>;
  /** The unique key `rows` violates when another member of the collection holds the UID. */
  uidKey: string;
  /** The name of another member holding `uid`, if any. */
  uidOwner(tx: Queryable, collection: Node, uid: string, except: number | undefined): Promise<string | undefined>;
  /** The protocol's rows for an object, written by the statement that writes its node. */
  rows(collection: Node, index: Index, text: string): Beside;
  /**
   * Writes the object with the others PUT into the collection at the same time, in one batch
   * (store/write-batches.ts); undefined when nothing was written. Without it, each alone.
   */
  writeBatched?(db: Database, collection: Node, name: string, content: NodeContent, index: Index, text: string, expected: 'any' | 'absent'): Promise<WrittenMember | undefined>;
}

/**
 * PUT of a text object into its collection: validated and indexed before anything is stored;
 * a refusal stores nothing; If-Match / If-None-Match: * as clients use them to avoid
 * overwriting each other; the UID stays unique in the collection (no-uid-conflict names the
 * member that has it, RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1).
 */
export async function putTextObject<Index extends { uid: string }>(req: DavRequest, kind: TextObjectKind<Index>): Promise<void> {
  const { koa, deps, user } = req;
  const name = req.segments.at(-1);
  const collection = req.parent;
  const refused = (condition: string, message: string, conditionBody?: string) =>
    new DavError(403, { condition, ns: kind.ns, message, ...(conditionBody ? { conditionBody } : {}) });
  if (name === undefined || !collection || collection.kind !== kind.collectionKind || req.segments.length !== 2) {
    throw new DavError(403, { message: `these resources can only be stored in a ${kind.collectionKind}` });
  }
  if (req.node && req.node.kind !== kind.objectKind) throw new DavError(405, { message: 'cannot PUT to a collection' });
  const type = koa.get('Content-Type');
  if (type && !kind.accepts.test(type) && !/^application\/octet-stream/i.test(type)) {
    throw refused(kind.unsupportedCondition, `this collection stores ${kind.contentType.split(';')[0]}`);
  }
  evaluateConditions(koa, req.node, false);

  let text: string;
  try {
    text = await readTextBody(koa, kind.maxSize);
  } catch (error) {
    if (error instanceof DavError && error.status === 413) throw refused('max-resource-size', `limited to ${kind.maxSize} bytes`);
    throw error;
  }
  const index = await kind.validate(deps.db, collection, text, deps.config);
  const path = lockPath(req.space, req.segments);
  let stored: { node: Node; created: boolean };
  try {
    // Without a precondition, or with the one clients send (If-None-Match: * to create, If-Match
    // to replace), the write is two statements sent with their COMMIT (writeMember), shared with
    // the objects PUT into the collection at the same time where the kind batches them (not for
    // If-Match); else, or when they wrote nothing, the general path.
    const expected = expectedMember(koa);
    const content = textContent(kind, text);
    const written =
      typeof expected === 'string' && kind.writeBatched ? await kind.writeBatched(deps.db, collection, name, content, index, text, expected)
      : expected ? await deps.db.pipelined((tx) => writeMember(tx, collection, name, kind.objectKind, content, expected, kind.rows(collection, index, text)), { batchKey: user.id })
      : undefined;
    stored = written ?? await deps.db.transaction(async (tx) => {
      const { parent, member, locksHeld } = await lockMember(tx, user.id, collection.id, name);
      if (!parent) throw new DavError(409, { message: 'the collection was removed' });
      evaluateConditions(koa, member, false);
      const scopes: WriteScope[] = member ? [{ path }] : [{ path }, { path: lockPath(req.space, req.segments.slice(0, -1)) }];
      await checkPreconditions(req, tx, scopes, { locksHeld });
      const node = await writeTextObject(tx, kind, parent, member, name, text, index);
      return { node, created: !member };
    });
  } catch (error) {
    // The UID's unique key finds a conflict without a query of its own; its holder is looked up
    // once the transaction has rolled back, to name it.
    if (!isUniqueViolation(error, kind.uidKey)) throw error;
    const other = await kind.uidOwner(deps.db, collection, index.uid, req.node?.id);
    if (other === undefined) throw new DavError(409, { message: `UID ${index.uid} was being stored by another request at the same time; try again` });
    const href = spaceHref(req.prefix, req.space, user.name, [...req.segments.slice(0, -1), other], false);
    throw refused('no-uid-conflict', `UID ${index.uid} is already used here`, el(DAV, 'href', escapeXml(href)));
  }
  const { node, created } = stored;
  koa.set('ETag', node.etag);
  koa.set('Last-Modified', httpDate(node.modifiedAt));
  koa.status = created ? 201 : 204;
}

/**
 * Stores a validated text object as the member `name` of `parent` (replacing `member`, its
 * current holder), with the protocol's row and index, in the caller's transaction. The caller
 * has locked both (lockMember); a UID held by another member violates `kind.uidKey`.
 */
export async function writeTextObject<Index extends { uid: string }>(
  tx: Queryable,
  kind: TextObjectKind<Index>,
  parent: Node,
  member: Node | undefined,
  name: string,
  text: string,
  index: Index,
): Promise<Node> {
  const content = textContent(kind, text);
  const rows = kind.rows(parent, index, text);
  return member
    ? updateContent(tx, member, content, rows)
    : insertNode(tx, { userId: parent.userId, parentId: parent.id, name, kind: kind.objectKind, ...content }, rows);
}

/** A text object's node content: kept in the database, tagged by its hash. */
function textContent(kind: { contentType: string }, text: string): NodeContent {
  return { blobSha256: null, size: Buffer.byteLength(text), contentType: kind.contentType, etag: fileEtag(createHash('sha256').update(text).digest('hex')) };
}
