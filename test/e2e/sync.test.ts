import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '@custodian/ledger';
import { describe, expect, it } from 'vitest';
import { cli, quickstartWorkspace, spawnCli, TEST_SECRET, writeWorkspaceFile } from './helpers.js';

const json = <T>(s: string): T => JSON.parse(s) as T;
interface SyncJson {
  sync: {
    systems: {
      system: string;
      status: string;
      records: number;
      inserted: number;
      updated: number;
      unchanged: number;
      deleted: number;
      error?: { code: string; message: string };
    }[];
  };
}

describe('sync of the quickstart CSV lists', () => {
  it('indexes both lists, records the 120 people in both as duplications, and finds one person everywhere', async () => {
    const ws = quickstartWorkspace();
    const first = await cli(ws, ['sync', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const summary = json<SyncJson>(first.stdout);
    expect(summary.sync.systems.map((s) => [s.system, s.status, s.records, s.inserted])).toEqual([
      ['trade-fair', 'succeeded', 260, 260],
      ['newsletter', 'succeeded', 260, 260],
    ]);

    // person 150 is on both lists (trade fair 1-260, newsletter 141-400)
    const line = readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('nl-150,'))!;
    const email = line.split(',')[1]!;
    const where = await cli(ws, ['where', email, '--json']);
    expect(where.code).toBe(0);
    const found = json<{
      records: { system: string; id: string }[];
      duplications: { copy: string; source: string; purpose: string }[];
    }>(where.stdout);
    expect(found.records.map((r) => `${r.system}:${r.id}`).sort()).toEqual(['newsletter:nl-150', 'trade-fair:tf-150']);
    expect(found.duplications).toHaveLength(1);
    expect(found.duplications[0]).toMatchObject({
      source: 'trade-fair:trade-fair-2025:tf-150',
      copy: 'newsletter:newsletter:nl-150',
      purpose: 'marketing',
    });
    // the ledger answer carries refs and field names, never the person's values
    expect(where.stdout).not.toContain(email);

    // a second sync reads nothing new: unchanged files are skipped by modification time
    const second = json<SyncJson>((await cli(ws, ['sync', '--json'])).stdout);
    expect(second.sync.systems.map((s) => s.records)).toEqual([0, 0]);
  });

  it('erased rows disappear from the index on the next sync (full diff after a complete read)', async () => {
    const ws = quickstartWorkspace();
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const path = join(ws.dir, 'lists/newsletter.csv');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    writeFileSync(path, `${lines.filter((l) => !l.startsWith('nl-200,') && !l.startsWith('nl-201,')).join('\n')}\n`);
    const again = json<SyncJson>((await cli(ws, ['sync', '--json', '--system', 'newsletter'])).stdout);
    expect(again.sync.systems[0]).toMatchObject({ records: 258, inserted: 0, updated: 0, deleted: 2 });
  });

  it('rejects a malformed list with its file and line, imports nothing from it, and keeps the ledger consistent', async () => {
    const ws = quickstartWorkspace();
    const path = join(ws.dir, 'lists/newsletter.csv');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    lines.splice(10, 0, 'nl-bad,"unterminated,quote');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const res = await cli(ws, ['sync', '--json']);
    expect(res.code).toBe(1);
    const out = json<SyncJson>(res.stdout);
    const nl = out.sync.systems.find((s) => s.system === 'newsletter')!;
    expect(nl.status).toBe('failed');
    expect(nl.error?.code).toBe('CUSTODIAN_ERR_CSV_MALFORMED');
    expect(nl.error?.message).toMatch(/newsletter\.csv line \d+/);
    expect(nl.records).toBe(0);
    expect(out.sync.systems.find((s) => s.system === 'trade-fair')?.status).toBe('succeeded');
    const ledger = await openLedger({ dir: join(ws.dir, 'ledger'), tenant: 'e2e' });
    try {
      expect(await ledger.countRecords('newsletter')).toBe(0);
      expect(await ledger.countRecords('trade-fair')).toBe(260);
    } finally {
      await ledger.close();
    }
  });

  // The resumed sync indexes ~100,000 rows in pages of 100: minutes on a machine shared with other jobs.
  it('resumes after SIGKILL mid-sync without losing or double-counting records', async () => {
    const ws = quickstartWorkspace();
    const header = 'id,email,phone,first_name,last_name,company,notes,opted_out,legal_basis,last_activity';
    const rows = Array.from(
      { length: 100_000 },
      (_, i) => `big-${i},big.${i}@example.test,,Big,Row${i},Acme,,false,consent,2026-01-01`,
    );
    writeWorkspaceFile(ws, 'big/big.csv', `${header}\n${rows.join('\n')}\n`);
    writeFileSync(
      ws.config,
      `tenant: e2e\nledger:\n  dir: ./ledger\nsystems:\n  - name: big\n    connector: csv\n    purposes: [sales]\n    options: { dir: ./big, pageSize: 100 }\n`,
    );
    const run = spawnCli(ws, ['sync'], { env: { CUSTODIAN_LOG_LEVEL: 'debug', CUSTODIAN_SECRET: TEST_SECRET } });
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      run.child.stderr?.on('data', (d: Buffer) => {
        seen += String(d).split('page committed').length - 1;
        if (seen >= 5) {
          run.child.kill('SIGKILL');
          resolve();
        }
      });
      run.child.on('exit', () => reject(new Error('sync finished before it could be killed')));
    });
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');

    const ledger = await openLedger({ dir: join(ws.dir, 'ledger'), tenant: 'e2e' });
    const before = await ledger.countRecords('big');
    await ledger.close();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(100_000);

    const resumed = json<SyncJson>((await cli(ws, ['sync', '--json'])).stdout).sync.systems[0]!;
    expect(resumed.status).toBe('succeeded');
    expect(before + resumed.inserted).toBe(100_000);
    expect(resumed.updated).toBe(0);
    const after = await openLedger({ dir: join(ws.dir, 'ledger'), tenant: 'e2e' });
    try {
      expect(await after.countRecords('big')).toBe(100_000);
    } finally {
      await after.close();
    }
  }, 300_000);

  it('full resync re-reads everything and counts nothing twice', async () => {
    const ws = quickstartWorkspace();
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const full = json<SyncJson>((await cli(ws, ['sync', '--full', '--json'])).stdout);
    expect(full.sync.systems.map((s) => [s.records, s.inserted, s.unchanged, s.deleted])).toEqual([
      [260, 0, 260, 0],
      [260, 0, 260, 0],
    ]);
  });
});

describe('bad input', () => {
  it('an invalid config lists every problem with path and line and exits 2', async () => {
    const ws = quickstartWorkspace();
    writeFileSync(
      ws.config,
      'tenant: Bad Tenant\nsystems:\n  - name: x\n    connector: csv\n    legalBasis: vibes\n    bogus: 1\n',
    );
    const res = await cli(ws, ['sync']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CUSTODIAN_ERR_CONFIG_INVALID');
    expect(res.stderr).toMatch(/tenant \(line 1\)/);
    expect(res.stderr).toMatch(/systems\[0\]\.legalBasis \(line 5\)/);
    expect(res.stderr).toMatch(/systems\[0\] \(line \d\).*bogus/);
  });

  it('a missing $ENV reference names the variable and the path', async () => {
    const ws = quickstartWorkspace();
    writeFileSync(
      ws.config,
      `systems:\n  - name: x\n    connector: csv\n    options: { dir: "${'$'}{NOT_SET_ANYWHERE}" }\n`,
    );
    const res = await cli(ws, ['sync']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CUSTODIAN_ERR_CONFIG_ENV_MISSING');
    expect(res.stderr).toContain('systems[0].options.dir (line 4): environment variable NOT_SET_ANYWHERE is not set');
  });

  it('a missing secret is a coded error, not a crash', async () => {
    const ws = quickstartWorkspace();
    ws.env = { ...ws.env, CUSTODIAN_SECRET: '' };
    const res = await cli(ws, ['sync']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('CUSTODIAN_ERR_SECRET_MISSING');
  });

  it('a ledger that cannot be opened is a coded error naming the folder', async () => {
    const ws = quickstartWorkspace();
    writeWorkspaceFile(ws, 'not-a-dir', 'x');
    writeFileSync(ws.config, readFileSync(ws.config, 'utf8').replace('dir: ./ledger', 'dir: ./not-a-dir/ledger'));
    const res = await cli(ws, ['sync']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('CUSTODIAN_ERR_LEDGER_OPEN');
    expect(res.stderr).toContain('not-a-dir');
  });

  it('an unknown connector and an unknown system are coded usage errors', async () => {
    const ws = quickstartWorkspace();
    writeFileSync(ws.config, 'systems:\n  - name: x\n    connector: nope\n');
    const res = await cli(ws, ['sync']);
    expect(res.stderr).toContain('CUSTODIAN_ERR_CONNECTOR_UNKNOWN');
    const ws2 = quickstartWorkspace();
    const res2 = await cli(ws2, ['sync', '--system', 'ghost']);
    expect(res2.code).toBe(2);
    expect(res2.stderr).toContain('CUSTODIAN_ERR_SYSTEM_UNKNOWN');
  });
});
