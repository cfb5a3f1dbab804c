/** `custodian sync`: pull every system into the ledger, evaluate policies, report. */
import {
  applyRemediations,
  type PropagationResult,
  propagateDeletions,
  type Remediation,
  runSync,
  SEVERITIES,
  type Severity,
  type SyncSummary,
} from '@custodian/core';
import cliProgress from 'cli-progress';
import type { AppContext } from '../context.js';
import { color, heading, printJson, say, table } from '../output.js';
import { policyEngineFor, propagationPolicyFor } from '../policies.js';
import { requestDeps } from './requests.js';

export interface SyncCommandOptions {
  system?: string[];
  full?: boolean;
  failOn?: Severity;
  apply?: boolean;
  json?: boolean;
  signal?: AbortSignal;
}

export async function syncCommand(ctx: AppContext, options: SyncCommandOptions): Promise<number> {
  const summary = await syncAndRemediate(ctx, options);
  const ledger = await ctx.ledger();
  let failing = 0;
  if (options.failOn) {
    const counts = await ledger.countViolations({ minSeverity: options.failOn, status: 'open' });
    failing = counts.reduce((n, c) => n + c.count, 0);
  }
  const failed = summary.sync.systems.filter((s) => s.status === 'failed');
  if (options.json) {
    printJson({
      ...summary,
      sync: {
        ...summary.sync,
        systems: summary.sync.systems.map(({ deletedRefs, ...s }) => ({ ...s, deletedRecords: deletedRefs.length })),
      },
      failOn: options.failOn ?? null,
      failingViolations: failing,
    });
  } else {
    printSyncSummary(summary.sync);
    if (summary.remediations.planned + summary.remediations.applied > 0) {
      say(
        `remediations: ${summary.remediations.applied} applied, ${summary.remediations.planned} planned${options.apply ? '' : ' (dry run: pass --apply to carry them out)'}`,
      );
    }
    for (const p of summary.propagated) {
      if (p.opened.length > 0) {
        say(
          `deletions in ${p.source} propagated: ${p.opened.length} erase request(s) opened (${p.opened.map((o) => `${o.id} ${o.state}${o.dryRun ? ', dry run' : ''}`).join('; ')})`,
        );
      }
    }
    if (options.failOn) {
      say(
        failing > 0
          ? color.red(`${failing} open violation(s) at or above ${options.failOn}`)
          : color.green(`no open violations at or above ${options.failOn}`),
      );
    }
  }
  if (failed.length > 0) return 1;
  return failing > 0 ? 1 : 0;
}

export interface SyncAndRemediateResult {
  sync: SyncSummary;
  remediations: { planned: number; applied: number; failed: number };
  propagated: PropagationResult[];
}

export async function syncAndRemediate(ctx: AppContext, options: SyncCommandOptions): Promise<SyncAndRemediateResult> {
  const ledger = await ctx.ledger();
  const systems = await ctx.syncSystems(options.system);
  const policy = policyEngineFor(ctx);
  const propagation = propagationPolicyFor(ctx);
  const remediations = { planned: 0, applied: 0, failed: 0 };
  const bar =
    !options.json && process.stderr.isTTY
      ? new cliProgress.MultiBar(
          {
            format: ' {system} |{bar}| {records} records, {pages} pages',
            clearOnComplete: true,
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const bars = new Map<string, cliProgress.SingleBar>();
  try {
    const sync = await runSync<Remediation>({
      ledger,
      keyer: ctx.keyer(),
      systems,
      policy,
      full: options.full ?? false,
      log: ctx.log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(ctx.config.defaultCountry ? { defaultCountry: ctx.config.defaultCountry as never } : {}),
      onProgress: (p) => {
        if (!bar) return;
        let b = bars.get(p.system);
        if (!b) {
          b = bar.create(0, 0, { system: p.system.padEnd(16), records: 0, pages: 0 });
          bars.set(p.system, b);
        }
        b.setTotal(p.records);
        b.update(p.records, { records: p.records, pages: p.pages });
      },
      onRemediations: async (_system, planned) => {
        // A remediation can target a copy in another system (opt-out drift).
        const systems = [...new Set(planned.map((r) => r.ref.system))];
        const results = await applyRemediations(planned, {
          connectors: new Map(await Promise.all(systems.map(async (s) => [s, await ctx.connector(s)] as const))),
          ledger,
          apply: options.apply ?? false,
          actor: 'custodian sync',
          log: ctx.log,
        });
        for (const r of results) {
          if (r.status === 'applied') remediations.applied++;
          else if (r.status === 'failed') remediations.failed++;
          else remediations.planned++;
        }
      },
    });
    const propagated = propagation
      ? await propagateDeletions(
          await requestDeps(ctx, 'custodian sync (propagate-deletions)'),
          propagation,
          sync.systems.map((s) => ({ system: s.system, refs: s.deletedRefs })),
        )
      : [];
    return { sync, remediations, propagated };
  } finally {
    bar?.stop();
  }
}

export function printSyncSummary(summary: SyncSummary): void {
  say(heading('Sync'));
  say(
    table(
      ['system', 'status', 'records', 'new', 'changed', 'gone', 'violations', 'resolved', 'copies found'],
      summary.systems.map((s) => [
        s.system,
        s.status === 'succeeded' ? color.green('ok') : color.red(s.status),
        s.records,
        s.inserted,
        s.updated,
        s.deleted,
        s.violations,
        s.resolved,
        s.duplicationsAdded,
      ]),
    ),
  );
  for (const s of summary.systems) {
    if (s.error) say(color.red(`${s.system}: ${s.error.code}: ${s.error.message}`));
    if (s.pausedUntil) say(color.yellow(`${s.system}: paused until ${s.pausedUntil} (vendor quota)`));
  }
}

export function parseSeverity(value: string): Severity {
  if (!(SEVERITIES as readonly string[]).includes(value)) {
    throw new Error(`--fail-on must be one of ${SEVERITIES.join(', ')}`);
  }
  return value as Severity;
}
