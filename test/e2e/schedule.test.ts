import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
