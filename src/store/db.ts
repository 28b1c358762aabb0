import { createHash } from 'node:crypto';
import pg from 'pg';

/** Anything that runs SQL: the pool, or one transaction's connection. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/** The store's one database interface; the same SQL runs on PostgreSQL and on PGlite. */
export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `work` in one transaction; commits when it resolves, rolls back when it throws.
   * On PostgreSQL a serialization failure or deadlock retries the whole unit of work.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

/** int8 and numeric counts come back as JavaScript numbers (every id and size here is below 2^53). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * Parameterised queries run as named prepared statements, so each connection plans them once:
 * planning the recursive path walk alone costs ~2 ms, ten times its execution.
 */
const statementNames = new Map<string, string>();
function statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
  if (params.length === 0) return { text: sql };
  let name = statementNames.get(sql);
  if (!name) {
    name = 's' + createHash('sha1').update(sql).digest('hex').slice(0, 20);
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as unknown[] };
}

export class PoolDatabase implements Database {
  readonly #pool: pg.Pool;
  readonly #onClose: () => Promise<void>;

  constructor(readonly kind: 'postgres' | 'pglite', config: pg.PoolConfig, onClose: () => Promise<void> = async () => {}) {
    this.#pool = new pg.Pool({ ...config, types });
    // An idle client that errors (server restart) must not crash the process; the pool replaces it.
    this.#pool.on('error', () => {});
    this.#onClose = onClose;
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.#pool.query<R & pg.QueryResultRow>(statement(sql, params));
    return result.rows;
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect();
      const tx: Queryable = {
        async query<R extends object>(sql: string, params: readonly unknown[] = []) {
          return (await client.query<R & pg.QueryResultRow>(statement(sql, params))).rows;
        },
      };
      try {
        await client.query('BEGIN');
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        const code = (error as { code?: string }).code;
        if (this.kind === 'postgres' && code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw error;
      } finally {
        client.release();
      }
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
    await this.#onClose();
  }
}
