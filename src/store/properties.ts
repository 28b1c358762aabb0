import type { Queryable } from './db.js';

/** A dead property as stored: its qualified name and the element serialised as the client sent it. */
export interface DeadProperty {
  namespace: string;
  name: string;
  xml: string;
}

export async function listProperties(q: Queryable, userId: number, nodeIds: readonly number[]): Promise<Map<number, DeadProperty[]>> {
  const byNode = new Map<number, DeadProperty[]>();
  if (nodeIds.length === 0) return byNode;
  const rows = await q.query<DeadProperty & { node_id: number }>(
    'SELECT node_id, namespace, name, xml FROM properties WHERE user_id = $1 AND node_id = ANY($2::bigint[]) ORDER BY namespace, name',
    [userId, nodeIds],
  );
  for (const { node_id, ...prop } of rows) {
    const list = byNode.get(node_id);
    if (list) list.push(prop);
    else byNode.set(node_id, [prop]);
  }
  return byNode;
}

export async function setProperty(tx: Queryable, userId: number, nodeId: number, prop: DeadProperty): Promise<void> {
  await tx.query(
    `INSERT INTO properties (user_id, node_id, namespace, name, xml) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id, node_id, namespace, name) DO UPDATE SET xml = EXCLUDED.xml`,
    [userId, nodeId, prop.namespace, prop.name, prop.xml],
  );
}

export async function removeProperty(tx: Queryable, userId: number, nodeId: number, namespace: string, name: string): Promise<void> {
  await tx.query('DELETE FROM properties WHERE user_id = $1 AND node_id = $2 AND namespace = $3 AND name = $4', [userId, nodeId, namespace, name]);
}
