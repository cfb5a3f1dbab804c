/**
 * One suite, two backends: embedded PGlite and a real PostgreSQL server (CUSTODIAN_TEST_DATABASE_URL, or
 * one started by testDatabaseUrl()). Each test gets a fresh tenant schema.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IndexEntry, Ledger, RecordRef } from '@custodian/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, openLedger } from '../src/index.js';
import { freshTenant, testDatabaseUrl } from '../src/testing.js';

const ref = (system: string, id: string, object = 'contacts'): RecordRef => ({ system, object, id });
function entry(system: string, id: string, keys: string[], extra: Partial<IndexEntry> = {}): IndexEntry {
  return {
    ref: ref(system, id),
    kind: 'person',
    subjects: keys.map((key) => ({ key, kind: 'email' as const })),
    fieldNames: ['email', 'firstname'],
    links: [],
    updatedAt: '2026-01-01T00:00:00.000Z',
    lastActivityAt: null,
    marketingOptOut: false,
    legalBasis: 'consent',
    archived: false,
    fingerprint: `fp-${id}`,
    ...extra,
  };
}

type Factory = (tenant: string) => Promise<Ledger>;
interface Backend {
  open: Factory;
  /** Drops the tenants' schemas (or their folder) once the suite is done. */
  cleanup(tenants: string[]): Promise<void>;
}

function ledgerSuite(name: string, backend: () => Backend) {
  describe(`ledger on ${name}`, () => {
    let b: Backend;
    const opened: Ledger[] = [];
    const tenants: string[] = [];
    beforeAll(() => {
      b = backend();
    });
    afterAll(async () => {
      for (const l of opened) await l.close().catch(() => undefined);
      await b.cleanup(tenants);
    });
    const fresh = async () => {
      // One ledger open at a time: the embedded ledger's folder is single-owner.
      for (const o of opened.splice(0)) await o.close();
      const tenant = freshTenant();
      tenants.push(tenant);
      const l = await b.open(tenant);
      opened.push(l);
      await l.upsertSystems([
        { name: 'hub', connector: 'hubspot', purposes: ['marketing'], legalBasis: 'consent' },
        { name: 'sf', connector: 'salesforce', purposes: ['sales'], legalBasis: 'contract' },
        { name: 'zoho', connector: 'zoho', purposes: ['support'], legalBasis: null },
      ]);
      return l;
    };
    const commit = (
      l: Ledger,
      runId: string,
      system: string,
      records: IndexEntry[],
      extra: Partial<Parameters<Ledger['commitPage']>[0]> = {},
    ) =>
      l.commitPage({
        runId,
        system,
        stream: 'contacts',
        records,
        deleted: [],
        violations: [],
        checkpoint: { n: records.length },
        at: new Date().toISOString(),
        ...extra,
      });

    it('counts inserts, updates and unchanged records, and re-committing a page is idempotent', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'sync', system: 'hub' });
      const page = [entry('hub', '1', ['k1']), entry('hub', '2', ['k2'])];
      expect(await commit(l, run, 'hub', page)).toMatchObject({ inserted: 2, updated: 0, unchanged: 0 });
      expect(await commit(l, run, 'hub', page)).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
      expect(await commit(l, run, 'hub', [entry('hub', '1', ['k1'], { fingerprint: 'changed' })])).toMatchObject({
        updated: 1,
      });
      expect(await l.countRecords('hub')).toBe(2);
      expect(await l.getCheckpoint('hub', 'contacts')).toEqual({ n: 1 });
      // Same fingerprint, new identities: the subject links are still replaced.
      await commit(l, run, 'hub', [entry('hub', '1', ['k9', 'k1'], { fingerprint: 'changed' })]);
      expect((await l.recordsBySubject(['k9'])).map((r) => r.ref.id)).toEqual(['1']);
      await commit(l, run, 'hub', [entry('hub', '1', ['k9'], { fingerprint: 'changed' })]);
      expect(await l.recordsBySubject(['k1'])).toEqual([]);
      expect((await l.recordsBySubject(['k9'])).map((r) => r.ref.id)).toEqual(['1']);
    });

    it('keeps one duplication row per copy across three systems, with purpose and legal basis, and marks gone copies', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'sync', system: null });
      await commit(l, run, 'hub', [entry('hub', 'h1', ['jane'])]);
      const second = await commit(l, run, 'sf', [entry('sf', 's1', ['jane'])]);
      expect(second.duplicationsAdded).toBe(1);
      await commit(l, run, 'zoho', [entry('zoho', 'z1', ['jane'])]);
      const dups = await l.duplicationsBySubject(['jane']);
      expect(dups.map((d) => [d.source.system, d.copy.system, d.purpose, d.legalBasis, d.status])).toEqual([
        ['hub', 'sf', 'sales', 'contract', 'active'],
        ['hub', 'zoho', 'support', null, 'active'],
      ]);
      expect(dups[0]?.fields).toEqual(['email', 'firstname']);
      await commit(l, run, 'zoho', [], { deleted: [{ ref: ref('zoho', 'z1'), state: 'deleted', deletedAt: null }] });
      const after = await l.duplicationsBySubject(['jane']);
      expect(after.find((d) => d.copy.system === 'zoho')?.status).toBe('gone');
      expect(await l.duplicationSummary()).toEqual([{ system: 'sf', copies: 1, subjects: 1 }]);
    });

    it('links copies by any identity they share, one row per copy, under its first shared identity', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'sync', system: null });
      // The person's email and phone in HubSpot; only the phone in Salesforce; both again in Zoho.
      const person = (system: string, id: string, keys: string[]) =>
        entry(system, id, [], {
          subjects: keys.map((key, i) => ({ key, kind: i === 0 && key.startsWith('mail') ? 'email' : 'phone' })),
        });
      await commit(l, run, 'hub', [person('hub', 'h1', ['mail-jane', 'tel-jane'])]);
      const second = await commit(l, run, 'sf', [person('sf', 's1', ['tel-jane'])]);
      expect(second.duplicationsAdded).toBe(1);
      await commit(l, run, 'zoho', [person('zoho', 'z1', ['mail-jane', 'tel-jane'])]);
      const rows = await l.duplicationsBySubject(['mail-jane', 'tel-jane']);
      expect(rows.map((d) => [d.subjectKey, d.source.id, d.copy.id, d.status]).sort()).toEqual([
        ['mail-jane', 'h1', 'z1', 'active'],
        ['tel-jane', 'h1', 's1', 'active'],
      ]);
      // The Salesforce copy loses the phone: it is no longer a copy.
      await commit(l, run, 'sf', [person('sf', 's1', ['tel-other'])]);
      const after = await l.duplicationsBySubject(['mail-jane', 'tel-jane']);
      expect(after.find((d) => d.copy.id === 's1')?.status).toBe('gone');
      expect(after.find((d) => d.copy.id === 'z1')?.status).toBe('active');
    });

    it('a page whose write fails leaves nothing behind (atomic page + checkpoint)', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'sync', system: 'hub' });
      await expect(
        commit(l, run, 'hub', [entry('hub', '1', ['k1'])], {
          // An invalid severity violates nothing in SQL, so break the page with an invalid timestamp instead.
          at: 'not a timestamp',
        }),
      ).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_LEDGER_QUERY' });
      expect(await l.countRecords()).toBe(0);
      expect(await l.getCheckpoint('hub', 'contacts')).toBeNull();
    });

    it('violations: first and last seen kept, resolved when a re-read no longer finds them, waived stays waived', async () => {
      const l = await fresh();
      const v = (id: string, rule = 'retention') => ({
        policy: 'p',
        rule,
        severity: 'high' as const,
        ref: ref('hub', id),
        field: null,
        evidence: 'inactive 2,000 days',
        subjectKey: null,
      });
      const run1 = await l.startRun({ kind: 'sync', system: 'hub' });
      const t1 = new Date().toISOString();
      await commit(l, run1, 'hub', [entry('hub', '1', ['a']), entry('hub', '2', ['b'])], {
        violations: [v('1'), v('2')],
      });
      await l.finishStream({ runId: run1, system: 'hub', stream: 'contacts', since: t1, full: false });
      await l.setViolationStatus(ref('hub', '2'), 'retention', 'waived');
      const run2 = await l.startRun({ kind: 'sync', system: 'hub' });
      const t2 = new Date(Date.now() + 5).toISOString();
      await new Promise((r) => setTimeout(r, 10));
      await commit(l, run2, 'hub', [entry('hub', '1', ['a']), entry('hub', '2', ['b'])], { violations: [v('2')] });
      const finished = await l.finishStream({ runId: run2, system: 'hub', stream: 'contacts', since: t2, full: false });
      expect(finished.resolved).toBe(1);
      const all = await l.listViolations({});
      expect(all.map((x) => [x.ref.id, x.status])).toEqual([
        ['1', 'resolved'],
        ['2', 'waived'],
      ]);
      expect(await l.countViolations({ status: 'open', minSeverity: 'medium' })).toEqual([]);
    });

    it('full resync marks records not seen again as gone', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'full-sync', system: 'hub' });
      await commit(l, run, 'hub', [entry('hub', '1', ['a']), entry('hub', '2', ['b'])]);
      await new Promise((r) => setTimeout(r, 10));
      const since = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 10));
      await commit(l, run, 'hub', [entry('hub', '1', ['a'])]);
      expect(await l.finishStream({ runId: run, system: 'hub', stream: 'contacts', since, full: true })).toMatchObject({
        markedGone: 1,
      });
      expect(await l.countRecords('hub')).toBe(1);
    });

    it('indexes links, finds records by subject and by link, and marks erased copies', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'sync', system: 'hub' });
      await commit(l, run, 'hub', [entry('hub', 'p1', ['jane'])]);
      await commit(l, run, 'sf', [entry('sf', 's1', ['jane'])]);
      await l.commitPage({
        runId: run,
        system: 'hub',
        stream: 'notes',
        records: [
          {
            ...entry('hub', 'n1', ['jane']),
            ref: ref('hub', 'n1', 'notes'),
            kind: 'activity',
            links: [ref('hub', 'p1')],
          },
        ],
        deleted: [],
        violations: [],
        checkpoint: {},
        at: new Date().toISOString(),
      });
      expect((await l.recordsBySubject(['jane'])).map((r) => `${r.ref.system}:${r.ref.object}:${r.ref.id}`)).toEqual([
        'hub:contacts:p1',
        'hub:notes:n1',
        'sf:contacts:s1',
      ]);
      expect((await l.recordsLinkedTo([ref('hub', 'p1')])).map((r) => r.ref.id)).toEqual(['n1']);
      await l.markErased([ref('sf', 's1')], new Date().toISOString());
      expect((await l.duplicationsBySubject(['jane']))[0]?.status).toBe('erased');
      expect((await l.recordsByRef([ref('sf', 's1')]))[0]?.deletedAt).not.toBeNull();
    });

    it('detaches an erased person from a record kept because others share it', async () => {
      const l = await fresh();
      const run = await l.startRun({ kind: 'sync', system: 'hub' });
      await commit(l, run, 'hub', [entry('hub', 'p1', ['jane']), entry('hub', 'p2', ['joe'])]);
      const note = {
        ...entry('hub', 'n1', ['jane', 'joe']),
        ref: ref('hub', 'n1', 'notes'),
        kind: 'activity' as const,
        links: [ref('hub', 'p1'), ref('hub', 'p2')],
      };
      await l.commitPage({
        runId: run,
        system: 'hub',
        stream: 'notes',
        records: [note],
        deleted: [],
        violations: [],
        checkpoint: {},
        at: new Date().toISOString(),
      });
      await l.detachSubjects([{ ref: note.ref, subjectKeys: ['jane'], links: [ref('hub', 'p1')] }]);
      await l.detachSubjects([{ ref: note.ref, subjectKeys: ['jane'], links: [ref('hub', 'p1')] }]);
      expect((await l.recordsBySubject(['jane'])).map((r) => r.ref.id)).toEqual(['p1']);
      expect((await l.recordsBySubject(['joe'])).map((r) => r.ref.id)).toEqual(['p2', 'n1']);
      expect((await l.recordsLinkedTo([ref('hub', 'p1')])).map((r) => r.ref.id)).toEqual([]);
      const [kept] = await l.recordsByRef([note.ref]);
      expect(kept?.subjects.map((s) => s.key)).toEqual(['joe']);
      expect(kept?.links).toEqual([ref('hub', 'p2')]);
      expect(kept?.deletedAt).toBeNull();
    });

    it('stores tombstones, requests and tasks', async () => {
      const l = await fresh();
      await l.addTombstones([
        { subjectKey: 'gone1', requestId: 'req_1' },
        { subjectKey: 'gone2', requestId: 'req_1' },
      ]);
      expect([...(await l.tombstonesFor(['gone1', 'other']))]).toEqual(['gone1']);
      await l.createRequest({
        id: 'req_1',
        kind: 'erase',
        jurisdiction: 'gdpr',
        state: 'locate',
        subjectKeys: ['gone1'],
        receivedAt: '2026-01-31T10:00:00.000Z',
        dueAt: '2026-02-28T10:00:00.000Z',
        extendedDueAt: null,
        dryRun: false,
        params: { permanent: true },
        result: {},
        error: null,
      });
      await l.upsertTasks([
        { requestId: 'req_1', step: 'execute', ref: ref('hub', '1'), action: 'delete', state: 'pending', reason: null },
      ]);
      await l.updateTask('req_1', 'execute', ref('hub', '1'), { state: 'running' });
      await l.updateTask('req_1', 'execute', ref('hub', '1'), { state: 'done' });
      await l.updateRequest('req_1', { state: 'completed', result: { ok: true } });
      expect(await l.listTasks('req_1')).toEqual([
        expect.objectContaining({ state: 'done', attempts: 1, action: 'delete' }),
      ]);
      expect(await l.getRequest('req_1')).toMatchObject({
        state: 'completed',
        result: { ok: true },
        dueAt: '2026-02-28T10:00:00.000Z',
      });
      expect(await l.listRequests({ open: true })).toEqual([]);
    });

    it('reads and patches a batch of requests and their tasks in one call each', async () => {
      const l = await fresh();
      const base = {
        kind: 'erase' as const,
        jurisdiction: 'gdpr' as const,
        state: 'locate' as const,
        receivedAt: '2026-01-31T10:00:00.000Z',
        dueAt: '2026-02-28T10:00:00.000Z',
        extendedDueAt: null,
        dryRun: false,
        params: {},
        result: {},
        error: null,
      };
      for (const id of ['req_a', 'req_b', 'req_c']) await l.createRequest({ ...base, id, subjectKeys: [`k_${id}`] });
      // Patches of different shapes in one batch: each sets only its own fields.
      await l.updateRequests([
        { id: 'req_a', patch: { state: 'execute', result: { plan: { hub: { delete: 2 } } } } },
        { id: 'req_b', patch: { state: 'blocked', error: 'parked', extendedDueAt: '2026-04-28T10:00:00.000Z' } },
        { id: 'req_c', patch: { subjectKeys: ['k1', 'k2'], dryRun: true, params: { permanent: true } } },
      ]);
      const [a, missing, b, c] = await l.getRequests(['req_a', 'req_none', 'req_b', 'req_c']);
      expect(missing).toBeNull();
      expect(a).toMatchObject({ state: 'execute', result: { plan: { hub: { delete: 2 } } }, error: null });
      expect(b).toMatchObject({
        state: 'blocked',
        error: 'parked',
        extendedDueAt: '2026-04-28T10:00:00.000Z',
        result: {},
      });
      expect(c).toMatchObject({
        state: 'locate',
        subjectKeys: ['k1', 'k2'],
        dryRun: true,
        params: { permanent: true },
      });

      const task = (requestId: string, step: string, id: string) => ({
        requestId,
        step,
        ref: ref('hub', id),
        action: 'delete',
        state: 'pending' as const,
        reason: null,
      });
      await l.upsertTasks([task('req_a', 'execute', '2'), task('req_a', 'execute', '1'), task('req_a', 'verify', '1')]);
      await l.upsertTasks([task('req_b', 'execute', '3')]);
      const byRequest = await l.tasksByRequest(['req_a', 'req_b', 'req_c'], 'execute');
      expect([...byRequest.keys()]).toEqual(['req_a', 'req_b', 'req_c']);
      expect(byRequest.get('req_a')!.map((t) => t.ref.id)).toEqual(['1', '2']);
      expect(byRequest.get('req_b')!.map((t) => t.ref.id)).toEqual(['3']);
      expect(byRequest.get('req_c')).toEqual([]);
      expect((await l.tasksByRequest(['req_a'])).get('req_a')!.map((t) => t.step)).toEqual([
        'execute',
        'execute',
        'verify',
      ]);
    });

    it('keeps a hash chain that verifies, and refuses updates to the audit log', async () => {
      const l = await fresh();
      const first = await l.appendAudit([{ actor: 'test', action: 'a', data: { n: 1, nested: { z: 1, a: [1, 2] } } }]);
      const second = await l.appendAudit([
        { actor: 'test', action: 'b', data: {} },
        { actor: 'test', action: 'c', data: { refs: ['hub:contacts:1'] } },
      ]);
      expect(second[0]?.prevHash).toBe(first[0]?.hash);
      expect(await l.verifyAudit()).toMatchObject({ ok: true, count: 3, headHash: second[1]?.hash });
      expect(await l.auditHead()).toEqual({ seq: 3, hash: second[1]?.hash });
      await Promise.all(
        Array.from({ length: 5 }, (_, i) => l.appendAudit([{ actor: 'concurrent', action: `x${i}`, data: { i } }])),
      );
      expect(await l.verifyAudit()).toMatchObject({ ok: true, count: 8 });
    });
  });
}

// Tenants share one folder (each its own schema), so the suite pays PGlite's initdb once.
ledgerSuite('PGlite in memory', () => ({
  open: (tenant) => openLedger({ memory: true, tenant }),
  cleanup: async () => {},
}));
ledgerSuite('PGlite in a folder', () => {
  const parent = mkdtempSync(join(tmpdir(), 'ledger-'));
  return {
    open: (tenant) => openLedger({ dir: join(parent, 'ledger'), tenant }),
    cleanup: async () => rmSync(parent, { recursive: true, force: true }),
  };
});
ledgerSuite('PostgreSQL', () => {
  let url: Promise<string> | null = null;
  return {
    open: async (tenant) => {
      url = url ?? testDatabaseUrl();
      return openLedger({ databaseUrl: await url, tenant });
    },
    cleanup: async (tenants) => {
      if (!url || tenants.length === 0) return;
      const client = new pg.Client({ connectionString: await url });
      await client.connect();
      try {
        for (const tenant of tenants) await client.query(`DROP SCHEMA IF EXISTS custodian_${tenant} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
});

describe('ledger on PostgreSQL only', () => {
  let url: string;
  const tenants: string[] = [];
  const freshPgTenant = () => {
    const tenant = freshTenant();
    tenants.push(tenant);
    return tenant;
  };
  beforeAll(async () => {
    url = await testDatabaseUrl();
  });
  afterAll(async () => {
    if (!url) return;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const tenant of tenants) await client.query(`DROP SCHEMA IF EXISTS custodian_${tenant} CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('detects a tampered audit row, and the append-only trigger must be bypassed to tamper at all', async () => {
    const tenant = freshPgTenant();
    const l = await openLedger({ databaseUrl: url, tenant });
    await l.appendAudit([1, 2, 3].map((n) => ({ actor: 't', action: `a${n}`, data: { n } })));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await expect(client.query(`UPDATE custodian_${tenant}.audit_log SET actor = 'x' WHERE seq = 2`)).rejects.toThrow(
        /append-only/,
      );
      await client.query(`ALTER TABLE custodian_${tenant}.audit_log DISABLE TRIGGER audit_log_no_change`);
      await client.query(`UPDATE custodian_${tenant}.audit_log SET data = '{"n": 20}' WHERE seq = 2`);
    } finally {
      await client.end();
    }
    expect(await l.verifyAudit()).toMatchObject({ ok: false, brokenAt: 2 });
    await l.close();
  });

  it('isolates tenants in one server and migrates once when opened concurrently', async () => {
    const tenant = freshPgTenant();
    const ledgers = await Promise.all(Array.from({ length: 4 }, () => openLedger({ databaseUrl: url, tenant })));
    const other = await openLedger({ databaseUrl: url, tenant: freshPgTenant() });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number; n: string }>(
        `SELECT version, count(*) AS n FROM custodian_${tenant}.schema_migrations GROUP BY version ORDER BY version`,
      );
      expect(rows.length).toBe(LATEST_VERSION);
      expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    } finally {
      await client.end();
    }
    await ledgers[0]!.addTombstones([{ subjectKey: 'k', requestId: null }]);
    expect((await ledgers[3]!.tombstonesFor(['k'])).size).toBe(1);
    expect((await other.tombstonesFor(['k'])).size).toBe(0);
    for (const l of [...ledgers, other]) await l.close();
  });

  it('links the copies of syncs committing at once: every copy gets its row, no deadlock', async () => {
    // Six workers' syncs, each of another system holding the same 1,000 people, commit their pages together.
    const tenant = freshPgTenant();
    const ledgers = await Promise.all(Array.from({ length: 6 }, () => openLedger({ databaseUrl: url, tenant })));
    const systems = ledgers.map((_, i) => `sys-${i}`);
    await ledgers[0]!.upsertSystems(
      systems.map((name) => ({ name, connector: 'csv', purposes: ['sales'], legalBasis: 'contract' as const })),
    );
    const run = await ledgers[0]!.startRun({ kind: 'sync', system: null });
    const people = Array.from({ length: 1000 }, (_, p) => `person-${p}`);
    await Promise.all(
      ledgers.map((l, i) =>
        l.commitPage({
          runId: run,
          system: systems[i]!,
          stream: 'contacts',
          records: people.map((p) => entry(systems[i]!, `${p}@${i}`, [p])),
          deleted: [],
          violations: [],
          checkpoint: { n: 1 },
          at: new Date().toISOString(),
        }),
      ),
    );
    const rows = await ledgers[0]!.duplicationsBySubject(people);
    // Per person: the first copy is the source, the five others are copies, each under one row.
    expect(rows.filter((d) => d.status === 'active')).toHaveLength(1000 * 5);
    for (const p of people) {
      const own = rows.filter((d) => d.subjectKey === p);
      expect(new Set(own.map((d) => `${d.source.system}/${d.source.id}`)).size).toBe(1);
      expect(new Set(own.map((d) => d.copy.system)).size).toBe(5);
    }
    for (const l of ledgers) await l.close();
  });

  it('names the host, never the password, when the server cannot be reached', async () => {
    await expect(openLedger({ databaseUrl: 'postgres://custodian:s3cr3t-pw@127.0.0.1:1/ledger' })).rejects.toSatisfy(
      (err: Error & { code?: string }) => {
        expect(err.code).toBe('CUSTODIAN_ERR_LEDGER_OPEN');
        expect(err.message).toContain('127.0.0.1:1');
        expect(JSON.stringify({ m: err.message, c: String(err.cause) })).not.toContain('s3cr3t-pw');
        return true;
      },
    );
  });
});

describe('embedded ledger errors', () => {
  it('a folder that cannot be created is CUSTODIAN_ERR_LEDGER_OPEN naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-bad-'));
    writeFileSync(join(dir, 'file'), 'x');
    await expect(openLedger({ dir: join(dir, 'file', 'ledger') })).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_LEDGER_OPEN',
      message: expect.stringContaining(join(dir, 'file')),
    });
  });

  it('a folder held by a live process is refused; a stale lock from a killed process is taken over', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ledger-lock-')), 'ledger');
    const first = await openLedger({ dir });
    await expect(openLedger({ dir })).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_LEDGER_OPEN',
      message: expect.stringContaining('in use by process'),
    });
    await first.close();
    writeFileSync(`${dir}.lock`, '999999');
    const second = await openLedger({ dir });
    expect(await second.countRecords()).toBe(0);
    await second.close();
  });

  it('stores no raw personal data: only refs, keys, field names and masked evidence reach the tables', async () => {
    const l = await openLedger({ memory: true, tenant: 'pii' });
    const run = await l.startRun({ kind: 'sync', system: 'hub' });
    await l.commitPage({
      runId: run,
      system: 'hub',
      stream: 'contacts',
      records: [entry('hub', '1', ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'])],
      deleted: [],
      violations: [
        {
          policy: 'p',
          rule: 'sensitive-free-text',
          severity: 'high',
          ref: ref('hub', '1'),
          field: 'notes',
          evidence: 'card_number **** 1111',
          subjectKey: null,
        },
      ],
      checkpoint: { after: '100' },
      at: new Date().toISOString(),
    });
    const dump = JSON.stringify([
      await l.recordsBySubject(['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']),
      await l.listViolations({}),
    ]);
    expect(dump).toContain('card_number **** 1111');
    expect(dump).not.toMatch(/4111\s?1111\s?1111\s?1111|@example/);
    await l.close();
  });
});
