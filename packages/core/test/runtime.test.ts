import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ConnectorOperations,
  createRuntimeConnector,
  createTokenManager,
  defineConnector,
  HttpError,
  type OperationContext,
  type RefResult,
  type RuntimeInput,
  silentLogger,
} from '../src/index.js';
import { createRollingWindow } from '../src/runtime/window.js';

/** A tiny in-test connector whose `find` runs a scripted vendor call through ctx.call. */
function scripted(
  script: (attempt: number) => unknown,
  extra: Partial<ConnectorOperations> = {},
  capabilities: ('find' | 'erase')[] = ['find'],
) {
  let attempts = 0;
  let refreshes = 0;
  const definition = defineConnector({
    id: 'scripted',
    title: 'Scripted',
    core: '^0.1.0',
    options: z.object({ token: z.string().min(1), region: z.enum(['eu', 'us']).default('eu') }).strict(),
    streams: [
      { name: 'contacts', kind: 'person', fields: [], cursor: 'none', deletes: { kind: 'none', reason: 'test' } },
    ],
    limits: {
      groups: {
        default: { intervalMs: 1000, intervalCap: 1000, concurrency: 20 },
        search: { intervalMs: 200, intervalCap: 2, concurrency: 1 },
      },
    },
    capabilities,
    setup: () => ({
      async *read() {},
      find: (_ids, ctx: OperationContext) =>
        ctx.call('vendor', async () => {
          const out = script(attempts++);
          if (
            out instanceof Error ||
            (out && typeof out === 'object' && 'status' in (out as object) && !(out as { ok?: boolean }).ok)
          )
            throw out;
          return [];
        }),
      async onAuthExpired() {
        refreshes++;
        await new Promise((r) => setTimeout(r, 20));
      },
      ...extra,
    }),
  });
  return { definition, attempts: () => attempts, refreshes: () => refreshes };
}

function runtimeInput(waits: number[], extra: Partial<RuntimeInput> = {}): RuntimeInput {
  return {
    system: 'crm',
    options: { token: 'secret-token-value' },
    logger: silentLogger,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...extra,
  };
}

const http = (status: number, headers: Record<string, string> = {}) =>
  new HttpError(status, 'GET /x', new Headers(headers), {});

describe('connector runtime: retries and backoff', () => {
  it('retries 503 with full-jitter exponential backoff, then succeeds', async () => {
    const s = scripted((n) => (n < 3 ? http(503) : null));
    const waits: number[] = [];
    const rc = await createRuntimeConnector(s.definition, runtimeInput(waits));
    await expect(rc.find([])).resolves.toEqual([]);
    expect(s.attempts()).toBe(4);
    // random() = 0.5 -> half of min(cap, base * 2^attempt)
    expect(waits).toEqual([250, 500, 1000]);
  });

  it('honours Retry-After over backoff, and gives up when the wait is longer than allowed', async () => {
    const s = scripted((n) => (n === 0 ? http(429, { 'retry-after': '2' }) : null));
    const waits: number[] = [];
    await (await createRuntimeConnector(s.definition, runtimeInput(waits))).find([]);
    expect(waits).toEqual([2000]);
    const long = scripted(() => http(429, { 'retry-after': '3600' }));
    const rc = await createRuntimeConnector(long.definition, runtimeInput([], { maxWaitMs: 60_000 }));
    await expect(rc.find([])).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_RATE_LIMITED', system: 'crm' });
  });

  it("honours Retry-After when the connector's own classifier leaves it out", async () => {
    const s = scripted((n) => (n === 0 ? http(429, { 'retry-after': '3' }) : null));
    const own = defineConnector({ ...s.definition, classifyError: () => ({ kind: 'rate_limited' as const }) });
    const waits: number[] = [];
    await (await createRuntimeConnector(own, runtimeInput(waits))).find([]);
    expect(waits).toEqual([3000]);
  });

  it('stops after maxRetries with the attempt count in the message', async () => {
    const s = scripted(() => http(500));
    const rc = await createRuntimeConnector(s.definition, runtimeInput([], { maxRetries: 2 }));
    await expect(rc.find([])).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_TRANSIENT',
      message: expect.stringContaining('after 3 attempts'),
    });
    expect(s.attempts()).toBe(3);
  });

  it('does not retry client errors, and maps 403 to a permission error', async () => {
    const bad = scripted(() => http(400));
    await expect((await createRuntimeConnector(bad.definition, runtimeInput([]))).find([])).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST',
    });
    expect(bad.attempts()).toBe(1);
    const denied = scripted(() => http(403));
    await expect((await createRuntimeConnector(denied.definition, runtimeInput([]))).find([])).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_PERMISSION',
    });
  });

  it('retries connection resets for idempotent calls only', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const s = scripted((n) => (n === 0 ? reset : null));
    await (await createRuntimeConnector(s.definition, runtimeInput([]))).find([]);
    expect(s.attempts()).toBe(2);
    const writes = defineConnector({
      ...s.definition,
      setup: () => ({
        async *read() {},
        find: (_ids, ctx) =>
          ctx.call(
            'write',
            async () => {
              throw reset;
            },
            { idempotent: false },
          ),
      }),
    });
    await expect((await createRuntimeConnector(writes, runtimeInput([]))).find([])).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_TRANSIENT',
    });
  });
});

describe('connector runtime: auth, quota, abort', () => {
  it('refreshes once for ten concurrent 401s, then succeeds', async () => {
    let valid = false;
    const s = scripted(() => (valid ? null : http(401)));
    const definition = defineConnector({
      ...s.definition,
      setup: (opts, ctx) => {
        const base = s.definition.setup(opts, ctx) as ConnectorOperations;
        return {
          ...base,
          async onAuthExpired() {
            await base.onAuthExpired!({} as OperationContext);
            valid = true;
          },
        };
      },
    });
    const rc = await createRuntimeConnector(definition, runtimeInput([]));
    await Promise.all(Array.from({ length: 10 }, () => rc.find([])));
    expect(s.refreshes()).toBe(1);
  });

  it('a second 401 after the refresh is an auth error, never a loop', async () => {
    const s = scripted(() => http(401));
    const rc = await createRuntimeConnector(s.definition, runtimeInput([]));
    await expect(rc.find([])).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_AUTH', kind: 'auth_revoked' });
    expect(s.attempts()).toBe(2);
    expect(s.refreshes()).toBe(1);
  });

  it('quota exhaustion pauses until reset and later calls fail fast without touching the vendor', async () => {
    const resumeAt = new Date('2026-11-24T00:00:00Z');
    const paused: Date[] = [];
    const s = scripted(() => http(403));
    const definition = defineConnector({
      ...s.definition,
      classifyError: (err) =>
        err instanceof HttpError && err.status === 403 ? { kind: 'quota_exhausted', resumeAt } : undefined,
    });
    const rc = await createRuntimeConnector(
      definition,
      runtimeInput([], {
        now: () => new Date('2026-11-23T12:00:00Z'),
        onPause: (_s, until) => void paused.push(until),
      }),
    );
    await expect(rc.find([])).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED', resumeAt });
    await expect(rc.find([])).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED' });
    expect(s.attempts()).toBe(1);
    expect(paused).toEqual([resumeAt]);
  });

  it('stops at the configured share of the daily quota and reports exact usage', async () => {
    const definition = defineConnector({
      ...scripted(() => null).definition,
      setup: () => ({
        async *read() {},
        find: async (_ids, ctx) => {
          await ctx.call('vendor', async () => {
            ctx.reportQuota({ used: 9000, limit: 10_000 });
            return null;
          });
          return ctx.call('vendor', async () => []);
        },
      }),
    });
    const rc = await createRuntimeConnector(definition, runtimeInput([], { quotaStopShare: 0.9 }));
    await expect(rc.find([])).rejects.toMatchObject({
      message: expect.stringContaining('used 9000 of 10000 daily requests (90%), stop share 90%'),
    });
  });

  it("stops at the connector's own reported share and quotes the vendor's usage text", async () => {
    const definition = defineConnector({
      ...scripted(() => null).definition,
      setup: () => ({
        async *read() {},
        find: async (_ids, ctx) => {
          await ctx.call('vendor', async () => {
            ctx.reportQuota({ used: 8000, limit: 10_000, stopShare: 0.8, vendorUsage: 'api-usage=8000/10000' });
            return null;
          });
          return ctx.call('vendor', async () => []);
        },
      }),
    });
    const rc = await createRuntimeConnector(definition, runtimeInput([], { quotaStopShare: 0.9 }));
    await expect(rc.find([])).rejects.toMatchObject({
      kind: 'quota_exhausted',
      message: expect.stringContaining('used 8000 of 10000 daily requests (80%, api-usage=8000/10000), stop share 80%'),
    });
  });

  it('aborts a call waiting in backoff promptly', async () => {
    const s = scripted(() => http(503));
    const rc = await createRuntimeConnector(s.definition, {
      system: 'crm',
      options: { token: 't' },
      logger: silentLogger,
      baseBackoffMs: 60_000,
      random: () => 1,
    });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(rc.find([], { signal: controller.signal })).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_ABORTED' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('spaces calls by the group rate limit (real timers)', async () => {
    const definition = defineConnector({
      ...scripted(() => null).definition,
      setup: () => ({
        async *read() {},
        find: async (_ids, ctx) => {
          const stamps: number[] = [];
          await Promise.all(
            Array.from({ length: 6 }, () =>
              ctx.call('search', async () => void stamps.push(Date.now()), { group: 'search' }),
            ),
          );
          return stamps.map((t) => ({ t }) as never);
        },
      }),
    });
    const rc = await createRuntimeConnector(definition, {
      system: 'crm',
      options: { token: 't' },
      logger: silentLogger,
    });
    const stamps = (await rc.find([])) as unknown as { t: number }[];
    // 2 calls per 200 ms: six calls need at least two more windows.
    expect(stamps.at(-1)!.t - stamps[0]!.t).toBeGreaterThanOrEqual(380);
  });

  it('never starts more than the cap within any sliding interval, even when the queue drains between calls', async () => {
    const definition = defineConnector({
      ...scripted(() => null).definition,
      setup: () => ({
        async *read() {},
        find: async (_ids, ctx) => {
          const stamps: number[] = [];
          // One caller at a time, each waiting for its call: the queue is empty between calls, which is
          // where fixed windows let a second burst start right after the first one.
          for (let i = 0; i < 7; i++) {
            await ctx.call('search', async () => void stamps.push(performance.now()), { group: 'search' });
            if (i === 0) await new Promise((r) => setTimeout(r, 150));
          }
          return stamps.map((t) => ({ t }) as never);
        },
      }),
    });
    const rc = await createRuntimeConnector(definition, {
      system: 'crm',
      options: { token: 't' },
      logger: silentLogger,
    });
    const stamps = ((await rc.find([])) as unknown as { t: number }[]).map((s) => s.t);
    // 2 calls per 200 ms: any three consecutive starts span at least one full interval.
    for (let i = 2; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 2]!).toBeGreaterThanOrEqual(195);
  });
});

describe('connector runtime: definition checks', () => {
  it('lists every invalid option with its path, without echoing values', async () => {
    const s = scripted(() => null);
    const err = await createRuntimeConnector(s.definition, {
      system: 'crm',
      options: { token: '', region: 'mars', extra: 'hunter2' },
      logger: silentLogger,
    }).catch((e) => e);
    expect(err.code).toBe('CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID');
    expect(err.message).toContain('options.token');
    expect(err.message).toContain('options.region');
    expect(err.message).not.toContain('hunter2');
  });

  it('rejects capabilities that do not match the operations, and a core version it does not support', async () => {
    const s = scripted(() => null, {}, ['find', 'erase']);
    await expect(createRuntimeConnector(s.definition, runtimeInput([]))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_INVALID',
      message: expect.stringContaining('declares "erase" but returns no erase()'),
    });
    const old = defineConnector({ ...scripted(() => null).definition, core: '^2.0.0' });
    await expect(createRuntimeConnector(old, runtimeInput([]))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_VERSION_MISMATCH',
    });
  });

  it('refuses a missing capability with a coded error and freezes options', async () => {
    let seen: unknown;
    const definition = defineConnector({
      ...scripted(() => null).definition,
      capabilities: [],
      setup: (opts) => {
        seen = opts;
        return { async *read() {} };
      },
    });
    const rc = await createRuntimeConnector(definition, runtimeInput([]));
    await expect(rc.erase([], { permanent: false })).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_CAPABILITY_MISSING',
    });
    expect(Object.isFrozen(seen)).toBe(true);
  });
});

describe('connector runtime: read-back results', () => {
  const ref = (id: string, object = 'contacts', system = 'crm') => ({ system, object, id });
  /** A connector whose verifyErased answers with these results, whatever it is asked. */
  const readBack = (answer: RefResult[]) =>
    createRuntimeConnector(
      defineConnector({
        ...scripted(() => null).definition,
        capabilities: ['verify'],
        setup: () => ({ async *read() {}, verifyErased: async () => answer }),
      }),
      runtimeInput([]),
    );

  it('keeps one result per given ref, then each leftover found by identity once, with its own ref', async () => {
    const rc = await readBack([
      { ref: ref('1'), outcome: 'done' },
      { ref: ref('9'), outcome: 'failed', reason: 'person still found by identity' },
      { ref: ref('9'), outcome: 'failed', reason: 'found again by phone' },
      { ref: ref('8'), outcome: 'failed' },
      { ref: ref('7'), outcome: 'done' },
    ]);
    expect(await rc.verifyErased([ref('1'), ref('2')], [{ kind: 'email', value: 'ana@example.test' }])).toEqual([
      { ref: ref('1'), outcome: 'done' },
      { ref: ref('2'), outcome: 'failed', reason: 'no result from connector' },
      { ref: ref('9'), outcome: 'failed', reason: 'person still found by identity' },
      { ref: ref('8'), outcome: 'failed', reason: 'person still found by identity' },
    ]);
  });

  it('refuses a leftover that is not a record of this system, naming only the object', async () => {
    for (const stray of [ref('5', 'contacts', 'other-crm'), ref('5', 'invoices'), ref('', 'contacts')]) {
      const rc = await readBack([{ ref: stray, outcome: 'failed', reason: 'person still found by identity' }]);
      const err = await rc.verifyErased([], [{ kind: 'email', value: 'ana@example.test' }]).catch((e) => e);
      expect(err).toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_FAILED', system: 'crm', kind: 'unknown' });
      expect(err.message).toContain(`objects: ${stray.object}`);
      expect(err.message).not.toContain('ana@example.test');
    }
  });
});

describe('token manager', () => {
  it('shares one refresh among concurrent callers and keeps metadata a later refresh omits', async () => {
    let calls = 0;
    const tm = createTokenManager({
      fetchToken: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 10));
        return calls === 1
          ? { accessToken: 'a1', expiresInSeconds: 3600, extras: { instance_url: 'https://x.my.salesforce.com' } }
          : { accessToken: 'a2', expiresInSeconds: 3600 };
      },
    });
    expect(await Promise.all([tm.token(), tm.token(), tm.token()])).toEqual(['a1', 'a1', 'a1']);
    tm.invalidate();
    expect(await tm.token()).toBe('a2');
    expect(calls).toBe(2);
    expect(tm.extras()).toEqual({ instance_url: 'https://x.my.salesforce.com' });
  });

  it('refreshes ahead of expiry', async () => {
    let t = 0;
    let n = 0;
    const tm = createTokenManager({
      now: () => new Date(t),
      refreshAheadMs: 60_000,
      fetchToken: async () => ({ accessToken: `t${++n}`, expiresInSeconds: 1800 }),
    });
    expect(await tm.token()).toBe('t1');
    t = 1000 * (1800 - 30);
    expect(await tm.token()).toBe('t2');
  });
});

describe('default classification of real fetch failures', () => {
  afterEach(() => nock.cleanAll());
  it('turns a nocked 429 with Retry-After into a wait and a retry', async () => {
    nock('https://api.vendor.test')
      .get('/contacts')
      .reply(429, { message: 'slow down' }, { 'Retry-After': '1' })
      .get('/contacts')
      .reply(200, []);
    const definition = defineConnector({
      ...scripted(() => null).definition,
      setup: () => ({
        async *read() {},
        find: (_ids, ctx) =>
          ctx.call('list', async () => {
            const res = await fetch('https://api.vendor.test/contacts');
            if (!res.ok) throw new HttpError(res.status, 'GET /contacts', res.headers, await res.json());
            return (await res.json()) as never[];
          }),
      }),
    });
    const waits: number[] = [];
    await expect((await createRuntimeConnector(definition, runtimeInput(waits))).find([])).resolves.toEqual([]);
    expect(waits).toEqual([1000]);
    expect(nock.isDone()).toBe(true);
  });
});

describe('rolling window of a limit group', () => {
  it('frees a slot a window after the answer, takes several slots for a costly call, and lets a waiter abort', async () => {
    const window = createRollingWindow(3, 100);
    const never = new AbortController().signal;
    const t0 = performance.now();
    await window.acquire(2, never);
    await window.acquire(1, never);
    // Full: the next caller waits until a slot is released and a window has passed since.
    const aborted = new AbortController();
    const gaveUp = window.acquire(1, aborted.signal);
    const waited = window.acquire(2, never).then(() => performance.now() - t0);
    aborted.abort(new Error('stop'));
    await expect(gaveUp).rejects.toThrow('stop');
    await new Promise((r) => setTimeout(r, 30));
    window.release(2);
    // Two slots free 100 ms after that answer (~130 ms in), not 100 ms after the call started.
    expect(await waited).toBeGreaterThanOrEqual(125);
    window.close();
  });
});
