/**
 * Data-subject requests as persisted state machines:
 * intake -> locate -> plan -> (awaiting-approval) -> execute -> purge -> verify -> tombstone -> certificate.
 * Every step and every per-ref task is stored before and after it runs, so a process killed anywhere
 * resumes where it stopped. Harmful steps are idempotent per ref: a task already done is never run again,
 * "already gone" counts as erased, and updates are checked against the value they replace.
 *
 * Requests run in batches: the requests in one step share connector calls per system (1,000 erasures
 * make 10 HubSpot archive calls, not 1,000), systems run side by side, and each result is booked to the
 * request that owns the ref. Execute, purge and verify run as one lane per system (lanes.ts), so one
 * vendor's rate limit holds back only its own share. A single request is a batch of one. A vendor failure the runtime could not
 * retry away (daily quota, a storm outlasting the retries, revoked auth) parks the requests it touches
 * with the step and reason; `custodian requests resume` picks them up at that step.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Capability } from '../contract.js';
import { CustodianError } from '../errors.js';
import type { RequestRow, RequestState, TaskState } from '../ledger.js';
import { refKey } from '../sync/index-entry.js';
import type { CanonicalField, Identity, Jurisdiction, RecordRef, RequestKind } from '../types.js';
import { Attribution, ownersByLink } from './attribute.js';
import {
  exemptionFor,
  findAll,
  type Item,
  isErased,
  type NewTask,
  perSystem,
  type RequestConnector,
  type RequestEngineDeps,
  type Sealed,
  STEP_ORDER,
  type StateChange,
  setStates,
  summarise,
  systemsOf,
  tasksOf,
  uniqueIdentities,
} from './batch.js';
import { dueDate } from './deadlines.js';
import { sharedDetachments } from './detach.js';
import { runLanes } from './lanes.js';
import { patientConnector } from './patience.js';
import { seal, unseal } from './seal.js';
import { mergeLinks, REDACT_SHARED, SHARED_REASON, sharedWithOthers } from './shared.js';
import { writeSubjectCopy } from './subject-copy.js';

export type { RequestConnector, RequestEngineDeps, RequestSystem } from './batch.js';

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

async function locate(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const persons = new Map<Item, Map<string, RecordRef>>(items.map((i) => [i, new Map()]));
  const related = new Map<Item, Map<string, RecordRef>>(items.map((i) => [i, new Map()]));
  // Related records also linked to someone this batch does not erase: kept, with the person's identity redacted.
  const shared = new Map<Item, Map<string, RecordRef>>(items.map((i) => [i, new Map()]));
  const located = new Map<Item, Record<string, { persons: number; related: number; shared: number; live: boolean }>>(
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
      const isShared = await sharedWithOthers(deps, connector, linked, new Set(personOwners.keys()));
      for (const r of mergeLinks(linked))
        for (const item of ownersByLink(r.links, personOwners, mine))
          (isShared(r) ? shared : related).get(item)!.set(refKey(r.ref), r.ref);
    }
    for (const item of mine) {
      const p = ofSystem(persons.get(item)!);
      const [rel, sh] = [related.get(item)!, shared.get(item)!];
      for (const [k] of p) {
        rel.delete(k);
        sh.delete(k);
      }
      for (const [k] of sh) rel.delete(k);
      located.get(item)![system.name] = {
        persons: p.length,
        related: ofSystem(rel).length,
        shared: ofSystem(sh).length,
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
    for (const ref of shared.get(item)!.values())
      tasks.push({ requestId: item.row.id, step: 'locate', ref, action: 'shared', state: 'done', reason: null });
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
  [REDACT_SHARED]: 'update',
  update: 'update',
  'opt-out': 'opt-out',
  export: 'get',
};

/** Decide per ref what happens; shown by --dry-run. */
async function plan(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const connectors = new Map<string, RequestConnector>();
  for (const s of systemsOf(items)) connectors.set(s.name, await s.connector());
  const changes: StateChange[] = [];
  const all: NewTask[] = [];
  const [located, planned] = [await tasksOf(deps, items, 'locate'), await tasksOf(deps, items, 'execute')];
  for (const item of items) {
    const { row } = item;
    const tasks: NewTask[] = [];
    // Located again after read-back found more (resume): what was already erased is kept, never run again.
    const settled = new Map(
      planned
        .get(item)!
        .filter(isErased)
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
        } else if (t.action === 'shared') {
          action = REDACT_SHARED;
          reason = SHARED_REASON;
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
        if (action === REDACT_SHARED)
          reason += "; the record is shared with other people: remove the person's identity from it by hand";
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

async function tombstone(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const at = (deps.now?.() ?? new Date()).toISOString();
  const changes: StateChange[] = [];
  const gone: RecordRef[] = [];
  const unread = items.filter((i) => !i.tasks);
  const read = unread.length > 0 ? await deps.ledger.tasksByRequest(unread.map((i) => i.row.id)) : new Map();
  for (const item of unread) item.tasks = read.get(item.row.id) ?? [];
  const all = new Map(items.map((i) => [i.row.id, i.tasks!]));
  const executed = new Map(items.map((i) => [i, i.tasks!.filter((t) => t.step === 'execute')]));
  for (const item of items) {
    const mine = executed.get(item)!.filter((t) => t.action === 'delete' && isErased(t));
    gone.push(...mine.map((t) => t.ref));
    changes.push({
      item,
      state: 'certificate',
      audit: { tombstones: item.row.subjectKeys.length, erased: mine.length },
    });
  }
  await deps.ledger.markErased(gone, at);
  await deps.ledger.detachSubjects(await sharedDetachments(deps, items, all));
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
    /** Kept because other people share them, with this person's identity redacted. */
    shared: number;
    failed: number;
    purged: number;
    verified: number;
  }[];
  exemptions: { system: string; object: string; count: number; reason: string }[];
  /** Records kept because other people share them, listed like exemptions. */
  kept: { system: string; object: string; count: number; reason: string }[];
  auditSeq: number;
  auditHeadHash: string;
  certificateHash: string;
}

function certificateCounts(item: Item, tasks: NewTask[]) {
  const [located, executed, purged, verified] = ['locate', 'execute', 'purge', 'verify'].map((step) =>
    tasks.filter((t) => t.step === step),
  );
  const count = (tasks: NewTask[] | undefined, system: string, pred: (t: NewTask) => boolean) =>
    (tasks ?? []).filter((t) => t.ref.system === system && pred(t)).length;
  const systems = item.systems.map((s) => ({
    system: s.name,
    found: count(located, s.name, () => true),
    done: count(executed, s.name, (t) => t.state === 'done'),
    alreadyGone: count(executed, s.name, (t) => t.state === 'already_gone'),
    exempt: count(executed, s.name, (t) => t.state === 'exempt' || t.action === 'redact'),
    shared: count(executed, s.name, isKeptShared),
    failed: count(executed, s.name, (t) => t.state === 'failed'),
    purged: count(purged, s.name, isErased),
    verified: count(verified, s.name, (t) => t.state === 'done'),
  }));
  const exemptions = listed(executed ?? [], (t) => t.state === 'exempt' || t.action === 'redact');
  // A task's reason is the vendor's word once it ran; why the record was kept is the same for all of them.
  const kept = listed(executed ?? [], isKeptShared, () => SHARED_REASON);
  return { systems, exemptions, kept };
}

const isKeptShared = (t: NewTask) => t.action === REDACT_SHARED && isErased(t);

/** Tasks counted per system, object and reason: what the certificate says was kept, and why. */
function listed(
  tasks: NewTask[],
  pred: (t: NewTask) => boolean,
  reasonOf: (t: NewTask) => string = (t) => t.reason ?? '',
) {
  const out = new Map<string, { system: string; object: string; count: number; reason: string }>();
  for (const t of tasks) {
    if (!pred(t)) continue;
    const reason = reasonOf(t);
    const k = `${t.ref.system}\u0000${t.ref.object}\u0000${reason}`;
    const e = out.get(k) ?? { system: t.ref.system, object: t.ref.object, count: 0, reason };
    e.count++;
    out.set(k, e);
  }
  return [...out.values()];
}

async function certificate(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const unread = items.filter((i) => !i.tasks);
  const tasks = unread.length > 0 ? await deps.ledger.tasksByRequest(unread.map((i) => i.row.id)) : new Map();
  const counts = items.map((item) => certificateCounts(item, item.tasks ?? tasks.get(item.row.id) ?? []));
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
      kept: counts[i]!.kept,
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
const STEPS: [RequestState[], Step][] = [
  [['locate'], locate],
  [['plan'], plan],
  // Execute, purge and verify run as one lane per system (lanes.ts).
  [['execute', 'purge', 'verify'], runLanes],
  [['tombstone'], tombstone],
  [['certificate'], certificate],
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
        (isErased(t) && stillThere.has(refKey(t.ref))),
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
  for (const [states, step] of STEPS) {
    const ready = items.filter((i) => states.includes(i.row.state));
    if (ready.length === 0) continue;
    const started = performance.now();
    await step(deps, ready);
    deps.log.debug(
      { step: states.join('+'), requests: ready.length, ms: Math.round(performance.now() - started) },
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
