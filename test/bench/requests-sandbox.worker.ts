/**
 * The sandbox CRMs of the requests benchmark, in a worker thread: the vendors are remote services, so their
 * work must not share the event loop (and the CPU time) of the engine being measured. The main thread asks
 * for the request log's figures when the run is over.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type SandboxRequest, startSandbox, type VendorName } from '@custodian/sandbox';
import { REQUEST_VENDORS, successfulDeleteCalls, VENDOR_DELETES } from '../e2e/requests-vendors.js';

export interface SandboxWorkerData {
  people: number;
}

/** Messages from the main thread, each answered with one message. */
export type SandboxWorkerRequest =
  | { type: 'reset-log' }
  | { type: 'figures'; refs: Record<string, Record<string, number>>; runStart: number; wallMs: number }
  | { type: 'stop' };

const { people } = workerData as SandboxWorkerData;
const sandbox = await startSandbox({
  people: Math.ceil(people * 1.5),
  seed: 11,
  vendors: REQUEST_VENDORS,
  maxLogEntries: 1_000_000,
});
const emails: string[] = [];
for (let i = 0; i < sandbox.world.options.people && emails.length < people; i++) {
  const p = sandbox.world.person(i);
  if (REQUEST_VENDORS.some((v) => p.systems.includes(v))) emails.push(p.email);
}

/** A request as the rate limiter sees it, rebuilt from a request-log endpoint key. */
function requestOf(endpoint: string): SandboxRequest {
  const [method = 'GET', path = '/'] = endpoint.split(' ');
  return { method, path, query: new URLSearchParams(), headers: {}, body: undefined, rawBody: '', token: null };
}

function sandboxSystem(vendor: VendorName): string {
  return sandbox.systemsConfig().find((s) => s.connector === vendor)!.name;
}

function vendorFigures(
  vendor: VendorName,
  refs: Record<string, Record<string, number>>,
  runStart: number,
  wallMs: number,
) {
  const app = sandbox.servers[vendor]!.app;
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
    /** Calls (not rate-limited) started per second of the run, to see how the rate windows were used. */
    callsPerSecond: entries
      .filter((e) => e.status !== 429)
      .reduce<number[]>((acc, e) => {
        const s = Math.max(0, Math.floor((e.at - runStart) / 1000));
        while (acc.length <= s) acc.push(0);
        acc[s]!++;
        return acc;
      }, []),
  };
}

parentPort!.on('message', async (msg: SandboxWorkerRequest) => {
  if (msg.type === 'reset-log') {
    sandbox.log.reset();
    parentPort!.postMessage({ ok: true });
  } else if (msg.type === 'figures') {
    parentPort!.postMessage(
      Object.fromEntries(REQUEST_VENDORS.map((v) => [v, vendorFigures(v, msg.refs, msg.runStart, msg.wallMs)])),
    );
  } else {
    await sandbox.stop();
    parentPort!.postMessage({ ok: true });
    parentPort!.close();
  }
});
parentPort!.postMessage({ systems: sandbox.systemsConfig(), emails });
