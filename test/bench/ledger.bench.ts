/**
 * Ledger page-commit throughput: 100,000 person records (2 subject keys each, 1 violation per 10
 * records) committed in pages of 1,000, on embedded PGlite (in memory) and on PostgreSQL when
 * CUSTODIAN_TEST_DATABASE_URL is set (or a throw-away server can be started). Writes
 * bench-results/ledger.json. Target: a 1,000-record page well under 30 ms on PGlite, so the sync engine
 * can reach >= 20,000 records/s.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IndexEntry, Ledger, ViolationInput } from '@custodian/core';
import { openLedger } from '@custodian/ledger';
import { freshTenant, testDatabaseUrl } from '@custodian/ledger/testing';

const TOTAL = 100_000;
const PAGE = 1_000;

function page(system: string, start: number, fingerprintSuffix: string): IndexEntry[] {
  return Array.from({ length: PAGE }, (_, j) => {
    const i = start + j;
    return {
      ref: { system, object: 'contacts', id: String(i) },
      kind: 'person',
      subjects: [
        { key: `k-email-${i}`, kind: 'email' },
        { key: `k-phone-${i}`, kind: 'phone' },
      ],
      fieldNames: ['email', 'phone', 'firstname', 'lastname', 'notes'],
      links: [],
      updatedAt: '2026-10-01T00:00:00.000Z',
      lastActivityAt: '2026-09-01T00:00:00.000Z',
      marketingOptOut: false,
      legalBasis: 'consent',
      archived: false,
      fingerprint: `fp-${i}-${fingerprintSuffix}`,
    } satisfies IndexEntry;
  });
}

function violations(records: IndexEntry[]): ViolationInput[] {
  return records
    .filter((_, j) => j % 10 === 0)
    .map((r) => ({
      ref: r.ref,
      policy: 'gdpr',
      rule: 'retention',
      field: 'notes',
      severity: 'high',
      evidence: 'no***',
      subjectKey: r.subjects[0]?.key ?? null,
    }));
}

interface Figures {
  records: number;
  pageSize: number;
  seconds: number;
  recordsPerSecond: number;
  pageMs: { p50: number; p95: number; max: number };
  recommitRecordsPerSecond: number;
}

async function measure(ledger: Ledger): Promise<Figures> {
  await ledger.upsertSystems([
    { name: 'hub', connector: 'hubspot', purposes: ['marketing'], legalBasis: 'consent' },
    { name: 'sf', connector: 'salesforce', purposes: ['sales'], legalBasis: 'contract' },
  ]);
  const runId = await ledger.startRun({ kind: 'sync', system: 'hub' });
  const times: number[] = [];
  const commit = async (start: number, suffix: string) => {
    const records = page('hub', start, suffix);
    const t = performance.now();
    await ledger.commitPage({
      runId,
      system: 'hub',
      stream: 'contacts',
      records,
      deleted: [],
      violations: violations(records),
      checkpoint: { after: start + PAGE },
      at: new Date().toISOString(),
    });
    return performance.now() - t;
  };
  const t0 = performance.now();
  for (let start = 0; start < TOTAL; start += PAGE) times.push(await commit(start, 'a'));
  const seconds = (performance.now() - t0) / 1000;
  // Second pass with the same fingerprints: the steady state of an incremental resync (all unchanged).
  const t1 = performance.now();
  for (let start = 0; start < TOTAL; start += PAGE) await commit(start, 'a');
  const recommitSeconds = (performance.now() - t1) / 1000;
  times.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round((times[Math.min(times.length - 1, Math.floor(times.length * p))] ?? 0) * 10) / 10;
  return {
    records: TOTAL,
    pageSize: PAGE,
    seconds: Math.round(seconds * 100) / 100,
    recordsPerSecond: Math.round(TOTAL / seconds),
    pageMs: { p50: pct(0.5), p95: pct(0.95), max: pct(1) },
    recommitRecordsPerSecond: Math.round(TOTAL / recommitSeconds),
  };
}

const results: Record<string, Figures | { error: string }> = {};
{
  const ledger = await openLedger({ memory: true, tenant: freshTenant('bench') });
  results.pglite = await measure(ledger);
  await ledger.close();
}
// A server started here for the run (no CUSTODIAN_TEST_DATABASE_URL given) is stopped at the end.
const startedHere = !process.env.CUSTODIAN_TEST_DATABASE_URL;
try {
  const url = await testDatabaseUrl();
  const ledger = await openLedger({ databaseUrl: url, tenant: freshTenant('bench') });
  results.postgres = await measure(ledger);
  await ledger.close();
} catch (err) {
  results.postgres = { error: (err as Error).message.slice(0, 300) };
}
if (startedHere && process.env.CUSTODIAN_TEST_DATABASE_URL) {
  execFileSync('bash', ['scripts/pg-test-server.sh', 'stop'], {
    env: { ...process.env, CUSTODIAN_PG_DIR: '/tmp/custodian-pg-vitest', CUSTODIAN_PG_PORT: '55433' },
    stdio: 'ignore',
  });
}
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/ledger.json', `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
for (const [backend, r] of Object.entries(results)) {
  if ('error' in r) console.log(`${backend}: not measured (${r.error})`);
  else
    console.log(
      `${backend}: ${r.recordsPerSecond} records/s first pass, ${r.recommitRecordsPerSecond} records/s unchanged; page p50 ${r.pageMs.p50} ms, p95 ${r.pageMs.p95} ms`,
    );
}
process.exit(0);
