/**
 * Data-subject requests as persisted state machines:
 * intake -> locate -> plan -> (awaiting-approval) -> execute -> purge -> verify -> tombstone -> certificate.
 * Every step and every per-ref task is stored before and after it runs, so a process killed anywhere
 * resumes where it stopped. Harmful steps are idempotent per ref: a task already done is never run again,
 * "already gone" counts as erased, and updates are checked against the value they replace.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Capability, EraseOptions, FieldChange, RefResult, StreamDefinition } from '../contract.js';
import { CustodianError } from '../errors.js';
import type { SubjectKeyer } from '../identity.js';
import type { Ledger, RequestRow, RequestState, RequestTaskRow, TaskState } from '../ledger.js';
import type { Logger } from '../logger.js';
import { refKey } from '../sync/index-entry.js';
import type { CanonicalField, CrmRecord, Identity, Jurisdiction, RecordRef, RequestKind } from '../types.js';
import type { Exemption, RequestsConfig } from './config.js';
import { dueDate } from './deadlines.js';
import { writeExport } from './export.js';
import { seal, unseal } from './seal.js';

/** What the engine needs from a connector; the runtime connector satisfies it. */
export interface RequestConnector {
  readonly streams: StreamDefinition[];
  has(capability: Capability): boolean;
  find(identities: Identity[]): Promise<CrmRecord[]>;
  get(refs: RecordRef[]): Promise<(CrmRecord | null)[]>;
  related(persons: RecordRef[]): Promise<CrmRecord[]>;
  erase(refs: RecordRef[], options: EraseOptions): Promise<RefResult[]>;
  purge(refs: RecordRef[]): Promise<RefResult[]>;
  verifyErased(refs: RecordRef[], identities: Identity[]): Promise<RefResult[]>;
  update(changes: FieldChange[]): Promise<RefResult[]>;
  setMarketingOptOut(refs: RecordRef[]): Promise<RefResult[]>;
}

export interface RequestSystem {
  name: string;
  purposes: string[];
  legalBasis: string | null;
  connector(): Promise<RequestConnector>;
}

export interface RequestEngineDeps {
  ledger: Ledger;
  keyer: SubjectKeyer;
  log: Logger;
  systems: RequestSystem[];
  config: RequestsConfig;
  actor: string;
  now?: () => Date;
  /** Called at every step boundary and between execution chunks (crash tests stop the process here). */
  onStep?: (requestId: string, point: string) => void | Promise<void>;
}

export interface NewRequest {
  kind: RequestKind;
  identities: Identity[];
  /** For requests Custodian opens itself (propagated deletions): subject keys known from the ledger. */
  subjectKeys?: string[];
  jurisdiction?: Jurisdiction;
  dryRun?: boolean;
  permanent?: boolean;
  /** Rectify: canonical field -> new value. */
  set?: Partial<Record<CanonicalField, string>>;
  /** Export: folder to write to. */
  outDir?: string;
  origin?: 'user' | 'propagated-deletion';
  /** Systems to leave out (the system where a propagated deletion came from). */
  excludeSystems?: string[];
  receivedAt?: Date;
}

interface Sealed {
  identities: Identity[];
  set?: Partial<Record<CanonicalField, string>>;
}

const STEP_ORDER: RequestState[] = [
  'intake',
  'locate',
  'plan',
  'awaiting-approval',
  'execute',
  'purge',
  'verify',
  'tombstone',
  'certificate',
  'completed',
];

/** Open a request: intake only (identities sealed, subject keys computed, due date set). */
export async function openRequest(deps: RequestEngineDeps, input: NewRequest): Promise<RequestRow> {
  const now = deps.now?.() ?? new Date();
  const receivedAt = input.receivedAt ?? now;
  const jurisdiction = input.jurisdiction ?? deps.config.jurisdiction;
  if (input.kind === 'rectify' && Object.keys(input.set ?? {}).length === 0) {
    throw new CustodianError('CUSTODIAN_ERR_INPUT_INVALID', 'rectify needs at least one --set field=value');
  }
  if (input.kind === 'export' && !input.outDir) {
    throw new CustodianError('CUSTODIAN_ERR_INPUT_INVALID', 'export needs --out <folder>');
  }
  const subjectKeys = [
    ...new Set([
      ...(input.subjectKeys ?? []),
      ...input.identities.filter((i) => i.kind !== 'vendor_id').map((i) => deps.keyer.key(i)),
    ]),
  ];
  const id = `req_${receivedAt.toISOString().slice(0, 10).replaceAll('-', '')}_${randomUUID().slice(0, 8)}`;
  const sealed: Sealed = { identities: input.identities, ...(input.set ? { set: input.set } : {}) };
  const needsApproval =
    deps.config.approval === 'always' ||
    (deps.config.approval === 'propagated' && input.origin === 'propagated-deletion');
  const row: Omit<RequestRow, 'updatedAt'> = {
    id,
    kind: input.kind,
    jurisdiction,
    state: 'locate',
    subjectKeys,
    receivedAt: receivedAt.toISOString(),
    dueAt: dueDate(jurisdiction, receivedAt).toISOString(),
    extendedDueAt: null,
    dryRun: input.dryRun ?? false,
    params: {
      sealed: seal(deps.keyer, sealed),
      permanent: input.permanent ?? deps.config.permanent,
      fields: Object.keys(input.set ?? {}),
      outDir: input.outDir ?? null,
      origin: input.origin ?? 'user',
      needsApproval,
      approved: false,
      excludeSystems: input.excludeSystems ?? [],
      identityKinds: input.identities.map((i) => i.kind),
    },
    result: {},
    error: null,
  };
  await deps.ledger.createRequest(row);
  await deps.ledger.appendAudit([
    {
      actor: deps.actor,
      action: `request.intake`,
      data: {
        requestId: id,
        kind: input.kind,
        jurisdiction,
        subjects: subjectKeys.length,
        dryRun: row.dryRun,
        origin: row.params.origin,
      },
    },
  ]);
  return (await deps.ledger.getRequest(id))!;
}

function unsealPayload(deps: RequestEngineDeps, row: RequestRow): Sealed {
  const sealed = row.params.sealed;
  return typeof sealed === 'string' ? unseal<Sealed>(deps.keyer, sealed) : { identities: [] };
}

interface StepContext {
  deps: RequestEngineDeps;
  row: RequestRow;
  sealed: Sealed;
  systems: RequestSystem[];
}

async function setState(
  ctx: StepContext,
  state: RequestState,
  patch: Partial<RequestRow> = {},
  audit: Record<string, unknown> = {},
): Promise<void> {
  await ctx.deps.ledger.updateRequest(ctx.row.id, { ...patch, state });
  await ctx.deps.ledger.appendAudit([
    { actor: ctx.deps.actor, action: `request.${state}`, data: { requestId: ctx.row.id, ...audit } },
  ]);
  ctx.row = (await ctx.deps.ledger.getRequest(ctx.row.id))!;
  await ctx.deps.onStep?.(ctx.row.id, state);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function exemptionFor(config: RequestsConfig, ref: RecordRef): Exemption | undefined {
  return config.exemptions.find(
    (e) => (!e.system || e.system === ref.system) && (!e.object || e.object === ref.object),
  );
}

/** Find the person live in every system and through the ledger, then follow related objects. */
async function locate(ctx: StepContext): Promise<void> {
  const { deps, row, sealed } = ctx;
  const fromLedger = row.subjectKeys.length > 0 ? await deps.ledger.recordsBySubject(row.subjectKeys) : [];
  const vendorRefs = sealed.identities
    .filter((i) => i.kind === 'vendor_id')
    .map((i) => {
      const [system, object, ...rest] = i.value.split(':');
      return { system: system!, object: object!, id: rest.join(':') };
    });
  const tasks: Omit<RequestTaskRow, 'updatedAt' | 'attempts'>[] = [];
  const perSystem: Record<string, { persons: number; related: number; live: boolean }> = {};
  for (const system of ctx.systems) {
    const connector = await system.connector();
    const persons = new Map<string, RecordRef>();
    const liveIdentities = sealed.identities.filter((i) => i.kind !== 'vendor_id');
    if (connector.has('find') && liveIdentities.length > 0) {
      for (const r of await connector.find(liveIdentities)) if (r.kind === 'person') persons.set(refKey(r.ref), r.ref);
    }
    for (const r of fromLedger)
      if (r.ref.system === system.name && r.kind === 'person' && !r.deletedAt) persons.set(refKey(r.ref), r.ref);
    for (const ref of vendorRefs) if (ref.system === system.name) persons.set(refKey(ref), ref);
    const related = new Map<string, RecordRef>();
    if (persons.size > 0) {
      const personRefs = [...persons.values()];
      if (connector.has('related'))
        for (const r of await connector.related(personRefs)) related.set(refKey(r.ref), r.ref);
      for (const r of await deps.ledger.recordsLinkedTo(personRefs))
        if (r.ref.system === system.name && !r.deletedAt) related.set(refKey(r.ref), r.ref);
    }
    for (const k of persons.keys()) related.delete(k);
    perSystem[system.name] = { persons: persons.size, related: related.size, live: connector.has('find') };
    for (const ref of persons.values())
      tasks.push({ requestId: row.id, step: 'locate', ref, action: 'person', state: 'done', reason: null });
    for (const ref of related.values())
      tasks.push({ requestId: row.id, step: 'locate', ref, action: 'related', state: 'done', reason: null });
  }
  await deps.ledger.upsertTasks(tasks);
  await setState(ctx, 'plan', { result: { ...row.result, located: perSystem } }, { located: perSystem });
}

/** Decide per ref what happens; shown by --dry-run. */
async function plan(ctx: StepContext): Promise<void> {
  const { deps, row } = ctx;
  const located = await deps.ledger.listTasks(row.id, 'locate');
  const tasks: Omit<RequestTaskRow, 'updatedAt' | 'attempts'>[] = [];
  const capabilityFor: Record<string, Capability> = {
    delete: 'erase',
    redact: 'update',
    update: 'update',
    'opt-out': 'opt-out',
    export: 'get',
  };
  const connectors = new Map<string, RequestConnector>();
  for (const s of ctx.systems) connectors.set(s.name, await s.connector());
  for (const t of located) {
    let action: string;
    let reason: string | null = null;
    let state: TaskState = 'pending';
    if (row.kind === 'erase') {
      const exemption = exemptionFor(deps.config, t.ref);
      if (exemption?.action === 'keep') {
        action = 'keep';
        state = 'exempt';
        reason = exemption.reason;
      } else if (exemption?.action === 'redact') {
        action = 'redact';
        reason = exemption.reason;
      } else {
        action = 'delete';
      }
    } else if (row.kind === 'rectify') {
      if (t.action !== 'person') continue;
      action = 'update';
    } else if (row.kind === 'opt-out') {
      if (t.action !== 'person') continue;
      action = 'opt-out';
    } else {
      action = 'export';
    }
    const cap = capabilityFor[action];
    if (state === 'pending' && cap && !connectors.get(t.ref.system)?.has(cap)) {
      state = 'failed';
      reason = `manual step: the ${t.ref.system} connector cannot ${cap}`;
    }
    tasks.push({ requestId: row.id, step: 'execute', ref: t.ref, action, state, reason });
  }
  await deps.ledger.upsertTasks(tasks);
  const planSummary = summarise(tasks);
  if (row.dryRun) {
    // A dry run is finished here: its sealed identities are dropped like any completed request's.
    const { sealed: _dropped, ...params } = row.params;
    await setState(
      ctx,
      'completed',
      { params, result: { ...row.result, plan: planSummary, dryRun: true } },
      { plan: planSummary, dryRun: true },
    );
    return;
  }
  const next: RequestState = row.params.needsApproval && !row.params.approved ? 'awaiting-approval' : 'execute';
  await setState(ctx, next, { result: { ...row.result, plan: planSummary } }, { plan: planSummary });
}

function summarise(tasks: Pick<RequestTaskRow, 'ref' | 'action' | 'state'>[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const t of tasks) {
    const s = out[t.ref.system] ?? {};
    out[t.ref.system] = s;
    const key = t.state === 'pending' ? t.action : `${t.action}:${t.state}`;
    s[key] = (s[key] ?? 0) + 1;
  }
  return out;
}

function fieldFor(streams: StreamDefinition[], object: string, canonical: string): string | undefined {
  return streams.find((s) => s.name === object)?.fields.find((f) => f.canonical === canonical)?.name;
}

async function applyResults(
  ctx: StepContext,
  step: string,
  results: RefResult[],
  okState: (r: RefResult) => TaskState = (r) => (r.outcome === 'already_gone' ? 'already_gone' : 'done'),
): Promise<void> {
  for (const r of results) {
    const state: TaskState =
      r.outcome === 'done' || r.outcome === 'already_gone'
        ? okState(r)
        : r.outcome === 'skipped'
          ? 'skipped'
          : 'failed';
    await ctx.deps.ledger.updateTask(ctx.row.id, step, r.ref, { state, reason: r.reason ?? null });
  }
}

/** Run the pending tasks, batched per system and action, storing progress after each chunk. */
async function execute(ctx: StepContext): Promise<void> {
  const { deps, row, sealed } = ctx;
  const tasks = (await deps.ledger.listTasks(row.id, 'execute')).filter(
    (t) => t.state === 'pending' || t.state === 'running',
  );
  const bySystemAction = new Map<string, RequestTaskRow[]>();
  for (const t of tasks) {
    const k = `${t.ref.system}\u0000${t.action}`;
    bySystemAction.set(k, [...(bySystemAction.get(k) ?? []), t]);
  }
  const exported: Record<string, CrmRecord[]> = {};
  for (const [key, group] of bySystemAction) {
    const [systemName, action] = key.split('\u0000') as [string, string];
    const system = ctx.systems.find((s) => s.name === systemName);
    if (!system) continue;
    const connector = await system.connector();
    for (const chunk of chunks(group, deps.config.chunkSize)) {
      const refs = chunk.map((t) => t.ref);
      for (const ref of refs) await deps.ledger.updateTask(row.id, 'execute', ref, { state: 'running' });
      if (action === 'delete') {
        await applyResults(ctx, 'execute', await connector.erase(refs, { permanent: row.params.permanent === true }));
      } else if (action === 'redact') {
        const changes = refs.map((ref) => {
          const exemption = exemptionFor(deps.config, ref);
          return {
            ref,
            set: Object.fromEntries((exemption?.fields ?? []).map((f) => [f, null])),
          } satisfies FieldChange;
        });
        await applyResults(ctx, 'execute', await connector.update(changes));
      } else if (action === 'opt-out') {
        await applyResults(ctx, 'execute', await connector.setMarketingOptOut(refs));
      } else if (action === 'update') {
        await applyResults(ctx, 'execute', await rectifyChunk(connector, refs, sealed.set ?? {}));
      } else if (action === 'export') {
        const records = await connector.get(refs);
        exported[systemName] = [...(exported[systemName] ?? []), ...records.filter((r): r is CrmRecord => r !== null)];
        await applyResults(
          ctx,
          'execute',
          refs.map((ref, i) => (records[i] ? { ref, outcome: 'done' } : { ref, outcome: 'already_gone' })),
        );
      }
      await deps.onStep?.(row.id, `execute:${systemName}:${action}:chunk`);
    }
  }
  if (row.kind === 'export') {
    const outDir = String(row.params.outDir);
    const written = await writeExport(
      outDir,
      row,
      exported,
      await deps.ledger.duplicationsBySubject(row.subjectKeys),
      ctx.systems,
    );
    // An export is itself a copy of the person's data: it enters the duplication register.
    const destination = createHash('sha256').update(outDir).digest('hex').slice(0, 16);
    for (const [system, records] of Object.entries(exported)) {
      for (const r of records.slice(0, 1000)) {
        await deps.ledger.recordDuplication({
          subjectKey: row.subjectKeys[0] ?? 'unknown',
          source: r.ref,
          copy: { system: 'export', object: destination, id: `${row.id}:${system}:${r.ref.id}` },
          fields: Object.keys(r.fields).sort(),
          purpose: 'data-subject access',
          legalBasis: 'legal_obligation',
          origin: 'export',
          note: `export by ${deps.actor}`,
        });
      }
    }
    row.result = { ...row.result, export: written };
  }
  const after = await deps.ledger.listTasks(row.id, 'execute');
  const next: RequestState = row.kind === 'erase' ? 'purge' : row.kind === 'export' ? 'certificate' : 'verify';
  await setState(ctx, next, { result: { ...row.result, executed: summarise(after) } }, { executed: summarise(after) });
}

async function rectifyChunk(
  connector: RequestConnector,
  refs: RecordRef[],
  set: Partial<Record<CanonicalField, string>>,
): Promise<RefResult[]> {
  // Expected values are read now, not at locate time: they are personal data and are never stored.
  const current = await connector.get(refs);
  const changes: FieldChange[] = [];
  const results: RefResult[] = [];
  refs.forEach((ref, i) => {
    const record = current[i];
    if (!record) {
      results.push({ ref, outcome: 'already_gone' });
      return;
    }
    const change: FieldChange = { ref, set: {}, expected: {} };
    for (const [canonical, value] of Object.entries(set)) {
      const field = fieldFor(connector.streams, ref.object, canonical);
      if (!field) continue;
      change.set[field] = value ?? null;
      change.expected![field] = record.fields[field] ?? null;
    }
    if (Object.keys(change.set).length === 0)
      results.push({ ref, outcome: 'skipped', reason: 'none of the fields exist on this object' });
    else if (Object.entries(change.set).every(([f, v]) => (record.fields[f] ?? null) === v))
      results.push({ ref, outcome: 'done' });
    else changes.push(change);
  });
  return [...results, ...(changes.length > 0 ? await connector.update(changes) : [])];
}

async function purge(ctx: StepContext): Promise<void> {
  const { deps, row } = ctx;
  if (row.params.permanent === true) {
    const deleted = (await deps.ledger.listTasks(row.id, 'execute')).filter(
      (t) => t.action === 'delete' && (t.state === 'done' || t.state === 'already_gone'),
    );
    const existing = new Set((await deps.ledger.listTasks(row.id, 'purge')).map((t) => refKey(t.ref)));
    await deps.ledger.upsertTasks(
      deleted
        .filter((t) => !existing.has(refKey(t.ref)))
        .map((t) => ({
          requestId: row.id,
          step: 'purge',
          ref: t.ref,
          action: 'purge',
          state: 'pending' as const,
          reason: null,
        })),
    );
    const pending = (await deps.ledger.listTasks(row.id, 'purge')).filter(
      (t) => t.state === 'pending' || t.state === 'running',
    );
    for (const system of ctx.systems) {
      const refs = pending.filter((t) => t.ref.system === system.name).map((t) => t.ref);
      if (refs.length === 0) continue;
      const connector = await system.connector();
      if (!connector.has('purge')) {
        // Connectors without a recycle bin (or whose erase is already permanent) have nothing to purge.
        await applyResults(
          ctx,
          'purge',
          refs.map((ref) => ({ ref, outcome: 'skipped', reason: 'no recycle bin to empty' })),
        );
        continue;
      }
      for (const chunk of chunks(refs, deps.config.chunkSize)) {
        await applyResults(ctx, 'purge', await connector.purge(chunk));
        await deps.onStep?.(row.id, `purge:${system.name}:chunk`);
      }
    }
  }
  await setState(ctx, 'verify', {}, { purged: summarise(await deps.ledger.listTasks(row.id, 'purge')) });
}

/** Read back: nothing erased may remain; opt-outs and corrections must be in place. */
async function verify(ctx: StepContext): Promise<void> {
  const { deps, row, sealed } = ctx;
  const executed = await deps.ledger.listTasks(row.id, 'execute');
  const problems: Record<string, number> = {};
  const verifyTasks: Omit<RequestTaskRow, 'updatedAt' | 'attempts'>[] = [];
  const liveIdentities = sealed.identities.filter((i) => i.kind !== 'vendor_id');
  for (const system of ctx.systems) {
    const connector = await system.connector();
    const mine = executed.filter(
      (t) => t.ref.system === system.name && (t.state === 'done' || t.state === 'already_gone'),
    );
    let results: RefResult[] = [];
    if (row.kind === 'erase') {
      const deleted = mine.filter((t) => t.action === 'delete').map((t) => t.ref);
      if (connector.has('verify')) {
        results =
          deleted.length > 0 || liveIdentities.length > 0 ? await connector.verifyErased(deleted, liveIdentities) : [];
      } else {
        const found = connector.has('get') && deleted.length > 0 ? await connector.get(deleted) : [];
        results = deleted.map((ref, i) => {
          const r = found[i];
          const remains = r && (!r.archived || row.params.permanent === true);
          return remains
            ? { ref, outcome: 'failed' as const, reason: 'record still readable after erasure' }
            : { ref, outcome: 'done' as const };
        });
        if (connector.has('find') && liveIdentities.length > 0) {
          for (const r of await connector.find(liveIdentities)) {
            if (!r.archived || row.params.permanent === true)
              results.push({ ref: r.ref, outcome: 'failed', reason: 'person still found by identity' });
          }
        }
      }
    } else if ((row.kind === 'opt-out' || row.kind === 'rectify') && connector.has('get')) {
      const refs = mine.map((t) => t.ref);
      const records = refs.length > 0 ? await connector.get(refs) : [];
      results = refs.map((ref, i) => {
        const r = records[i];
        if (!r) return { ref, outcome: 'already_gone' as const };
        if (row.kind === 'opt-out') {
          return r.consent?.marketingOptOut
            ? { ref, outcome: 'done' as const }
            : { ref, outcome: 'failed' as const, reason: 'opt-out not set on read-back' };
        }
        const wrong = Object.entries(sealed.set ?? {}).some(([canonical, value]) => {
          const field = fieldFor(connector.streams, ref.object, canonical);
          return field !== undefined && (r.fields[field] ?? null) !== value;
        });
        return wrong
          ? { ref, outcome: 'failed' as const, reason: 'corrected value not found on read-back' }
          : { ref, outcome: 'done' as const };
      });
    }
    for (const r of results) {
      verifyTasks.push({
        requestId: row.id,
        step: 'verify',
        ref: r.ref,
        action: 'verify',
        state: r.outcome === 'failed' ? 'failed' : 'done',
        reason: r.reason ?? null,
      });
      if (r.outcome === 'failed') problems[system.name] = (problems[system.name] ?? 0) + 1;
    }
  }
  await deps.ledger.upsertTasks(verifyTasks);
  const failedExecution = executed.filter((t) => t.state === 'failed');
  for (const t of failedExecution) problems[t.ref.system] = (problems[t.ref.system] ?? 0) + 1;
  if (Object.keys(problems).length > 0) {
    const reason = `not finished: ${Object.entries(problems)
      .map(([s, n]) => `${s}: ${n} ref(s) failed or still present`)
      .join('; ')}; fix the cause and run \`custodian requests resume ${row.id}\``;
    // The request stays open (and keeps its sealed identities) until read-back finds nothing.
    await deps.ledger.updateRequest(row.id, {
      state: 'blocked',
      error: reason,
      result: { ...row.result, verifyProblems: problems },
    });
    await deps.ledger.appendAudit([
      { actor: deps.actor, action: 'request.blocked', data: { requestId: row.id, problems } },
    ]);
    ctx.row = (await deps.ledger.getRequest(row.id))!;
    return;
  }
  await setState(
    ctx,
    row.kind === 'erase' ? 'tombstone' : 'certificate',
    { error: null },
    { verified: verifyTasks.length },
  );
}

async function tombstone(ctx: StepContext): Promise<void> {
  const { deps, row } = ctx;
  const at = (deps.now?.() ?? new Date()).toISOString();
  const gone = (await deps.ledger.listTasks(row.id, 'execute')).filter(
    (t) => t.action === 'delete' && (t.state === 'done' || t.state === 'already_gone'),
  );
  await deps.ledger.markErased(
    gone.map((t) => t.ref),
    at,
  );
  if (row.subjectKeys.length > 0) await deps.ledger.addTombstones(row.subjectKeys, row.id);
  await setState(ctx, 'certificate', {}, { tombstones: row.subjectKeys.length, erased: gone.length });
}

export interface Certificate {
  requestId: string;
  kind: RequestKind;
  jurisdiction: Jurisdiction;
  receivedAt: string;
  dueAt: string;
  completedAt: string;
  permanent: boolean;
  systems: {
    system: string;
    found: number;
    done: number;
    alreadyGone: number;
    exempt: number;
    failed: number;
    purged: number;
    verified: number;
  }[];
  exemptions: { system: string; object: string; count: number; reason: string }[];
  auditSeq: number;
  auditHeadHash: string;
  certificateHash: string;
}

async function certificate(ctx: StepContext): Promise<void> {
  const { deps, row } = ctx;
  const [located, executed, purged, verified] = await Promise.all(
    ['locate', 'execute', 'purge', 'verify'].map((step) => deps.ledger.listTasks(row.id, step)),
  );
  const count = (tasks: RequestTaskRow[] | undefined, system: string, pred: (t: RequestTaskRow) => boolean) =>
    (tasks ?? []).filter((t) => t.ref.system === system && pred(t)).length;
  const systems = ctx.systems.map((s) => ({
    system: s.name,
    found: count(located, s.name, () => true),
    done: count(executed, s.name, (t) => t.state === 'done'),
    alreadyGone: count(executed, s.name, (t) => t.state === 'already_gone'),
    exempt: count(executed, s.name, (t) => t.state === 'exempt' || t.action === 'redact'),
    failed: count(executed, s.name, (t) => t.state === 'failed'),
    purged: count(purged, s.name, (t) => t.state === 'done' || t.state === 'already_gone'),
    verified: count(verified, s.name, (t) => t.state === 'done'),
  }));
  const exemptionMap = new Map<string, { system: string; object: string; count: number; reason: string }>();
  for (const t of executed ?? []) {
    if (t.state !== 'exempt' && t.action !== 'redact') continue;
    const k = `${t.ref.system}\u0000${t.ref.object}\u0000${t.reason}`;
    const e = exemptionMap.get(k) ?? { system: t.ref.system, object: t.ref.object, count: 0, reason: t.reason ?? '' };
    e.count++;
    exemptionMap.set(k, e);
  }
  const completedAt = (deps.now?.() ?? new Date()).toISOString();
  const [event] = await deps.ledger.appendAudit([
    {
      actor: deps.actor,
      action: 'request.completed',
      data: { requestId: row.id, kind: row.kind, systems: systems.map((s) => ({ ...s })) },
    },
  ]);
  const body = {
    requestId: row.id,
    kind: row.kind,
    jurisdiction: row.jurisdiction,
    receivedAt: row.receivedAt,
    dueAt: row.dueAt,
    completedAt,
    permanent: row.params.permanent === true,
    systems,
    exemptions: [...exemptionMap.values()],
    auditSeq: event!.seq,
    auditHeadHash: event!.hash,
  };
  const cert: Certificate = {
    ...body,
    certificateHash: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
  };
  // Completion drops the sealed identities: nothing of the person remains in the ledger.
  const { sealed: _dropped, ...params } = row.params;
  await deps.ledger.updateRequest(row.id, {
    state: 'completed',
    params,
    result: { ...row.result, certificate: cert },
    error: null,
  });
  ctx.row = (await deps.ledger.getRequest(row.id))!;
  await deps.onStep?.(row.id, 'completed');
}

const STEPS: Partial<Record<RequestState, (ctx: StepContext) => Promise<void>>> = {
  locate,
  plan,
  execute,
  purge,
  verify,
  tombstone,
  certificate,
};

/** Drive a request from its stored state until it completes, blocks, or waits for approval. */
export async function runRequest(deps: RequestEngineDeps, id: string): Promise<RequestRow> {
  const row = await deps.ledger.getRequest(id);
  if (!row) throw new CustodianError('CUSTODIAN_ERR_REQUEST_NOT_FOUND', `No request ${id}.`);
  const exclude = new Set((row.params.excludeSystems as string[] | undefined) ?? []);
  const ctx: StepContext = {
    deps,
    row: row.state === 'blocked' ? { ...row, state: 'verify' } : row,
    sealed: unsealPayload(deps, row),
    systems: deps.systems.filter((s) => !exclude.has(s.name)),
  };
  if (row.state === 'blocked') {
    // Resuming a blocked request retries execution of failed tasks, then verification.
    const failed = (await deps.ledger.listTasks(id, 'execute')).filter(
      (t) => t.state === 'failed' && !t.reason?.startsWith('manual step'),
    );
    for (const t of failed) await deps.ledger.updateTask(id, 'execute', t.ref, { state: 'pending', reason: null });
    ctx.row = { ...row, state: failed.length > 0 ? 'execute' : 'verify' };
    await deps.ledger.updateRequest(id, { state: ctx.row.state, error: null });
  }
  for (;;) {
    const step = STEPS[ctx.row.state];
    if (!step) return ctx.row;
    await step(ctx);
    if (ctx.row.state === 'blocked') return ctx.row;
  }
}

export async function approveRequest(deps: RequestEngineDeps, id: string): Promise<RequestRow> {
  const row = await deps.ledger.getRequest(id);
  if (!row) throw new CustodianError('CUSTODIAN_ERR_REQUEST_NOT_FOUND', `No request ${id}.`);
  if (row.state !== 'awaiting-approval') {
    throw new CustodianError('CUSTODIAN_ERR_REQUEST_STATE', `Request ${id} is ${row.state}, not awaiting approval.`);
  }
  await deps.ledger.updateRequest(id, { state: 'execute', params: { ...row.params, approved: true } });
  await deps.ledger.appendAudit([{ actor: deps.actor, action: 'request.approved', data: { requestId: id } }]);
  return runRequest(deps, id);
}

/** Every request that is not finished and not waiting for a person: run on start-up and by `requests resume`. */
export async function resumeOpenRequests(deps: RequestEngineDeps): Promise<RequestRow[]> {
  const open = await deps.ledger.listRequests({ open: true });
  const out: RequestRow[] = [];
  for (const r of open) {
    if (r.state === 'awaiting-approval' || r.state === 'completed' || r.state === 'failed') continue;
    out.push(await runRequest(deps, r.id));
  }
  return out;
}

export function isTerminal(state: RequestState): boolean {
  return state === 'completed' || state === 'failed';
}

export { STEP_ORDER };
