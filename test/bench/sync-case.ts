/**
 * One case of the sync bench (sync.bench.ts), run in a process of its own from a bundle of this file: an
 * in-process connector yields synthetic pages of person records and the engine indexes them into the ledger.
 * BENCH_SYNC_CASE holds the case as JSON; the result is printed as one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

export interface Result {
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

export type Backend = 'pglite' | 'postgres';

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

export interface Case {
  backend: Backend;
  records: number;
  rules: boolean;
}

// Each case runs in a fresh process (started by sync.bench.ts), so one case's heap (PGlite's WASM heap never
// shrinks) does not inflate the next one's peak RSS.
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
