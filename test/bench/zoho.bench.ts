/**
 * Zoho connector API economy against the sandbox look-alike: calls for a full pull of Contacts and Leads
 * versus the minimum (one call per 200 records per `fields` chunk; the modules have > 50 fields, so two
 * chunks), and delete calls for erasing N records versus ceil(N/100). Writes bench-results/zoho.json.
 * Targets: full-pull calls within 2% of the minimum; erase uses exactly ceil(N/100) delete calls.
 * BENCH_ZOHO_PEOPLE sets the world size (default 100,000 people, about 40,000 in Zoho).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zoho from '@custodian/connector-zoho';
import { createRuntimeConnector, type RecordRef, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { createZohoApp } from '../../packages/sandbox/src/zoho/index.js';
import { FIELD_METADATA } from '../../packages/sandbox/src/zoho/store.js';

const PER_PAGE = 200;
const ERASE_SIZES = [1, 100, 250, 1000];
const ERASE_TOTAL = ERASE_SIZES.reduce((a, b) => a + b, 0);
const FIELD_LIMIT = 50;
const people = Number(process.env.BENCH_ZOHO_PEOPLE ?? 100_000);
const CLIENT = { clientId: '1000.BENCH', clientSecret: 'bench-secret', refreshToken: '1000.bench-refresh' };

const world = createSeedWorld({ people, seed: 11, now: new Date('2026-11-01T00:00:00Z') });
const app = createZohoApp(world, { ...CLIENT, dailyCredits: 10_000_000 });
const server = await createVendorServer(app);
const connector = await createRuntimeConnector(zoho, {
  system: 'zoho',
  options: { dataCentre: 'us', apiBaseUrl: server.url, accountsUrl: server.url, ...CLIENT, dailyCredits: 10_000_000 },
  logger: silentLogger,
});

const count = (endpoint: string) => server.log.count({ vendor: 'zoho', endpoint });

const pull: Record<string, unknown>[] = [];
let totalCalls = 0;
let totalMinimum = 0;
let totalRecords = 0;
const started = performance.now();
const refs: RecordRef[] = [];
for (const module of ['Contacts', 'Leads'] as const) {
  const before = server.log.count({ vendor: 'zoho' }) - count('POST /oauth/v2/token');
  const t0 = performance.now();
  const fieldsBefore = count('GET /crm/v8/settings/fields');
  let records = 0;
  for await (const page of connector.read(module, null)) {
    records += page.records.length;
    if (refs.length < ERASE_TOTAL && module === 'Leads')
      refs.push(...page.records.slice(0, ERASE_TOTAL - refs.length).map((r) => r.ref));
  }
  const calls = server.log.count({ vendor: 'zoho' }) - count('POST /oauth/v2/token') - before;
  // Every field but `id` (always returned), at most 50 a request.
  const fieldChunks = Math.ceil(FIELD_METADATA[module].filter((f) => f !== 'id').length / FIELD_LIMIT);
  const minimum = Math.ceil(records / PER_PAGE) * fieldChunks;
  pull.push({
    module,
    records,
    calls,
    minimum,
    overheadPct: Number((((calls - minimum) / minimum) * 100).toFixed(2)),
    recordsPerSecond: Math.round(records / ((performance.now() - t0) / 1000)),
    byEndpoint: {
      fields: count('GET /crm/v8/settings/fields') - fieldsBefore,
      records: count(`GET /crm/v8/${module}`),
      deleted: count(`GET /crm/v8/${module}/deleted`),
    },
  });
  totalCalls += calls;
  totalMinimum += minimum;
  totalRecords += records;
}
const pullSeconds = (performance.now() - started) / 1000;

const erase: Record<string, unknown>[] = [];
for (const n of ERASE_SIZES) {
  const batch = refs.splice(0, n);
  const before = count('DELETE /crm/v8/Leads');
  const res = await connector.erase(batch, { permanent: false });
  const calls = count('DELETE /crm/v8/Leads') - before;
  erase.push({
    records: n,
    done: res.filter((r) => r.outcome === 'done').length,
    deleteCalls: calls,
    target: Math.ceil(n / 100),
  });
  if (refs.length === 0) break;
}

const result = {
  people,
  zohoPeople: world.countIn('zoho'),
  fullPull: {
    records: totalRecords,
    calls: totalCalls,
    minimum: totalMinimum,
    overheadPct: Number((((totalCalls - totalMinimum) / totalMinimum) * 100).toFixed(2)),
    withinTarget: totalCalls <= totalMinimum * 1.02,
    seconds: Number(pullSeconds.toFixed(2)),
    modules: pull,
  },
  erase,
  eraseWithinTarget: erase.every((e) => e.deleteCalls === e.target),
  peakRssMb: Math.round(process.memoryUsage().rss / 1e6),
};
mkdirSync(join(process.cwd(), 'bench-results'), { recursive: true });
writeFileSync(join(process.cwd(), 'bench-results', 'zoho.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `zoho: full pull ${totalRecords} records in ${totalCalls} calls (minimum ${totalMinimum}, +${result.fullPull.overheadPct}%) in ${result.fullPull.seconds}s; erase ${erase
    .map((e) => `${e.records}->${e.deleteCalls} calls`)
    .join(', ')}`,
);
await connector.close();
await server.close();
