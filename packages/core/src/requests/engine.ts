/**
 * Data-subject requests as persisted state machines:
 * intake -> locate -> plan -> (awaiting-approval) -> execute -> purge -> verify -> tombstone -> certificate.
 * Every step and every per-ref task is stored before and after it runs, so a process killed anywhere
 * resumes where it stopped. Harmful steps are idempotent per ref: a task already done is never run again,
 * "already gone" counts as erased, and updates are checked against the value they replace.
 *
 * Requests run in batches: the requests in one step share connector calls per system (1,000 erasures
 * make 10 HubSpot archive calls, not 1,000), systems run side by side, and each result is booked to the
 * request that owns the ref. A single request is a batch of one. A vendor failure the runtime could not
 * retry away (daily quota, a storm outlasting the retries, revoked auth) parks the requests it touches
 * with the step and reason; `custodian requests resume` picks them up at that step.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import PQueue from 'p-queue';
import type { Capability, EraseOptions, FieldChange, RefResult, StreamDefinition } from '../contract.js';
import { ConnectorError, CustodianError } from '../errors.js';
import type { SubjectKeyer } from '../identity.js';
import type { Ledger, RequestRow, RequestState, RequestTaskRow, TaskState } from '../ledger.js';
import type { Logger } from '../logger.js';
import { mapSettled } from '../runtime/settle.js';
import { refKey } from '../sync/index-entry.js';
import type { CanonicalField, CrmRecord, Identity, Jurisdiction, RecordRef, RequestKind } from '../types.js';
import { Attribution, ownersByLink } from './attribute.js';
import type { Exemption, RequestsConfig } from './config.js';
import { dueDate } from './deadlines.js';
import { writeExport } from './export.js';
import { patientConnector } from './patience.js';
import { seal, unseal } from './seal.js';
import { writeSubjectCopy } from './subject-copy.js';

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
  /** For phone numbers without a country code in records (attributing batched results). */
  defaultCountry?: CountryCode;
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
  /**
   * Write a copy of the certificate that names the person (their identities) to this file, to send to
   * them. The ledger's certificate never names anyone; the path is kept only while the request is open.
   */
  subjectCopy?: string;
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
      ...(input.subjectCopy ? { subjectCopy: input.subjectCopy } : {}),
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

/** One request inside a batch: its stored row, its unsealed payload and the systems it covers. */
interface Item {
  row: RequestRow;
  sealed: Sealed;
  systems: RequestSystem[];
}

type NewTask = Omit<RequestTaskRow, 'updatedAt' | 'attempts'>;

function itemsIn(items: Item[], system: string): Item[] {
  return items.filter((i) => i.systems.some((s) => s.name === system));
}

function systemsOf(items: Item[]): RequestSystem[] {
  const out = new Map<string, RequestSystem>();
  for (const i of items) for (const s of i.systems) out.set(s.name, s);
  return [...out.values()];
}

function liveIdentities(item: Item): Identity[] {
  return item.sealed.identities.filter((i) => i.kind !== 'vendor_id');
}

function uniqueIdentities(items: Item[]): Identity[] {
  const out = new Map<string, Identity>();
  for (const i of items) for (const id of liveIdentities(i)) out.set(`${id.kind}:${id.value}`, id);
  return [...out.values()];
}

/** The tasks of these requests at one step, in one ledger query. */
async function tasksOf(deps: RequestEngineDeps, items: Item[], step: string): Promise<Map<Item, RequestTaskRow[]>> {
  const byId = await deps.ledger.tasksByRequest(
    items.map((i) => i.row.id),
    step,
  );
  return new Map(items.map((i) => [i, byId.get(i.row.id) ?? []]));
}

/** Store a state change for many requests at once (one audit append), then report each step boundary. */
async function setStates(
  deps: RequestEngineDeps,
  changes: { item: Item; state: RequestState; patch?: Partial<RequestRow>; audit?: Record<string, unknown> }[],
): Promise<void> {
  if (changes.length === 0) return;
  await deps.ledger.updateRequests(changes.map((c) => ({ id: c.item.row.id, patch: { ...c.patch, state: c.state } })));
  await deps.ledger.appendAudit(
    changes.map((c) => ({
      actor: deps.actor,
      action: `request.${c.state}`,
      data: { requestId: c.item.row.id, ...c.audit },
    })),
  );
  for (const c of changes) c.item.row = { ...c.item.row, ...c.patch, state: c.state };
  for (const c of changes) await deps.onStep?.(c.item.row.id, c.state);
}

/** A vendor failure the runtime could not retry away: the request waits at this step with the reason. */
async function park(deps: RequestEngineDeps, items: Item[], step: RequestState, err: ConnectorError): Promise<void> {
  const resumeAt = err.resumeAt?.toISOString() ?? null;
  const updates: { id: string; patch: Partial<RequestRow> }[] = [];
  for (const item of items) {
    const reason = `parked at ${step}: ${err.system} ${err.kind.replace('_', ' ')} (${err.code})${
      resumeAt ? `, the vendor resets at ${resumeAt}` : ''
    }; run \`custodian requests resume ${item.row.id}\` when the system is back`;
    const parked = { step, system: err.system, kind: err.kind, code: err.code, resumeAt };
    const patch = { state: 'blocked' as const, error: reason, result: { ...item.row.result, parked } };
    updates.push({ id: item.row.id, patch });
    item.row = { ...item.row, ...patch };
  }
  await deps.ledger.updateRequests(updates);
  await deps.ledger.appendAudit(
    items.map((item) => ({
      actor: deps.actor,
      action: 'request.parked',
      data: { requestId: item.row.id, step, system: err.system, kind: err.kind, resumeAt },
    })),
  );
}

/**
 * Run one piece of work per system side by side. Systems that fail with a ConnectorError park the
 * requests that involve them (the others go on); any other error is a bug and is thrown.
 */
async function perSystem(
  deps: RequestEngineDeps,
  items: Item[],
  step: RequestState,
  work: (system: RequestSystem, mine: Item[]) => Promise<void>,
): Promise<Item[]> {
  const systems = systemsOf(items);
  const settled = await Promise.allSettled(
    systems.map(async (s) => {
      const started = performance.now();
      await work(s, itemsIn(items, s.name));
      deps.log.debug(
        { step, system: s.name, ms: Math.round(performance.now() - started) },
        'request step done in system',
      );
    }),
  );
  const parked = new Set<Item>();
  for (const [i, r] of settled.entries()) {
    if (r.status === 'fulfilled') continue;
    if (!(r.reason instanceof ConnectorError) || r.reason.kind === 'aborted') throw r.reason;
    const affected = itemsIn(items, systems[i]!.name).filter((it) => !parked.has(it));
    for (const it of affected) parked.add(it);
    if (affected.length > 0) await park(deps, affected, step, r.reason);
  }
  return items.filter((it) => !parked.has(it));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Refs grouped by object, then cut into chunks, so every chunk fills the vendor's per-object batches. */
function objectChunks(refs: RecordRef[], size: number): RecordRef[][] {
  const byObject = new Map<string, RecordRef[]>();
  for (const r of refs) {
    const group = byObject.get(r.object);
    if (group) group.push(r);
    else byObject.set(r.object, [r]);
  }
  return [...byObject.values()].flatMap((group) => chunks(group, size));
}

/** Run jobs with at most `n` at once; every job finishes (or fails) before the first failure is thrown. */
async function inParallel(n: number, jobs: (() => Promise<void>)[]): Promise<void> {
  const queue = new PQueue({ concurrency: n });
  await mapSettled(jobs, (job) => queue.add(job));
}

/**
 * Live identities in lists of 100 (one HubSpot batch read), a few lists at a time: the runtime paces the
 * calls within each vendor's declared rate and concurrency limits, so more lists in flight cost no 429s.
 */
async function findAll(connector: RequestConnector, identities: Identity[], concurrency: number): Promise<CrmRecord[]> {
  const parts = chunks(identities, 100);
  const found: CrmRecord[][] = parts.map(() => []);
  await inParallel(
    concurrency,
    parts.map((part, i) => async () => {
      found[i] = await connector.find(part);
    }),
  );
  return found.flat();
}

function exemptionFor(config: RequestsConfig, ref: RecordRef): Exemption | undefined {
  return config.exemptions.find(
    (e) => (!e.system || e.system === ref.system) && (!e.object || e.object === ref.object),
  );
}

/** Find each person live in every system and through the ledger, then follow related objects. */
async function locate(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const persons = new Map<Item, Map<string, RecordRef>>(items.map((i) => [i, new Map()]));
  const related = new Map<Item, Map<string, RecordRef>>(items.map((i) => [i, new Map()]));
  const located = new Map<Item, Record<string, { persons: number; related: number; live: boolean }>>(
    items.map((i) => [i, {}]),
  );
  const keys = [...new Set(items.flatMap((i) => i.row.subjectKeys))];
  const fromLedger = keys.length > 0 ? await deps.ledger.recordsBySubject(keys) : [];
  const attribution = new Attribution(
    items.map((item) => ({ id: item.row.id, subjectKeys: item.row.subjectKeys, item })),
    deps.keyer,
    deps.defaultCountry,
  );
  const ok = await perSystem(deps, items, 'locate', async (system, mine) => {
    const connector = patientConnector(await system.connector());
    const add = (owners: { item: Item }[], ref: RecordRef, into: Map<Item, Map<string, RecordRef>>) => {
      for (const o of owners) if (mine.includes(o.item)) into.get(o.item)!.set(refKey(ref), ref);
    };
    const identities = uniqueIdentities(mine);
    if (connector.has('find') && identities.length > 0) {
      for (const r of await findAll(connector, identities, deps.config.concurrency))
        if (r.kind === 'person') add(attribution.ofRecord(r), r.ref, persons);
    }
    for (const r of fromLedger)
      if (r.ref.system === system.name && r.kind === 'person' && !r.deletedAt)
        add(attribution.ofKeys(r.subjects.map((s) => s.key)), r.ref, persons);
    for (const item of mine)
      for (const id of item.sealed.identities) {
        if (id.kind !== 'vendor_id') continue;
        const [sys, object, ...rest] = id.value.split(':');
        if (sys === system.name)
          persons.get(item)!.set(`${sys}\u0000${object}\u0000${rest.join(':')}`, {
            system: sys!,
            object: object!,
            id: rest.join(':'),
          });
      }
    const personOwners = new Map<string, Item[]>();
    for (const item of mine)
      for (const [k] of persons.get(item)!) personOwners.set(k, [...(personOwners.get(k) ?? []), item]);
    // `persons` and `related` hold every system's refs (systems run side by side): each system sees only its own.
    const ofSystem = (m: Map<string, RecordRef>) => [...m].filter(([, ref]) => ref.system === system.name);
    const personRefs = [...new Map(mine.flatMap((i) => ofSystem(persons.get(i)!))).values()];
    if (personRefs.length > 0) {
      const linked = [
        ...(connector.has('related') ? await connector.related(personRefs) : []),
        ...(await deps.ledger.recordsLinkedTo(personRefs)).filter((r) => r.ref.system === system.name && !r.deletedAt),
      ];
      for (const r of linked)
        for (const item of ownersByLink(r.links, personOwners, mine)) related.get(item)!.set(refKey(r.ref), r.ref);
    }
    for (const item of mine) {
      const p = ofSystem(persons.get(item)!);
      const rel = related.get(item)!;
      for (const [k] of p) rel.delete(k);
      located.get(item)![system.name] = {
        persons: p.length,
        related: ofSystem(rel).length,
        live: connector.has('find'),
      };
    }
  });
  const tasks: NewTask[] = [];
  for (const item of ok) {
    for (const ref of persons.get(item)!.values())
      tasks.push({ requestId: item.row.id, step: 'locate', ref, action: 'person', state: 'done', reason: null });
    for (const ref of related.get(item)!.values())
      tasks.push({ requestId: item.row.id, step: 'locate', ref, action: 'related', state: 'done', reason: null });
  }
  await deps.ledger.upsertTasks(tasks);
  await setStates(
    deps,
    ok.map((item) => ({
      item,
      state: 'plan',
      patch: { result: { ...item.row.result, located: located.get(item) } },
      audit: { located: located.get(item) },
    })),
  );
}

const CAPABILITY_FOR: Record<string, Capability> = {
  delete: 'erase',
  redact: 'update',
  update: 'update',
  'opt-out': 'opt-out',
  export: 'get',
};

/** Decide per ref what happens; shown by --dry-run. */
async function plan(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const connectors = new Map<string, RequestConnector>();
  for (const s of systemsOf(items)) connectors.set(s.name, await s.connector());
  const changes: Parameters<typeof setStates>[1] = [];
  const all: NewTask[] = [];
  const [located, planned] = [await tasksOf(deps, items, 'locate'), await tasksOf(deps, items, 'execute')];
  for (const item of items) {
    const { row } = item;
    const tasks: NewTask[] = [];
    // Located again after read-back found more (resume): what was already erased is kept, never run again.
    const settled = new Map(
      planned
        .get(item)!
        .filter((t) => t.state === 'done' || t.state === 'already_gone')
        .map((t) => [refKey(t.ref), t]),
    );
    for (const t of located.get(item)!) {
      const prior = settled.get(refKey(t.ref));
      if (prior) {
        tasks.push(prior);
        continue;
      }
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
      const cap = CAPABILITY_FOR[action];
      if (state === 'pending' && cap && !connectors.get(t.ref.system)?.has(cap)) {
        state = 'failed';
        reason = `manual step: the ${t.ref.system} connector cannot ${cap}`;
      }
      tasks.push({ requestId: row.id, step: 'execute', ref: t.ref, action, state, reason });
    }
    all.push(...tasks.filter((t) => !settled.has(refKey(t.ref))));
    const planSummary = summarise(tasks);
    if (row.dryRun) {
      // A dry run is finished here: its sealed identities are dropped like any completed request's.
      const { sealed: _dropped, subjectCopy: _path, ...params } = row.params;
      changes.push({
        item,
        state: 'completed',
        patch: { params, result: { ...row.result, plan: planSummary, dryRun: true } },
        audit: { plan: planSummary, dryRun: true },
      });
      continue;
    }
    changes.push({
      item,
      state: row.params.needsApproval && !row.params.approved ? 'awaiting-approval' : 'execute',
      patch: { result: { ...row.result, plan: planSummary } },
      audit: { plan: planSummary },
    });
  }
  await deps.ledger.upsertTasks(all);
  await setStates(deps, changes);
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

function taskState(r: RefResult): TaskState {
  if (r.outcome === 'done') return 'done';
  if (r.outcome === 'already_gone') return 'already_gone';
  return r.outcome === 'skipped' ? 'skipped' : 'failed';
}

/** Book connector results to every task (of any request in the batch) that holds the ref. */
async function applyResults(deps: RequestEngineDeps, tasks: RequestTaskRow[], results: RefResult[]): Promise<void> {
  const byRef = new Map(results.map((r) => [refKey(r.ref), r]));
  await deps.ledger.upsertTasks(
    tasks.flatMap((t) => {
      const r = byRef.get(refKey(t.ref));
      return r ? [{ ...t, state: taskState(r), reason: r.reason ?? null }] : [];
    }),
  );
}

async function markRunning(deps: RequestEngineDeps, tasks: RequestTaskRow[]): Promise<void> {
  await deps.ledger.upsertTasks(tasks.map((t) => ({ ...t, state: 'running' as const })));
}

function uniqueRefs(tasks: RequestTaskRow[]): RecordRef[] {
  return [...new Map(tasks.map((t) => [refKey(t.ref), t.ref])).values()];
}

async function pendingTasks(
  deps: RequestEngineDeps,
  items: Item[],
  step: string,
): Promise<Map<Item, RequestTaskRow[]>> {
  const out = await tasksOf(deps, items, step);
  for (const [item, tasks] of out)
    out.set(
      item,
      tasks.filter((t) => t.state === 'pending' || t.state === 'running'),
    );
  return out;
}

/** Run the pending tasks, batched per system and action across requests, storing progress after each chunk. */
async function execute(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const pending = await pendingTasks(deps, items, 'execute');
  const exported = new Map<Item, Record<string, CrmRecord[]>>(items.map((i) => [i, {}]));
  const ok = await perSystem(deps, items, 'execute', async (system, mine) => {
    const tasks = mine.flatMap((i) => pending.get(i)!.filter((t) => t.ref.system === system.name));
    if (tasks.length === 0) return;
    const connector = patientConnector(await system.connector());
    const byId = new Map(mine.map((i) => [i.row.id, i]));
    const byAction = new Map<string, RequestTaskRow[]>();
    for (const t of tasks) {
      const group = byAction.get(t.action);
      if (group) group.push(t);
      else byAction.set(t.action, [t]);
    }
    for (const [action, group] of byAction) {
      // Rectify carries each request's own values, so its chunks never mix requests.
      // Deletes never mix permanent and restorable erasure in one call.
      const permanent = (t: RequestTaskRow) => byId.get(t.requestId)?.row.params.permanent === true;
      const groups = (
        action === 'update'
          ? mine.map((i) => group.filter((t) => t.requestId === i.row.id))
          : action === 'delete'
            ? [group.filter(permanent), group.filter((t) => !permanent(t))]
            : [group]
      ).filter((g) => g.length > 0);
      const jobs = groups.flatMap((g) =>
        objectChunks(uniqueRefs(g), deps.config.chunkSize).map((chunk) => async () => {
          const keys = new Set(chunk.map(refKey));
          const chunkTasks = g.filter((t) => keys.has(refKey(t.ref)));
          await markRunning(deps, chunkTasks);
          let results: RefResult[];
          if (action === 'delete') {
            results = await connector.erase(chunk, { permanent: permanent(chunkTasks[0]!) });
          } else if (action === 'redact') {
            results = await connector.update(
              chunk.map((ref) => ({
                ref,
                set: Object.fromEntries((exemptionFor(deps.config, ref)?.fields ?? []).map((f) => [f, null])),
              })),
            );
          } else if (action === 'opt-out') {
            results = await connector.setMarketingOptOut(chunk);
          } else if (action === 'update') {
            const owner = byId.get(g[0]!.requestId)!;
            results = await rectifyChunk(connector, chunk, owner.sealed.set ?? {});
          } else {
            const records = await connector.get(chunk);
            for (const t of chunkTasks) {
              const owner = byId.get(t.requestId)!;
              const r = records[chunk.findIndex((ref) => refKey(ref) === refKey(t.ref))];
              if (r) {
                const byItem = exported.get(owner)!;
                byItem[system.name] = [...(byItem[system.name] ?? []), r];
              }
            }
            results = chunk.map((ref, i) => (records[i] ? { ref, outcome: 'done' } : { ref, outcome: 'already_gone' }));
          }
          await applyResults(deps, chunkTasks, results);
          for (const id of new Set(chunkTasks.map((t) => t.requestId)))
            await deps.onStep?.(id, `execute:${system.name}:${action}:chunk`);
        }),
      );
      await inParallel(deps.config.concurrency, jobs);
    }
  });
  const changes: Parameters<typeof setStates>[1] = [];
  const executedTasks = await tasksOf(deps, ok, 'execute');
  for (const item of ok) {
    const { row } = item;
    let result = row.result;
    if (row.kind === 'export') result = { ...result, export: await recordExport(deps, item, exported.get(item)!) };
    const executed = summarise(executedTasks.get(item)!);
    changes.push({
      item,
      state: row.kind === 'erase' ? 'purge' : row.kind === 'export' ? 'certificate' : 'verify',
      patch: { result: { ...result, executed } },
      audit: { executed },
    });
  }
  await setStates(deps, changes);
}

/** Write the export where the user asked; the export is itself a copy, so it enters the duplication register. */
async function recordExport(
  deps: RequestEngineDeps,
  item: Item,
  exported: Record<string, CrmRecord[]>,
): Promise<Awaited<ReturnType<typeof writeExport>>> {
  const { row } = item;
  const outDir = String(row.params.outDir);
  const written = await writeExport(
    outDir,
    row,
    exported,
    await deps.ledger.duplicationsBySubject(row.subjectKeys),
    item.systems,
  );
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
  return written;
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

/** Empty recycle bins for what was deleted (permanent erasure), batched per system across requests. */
async function purge(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const permanent = items.filter((i) => i.row.params.permanent === true);
  const fresh: NewTask[] = [];
  const [purgeTasks, executeTasks] = [
    await tasksOf(deps, permanent, 'purge'),
    await tasksOf(deps, permanent, 'execute'),
  ];
  // Systems without a recycle bin (or whose erase is already permanent) get no purge tasks at all.
  const binned = new Set<string>();
  for (const s of systemsOf(permanent)) if ((await s.connector()).has('purge')) binned.add(s.name);
  for (const item of permanent) {
    const existing = new Set(purgeTasks.get(item)!.map((t) => refKey(t.ref)));
    for (const t of executeTasks.get(item)!)
      if (
        binned.has(t.ref.system) &&
        t.action === 'delete' &&
        (t.state === 'done' || t.state === 'already_gone') &&
        !existing.has(refKey(t.ref))
      )
        fresh.push({
          requestId: item.row.id,
          step: 'purge',
          ref: t.ref,
          action: 'purge',
          state: 'pending',
          reason: null,
        });
  }
  await deps.ledger.upsertTasks(fresh);
  const pending = await pendingTasks(deps, permanent, 'purge');
  const ok = await perSystem(deps, permanent, 'purge', async (system, mine) => {
    const tasks = mine.flatMap((i) => pending.get(i)!.filter((t) => t.ref.system === system.name));
    if (tasks.length === 0) return;
    const connector = patientConnector(await system.connector());
    if (!connector.has('purge')) {
      // Purge tasks planned before the connector lost its recycle bin (an upgraded connector): nothing to purge.
      await applyResults(
        deps,
        tasks,
        uniqueRefs(tasks).map((ref) => ({ ref, outcome: 'skipped', reason: 'no recycle bin to empty' })),
      );
      return;
    }
    await inParallel(
      deps.config.concurrency,
      objectChunks(uniqueRefs(tasks), deps.config.chunkSize).map((chunk) => async () => {
        const keys = new Set(chunk.map(refKey));
        await applyResults(
          deps,
          tasks.filter((t) => keys.has(refKey(t.ref))),
          await connector.purge(chunk),
        );
        for (const item of mine) await deps.onStep?.(item.row.id, `purge:${system.name}:chunk`);
      }),
    );
  });
  const next = [...ok, ...items.filter((i) => i.row.params.permanent !== true)];
  const changes: Parameters<typeof setStates>[1] = [];
  const purged = await tasksOf(deps, next, 'purge');
  for (const item of next) changes.push({ item, state: 'verify', audit: { purged: summarise(purged.get(item)!) } });
  await setStates(deps, changes);
}

/** Read back: nothing erased may remain; opt-outs and corrections must be in place. */
async function verify(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const executed = await tasksOf(deps, items, 'execute');
  // Records a request keeps or redacts under an exemption are still found by identity, and rightly so.
  const exempt = new Map<Item, Set<string>>();
  for (const item of items)
    exempt.set(item, new Set(uniqueRefs(executed.get(item)!.filter((t) => t.action !== 'delete')).map(refKey)));
  const verifyTasks = new Map<Item, NewTask[]>(items.map((i) => [i, []]));
  const book = (owners: Item[], r: RefResult) => {
    for (const item of owners)
      if (r.outcome !== 'failed' || !exempt.get(item)!.has(refKey(r.ref)))
        verifyTasks.get(item)!.push({
          requestId: item.row.id,
          step: 'verify',
          ref: r.ref,
          action: 'verify',
          state: r.outcome === 'failed' ? 'failed' : 'done',
          reason: r.reason ?? null,
        });
  };
  const ok = await perSystem(deps, items, 'verify', async (system, mine) => {
    const connector = patientConnector(await system.connector());
    const done = (item: Item) =>
      executed
        .get(item)!
        .filter((t) => t.ref.system === system.name && (t.state === 'done' || t.state === 'already_gone'));
    const owners = new Map<string, Item[]>();
    for (const item of mine)
      for (const t of done(item)) owners.set(refKey(t.ref), [...(owners.get(refKey(t.ref)) ?? []), item]);
    const erase = mine.filter((i) => i.row.kind === 'erase');
    if (erase.length > 0) {
      const deleted = uniqueRefs(erase.flatMap((i) => done(i).filter((t) => t.action === 'delete')));
      const identities = uniqueIdentities(erase);
      // Person records a vendor still returns for the identities belong to the requests that named them.
      const attribution = new Attribution(
        erase.map((item) => ({ id: item.row.id, subjectKeys: item.row.subjectKeys, item })),
        deps.keyer,
        deps.defaultCountry,
      );
      const permanent = (item: Item) => item.row.params.permanent === true;
      if (connector.has('verify')) {
        // Read back in groups of 100 requests. A connector reports a record still found by identity under the
        // record's own ref, which no request of the group may hold (re-created after locate, or a duplicate
        // locate missed): it is booked to the whole group, so the requests of a group with a failure are read
        // back again one by one and a leftover never blocks another person's request.
        const readBack = async (group: Item[]) => {
          const refs = uniqueRefs(group.flatMap((i) => done(i).filter((t) => t.action === 'delete')));
          const ids = uniqueIdentities(group);
          if (refs.length === 0 && ids.length === 0) return;
          const results = await connector.verifyErased(refs, ids);
          const ownersOf = (ref: RecordRef) => (owners.get(refKey(ref)) ?? group).filter((o) => group.includes(o));
          const precise = new Set<Item>();
          if (group.length > 1)
            for (const r of results) if (r.outcome === 'failed') for (const o of ownersOf(r.ref)) precise.add(o);
          for (const r of results) {
            const rOwners = ownersOf(r.ref).filter((o) => !precise.has(o));
            if (rOwners.length > 0) book(rOwners, r);
          }
          for (const item of precise) {
            const mineRefs = done(item)
              .filter((t) => t.action === 'delete')
              .map((t) => t.ref);
            for (const r of await connector.verifyErased(mineRefs, liveIdentities(item))) book([item], r);
          }
        };
        await inParallel(
          deps.config.concurrency,
          chunks(erase, 100).map((group) => () => readBack(group)),
        );
      } else {
        const found = connector.has('get') && deleted.length > 0 ? await connector.get(deleted) : [];
        deleted.forEach((ref, i) => {
          const r = found[i];
          for (const item of owners.get(refKey(ref)) ?? [])
            book(
              [item],
              r && (!r.archived || permanent(item))
                ? { ref, outcome: 'failed', reason: 'record still readable after erasure' }
                : { ref, outcome: 'done' },
            );
        });
        if (connector.has('find') && identities.length > 0)
          for (const r of await connector.find(identities))
            for (const o of attribution.ofRecord(r))
              if (!r.archived || permanent(o.item))
                book([o.item], { ref: r.ref, outcome: 'failed', reason: 'person still found by identity' });
      }
    }
    const checked = mine.filter((i) => i.row.kind === 'opt-out' || i.row.kind === 'rectify');
    if (checked.length > 0 && connector.has('get')) {
      const refs = uniqueRefs(checked.flatMap(done));
      const records = refs.length > 0 ? await connector.get(refs) : [];
      const byRef = new Map(refs.map((ref, i) => [refKey(ref), records[i] ?? null]));
      for (const item of checked)
        for (const t of done(item)) {
          const r = byRef.get(refKey(t.ref));
          const ref = t.ref;
          if (!r) book([item], { ref, outcome: 'already_gone' });
          else if (item.row.kind === 'opt-out')
            book(
              [item],
              r.consent?.marketingOptOut
                ? { ref, outcome: 'done' }
                : { ref, outcome: 'failed', reason: 'opt-out not set on read-back' },
            );
          else {
            const wrong = Object.entries(item.sealed.set ?? {}).some(([canonical, value]) => {
              const field = fieldFor(connector.streams, ref.object, canonical);
              return field !== undefined && (r.fields[field] ?? null) !== value;
            });
            book(
              [item],
              wrong
                ? { ref, outcome: 'failed', reason: 'corrected value not found on read-back' }
                : { ref, outcome: 'done' },
            );
          }
        }
    }
  });
  await deps.ledger.upsertTasks(ok.flatMap((i) => verifyTasks.get(i)!));
  const changes: Parameters<typeof setStates>[1] = [];
  const blocked: { item: Item; problems: Record<string, number>; unlocated: Record<string, number> }[] = [];
  const count = (into: Record<string, number>, system: string) => {
    into[system] = (into[system] ?? 0) + 1;
  };
  for (const item of ok) {
    const problems: Record<string, number> = {};
    const unlocated: Record<string, number> = {};
    const known = new Set(executed.get(item)!.map((t) => refKey(t.ref)));
    for (const t of verifyTasks.get(item)!)
      if (t.state === 'failed') {
        count(problems, t.ref.system);
        if (!known.has(refKey(t.ref))) count(unlocated, t.ref.system);
      }
    for (const t of executed.get(item)!) if (t.state === 'failed') count(problems, t.ref.system);
    if (Object.keys(problems).length > 0) blocked.push({ item, problems, unlocated });
    else
      changes.push({
        item,
        state: item.row.kind === 'erase' ? 'tombstone' : 'certificate',
        patch: { error: null },
        audit: { verified: verifyTasks.get(item)!.length },
      });
  }
  const blockedUpdates: { id: string; patch: Partial<RequestRow> }[] = [];
  for (const { item, problems, unlocated } of blocked) {
    const { row } = item;
    const reason = `not finished: ${Object.entries(problems)
      .map(
        ([s, n]) =>
          `${s}: ${n} ref(s) failed or still present${
            unlocated[s] ? ` (${unlocated[s]} record(s) still found by identity that locate did not find)` : ''
          }`,
      )
      .join('; ')}; fix the cause and run \`custodian requests resume ${row.id}\`${
      Object.keys(unlocated).length > 0 ? ' (it locates and erases what read-back found)' : ''
    }`;
    // The request stays open (and keeps its sealed identities) until read-back finds nothing.
    const result = { ...row.result, verifyProblems: problems };
    blockedUpdates.push({ id: row.id, patch: { state: 'blocked', error: reason, result } });
    item.row = { ...row, state: 'blocked', error: reason, result };
  }
  await deps.ledger.updateRequests(blockedUpdates);
  if (blocked.length > 0)
    await deps.ledger.appendAudit(
      blocked.map(({ item, problems, unlocated }) => ({
        actor: deps.actor,
        action: 'request.blocked',
        data: { requestId: item.row.id, problems, ...(Object.keys(unlocated).length > 0 ? { unlocated } : {}) },
      })),
    );
  await setStates(deps, changes);
}

async function tombstone(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const at = (deps.now?.() ?? new Date()).toISOString();
  const changes: Parameters<typeof setStates>[1] = [];
  const gone: RecordRef[] = [];
  const executed = await tasksOf(deps, items, 'execute');
  for (const item of items) {
    const mine = executed
      .get(item)!
      .filter((t) => t.action === 'delete' && (t.state === 'done' || t.state === 'already_gone'));
    gone.push(...mine.map((t) => t.ref));
    changes.push({
      item,
      state: 'certificate',
      audit: { tombstones: item.row.subjectKeys.length, erased: mine.length },
    });
  }
  await deps.ledger.markErased(gone, at);
  await deps.ledger.addTombstones(
    items.flatMap((item) => item.row.subjectKeys.map((subjectKey) => ({ subjectKey, requestId: item.row.id }))),
  );
  await setStates(deps, changes);
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

function certificateCounts(item: Item, tasks: RequestTaskRow[]) {
  const [located, executed, purged, verified] = ['locate', 'execute', 'purge', 'verify'].map((step) =>
    tasks.filter((t) => t.step === step),
  );
  const count = (tasks: RequestTaskRow[] | undefined, system: string, pred: (t: RequestTaskRow) => boolean) =>
    (tasks ?? []).filter((t) => t.ref.system === system && pred(t)).length;
  const systems = item.systems.map((s) => ({
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
  return { systems, exemptions: [...exemptionMap.values()] };
}

async function certificate(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const tasks = await deps.ledger.tasksByRequest(items.map((i) => i.row.id));
  const counts = items.map((item) => certificateCounts(item, tasks.get(item.row.id) ?? []));
  const completedAt = (deps.now?.() ?? new Date()).toISOString();
  const events = await deps.ledger.appendAudit(
    items.map((item, i) => ({
      actor: deps.actor,
      action: 'request.completed',
      data: { requestId: item.row.id, kind: item.row.kind, systems: counts[i]!.systems.map((s) => ({ ...s })) },
    })),
  );
  const completed: { id: string; patch: Partial<RequestRow> }[] = [];
  for (const [i, item] of items.entries()) {
    const { row } = item;
    const event = events[i]!;
    const body = {
      requestId: row.id,
      kind: row.kind,
      jurisdiction: row.jurisdiction,
      receivedAt: row.receivedAt,
      dueAt: row.dueAt,
      completedAt,
      permanent: row.params.permanent === true,
      systems: counts[i]!.systems,
      exemptions: counts[i]!.exemptions,
      auditSeq: event.seq,
      auditHeadHash: event.hash,
    };
    const cert: Certificate = {
      ...body,
      certificateHash: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
    };
    // The copy for the person is the only place the certificate names them; it is written before the
    // sealed identities are dropped, so a crash here rewrites it on resume.
    if (typeof row.params.subjectCopy === 'string')
      await writeSubjectCopy(row.params.subjectCopy, cert, item.sealed.identities);
    // Completion drops the sealed identities: nothing of the person remains in the ledger.
    const { sealed: _dropped, subjectCopy: _path, ...params } = row.params;
    const result = { ...row.result, certificate: cert, ...(_path ? { subjectCopyWritten: true } : {}) };
    completed.push({ id: row.id, patch: { state: 'completed', params, result, error: null } });
  }
  await deps.ledger.updateRequests(completed);
  for (const [i, item] of items.entries()) {
    item.row = { ...item.row, ...completed[i]!.patch };
    await deps.onStep?.(item.row.id, 'completed');
  }
}

type Step = (deps: RequestEngineDeps, items: Item[]) => Promise<void>;

/** Steps in the order a request passes them; one pass over this list drives a batch as far as it can go. */
const STEPS: [RequestState, Step][] = [
  ['locate', locate],
  ['plan', plan],
  ['execute', execute],
  ['purge', purge],
  ['verify', verify],
  ['tombstone', tombstone],
  ['certificate', certificate],
];

/** A blocked request goes back to the step it was parked at, or retries what failed and verifies again. */
async function unblock(deps: RequestEngineDeps, row: RequestRow): Promise<RequestRow> {
  const parked = row.result.parked as { step: RequestState } | undefined;
  let state: RequestState;
  if (parked) {
    state = parked.step;
  } else {
    // Retried: what failed, and what the vendor said it did but read-back found otherwise (a lying vendor).
    const stillThere = new Set(
      (await deps.ledger.listTasks(row.id, 'verify')).filter((t) => t.state === 'failed').map((t) => refKey(t.ref)),
    );
    const executed = await deps.ledger.listTasks(row.id, 'execute');
    const failed = executed.filter(
      (t) =>
        (t.state === 'failed' && !t.reason?.startsWith('manual step')) ||
        ((t.state === 'done' || t.state === 'already_gone') && stillThere.has(refKey(t.ref))),
    );
    await deps.ledger.upsertTasks(failed.map((t) => ({ ...t, state: 'pending' as const, reason: null })));
    // Read-back found records by identity that locate never had: locate again (plan keeps what is done).
    for (const t of executed) stillThere.delete(refKey(t.ref));
    state = stillThere.size > 0 ? 'locate' : failed.length > 0 ? 'execute' : 'verify';
  }
  const { parked: _cleared, ...result } = row.result;
  await deps.ledger.updateRequest(row.id, { state, error: null, result });
  return { ...row, state, error: null, result };
}

/**
 * Drive many requests from their stored states until each completes, blocks, parks or waits for
 * approval. Requests at the same step share connector calls; each is stored and certified on its own.
 */
export async function runRequests(deps: RequestEngineDeps, ids: string[]): Promise<RequestRow[]> {
  const items: Item[] = [];
  const rows = await deps.ledger.getRequests(ids);
  for (const [i, id] of ids.entries()) {
    let row = rows[i];
    if (!row) throw new CustodianError('CUSTODIAN_ERR_REQUEST_NOT_FOUND', `No request ${id}.`);
    if (row.state === 'blocked') row = await unblock(deps, row);
    const exclude = new Set((row.params.excludeSystems as string[] | undefined) ?? []);
    items.push({ row, sealed: unsealPayload(deps, row), systems: deps.systems.filter((s) => !exclude.has(s.name)) });
  }
  for (const [state, step] of STEPS) {
    const ready = items.filter((i) => i.row.state === state);
    if (ready.length === 0) continue;
    const started = performance.now();
    await step(deps, ready);
    deps.log.debug(
      { step: state, requests: ready.length, ms: Math.round(performance.now() - started) },
      'request step done',
    );
  }
  return items.map((i) => i.row);
}

/** Drive one request from its stored state until it completes, blocks, or waits for approval. */
export async function runRequest(deps: RequestEngineDeps, id: string): Promise<RequestRow> {
  return (await runRequests(deps, [id]))[0]!;
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

/**
 * Every request that is not finished and not waiting for a person, run together as one batch: on start-up,
 * by `requests resume`, and for bulk erasure.
 */
export async function resumeOpenRequests(deps: RequestEngineDeps): Promise<RequestRow[]> {
  const open = await deps.ledger.listRequests({ open: true });
  return runRequests(
    deps,
    open
      .filter((r) => r.state !== 'awaiting-approval' && r.state !== 'completed' && r.state !== 'failed')
      .map((r) => r.id),
  );
}

export function isTerminal(state: RequestState): boolean {
  return state === 'completed' || state === 'failed';
}

export { STEP_ORDER };
