/**
 * The faults group: vendor failures injected by the loopback fault proxy, run through the real core
 * runtime. Each scenario gets a fresh fixture, reads the first pages of the first stream with a fault on
 * the second vendor request, and compares with an undisturbed read of the same fixture.
 */
import { ConnectorError } from '@custodian/core';
import type { FaultAction, FaultResponse, ProxiedRequest } from '../fault-proxy.js';
import { type ConformanceInput, type Harness, harness, ids, readAll } from '../harness.js';

/** Pages read per scenario: enough to put the fault mid-read, few enough to stay quick. */
const PAGES = 3;
const DEFAULT_UNAUTHORIZED: FaultResponse = { status: 401, body: { message: 'testkit: access token expired' } };
const DEFAULT_RATE_LIMITED: FaultResponse = { status: 429, body: { message: 'testkit: too many requests' } };

type Problem = (message: string) => void;

interface Run {
  h: Harness;
  stream: string;
  expected: string[];
}

const tokenRequests = (rs: ProxiedRequest[]) => rs.filter((r) => r.isTokenRequest).length;
const dataRequests = (rs: ProxiedRequest[]) => rs.filter((r) => !r.isTokenRequest).length;
const describeError = (err: unknown) =>
  err instanceof ConnectorError ? `${err.kind}: ${err.message}` : err instanceof Error ? err.message : String(err);

/**
 * Arm a fault from the n-th data request on: `fault` decides each later request (token requests
 * included) and may return undefined to forward it.
 */
function fromNthDataRequest(
  h: Harness,
  n: number,
  fault: (request: ProxiedRequest, index: number) => FaultAction | Promise<FaultAction>,
): () => ProxiedRequest[] {
  let seen = 0;
  let armedAt = -1;
  h.traffic.decide = (request) => {
    if (!request.isTokenRequest) seen++;
    if (armedAt < 0 && seen >= n) armedAt = h.traffic.requests.length - 1;
    return armedAt < 0 ? undefined : fault(request, seen);
  };
  return () => (armedAt < 0 ? [] : h.traffic.requests.slice(armedAt));
}

async function readFirstPages(run: Run): Promise<{ got: string[]; error?: unknown }> {
  try {
    return { got: ids(await readAll(run.h.rc, run.stream, null, PAGES)) };
  } catch (error) {
    return { got: [], error };
  }
}

/** The read must recover from the fault and return exactly what an undisturbed read returns. */
function expectRecovered(name: string, run: Run, result: { got: string[]; error?: unknown }, problem: Problem) {
  if (result.error) return problem(`${name}: the read failed instead of retrying (${describeError(result.error)})`);
  const got = new Set(result.got);
  const lost = run.expected.filter((id) => !got.has(id));
  if (lost.length > 0)
    problem(
      `${name}: the read returned ${result.got.length} of ${run.expected.length} record(s) without an error: the failure was swallowed and ${lost.length} record(s) lost`,
    );
}

type Scenario = (
  run: Run,
  shapes: { quota?: FaultResponse; unauthorized: FaultResponse; rateLimited: FaultResponse },
  problem: Problem,
) => Promise<void>;

const once = (h: Harness, action: FaultAction) =>
  fromNthDataRequest(h, 2, (r, i) => (r.isTokenRequest || i > 2 ? undefined : action));

const SCENARIOS: Record<string, Scenario> = {
  async '429 with Retry-After'(run, shapes, problem) {
    const limited = shapes.rateLimited;
    once(run.h, { respond: { ...limited, headers: { ...limited.headers, 'retry-after': '7' } } });
    expectRecovered('429 with Retry-After', run, await readFirstPages(run), problem);
    if (!run.h.sleeps.includes(7000))
      problem(
        `429 with Retry-After: 7: the runtime was asked to wait [${run.h.sleeps.join(', ')}] ms, not 7000 (classifyError must pass Retry-After on as retryAfterMs)`,
      );
  },

  async '429 without Retry-After'(run, shapes, problem) {
    once(run.h, { respond: shapes.rateLimited });
    expectRecovered('429 without Retry-After', run, await readFirstPages(run), problem);
    if (run.h.sleeps.length === 0) problem('429 without Retry-After: retried without any backoff');
  },

  async '5xx'(run, _shapes, problem) {
    fromNthDataRequest(run.h, 2, (r, i) =>
      r.isTokenRequest || i > 3
        ? undefined
        : { respond: { status: i === 2 ? 500 : 503, body: { message: 'testkit: server error' } } },
    );
    expectRecovered('5xx', run, await readFirstPages(run), problem);
  },

  async 'connection reset'(run, _shapes, problem) {
    once(run.h, { reset: true });
    expectRecovered('connection reset', run, await readFirstPages(run), problem);
  },

  async '401 -> one refresh -> success'(run, shapes, problem) {
    let refreshed = false;
    const since = fromNthDataRequest(run.h, 2, (r) => {
      if (r.isTokenRequest) refreshed = true;
      return r.isTokenRequest || refreshed ? undefined : { respond: shapes.unauthorized };
    });
    const result = await readFirstPages(run);
    const tokens = tokenRequests(since());
    if (tokens === 0)
      problem('401 -> refresh: a 401 did not lead to a token request (drop the cached token in onAuthExpired)');
    else if (tokens > 1) problem(`401 -> refresh: one 401 led to ${tokens} token requests, expected 1`);
    expectRecovered('401 -> refresh', run, result, problem);
  },

  async 'a second 401 -> auth error'(run, shapes, problem) {
    const since = fromNthDataRequest(run.h, 2, (r) =>
      r.isTokenRequest ? undefined : { respond: shapes.unauthorized },
    );
    const result = await readFirstPages(run);
    const tokens = tokenRequests(since());
    if (!result.error)
      problem(
        `a second 401: a 401 that persists after the refresh ended the read without an error (${result.got.length} of ${run.expected.length} records): the connector swallowed the 401`,
      );
    else if (!(result.error instanceof ConnectorError) || result.error.kind !== 'auth_revoked')
      problem(`a second 401: expected an auth_revoked error, got ${describeError(result.error)}`);
    if (tokens !== 1)
      problem(`a second 401: ${tokens} token request(s) after the first 401, expected exactly 1 (no refresh loop)`);
    if (dataRequests(since()) > 2)
      problem(`a second 401: ${dataRequests(since())} requests answered 401, expected 2 (the call and its one retry)`);
  },

  async 'quota exhaustion -> pause'(run, shapes, problem) {
    if (!shapes.quota)
      return problem(
        "quota exhaustion: the fixture gives no `faults.quota` answer (the vendor's quota-exhausted response)",
      );
    const since = fromNthDataRequest(run.h, 2, (r) => (r.isTokenRequest ? undefined : { respond: shapes.quota! }));
    const result = await readFirstPages(run);
    if (!(result.error instanceof ConnectorError) || result.error.kind !== 'quota_exhausted')
      return problem(
        `quota exhaustion: expected a quota_exhausted error, got ${result.error ? describeError(result.error) : 'no error'}`,
      );
    const paused = run.h.rc.quota().pausedUntil;
    if (!paused || paused <= new Date() || run.h.pauses.length === 0)
      problem('quota exhaustion: the system was not paused until the quota resets');
    if (dataRequests(since()) !== 1)
      problem(
        `quota exhaustion: the exhausted quota was asked ${dataRequests(since())} times, expected once (no retry storm)`,
      );
    const before = since().length;
    const again = await readFirstPages(run);
    if (!(again.error instanceof ConnectorError) || again.error.kind !== 'quota_exhausted' || since().length !== before)
      problem('quota exhaustion: a read during the pause reached the vendor instead of failing fast');
  },

  async 'concurrent refreshes -> one token request'(run, shapes, problem) {
    await readAll(run.h.rc, run.stream, null, 1);
    // Every request carrying the old token fails at once: the three are held until all arrive (or 1 s).
    let refreshed = false;
    let arrived = 0;
    let release!: () => void;
    const allHere = new Promise<void>((r) => {
      release = r;
    });
    const timeout = setTimeout(() => release(), 1000);
    const since = fromNthDataRequest(run.h, 1, async (r) => {
      if (r.isTokenRequest) {
        refreshed = true;
        // A slow token endpoint: late 401s must join the refresh in flight, not start their own.
        return { delayMs: 500 };
      }
      if (refreshed) return undefined;
      if (++arrived >= 3) release();
      await allHere;
      return { respond: shapes.unauthorized };
    });
    const results = await Promise.allSettled([1, 2, 3].map(() => readAll(run.h.rc, run.stream, null, 1)));
    clearTimeout(timeout);
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0)
      problem(
        `concurrent refreshes: ${failed.length} of 3 reads failed (${describeError((failed[0] as PromiseRejectedResult).reason)})`,
      );
    const tokens = tokenRequests(since());
    if (tokens !== 1) problem(`concurrent refreshes: ${tokens} token requests for three concurrent 401s, expected 1`);
  },
};

export const FAULT_SCENARIOS = Object.keys(SCENARIOS);

export async function checkFaults(input: ConformanceInput, problem: Problem): Promise<void> {
  const baseline = await harness(input, { faults: true });
  let stream: string;
  let expected: string[];
  let shapes: Parameters<Scenario>[1];
  try {
    if (!baseline.traffic.routed)
      return problem(
        'the fixture never routed its base URL through env.route(url), so no fault can be injected: route it, or skip faults with a reason',
      );
    stream = baseline.rc.streams[0]!.name;
    expected = ids(await readAll(baseline.rc, stream, null, PAGES));
    const given = baseline.fixture.faults;
    shapes = {
      ...(given?.quota ? { quota: given.quota } : {}),
      unauthorized: given?.unauthorized ?? DEFAULT_UNAUTHORIZED,
      rateLimited: given?.rateLimited ?? DEFAULT_RATE_LIMITED,
    };
  } finally {
    await baseline.close();
  }
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    const h = await harness(input, { faults: true });
    try {
      await scenario({ h, stream, expected }, shapes, problem);
    } catch (err) {
      problem(`${name}: threw ${describeError(err)}`);
    } finally {
      await h.close();
    }
  }
}
