import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { cli, quickstartWorkspace, resumeOpen, runKilledAt, type Workspace, withLedger } from './helpers.js';

const json = <T>(s: string): T => JSON.parse(s) as T;
interface RequestJson {
  id: string;
  state: string;
  error: string | null;
  params: Record<string, unknown>;
  result: {
    certificate?: {
      systems: { system: string; found: number; done: number; alreadyGone: number; verified: number }[];
      certificateHash: string;
      auditHeadHash: string;
      exemptions: { reason: string; count: number }[];
    };
    plan?: Record<string, Record<string, number>>;
  };
}

function personLine(ws: Workspace, list: string, id: string): string[] {
  const rows = parse(readFileSync(join(ws.dir, `lists/${list}.csv`), 'utf8')) as string[][];
  return rows.find((r) => r[0] === id)!;
}

async function ledgerDump(ws: Workspace): Promise<string> {
  return withLedger(ws, async (ledger) => {
    const requests = await ledger.listRequests({});
    const audit = await ledger.listAudit({ limit: 100_000 });
    const where = await ledger.listViolations({ limit: 100_000 });
    return JSON.stringify({ requests, audit, where });
  });
}

describe('data-subject requests on the CSV lists', () => {
  it('erase: deletes the person from both lists, verifies, tombstones, certifies, and `where` finds nothing', async () => {
    const ws = quickstartWorkspace();
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const [, email, phone] = personLine(ws, 'newsletter', 'nl-150');

    const dry = await cli(ws, ['erase', email!, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = json<RequestJson>(dry.stdout);
    expect(plan.state).toBe('completed');
    expect(plan.result.plan).toEqual({ 'trade-fair': { delete: 1 }, newsletter: { delete: 1 } });
    expect(readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')).toContain(email); // dry run changed nothing

    const res = await cli(ws, ['erase', email!, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const done = json<RequestJson>(res.stdout);
    expect(done.state).toBe('completed');
    expect(done.result.certificate?.systems).toEqual([
      expect.objectContaining({ system: 'trade-fair', found: 1, done: 1, verified: 1 }),
      expect.objectContaining({ system: 'newsletter', found: 1, done: 1, verified: 1 }),
    ]);
    for (const list of ['newsletter', 'trade-fair-2025']) {
      const text = readFileSync(join(ws.dir, `lists/${list}.csv`), 'utf8');
      expect(text).not.toContain(email);
      expect(text.trimEnd().split('\n')).toHaveLength(260); // header + 259 rows
    }
    const where = json<{ records: { deletedAt: string | null }[] }>(
      (await cli(ws, ['where', phone!, '--json'])).stdout,
    );
    expect(where.records.every((r) => r.deletedAt !== null)).toBe(true);

    const audit = await cli(ws, ['audit', 'verify', '--json']);
    expect(json<{ ok: boolean; headHash: string }>(audit.stdout).ok).toBe(true);

    // Completed requests keep refs, counts and hashes only; the sealed identities are gone.
    const dump = await ledgerDump(ws);
    expect(dump).not.toContain(email);
    expect(dump).not.toContain(phone);
    expect(dump).not.toContain('"sealed"');
  });

  it('erase of a person on a list with an exemption keeps the record and says why on the certificate', async () => {
    const ws = quickstartWorkspace(`requests:
  exemptions:
    - system: trade-fair
      action: keep
      reason: "contract records kept 6 years (HGB §257)"
`);
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const [, email] = personLine(ws, 'newsletter', 'nl-160');
    const done = json<RequestJson>((await cli(ws, ['erase', email!, '--json'])).stdout);
    expect(done.state).toBe('completed');
    expect(done.result.certificate?.exemptions).toEqual([
      expect.objectContaining({ count: 1, reason: 'contract records kept 6 years (HGB §257)' }),
    ]);
    expect(readFileSync(join(ws.dir, 'lists/trade-fair-2025.csv'), 'utf8')).toContain(email);
    expect(readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')).not.toContain(email);
  });

  it('export writes JSON per system, a CSV and a summary, and records the export as a copy', async () => {
    const ws = quickstartWorkspace();
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const [, email] = personLine(ws, 'newsletter', 'nl-170');
    const out = join(ws.dir, 'export-170');
    const res = await cli(ws, ['export', email!, '--out', out, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['newsletter.json', 'records.csv', 'summary.json', 'trade-fair.json']);
    expect(statSync(join(out, 'records.csv')).mode & 0o777).toBe(0o600);
    const nl = json<{ records: { fields: Record<string, string> }[] }>(
      readFileSync(join(out, 'newsletter.json'), 'utf8'),
    );
    expect(nl.records[0]?.fields.email).toBe(email);
    const summary = json<{ systems: { system: string; purposes: string[] }[] }>(
      readFileSync(join(out, 'summary.json'), 'utf8'),
    );
    expect(summary.systems.map((s) => [s.system, s.purposes])).toEqual([
      ['trade-fair', ['sales']],
      ['newsletter', ['marketing']],
    ]);
    const where = json<{ duplications: { origin: string; copy: string }[] }>(
      (await cli(ws, ['where', email!, '--json'])).stdout,
    );
    expect(where.duplications.filter((d) => d.origin === 'export')).toHaveLength(2);
    expect(await ledgerDump(ws)).not.toContain(email);
  });

  it('rectify writes the new value to every copy and verifies it; opt-out sets the flag everywhere', async () => {
    const ws = quickstartWorkspace();
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const [, email] = personLine(ws, 'newsletter', 'nl-180');
    const fixed = await cli(ws, ['rectify', email!, '--set', 'lastName=Kalnina-Berzina', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(json<RequestJson>(fixed.stdout).state).toBe('completed');
    expect(personLine(ws, 'newsletter', 'nl-180')[4]).toBe('Kalnina-Berzina');
    expect(personLine(ws, 'trade-fair-2025', 'tf-180')[4]).toBe('Kalnina-Berzina');
    expect(await ledgerDump(ws)).not.toContain('Kalnina-Berzina');

    const opted = await cli(ws, ['opt-out', email!, '--json']);
    expect(json<RequestJson>(opted.stdout).state).toBe('completed');
    expect(personLine(ws, 'newsletter', 'nl-180')[7]).toBe('true');
    expect(personLine(ws, 'trade-fair-2025', 'tf-180')[7]).toBe('true');
  });

  it('an unknown identity format is a coded usage error that does not echo the input', async () => {
    const ws = quickstartWorkspace();
    const res = await cli(ws, ['erase', 'not an identity at all']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CUSTODIAN_ERR_IDENTITY_INVALID');
    expect(res.stderr).not.toContain('not an identity at all');
  });
});

describe('crash safety of erasure (SIGKILL at every step boundary)', () => {
  const points = ['plan', 'execute', 'execute:trade-fair', 'purge', 'verify', 'tombstone', 'certificate'];
  it.each(points)(
    'killed at %s, resumed: same outcome as an uninterrupted run, nothing deleted twice',
    async (point) => {
      const ws = quickstartWorkspace();
      expect((await cli(ws, ['sync'])).code).toBe(0);
      const [, email] = personLine(ws, 'newsletter', 'nl-190');
      await runKilledAt(ws, ['erase', email!], point);

      const { open } = await resumeOpen(ws);
      expect(open).toHaveLength(1);
      const shown = json<RequestJson>((await cli(ws, ['requests', 'show', open[0]!, '--json'])).stdout);
      expect(shown.state).toBe('completed');
      const systems = shown.result.certificate!.systems;
      // Each ref erased exactly once: either done in the first run or found "already gone" on resume.
      for (const s of systems) {
        expect(s.found).toBe(1);
        expect(s.done + s.alreadyGone).toBe(1);
        expect(s.verified).toBe(1);
      }
      for (const list of ['newsletter', 'trade-fair-2025']) {
        const text = readFileSync(join(ws.dir, `lists/${list}.csv`), 'utf8');
        expect(text).not.toContain(email);
        expect(text.trimEnd().split('\n')).toHaveLength(260);
      }
      expect(json<{ ok: boolean }>((await cli(ws, ['audit', 'verify', '--json'])).stdout).ok).toBe(true);
    },
    60_000,
  );
});

describe('deletions found by sync propagate', () => {
  it('a deletion in a source system opens an erase request for the other copies: dry run first, then for real', async () => {
    const { openContext } = await import('@custodian/cli');
    const { propagateDeletions } = await import('@custodian/core');
    const { requestDeps } = await import('../../packages/cli/src/commands/requests.js');
    const ws = quickstartWorkspace('requests:\n  approval: never\n');
    expect((await cli(ws, ['sync'])).code).toBe(0);
    const [, email] = personLine(ws, 'newsletter', 'nl-155');
    const ctx = await openContext({ configPath: ws.config, env: ws.env });
    try {
      const deps = await requestDeps(ctx, 'test');
      const deleted = [
        { system: 'trade-fair', refs: [{ system: 'trade-fair', object: 'trade-fair-2025', id: 'tf-155' }] },
      ];
      const dry = await propagateDeletions(
        deps,
        { name: 'p', rule: 'propagate-deletions', sources: ['trade-fair'], enabled: false },
        deleted,
      );
      expect(dry[0]?.opened).toEqual([expect.objectContaining({ dryRun: true, state: 'completed' })]);
      expect(readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')).toContain(email);
      // Other systems than the sources never trigger anything.
      expect(
        await propagateDeletions(
          deps,
          { name: 'p', rule: 'propagate-deletions', sources: ['newsletter'], enabled: true },
          deleted,
        ),
      ).toEqual([]);
      const real = await propagateDeletions(
        deps,
        { name: 'p', rule: 'propagate-deletions', sources: ['trade-fair'], enabled: true },
        deleted,
      );
      expect(real[0]?.opened).toEqual([expect.objectContaining({ dryRun: false, state: 'completed' })]);
      expect(readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')).not.toContain(email);
      // The source system itself is left alone: its deletion is the vendor's own.
      expect(readFileSync(join(ws.dir, 'lists/trade-fair-2025.csv'), 'utf8')).toContain(email);
    } finally {
      await ctx.close();
    }
  });
});
