/** `custodian violations`: open (or all) violations from the ledger, filtered. */
import type { Severity, ViolationStatus } from '@custodian/core';
import type { AppContext } from '../context.js';
import { color, heading, printJson, say, table } from '../output.js';

export interface ViolationsOptions {
  rule?: string;
  system?: string;
  severity?: Severity;
  status?: ViolationStatus;
  limit?: number;
  json?: boolean;
}

const SEVERITY_COLOR: Record<Severity, (s: string) => string> = {
  critical: color.red,
  high: color.red,
  medium: color.yellow,
  low: color.dim,
};

export async function violationsCommand(ctx: AppContext, options: ViolationsOptions): Promise<number> {
  const ledger = await ctx.ledger();
  const filter = {
    ...(options.rule ? { rule: options.rule } : {}),
    ...(options.system ? { system: options.system } : {}),
    ...(options.severity ? { severity: options.severity } : {}),
    status: options.status ?? ('open' as const),
    limit: options.limit ?? 200,
  };
  const [rows, counts] = await Promise.all([
    ledger.listViolations(filter),
    ledger.countViolations({ ...filter, limit: undefined }),
  ]);
  if (options.json) {
    printJson({ counts, violations: rows });
    return 0;
  }
  const total = counts.reduce((n, c) => n + c.count, 0);
  say(heading(`${total} ${filter.status} violation(s)`));
  if (counts.length > 0) {
    say(
      table(
        ['rule', 'severity', 'count'],
        counts.map((c) => [c.rule, SEVERITY_COLOR[c.severity](c.severity), c.count]),
      ),
    );
  }
  if (rows.length > 0) {
    say(
      table(
        ['severity', 'rule', 'record', 'field', 'evidence', 'first seen'],
        rows.map((v) => [
          SEVERITY_COLOR[v.severity](v.severity),
          v.rule,
          `${v.ref.system}:${v.ref.object}:${v.ref.id}`,
          v.field ?? '',
          v.evidence,
          v.firstSeen.slice(0, 19),
        ]),
      ),
    );
    if (rows.length < total)
      say(color.dim(`showing ${rows.length} of ${total}; use --limit, --rule, --system or --json`));
  }
  return 0;
}
