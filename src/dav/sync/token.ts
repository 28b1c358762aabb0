/**
 * RFC 6578 sync tokens: opaque URIs (§3.2: "the token MUST be a valid URI") naming a collection
 * by its node id and a point in its change log by its sync_token. The node id makes a token of
 * a deleted-and-recreated collection, or of another one, unusable here.
 */

const PREFIX = 'http://davenport.invalid/sync/';
const SHAPE = /^(\d{1,15})-(\d{1,15})(?:\.(\d{1,15}))?$/;

export interface SyncPosition {
  collectionId: number;
  /** The collection's sync_token at that point (0: before any logged change). */
  token: number;
  /**
   * Only with token 0: members that were never logged (rows copied by COPY or a migration,
   * all with rank 0) are reported in node id order, and this one was the last of a truncated
   * answer (RFC 6578 §3.6).
   */
  afterId?: number;
}

export function formatSyncToken(position: SyncPosition): string {
  const after = position.afterId === undefined ? '' : `.${position.afterId}`;
  return `${PREFIX}${position.collectionId}-${position.token}${after}`;
}

/** The position a token names, or undefined when it is not one of ours. */
export function parseSyncToken(text: string): SyncPosition | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const match = SHAPE.exec(text.slice(PREFIX.length));
  if (!match) return undefined;
  const position: SyncPosition = { collectionId: Number(match[1]), token: Number(match[2]) };
  if (match[3] !== undefined) {
    if (position.token !== 0) return undefined;
    position.afterId = Number(match[3]);
  }
  return position;
}
