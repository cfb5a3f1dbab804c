/**
 * The runtime wraps every connector (kysely's RuntimeDriver, next-auth's adapterErrorHandler): options
 * validated and frozen once, version and capabilities checked, and every operation and every vendor call
 * guarded: rate limits per declared group (p-queue), retries with full-jitter backoff, Retry-After, one
 * auth refresh at a time, quota pauses, abort, and coded errors. Connector code holds only vendor logic.
 */
import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import semver from 'semver';
import {
  type AnyConnectorDefinition,
  type CallOptions,
  type Capability,
  type Checkpoint,
  type CheckResult,
  type ClassifiedFailure,
  CORE_VERSION,
  type ConnectorOperations,
  type CrmUser,
  type DeclaredLimits,
  type EraseOptions,
  type FieldChange,
  LEFTOVER_REASON,
  type OperationContext,
  operationForCapability,
  type Page,
  type QuotaReport,
  type RefResult,
  resolveLimits,
  resolveStreams,
  type StreamDefinition,
} from '../contract.js';
import { ConnectorError, CustodianError, type FailureKind } from '../errors.js';
import { type Logger, scrubText } from '../logger.js';
import type { CrmRecord, Identity, RecordRef } from '../types.js';
import { defaultClassify, nextUtcMidnight } from './classify.js';
import { createRollingWindow, type RollingWindow } from './window.js';

export interface RuntimeInput {
  system: string;
  options: unknown;
  logger: Logger;
  limits?: Partial<DeclaredLimits>;
  /** Stop when reported vendor usage reaches this share of the daily allocation. @default 0.9 */
  quotaStopShare?: number;
  /** @default 5 */
  maxRetries?: number;
  /** Longest single wait (Retry-After or backoff) before giving up. @default 120000 */
  maxWaitMs?: number;
  /** @default 500 */
  baseBackoffMs?: number;
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  onPause?: (system: string, until: Date) => void | Promise<void>;
  /** Observes every vendor call attempt (the testkit counts calls per page with it). */
  onCall?: (operation: string) => void;
}

export interface OpOptions {
  signal?: AbortSignal;
}

export interface RuntimeConnector {
  readonly id: string;
  readonly system: string;
  readonly definition: AnyConnectorDefinition;
  readonly streams: StreamDefinition[];
  readonly limits: DeclaredLimits;
  readonly capabilities: ReadonlySet<Capability>;
  has(capability: Capability): boolean;
  read(stream: string, checkpoint: Checkpoint | null, options?: OpOptions): AsyncIterable<Page>;
  find(identities: Identity[], options?: OpOptions): Promise<CrmRecord[]>;
  get(refs: RecordRef[], options?: OpOptions): Promise<(CrmRecord | null)[]>;
  related(persons: RecordRef[], options?: OpOptions): Promise<CrmRecord[]>;
  erase(refs: RecordRef[], eraseOptions: EraseOptions, options?: OpOptions): Promise<RefResult[]>;
  purge(refs: RecordRef[], options?: OpOptions): Promise<RefResult[]>;
  verifyErased(refs: RecordRef[], identities: Identity[], options?: OpOptions): Promise<RefResult[]>;
  update(changes: FieldChange[], options?: OpOptions): Promise<RefResult[]>;
  setMarketingOptOut(refs: RecordRef[], options?: OpOptions): Promise<RefResult[]>;
  listUsers(options?: OpOptions): Promise<CrmUser[]>;
  check(options?: OpOptions): Promise<CheckResult[]>;
  /** Vendor usage last reported by the connector, and the pause in force, if any. */
  quota(): { report: QuotaReport | null; pausedUntil: Date | null };
  close(): Promise<void>;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function validateOptions(definition: AnyConnectorDefinition, system: string, raw: unknown): unknown {
  const parsed = definition.options.safeParse(raw ?? {});
  if (parsed.success) return deepFreeze(parsed.data);
  // Issue messages describe the expected shape; values are never echoed (they may be secrets).
  const problems = parsed.error.issues.map(
    (i) => `options${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
  );
  throw new CustodianError(
    'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
    `system "${system}" (${definition.id}): ${problems.join('; ')}`,
    {
      details: { system, connector: definition.id, problems },
    },
  );
}

function checkCapabilities(definition: AnyConnectorDefinition, ops: ConnectorOperations): void {
  const problems: string[] = [];
  if (typeof ops.read !== 'function') problems.push('setup() returned no read()');
  const declared = new Set(definition.capabilities);
  for (const cap of declared)
    if (typeof ops[operationForCapability(cap)] !== 'function')
      problems.push(`declares "${cap}" but returns no ${operationForCapability(cap)}()`);
  const all: Capability[] = [
    'find',
    'get',
    'related',
    'erase',
    'purge',
    'verify',
    'update',
    'opt-out',
    'list-users',
    'check',
  ];
  for (const cap of all)
    if (!declared.has(cap) && typeof ops[operationForCapability(cap)] === 'function')
      problems.push(`returns ${operationForCapability(cap)}() but does not declare "${cap}"`);
  if (problems.length > 0) {
    throw new CustodianError('CUSTODIAN_ERR_CONNECTOR_INVALID', `connector "${definition.id}": ${problems.join('; ')}`);
  }
}

export async function createRuntimeConnector(
  definition: AnyConnectorDefinition,
  input: RuntimeInput,
): Promise<RuntimeConnector> {
  const { system } = input;
  if (!semver.satisfies(CORE_VERSION, definition.core)) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONNECTOR_VERSION_MISMATCH',
      `connector "${definition.id}" supports core ${definition.core}, this is core ${CORE_VERSION}`,
    );
  }
  const options = validateOptions(definition, system, input.options);
  const streams = resolveStreams(definition, options);
  const declared = resolveLimits(definition, options);
  const limits: DeclaredLimits = {
    ...declared,
    ...input.limits,
    groups: { ...declared.groups, ...input.limits?.groups },
  };
  const log = input.logger.child({ system, connector: definition.id });
  const now = input.now ?? (() => new Date());
  const sleep = input.sleep ?? defaultSleep;
  const random = input.random ?? Math.random;
  const maxRetries = input.maxRetries ?? 5;
  const maxWaitMs = input.maxWaitMs ?? 120_000;
  const baseBackoffMs = input.baseBackoffMs ?? 500;
  const stopShare = input.quotaStopShare ?? 0.9;
  const closing = new AbortController();
  // Every queued call listens on this signal until it starts: a batch of thousands of calls waiting for the
  // rate limiter is expected, not a leak (listeners go when their call settles).
  setMaxListeners(0, closing.signal);
  let closed = false;
  let pausedUntil: Date | null = null;
  let lastQuota: QuotaReport | null = null;
  let refreshing: Promise<void> | null = null;

  /** Per limit group: a queue for the calls in flight at once, and the group's rolling window if it has one. */
  const limiters = new Map<string, { queue: PQueue; window: RollingWindow | null }>();
  const limiterFor = (group: string) => {
    const name = limits.groups[group] ? group : 'default';
    let l = limiters.get(name);
    if (!l) {
      const g = limits.groups[name]!;
      l = {
        queue: new PQueue({ concurrency: g.concurrency }),
        // A vendor that counts no calls per interval (an infinite cap) is bounded by concurrency alone.
        window: Number.isFinite(g.intervalCap) ? createRollingWindow(g.intervalCap, g.intervalMs) : null,
      };
      limiters.set(name, l);
    }
    return l;
  };

  const quotaError = (operation: string, message: string) =>
    new ConnectorError(message, {
      system,
      operation,
      kind: 'quota_exhausted',
      ...(pausedUntil ? { resumeAt: pausedUntil } : {}),
    });

  const pause = async (until: Date, operation: string, message: string): Promise<never> => {
    pausedUntil = until;
    log.warn({ operation, pausedUntil: until.toISOString() }, 'vendor quota exhausted: system paused until reset');
    await input.onPause?.(system, until);
    throw quotaError(operation, message);
  };

  const classify = (err: unknown): ClassifiedFailure => {
    const own = definition.classifyError?.(err);
    if (!own) return defaultClassify(err);
    // Retry-After is honoured whoever classified the failure: a connector's classifier need not read it.
    if (own.kind === 'rate_limited' && own.retryAfterMs === undefined) {
      const retryAfterMs = defaultClassify(err).retryAfterMs;
      if (retryAfterMs !== undefined) return { ...own, retryAfterMs };
    }
    return own;
  };

  let setupOps: ConnectorOperations | null = null;

  const makeCtx = (operation: string, signal: AbortSignal): OperationContext => {
    const ctx: OperationContext = {
      system,
      log,
      signal,
      now,
      reportQuota(report) {
        lastQuota = report;
        if (report.limit > 0 && report.used / report.limit >= (report.stopShare ?? stopShare)) {
          const until = report.resetAt ?? nextUtcMidnight(now());
          if (!pausedUntil || pausedUntil < until) {
            pausedUntil = until;
            log.warn({ used: report.used, limit: report.limit }, 'quota stop share reached: system paused');
            void input.onPause?.(system, until);
          }
        }
      },
      async call<T>(
        callOperation: string,
        fn: (s: AbortSignal) => Promise<T>,
        callOptions: CallOptions = {},
      ): Promise<T> {
        const name = `${operation}.${callOperation}`;
        let attempt = 0;
        let refreshed = false;
        for (;;) {
          if (pausedUntil && pausedUntil > now()) {
            const q = lastQuota;
            throw quotaError(
              name,
              q
                ? `quota guard: used ${q.used} of ${q.limit} daily requests (${Math.round((q.used / q.limit) * 100)}%${q.vendorUsage ? `, ${q.vendorUsage}` : ''}), stop share ${Math.round((q.stopShare ?? stopShare) * 100)}%; resumes ${pausedUntil.toISOString()}`
                : `daily quota exhausted; resumes ${pausedUntil.toISOString()}`,
            );
          }
          if (signal.aborted)
            throw new ConnectorError('aborted', { system, operation: name, kind: 'aborted', cause: signal.reason });
          try {
            input.onCall?.(name);
            const { queue, window } = limiterFor(callOptions.group ?? 'default');
            // A call that costs n units (Zoho credits) takes n slots of its group's window.
            const slots = callOptions.cost ?? 1;
            return (await queue.add(
              async () => {
                if (!window) return fn(signal);
                await window.acquire(slots, signal);
                try {
                  return await fn(signal);
                } finally {
                  window.release(slots);
                }
              },
              { signal },
            )) as T;
          } catch (err) {
            if (signal.aborted)
              throw new ConnectorError('aborted', { system, operation: name, kind: 'aborted', cause: err });
            const c = classify(err);
            const message = scrubText(c.message ?? (err instanceof Error ? err.message : String(err)));
            if (c.kind === 'auth_expired') {
              if (refreshed) {
                throw new ConnectorError(`authentication failed again after a token refresh: ${message}`, {
                  system,
                  operation: name,
                  kind: 'auth_revoked',
                  ...(c.status !== undefined ? { status: c.status } : {}),
                  cause: err,
                });
              }
              refreshed = true;
              // One refresh at a time: concurrent calls that hit 401 share it.
              refreshing ??= Promise.resolve(setupOps?.onAuthExpired?.(ctx)).finally(() => {
                refreshing = null;
              });
              await refreshing;
              continue;
            }
            if (c.kind === 'quota_exhausted') await pause(c.resumeAt ?? nextUtcMidnight(now()), name, message);
            const notProcessed = c.kind === 'rate_limited' || c.status === 503;
            const retryable = notProcessed || (c.kind === 'transient' && callOptions.idempotent !== false);
            if (!retryable || attempt >= maxRetries) {
              throw new ConnectorError(attempt > 0 ? `${message} (after ${attempt + 1} attempts)` : message, {
                system,
                operation: name,
                kind: c.kind as FailureKind,
                ...(c.status !== undefined ? { status: c.status } : {}),
                cause: err,
              });
            }
            const backoff = Math.floor(random() * Math.min(30_000, baseBackoffMs * 2 ** attempt));
            const wait = c.retryAfterMs ?? backoff;
            if (wait > maxWaitMs) {
              throw new ConnectorError(
                `${message}; the vendor asks to wait ${Math.round(wait / 1000)} s, longer than allowed`,
                {
                  system,
                  operation: name,
                  kind: 'rate_limited',
                  cause: err,
                },
              );
            }
            attempt++;
            log.debug(
              { operation: name, kind: c.kind, status: c.status, attempt, waitMs: wait },
              'retrying vendor call',
            );
            try {
              await sleep(wait, signal);
            } catch (abortReason) {
              throw new ConnectorError('aborted while waiting to retry', {
                system,
                operation: name,
                kind: 'aborted',
                cause: abortReason,
              });
            }
          }
        }
      },
    };
    return ctx;
  };

  setupOps = await definition.setup(options, { system, log });
  checkCapabilities(definition, setupOps);
  const ops = setupOps;
  const capabilities = new Set(definition.capabilities);

  const signalFor = (options?: OpOptions) =>
    options?.signal ? AbortSignal.any([options.signal, closing.signal]) : closing.signal;

  const toError = (err: unknown, operation: string): Error => {
    if (err instanceof CustodianError) return err;
    const c = classify(err);
    return new ConnectorError(scrubText(c.message ?? (err instanceof Error ? err.message : String(err))), {
      system,
      operation,
      kind: c.kind,
      ...(c.status !== undefined ? { status: c.status } : {}),
      cause: err,
    });
  };

  const guard = async <T>(
    operation: string,
    capability: Capability | null,
    options: OpOptions | undefined,
    fn: (ctx: OperationContext) => Promise<T>,
  ): Promise<T> => {
    if (closed) throw new CustodianError('CUSTODIAN_ERR_CONNECTOR_INVALID', `system "${system}" is closed`);
    if (capability && !capabilities.has(capability)) {
      throw new CustodianError(
        'CUSTODIAN_ERR_CONNECTOR_CAPABILITY_MISSING',
        `the ${definition.id} connector of "${system}" cannot ${capability}`,
      );
    }
    const started = Date.now();
    try {
      const out = await fn(makeCtx(operation, signalFor(options)));
      log.debug(
        { operation, ms: Date.now() - started, count: Array.isArray(out) ? out.length : undefined },
        'operation finished',
      );
      return out;
    } catch (err) {
      throw toError(err, operation);
    }
  };

  const oneResultPerRef = (refs: RecordRef[], results: RefResult[]): RefResult[] => {
    const byKey = new Map(results.map((r) => [`${r.ref.object}\u0000${r.ref.id}`, r]));
    return refs.map(
      (ref) =>
        byKey.get(`${ref.object}\u0000${ref.id}`) ?? { ref, outcome: 'failed', reason: 'no result from connector' },
    );
  };

  const streamNames = new Set(streams.map((s) => s.name));

  /**
   * Read-back results: one per given ref, then one `failed` entry per record the identities still find that
   * was not given (its own ref, so the engine can name and erase it). Such a leftover must be a record of this
   * system: anything else is a connector bug, and dropping it would certify an erasure that did not happen.
   */
  const readBackResults = (refs: RecordRef[], results: RefResult[]): RefResult[] => {
    const key = (ref: RecordRef) => `${ref.system}\u0000${ref.object}\u0000${ref.id}`;
    const given = new Set(refs.map(key));
    const leftovers = new Map<string, RefResult>();
    const foreign = new Set<string>();
    for (const r of results) {
      if (r.outcome !== 'failed' || given.has(key(r.ref))) continue;
      const { ref } = r;
      if (ref.system !== system || !streamNames.has(ref.object) || typeof ref.id !== 'string' || ref.id === '')
        foreign.add(String(ref.object));
      else if (!leftovers.has(key(ref)))
        leftovers.set(key(ref), { ref, outcome: 'failed', reason: r.reason ?? LEFTOVER_REASON });
    }
    if (foreign.size > 0)
      throw new ConnectorError(
        `read-back reported leftovers that are not records of this system (objects: ${[...foreign].join(', ')})`,
        { system, operation: 'verifyErased', kind: 'unknown' },
      );
    return [...oneResultPerRef(refs, results), ...leftovers.values()];
  };

  return {
    id: definition.id,
    system,
    definition,
    streams,
    limits,
    capabilities,
    has: (cap) => capabilities.has(cap),
    async *read(stream, checkpoint, options) {
      if (!streamNames.has(stream)) {
        throw new CustodianError(
          'CUSTODIAN_ERR_CONNECTOR_INVALID',
          `system "${system}" has no stream "${stream}" (streams: ${[...streamNames].join(', ')})`,
        );
      }
      const ctx = makeCtx('read', signalFor(options));
      try {
        for await (const page of ops.read(stream, checkpoint, ctx)) yield page;
      } catch (err) {
        throw toError(err, `read ${stream}`);
      }
    },
    find: (identities, o) => guard('find', 'find', o, (ctx) => ops.find!(identities, ctx)),
    get: (refs, o) => guard('get', 'get', o, (ctx) => ops.get!(refs, ctx)),
    related: (refs, o) => guard('related', 'related', o, (ctx) => ops.related!(refs, ctx)),
    erase: (refs, e, o) =>
      guard('erase', 'erase', o, async (ctx) => oneResultPerRef(refs, await ops.erase!(refs, e, ctx))),
    purge: (refs, o) => guard('purge', 'purge', o, async (ctx) => oneResultPerRef(refs, await ops.purge!(refs, ctx))),
    verifyErased: (refs, ids, o) =>
      guard('verifyErased', 'verify', o, async (ctx) => readBackResults(refs, await ops.verifyErased!(refs, ids, ctx))),
    update: (changes, o) =>
      guard('update', 'update', o, async (ctx) =>
        oneResultPerRef(
          changes.map((c) => c.ref),
          await ops.update!(changes, ctx),
        ),
      ),
    setMarketingOptOut: (refs, o) =>
      guard('setMarketingOptOut', 'opt-out', o, async (ctx) =>
        oneResultPerRef(refs, await ops.setMarketingOptOut!(refs, ctx)),
      ),
    listUsers: (o) => guard('listUsers', 'list-users', o, (ctx) => ops.listUsers!(ctx)),
    check: (o) => guard('check', 'check', o, (ctx) => ops.check!(ctx)),
    quota: () => ({ report: lastQuota, pausedUntil }),
    async close() {
      if (closed) return;
      closed = true;
      closing.abort(new Error('connector closed'));
      for (const l of limiters.values()) {
        l.queue.clear();
        l.window?.close();
      }
      await ops.close?.();
    },
  };
}
