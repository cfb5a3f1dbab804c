/**
 * Starts a throw-away PostgreSQL server for this package's tests when CUSTODIAN_TEST_DATABASE_URL is not
 * set, and stops it at the end. Workers inherit the exported URL. If the server cannot start (no
 * PostgreSQL binaries), nothing is set here: testDatabaseUrl() then fails the PostgreSQL tests with a
 * clear message instead of skipping them, while the PGlite tests still run.
 */
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/pg-test-server.sh');
const env = { ...process.env, CUSTODIAN_PG_DIR: '/tmp/custodian-pg-vitest', CUSTODIAN_PG_PORT: '55433' };

export default function setup(): () => void {
  if (process.env.CUSTODIAN_TEST_DATABASE_URL) return () => {};
  let out: string;
  try {
    out = execFileSync('bash', [script, 'start'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return () => {};
  }
  const url = /CUSTODIAN_TEST_DATABASE_URL=(\S+)/.exec(out)?.[1];
  if (url) process.env.CUSTODIAN_TEST_DATABASE_URL = url;
  return () => {
    execFileSync('bash', [script, 'stop'], { env, stdio: 'ignore' });
    delete process.env.CUSTODIAN_TEST_DATABASE_URL;
  };
}
