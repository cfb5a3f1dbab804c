/**
 * Helpers for tests that need a PostgreSQL server: the URL from CUSTODIAN_TEST_DATABASE_URL (CI starts
 * one with scripts/pg-test-server.sh), else a throw-away server started here. Without PostgreSQL
 * binaries and without a URL, this fails loudly: the PostgreSQL half of the suite must not pass silently.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/pg-test-server.sh');
let started: string | null = null;

export async function testDatabaseUrl(): Promise<string> {
  const fromEnv = process.env.CUSTODIAN_TEST_DATABASE_URL;
  if (fromEnv) return fromEnv;
  if (started) return started;
  let out: string;
  try {
    out = execFileSync('bash', [script, 'start'], {
      env: { ...process.env, CUSTODIAN_PG_DIR: '/tmp/custodian-pg-vitest', CUSTODIAN_PG_PORT: '55433' },
      encoding: 'utf8',
    });
  } catch (err) {
    throw new Error(
      `PostgreSQL tests need a server: set CUSTODIAN_TEST_DATABASE_URL or install PostgreSQL (apt-get install postgresql). ${(err as Error).message}`,
    );
  }
  const match = /CUSTODIAN_TEST_DATABASE_URL=(\S+)/.exec(out);
  if (!match?.[1]) throw new Error(`scripts/pg-test-server.sh printed no URL: ${out}`);
  started = match[1];
  process.env.CUSTODIAN_TEST_DATABASE_URL = started;
  return started;
}

export function freshTenant(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}
