import type { Queryable } from '../store/db.js';
import type { Node, NodeKind } from '../store/nodes.js';

/** Where a moved or copied resource lands. */
export interface Landing {
  parent: Node;
  /** Names below the user's home of the new location. */
  segments: string[];
}

/** What a kind of resource allows and needs when COPY or MOVE puts it somewhere (each protocol registers its kinds). */
export interface PlacementRules {
  /** Whether a resource of this kind may be put there at all. */
  fits(landing: Landing): boolean;
  /** Whether COPY is offered (a calendar's copy would need its objects re-indexed). */
  copyable: boolean;
  /** Checks and index upkeep in the transaction, after the node was moved or copied (`landed`). */
  landed?(tx: Queryable, source: Node, landed: Node, landing: Landing, copied: boolean): Promise<void>;
}

export const placementRules = new Map<NodeKind, PlacementRules>([
  ['file', { fits: ({ parent }) => parent.kind === 'collection', copyable: true }],
  ['collection', { fits: ({ parent }) => parent.kind === 'collection', copyable: true }],
]);
