/**
 * Opening the ledger: embedded PGlite in a folder (the default), in memory for tests, or PostgreSQL when a
 * URL is given. Each tenant is its own schema. Failures name the folder or host (never a password).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustodianError, type Ledger, type Logger } from '@custodian/core';
import pg from 'pg';
import { type Db, postgresDb } from './db.js';
import { createSqlLedger } from './ledger.js';
import { acquireDirLock } from './lock.js';
import { migrate } from './migrations.js';
import { openPgliteDb } from './pglite.js';

export interface OpenLedgerOptions {
  /** PostgreSQL connection string; when set, the server is used instead of the embedded ledger. */
  databaseUrl?: string;
  /** Folder of the embedded ledger. @default ".custodian/ledger" */
  dir?: string;
  /** Embedded ledger in memory only (tests). */
  memory?: boolean;
  /** @default "default" */
  tenant?: string;
  logger?: Logger;
  /** Connections in the PostgreSQL pool. @default 4 */
  poolSize?: number;
  now?: () => Date;
}

const TENANT = /^[a-z0-9_]{1,40}$/;

export function schemaFor(tenant: string): string {
  return `custodian_${tenant}`;
}

function safeHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export async function openLedger(options: OpenLedgerOptions = {}): Promise<Ledger> {
  const tenant = options.tenant ?? 'default';
  if (!TENANT.test(tenant)) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONFIG_INVALID',
      `tenant "${tenant}" must be 1-40 lower-case letters, digits or _`,
    );
  }
  const schema = schemaFor(tenant);
  let db: Db;
  if (options.databaseUrl) {
    const where = safeHost(options.databaseUrl);
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 4,
      options: `-c search_path=${schema}`,
    });
    pool.on('error', (err) => options.logger?.error({ err }, 'idle PostgreSQL connection failed'));
    try {
      await pool.query('SELECT 1');
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw new CustodianError('CUSTODIAN_ERR_LEDGER_OPEN', `Cannot connect to the PostgreSQL ledger at ${where}.`, {
        cause: cause instanceof Error ? cause.message.replace(options.databaseUrl, where) : String(cause),
      });
    }
    db = postgresDb(pool);
  } else {
    const dir = options.memory ? null : resolve(options.dir ?? '.custodian/ledger');
    let unlock = () => {};
    try {
      if (dir) {
        mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
        unlock = acquireDirLock(`${dir}.lock`);
      }
      db = await openPgliteDb(dir, async () => unlock());
    } catch (cause) {
      unlock();
      throw new CustodianError(
        'CUSTODIAN_ERR_LEDGER_OPEN',
        `Cannot open the embedded ledger${dir ? ` in ${dir}` : ''}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }
  try {
    await migrate(db, schema);
    if (db.backend === 'pglite') await db.exec(`SET search_path TO "${schema}"`);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return createSqlLedger(db, schema, tenant, options.now);
}
