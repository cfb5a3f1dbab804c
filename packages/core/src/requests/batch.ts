/**
 * What every step of a request batch shares: the engine's dependencies, one request inside a batch, and the
 * helpers that store state changes, park requests on vendor failures and run work per system.
 */

import type { CountryCode } from 'libphonenumber-js';
import PQueue from 'p-queue';
import type { Capability, EraseOptions, FieldChange, RefResult, StreamDefinition } from '../contract.js';
import { ConnectorError } from '../errors.js';
import type { SubjectKeyer } from '../identity.js';
import type { Ledger, RequestRow, RequestState, RequestTaskRow, TaskState } from '../ledger.js';
import type { Logger } from '../logger.js';
import { mapSettled } from '../runtime/settle.js';
import { refKey } from '../sync/index-entry.js';
import type { CanonicalField, CrmRecord, Identity, RecordRef } from '../types.js';
import type { Exemption, RequestsConfig } from './config.js';

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

export interface Sealed {
  identities: Identity[];
  set?: Partial<Record<CanonicalField, string>>;
}

export const STEP_ORDER: RequestState[] = [
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

/** One request inside a batch: its stored row, its unsealed payload and the systems it covers. */
export interface Item {
  row: RequestRow;
  sealed: Sealed;
  systems: RequestSystem[];
  /**
   * Every task of the request as the ledger holds them, kept by the steps that know them (the lanes, then
   * tombstone) for the steps after them that only read (tombstone, certificate): one read instead of three.
   */
  tasks?: NewTask[];
}

export type NewTask = Omit<RequestTaskRow, 'updatedAt' | 'attempts'>;

export function itemsIn(items: Item[], system: string): Item[] {
  return items.filter((i) => i.systems.some((s) => s.name === system));
}

export function systemsOf(items: Item[]): RequestSystem[] {
  const out = new Map<string, RequestSystem>();
  for (const i of items) for (const s of i.systems) out.set(s.name, s);
  return [...out.values()];
}

export function liveIdentities(item: Item): Identity[] {
  return item.sealed.identities.filter((i) => i.kind !== 'vendor_id');
}

export function uniqueIdentities(items: Item[]): Identity[] {
  const out = new Map<string, Identity>();
  for (const i of items) for (const id of liveIdentities(i)) out.set(`${id.kind}:${id.value}`, id);
  return [...out.values()];
}

/** The tasks of these requests at one step, in one ledger query. */
export async function tasksOf(
  deps: RequestEngineDeps,
  items: Item[],
  step: string,
): Promise<Map<Item, RequestTaskRow[]>> {
  const byId = await deps.ledger.tasksByRequest(
    items.map((i) => i.row.id),
    step,
  );
  return new Map(items.map((i) => [i, byId.get(i.row.id) ?? []]));
}

export interface StateChange {
  item: Item;
  state: RequestState;
  patch?: Partial<RequestRow>;
  audit?: Record<string, unknown>;
}

/**
 * Store state changes for many requests at once: one row update per request, whatever the number of steps it
 * passed, and one audit append with an entry per step passed. Then report each step boundary in order.
 */
export async function setStates(deps: RequestEngineDeps, changes: StateChange[]): Promise<void> {
  if (changes.length === 0) return;
  const rows = new Map<Item, RequestRow>();
  for (const c of changes) rows.set(c.item, { ...(rows.get(c.item) ?? c.item.row), ...c.patch, state: c.state });
  await deps.ledger.updateRequests(
    [...rows].map(([item, row]) => {
      const patch: Partial<RequestRow> = { state: row.state };
      for (const c of changes) if (c.item === item) Object.assign(patch, c.patch);
      return { id: item.row.id, patch };
    }),
  );
  await deps.ledger.appendAudit(
    changes.map((c) => ({
      actor: deps.actor,
      action: `request.${c.state}`,
      data: { requestId: c.item.row.id, ...c.audit },
    })),
  );
  for (const [item, row] of rows) item.row = row;
  for (const c of changes) await deps.onStep?.(c.item.row.id, c.state);
}

/** A vendor failure the runtime could not retry away: the request waits at this step with the reason. */
export async function park(
  deps: RequestEngineDeps,
  items: Item[],
  step: RequestState,
  err: ConnectorError,
): Promise<void> {
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
 * Run one piece of work per system side by side; `at` tells which step a system's work has reached. Systems
 * that fail with a ConnectorError park the requests that involve them (the others go on), each at the
 * earliest step any of its systems failed at, and never before the step the request was at. Any other
 * error is a bug and is thrown.
 */
export async function perSystem(
  deps: RequestEngineDeps,
  items: Item[],
  step: RequestState,
  work: (system: RequestSystem, mine: Item[], at: (step: RequestState) => void) => Promise<void>,
): Promise<Item[]> {
  const systems = systemsOf(items);
  const reached = new Map(systems.map((s) => [s.name, step]));
  const settled = await Promise.allSettled(
    systems.map(async (s) => {
      let started = performance.now();
      const done = () => {
        const ms = Math.round(performance.now() - started);
        deps.log.debug({ step: reached.get(s.name), system: s.name, ms }, 'request step done in system');
      };
      await work(s, itemsIn(items, s.name), (next) => {
        done();
        reached.set(s.name, next);
        started = performance.now();
      });
      done();
    }),
  );
  const order = (state: RequestState) => STEP_ORDER.indexOf(state);
  const parkAt = new Map<Item, { step: RequestState; err: ConnectorError }>();
  for (const [i, r] of settled.entries()) {
    if (r.status === 'fulfilled') continue;
    if (!(r.reason instanceof ConnectorError) || r.reason.kind === 'aborted') throw r.reason;
    const failedAt = reached.get(systems[i]!.name)!;
    for (const it of itemsIn(items, systems[i]!.name)) {
      const at = order(failedAt) < order(it.row.state) ? it.row.state : failedAt;
      const prior = parkAt.get(it);
      if (!prior || order(at) < order(prior.step)) parkAt.set(it, { step: at, err: r.reason });
    }
  }
  const groups = new Map<string, { step: RequestState; err: ConnectorError; items: Item[] }>();
  for (const [it, { step: at, err }] of parkAt) {
    const key = `${at}\u0000${err.system}`;
    const group = groups.get(key) ?? { step: at, err, items: [] };
    group.items.push(it);
    groups.set(key, group);
  }
  for (const g of groups.values()) await park(deps, g.items, g.step, g.err);
  return items.filter((it) => !parkAt.has(it));
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Refs grouped by object, then cut into chunks, so every chunk fills the vendor's per-object batches. */
export function objectChunks(refs: RecordRef[], size: number): RecordRef[][] {
  const byObject = new Map<string, RecordRef[]>();
  for (const r of refs) {
    const group = byObject.get(r.object);
    if (group) group.push(r);
    else byObject.set(r.object, [r]);
  }
  return [...byObject.values()].flatMap((group) => chunks(group, size));
}

/** Run jobs with at most `n` at once; every job finishes (or fails) before the first failure is thrown. */
export async function inParallel(n: number, jobs: (() => Promise<void>)[]): Promise<void> {
  const queue = new PQueue({ concurrency: n });
  await mapSettled(jobs, (job) => queue.add(job));
}

/**
 * Live identities in lists of 100 (one HubSpot batch read), a few lists at a time: the runtime paces the
 * calls within each vendor's declared rate and concurrency limits, so more lists in flight cost no 429s.
 */
export async function findAll(
  connector: RequestConnector,
  identities: Identity[],
  concurrency: number,
): Promise<CrmRecord[]> {
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

export function exemptionFor(config: RequestsConfig, ref: RecordRef): Exemption | undefined {
  return config.exemptions.find(
    (e) => (!e.system || e.system === ref.system) && (!e.object || e.object === ref.object),
  );
}

/** Find each person live in every system and through the ledger, then follow related objects. */

export function summarise(
  tasks: Pick<RequestTaskRow, 'ref' | 'action' | 'state'>[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const t of tasks) {
    const s = out[t.ref.system] ?? {};
    out[t.ref.system] = s;
    const key = t.state === 'pending' ? t.action : `${t.action}:${t.state}`;
    s[key] = (s[key] ?? 0) + 1;
  }
  return out;
}

export function fieldFor(streams: StreamDefinition[], object: string, canonical: string): string | undefined {
  return streams.find((s) => s.name === object)?.fields.find((f) => f.canonical === canonical)?.name;
}

export function taskState(r: RefResult): TaskState {
  if (r.outcome === 'done') return 'done';
  if (r.outcome === 'already_gone') return 'already_gone';
  return r.outcome === 'skipped' ? 'skipped' : 'failed';
}

/**
 * Book connector results to every task (of any request in the batch) that holds the ref. The task rows are
 * updated in place, so a batch's tasks in memory stay what the ledger holds.
 */
export async function applyResults(deps: RequestEngineDeps, tasks: NewTask[], results: RefResult[]): Promise<void> {
  const byRef = new Map(results.map((r) => [refKey(r.ref), r]));
  const booked: NewTask[] = [];
  for (const t of tasks) {
    const r = byRef.get(refKey(t.ref));
    if (!r) continue;
    t.state = taskState(r);
    t.reason = r.reason ?? null;
    booked.push(t);
  }
  await deps.ledger.upsertTasks(booked);
}

export async function markRunning(deps: RequestEngineDeps, tasks: NewTask[]): Promise<void> {
  await deps.ledger.upsertTasks(tasks.map((t) => ({ ...t, state: 'running' as const })));
}

/** The task's ref is gone from the vendor: done by us, or found already gone (both count as erased). */
export const isErased = (t: Pick<NewTask, 'state'>): boolean => t.state === 'done' || t.state === 'already_gone';

export function uniqueRefs(tasks: Pick<NewTask, 'ref'>[]): RecordRef[] {
  return [...new Map(tasks.map((t) => [refKey(t.ref), t.ref])).values()];
}
