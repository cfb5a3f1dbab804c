/**
 * Many machines: pg-boss 10 on PostgreSQL. Each schedule is registered once (pg-boss schedules are keyed
 * by name, so any number of workers may register them); a tick fans out one sync job per system into a
 * `stately` queue keyed by tenant and system, so a system is never synced by two workers at once, and a
 * PostgreSQL advisory lock guards the rare case of an expired job still running. Request tasks are spread
 * the same way. A worker killed mid-job leaves its job to expire and be retried by another worker, which
 * resumes from the checkpoint.
 */
import type { Logger } from '@custodian/core';
import { CustodianError, scrubText } from '@custodian/core';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { JobSpec, Schedule } from './config.js';
import type { JobOutcome } from './local.js';

export interface TenantRuntime {
  tenant: string;
  schedules: Schedule[];
  /** Every configured system, or the named ones. */
  systems(names?: string[]): string[];
  syncSystem(system: string, full: boolean, signal: AbortSignal): Promise<JobOutcome>;
  /** Ids of requests that can make progress without a person (not awaiting approval, not completed). */
  resumableRequests(): Promise<string[]>;
  runRequest(id: string, signal: AbortSignal): Promise<JobOutcome>;
  /** Jobs other than sync and resume-requests (retention sweep, deadline check, report). */
  runJob(schedule: Schedule, job: JobSpec, signal: AbortSignal): Promise<JobOutcome>;
}

export interface WorkerOptions {
  databaseUrl: string;
  tenants: TenantRuntime[];
  log: Logger;
  /** pg-boss schema. @default "custodian_boss" */
  schema?: string;
  /** Jobs handled at once by this worker. @default 2 */
  concurrency?: number;
  pollingIntervalSeconds?: number;
  /** A job not finished in this time is considered lost (its worker died) and retried elsewhere. @default 900 */
  expireInSeconds?: number;
  /** Seconds between cron checks (pg-boss default 30 s; tests lower it). */
  cronIntervalSeconds?: number;
}

export const QUEUES = {
  sync: 'custodian.sync',
  request: 'custodian.request',
} as const;

export function tickQueue(tenant: string, schedule: string): string {
  return `custodian.tick.${tenant}.${schedule}`;
}

interface SyncJobData {
  tenant: string;
  system: string;
  full: boolean;
  schedule: string;
}
interface RequestJobData {
  tenant: string;
  requestId: string;
}

export interface RunningWorker {
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
  boss: PgBoss;
}

function lockKey(text: string): string {
  return `custodian:${text}`;
}

/**
 * pg-boss creates each queue with DDL (a partition of its job table); workers starting at the same moment
 * deadlock on it (3 of 4 failed on a fresh schema). Start-ups take turns under a session advisory lock,
 * released when the session ends, and a wait longer than `lock_timeout` fails with PostgreSQL's message.
 */
async function oneStartUpAtATime(databaseUrl: string, schema: string, fn: () => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
  } catch (cause) {
    throw new CustodianError(
      'CUSTODIAN_ERR_LEDGER_OPEN',
      `The worker cannot reach PostgreSQL (${new URL(databaseUrl).host}).`,
      {
        cause,
      },
    );
  }
  try {
    await client.query(`SET lock_timeout = '120s'`);
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey(`start-up:${schema}`)]);
    await fn();
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const schema = options.schema ?? 'custodian_boss';
  const expireInSeconds = options.expireInSeconds ?? 900;
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema,
    // Expired jobs (their worker died) are found by maintenance: run it often enough to notice in time.
    maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.floor(expireInSeconds / 2))),
    ...(options.cronIntervalSeconds
      ? {
          cronMonitorIntervalSeconds: options.cronIntervalSeconds,
          cronWorkerIntervalSeconds: options.cronIntervalSeconds,
        }
      : {}),
  });
  boss.on('error', (err) => options.log.error({ err }, 'pg-boss error'));
  const locks = new pg.Pool({ connectionString: options.databaseUrl, max: (options.concurrency ?? 2) * 2 + 2 });
  const controller = new AbortController();
  const tenants = new Map(options.tenants.map((t) => [t.tenant, t]));
  const retry = { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds };

  try {
    await oneStartUpAtATime(options.databaseUrl, schema, async () => {
      try {
        await boss.start();
      } catch (cause) {
        throw new CustodianError(
          'CUSTODIAN_ERR_LEDGER_OPEN',
          `The worker cannot reach PostgreSQL (${new URL(options.databaseUrl).host}).`,
          { cause },
        );
      }
      await boss.createQueue(QUEUES.sync, { name: QUEUES.sync, policy: 'stately', ...retry });
      await boss.createQueue(QUEUES.request, { name: QUEUES.request, policy: 'stately', ...retry });

      // Register every schedule (idempotent across workers) and remove ones no longer configured.
      const wanted = new Set<string>();
      for (const tenant of options.tenants) {
        for (const s of tenant.schedules) {
          const queue = tickQueue(tenant.tenant, s.name);
          wanted.add(queue);
          await boss.createQueue(queue, { name: queue, policy: 'short', retryLimit: 0, expireInSeconds });
          await boss.schedule(queue, s.cron, { tenant: tenant.tenant, schedule: s.name }, { tz: s.timezone });
        }
      }
      for (const existing of await boss.getSchedules()) {
        const tenantOfQueue = existing.name.split('.')[2];
        if (
          existing.name.startsWith('custodian.tick.') &&
          tenants.has(tenantOfQueue ?? '') &&
          !wanted.has(existing.name)
        ) {
          await boss.unschedule(existing.name);
        }
      }
    });
  } catch (err) {
    // A worker that cannot start must exit: pg-boss's timers and the pool would keep the process alive,
    // serving nothing and never printing that it is ready.
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    await locks.end().catch(() => undefined);
    throw err;
  }

  // The sync and request queues are shared by every tenant. A job of a tenant this worker does not serve
  // fails (and is retried, by a worker that serves it or else until it shows as failed in `worker status`)
  // rather than being completed without running.
  const servedTenant = (name: string): TenantRuntime => {
    const tenant = tenants.get(name);
    if (!tenant)
      throw new Error(`tenant ${name} is not served by this worker (it serves ${[...tenants.keys()].join(', ')})`);
    return tenant;
  };

  const withLock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const client = await locks.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [lockKey(key)],
      );
      if (!rows[0]?.ok) throw new Error(`${key} is being processed by another worker; retrying later`);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey(key)]);
      }
    } finally {
      client.release();
    }
  };

  const workOptions = { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1, batchSize: 1 };
  const concurrency = options.concurrency ?? 2;
  // pg-boss 10 sleeps out the rest of its polling interval after every job, even with more jobs queued, so
  // a slot would start at most one job per interval (the workers bench measured ~0.5 s of waiting per job).
  // Each slot is told to fetch again as soon as its job ends; a fetch that finds nothing waits as usual.
  const slots = { [QUEUES.sync]: [] as string[], [QUEUES.request]: [] as string[] };
  const workBackToBack = async <T extends object>(queue: keyof typeof slots, handler: PgBoss.WorkHandler<T>) => {
    let id: string | undefined;
    id = await boss.work<T>(queue, workOptions, async (jobs) => {
      try {
        return await handler(jobs);
      } finally {
        if (id) boss.notifyWorker(id);
      }
    });
    slots[queue].push(id);
  };
  /** Wake this process's idle slots of a queue right after a fan-out instead of at their next poll. */
  const wake = (queue: keyof typeof slots) => {
    for (const id of slots[queue]) boss.notifyWorker(id);
  };
  for (let i = 0; i < concurrency; i++) {
    await workBackToBack<SyncJobData>(QUEUES.sync, async ([job]) => {
      if (!job) return;
      const tenant = servedTenant(job.data.tenant);
      const outcome = await withLock(`sync:${job.data.tenant}:${job.data.system}`, () =>
        tenant.syncSystem(job.data.system, job.data.full, controller.signal),
      );
      options.log.info({ tenant: tenant.tenant, system: job.data.system, ok: outcome.ok }, 'sync job finished');
      if (!outcome.ok) throw new Error(`sync of ${job.data.system} did not succeed`);
      return outcome.summary;
    });
    await workBackToBack<RequestJobData>(QUEUES.request, async ([job]) => {
      if (!job) return;
      const tenant = servedTenant(job.data.tenant);
      const outcome = await withLock(`request:${job.data.tenant}:${job.data.requestId}`, () =>
        tenant.runRequest(job.data.requestId, controller.signal),
      );
      options.log.info(
        { tenant: tenant.tenant, requestId: job.data.requestId, ok: outcome.ok },
        'request job finished',
      );
      return outcome.summary;
    });
  }

  for (const tenant of options.tenants) {
    for (const s of tenant.schedules) {
      await boss.work<{ tenant: string; schedule: string }>(
        tickQueue(tenant.tenant, s.name),
        workOptions,
        async ([job]) => {
          if (!job) return;
          if (s.job.kind === 'sync') {
            // Fan out: one job per system; `stately` drops a duplicate while one is already queued.
            for (const system of tenant.systems(s.job.systems)) {
              await boss.send(
                QUEUES.sync,
                { tenant: tenant.tenant, system, full: s.job.full, schedule: s.name } satisfies SyncJobData,
                {
                  singletonKey: `${tenant.tenant}/${system}`,
                  ...retry,
                },
              );
              wake(QUEUES.sync);
            }
            return;
          }
          if (s.job.kind === 'resume-requests') {
            for (const requestId of await tenant.resumableRequests()) {
              await boss.send(QUEUES.request, { tenant: tenant.tenant, requestId } satisfies RequestJobData, {
                singletonKey: `${tenant.tenant}/${requestId}`,
                ...retry,
              });
              wake(QUEUES.request);
            }
            return;
          }
          const outcome = await tenant.runJob(s, s.job, controller.signal);
          return outcome.summary;
        },
      );
    }
  }

  return {
    boss,
    async stop({ graceful = true, timeoutMs = 30_000 } = {}) {
      controller.abort(new Error('worker stopping'));
      await boss.stop({ graceful, timeout: timeoutMs, wait: true });
      await locks.end();
    },
  };
}

export interface WorkerStatus {
  queues: { name: string; created: number; retry: number; active: number; completed: number; failed: number }[];
  running: { queue: string; key: string | null; startedOn: string | null }[];
  /**
   * Jobs waiting for another attempt after a failure (`retry`, with the time of the next attempt) and jobs
   * that failed for good in the last 24 hours (`failed`), newest first.
   */
  recentFailures: {
    queue: string;
    key: string | null;
    state: 'retry' | 'failed';
    /** Attempts made so far. */
    attempts: number;
    completedOn: string | null;
    nextAttemptOn: string | null;
    error: string | null;
  }[];
  schedules: { name: string; cron: string; timezone: string | null }[];
}

/** `custodian worker status`: queues, running jobs and recent failures, read straight from pg-boss tables. */
export async function workerStatus(databaseUrl: string, schema = 'custodian_boss'): Promise<WorkerStatus> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query(
      'SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
      [schema, 'job'],
    );
    if (exists.rowCount === 0) return { queues: [], running: [], recentFailures: [], schedules: [] };
    const q = (sql: string) => client.query(sql.replaceAll('$schema', `"${schema}"`));
    const counts = await q(
      `SELECT name, state, count(*)::int AS n FROM $schema.job WHERE name LIKE 'custodian.%' GROUP BY name, state ORDER BY name`,
    );
    const byQueue = new Map<string, WorkerStatus['queues'][number]>();
    for (const row of counts.rows as { name: string; state: string; n: number }[]) {
      const e = byQueue.get(row.name) ?? { name: row.name, created: 0, retry: 0, active: 0, completed: 0, failed: 0 };
      if (row.state in e) (e as unknown as Record<string, number>)[row.state] = row.n;
      byQueue.set(row.name, e);
    }
    const running = await q(
      `SELECT name, singleton_key, started_on FROM $schema.job WHERE state = 'active' AND name LIKE 'custodian.%' ORDER BY started_on`,
    );
    // A handler's error is stored as the serialized Error; pg-boss's own expiry (a dead worker) as { value: { message } }.
    const failed = await q(
      `SELECT name, singleton_key, state, retry_count, started_on, completed_on, start_after,
              coalesce(output->>'message', output->'value'->>'message') AS error
         FROM $schema.job
        WHERE name LIKE 'custodian.%'
          AND (state = 'retry' OR (state = 'failed' AND completed_on > now() - interval '1 day'))
        ORDER BY coalesce(completed_on, started_on) DESC NULLS LAST LIMIT 20`,
    );
    const schedules = await q(
      `SELECT name, cron, timezone FROM $schema.schedule WHERE name LIKE 'custodian.%' ORDER BY name`,
    );
    const iso = (d: unknown) =>
      d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : String(d);
    return {
      queues: [...byQueue.values()],
      running: running.rows.map((r: { name: string; singleton_key: string | null; started_on: unknown }) => ({
        queue: r.name,
        key: r.singleton_key,
        startedOn: iso(r.started_on),
      })),
      recentFailures: failed.rows.map(
        (r: {
          name: string;
          singleton_key: string | null;
          state: 'retry' | 'failed';
          retry_count: number;
          completed_on: unknown;
          start_after: unknown;
          error: string | null;
        }) => ({
          queue: r.name,
          key: r.singleton_key,
          state: r.state,
          // pg-boss counts a retry when it fetches the job again, so the first attempt has retry_count 0.
          attempts: r.retry_count + 1,
          completedOn: iso(r.completed_on),
          nextAttemptOn: r.state === 'retry' ? iso(r.start_after) : null,
          // Errors may echo vendor text: never show an email, phone or token.
          error: r.error === null ? null : scrubText(r.error),
        }),
      ),
      schedules: schedules.rows.map((r: { name: string; cron: string; timezone: string | null }) => ({
        name: r.name,
        cron: r.cron,
        timezone: r.timezone,
      })),
    };
  } finally {
    await client.end();
  }
}
