/**
 * Many workers on a real PostgreSQL server: three worker processes, twenty systems, ticks fanned out;
 * every system synced exactly once per tick, never by two workers at once, and a SIGKILLed worker's job
 * finished by another.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openContext } from '@custodian/cli';
import { openRequest, RequestsConfigSchema, silentLogger } from '@custodian/core';
import { openLedger } from '@custodian/ledger';
import { testDatabaseUrl } from '@custodian/ledger/testing';
import { type Sandbox, startSandbox } from '@custodian/sandbox';
import { parseSchedules, QUEUES, startWorker, type TenantRuntime, tickQueue } from '@custodian/scheduler';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, quickstartWorkspace, spawnCli, TEST_SECRET, type Workspace, writeWorkspaceFile } from './helpers.js';

const HEADER = 'id,email,phone,first_name,last_name,company,notes,opted_out,legal_basis,last_activity';
const SYSTEMS = 20;

let databaseUrl: string;
let sandbox: Sandbox;
beforeAll(async () => {
  databaseUrl = await testDatabaseUrl();
  // The CRM look-alikes serve every worker process; rate limits off so 20 systems share them freely.
  sandbox = await startSandbox({
    people: 300,
    vendors: ['hubspot', 'zoho'],
    knobs: { hubspot: { rateLimits: false }, zoho: { rateLimits: false } },
  });
});
afterAll(async () => {
  await sandbox?.stop();
});

/** Twenty systems: sys-0 a CSV list (slow when asked), the others alternating HubSpot and Zoho sandboxes. */
function fleetWorkspace(tenant: string, slowRows = 0): Workspace {
  const ws = quickstartWorkspace();
  const systems: string[] = [];
  const crms = sandbox.systemsConfig();
  for (let i = 0; i < SYSTEMS; i++) {
    if (i > 0) {
      const crm = crms[i % crms.length]!;
      systems.push(`  - ${JSON.stringify({ ...crm, name: `sys-${i}` })}`);
      continue;
    }
    const rows = i === 0 && slowRows > 0 ? slowRows : 50;
    const lines = Array.from(
      { length: rows },
      (_, r) => `s${i}-${r},p${i}.${r}@example.test,,A,B,Acme,,false,consent,2026-01-01`,
    );
    writeWorkspaceFile(ws, `lists/s${i}/s${i}.csv`, `${HEADER}\n${lines.join('\n')}\n`);
    systems.push(
      `  - name: sys-${i}\n    connector: csv\n    purposes: [sales]\n    options: { dir: ./lists/s${i}, pageSize: ${i === 0 && slowRows ? 100 : 1000} }`,
    );
  }
  writeFileSync(
    ws.config,
    `tenant: ${tenant}
ledger: { databaseUrl: "${databaseUrl}" }
systems:
${systems.join('\n')}
schedules:
  - name: fleet-sync
    cron: "* * * * *"
    job: { kind: sync, full: true }
`,
  );
  ws.env = {
    ...ws.env,
    DATABASE_URL: databaseUrl,
    CUSTODIAN_SECRET: TEST_SECRET,
    CUSTODIAN_WORKER_POLL_SECONDS: '0.5',
    CUSTODIAN_WORKER_CRON_SECONDS: '1',
    // A job running longer than this is taken for lost and run again: short only where a test kills a
    // worker (its job must come back soon); long enough elsewhere that a slow sync on a loaded machine
    // never runs twice.
    CUSTODIAN_WORKER_EXPIRE_SECONDS: slowRows > 0 ? '8' : '300',
    CUSTODIAN_LOG_LEVEL: 'info',
  };
  return ws;
}

async function syncRuns(tenant: string) {
  const ledger = await openLedger({ databaseUrl, tenant });
  try {
    return (await ledger.listRuns(10_000)).filter((r) => r.kind === 'full-sync' || r.kind === 'sync');
  } finally {
    await ledger.close();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Resolves once the child has printed `text` on stdout; fails when it exits first or after `timeoutMs`. */
function printed(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}"`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      seen += String(d);
      if (!seen.includes(text)) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code ?? signal}) before printing "${text}"`));
    });
  });
}

async function sendTick(tenant: string, schedule = 'fleet-sync'): Promise<void> {
  const boss = new PgBoss({ connectionString: databaseUrl, schema: 'custodian_boss' });
  await boss.start();
  try {
    await boss.send(tickQueue(tenant, schedule), { tenant, schedule });
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

function noOverlapPerSystem(runs: { system: string | null; startedAt: string; finishedAt: string | null }[]): void {
  const bySystem = new Map<string, typeof runs>();
  for (const r of runs) bySystem.set(r.system!, [...(bySystem.get(r.system!) ?? []), r]);
  for (const list of bySystem.values()) {
    list.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (let i = 1; i < list.length; i++) expect(list[i]!.startedAt >= (list[i - 1]!.finishedAt ?? '9')).toBe(true);
  }
}

describe('custodian worker (pg-boss on PostgreSQL)', () => {
  const children: ReturnType<typeof spawnCli>[] = [];
  // Each test's workers are gone before the next starts, even when it fails: a worker left running would
  // take the next test's jobs.
  afterEach(async () => {
    const left = children.splice(0);
    for (const c of left) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(left.map((c) => c.done));
  });

  it('three workers share twenty systems: each synced exactly once per tick, never twice at once', async () => {
    const tenant = `fleet_${randomBytes(3).toString('hex')}`;
    const ws = fleetWorkspace(tenant);
    for (let i = 0; i < 3; i++) children.push(spawnCli(ws, ['worker', '--concurrency', '2']));
    // The cron schedule registered by three workers fires once a minute, once; two more ticks are sent directly.
    await waitFor(
      async () => (await syncRuns(tenant)).filter((r) => r.status === 'succeeded').length >= SYSTEMS,
      90_000,
      'first tick',
    );
    await sendTick(tenant);
    await waitFor(
      async () => (await syncRuns(tenant)).filter((r) => r.status === 'succeeded').length >= 2 * SYSTEMS,
      60_000,
      'second tick',
    );
    // Wait until no sync job is queued or running, then compare each system's runs with its completed jobs.
    // The cron schedule may fire again while the test runs, and a tick that finds a job of a system still
    // queued adds none (the `stately` queue keeps one queued job per system): so every job must have run
    // exactly once, and every system at least once per tick the test waited for.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    let ticks = 0;
    const jobsPerSystem = new Map<string, number>();
    try {
      await waitFor(
        async () => {
          const { rows } = await client.query(
            `SELECT count(*)::int AS n FROM custodian_boss.job WHERE name = $1 AND state IN ('created', 'active', 'retry') AND singleton_key LIKE $2`,
            [QUEUES.sync, `${tenant}/%`],
          );
          return rows[0].n === 0;
        },
        60_000,
        'sync jobs to drain',
      );
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM custodian_boss.job WHERE name = $1 AND state = 'completed'`,
        [tickQueue(tenant, 'fleet-sync')],
      );
      ticks = rows[0].n;
      const jobs = await client.query(
        `SELECT singleton_key AS key, count(*)::int AS n FROM custodian_boss.job WHERE name = $1 AND state = 'completed' AND singleton_key LIKE $2 GROUP BY 1`,
        [QUEUES.sync, `${tenant}/%`],
      );
      for (const r of jobs.rows as { key: string; n: number }[]) jobsPerSystem.set(r.key.split('/')[1]!, r.n);
    } finally {
      await client.end();
    }
    expect(ticks).toBeGreaterThanOrEqual(2);
    const runs = (await syncRuns(tenant)).filter((r) => r.status === 'succeeded');
    const perSystem = new Map<string, number>();
    for (const r of runs) perSystem.set(r.system!, (perSystem.get(r.system!) ?? 0) + 1);
    expect(perSystem.size).toBe(SYSTEMS);
    expect(Object.fromEntries(perSystem)).toEqual(Object.fromEntries(jobsPerSystem));
    expect([...perSystem.values()].every((n) => n >= 2)).toBe(true);
    noOverlapPerSystem(runs);

    const status = await cli(ws, ['worker', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      schedules: { name: string }[];
      queues: { name: string; completed: number }[];
    };
    expect(parsed.schedules.map((s) => s.name)).toContain(tickQueue(tenant, 'fleet-sync'));
    expect(parsed.queues.find((q) => q.name === QUEUES.sync)?.completed).toBeGreaterThanOrEqual(2 * SYSTEMS);
    for (const c of children.splice(0)) c.child.kill('SIGTERM');
  }, 180_000);

  it("a SIGKILLed worker's job is picked up by another and resumes from the checkpoint", async () => {
    const tenant = `kill_${randomBytes(3).toString('hex')}`;
    const ws = fleetWorkspace(tenant, 30_000);
    const first = spawnCli(ws, ['worker', '--concurrency', '1']);
    children.push(first);
    await printed(first.child, 'custodian worker: serving', 90_000);
    await sendTick(tenant);
    // Wait until the slow system's job is running on the only worker, then kill it.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await waitFor(
        async () => {
          const { rows } = await client.query(
            `SELECT 1 FROM custodian_boss.job WHERE name = $1 AND state = 'active' AND singleton_key = $2`,
            [QUEUES.sync, `${tenant}/sys-0`],
          );
          return rows.length > 0;
        },
        90_000,
        'slow job to start',
      );
    } finally {
      await client.end();
    }
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    await first.done;
    const second = spawnCli(ws, ['worker', '--concurrency', '2']);
    children.push(second);
    await waitFor(
      async () => (await syncRuns(tenant)).some((r) => r.system === 'sys-0' && r.status === 'succeeded'),
      120_000,
      'retry to finish',
    );
    const ledger = await openLedger({ databaseUrl, tenant });
    try {
      expect(await ledger.countRecords('sys-0')).toBe(30_000);
    } finally {
      await ledger.close();
    }
    second.child.kill('SIGTERM');
  }, 240_000);

  it('`worker status` shows the queues, the running job, and failed and retrying jobs with their errors', async () => {
    const tenant = `st_${randomBytes(3).toString('hex')}`;
    const ws = fleetWorkspace(tenant, 30_000);
    const worker = spawnCli(ws, ['worker', '--concurrency', '2']);
    children.push(worker);
    await printed(worker.child, 'custodian worker: serving', 90_000);
    const boss = new PgBoss({ connectionString: databaseUrl, schema: 'custodian_boss' });
    await boss.start();
    try {
      const job = (system: string) => ({ tenant, system, full: true, schedule: 'fleet-sync' });
      // The slow list keeps a job running; two jobs name a system removed from the config: one may not retry,
      // the other retries in ten minutes.
      await boss.send(QUEUES.sync, job('sys-0'), { singletonKey: `${tenant}/sys-0` });
      await boss.send(QUEUES.sync, job('sys-gone'), { singletonKey: `${tenant}/sys-gone`, retryLimit: 0 });
      // A job of a tenant this worker does not serve fails instead of being completed without running.
      await boss.send(
        QUEUES.sync,
        { ...job('sys-1'), tenant: 'other_tenant' },
        { singletonKey: `${tenant}/foreign`, retryLimit: 0 },
      );
      // An error echoing personal data from a job's payload is shown scrubbed.
      await boss.send(QUEUES.sync, job('jane.roe@example.test'), { singletonKey: `${tenant}/sys-pii`, retryLimit: 0 });
      await boss.send(QUEUES.sync, job('sys-later'), {
        singletonKey: `${tenant}/sys-later`,
        retryLimit: 2,
        retryDelay: 600,
      });
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
    type Status = {
      queues: { name: string; active: number; failed: number; retry: number }[];
      running: { queue: string; key: string }[];
      recentFailures: {
        key: string | null;
        state: string;
        attempts: number;
        nextAttemptOn: string | null;
        error: string;
      }[];
    };
    let status: Status | null = null;
    // Other tests share the queue schema, and their failed jobs may have no singleton key (null).
    const mine = (s: Status) => s.recentFailures.filter((f) => f.key?.startsWith(`${tenant}/`));
    await waitFor(
      async () => {
        const res = await cli(ws, ['worker', 'status', '--json']);
        expect(res.code, res.stderr).toBe(0);
        status = JSON.parse(res.stdout) as Status;
        return status.running.some((r) => r.key === `${tenant}/sys-0`) && mine(status).length === 4;
      },
      90_000,
      'one running and four failed jobs',
    );
    const shown = status! as Status;
    expect(shown.running).toContainEqual({ queue: QUEUES.sync, key: `${tenant}/sys-0`, startedOn: expect.any(String) });
    const gone = mine(shown).find((f) => f.key === `${tenant}/sys-gone`)!;
    expect(gone).toMatchObject({ state: 'failed', attempts: 1, nextAttemptOn: null });
    expect(gone.error).toContain('Unknown system(s): sys-gone');
    const later = mine(shown).find((f) => f.key === `${tenant}/sys-later`)!;
    expect(later).toMatchObject({ state: 'retry', attempts: 1 });
    expect(Date.parse(later.nextAttemptOn!)).toBeGreaterThan(Date.now() + 60_000);
    expect(mine(shown).find((f) => f.key === `${tenant}/foreign`)).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('tenant other_tenant is not served by this worker'),
    });
    const pii = mine(shown).find((f) => f.key === `${tenant}/sys-pii`)!;
    expect(pii.error).toContain('Unknown system(s): [email]');
    expect(JSON.stringify(shown)).not.toContain('jane.roe');
    const queue = shown.queues.find((q) => q.name === QUEUES.sync)!;
    expect(queue.active).toBeGreaterThanOrEqual(1);
    expect(queue.failed).toBeGreaterThanOrEqual(1);
    expect(queue.retry).toBeGreaterThanOrEqual(1);

    // The table for people shows the same.
    const text = await cli(ws, ['worker', 'status']);
    expect(text.code, text.stderr).toBe(0);
    for (const expected of ['Queues', 'Running', `${tenant}/sys-0`, 'Failures', `${tenant}/sys-gone`, 'retrying'])
      expect(text.stdout).toContain(expected);
    expect(text.stdout).not.toContain('jane.roe');
    worker.child.kill('SIGTERM');
  }, 240_000);

  it('open data-subject requests are spread across workers, each run to completion once', async () => {
    const tenant = `rq_${randomBytes(3).toString('hex')}`;
    const REQUESTS = 8;
    const ws = quickstartWorkspace();
    const people = Array.from({ length: REQUESTS * 2 }, (_, r) => `rq.${r}@example.test`);
    // One list per person: the CSV connector serialises rewrites of a file only within one process, and
    // three worker processes erasing rows of one file at once can lose each other's rewrite.
    for (const [r, email] of people.entries())
      writeWorkspaceFile(
        ws,
        `lists/rq/rq-${r}.csv`,
        `${HEADER}\nrq-${r},${email},,A,B,Acme,,false,consent,2026-01-01\n`,
      );
    writeFileSync(
      ws.config,
      `tenant: ${tenant}
ledger: { databaseUrl: "${databaseUrl}" }
systems:
  - { name: rq-list, connector: csv, purposes: [sales], options: { dir: ./lists/rq } }
schedules:
  - { name: resume, cron: "0 0 1 1 *", job: { kind: resume-requests } }
`,
    );
    ws.env = {
      ...ws.env,
      DATABASE_URL: databaseUrl,
      CUSTODIAN_WORKER_POLL_SECONDS: '0.5',
      CUSTODIAN_LOG_LEVEL: 'info',
    };
    // Requests taken in but not yet run (as after a crash): intake only, through the request engine.
    const ctx = await openContext({ configPath: ws.config, env: ws.env });
    const ids: string[] = [];
    try {
      const deps = {
        ledger: await ctx.ledger(),
        keyer: ctx.keyer(),
        log: silentLogger,
        systems: [],
        config: RequestsConfigSchema.parse({}),
        actor: 'worker e2e',
      };
      for (const email of people.slice(0, REQUESTS))
        ids.push((await openRequest(deps, { kind: 'erase', identities: [{ kind: 'email', value: email }] })).id);
    } finally {
      await ctx.close();
    }
    const workers = Array.from({ length: 3 }, () => spawnCli(ws, ['worker', '--concurrency', '1']));
    children.push(...workers);
    const finished = workers.map(() => [] as string[]);
    workers.forEach((w, i) => {
      createInterface({ input: w.child.stderr! }).on('line', (line) => {
        if (line.includes('request job finished'))
          finished[i]!.push((JSON.parse(line) as { requestId: string }).requestId);
      });
    });
    await Promise.all(workers.map((w) => printed(w.child, 'custodian worker: serving', 90_000)));
    await sendTick(tenant, 'resume');
    await waitFor(async () => finished.flat().length >= REQUESTS, 120_000, 'every request job');
    expect(finished.flat().sort()).toEqual([...ids].sort());
    // Spread: more than one worker took request jobs.
    expect(finished.filter((list) => list.length > 0).length).toBeGreaterThan(1);
    const ledger = await openLedger({ databaseUrl, tenant });
    try {
      for (const id of ids) expect((await ledger.getRequest(id))?.state).toBe('completed');
    } finally {
      await ledger.close();
    }
    // The list kept only the people nobody asked to erase.
    people.forEach((email, r) => {
      const csv = readFileSync(join(ws.dir, `lists/rq/rq-${r}.csv`), 'utf8');
      expect(csv.includes(email)).toBe(r >= REQUESTS);
    });
    for (const w of workers) w.child.kill('SIGTERM');
  }, 240_000);

  it('workers starting at the same moment on a fresh queue schema all start and register each schedule once', async () => {
    // Start-up only: the runtime's job functions are never reached.
    const notAtStartUp = () => Promise.reject(new Error('no job runs in this test'));
    const runtimes: TenantRuntime[] = ['ta', 'tb', 'tc'].map((tenant) => ({
      tenant,
      schedules: parseSchedules([
        { name: 'nightly', cron: '0 3 * * *', job: { kind: 'sync' } },
        { name: 'resume', cron: '*/15 * * * *', job: { kind: 'resume-requests' } },
      ]),
      systems: () => [],
      syncSystem: notAtStartUp,
      resumableRequests: notAtStartUp,
      runRequest: notAtStartUp,
      runJob: notAtStartUp,
    }));
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (let round = 0; round < 3; round++) {
        const schema = `boss_${randomBytes(4).toString('hex')}`;
        const results = await Promise.allSettled(
          Array.from({ length: 4 }, () =>
            startWorker({ databaseUrl, tenants: runtimes, log: silentLogger, schema, concurrency: 1 }),
          ),
        );
        await Promise.all(
          results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop({ graceful: false })] : [])),
        );
        expect(results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([]);
        const { rows } = await client.query(`SELECT name FROM "${schema}".schedule ORDER BY name`);
        expect(rows.map((r: { name: string }) => r.name)).toEqual(
          runtimes.flatMap((t) => [tickQueue(t.tenant, 'nightly'), tickQueue(t.tenant, 'resume')]).sort(),
        );
        await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      }
    } finally {
      await client.end();
    }
  }, 180_000);

  it('one worker serves two tenants, each with its own config, secret and ledger schema', async () => {
    const tenantA = `ta_${randomBytes(3).toString('hex')}`;
    const tenantB = `tb_${randomBytes(3).toString('hex')}`;
    const ws = fleetWorkspace(tenantA);
    const other = writeWorkspaceFile(
      ws,
      'tenant-b.yaml',
      `tenant: ${tenantB}\nsecretFile: ./b.secret\nledger: { databaseUrl: "${databaseUrl}" }\nsystems:\n  - { name: b-list, connector: csv, purposes: [sales], options: { dir: ./lists/b } }\nschedules:\n  - { name: fleet-sync, cron: "0 0 1 1 *", job: { kind: sync } }\n`,
    );
    writeWorkspaceFile(ws, 'b.secret', `${'b'.repeat(64)}\n`);
    const { chmodSync } = await import('node:fs');
    chmodSync(`${ws.dir}/b.secret`, 0o600);
    writeWorkspaceFile(
      ws,
      'lists/b/b.csv',
      `${HEADER}\n${Array.from({ length: 40 }, (_, r) => `b-${r},tenantb.${r}@example.test,,A,B,Acme,,false,consent,2026-01-01`).join('\n')}\n`,
    );
    const worker = spawnCli(ws, ['worker', '--also', other]);
    children.push(worker);
    await printed(worker.child, 'serving 2 tenant(s)', 90_000);
    await sendTick(tenantB);
    await waitFor(async () => (await syncRuns(tenantB)).some((r) => r.status === 'succeeded'), 60_000, 'tenant B sync');
    const a = await openLedger({ databaseUrl, tenant: tenantA });
    const b = await openLedger({ databaseUrl, tenant: tenantB });
    try {
      expect(await b.countRecords('b-list')).toBe(40);
      expect(await a.countRecords('b-list')).toBe(0);
      // Tenant B's subject keys come from its own secret: A's ledger cannot find B's people.
      expect((await b.listSystems()).map((x) => x.name)).toEqual(['b-list']);
    } finally {
      await a.close();
      await b.close();
    }
    worker.child.kill('SIGTERM');
  }, 120_000);
});
