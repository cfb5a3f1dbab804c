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
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContext } from '@custodian/cli';
import { openRequest, runRequests, silentLogger } from '@custodian/core';
import { type SandboxRequest, startSandbox, type VendorName } from '@custodian/sandbox';
import { requestDeps } from '../../packages/cli/src/commands/requests.js';
import { REQUEST_VENDORS, successfulDeleteCalls, VENDOR_DELETES } from '../e2e/requests-vendors.js';

const PEOPLE = Number(process.env.BENCH_REQUESTS_PEOPLE ?? 1000);
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

const sandbox = await startSandbox({
  people: Math.ceil(PEOPLE * 1.5),
  seed: 11,
  vendors: REQUEST_VENDORS,
  maxLogEntries: 1_000_000,
});
const emails: string[] = [];
for (let i = 0; i < sandbox.world.options.people && emails.length < PEOPLE; i++) {
  const p = sandbox.world.person(i);
  if (REQUEST_VENDORS.some((v) => p.systems.includes(v))) emails.push(p.email);
}

const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-requests-'));
const configPath = join(dir, 'custodian.config.yaml');
writeFileSync(
  configPath,
  `tenant: bench
ledger:
  dir: ./ledger
systems:
${sandbox
  .systemsConfig()
  .map((s) => `  - ${JSON.stringify(s)}`)
  .join('\n')}
`,
);
const ctx = await openContext({
  configPath,
  env: { ...process.env, CUSTODIAN_SECRET: SECRET },
  log: silentLogger,
});
const deps = await requestDeps(ctx, 'bench');
const ledgerTimes: Record<string, [number, number]> = {};
if (process.env.LEDGER_TIMES) {
  const real = deps.ledger as unknown as Record<string, unknown>;
  deps.ledger = new Proxy(real, {
    get(target, prop) {
      const v = target[prop as string];
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (v as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          const e = ledgerTimes[prop as string] ?? [0, 0];
          e[0]++;
          e[1] += performance.now() - t0;
          ledgerTimes[prop as string] = e;
        }
      };
    },
  }) as unknown as typeof deps.ledger;
}

const intakeStart = performance.now();
const ids: string[] = [];
for (const value of emails)
  ids.push((await openRequest(deps, { kind: 'erase', identities: [{ kind: 'email', value }] })).id);
const intakeMs = performance.now() - intakeStart;

sandbox.log.reset();
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

// Refs acted on per system and object, from the ledger (refs only).
const ledger = await ctx.ledger();
const refs: Record<string, Record<string, number>> = {};
for (const id of ids)
  for (const t of await ledger.listTasks(id, 'execute')) {
    if (t.action !== 'delete') continue;
    const s = refs[t.ref.system] ?? {};
    s[t.ref.object] = (s[t.ref.object] ?? 0) + 1;
    refs[t.ref.system] = s;
  }

/** A request as the rate limiter sees it, rebuilt from a request-log endpoint key. */
function requestOf(endpoint: string): SandboxRequest {
  const [method = 'GET', path = '/'] = endpoint.split(' ');
  return { method, path, query: new URLSearchParams(), headers: {}, body: undefined, rawBody: '', token: null };
}

function vendorFigures(vendor: VendorName) {
  const server = sandbox.servers[vendor]!;
  const app = server.app;
  const byEndpoint = sandbox.log.byEndpoint(vendor);
  const windows = new Map<string, { windowMs: number; max: number; calls: number }>();
  for (const [endpoint, n] of Object.entries(byEndpoint)) {
    const req = requestOf(endpoint);
    if (app.isPublic(req)) continue;
    // Answers given before the rate limiter counted the call: 429 (limited) and 401 (token refresh).
    const accepted =
      n - sandbox.log.count({ vendor, endpoint, status: 429 }) - sandbox.log.count({ vendor, endpoint, status: 401 });
    app.rateLimits.forEach((limit, w) => {
      const group = limit.group ? limit.group(req) : '';
      // A group of null exempts the call from that window (HubSpot search is not in the 10 s burst).
      if (group === null) return;
      const key = `${w}:${group}`;
      const win = windows.get(key) ?? { windowMs: limit.windowMs, max: limit.max, calls: 0 };
      win.calls += accepted;
      windows.set(key, win);
    });
  }
  const bounds = [...windows.entries()].map(([key, w]) => ({
    window: key,
    windowMs: w.windowMs,
    maxPerWindow: w.max,
    acceptedCalls: w.calls,
    boundMs: Math.max(0, Math.ceil(w.calls / w.max) - 1) * w.windowMs,
  }));
  const entries = sandbox.log.entries().filter((e) => e.vendor === vendor);
  const systemRefs = refs[sandboxSystem(vendor)] ?? {};
  return {
    calls: sandbox.log.count({ vendor }),
    responses429: sandbox.log.count({ vendor, status: 429 }),
    byEndpoint,
    deletes: {
      refsPerObject: systemRefs,
      successfulCalls: successfulDeleteCalls(sandbox.log, vendor),
      minimumCalls: VENDOR_DELETES[vendor].deleteCalls(systemRefs),
    },
    rateWindows: bounds,
    lowerBoundMs: Math.max(0, ...bounds.map((b) => b.boundMs)),
    activeMs: entries.length > 0 ? entries.at(-1)!.at - entries[0]!.at : 0,
    /** From the start of the run to this vendor's first call, and from its last call to the end of the run. */
    leadMs: entries.length > 0 ? entries[0]!.at - runStart : 0,
    tailMs: entries.length > 0 ? runStart + wallMs - entries.at(-1)!.at : 0,
  };
}

function sandboxSystem(vendor: VendorName): string {
  return sandbox.systemsConfig().find((s) => s.connector === vendor)!.name;
}

const vendors = Object.fromEntries(REQUEST_VENDORS.map((v) => [v, vendorFigures(v)]));
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
if (process.env.LEDGER_TIMES)
  for (const [k, [n, ms]] of Object.entries(ledgerTimes).sort((a, b) => b[1][1] - a[1][1]))
    process.stderr.write(`ledger ${k} ${n} calls ${Math.round(ms)} ms\n`);
await ctx.close();
await sandbox.stop();
rmSync(dir, { recursive: true, force: true });
