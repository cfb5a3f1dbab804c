/**
 * Policies: built-in (or custom) rules with parameters, a severity and an action, declared in the config
 * and validated once. The engine compiles them per system and stream kind and turns rule findings into
 * violations (masked evidence) and remediations. Remediations other than `flag` run only when the policy
 * enables them, and only with `apply` (dry run otherwise); every applied action is an audit event.
 */
import { z } from 'zod';
import type { FieldChange, RefResult } from '../contract.js';
import { CustodianError } from '../errors.js';
import type { Ledger, ViolationInput } from '../ledger.js';
import type { Logger } from '../logger.js';
import type { PolicyHook, SystemInfo } from '../sync/engine.js';
import { type CrmRecord, type RecordRef, SEVERITIES, type Severity } from '../types.js';
import { BUILT_IN_RULES, type RuleContext, type RuleImpl } from './rules.js';

export type PolicyAction = 'flag' | 'redact' | 'opt-out' | 'erase';

export interface PolicyConfig {
  name: string;
  rule: string;
  severity: Severity;
  action: PolicyAction;
  /** Remediation allowed to run (still dry-run unless --apply). */
  enabled: boolean;
  /** Only these systems (default: all). */
  systems?: string[];
  params: unknown;
}

const PolicyEntrySchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _ only')
      .optional(),
    rule: z.string().min(1),
    severity: z.enum(SEVERITIES as [Severity, ...Severity[]]).optional(),
    action: z.enum(['flag', 'redact', 'opt-out', 'erase']).default('flag'),
    enabled: z.boolean().default(false),
    systems: z.array(z.string()).optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
const PresetSchema = z.object({ preset: z.enum(['gdpr', 'ccpa', 'pipl']) }).strict();

const preset = (prefix: string, entries: [string, Partial<PolicyConfig>][]): PolicyConfig[] =>
  entries.map(([rule, p]) => {
    const impl = BUILT_IN_RULES.find((r) => r.name === rule)!;
    return {
      name: `${prefix}-${rule}`,
      rule,
      severity: impl.defaultSeverity,
      action: 'flag',
      enabled: false,
      params: {},
      ...p,
    };
  });

export const POLICY_PRESETS: Record<'gdpr' | 'ccpa' | 'pipl', PolicyConfig[]> = {
  // GDPR arts. 5, 6, 9, 17, 21 and ePrivacy for e-mail marketing.
  gdpr: preset('gdpr', [
    ['consent', { params: { requireConsentFor: ['marketing'] } }],
    ['retention', { params: { maxInactiveDays: 1095 } }],
    ['minimisation', {}],
    ['sensitive-free-text', { severity: 'high' }],
    ['opt-out-drift', {}],
    ['duplicate-record', {}],
    ['resurrected-subject', {}],
    ['undeclared-copy', {}],
  ]),
  // CCPA/CPRA: opt-outs of sale/sharing honoured everywhere, sensitive personal information limited.
  ccpa: preset('ccpa', [
    ['opt-out-drift', { severity: 'critical' }],
    ['sensitive-free-text', {}],
    ['retention', { params: { maxInactiveDays: 730 } }],
    ['resurrected-subject', {}],
    ['duplicate-record', {}],
  ]),
  // PIPL: separate consent for each purpose, sensitive personal information, minimum necessary.
  pipl: preset('pipl', [
    ['consent', { params: { requireConsentFor: ['marketing', 'sales', 'support', 'analytics'] } }],
    ['sensitive-free-text', { severity: 'critical' }],
    ['minimisation', {}],
    ['retention', { params: { maxInactiveDays: 1095 } }],
    ['opt-out-drift', {}],
    ['resurrected-subject', {}],
    ['undeclared-copy', { severity: 'high' }],
  ]),
};

function pathText(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** Validate the `policies:` list; every problem is reported with its config path. */
export function parsePolicies(
  raw: unknown,
  basePath = 'policies',
  customRules: RuleImpl<unknown>[] = [],
): PolicyConfig[] {
  const rules = new Map<string, RuleImpl<unknown>>(BUILT_IN_RULES.map((r) => [r.name, r as RuleImpl<unknown>]));
  const problems: string[] = [];
  for (const r of customRules) {
    if (rules.has(r.name)) problems.push(`custom rule "${r.name}" clashes with a built-in rule`);
    rules.set(r.name, r);
  }
  if (!Array.isArray(raw)) {
    if (raw !== undefined && raw !== null) problems.push(`${basePath}: expected a list of policies`);
    if (problems.length) throw new CustodianError('CUSTODIAN_ERR_POLICY_INVALID', problems.join('; '));
    return [];
  }
  const out: PolicyConfig[] = [];
  raw.forEach((entry, i) => {
    const at = (...p: (string | number)[]) => pathText([basePath, i, ...p]);
    if (entry && typeof entry === 'object' && 'preset' in entry) {
      const p = PresetSchema.safeParse(entry);
      if (!p.success) problems.push(`${at('preset')}: expected one of gdpr, ccpa, pipl`);
      else
        out.push(
          ...POLICY_PRESETS[p.data.preset].map((x) => ({ ...x, params: rules.get(x.rule)!.params.parse(x.params) })),
        );
      return;
    }
    const parsed = PolicyEntrySchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(`${at(...(issue.path as (string | number)[]))}: ${issue.message}`);
      return;
    }
    const e = parsed.data;
    const rule = rules.get(e.rule);
    if (!rule) {
      problems.push(`${at('rule')}: unknown rule "${e.rule}"; known rules: ${[...rules.keys()].join(', ')}`);
      return;
    }
    const params = rule.params.safeParse(e.params);
    if (!params.success) {
      for (const issue of params.error.issues)
        problems.push(`${at('params', ...(issue.path as (string | number)[]))}: ${issue.message}`);
      return;
    }
    if (e.action !== 'flag' && !rule.actions.includes(e.action)) {
      problems.push(
        `${at('action')}: rule ${rule.name} supports ${rule.actions.length ? rule.actions.join(', ') : 'only flag'}, not ${e.action}`,
      );
      return;
    }
    out.push({
      name: e.name ?? `${e.rule}-${i}`,
      rule: e.rule,
      severity: e.severity ?? rule.defaultSeverity,
      action: e.action,
      enabled: e.enabled,
      ...(e.systems ? { systems: e.systems } : {}),
      params: params.data,
    });
  });
  const names = new Set<string>();
  for (const p of out) {
    if (names.has(p.name))
      problems.push(
        `${basePath}: duplicate policy name "${p.name}" (a preset and an explicit policy may collide; name yours)`,
      );
    names.add(p.name);
  }
  if (problems.length > 0) {
    throw new CustodianError('CUSTODIAN_ERR_POLICY_INVALID', `invalid policies:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return out;
}

/** What a rule knows about a configured system (the sync engine's SystemInfo). */
export type SystemPolicyInfo = SystemInfo;

/**
 * The `policies:` list as a zod schema, for embedding in the config schema. It delegates to
 * parsePolicies so presets expand and per-rule params are checked; each problem becomes an issue
 * at its path (relative to the list).
 */
export const PoliciesSchema: z.ZodType<PolicyConfig[]> = z.unknown().transform((raw, ctx) => {
  try {
    return parsePolicies(raw, '');
  } catch (err) {
    if (!(err instanceof CustodianError)) throw err;
    const problems = (err.details as { problems?: string[] } | undefined)?.problems ?? [err.message];
    for (const problem of problems) ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
}) as unknown as z.ZodType<PolicyConfig[]>;

export interface Remediation {
  policy: string;
  action: 'redact' | 'opt-out' | 'erase';
  /** Allowed by the policy (`enabled: true`); still dry-run unless applied. */
  enabled: boolean;
  ref: RecordRef;
  field?: string;
  /** Redact only: the current text and its replacement. Sent to the CRM, never stored or logged. */
  expected?: string;
  replacement?: string;
  subjectKey: string | null;
}

export type PolicyEngine = PolicyHook<Remediation>;

interface Compiled {
  policy: PolicyConfig;
  rule: RuleImpl<unknown>;
}

export function createPolicyEngine(input: {
  policies: PolicyConfig[];
  customRules?: RuleImpl<unknown>[];
}): PolicyEngine {
  const rules = new Map<string, RuleImpl<unknown>>(
    [...BUILT_IN_RULES, ...(input.customRules ?? [])].map((r) => [r.name, r as RuleImpl<unknown>]),
  );
  const compiled: Compiled[] = input.policies.map((policy) => {
    const rule = rules.get(policy.rule);
    if (!rule)
      throw new CustodianError('CUSTODIAN_ERR_POLICY_INVALID', `policy ${policy.name}: unknown rule "${policy.rule}"`);
    return { policy, rule };
  });
  const cache = new Map<string, Compiled[]>();
  const applicable = (system: string, kind: CrmRecord['kind']) => {
    const key = `${system}\u0000${kind}`;
    let list = cache.get(key);
    if (!list) {
      list = compiled.filter(
        (c) =>
          (!c.policy.systems || c.policy.systems.includes(system)) && (!c.rule.appliesTo || c.rule.appliesTo(kind)),
      );
      cache.set(key, list);
    }
    return list;
  };
  return {
    evaluate(records, ctxFor) {
      const violations: ViolationInput[] = [];
      const remediations: Remediation[] = [];
      for (const record of records) {
        const list = applicable(record.ref.system, record.kind);
        if (list.length === 0) continue;
        const ctx: RuleContext = ctxFor(record);
        for (const { policy, rule } of list) {
          for (const f of rule.evaluate(record, policy.params, ctx)) {
            const ref = f.ref ?? record.ref;
            violations.push({
              policy: policy.name,
              rule: rule.name,
              severity: policy.severity,
              ref,
              field: f.field ?? null,
              evidence: f.evidence,
              subjectKey: ctx.subjectKeys[0] ?? null,
            });
            if (policy.action === 'flag') continue;
            if (policy.action === 'redact' && !f.redact) continue;
            remediations.push({
              policy: policy.name,
              action: policy.action,
              enabled: policy.enabled,
              ref,
              ...(f.field ? { field: f.field } : {}),
              ...(f.redact ? { expected: f.redact.expected, replacement: f.redact.replacement } : {}),
              subjectKey: ctx.subjectKeys[0] ?? null,
            });
          }
        }
      }
      return { violations, remediations };
    },
  };
}

export interface RemediationTarget {
  has(capability: 'update' | 'opt-out'): boolean;
  update(changes: FieldChange[]): Promise<RefResult[]>;
  setMarketingOptOut(refs: RecordRef[]): Promise<RefResult[]>;
}

export interface RemediationResult {
  policy: string;
  action: Remediation['action'];
  ref: RecordRef;
  status: 'applied' | 'planned' | 'failed' | 'skipped';
  reason?: string;
}

/**
 * Carry out remediations: batched per system and action. Dry run (apply=false) and policies that do
 * not enable their action only report what would happen. Erasure is planned here and carried out by the
 * request engine, which verifies and certifies it.
 */
export async function applyRemediations(
  remediations: Remediation[],
  deps: {
    connectors: ReadonlyMap<string, RemediationTarget>;
    ledger: Pick<Ledger, 'appendAudit'>;
    apply: boolean;
    actor: string;
    log: Logger;
  },
): Promise<RemediationResult[]> {
  const results: RemediationResult[] = [];
  const groups = new Map<string, Remediation[]>();
  for (const r of remediations) {
    if (!deps.apply || !r.enabled || r.action === 'erase') {
      results.push({ policy: r.policy, action: r.action, ref: r.ref, status: 'planned' });
      continue;
    }
    const key = `${r.ref.system}\u0000${r.action}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, group] of groups) {
    const [system, action] = key.split('\u0000') as [string, 'redact' | 'opt-out'];
    const target = deps.connectors.get(system);
    const capability = action === 'redact' ? 'update' : 'opt-out';
    if (!target?.has(capability)) {
      for (const r of group)
        results.push({
          policy: r.policy,
          action: r.action,
          ref: r.ref,
          status: 'skipped',
          reason: `${system} cannot ${capability}`,
        });
      continue;
    }
    let outcomes: RefResult[];
    try {
      outcomes =
        action === 'redact'
          ? await target.update(
              group.map((r) => ({
                ref: r.ref,
                set: { [r.field!]: r.replacement! },
                expected: { [r.field!]: r.expected! },
              })),
            )
          : await target.setMarketingOptOut(group.map((r) => r.ref));
    } catch (err) {
      deps.log.error({ system, action, err }, 'remediation failed');
      outcomes = group.map((r) => ({
        ref: r.ref,
        outcome: 'failed' as const,
        reason: err instanceof Error ? err.message : 'failed',
      }));
    }
    const events = group.map((r, i) => {
      const o = outcomes[i];
      const status: RemediationResult['status'] =
        o?.outcome === 'done' || o?.outcome === 'already_gone' ? 'applied' : 'failed';
      results.push({
        policy: r.policy,
        action: r.action,
        ref: r.ref,
        status,
        ...(o?.reason ? { reason: o.reason } : {}),
      });
      return {
        actor: deps.actor,
        action: `remediation.${r.action}`,
        data: {
          policy: r.policy,
          ref: `${r.ref.system}:${r.ref.object}:${r.ref.id}`,
          field: r.field ?? null,
          outcome: status,
        },
      };
    });
    await deps.ledger.appendAudit(events);
  }
  return results;
}
