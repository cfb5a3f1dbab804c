/** The commented policy section `custodian init` writes: the GDPR preset spelled out, with CCPA and PIPL presets one line away. */
export const STARTER_POLICIES_YAML = `# Policies: built-in rules with parameters, a severity and an action.
# Shorthand for a whole law: "- preset: gdpr" (or ccpa, pipl). Actions other than flag run only with
# enabled: true, and then only with \`custodian sync --apply\` (dry run otherwise).
policies:
  - name: consent-for-marketing
    rule: consent                      # a record processed for a purpose with no consent / legal basis
    severity: high
    params: { requireConsentFor: [marketing] }
  - name: retention-3-years
    rule: retention                    # no activity for longer than the limit
    severity: medium
    params: { maxInactiveDays: 1095, stages: { lead: 730 } }
  - name: minimisation
    rule: minimisation                 # fields the system's purposes do not need; sensitive data in the wrong field
    severity: medium
  - name: no-cards-or-health-in-notes
    rule: sensitive-free-text          # card numbers, IBANs, ids, health, art. 9 data, passwords in notes
    severity: high
    action: redact                     # replace the span with [REDACTED:<type>] in the CRM
    enabled: false
  - name: opt-outs-everywhere
    rule: opt-out-drift                # opted out in one system but not in another copy
    severity: high
    action: opt-out
    enabled: false
  - name: duplicates
    rule: duplicate-record             # the same person twice inside one system
    severity: low
  - name: erased-people-stay-erased
    rule: resurrected-subject          # a tombstoned person is back
    severity: critical
  - name: copies-match-purposes
    rule: undeclared-copy              # a copy in a system not declared for the person's purposes
    severity: medium
  # - rule: propagate-deletions       # a deletion in a source system opens erase requests elsewhere
  #   sources: [hubspot-eu]
  #   enabled: false                   # dry run until you enable it
  # - preset: ccpa
  # - preset: pipl`;
