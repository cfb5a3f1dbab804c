import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openLedger } from '@custodian/ledger';
import { describe, expect, it } from 'vitest';
import { cli, quickstartWorkspace, spawnCli, TEST_SECRET, type Workspace, writeWorkspaceFile } from './helpers.js';

const HEADER = 'id,email,phone,first_name,last_name,company,notes,opted_out,legal_basis,last_activity';

function bigList(ws: Workspace, folder: string, rows: number, prefix = 'r'): void {
  const lines = Array.from(
    { length: rows },
    (_, i) => `${prefix}-${i},${prefix}.${i}@example.test,,A,B${i},Acme,,false,consent,2026-01-01`,
  );
  writeWorkspaceFile(ws, `${folder}/${folder}.csv`, `${HEADER}\n${lines.join('\n')}\n`);
}

async function runsOf(ws: Workspace, tenant = 'e2e') {
  const ledger = await openLedger({ dir: join(ws.dir, 'ledger'), tenant });
  try {
    return await ledger.listRuns(1000);
  } finally {
    await ledger.close();
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('custodian schedule (node-cron, one process)', () => {
  it('rejects an invalid cron expression or time zone with its config path and line', async () => {
    const ws = quickstartWorkspace(`schedules:
  - name: nightly
    cron: "61 * * * *"
    timezone: Mars/Olympus
    job: { kind: sync }
`);
    const res = await cli(ws, ['schedule', '--once', 'nightly']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CUSTODIAN_ERR_SCHEDULE_INVALID');
    expect(res.stderr).toMatch(/schedules\[0\]\.cron \(line 18\): not a valid cron expression/);
    expect(res.stderr).toMatch(/schedules\[0\]\.timezone \(line 19\): not an IANA time zone/);
  });

  it('rejects a sync job naming an unknown system and a duplicate schedule name, with path and line', async () => {
    const ws = quickstartWorkspace(`schedules:
  - name: nightly
    cron: "0 3 * * *"
    job: { kind: sync, systems: [trade-fair, crm-typo] }
  - name: nightly
    cron: "0 4 * * *"
    job: { kind: deadline-check }
`);
    const res = await cli(ws, ['schedule', '--once', 'nightly']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CUSTODIAN_ERR_SCHEDULE_INVALID');
    expect(res.stderr).toMatch(
      /schedules\[0\]\.job\.systems\[1\] \(line 19\): unknown system "crm-typo"; configured: trade-fair, newsletter/,
    );
    expect(res.stderr).toMatch(/schedules\[1\]\.name \(line 20\): duplicate schedule name "nightly"/);
    // Nothing ran: the ledger was never opened.
    expect(existsSync(join(ws.dir, 'ledger'))).toBe(false);
  });

  it('--once runs one job now; an unknown job name is a coded error', async () => {
    const ws = quickstartWorkspace(`schedules:
  - name: nightly
    cron: "0 3 * * *"
    timezone: Europe/Berlin
    job: { kind: sync }
  - name: deadlines
    cron: "0 8 * * 1-5"
    job: { kind: deadline-check }
`);
    const res = await cli(ws, ['schedule', '--once', 'nightly', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ schedule: 'nightly', ok: true });
    const unknown = await cli(ws, ['schedule', '--once', 'weekly']);
    expect(unknown.stderr).toContain('CUSTODIAN_ERR_SCHEDULE_UNKNOWN_JOB');
  });

  it('a job that fails is logged as a failure and runs again at its next tick', async () => {
    const ws = quickstartWorkspace();
    // A list whose row id repeats: reading it fails until the file is fixed.
    const broken = `${HEADER}\nf-1,flaky.one@example.test,,A,B,Acme,,false,consent,2026-01-01\nf-1,flaky.two@example.test,,A,C,Acme,,false,consent,2026-01-01\n`;
    writeWorkspaceFile(ws, 'flaky/flaky.csv', broken);
    writeFileSync(
      ws.config,
      `tenant: e2e
ledger: { dir: ./ledger }
systems:
  - name: flaky
    connector: csv
    purposes: [sales]
    options: { dir: ./flaky }
schedules:
  - name: every-two-seconds
    cron: "*/2 * * * * *"
    job: { kind: sync, full: true }
`,
    );
    const run = spawnCli(ws, ['schedule'], { env: { CUSTODIAN_LOG_LEVEL: 'info', CUSTODIAN_SECRET: TEST_SECRET } });
    const lines: { level: number; msg: string; ok?: boolean }[] = [];
    let stderr = '';
    createInterface({ input: run.child.stderr! }).on('line', (line) => {
      stderr += `${line}\n`;
      if (line.startsWith('{')) lines.push(JSON.parse(line));
    });
    const failures = () => lines.filter((l) => l.msg.startsWith('scheduled job failed'));
    try {
      await waitFor(() => failures().length >= 2, 90_000, 'two failed ticks');
      // pino level 50 = error: a failed job is not an info line.
      expect(failures().every((l) => l.level === 50 && l.ok === false)).toBe(true);
      writeWorkspaceFile(ws, 'flaky/flaky.csv', broken.replace('f-1,flaky.two', 'f-2,flaky.two'));
      await waitFor(() => lines.some((l) => l.msg === 'scheduled job finished' && l.ok), 60_000, 'a tick to succeed');
    } finally {
      run.child.kill('SIGTERM');
    }
    const exited = await run.done;
    expect(exited.code).toBe(0);
    const runs = (await runsOf(ws)).filter((r) => r.system === 'flaky');
    expect(runs.filter((r) => r.status === 'failed').length).toBeGreaterThanOrEqual(2);
    expect(runs.some((r) => r.status === 'succeeded')).toBe(true);
    const ledger = await openLedger({ dir: join(ws.dir, 'ledger'), tenant: 'e2e' });
    try {
      expect(await ledger.countRecords('flaky')).toBe(2);
    } finally {
      await ledger.close();
    }
    expect(stderr).not.toContain('@example.test');
  }, 180_000);

  it('never overlaps a job with itself and exits cleanly on SIGTERM after the current page', async () => {
    const ws = quickstartWorkspace();
    bigList(ws, 'big', 30_000);
    writeFileSync(
      ws.config,
      `tenant: e2e
ledger: { dir: ./ledger }
systems:
  - name: big
    connector: csv
    purposes: [sales]
    options: { dir: ./big, pageSize: 200 }
schedules:
  - name: every-second
    cron: "* * * * * *"
    job: { kind: sync, full: true }
`,
    );
    const run = spawnCli(ws, ['schedule'], { env: { CUSTODIAN_LOG_LEVEL: 'info', CUSTODIAN_SECRET: TEST_SECRET } });
    await new Promise((r) => setTimeout(r, 6_000));
    run.child.kill('SIGTERM');
    const exited = await run.done;
    expect(exited.code).toBe(0);
    expect(exited.stdout).toContain('custodian schedule: stopped');
    const runs = (await runsOf(ws))
      .filter((r) => r.system === 'big')
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    expect(runs.length).toBeGreaterThanOrEqual(1);
    // No two runs of the job overlap in time.
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.startedAt >= (runs[i - 1]!.finishedAt ?? '')).toBe(true);
    }
    // The last run either finished or stopped at a page boundary; none is left "running".
    expect(runs.every((r) => r.status !== 'running')).toBe(true);
    expect(exited.stderr).toMatch(/previous run still going|execution:overlap|overlap/i);
  }, 60_000);
});
