import type { Queryable } from '../store/db.js';
import type { NodeKind } from '../store/nodes.js';

/** Loads the stored text of several resources of one kind at once, by node id. */
export type TextSource = (q: Queryable, userId: number, nodeIds: readonly number[]) => Promise<Map<number, string>>;

/**
 * Resources whose content lives in the database rather than the blob store (calendar objects,
 * vCards), by kind; each protocol module registers its own.
 */
export const textSources = new Map<NodeKind, TextSource>();
