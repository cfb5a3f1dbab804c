/**
 * Worker fleet throughput and scheduling overhead: one tick of a sync of 20 sandbox systems (HubSpot and
 * Zoho look-alikes, BENCH_WORKERS_PEOPLE people in the seeded world, default 5,000: about 3,000 contacts per
 * HubSpot system and 2,000 per Zoho system) run by 1, 2 and 4 real `custodian worker` processes against a
 * real PostgreSQL server this bench starts in its own folder and port. Writes bench-results/workers.json:
 * wall time from tick to all 20 systems done, records/s, jobs per worker, and the scheduling overhead per
 * job (enqueue to start, and a tick over empty systems where the sync itself is near zero).
 *
 * Why an earlier version hung waiting for a worker's start-up line: workers started at the same moment on a
 * fresh PostgreSQL deadlocked in pg-boss's queue creation; the losing worker printed
 * `CUSTODIAN_ERR_UNEXPECTED: deadlock detected` on stderr and then stayed alive (pg-boss timers and a pool
 * kept its event loop busy) without ever printing the line on stdout. Fixed in @custodian/scheduler (start-ups
 * take turns; a worker that fails to start exits). A second way to hang: waiting for the *next* 'data'
 * event misses a line printed while the bench was still awaiting another worker.
 *
 * So here every wait is bounded, fails naming what it waited for, and fails at once when a worker exits
 * (with its last stderr lines). Both pipes of every worker are read line by line from the moment it is
 * spawned and what matters is kept as state (ready, jobs finished), so no line is missed and no pipe fills.
 * Whatever happens (error, timeout, watchdog, SIGINT/SIGTERM) the worker processes, both sandboxes and
 * PostgreSQL are stopped.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openLedger } from '@custodian/ledger';
import { type Sandbox, type SystemConfigEntry, startSandbox } from '@custodian/sandbox';
import { QUEUES, tickQueue } from '@custodian/scheduler';
import pg from 'pg';
import PgBoss from 'pg-boss';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SYSTEMS = 20;
const SCHEDULE = 'bench-sync';
const WORKER_COUNTS = (process.env.BENCH_WORKERS_COUNTS ?? '1,2,4').split(',').map(Number);
const PEOPLE = Number(process.env.BENCH_WORKERS_PEOPLE ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_WORKERS_CONCURRENCY ?? 2);
const PG_DIR = process.env.BENCH_WORKERS_PG_DIR ?? '/tmp/custodian-pg-bench-workers';
const PG_PORT = process.env.BENCH_WORKERS_PG_PORT ?? '55461';
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
/** Bounds of every wait, generous because the machine is shared. */
const LIMITS = {
  pgStartMs: 120_000,
  workerReadyMs: 180_000,
  tickMs: Number(process.env.BENCH_WORKERS_TICK_TIMEOUT_MS ?? 900_000),
  workerStopMs: 60_000,
  wholeBenchMs: Number(process.env.BENCH_WORKERS_TOTAL_TIMEOUT_MS ?? 3_600_000),
};

// ---------------------------------------------------------------------------------------------------
// Cleanup: every resource registers how to release it; run once on success, failure, signal or watchdog.

const cleanups: { what: string; run: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | null = null;
function onCleanup(what: string, run: () => Promise<void> | void): void {
  cleanups.push({ what, run });
}
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await withTimeout(Promise.resolve(step.run()), 90_000, `cleanup: ${step.what}`);
      } catch (err) {
        console.error(`cleanup of ${step.what} failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`${signal}: stopping workers, sandbox and PostgreSQL`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL: a throw-away server in the bench's own folder, fresh every run (no schedules or jobs left over).

async function startPostgres(): Promise<string> {
  const env = { ...process.env, CUSTODIAN_PG_DIR: PG_DIR, CUSTODIAN_PG_PORT: PG_PORT };
  const script = join(repoRoot, 'scripts/pg-test-server.sh');
  spawnSync('bash', [script, 'stop'], { env, stdio: 'ignore', timeout: 60_000 });
  rmSync(PG_DIR, { recursive: true, force: true });
  onCleanup('PostgreSQL', () => {
    spawnSync('bash', [script, 'stop'], { env, stdio: 'ignore', timeout: 60_000 });
    rmSync(PG_DIR, { recursive: true, force: true });
  });
  const { stdout } = await withTimeout(
    promisify(execFile)('bash', [script, 'start'], { env, encoding: 'utf8' }),
    LIMITS.pgStartMs,
    `PostgreSQL to start in ${PG_DIR} on port ${PG_PORT}`,
  );
  const url = /CUSTODIAN_TEST_DATABASE_URL=(\S+)/.exec(stdout)?.[1];
  if (!url) throw new Error(`scripts/pg-test-server.sh printed no URL: ${stdout}`);
  return url;
}

// ---------------------------------------------------------------------------------------------------
// Worker processes: the real CLI from source; both pipes read for the whole run (see the header).

interface Worker {
  index: number;
  child: ChildProcess;
  ready: boolean;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  stderrTail: string[];
  /** "sync job finished" log lines per tenant: which worker ran how many jobs. */
  finishedJobs: Map<string, number>;
}

function spawnWorker(index: number, config: string, also: string, env: NodeJS.ProcessEnv): Worker {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'packages/cli/src/bin.ts'),
      '--config',
      config,
      'worker',
      '--concurrency',
      String(CONCURRENCY),
      '--also',
      also,
    ],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const worker: Worker = { index, child, ready: false, exited: null, stderrTail: [], finishedJobs: new Map() };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.includes('custodian worker: serving')) worker.ready = true;
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    worker.stderrTail.push(line);
    if (worker.stderrTail.length > 20) worker.stderrTail.shift();
    if (!line.includes('sync job finished')) return;
    try {
      const entry = JSON.parse(line) as { tenant?: string };
      if (entry.tenant) worker.finishedJobs.set(entry.tenant, (worker.finishedJobs.get(entry.tenant) ?? 0) + 1);
    } catch {
      // not a log line of ours
    }
  });
  child.on('exit', (code, signal) => {
    worker.exited = { code, signal };
  });
  onCleanup(`worker ${index} (pid ${child.pid})`, () => stopWorker(worker, 'SIGKILL'));
  return worker;
}

async function stopWorker(worker: Worker, signal: NodeJS.Signals): Promise<void> {
  if (worker.exited) return;
  const exited = new Promise<void>((res) => worker.child.once('exit', () => res()));
  worker.child.kill(signal);
  try {
    await withTimeout(exited, LIMITS.workerStopMs, `worker ${worker.index} to exit after ${signal}`);
  } catch (err) {
    worker.child.kill('SIGKILL');
    throw err;
  }
}

/** Polls `check` until true; fails on timeout or when a worker dies, naming what it waited for. */
async function waitUntil(
  what: string,
  timeoutMs: number,
  workers: Worker[],
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const dead = workers.find((w) => w.exited);
    if (dead) {
      throw new Error(
        `worker ${dead.index} exited (${JSON.stringify(dead.exited)}) while waiting for ${what}; its last stderr lines:\n${dead.stderrTail.join('\n')}`,
      );
    }
    if (await check()) return;
    if (Date.now() > until) {
      const tails = workers.map((w) => `worker ${w.index}: ${w.stderrTail.slice(-3).join(' | ')}`).join('\n');
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${tails}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---------------------------------------------------------------------------------------------------
// Tenants: one with 20 sandbox systems full of people, one with 20 near-empty sandbox systems.

function writeTenantConfig(dir: string, tenant: string, databaseUrl: string, crms: SystemConfigEntry[]): string {
  const systems = Array.from({ length: SYSTEMS }, (_, i) => {
    const crm = crms[i % crms.length]!;
    return `  - ${JSON.stringify({ ...crm, name: `sys-${i}` })}`;
  });
  const path = join(dir, `${tenant}.yaml`);
  // The cron never fires during a run: the bench sends each tick itself, so it knows when the tick began.
  writeFileSync(
    path,
    `tenant: ${tenant}
ledger: { databaseUrl: "${databaseUrl}" }
systems:
${systems.join('\n')}
schedules:
  - name: ${SCHEDULE}
    cron: "0 0 1 1 *"
    job: { kind: sync, full: true }
`,
  );
  return path;
}

interface JobRow {
  state: string;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
  records: number | null;
}

interface TickFigures {
  workers: number;
  tenant: string;
  jobs: number;
  records: number;
  wallSeconds: number;
  recordsPerSecond: number;
  /** Tick job created to its fan-out of the last sync job. */
  fanOutMs: number;
  enqueueToStartMs: { p50: number; p95: number; max: number };
  jobRunMs: { p50: number; p95: number; max: number };
  /** Wall time divided by the number of jobs. */
  wallMsPerJob: number;
  jobsPerWorker: number[];
}

function spread(values: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
  return { p50: at(0.5), p95: at(0.95), max: at(1) };
}

async function runTick(
  boss: PgBoss,
  db: pg.Client,
  tenant: string,
  workers: Worker[],
  expectRecords: boolean,
): Promise<TickFigures> {
  const before = workers.map((w) => w.finishedJobs.get(tenant) ?? 0);
  const tickId = await boss.send(tickQueue(tenant, SCHEDULE), { tenant, schedule: SCHEDULE });
  if (!tickId) throw new Error(`the tick of ${tenant} was not queued`);
  const tick = await db.query<{ created_on: Date }>('SELECT created_on FROM custodian_boss.job WHERE id = $1', [
    tickId,
  ]);
  const tickAt = tick.rows[0]!.created_on;
  let jobs: JobRow[] = [];
  await waitUntil(`all ${SYSTEMS} systems of ${tenant} to be synced`, LIMITS.tickMs, workers, async () => {
    const { rows } = await db.query<JobRow>(
      `SELECT state, created_on, started_on, completed_on, (output->'systems'->0->>'records')::int AS records
         FROM custodian_boss.job WHERE name = $1 AND singleton_key LIKE $2 AND created_on >= $3`,
      [QUEUES.sync, `${tenant}/%`, tickAt],
    );
    const failed = rows.filter((r) => r.state === 'failed');
    if (failed.length)
      throw new Error(`${failed.length} sync job(s) of ${tenant} failed; see \`custodian worker status\``);
    jobs = rows;
    return rows.length === SYSTEMS && rows.every((r) => r.state === 'completed');
  });
  const last = Math.max(...jobs.map((j) => j.completed_on!.getTime()));
  const wallSeconds = (last - tickAt.getTime()) / 1000;
  const records = jobs.reduce((n, j) => n + (j.records ?? 0), 0);
  if (expectRecords && records === 0) throw new Error(`the tick of ${tenant} synced no records`);
  // The finish line is logged just after the job's handler returns: give the pipes a moment to deliver it.
  await waitUntil(`the workers' log lines for ${tenant}`, 30_000, workers, () => {
    const logged = workers.reduce((n, w, i) => n + (w.finishedJobs.get(tenant) ?? 0) - before[i]!, 0);
    return logged >= SYSTEMS;
  });
  return {
    workers: workers.length,
    tenant,
    jobs: jobs.length,
    records,
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    recordsPerSecond: Math.round(records / wallSeconds),
    fanOutMs: Math.max(...jobs.map((j) => j.created_on.getTime())) - tickAt.getTime(),
    enqueueToStartMs: spread(jobs.map((j) => j.started_on!.getTime() - j.created_on.getTime())),
    jobRunMs: spread(jobs.map((j) => j.completed_on!.getTime() - j.started_on!.getTime())),
    wallMsPerJob: Math.round((wallSeconds * 1000) / jobs.length),
    jobsPerWorker: workers.map((w, i) => (w.finishedJobs.get(tenant) ?? 0) - before[i]!),
  };
}

// ---------------------------------------------------------------------------------------------------

interface RunFigures {
  workers: number;
  startupSeconds: number;
  emptyCold: TickFigures;
  emptyWarm: TickFigures;
  full: TickFigures;
}

async function benchFleet(
  count: number,
  databaseUrl: string,
  dir: string,
  full: Sandbox,
  empty: Sandbox,
): Promise<RunFigures> {
  const fullTenant = `bench_full_w${count}`;
  const emptyTenant = `bench_empty_w${count}`;
  const fullConfig = writeTenantConfig(dir, fullTenant, databaseUrl, full.systemsConfig());
  const emptyConfig = writeTenantConfig(dir, emptyTenant, databaseUrl, empty.systemsConfig());
  // Each tenant's ledger schema is created before the clock starts: migrations are not scheduling work.
  for (const tenant of [fullTenant, emptyTenant]) await (await openLedger({ databaseUrl, tenant })).close();
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    CUSTODIAN_SECRET: SECRET,
    CUSTODIAN_LOG_LEVEL: 'info',
  };
  const started = performance.now();
  const workers = Array.from({ length: count }, (_, i) => spawnWorker(i, fullConfig, emptyConfig, env));
  await waitUntil(`${count} worker(s) to print "custodian worker: serving"`, LIMITS.workerReadyMs, workers, () =>
    workers.every((w) => w.ready),
  );
  const startupSeconds = Math.round((performance.now() - started) / 100) / 10;
  const boss = new PgBoss({ connectionString: databaseUrl, schema: 'custodian_boss' });
  await withTimeout(boss.start(), 60_000, 'the bench pg-boss client to start');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const emptyCold = await runTick(boss, db, emptyTenant, workers, false);
    const emptyWarm = await runTick(boss, db, emptyTenant, workers, false);
    const fullTick = await runTick(boss, db, fullTenant, workers, true);
    return { workers: count, startupSeconds, emptyCold, emptyWarm, full: fullTick };
  } finally {
    await db.end();
    await boss.stop({ graceful: false, wait: true });
    await Promise.all(workers.map((w) => stopWorker(w, 'SIGTERM')));
  }
}

const watchdog = setTimeout(() => {
  console.error(`workers bench: gave up after ${LIMITS.wholeBenchMs / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, LIMITS.wholeBenchMs);

let exitCode = 0;
try {
  const databaseUrl = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-workers-'));
  onCleanup('bench folder', () => rmSync(dir, { recursive: true, force: true }));
  const knobs = { hubspot: { rateLimits: false }, zoho: { rateLimits: false } };
  const full = await startSandbox({ people: PEOPLE, vendors: ['hubspot', 'zoho'], knobs, maxLogEntries: 1000 });
  onCleanup('sandbox', () => full.stop());
  const empty = await startSandbox({ people: 1, vendors: ['hubspot', 'zoho'], knobs, maxLogEntries: 1000 });
  onCleanup('empty sandbox', () => empty.stop());

  const runs: RunFigures[] = [];
  for (const count of WORKER_COUNTS) {
    const run = await benchFleet(count, databaseUrl, dir, full, empty);
    runs.push(run);
    console.log(
      `${count} worker(s): ${run.full.records} records in ${run.full.wallSeconds} s (${run.full.recordsPerSecond} records/s), jobs per worker ${run.full.jobsPerWorker.join('/')}; empty tick ${run.emptyWarm.wallSeconds} s (${run.emptyWarm.wallMsPerJob} ms per job, enqueue to start p50 ${run.emptyWarm.enqueueToStartMs.p50} ms, job run p50 ${run.emptyWarm.jobRunMs.p50} ms)`,
    );
  }
  mkdirSync(join(repoRoot, 'bench-results'), { recursive: true });
  writeFileSync(
    join(repoRoot, 'bench-results/workers.json'),
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => Math.round(l * 100) / 100) },
        setup: {
          systems: SYSTEMS,
          vendors: ['hubspot', 'zoho'],
          people: PEOPLE,
          concurrencyPerWorker: CONCURRENCY,
          pollingIntervalSeconds: 1,
          postgres: `scripts/pg-test-server.sh on port ${PG_PORT}`,
        },
        runs,
      },
      null,
      2,
    )}\n`,
  );
} catch (err) {
  exitCode = 1;
  console.error(`workers bench failed: ${(err as Error).message}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
process.exit(exitCode);
