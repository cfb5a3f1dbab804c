/**
 * Sync engine throughput and memory: an in-process connector yields synthetic pages of person records;
 * the engine indexes them into the ledger (PGlite, then PostgreSQL when CUSTODIAN_TEST_DATABASE_URL is
 * set). Records/s, records per CPU-second and peak RSS for 100k and 1M records (BENCH_SYNC_SIZES=100000,1000000
 * to choose), each case in its own process, plus the RSS of an empty ledger as the floor.
 * Writes bench-results/sync.json. Targets: >= 20,000 records/s on PGlite; peak RSS < 300 MB at 1M.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Checkpoint,
  type CrmRecord,
  createPolicyEngine,
  createSubjectKeyer,
  type Page,
  parsePolicies,
  runSync,
  type StreamDefinition,
  type SyncConnector,
  silentLogger,
} from '@custodian/core';
import { openLedger } from '@custodian/ledger';

const PAGE = 1000;

function syntheticConnector(total: number): SyncConnector {
  const stream: StreamDefinition = {
    name: 'contacts',
    kind: 'person',
    fields: [
      { name: 'email', category: 'contact.email', canonical: 'email' },
      { name: 'phone', category: 'contact.phone', canonical: 'phone' },
      { name: 'first', category: 'name', canonical: 'firstName' },
      { name: 'last', category: 'name', canonical: 'lastName' },
      { name: 'notes', category: 'free_text' },
    ],
    cursor: 'timestamp',
    deletes: { kind: 'none', reason: 'synthetic' },
  };
  return {
    streams: [stream],
    async *read(_stream: string, checkpoint: Checkpoint | null): AsyncIterable<Page> {
      let offset = typeof checkpoint?.offset === 'number' ? checkpoint.offset : 0;
      while (offset < total) {
        const records: CrmRecord[] = [];
        for (let i = offset; i < Math.min(total, offset + PAGE); i++) {
          records.push({
            ref: { system: 'bench', object: 'contacts', id: String(i) },
            kind: 'person',
            updatedAt: '2026-01-01T00:00:00.000Z',
            lastActivityAt: '2026-01-01T00:00:00.000Z',
            canonical: { email: `person.${i}@example.test`, firstName: 'Ann', lastName: `Doe${i}` },
            fields: {
              email: `person.${i}@example.test`,
              first: 'Ann',
              last: `Doe${i}`,
              notes:
                i % 10 === 0
                  ? 'Paid by card 4111 1111 1111 1111, asked for a call back next quarter about the renewal.'
                  : 'Met at the fair, interested in the premium plan, call back next quarter about pricing.',
            },
            consent: { marketingOptOut: i % 10 === 0, legalBasis: 'consent' },
          });
        }
        offset += records.length;
        yield { records, checkpoint: { offset } };
      }
    },
  };
}

interface Result {
  backend: string;
  rules: boolean;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  /** CPU time of this process (engine + PGlite, which runs in it); the machine is shared, so wall time varies. */
  cpuSeconds: number;
  recordsPerCpuSecond: number;
  peakRssMb: number;
}

type Backend = 'pglite' | 'postgres';

function openBenchLedger(backend: Backend, dir: string, tenant: string) {
  return openLedger(
    backend === 'pglite'
      ? { dir: join(dir, 'ledger'), tenant }
      : { databaseUrl: process.env.CUSTODIAN_TEST_DATABASE_URL!, tenant },
  );
}

/**
 * Peak RSS of this process from the kernel (getrusage's ru_maxrss), which sees every peak: PGlite runs
 * synchronously on this thread, so a timer sampling process.memoryUsage() misses the peaks inside its calls.
 * Each case runs in its own process, so the lifetime peak is the case's.
 */
function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function runOne(backend: Backend, total: number, withRules = false): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-'));
  const tenant = `bench_${process.pid}_${total}`;
  const ledger = await openBenchLedger(backend, dir, tenant);
  // Throughput is the sync's; opening (and creating) the ledger is not timed, its memory is in the peak.
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const summary = await runSync({
    ledger,
    keyer: createSubjectKeyer('bench-secret-bench-secret-bench-secret'),
    systems: [
      {
        name: 'bench',
        connectorId: 'synthetic',
        purposes: ['sales'],
        legalBasis: 'consent',
        connector: syntheticConnector(total),
      },
    ],
    log: silentLogger,
    ...(withRules ? { policy: createPolicyEngine({ policies: parsePolicies([{ preset: 'gdpr' }]) }) } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakRss = peakRssMb();
  const indexed = await ledger.countRecords('bench');
  if (summary.systems[0]?.status !== 'succeeded' || indexed !== total) {
    throw new Error(`bench sync wrong: status ${summary.systems[0]?.status}, indexed ${indexed} of ${total}`);
  }
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    backend,
    rules: withRules,
    records: total,
    seconds: Math.round(seconds * 10) / 10,
    recordsPerSecond: Math.round(total / seconds),
    cpuSeconds: Math.round(cpuSeconds * 10) / 10,
    recordsPerCpuSecond: Math.round(total / cpuSeconds),
    peakRssMb: peakRss,
  };
}

/** The floor under the RSS figures: this process with an empty ledger opened (a new folder) and nothing synced. */
async function emptyLedgerRss(backend: Backend): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-'));
  const ledger = await openBenchLedger(backend, dir, `bench_${process.pid}_empty`);
  await ledger.countRecords('bench');
  const peak = peakRssMb();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
  return peak;
}

interface Case {
  backend: Backend;
  records: number;
  rules: boolean;
}

// Each case runs in a fresh process, so one case's heap (PGlite's WASM heap never shrinks) does not inflate
// the next one's peak RSS.
const only = process.env.BENCH_SYNC_CASE;
if (only) {
  const c = JSON.parse(only) as Case;
  const out =
    c.records === 0
      ? { emptyLedgerPeakRssMb: await emptyLedgerRss(c.backend) }
      : await runOne(c.backend, c.records, c.rules);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

function runCase(c: Case): Record<string, unknown> {
  const res = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_SYNC_CASE: JSON.stringify(c) },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = res.stdout.trim().split('\n').at(-1) ?? '';
  if (res.status !== 0 || !line.startsWith('{'))
    throw new Error(`bench case ${JSON.stringify(c)} failed: ${res.stderr.slice(-2000)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

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
