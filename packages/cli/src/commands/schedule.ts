/**
 * `custodian schedule` (node-cron, one process) and `custodian worker` (pg-boss, many processes). Both run
 * the same jobs through one runner, so a job behaves the same on a laptop and in a fleet.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CustodianError, daysLeft, resumeOpenRequests, runRequest } from '@custodian/core';
import {
  findSchedule,
  type JobOutcome,
  type JobSpec,
  parseSchedules,
  type Schedule,
  startLocalScheduler,
  startWorker,
  type TenantRuntime,
  workerStatus,
} from '@custodian/scheduler';
import { type AppContext, databaseUrlFor, openContext } from '../context.js';
import { color, heading, printJson, say, table } from '../output.js';
import { requestDeps } from './requests.js';
import { syncAndRemediate } from './sync.js';

export function schedulesOf(ctx: AppContext): Schedule[] {
  return parseSchedules(
    ctx.config.schedules,
    (path) => ctx.loaded.lineOf(['schedules', ...path.slice(1)]),
    ctx.config.systems.map((s) => s.name),
  );
}

async function syncJob(
  ctx: AppContext,
  systems: string[] | undefined,
  full: boolean,
  signal: AbortSignal,
): Promise<JobOutcome> {
  const { sync, remediations } = await syncAndRemediate(ctx, {
    ...(systems ? { system: systems } : {}),
    full,
    json: true,
    signal,
  });
  return {
    ok: sync.systems.every((s) => s.status === 'succeeded' || s.status === 'paused'),
    summary: {
      systems: sync.systems.map((s) => ({
        system: s.system,
        status: s.status,
        records: s.records,
        violations: s.violations,
      })),
      remediations,
    },
  };
}

/** Run one job of a schedule now. */
export async function runJob(ctx: AppContext, job: JobSpec, signal: AbortSignal): Promise<JobOutcome> {
  const ledger = await ctx.ledger();
  switch (job.kind) {
    case 'sync':
      return syncJob(ctx, job.systems, job.full, signal);
    case 'retention-sweep': {
      // A sweep is a sync whose outcome that matters is the retention rule's violations.
      const outcome = await syncJob(ctx, undefined, false, signal);
      const counts = await ledger.countViolations({ rule: 'retention', status: 'open' });
      return {
        ok: outcome.ok,
        summary: { ...outcome.summary, retentionViolations: counts.reduce((n, c) => n + c.count, 0) },
      };
    }
    case 'deadline-check': {
      const now = new Date();
      const open = await ledger.listRequests({ open: true });
      const overdue = open.filter((r) => daysLeft(new Date(r.extendedDueAt ?? r.dueAt), now) < 0);
      const dueSoon = open.filter((r) => {
        const left = daysLeft(new Date(r.extendedDueAt ?? r.dueAt), now);
        return left >= 0 && left <= job.warnDays;
      });
      for (const r of overdue)
        ctx.log.error({ requestId: r.id, dueAt: r.dueAt, state: r.state }, 'data-subject request is OVERDUE');
      for (const r of dueSoon)
        ctx.log.warn({ requestId: r.id, dueAt: r.dueAt, state: r.state }, 'data-subject request due soon');
      return {
        ok: overdue.length === 0,
        summary: { open: open.length, overdue: overdue.length, dueSoon: dueSoon.length },
      };
    }
    case 'resume-requests': {
      const rows = await resumeOpenRequests(await requestDeps(ctx, 'custodian schedule'));
      return {
        ok: rows.every((r) => r.state === 'completed' || r.state === 'awaiting-approval'),
        summary: { resumed: rows.length },
      };
    }
    case 'report': {
      const [violations, requests, runs, audit] = await Promise.all([
        ledger.countViolations({ status: 'open' }),
        ledger.listRequests({ open: true }),
        ledger.listRuns(20),
        ledger.verifyAudit(),
      ]);
      const report = {
        generatedAt: new Date().toISOString(),
        tenant: ctx.config.tenant,
        violations,
        openRequests: requests.map((r) => ({ id: r.id, kind: r.kind, state: r.state, dueAt: r.dueAt })),
        runs,
        audit,
      };
      const out = resolve(ctx.loaded.dir, job.out);
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, job.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : htmlReport(report));
      return { ok: true, summary: { out, violations: violations.reduce((n, c) => n + c.count, 0) } };
    }
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function htmlReport(report: {
  generatedAt: string;
  tenant: string;
  violations: { rule: string; severity: string; count: number }[];
  openRequests: { id: string; kind: string; state: string; dueAt: string }[];
  audit: { ok: boolean; count: number; headHash: string };
}): string {
  const rows = (cells: string[][]) =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Custodian audit report ${escapeHtml(report.tenant)}</title>
<style>body{font-family:system-ui;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}</style></head><body>
<h1>Custodian audit report</h1><p>Tenant ${escapeHtml(report.tenant)}, generated ${escapeHtml(report.generatedAt)}</p>
<h2>Open violations</h2><table><tr><th>rule</th><th>severity</th><th>count</th></tr>${rows(report.violations.map((v) => [v.rule, v.severity, String(v.count)]))}</table>
<h2>Open data-subject requests</h2><table><tr><th>id</th><th>kind</th><th>state</th><th>due</th></tr>${rows(report.openRequests.map((r) => [r.id, r.kind, r.state, r.dueAt]))}</table>
<h2>Audit log</h2><p>${report.audit.ok ? 'chain intact' : 'CHAIN BROKEN'}: ${report.audit.count} events, head ${escapeHtml(report.audit.headHash)}</p>
</body></html>
`;
}

export async function scheduleCommand(
  ctx: AppContext,
  options: { once?: string; json?: boolean; signal?: AbortSignal },
): Promise<number> {
  const schedules = schedulesOf(ctx);
  if (options.once) {
    const schedule = findSchedule(schedules, options.once);
    const outcome = await runJob(ctx, schedule.job, options.signal ?? new AbortController().signal);
    if (options.json) printJson({ schedule: schedule.name, ...outcome });
    else
      say(
        `${schedule.name}: ${outcome.ok ? color.green('ok') : color.red('failed')} ${JSON.stringify(outcome.summary)}`,
      );
    return outcome.ok ? 0 : 1;
  }
  if (schedules.length === 0) {
    throw new CustodianError('CUSTODIAN_ERR_SCHEDULE_INVALID', 'No `schedules:` in the config; nothing to run.');
  }
  const scheduler = startLocalScheduler({
    schedules,
    run: (_s, job, signal) => runJob(ctx, job, signal),
    log: ctx.log,
  });
  say(
    `custodian schedule: ${schedules.length} job(s): ${schedules.map((s) => `${s.name} (${s.cron} ${s.timezone})`).join(', ')}`,
  );
  await new Promise<void>((resolveStop) => {
    if (options.signal?.aborted) resolveStop();
    options.signal?.addEventListener('abort', () => resolveStop(), { once: true });
  });
  // SIGTERM: the running job finishes its current page, then the process exits cleanly.
  await scheduler.stop();
  say('custodian schedule: stopped');
  return 0;
}

export function tenantRuntime(ctx: AppContext): TenantRuntime {
  return {
    tenant: ctx.config.tenant,
    schedules: schedulesOf(ctx),
    systems: (names) => ctx.systems(names).map((s) => s.name),
    syncSystem: (system, full, signal) => syncJob(ctx, [system], full, signal),
    async resumableRequests() {
      const open = await (await ctx.ledger()).listRequests({ open: true });
      return open.filter((r) => r.state !== 'awaiting-approval').map((r) => r.id);
    },
    async runRequest(id) {
      const row = await runRequest(await requestDeps(ctx, 'custodian worker'), id);
      return { ok: row.state === 'completed', summary: { requestId: id, state: row.state } };
    },
    runJob: (_schedule, job, signal) => runJob(ctx, job, signal),
  };
}

export async function workerCommand(
  ctx: AppContext,
  options: { also?: string[]; concurrency?: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<number> {
  const env = options.env ?? process.env;
  const databaseUrl = databaseUrlFor(ctx.config, env);
  if (!databaseUrl) {
    throw new CustodianError(
      'CUSTODIAN_ERR_WORKER_NEEDS_POSTGRES',
      '`custodian worker` shares jobs through PostgreSQL: set DATABASE_URL.',
    );
  }
  // More tenants (each its own config, secret, systems and ledger schema) can share one worker.
  const others = await Promise.all((options.also ?? []).map((configPath) => openContext({ configPath, env })));
  const tenants = [ctx, ...others];
  const seen = new Set<string>();
  for (const t of tenants) {
    if (seen.has(t.config.tenant))
      throw new CustodianError('CUSTODIAN_ERR_CONFIG_INVALID', `Two configs declare tenant "${t.config.tenant}".`);
    seen.add(t.config.tenant);
  }
  const worker = await startWorker({
    databaseUrl,
    tenants: tenants.map(tenantRuntime),
    log: ctx.log,
    concurrency: options.concurrency ?? 2,
    ...(env.CUSTODIAN_WORKER_EXPIRE_SECONDS ? { expireInSeconds: Number(env.CUSTODIAN_WORKER_EXPIRE_SECONDS) } : {}),
    ...(env.CUSTODIAN_WORKER_CRON_SECONDS ? { cronIntervalSeconds: Number(env.CUSTODIAN_WORKER_CRON_SECONDS) } : {}),
    ...(env.CUSTODIAN_WORKER_POLL_SECONDS ? { pollingIntervalSeconds: Number(env.CUSTODIAN_WORKER_POLL_SECONDS) } : {}),
  });
  say(`custodian worker: serving ${tenants.length} tenant(s): ${tenants.map((t) => t.config.tenant).join(', ')}`);
  await new Promise<void>((resolveStop) => {
    if (options.signal?.aborted) resolveStop();
    options.signal?.addEventListener('abort', () => resolveStop(), { once: true });
  });
  await worker.stop({ graceful: true });
  for (const t of others) await t.close();
  say('custodian worker: stopped');
  return 0;
}

export async function workerStatusCommand(
  ctx: AppContext,
  options: { json?: boolean; env?: NodeJS.ProcessEnv },
): Promise<number> {
  const databaseUrl = databaseUrlFor(ctx.config, options.env ?? process.env);
  if (!databaseUrl)
    throw new CustodianError('CUSTODIAN_ERR_WORKER_NEEDS_POSTGRES', 'Set DATABASE_URL to see the workers.');
  const status = await workerStatus(databaseUrl);
  if (options.json) {
    printJson(status);
    return 0;
  }
  say(heading('Queues'));
  say(
    table(
      ['queue', 'queued', 'retry', 'running', 'done', 'failed'],
      status.queues.map((q) => [q.name, q.created, q.retry, q.active, q.completed, q.failed]),
    ),
  );
  say(heading('Running'));
  say(
    status.running.length
      ? table(
          ['queue', 'key', 'since'],
          status.running.map((r) => [r.queue, r.key, r.startedOn]),
        )
      : 'nothing running',
  );
  say(heading('Failures (retrying, and failed in the last 24 h)'));
  say(
    status.recentFailures.length
      ? table(
          ['queue', 'key', 'state', 'attempts', 'failed at / next attempt', 'error'],
          status.recentFailures.map((f) => [
            f.queue,
            f.key,
            f.state === 'retry' ? color.yellow('retrying') : color.red('failed'),
            f.attempts,
            f.state === 'retry' ? `next ${f.nextAttemptOn}` : f.completedOn,
            f.error,
          ]),
        )
      : 'no failures',
  );
  say(heading('Schedules'));
  say(
    table(
      ['name', 'cron', 'time zone'],
      status.schedules.map((s) => [s.name, s.cron, s.timezone]),
    ),
  );
  return 0;
}
