/**
 * Sandbox framework costs: a 1,000,000-person seed world (person(i) throughput, planted() one-pass
 * time, heap growth over a full scan) and the vendor server kit (requests/second through the whole
 * pipeline with rate limits on, request-log memory after many requests). Writes bench-results/sandbox.json.
 * Targets: person(999999) < 1 ms; planted() on 1M < 5 s; heap growth over a 1M scan < 64 MB;
 * request log stays bounded (< 16 MB) after 20,000 requests.
 * BENCH_SANDBOX_PEOPLE sets the world size (default 1,000,000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequestLog } from '../../packages/sandbox/src/kit/request-log.js';
import { createVendorServer } from '../../packages/sandbox/src/kit/server.js';
import type { VendorApp } from '../../packages/sandbox/src/kit/types.js';
import { createSeedWorld } from '../../packages/sandbox/src/seed/world.js';

const people = Number(process.env.BENCH_SANDBOX_PEOPLE ?? 1_000_000);
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const heap = () => process.memoryUsage().heapUsed;

const world = createSeedWorld({ people, seed: 42 });
let t = performance.now();
world.person(people - 1);
const lastPersonMs = performance.now() - t;

gc();
const heapBefore = heap();
t = performance.now();
let notes = 0;
const SAMPLE = Math.min(people, 200_000);
for (let i = 0; i < SAMPLE; i++) notes += Object.keys(world.person(i).notes).length;
const personPerSec = Math.round(SAMPLE / ((performance.now() - t) / 1000));
t = performance.now();
const report = world.planted();
const plantedMs = performance.now() - t;
t = performance.now();
let zohoHeld = 0;
for (const _ of world.indexesIn('zoho')) zohoHeld++;
const firstIndexScanMs = performance.now() - t;
t = performance.now();
for (const _ of world.indexesIn('zoho')) zohoHeld--;
const nextIndexScanMs = performance.now() - t;
gc();
const heapGrowthMb = (heap() - heapBefore) / 1024 / 1024;

/** A trivial app so the figure measures the framework pipeline, not a vendor's handler. */
const app: VendorApp = {
  vendor: 'hubspot',
  endpointKey: (method, path) => `${method} ${path.replace(/\/\d+/g, '/{id}')}`,
  isPublic: () => false,
  tokenValid: (token) => token === 'bench',
  expireTokens: () => undefined,
  handle: (req) => ({ status: 200, body: { id: req.path } }),
  responses: {
    unauthorized: () => ({ status: 401, body: {} }),
    serverError: () => ({ status: 500, body: {} }),
    notFound: () => ({ status: 404, body: {} }),
    malformedBody: () => ({ status: 400, body: {} }),
    rateLimited: () => ({ status: 429, body: {} }),
    quotaExhausted: () => ({ status: 429, body: {} }),
  },
  rateLimits: [{ windowMs: 10_000, max: 1_000_000 }],
  dailyLimit: 10_000_000,
};
const log = createRequestLog();
const server = await createVendorServer(app, { log });
const REQUESTS = 20_000;
const CONCURRENCY = 32;
gc();
const logHeapBefore = heap();
t = performance.now();
let sent = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (sent < REQUESTS) {
      const n = sent++;
      const res = await fetch(`${server.url}/crm/v3/objects/contacts/${n}`, {
        headers: { authorization: 'Bearer bench' },
      });
      await res.arrayBuffer();
    }
  }),
);
const requestsPerSec = Math.round(REQUESTS / ((performance.now() - t) / 1000));
await server.close();
gc();
const logHeapGrowthMb = (heap() - logHeapBefore) / 1024 / 1024;

const result = {
  people,
  lastPersonMs: Number(lastPersonMs.toFixed(3)),
  personPerSec,
  plantedMs: Math.round(plantedMs),
  indexesInZohoFirstMs: Math.round(firstIndexScanMs),
  indexesInZohoNextMs: Math.round(nextIndexScanMs),
  indexScanBalanced: zohoHeld === 0,
  heapGrowthMbOverScan: Number(heapGrowthMb.toFixed(1)),
  perVendor: report.perVendor,
  problems: report.problems,
  server: {
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    requestsPerSec,
    logged: log.count(),
    logHeapGrowthMb: Number(logHeapGrowthMb.toFixed(1)),
  },
  notesSampled: notes,
  peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
};
mkdirSync(join(process.cwd(), 'bench-results'), { recursive: true });
writeFileSync(join(process.cwd(), 'bench-results', 'sandbox.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `sandbox: person(${people - 1}) ${result.lastPersonMs} ms; ${personPerSec}/s persons; planted() ${result.plantedMs} ms; heap +${result.heapGrowthMbOverScan} MB; server ${requestsPerSec} req/s, log heap +${result.server.logHeapGrowthMb} MB\n`,
);
