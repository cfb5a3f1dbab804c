/**
 * HubSpot connector against the sandbox look-alike with the Professional tier limits enforced
 * (190 requests per 10 s per token, search 5 per second): API calls for a full pull of contacts, notes,
 * companies and deals versus the minimum (pages of 100 for list; notes, companies and deals carry their
 * contacts inline, so no association calls); the request rate versus the 190/10 s ceiling for the pull one
 * stream at a time, all four at once, and cheap calls from 20 callers (pacing); the busiest 10 s span the
 * look-alike saw; and 429 answers. Writes bench-results/hubspot.json.
 * BENCH_HUBSPOT_CONTACTS sets the minimum contact count (default 20,000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import hubspot from '@custodian/connector-hubspot';
import { createLogger, createRuntimeConnector } from '@custodian/core';
import { createSeedWorld, type RequestLogEntry } from '@custodian/sandbox';

const MIN_CONTACTS = Number(process.env.BENCH_HUBSPOT_CONTACTS ?? 20_000);
const CEILING_PER_10S = 190;
const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret', refreshToken: 'bench-refresh' };

let people = MIN_CONTACTS;
let world = createSeedWorld({ people, seed: 7, now: new Date('2026-11-01T00:00:00Z') });
while (world.countIn('hubspot') < MIN_CONTACTS) {
  people = Math.ceil((people * MIN_CONTACTS) / Math.max(1, world.countIn('hubspot'))) + 100;
  world = createSeedWorld({ people, seed: 7, now: new Date('2026-11-01T00:00:00Z') });
}
type Stream = 'contacts' | 'notes' | 'companies' | 'deals';
const STREAMS: Stream[] = ['contacts', 'notes', 'companies', 'deals'];

/** A fresh look-alike (in its own thread, see ./hubspot-sandbox.worker.ts) and connector with the limits enforced. */
async function portal() {
  // Node 20 workers do not take a .ts entry even with tsx's loader flag: a small bootstrap registers tsx first.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./hubspot-sandbox.worker.ts', import.meta.url).href)}); })`;
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: { people, seed: 7, app: { ...CLIENT, burstPer10s: CEILING_PER_10S } },
  });
  const ask = <T>(message: string) =>
    new Promise<T>((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(message);
    });
  const ready = await new Promise<{ url: string; contactIds: string[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const counter = { attempts: 0, retries: 0, maxRetriesOfOneCall: 0 };
  // The runtime logs each retry with the call's attempt number: more than 1 means a call met two 429s.
  const retryLog = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as { msg?: string; attempt?: number };
        if (entry.msg !== 'retrying vendor call') continue;
        counter.retries++;
        counter.maxRetriesOfOneCall = Math.max(counter.maxRetriesOfOneCall, entry.attempt ?? 0);
      }
      done();
    },
  });
  const connector = await createRuntimeConnector(hubspot, {
    system: 'hubspot',
    options: { auth: { type: 'oauth', ...CLIENT }, baseUrl: ready.url, tier: 'professional' },
    logger: createLogger({ level: 'debug', destination: retryLog }),
    // Every attempt the runtime makes: a 429 retried shows as an attempt more than the calls answered.
    onCall: () => {
      counter.attempts++;
    },
  });
  return {
    contactIds: ready.contactIds,
    connector,
    counter,
    entries: async () => (await ask<{ entries: RequestLogEntry[] }>('entries')).entries,
    reset: () => ask('reset'),
    close: async () => {
      await connector.close();
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage('close');
      });
    },
  };
}
type Portal = Awaited<ReturnType<typeof portal>>;

async function pull(connector: Portal['connector'], stream: Stream): Promise<number> {
  let records = 0;
  for await (const page of connector.read(stream, null)) records += page.records.length;
  return records;
}

/** Requests (token call excluded), 429s, and the busiest 10 s span of arrivals (what a rolling window counts). */
async function traffic(p: Portal) {
  const entries = (await p.entries()).filter((e) => e.endpoint !== 'POST /oauth/v1/token');
  let peak = 0;
  for (let i = 0, j = 0; i < entries.length; i++) {
    while ((entries[i]?.at ?? 0) - (entries[j]?.at ?? 0) >= 10_000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { requests: entries.length, responses429: entries.filter((e) => e.status === 429).length, peak };
}

// 1. Calls: each stream pulled on its own, calls counted against the minimum the endpoints allow.
const sequential = await portal();
const results: Record<string, unknown>[] = [];
const t0 = performance.now();
for (const stream of STREAMS) {
  const before = (await sequential.entries()).length;
  const start = performance.now();
  const records = await pull(sequential.connector, stream);
  const seconds = (performance.now() - start) / 1000;
  const calls = (await sequential.entries()).length - before - (stream === 'contacts' ? 1 : 0);
  const minimum = Math.max(1, Math.ceil(records / 100));
  results.push({
    stream,
    records,
    calls,
    minimum,
    overheadPct: Number((((calls - minimum) / minimum) * 100).toFixed(2)),
    seconds: Number(seconds.toFixed(2)),
  });
}
const sequentialSeconds = (performance.now() - t0) / 1000;
const seqTraffic = await traffic(sequential);
await sequential.close();

// 2. Throughput: the four streams pulled at once, so the rate limit (not one page's latency) is the bottleneck.
const concurrent = await portal();
const t1 = performance.now();
const counts = await Promise.all(STREAMS.map((s) => pull(concurrent.connector, s)));
const concurrentSeconds = (performance.now() - t1) / 1000;
const conTraffic = await traffic(concurrent);
await concurrent.close();

// 3. Pacing: many cheap calls at once (one-record batch reads), so neither page latency nor this process's CPU
// (look-alike and client share it) is the bottleneck, only the declared limit.
const PACING_CALLS = Number(process.env.BENCH_HUBSPOT_PACING_CALLS ?? 570);
const paced = await portal();
const ids = paced.contactIds;
await paced.connector.get([{ system: 'hubspot', object: 'contacts', id: ids[0] as string }]); // token + first window
await paced.reset();
const t2 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 20 }, async () => {
    while (next < PACING_CALLS) {
      const id = ids[next++ % ids.length] as string;
      await paced.connector.get([{ system: 'hubspot', object: 'contacts', id }]);
    }
  }),
);
const pacingSeconds = (performance.now() - t2) / 1000;
const paceTraffic = await traffic(paced);
await paced.close();

const per10s = (requests: number, seconds: number) => Number(((requests / seconds) * 10).toFixed(1));
const out = {
  contacts: sequential.contactIds.length,
  pull: results,
  sequential: {
    note: 'one stream at a time: each call waits for the previous page (latency-bound)',
    requests: seqTraffic.requests,
    seconds: Number(sequentialSeconds.toFixed(2)),
    requestsPer10s: per10s(seqTraffic.requests, sequentialSeconds),
    peakRequestsIn10s: seqTraffic.peak,
    responses429: seqTraffic.responses429,
    ...sequential.counter,
  },
  concurrent: {
    note: 'the four streams at once: the declared rate limit is the bottleneck',
    records: counts.reduce((a, b) => a + b, 0),
    requests: conTraffic.requests,
    seconds: Number(concurrentSeconds.toFixed(2)),
    requestsPer10s: per10s(conTraffic.requests, concurrentSeconds),
    peakRequestsIn10s: conTraffic.peak,
    shareOfCeilingPct: Number(((per10s(conTraffic.requests, concurrentSeconds) / CEILING_PER_10S) * 100).toFixed(1)),
    responses429: conTraffic.responses429,
    ...concurrent.counter,
  },
  pacing: {
    note: 'cheap calls from 20 callers at once: only the declared limit paces them',
    requests: paceTraffic.requests,
    seconds: Number(pacingSeconds.toFixed(2)),
    requestsPer10s: per10s(paceTraffic.requests, pacingSeconds),
    peakRequestsIn10s: paceTraffic.peak,
    shareOfCeilingPct: Number(((per10s(paceTraffic.requests, pacingSeconds) / CEILING_PER_10S) * 100).toFixed(1)),
    responses429: paceTraffic.responses429,
    ...paced.counter,
  },
  ceilingPer10s: CEILING_PER_10S,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(join('bench-results', 'hubspot.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `hubspot: ${out.contacts} contacts; calls ${results.map((r) => `${r.stream} ${r.calls}/${r.minimum}`).join(', ')}; ` +
    // Averages over a run of a few windows exceed the ceiling when the allowance bursts at the start; the peak
    // in any 10 s span is what HubSpot limits.
    `sequential ${out.sequential.requestsPer10s} req/10 s (peak ${out.sequential.peakRequestsIn10s} in 10 s); ` +
    `concurrent ${out.concurrent.requestsPer10s} req/10 s on average, peak ${out.concurrent.peakRequestsIn10s} in 10 s of ${CEILING_PER_10S}; pacing ${out.pacing.requestsPer10s} req/10 s (${out.pacing.shareOfCeilingPct}%), ` +
    `peak ${out.pacing.peakRequestsIn10s} in 10 s; 429s: ${out.sequential.responses429 + out.concurrent.responses429 + out.pacing.responses429}\n`,
);
