/**
 * The smallest driver surface the ledger needs: parameterised queries, multi-statement exec, and
 * transactions. Implemented here over a pg pool and in pglite.ts over embedded PGlite; both run the same SQL.
 */
import type pg from 'pg';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly backend: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return `"${String(value).replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * A one-dimensional JS array as a PostgreSQL array literal ('{"a","b",NULL}'), the way `pg` sends arrays.
 * PGlite's own array serialiser is ~3x slower than this on the 1,000-row unnest batches of a page commit.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  return `{${values.map(arrayElement).join(',')}}`;
}

/** Runs the work it is given one piece after another, in call order, whether each succeeds or fails. */
export function oneAtATime(): <T>(work: () => Promise<T>) => Promise<T> {
  let turn: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = turn.then(work);
    turn = run.catch(() => undefined);
    return run;
  };
}

function pgQueryable(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      return (await client.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

/**
 * A transaction's client answers one statement at a time. Statements sent together (a page commit sends its
 * writes without waiting) queue here in order: pg would queue them too, but deprecates being asked to.
 */
function serialQueryable(client: pg.PoolClient): Queryable {
  const direct = pgQueryable(client);
  const inTurn = oneAtATime();
  return {
    query: (sql, params) => inTurn(() => direct.query(sql, params)),
    exec: (sql) => inTurn(() => direct.exec(sql)),
  };
}

export function postgresDb(pool: pg.Pool): Db {
  return {
    backend: 'postgres',
    ...pgQueryable(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(serialQueryable(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
