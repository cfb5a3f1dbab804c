/**
 * Data-subject requests from the command line: erase, export, rectify, opt-out, and `requests`
 * (list with deadlines, show, resume, approve). Each runs the persisted request engine, so a command
 * killed half-way is finished by `custodian requests resume` (or the next scheduled run).
 */
import { resolve } from 'node:path';
import {
  approveRequest,
  CANONICAL_FIELDS,
  type CanonicalField,
  type Certificate,
  CustodianError,
  daysLeft,
  type Jurisdiction,
  openRequest,
  parseIdentity,
  type RequestEngineDeps,
  type RequestRow,
  RequestsConfigSchema,
  resumeOpenRequests,
  runRequest,
  runRequests,
} from '@custodian/core';
import { formatPath } from '../config.js';
import type { AppContext } from '../context.js';
import { color, heading, printJson, say, table } from '../output.js';

export async function requestDeps(ctx: AppContext, actor: string): Promise<RequestEngineDeps> {
  const parsed = RequestsConfigSchema.safeParse(ctx.config.requests);
  if (!parsed.success) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONFIG_INVALID',
      `${ctx.loaded.path}: ${parsed.error.issues
        .map((i) => {
          const path = ['requests', ...(i.path as (string | number)[])];
          return `${formatPath(path)} (line ${ctx.loaded.lineOf(path) ?? '?'}): ${i.message}`;
        })
        .join('; ')}`,
    );
  }
  const crashAt = process.env.CUSTODIAN_TEST_CRASH_AT;
  return {
    ledger: await ctx.ledger(),
    keyer: ctx.keyer(),
    ...(ctx.config.defaultCountry ? { defaultCountry: ctx.config.defaultCountry as never } : {}),
    log: ctx.log,
    config: parsed.data,
    actor,
    systems: ctx.config.systems.map((s) => ({
      name: s.name,
      purposes: s.purposes,
      legalBasis: s.legalBasis,
      connector: () => ctx.connector(s.name),
    })),
    // Crash tests stop the process at a named step boundary to prove resumption (never set in production).
    ...(crashAt
      ? {
          onStep: (_id: string, point: string) => {
            if (point === crashAt || point.startsWith(`${crashAt}:`)) process.kill(process.pid, 'SIGKILL');
          },
        }
      : {}),
  };
}

export interface RequestCommandOptions {
  json?: boolean;
  dryRun?: boolean;
  permanent?: boolean;
  jurisdiction?: Jurisdiction;
  out?: string;
  set?: string[];
  /** Write the certificate copy that names the person to this file. */
  subjectCopy?: string;
  /** Erase: one request per identity, run as one batch. */
  each?: boolean;
}

function parseSet(pairs: string[] = []): Partial<Record<CanonicalField, string>> {
  const out: Partial<Record<CanonicalField, string>> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const field = pair.slice(0, eq);
    if (eq < 1 || !(CANONICAL_FIELDS as readonly string[]).includes(field)) {
      throw new CustodianError(
        'CUSTODIAN_ERR_INPUT_INVALID',
        `--set expects field=value with field one of ${CANONICAL_FIELDS.join(', ')}; got "${field || pair.slice(0, 20)}"`,
      );
    }
    out[field as CanonicalField] = pair.slice(eq + 1);
  }
  return out;
}

export async function requestCommand(
  ctx: AppContext,
  kind: 'erase' | 'export' | 'rectify' | 'opt-out',
  identityInputs: string[],
  options: RequestCommandOptions,
): Promise<number> {
  const deps = await requestDeps(ctx, `custodian ${kind}`);
  const identities = identityInputs.map((i) => parseIdentity(i, ctx.config.defaultCountry as never));
  if (options.each && options.subjectCopy) {
    throw new CustodianError(
      'CUSTODIAN_ERR_INPUT_INVALID',
      '--subject-copy names one person; it cannot go with --each',
    );
  }
  const people = options.each ? identities.map((i) => [i]) : [identities];
  const opened = [];
  for (const person of people)
    opened.push(
      await openRequest(deps, {
        kind,
        identities: person,
        ...(options.jurisdiction ? { jurisdiction: options.jurisdiction } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.permanent !== undefined ? { permanent: options.permanent } : {}),
        ...(options.out ? { outDir: resolve(options.out) } : {}),
        ...(options.subjectCopy ? { subjectCopy: resolve(options.subjectCopy) } : {}),
        ...(kind === 'rectify' ? { set: parseSet(options.set) } : {}),
      }),
    );
  const rows = await runRequests(
    deps,
    opened.map((r) => r.id),
  );
  if (options.each && options.json) {
    printJson({ requests: rows.map((r) => ({ id: r.id, state: r.state, error: r.error })) });
  } else if (options.each) {
    for (const row of rows) printRequest(row, options);
  } else {
    printRequest(rows[0]!, options);
  }
  return rows.every((r) => r.state === 'completed' || r.state === 'awaiting-approval') ? 0 : 1;
}

function certificateText(cert: Certificate): string {
  const lines = [
    `Certificate for request ${cert.requestId} (${cert.kind}, ${cert.jurisdiction.toUpperCase()})`,
    `received ${cert.receivedAt}, due ${cert.dueAt}, completed ${cert.completedAt}${cert.permanent ? ', permanent erasure' : ''}`,
    table(
      ['system', 'found', 'done', 'already gone', 'exempt', 'shared', 'failed', 'purged', 'verified'],
      cert.systems.map((s) => [
        s.system,
        s.found,
        s.done,
        s.alreadyGone,
        s.exempt,
        s.shared,
        s.failed,
        s.purged,
        s.verified,
      ]),
    ),
  ];
  for (const e of cert.exemptions) lines.push(`exempt: ${e.count} ${e.object} record(s) in ${e.system}: ${e.reason}`);
  for (const k of cert.kept ?? []) lines.push(`kept: ${k.count} ${k.object} record(s) in ${k.system}: ${k.reason}`);
  lines.push(`audit event #${cert.auditSeq}, chain head ${cert.auditHeadHash}`);
  lines.push(`certificate hash ${cert.certificateHash} (check the chain with \`custodian audit verify\`)`);
  return lines.join('\n');
}

export function printRequest(row: RequestRow, options: { json?: boolean }): void {
  const cert = row.result.certificate as Certificate | undefined;
  if (options.json) {
    const { sealed: _sealed, ...params } = row.params;
    printJson({ ...row, params });
    return;
  }
  say(heading(`Request ${row.id}: ${row.kind} is ${row.state}`));
  if (row.dryRun && row.result.plan) {
    say('dry run, nothing was changed. Plan:');
    const plan = row.result.plan as Record<string, Record<string, number>>;
    say(
      table(
        ['system', 'plan'],
        Object.entries(plan).map(([s, p]) => [
          s,
          Object.entries(p)
            .map(([k, n]) => `${n} ${k}`)
            .join(', '),
        ]),
      ),
    );
  }
  if (row.error) say(color.red(row.error));
  if (row.state === 'awaiting-approval')
    say(color.yellow(`waiting for approval: custodian requests approve ${row.id}`));
  if (cert) say(certificateText(cert));
  const written = row.result.export as { dir: string; files: string[]; records: number } | undefined;
  if (written) say(`export: ${written.records} record(s) written to ${written.dir} (${written.files.join(', ')})`);
  if (row.result.subjectCopyWritten) say('a copy of the certificate naming the person was written where you asked');
}

export async function requestsListCommand(
  ctx: AppContext,
  options: { json?: boolean; all?: boolean },
): Promise<number> {
  const ledger = await ctx.ledger();
  const rows = await ledger.listRequests(options.all ? {} : { open: true });
  const now = new Date();
  const view = rows.map((r) => {
    const due = new Date(r.extendedDueAt ?? r.dueAt);
    const left = daysLeft(due, now);
    return {
      id: r.id,
      kind: r.kind,
      jurisdiction: r.jurisdiction,
      state: r.state,
      receivedAt: r.receivedAt,
      dueAt: due.toISOString(),
      daysLeft: left,
      overdue: left < 0 && r.state !== 'completed',
      error: r.error,
    };
  });
  if (options.json) {
    printJson({ requests: view });
    return 0;
  }
  if (view.length === 0) {
    say(options.all ? 'no requests yet' : 'no open requests');
    return 0;
  }
  say(
    table(
      ['id', 'kind', 'law', 'state', 'received', 'due', 'days left'],
      view.map((r) => [
        r.id,
        r.kind,
        r.jurisdiction,
        r.state,
        r.receivedAt.slice(0, 10),
        r.dueAt.slice(0, 10),
        r.overdue ? color.red(`OVERDUE ${-r.daysLeft}d`) : r.daysLeft,
      ]),
    ),
  );
  return 0;
}

export async function requestsShowCommand(ctx: AppContext, id: string, options: { json?: boolean }): Promise<number> {
  const row = await (await ctx.ledger()).getRequest(id);
  if (!row) throw new CustodianError('CUSTODIAN_ERR_REQUEST_NOT_FOUND', `No request ${id}.`);
  printRequest(row, options);
  return 0;
}

export async function requestsResumeCommand(
  ctx: AppContext,
  id: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  const deps = await requestDeps(ctx, 'custodian requests resume');
  const rows = id ? [await runRequest(deps, id)] : await resumeOpenRequests(deps);
  if (options.json) printJson({ resumed: rows.map((r) => ({ id: r.id, state: r.state, error: r.error })) });
  else if (rows.length === 0) say('nothing to resume');
  else for (const r of rows) printRequest(r, options);
  return rows.every((r) => r.state === 'completed' || r.state === 'awaiting-approval') ? 0 : 1;
}

export async function requestsApproveCommand(
  ctx: AppContext,
  id: string,
  options: { json?: boolean },
): Promise<number> {
  const row = await approveRequest(await requestDeps(ctx, 'custodian requests approve'), id);
  printRequest(row, options);
  return row.state === 'completed' ? 0 : 1;
}
