/**
 * One conformance harness: a fresh fixture, the real core runtime around the connector, a log capture,
 * a vendor-call counter, and (for the groups that inject faults) a loopback fault proxy in front of
 * every upstream URL the fixture routes through `env.route(url)`.
 */
import {
  type AnyConnectorDefinition,
  type Checkpoint,
  type CrmRecord,
  createRuntimeConnector,
  identitiesOf,
  type Page,
  type RuntimeConnector,
} from '@custodian/core';
import {
  type FaultAction,
  type FaultProxy,
  type FaultResponse,
  type ProxiedRequest,
  startFaultProxy,
} from './fault-proxy.js';
import { captureLogger } from './logs.js';

export const GROUPS = [
  'definition',
  'read',
  'incremental',
  'deletes',
  'find',
  'erase',
  'update',
  'opt-out',
  'faults',
  'budget',
  'logging',
] as const;
export type Group = (typeof GROUPS)[number];

/** Vendor-shaped answers the fault group sends; generic JSON bodies are used where none is given. */
export interface FaultShapes {
  /** The vendor's "daily quota / credits exhausted" answer (HubSpot 429 policyName DAILY, Salesforce 403 REQUEST_LIMIT_EXCEEDED, ...). */
  quota: FaultResponse;
  /** The vendor's expired-token answer. @default 401 with a JSON message */
  unauthorized?: FaultResponse;
  /** The vendor's rate-limit answer without Retry-After (the testkit adds Retry-After where it tests it). @default 429 */
  rateLimited?: FaultResponse;
}

export interface Fixture {
  /** Valid options pointing at this fixture's data (a fresh copy per check). */
  options: unknown;
  /** Values that must never appear in a log line (tokens, secrets, and the fixture's personal data). */
  secrets?: string[];
  /**
   * Give `count` records of a timestamp-cursor stream one and the same modified time, now (a bulk update,
   * stamped as the vendor would); returns their ids, or [] for a stream it cannot stage. The incremental
   * group uses it to put equal timestamps across a page boundary.
   */
  bulkModify?: (stream: string, count: number) => Promise<string[]>;
  /** Vendor-shaped fault answers; required when the fixture routes through `env.route`. */
  faults?: FaultShapes;
  cleanup?: () => Promise<void>;
}

export interface FixtureEnv {
  /**
   * Give the connector `await env.route(upstreamUrl)` instead of its upstream base URL (API host and
   * OAuth host alike): the fault group puts a loopback fault proxy there, other groups get the URL back.
   */
  route(upstream: string): Promise<string>;
}

export interface ConformanceInput {
  connector: AnyConnectorDefinition;
  /** Creates fresh data for one check (destructive checks erase and update records). */
  fixture: (env: FixtureEnv) => Promise<Fixture>;
  /** Every skipped group needs a written reason. */
  skip?: Partial<Record<Group, string>>;
  /** Most vendor calls one page may take (catches one-call-per-record patterns). @default 3 */
  callsPerPage?: number;
  system?: string;
}

export interface Problem {
  group: Group;
  message: string;
}

export interface Traffic {
  /** Every request the fault proxies saw, token requests included, in arrival order. */
  requests: ProxiedRequest[];
  /** Decides each request's fate; the fault group swaps it per scenario. */
  decide: (request: ProxiedRequest) => FaultAction | Promise<FaultAction>;
  /** True once the fixture routed at least one upstream through a proxy. */
  routed: boolean;
}

export interface Harness {
  rc: RuntimeConnector;
  logs: string[];
  calls: string[];
  /** Waits the runtime asked for (backoff, Retry-After), in ms; the harness does not really wait them. */
  sleeps: number[];
  pauses: Date[];
  traffic: Traffic;
  fixture: Fixture;
  close(): Promise<void>;
}

// The runtime's waits are recorded, not slept: Retry-After values are asserted, and a loaded machine
// never turns a 30 s backoff into a test timeout.
const recordedSleep = (sleeps: number[]) => (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    sleeps.push(ms);
    if (signal.aborted) return reject(signal.reason);
    setTimeout(resolve, Math.min(ms, 5));
  });

export async function harness(input: ConformanceInput, options: { faults?: boolean } = {}): Promise<Harness> {
  const proxies: FaultProxy[] = [];
  const traffic: Traffic = { requests: [], decide: () => undefined, routed: false };
  const env: FixtureEnv = {
    async route(upstream) {
      if (!options.faults) return upstream;
      const proxy = await startFaultProxy(upstream, {
        decide: (request) => {
          traffic.requests.push(request);
          return traffic.decide(request);
        },
      });
      proxies.push(proxy);
      traffic.routed = true;
      return proxy.url;
    },
  };
  const fixture = await input.fixture(env);
  const { logger, lines: logs } = captureLogger('trace');
  const calls: string[] = [];
  const sleeps: number[] = [];
  const pauses: Date[] = [];
  const closeProxies = () => Promise.all(proxies.map((p) => p.close()));
  let rc: RuntimeConnector;
  try {
    rc = await createRuntimeConnector(input.connector, {
      system: input.system ?? 'conformance',
      options: fixture.options,
      logger,
      onCall: (op) => calls.push(op),
      onPause: (_system, until) => {
        pauses.push(until);
      },
      baseBackoffMs: 1,
      sleep: recordedSleep(sleeps),
    });
  } catch (err) {
    await closeProxies();
    await fixture.cleanup?.();
    throw err;
  }
  return {
    rc,
    logs,
    calls,
    sleeps,
    pauses,
    traffic,
    fixture,
    async close() {
      await rc.close();
      await closeProxies();
      await fixture.cleanup?.();
    },
  };
}

export async function readAll(
  rc: RuntimeConnector,
  stream: string,
  from: Checkpoint | null,
  stopAfter = Number.POSITIVE_INFINITY,
): Promise<Page[]> {
  const pages: Page[] = [];
  for await (const page of rc.read(stream, from)) {
    pages.push(page);
    if (pages.length >= stopAfter) break;
  }
  return pages;
}

export const ids = (pages: Page[]): string[] => pages.flatMap((p) => p.records.map((r) => r.ref.id));

export async function firstPerson(rc: RuntimeConnector): Promise<CrmRecord | null> {
  for (const s of rc.streams.filter((x) => x.kind === 'person')) {
    for (const page of await readAll(rc, s.name, null)) {
      const r = page.records.find((x) => identitiesOf(x.canonical).length > 0);
      if (r) return r;
    }
  }
  return null;
}

export type Check = (h: Harness, input: ConformanceInput, problem: (message: string) => void) => Promise<void>;
