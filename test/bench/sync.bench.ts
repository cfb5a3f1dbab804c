/**
 * Sync engine throughput and memory: an in-process connector yields synthetic pages of person records;
 * the engine indexes them into the ledger (PGlite, then PostgreSQL when CUSTODIAN_TEST_DATABASE_URL is
 * set). Records/s and peak RSS for 100k and 1M records (BENCH_SYNC_SIZES=100000,1000000 to choose).
 * Writes bench-results/sync.json. Targets: >= 20,000 records/s on PGlite; peak RSS < 300 MB at 1M.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  peakRssMb: number;
}

async function runOne(backend: 'pglite' | 'postgres', total: number, withRules = false): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-'));
  const tenant = `bench_${process.pid}_${total}`;
  const ledger = await openLedger(
    backend === 'pglite'
      ? { dir: join(dir, 'ledger'), tenant }
      : { databaseUrl: process.env.CUSTODIAN_TEST_DATABASE_URL!, tenant },
  );
  let peak = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
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
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
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
    seconds,
    recordsPerSecond: Math.round(total / seconds),
    peakRssMb: Math.round(peak / 2 ** 20),
  };
}

const sizes = (process.env.BENCH_SYNC_SIZES ?? '100000,1000000').split(',').map(Number);
const results: Result[] = [];
for (const backend of ['pglite', 'postgres'] as const) {
  if (backend === 'postgres' && !process.env.CUSTODIAN_TEST_DATABASE_URL) {
    process.stdout.write(
      'postgres: skipped (CUSTODIAN_TEST_DATABASE_URL not set; start one with scripts/pg-test-server.sh)\n',
    );
    continue;
  }
  for (const size of sizes) {
    // A fresh process per size would isolate RSS better; one process is enough to show RSS does not grow.
    global.gc?.();
    const r = await runOne(backend, size);
    results.push(r);
    process.stdout.write(
      `${backend} ${size.toLocaleString('en')} records: ${r.recordsPerSecond.toLocaleString('en')} records/s, peak RSS ${r.peakRssMb} MB\n`,
    );
  }
  // The same engine with every GDPR rule on (target: >= 10,000 records/s).
  const withRules = await runOne(backend, sizes[0]!, true);
  results.push(withRules);
  process.stdout.write(
    `${backend} ${sizes[0]!.toLocaleString('en')} records, all GDPR rules: ${withRules.recordsPerSecond.toLocaleString('en')} records/s\n`,
  );
}
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/sync.json',
  JSON.stringify(
    {
      bench: 'sync',
      at: new Date().toISOString(),
      targets: { pgliteRecordsPerSecond: 20000, peakRssMbAt1M: 300 },
      results,
    },
    null,
    2,
  ),
);
