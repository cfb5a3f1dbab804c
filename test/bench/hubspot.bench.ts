/**
 * HubSpot connector against the sandbox look-alike with the Professional tier limits enforced
 * (190 requests per 10 s per token): API calls for a full pull of contacts and notes versus the minimum
 * (pages of 100 for list; notes carry their contact associations inline, so no association calls), the
 * request rate versus the 190/10 s ceiling, and 429 answers. Writes bench-results/hubspot.json.
 * BENCH_HUBSPOT_CONTACTS sets the minimum contact count (default 20,000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hubspot from '@custodian/connector-hubspot';
import { createRuntimeConnector, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { createHubSpotApp } from '../../packages/sandbox/src/hubspot/index.js';

const MIN_CONTACTS = Number(process.env.BENCH_HUBSPOT_CONTACTS ?? 20_000);
const CEILING_PER_10S = 190;
const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret', refreshToken: 'bench-refresh' };

let people = MIN_CONTACTS;
let world = createSeedWorld({ people, seed: 7, now: new Date('2026-11-01T00:00:00Z') });
while (world.countIn('hubspot') < MIN_CONTACTS) {
  people = Math.ceil((people * MIN_CONTACTS) / Math.max(1, world.countIn('hubspot'))) + 100;
  world = createSeedWorld({ people, seed: 7, now: new Date('2026-11-01T00:00:00Z') });
}
const app = createHubSpotApp(world, { ...CLIENT, burstPer10s: CEILING_PER_10S });
const server = await createVendorServer(app, { knobs: { rateLimits: true } });
const connector = await createRuntimeConnector(hubspot, {
  system: 'hubspot',
  options: { auth: { type: 'oauth', ...CLIENT }, baseUrl: server.url, tier: 'professional' },
  logger: silentLogger,
});

const results: Record<string, unknown>[] = [];
const t0 = performance.now();
for (const stream of ['contacts', 'notes'] as const) {
  const before = server.log.count({ vendor: 'hubspot' });
  const start = performance.now();
  let records = 0;
  for await (const page of connector.read(stream, null)) records += page.records.length;
  const seconds = (performance.now() - start) / 1000;
  const calls = server.log.count({ vendor: 'hubspot' }) - before - (stream === 'contacts' ? 1 : 0);
  const minimum = Math.ceil(records / 100);
  results.push({
    stream,
    records,
    calls,
    minimum,
    overheadPct: Number((((calls - minimum) / minimum) * 100).toFixed(2)),
    seconds: Number(seconds.toFixed(2)),
  });
}
const seconds = (performance.now() - t0) / 1000;
const total = server.log.count({ vendor: 'hubspot' });
const rejected = server.log.count({ vendor: 'hubspot', status: 429 });
const requestsPer10s = (total / seconds) * 10;
const out = {
  contacts: app.objects('contacts').size,
  pull: results,
  totalRequests: total,
  seconds: Number(seconds.toFixed(2)),
  requestsPer10s: Number(requestsPer10s.toFixed(1)),
  ceilingPer10s: CEILING_PER_10S,
  shareOfCeilingPct: Number(((requestsPer10s / CEILING_PER_10S) * 100).toFixed(1)),
  responses429: rejected,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(join('bench-results', 'hubspot.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `hubspot: ${out.contacts} contacts; calls ${results.map((r) => `${r.stream} ${r.calls}/${r.minimum}`).join(', ')}; ` +
    `${out.requestsPer10s} req/10 s of ${CEILING_PER_10S} (${out.shareOfCeilingPct}%); 429s: ${rejected}\n`,
);
await server.close();
