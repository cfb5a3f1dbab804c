/**
 * Salesforce connector API economy against the sandbox look-alike: calls for a full pull of every stream
 * versus the minimum (one query call per 2,000 records), calls for erasing N records versus ceil(N/200)
 * collection deletes plus ceil(N/200) emptyRecycleBin calls (from the request log), and the daily-quota
 * guard: a run that would pass the configured share of the allocation stops at it, with the usage it saw.
 * Writes bench-results/salesforce.json. BENCH_SF_PEOPLE sets the world size (default 100,000 people,
 * about 50,000 in Salesforce).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import salesforce from '@custodian/connector-salesforce';
import { createRuntimeConnector, type RecordRef, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { createSalesforceApp } from '../../packages/sandbox/src/salesforce/index.js';

const PAGE = 2000;
const BATCH = 200;
const STREAMS = ['Contact', 'Lead', 'Task', 'Note', 'Case', 'Individual'] as const;
const ERASE_SIZES = [1, 200, 450, 1000];
const ERASE_TOTAL = ERASE_SIZES.reduce((a, b) => a + b, 0);
const GUARD = { dailyLimit: 200, share: 0.5, pageSize: 200 };
const people = Number(process.env.BENCH_SF_PEOPLE ?? 100_000);
const CLIENT = { clientId: 'bench-sf-client', clientSecret: 'bench-sf-secret', refreshToken: 'bench-sf-refresh' };
const V = '/services/data/v62.0';

const world = createSeedWorld({ people, seed: 13, now: new Date('2026-11-01T00:00:00Z') });
const app = createSalesforceApp(world, { ...CLIENT, dailyLimit: 10_000_000 });
const server = await createVendorServer(app);
const connector = await createRuntimeConnector(salesforce, {
  system: 'salesforce',
  options: { loginUrl: server.url, auth: { type: 'refresh-token', ...CLIENT } },
  logger: silentLogger,
});
const count = (endpoint: string) => server.log.count({ vendor: 'salesforce', endpoint });
const apiCalls = () => server.log.count({ vendor: 'salesforce' }) - count('POST /services/oauth2/token');

// 1. Full pull of every stream.
const pull: Record<string, unknown>[] = [];
let totalCalls = 0;
let totalMinimum = 0;
let totalRecords = 0;
const refs: RecordRef[] = [];
const started = performance.now();
for (const stream of STREAMS) {
  const before = apiCalls();
  const describeBefore = count(`GET ${V}/sobjects/${stream}/describe`);
  const t0 = performance.now();
  let records = 0;
  for await (const page of connector.read(stream, null)) {
    records += page.records.length;
    if (stream === 'Lead' && refs.length < ERASE_TOTAL)
      refs.push(...page.records.slice(0, ERASE_TOTAL - refs.length).map((r) => r.ref));
  }
  const calls = apiCalls() - before;
  const minimum = Math.ceil(records / PAGE);
  pull.push({
    stream,
    records,
    calls,
    minimum,
    describeCalls: count(`GET ${V}/sobjects/${stream}/describe`) - describeBefore,
    overheadPct: Number((((calls - minimum) / minimum) * 100).toFixed(2)),
    recordsPerSecond: Math.round(records / ((performance.now() - t0) / 1000)),
  });
  totalCalls += calls;
  totalMinimum += minimum;
  totalRecords += records;
}
const pullSeconds = (performance.now() - started) / 1000;

// 2. Permanent erasure: collection deletes and emptyRecycleBin calls per batch of N.
const erase: Record<string, unknown>[] = [];
for (const n of ERASE_SIZES) {
  const batch = refs.splice(0, n);
  const before = { del: count(`DELETE ${V}/composite/sobjects`), bin: count('POST /services/Soap/u/62.0') };
  const res = await connector.erase(batch, { permanent: true });
  const deleteCalls = count(`DELETE ${V}/composite/sobjects`) - before.del;
  const recycleBinCalls = count('POST /services/Soap/u/62.0') - before.bin;
  erase.push({
    records: batch.length,
    done: res.filter((r) => r.outcome === 'done').length,
    purged: batch.filter((r) => app.store.state(r.id) === 'purged').length,
    deleteCalls,
    recycleBinCalls,
    target: Math.ceil(batch.length / BATCH),
  });
}
await connector.close();
await server.close();

// 3. The daily-quota guard: a small allocation, a pull that needs more than the configured share of it.
const guardApp = createSalesforceApp(world, { ...CLIENT, dailyLimit: GUARD.dailyLimit });
const guardServer = await createVendorServer(guardApp);
const guarded = await createRuntimeConnector(salesforce, {
  system: 'salesforce',
  options: {
    loginUrl: guardServer.url,
    auth: { type: 'refresh-token', ...CLIENT },
    quotaStopShare: GUARD.share,
    pageSize: GUARD.pageSize,
  },
  logger: silentLogger,
});
let guardRecords = 0;
let stopped: { kind?: string; message?: string } | null = null;
try {
  for await (const page of guarded.read('Contact', null)) guardRecords += page.records.length;
} catch (error) {
  stopped = error as { kind?: string; message?: string };
}
const contactsInOrg = guardApp.store.index('Contact').length;
const report = guarded.quota().report;
const guard = {
  dailyLimit: GUARD.dailyLimit,
  stopShare: GUARD.share,
  pageSize: GUARD.pageSize,
  callsAFullPullNeeds: 1 + Math.ceil(contactsInOrg / GUARD.pageSize),
  stopped: stopped?.kind ?? null,
  stopMessage: stopped?.message ?? null,
  requestsUsed: guardServer.dailyUsed(),
  reportedUsage: report ?? null,
  recordsBeforeStop: guardRecords,
  quota403s: guardServer.log.count({ vendor: 'salesforce', status: 403 }),
  exact:
    guardServer.dailyUsed() === Math.ceil(GUARD.dailyLimit * GUARD.share) &&
    report?.used === guardServer.dailyUsed() &&
    report?.limit === GUARD.dailyLimit,
};
await guarded.close();
await guardServer.close();

const result = {
  people,
  salesforcePeople: world.countIn('salesforce'),
  fullPull: {
    records: totalRecords,
    calls: totalCalls,
    minimum: totalMinimum,
    overheadPct: Number((((totalCalls - totalMinimum) / totalMinimum) * 100).toFixed(2)),
    overheadIsDescribeOnly: totalCalls - totalMinimum === STREAMS.length,
    seconds: Number(pullSeconds.toFixed(2)),
    streams: pull,
  },
  erase,
  eraseWithinTarget: erase.every((e) => e.deleteCalls === e.target && e.recycleBinCalls === e.target),
  quotaGuard: guard,
  peakRssMb: Math.round(process.memoryUsage().rss / 1e6),
};
mkdirSync(join(process.cwd(), 'bench-results'), { recursive: true });
writeFileSync(join(process.cwd(), 'bench-results', 'salesforce.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `salesforce: full pull ${totalRecords} records in ${totalCalls} calls (minimum ${totalMinimum}, +${result.fullPull.overheadPct}%: ${STREAMS.length} describes) in ${result.fullPull.seconds}s; erase ${erase
    .map((e) => `${e.records}->${e.deleteCalls}+${e.recycleBinCalls} calls`)
    .join(
      ', ',
    )}; quota guard stopped at ${guard.requestsUsed}/${guard.dailyLimit} (share ${guard.stopShare}), exact=${guard.exact}`,
);
