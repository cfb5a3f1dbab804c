import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  applyRemediations,
  type CrmRecord,
  createPolicyEngine,
  defineRule,
  type IndexedRecord,
  PoliciesSchema,
  type PolicyRecordContext,
  parsePolicies,
  type RecordRef,
  type RefResult,
  STARTER_POLICIES_YAML,
  type StreamDefinition,
  type SystemInfo,
  silentLogger,
} from '../src/index.js';

const stream: StreamDefinition = {
  name: 'contacts',
  kind: 'person',
  cursor: 'timestamp',
  deletes: { kind: 'none', reason: 'test' },
  fields: [
    { name: 'email', category: 'contact.email', canonical: 'email' },
    { name: 'phone', category: 'contact.phone', canonical: 'phone' },
    { name: 'name', category: 'name', canonical: 'lastName' },
    { name: 'notes', category: 'free_text' },
    { name: 'optout', category: 'consent' },
    { name: 'diagnosis', category: 'health' },
  ],
};
const systems = new Map<string, SystemInfo>([
  ['hub', { name: 'hub', connector: 'hubspot', purposes: ['marketing'], legalBasis: 'consent', streams: [stream] }],
  ['sf', { name: 'sf', connector: 'salesforce', purposes: ['sales'], legalBasis: 'contract', streams: [stream] }],
  ['lab', { name: 'lab', connector: 'csv', purposes: [], legalBasis: null, streams: [stream] }],
]);
const NOW = new Date('2026-11-23T00:00:00Z');

function rec(system: string, id: string, fields: Record<string, unknown>, extra: Partial<CrmRecord> = {}): CrmRecord {
  return {
    ref: { system, object: 'contacts', id },
    kind: 'person',
    canonical: { email: String(fields.email ?? '') },
    fields,
    consent: { marketingOptOut: false, legalBasis: 'consent' },
    lastActivityAt: '2026-10-01T00:00:00Z',
    ...extra,
  };
}
function copy(system: string, id: string, extra: Partial<IndexedRecord> = {}): IndexedRecord {
  return {
    ref: { system, object: 'contacts', id },
    kind: 'person',
    subjects: [{ key: 'k1', kind: 'email' }],
    fieldNames: ['email'],
    links: [],
    updatedAt: null,
    lastActivityAt: null,
    marketingOptOut: false,
    legalBasis: null,
    archived: false,
    fingerprint: 'x',
    firstSeen: '2026-01-01T00:00:00Z',
    lastSeen: '2026-01-01T00:00:00Z',
    deletedAt: null,
    ...extra,
  };
}
const ctx = (system: string, extra: Partial<PolicyRecordContext> = {}): PolicyRecordContext => ({
  system: systems.get(system)!,
  stream,
  now: NOW,
  subjectKeys: ['k1'],
  copies: [],
  tombstoned: false,
  systems,
  ...extra,
});
const run = (policies: unknown[], record: CrmRecord, context: PolicyRecordContext) =>
  createPolicyEngine({ policies: parsePolicies(policies) }).evaluate([record], () => context);

describe('built-in rules', () => {
  it('consent: marketing needs consent; another purpose needs any legal basis', () => {
    const noBasis = rec(
      'hub',
      '1',
      { email: 'a@x.io', optout: 'false' },
      { consent: { marketingOptOut: false, legalBasis: 'legitimate_interest' } },
    );
    expect(run([{ rule: 'consent' }], noBasis, ctx('hub')).violations.map((v) => v.evidence)).toEqual([
      'no consent recorded for marketing (basis: legitimate_interest)',
    ]);
    const ok = rec('hub', '2', { email: 'a@x.io' });
    expect(run([{ rule: 'consent' }], ok, ctx('hub')).violations).toEqual([]);
    const sales = rec('sf', '3', { email: 'a@x.io' }, { consent: { legalBasis: null } });
    expect(run([{ rule: 'consent' }], sales, ctx('sf')).violations.map((v) => v.evidence)).toEqual([
      'no legal basis recorded for sales',
    ]);
  });

  it('retention: inactive longer than the limit, per lifecycle stage', () => {
    const old = rec('sf', '1', { email: 'a@x.io' }, { lastActivityAt: '2021-01-01T00:00:00Z', lifecycleStage: 'lead' });
    expect(
      run([{ rule: 'retention', params: { maxInactiveDays: 3000, stages: { lead: 365 } } }], old, ctx('sf'))
        .violations[0]?.evidence,
    ).toBe('inactive 2,152 days (limit 365 for lead)');
    expect(
      run([{ rule: 'retention', params: { maxInactiveDays: 3000 } }], { ...old, lifecycleStage: null }, ctx('sf'))
        .violations,
    ).toEqual([]);
  });

  it('minimisation: fields the purpose does not need, and a sensitive value in a field not meant for it', () => {
    const r = rec('hub', '1', { email: 'a@x.io', phone: '+4930123456', diagnosis: 'x', name: 'SSN 078-05-1120' });
    const found = run([{ rule: 'minimisation' }], r, ctx('hub')).violations.map((v) => [v.field, v.evidence]);
    expect(found).toContainEqual(['phone', 'field phone (contact.phone) is not needed for marketing']);
    expect(found).toContainEqual(['diagnosis', 'field diagnosis (health) is not needed for marketing']);
    expect(found).toContainEqual([
      'name',
      'identifier.government stored in name field name: national_id (us_ssn) ***20',
    ]);
  });

  it('sensitive-free-text: masked evidence per type, redact remediation carries the text only for the CRM', () => {
    const note = 'Paid by card 4111 1111 1111 1111, she is pregnant';
    const r = rec('sf', '1', { email: 'a@x.io', notes: note });
    const out = run([{ rule: 'sensitive-free-text', action: 'redact', enabled: true }], r, ctx('sf'));
    expect(out.violations.map((v) => v.evidence)).toEqual(['card_number (visa) **** 1111', 'health (diagnosis)']);
    expect(out.remediations[0]).toMatchObject({
      action: 'redact',
      field: 'notes',
      expected: note,
      replacement: 'Paid by card [REDACTED:card_number], she is [REDACTED:health]',
    });
  });

  it('opt-out drift is flagged on the copy that still allows marketing, whichever side is evaluated', () => {
    const here = rec('hub', '1', { email: 'a@x.io' });
    expect(
      run(
        [{ rule: 'opt-out-drift', action: 'opt-out' }],
        here,
        ctx('hub', { copies: [copy('sf', '9', { marketingOptOut: true })] }),
      ).violations,
    ).toEqual([expect.objectContaining({ ref: here.ref, evidence: 'opted out of marketing in sf, not here' })]);
    const optedOut = rec('sf', '9', { email: 'a@x.io' }, { consent: { marketingOptOut: true } });
    const result = run(
      [{ rule: 'opt-out-drift', action: 'opt-out' }],
      optedOut,
      ctx('sf', { copies: [copy('hub', '1')] }),
    );
    expect(result.violations[0]?.ref).toEqual({ system: 'hub', object: 'contacts', id: '1' });
    expect(result.remediations[0]).toMatchObject({ action: 'opt-out', ref: { system: 'hub', id: '1' } });
  });

  it('duplicate-record flags every record but the one to keep; resurrected and undeclared copies', () => {
    const dup = rec('hub', '20', { email: 'a@x.io' });
    expect(
      run([{ rule: 'duplicate-record' }], dup, ctx('hub', { copies: [copy('hub', '3')] })).violations[0]?.evidence,
    ).toBe('2 records of one person in hub');
    expect(
      run([{ rule: 'duplicate-record' }], rec('hub', '3', {}), ctx('hub', { copies: [copy('hub', '20')] })).violations,
    ).toEqual([]);
    expect(run([{ rule: 'resurrected-subject' }], dup, ctx('hub', { tombstoned: true })).violations[0]?.severity).toBe(
      'critical',
    );
    const lab = rec('lab', '1', { email: 'a@x.io' });
    expect(
      run([{ rule: 'undeclared-copy' }], lab, ctx('lab', { copies: [copy('hub', '1')] })).violations[0]?.evidence,
    ).toBe('copy in lab (purposes: none declared) serves none of marketing');
  });
});

describe('policy configuration', () => {
  it('reports every problem with its config path, and lists known rules for an unknown one', () => {
    try {
      parsePolicies([
        { rule: 'retention', params: { maxInactiveDays: -5 } },
        { rule: 'nope' },
        { rule: 'consent', action: 'redact' },
        { preset: 'hipaa' },
        { rule: 'retention', colour: 'red' },
      ]);
      expect.unreachable();
    } catch (err) {
      const message = (err as Error).message;
      expect((err as { code: string }).code).toBe('CUSTODIAN_ERR_POLICY_INVALID');
      expect(message).toContain('policies[0].params.maxInactiveDays');
      expect(message).toMatch(/policies\[1\]\.rule: unknown rule "nope"; known rules: consent, retention/);
      expect(message).toContain('policies[2].action: rule consent supports only flag, not redact');
      expect(message).toContain('policies[3].preset');
      expect(message).toContain('policies[4]');
    }
  });

  it('PoliciesSchema embeds the same validation in a config schema', () => {
    const config = z.object({ policies: PoliciesSchema });
    const ok = config.parse({ policies: [{ preset: 'ccpa' }] });
    expect(ok.policies.map((p) => p.rule)).toContain('opt-out-drift');
    const bad = config.safeParse({ policies: [{ rule: 'retention', params: { maxInactiveDays: 'x' } }] });
    expect(bad.success).toBe(false);
    const messages = bad.error?.issues.map((i) => i.message) ?? [];
    expect(messages.some((m) => m.startsWith('[0].params.maxInactiveDays'))).toBe(true);
    expect(bad.error?.issues[0]?.path).toEqual(['policies']);
  });

  it('presets expand with defaults, and the starter YAML parses', () => {
    expect(parsePolicies([{ preset: 'gdpr' }]).map((p) => p.rule)).toEqual([
      'consent',
      'retention',
      'minimisation',
      'sensitive-free-text',
      'opt-out-drift',
      'duplicate-record',
      'resurrected-subject',
      'undeclared-copy',
    ]);
    expect(parsePolicies([{ preset: 'ccpa' }])).toHaveLength(5);
    expect(parsePolicies([{ preset: 'pipl' }]).find((p) => p.rule === 'consent')?.params).toMatchObject({
      requireConsentFor: expect.arrayContaining(['sales']),
    });
    const starter = parseYaml(STARTER_POLICIES_YAML) as { policies: unknown[] };
    expect(parsePolicies(starter.policies)).toHaveLength(8);
  });

  it('runs custom rules registered from code, and refuses a name clash', () => {
    const vip = defineRule({
      name: 'no-vip-in-lab',
      params: z.object({ tag: z.string() }),
      actions: [],
      defaultSeverity: 'low',
      evaluate: (record, params) => (record.ref.system === 'lab' ? [{ evidence: `${params.tag} in lab` }] : []),
    });
    const policies = parsePolicies([{ rule: 'no-vip-in-lab', params: { tag: 'vip' } }], 'policies', [vip as never]);
    const out = createPolicyEngine({ policies, customRules: [vip as never] }).evaluate([rec('lab', '1', {})], () =>
      ctx('lab'),
    );
    expect(out.violations[0]).toMatchObject({ rule: 'no-vip-in-lab', evidence: 'vip in lab', severity: 'low' });
    expect(() => parsePolicies([], 'policies', [{ ...vip, name: 'retention' } as never])).toThrow(
      /clashes with a built-in rule/,
    );
  });
});

describe('remediations', () => {
  const target = () => {
    const calls: { update: unknown[]; optOut: RecordRef[][] } = { update: [], optOut: [] };
    return {
      calls,
      has: () => true,
      update: async (changes: { ref: RecordRef }[]): Promise<RefResult[]> => {
        calls.update.push(changes);
        return changes.map((c) => ({ ref: c.ref, outcome: 'done' }));
      },
      setMarketingOptOut: async (refs: RecordRef[]): Promise<RefResult[]> => {
        calls.optOut.push(refs);
        return refs.map((ref) => ({ ref, outcome: 'done' }));
      },
    };
  };
  const remediation = {
    policy: 'p',
    action: 'redact' as const,
    enabled: true,
    ref: { system: 'sf', object: 'contacts', id: '1' },
    field: 'notes',
    expected: 'card 4111 1111 1111 1111',
    replacement: 'card [REDACTED:card_number]',
    subjectKey: null,
  };

  it('dry run and disabled policies only plan; apply batches per system and audits without the text', async () => {
    const t = target();
    const events: unknown[] = [];
    const ledger = {
      appendAudit: async (e: unknown[]) => {
        events.push(...e);
        return [];
      },
    };
    const deps = { connectors: new Map([['sf', t]]), ledger: ledger as never, actor: 'test', log: silentLogger };
    expect((await applyRemediations([remediation], { ...deps, apply: false }))[0]?.status).toBe('planned');
    expect((await applyRemediations([{ ...remediation, enabled: false }], { ...deps, apply: true }))[0]?.status).toBe(
      'planned',
    );
    expect(t.calls.update).toEqual([]);
    const applied = await applyRemediations(
      [
        remediation,
        { ...remediation, action: 'opt-out' },
        { ...remediation, ref: { ...remediation.ref, id: '2' }, action: 'opt-out' },
      ],
      { ...deps, apply: true },
    );
    expect(applied.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    expect(t.calls.update).toEqual([
      [
        {
          ref: remediation.ref,
          set: { notes: 'card [REDACTED:card_number]' },
          expected: { notes: 'card 4111 1111 1111 1111' },
        },
      ],
    ]);
    expect(t.calls.optOut).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain('4111');
    expect(events).toHaveLength(3);
  });
});

describe('no personal data leaves the policy engine except to the CRM', () => {
  it('violations carry masked evidence only', () => {
    const pii = ['jane.roe@example.com', '+4930123456789', 'Roe', '4111 1111 1111 1111', 'DE89 3704 0044 0532 0130 00'];
    const r = rec(
      'hub',
      '1',
      { email: pii[0], phone: pii[1], name: pii[2], notes: `card ${pii[3]} iban ${pii[4]} diabetes` },
      { lastActivityAt: '2015-01-01T00:00:00Z' },
    );
    const out = createPolicyEngine({ policies: parsePolicies([{ preset: 'gdpr' }]) }).evaluate([r], () =>
      ctx('hub', { copies: [copy('sf', '2', { marketingOptOut: true })] }),
    );
    expect(out.violations.length).toBeGreaterThan(4);
    const dump = JSON.stringify(out.violations);
    for (const value of pii) expect(dump).not.toContain(value);
  });
});
