export {
  applyRemediations,
  createPolicyEngine,
  POLICY_PRESETS,
  PoliciesSchema,
  type PolicyAction,
  type PolicyConfig,
  type PolicyEngine,
  parsePolicies,
  type Remediation,
  type RemediationResult,
  type RemediationTarget,
  type SystemPolicyInfo,
} from './engine.js';
export { BUILT_IN_RULES, defineRule, type RuleContext, type RuleFinding, type RuleImpl } from './rules.js';
export { STARTER_POLICIES_YAML } from './starter.js';
