/**
 * Sync engine throughput and memory: an in-process connector yields synthetic pages of person records;
 * the engine indexes them into the ledger (PGlite, then PostgreSQL when CUSTODIAN_TEST_DATABASE_URL is
 * set). Records/s, records per CPU-second and peak RSS for 100k and 1M records (BENCH_SYNC_SIZES=100000,1000000
 * to choose), each case in its own process, plus the RSS of an empty ledger as the floor.
 * Cases run as the product runs: this file bundled by the CLI's build (scripts/build.mjs) and started with
 * the same Node flags as the built `custodian`, not under tsx, whose loader thread alone costs ~80 MB.
 * Writes bench-results/sync.json. Targets: >= 20,000 records/s on PGlite; peak RSS < 300 MB at 1M.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, NODE_FLAGS } from '../../scripts/build.mjs';
import type { Case, Result } from './sync-case.js';

const caseBundle = join(dirname(fileURLToPath(import.meta.url)), 'dist', 'sync-case.mjs');

function runCase(c: Case): Record<string, unknown> {
  const res = spawnSync(process.execPath, [...NODE_FLAGS, caseBundle], {
    env: { ...process.env, BENCH_SYNC_CASE: JSON.stringify(c) },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = res.stdout.trim().split('\n').at(-1) ?? '';
  if (res.status !== 0 || !line.startsWith('{'))
    throw new Error(`bench case ${JSON.stringify(c)} failed: ${res.stderr.slice(-2000)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

await bundle(join(dirname(fileURLToPath(import.meta.url)), 'sync-case.ts'), caseBundle);
const sizes = (process.env.BENCH_SYNC_SIZES ?? '100000,1000000').split(',').map(Number);
const results: Result[] = [];
const baselines: Record<string, number> = {};
for (const backend of ['pglite', 'postgres'] as const) {
  if (backend === 'postgres' && !process.env.CUSTODIAN_TEST_DATABASE_URL) {
    process.stdout.write(
      'postgres: skipped (CUSTODIAN_TEST_DATABASE_URL not set; start one with scripts/pg-test-server.sh)\n',
    );
    continue;
  }
  baselines[backend] = runCase({ backend, records: 0, rules: false }).emptyLedgerPeakRssMb as number;
  process.stdout.write(`${backend} empty ledger: peak RSS ${baselines[backend]} MB\n`);
  for (const size of sizes) {
    const r = runCase({ backend, records: size, rules: false }) as unknown as Result;
    results.push(r);
    process.stdout.write(
      `${backend} ${size.toLocaleString('en')} records: ${r.recordsPerSecond.toLocaleString('en')} records/s (${r.recordsPerCpuSecond.toLocaleString('en')} per CPU-second), peak RSS ${r.peakRssMb} MB\n`,
    );
  }
  // The same engine with every GDPR rule on, at every size (target: >= 10,000 records/s throughout).
  for (const size of sizes) {
    const withRules = runCase({ backend, records: size, rules: true }) as unknown as Result;
    results.push(withRules);
    process.stdout.write(
      `${backend} ${size.toLocaleString('en')} records, all GDPR rules: ${withRules.recordsPerSecond.toLocaleString('en')} records/s (${withRules.recordsPerCpuSecond.toLocaleString('en')} per CPU-second), peak RSS ${withRules.peakRssMb} MB\n`,
    );
  }
}
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/sync.json',
  JSON.stringify(
    {
      bench: 'sync',
      at: new Date().toISOString(),
      loadAverage: loadavg(),
      targets: { pgliteRecordsPerSecond: 20000, peakRssMbAt1M: 300, allRulesRecordsPerSecond: 10000 },
      emptyLedgerPeakRssMb: baselines,
      results,
    },
    null,
    2,
  ),
);
