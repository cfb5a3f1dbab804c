/**
 * Policies from the config, compiled once per command. `propagate-deletions` is a request policy (it
 * opens erase requests) rather than a record rule, so it is split off here and parsed on its own.
 */
import {
  CustodianError,
  createPolicyEngine,
  type PolicyEngine,
  type PropagateDeletionsPolicy,
  PropagateDeletionsSchema,
  parsePolicies,
} from '@custodian/core';
import type { AppContext } from './context.js';

function isPropagate(p: unknown): boolean {
  return !!p && typeof p === 'object' && (p as { rule?: unknown }).rule === 'propagate-deletions';
}

export function policyEngineFor(ctx: AppContext): PolicyEngine | null {
  const raw = ctx.config.policies;
  const policies = parsePolicies(
    raw.map((p) => (isPropagate(p) ? null : p)).filter((p) => p !== null),
    'policies',
  );
  return policies.length > 0 ? createPolicyEngine({ policies }) : null;
}

export function propagationPolicyFor(ctx: AppContext): PropagateDeletionsPolicy | null {
  const index = ctx.config.policies.findIndex(isPropagate);
  if (index < 0) return null;
  const parsed = PropagateDeletionsSchema.safeParse(ctx.config.policies[index]);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const path = ['policies', index, ...(i.path as (string | number)[])];
      return `policies[${index}]${i.path.map((p) => `.${String(p)}`).join('')} (line ${ctx.loaded.lineOf(path) ?? '?'}): ${i.message}`;
    });
    throw new CustodianError('CUSTODIAN_ERR_POLICY_INVALID', issues.join('; '));
  }
  const unknown = parsed.data.sources.filter((s) => !ctx.config.systems.some((x) => x.name === s));
  if (unknown.length > 0) {
    throw new CustodianError(
      'CUSTODIAN_ERR_POLICY_INVALID',
      `policies[${index}].sources: unknown system(s) ${unknown.join(', ')}`,
    );
  }
  return parsed.data;
}
