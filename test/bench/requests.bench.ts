/**
 * Erasing 1,000 people across the sandbox CRMs with the vendors' rate limits enforced. Each person is
 * one request (own deadline, own certificate); the 1,000 run as one batch through the request engine,
 * which shares vendor calls per system across requests and runs the systems side by side.
 *
 * Reported (bench-results/requests.json): per vendor the calls made per endpoint, 429 answers, the
 * successful delete calls against the minimum the vendor's batch sizes allow (HubSpot GDPR delete 1 per
 * call and archive 100, Zoho delete 100), and the time the vendor's rate limits make necessary for the
 * calls made: for each rate window of W ms allowing M calls, C accepted calls need at least
 * (ceil(C / M) - 1) * W ms. The wall time of the run is compared with the largest of those bounds.
 * BENCH_REQUESTS_PEOPLE sets the number of people (default 1,000).
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openContext } from '@custodian/cli';
import { createLogger, openRequest, refKey, runRequests, silentLogger } from '@custodian/core';
import { requestDeps } from '../../packages/cli/src/commands/requests.js';
import { REQUEST_VENDORS } from '../e2e/requests-vendors.js';
import type { SandboxWorkerData, SandboxWorkerRequest } from './requests-sandbox.worker.js';

const PEOPLE = Number(process.env.BENCH_REQUESTS_PEOPLE ?? 1000);
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

// Node 20 passes no module hooks on to workers: the worker registers tsx itself, then loads its TypeScript.
const workerUrl = new URL('./requests-sandbox.worker.ts', import.meta.url).href;
const worker = new Worker(
  `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}); });`,
  { eval: true, workerData: { people: PEOPLE } satisfies SandboxWorkerData },
);
async function ask<T>(msg: SandboxWorkerRequest): Promise<T> {
  worker.postMessage(msg);
  return (await once(worker, 'message'))[0] as T;
}
const [{ systems, emails }] = (await once(worker, 'message')) as [{ systems: unknown[]; emails: string[] }];

const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-requests-'));
const configPath = join(dir, 'custodian.config.yaml');
writeFileSync(
  configPath,
  `tenant: bench
ledger:
  dir: ./ledger
systems:
${systems.map((s) => `  - ${JSON.stringify(s)}`).join('\n')}
`,
);
const ctx = await openContext({
  configPath,
  env: { ...process.env, CUSTODIAN_SECRET: SECRET },
  log: silentLogger,
});
const deps = await requestDeps(ctx, 'bench');
// The engine's step timings (debug lines: step, system, ms) go into the results; nothing else is logged.
const stepTimes: { step: string; system?: string; ms: number }[] = [];
deps.log = createLogger({
  level: 'debug',
  destination: {
    write(line: string) {
      const { step, system, ms } = JSON.parse(line) as { step?: string; system?: string; ms?: number };
      if (step && ms !== undefined) stepTimes.push({ step, ...(system ? { system } : {}), ms });
    },
  },
});
const intakeStart = performance.now();
const ids: string[] = [];
for (const value of emails)
  ids.push((await openRequest(deps, { kind: 'erase', identities: [{ kind: 'email', value }] })).id);
const intakeMs = performance.now() - intakeStart;

// Connectors are set up (modules loaded, options checked) before the clock starts, as in a running worker.
await Promise.all(deps.systems.map((s) => s.connector()));
await ask({ type: 'reset-log' });
const runStart = Date.now();
const rows = await runRequests(deps, ids);
const wallMs = Date.now() - runStart;

const states: Record<string, number> = {};
const errors: Record<string, number> = {};
for (const r of rows) {
  states[r.state] = (states[r.state] ?? 0) + 1;
  if (r.error) {
    const reason = r.error.replaceAll(/req_\w+/g, 'ID');
    errors[reason] = (errors[reason] ?? 0) + 1;
  }
}

// Refs acted on per system and object, from the ledger (refs only); a record two erased people shared
// (a note on both) is one ref, deleted once.
const ledger = await ctx.ledger();
const refs: Record<string, Record<string, number>> = {};
const counted = new Set<string>();
for (const tasks of (await ledger.tasksByRequest(ids, 'execute')).values())
  for (const t of tasks) {
    if (t.action !== 'delete' || counted.has(refKey(t.ref))) continue;
    counted.add(refKey(t.ref));
    const s = refs[t.ref.system] ?? {};
    s[t.ref.object] = (s[t.ref.object] ?? 0) + 1;
    refs[t.ref.system] = s;
  }

type VendorFigures = { calls: number; responses429: number; lowerBoundMs: number; deletes: Record<string, number> };
const vendors = await ask<Record<string, VendorFigures>>({ type: 'figures', refs, runStart, wallMs });
const lowerBoundMs = Math.max(...Object.values(vendors).map((v) => v.lowerBoundMs));
const out = {
  people: emails.length,
  requests: ids.length,
  states,
  errors,
  intakeMs: Math.round(intakeMs),
  wallMs,
  lowerBoundMs,
  overLowerBoundPct: lowerBoundMs > 0 ? Number((((wallMs - lowerBoundMs) / lowerBoundMs) * 100).toFixed(1)) : null,
  targetPct: 10,
  stepTimes,
  vendors,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(join('bench-results', 'requests.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `requests: erased ${states.completed ?? 0}/${ids.length} people in ${(wallMs / 1000).toFixed(1)} s; ` +
    `rate-limit lower bound ${(lowerBoundMs / 1000).toFixed(1)} s (${out.overLowerBoundPct}% over); ` +
    REQUEST_VENDORS.map(
      (v) =>
        `${v}: ${vendors[v]!.calls} calls, ${vendors[v]!.responses429} x 429, deletes ${vendors[v]!.deletes.successfulCalls}/${vendors[v]!.deletes.minimumCalls} minimum`,
    ).join('; ') +
    '\n',
);
await ctx.close();
await ask({ type: 'stop' });
rmSync(dir, { recursive: true, force: true });
