import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { detectCommand } from '../../packages/cli/src/commands/detect.js';
import { cli, quickstartWorkspace } from './helpers.js';

describe('custodian init and doctor', () => {
  it('init writes a valid starter config and a 0600 secret; doctor checks it and names what is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-init-'));
    const ws = { dir, config: join(dir, 'custodian.config.yaml'), env: { ...process.env, CUSTODIAN_SECRET: '' } };
    const init = await cli(ws, ['init', '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(statSync(join(dir, '.custodian/secret')).mode & 0o777).toBe(0o600);
    expect(readFileSync(ws.config, 'utf8')).toContain('rule: sensitive-free-text');
    expect((await cli(ws, ['init'])).code).toBe(2); // refuses to overwrite
    // The starter points at ./lists, which does not exist yet: doctor says so and exits 1.
    const doctor = await cli(ws, ['doctor', '--json']);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as {
      checks: { scope: string; check: string; ok: boolean; message: string }[];
    };
    expect(report.checks.find((c) => c.check === 'secret')?.ok).toBe(true);
    expect(report.checks.find((c) => c.scope === 'sales-lists' && !c.ok)?.message).toContain('CSV folder not found');
  });

  it('doctor passes on the quickstart and reports every list', async () => {
    const ws = quickstartWorkspace();
    const doctor = await cli(ws, ['doctor', '--json']);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toContain('all mapped columns present');
  });

  it('a group-readable secret file is refused', async () => {
    const ws = quickstartWorkspace();
    const secret = join(ws.dir, 'secret');
    writeFileSync(secret, 'x'.repeat(64), { mode: 0o644 });
    writeFileSync(
      ws.config,
      readFileSync(ws.config, 'utf8').replace('tenant: e2e', `tenant: e2e\nsecretFile: ${secret}`),
    );
    ws.env = { ...ws.env, CUSTODIAN_SECRET: '' };
    const res = await cli(ws, ['sync']);
    expect(res.stderr).toContain('CUSTODIAN_ERR_SECRET_INSECURE');
  });
});

describe('custodian sync --fail-on and --apply', () => {
  it('exits 1 when open violations at or above the severity exist, 0 below it', async () => {
    const ws = quickstartWorkspace('policies:\n  - rule: sensitive-free-text\n    severity: high\n');
    expect((await cli(ws, ['sync', '--fail-on', 'critical'])).code).toBe(0);
    const high = await cli(ws, ['sync', '--fail-on', 'high', '--json']);
    expect(high.code).toBe(1);
    expect(JSON.parse(high.stdout).failingViolations).toBe(14);
    const listed = JSON.parse((await cli(ws, ['violations', '--rule', 'sensitive-free-text', '--json'])).stdout) as {
      violations: { evidence: string }[];
    };
    expect(listed.violations).toHaveLength(14);
    expect(listed.violations.every((v) => /^card_number \(visa\) \*\*\*\* \d{4}$/.test(v.evidence))).toBe(true);
  });

  it('redacts card numbers in the lists only with --apply and an enabled policy, then resolves the violations', async () => {
    const ws = quickstartWorkspace('policies:\n  - rule: sensitive-free-text\n    action: redact\n    enabled: true\n');
    const dry = JSON.parse((await cli(ws, ['sync', '--json'])).stdout) as {
      remediations: { planned: number; applied: number };
    };
    expect(dry.remediations).toMatchObject({ planned: 14, applied: 0 });
    expect(readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')).toMatch(/Paid by card 4111\d{12}/);
    const applied = JSON.parse((await cli(ws, ['sync', '--full', '--apply', '--json'])).stdout) as {
      remediations: { applied: number };
    };
    expect(applied.remediations.applied).toBe(14);
    const rows = [
      ...parse(readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')),
      ...parse(readFileSync(join(ws.dir, 'lists/trade-fair-2025.csv'), 'utf8')),
    ] as string[][];
    expect(rows.some((r) => /4111\d{12}/.test(r[6] ?? ''))).toBe(false);
    expect(rows.filter((r) => (r[6] ?? '').includes('[REDACTED:card_number]'))).toHaveLength(14);
    // The next sync re-reads the rewritten lists and resolves what it no longer finds.
    await cli(ws, ['sync']);
    const open = JSON.parse((await cli(ws, ['violations', '--json'])).stdout) as { violations: unknown[] };
    expect(open.violations).toHaveLength(0);
    const audit = JSON.parse((await cli(ws, ['audit', 'verify', '--json'])).stdout) as { ok: boolean; count: number };
    expect(audit).toMatchObject({ ok: true, count: 14 });
  });
});

describe('custodian detect', () => {
  const run = async (input: string) => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string) => {
      out.push(String(c));
      return true;
    }) as typeof process.stdout.write;
    try {
      await detectCommand({}, Readable.from([input]));
    } finally {
      process.stdout.write = write;
    }
    return out
      .join('')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { id: string; findings: { start: number; end: number; type: string; confidence: number }[] },
      );
  };

  it('reads JSON lines and writes one line per input, in order, with offsets', async () => {
    const lines = await run(
      '{"id":"a","text":"card 4111 1111 1111 1111"}\n{"id":"b","text":"nothing here"}\n{"id":"c","text":"Passwort: Geheim1"}\n',
    );
    expect(lines.map((l) => l.id)).toEqual(['a', 'b', 'c']);
    expect(lines[0]?.findings).toEqual([{ start: 5, end: 24, type: 'card_number', confidence: 0.98 }]);
    expect(lines[1]?.findings).toEqual([]);
    expect(lines[2]?.findings[0]?.type).toBe('credential');
  });

  it('stops at a bad line and names it', async () => {
    await expect(run('{"id":"a","text":"ok"}\nnot json\n')).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_INPUT_INVALID',
      message: 'stdin line 2: not valid JSON',
    });
  });
});
