/**
 * The sync engine: reads every configured system's streams page by page from the stored checkpoint,
 * indexes records by subject key, runs the policy hook, and commits each page's effects together with
 * its checkpoint in one ledger transaction. A killed sync resumes from the last committed page; records
 * read again are upserts, so nothing is lost and nothing is counted twice.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Checkpoint, Page, StreamDefinition } from '../contract.js';
import { ConnectorError, CustodianError } from '../errors.js';
import type { SubjectKeyer } from '../identity.js';
import type { IndexEntry, IndexedRecord, Ledger, ViolationInput } from '../ledger.js';
import type { Logger } from '../logger.js';
import type { CrmRecord, RecordRef } from '../types.js';
import { refKey, toIndexEntry } from './index-entry.js';

/** What the engine needs from a connector; the runtime connector satisfies it. */
export interface SyncConnector {
  readonly streams: StreamDefinition[];
  read(stream: string, checkpoint: Checkpoint | null, options?: { signal?: AbortSignal }): AsyncIterable<Page>;
}

export interface SyncSystem {
  name: string;
  connector: SyncConnector;
  connectorId: string;
  purposes: string[];
  legalBasis: string | null;
}

export interface SystemInfo {
  name: string;
  connector: string;
  purposes: string[];
  legalBasis: string | null;
  streams: StreamDefinition[];
}

/** The per-record view a policy rule gets. */
export interface PolicyRecordContext {
  system: SystemInfo;
  stream: StreamDefinition;
  now: Date;
  subjectKeys: string[];
  copies: IndexedRecord[];
  tombstoned: boolean;
  systems: ReadonlyMap<string, SystemInfo>;
}

export interface PolicyHook<R = unknown> {
  evaluate(
    records: CrmRecord[],
    ctxFor: (record: CrmRecord) => PolicyRecordContext,
  ): { violations: ViolationInput[]; remediations: R[] };
}

export interface SyncProgress {
  system: string;
  stream: string;
  pages: number;
  records: number;
}

export interface SyncOptions<R = unknown> {
  ledger: Ledger;
  keyer: SubjectKeyer;
  systems: SyncSystem[];
  policy?: PolicyHook<R> | null;
  /** Called after each committed page with the remediations the policies planned for it. */
  onRemediations?: (system: string, remediations: R[]) => Promise<void>;
  /** Drop checkpoints and read everything; records not seen again are marked gone. */
  full?: boolean;
  signal?: AbortSignal;
  log: Logger;
  now?: () => Date;
  defaultCountry?: CountryCode;
  onProgress?: (progress: SyncProgress) => void;
  /**
   * How many systems sync at once. Default 1: systems are read in config order, so the first system
   * listed is the system of record in the duplication register. Vendors are independent, so more overlaps
   * their I/O.
   */
  concurrency?: number;
}

export interface SystemSyncResult {
  system: string;
  status: 'succeeded' | 'failed' | 'paused' | 'aborted' | 'skipped';
  runId: string | null;
  pages: number;
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  violations: number;
  resolved: number;
  duplicationsAdded: number;
  pausedUntil?: string;
  error?: { code: string; message: string };
  /** Records the vendor reported deleted in this run (for deletion propagation); capped at 10,000. */
  deletedRefs: RecordRef[];
}

export interface SyncSummary {
  startedAt: string;
  finishedAt: string;
  systems: SystemSyncResult[];
}

const MAX_DELETED_REFS = 10_000;
const PERSON_FIRST: Record<string, number> = { person: 0, other: 1, activity: 2 };

export async function runSync<R>(options: SyncOptions<R>): Promise<SyncSummary> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const infos = new Map<string, SystemInfo>(
    options.systems.map((s) => [
      s.name,
      {
        name: s.name,
        connector: s.connectorId,
        purposes: s.purposes,
        legalBasis: s.legalBasis,
        streams: s.connector.streams,
      },
    ]),
  );
  await options.ledger.upsertSystems(
    options.systems.map((s) => ({
      name: s.name,
      connector: s.connectorId,
      purposes: s.purposes,
      legalBasis: s.legalBasis,
    })),
  );
  const paused = new Map((await options.ledger.listSystems()).map((s) => [s.name, s.pausedUntil ?? null]));

  const queue = [...options.systems];
  const results: SystemSyncResult[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      results.push(await syncSystem(next, options, infos, paused.get(next.name) ?? null, now));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  results.sort(
    (a, b) =>
      options.systems.findIndex((s) => s.name === a.system) - options.systems.findIndex((s) => s.name === b.system),
  );
  return { startedAt, finishedAt: now().toISOString(), systems: results };
}

function emptyResult(system: string, status: SystemSyncResult['status']): SystemSyncResult {
  return {
    system,
    status,
    runId: null,
    pages: 0,
    records: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    violations: 0,
    resolved: 0,
    duplicationsAdded: 0,
    deletedRefs: [],
  };
}

async function syncSystem<R>(
  system: SyncSystem,
  options: SyncOptions<R>,
  infos: ReadonlyMap<string, SystemInfo>,
  pausedUntil: string | null,
  now: () => Date,
): Promise<SystemSyncResult> {
  const { ledger, log } = options;
  if (pausedUntil && Date.parse(pausedUntil) > now().getTime()) {
    log.warn({ system: system.name, pausedUntil }, 'system paused until its vendor quota resets; skipped');
    return { ...emptyResult(system.name, 'paused'), pausedUntil };
  }
  const result = emptyResult(system.name, 'succeeded');
  const runId = await ledger.startRun({ kind: options.full ? 'full-sync' : 'sync', system: system.name });
  result.runId = runId;
  const runStart = now().toISOString();
  try {
    if (options.full) await ledger.resetCheckpoints(system.name);
    if (pausedUntil) await ledger.setSystemPause(system.name, null);
    const streams = [...system.connector.streams].sort((a, b) => PERSON_FIRST[a.kind]! - PERSON_FIRST[b.kind]!);
    for (const stream of streams) {
      await syncStream(system, stream, options, infos, runId, runStart, result, now);
    }
    await ledger.finishRun(runId, 'succeeded', statsOf(result));
  } catch (err) {
    const aborted = options.signal?.aborted || (err instanceof ConnectorError && err.kind === 'aborted');
    if (err instanceof ConnectorError && err.kind === 'quota_exhausted' && err.resumeAt) {
      result.status = 'paused';
      result.pausedUntil = err.resumeAt.toISOString();
      await ledger.setSystemPause(system.name, result.pausedUntil);
    } else {
      result.status = aborted ? 'aborted' : 'failed';
    }
    const coded = err instanceof CustodianError ? err : null;
    result.error = {
      code: coded?.code ?? 'CUSTODIAN_ERR_CONNECTOR_FAILED',
      message: err instanceof Error ? err.message : String(err),
    };
    log.error({ system: system.name, err }, 'sync of system stopped; committed pages are kept');
    await ledger.finishRun(runId, aborted ? 'aborted' : 'failed', statsOf(result), result.error.code);
  }
  return result;
}

function statsOf(r: SystemSyncResult): Record<string, number> {
  return {
    pages: r.pages,
    records: r.records,
    inserted: r.inserted,
    updated: r.updated,
    unchanged: r.unchanged,
    deleted: r.deleted,
    violations: r.violations,
    resolved: r.resolved,
    duplicationsAdded: r.duplicationsAdded,
  };
}

async function syncStream<R>(
  system: SyncSystem,
  stream: StreamDefinition,
  options: SyncOptions<R>,
  infos: ReadonlyMap<string, SystemInfo>,
  runId: string,
  runStart: string,
  result: SystemSyncResult,
  now: () => Date,
): Promise<void> {
  const { ledger, keyer } = options;
  const checkpoint = await ledger.getCheckpoint(system.name, stream.name);
  let snapshotSince: string | null = options.full ? runStart : null;
  let pages = 0;
  const readOptions = options.signal ? { signal: options.signal } : {};
  // One page commits while the next is read and indexed: the ledger's database works on its own thread (or
  // server) meanwhile. Commits stay in page order, one at a time, and a page that needs what the previous
  // one wrote (the subjects of linked records, copies for the policies) waits for that commit first.
  const run: StreamRun<R> = { system, stream, options, runId, result };
  let inFlight: Promise<void> | null = null;
  const settle = async () => {
    const committing = inFlight;
    inFlight = null;
    await committing;
  };
  try {
    for await (const page of system.connector.read(stream.name, checkpoint, readOptions)) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const at = now();
      if (page.records.some((r) => (r.links ?? []).length > 0)) await settle();
      const entries = await indexPage(page.records, ledger, keyer, options.defaultCountry);
      await settle();
      let violations: ViolationInput[] = [];
      let remediations: R[] = [];
      if (options.policy && page.records.length > 0) {
        ({ violations, remediations } = await evaluatePolicies(
          options.policy,
          system,
          stream,
          page.records,
          entries,
          ledger,
          infos,
          at,
        ));
      }
      const committing = commitPage(run, { page, number: ++pages, entries, violations, remediations, at });
      // Awaited before the next commit or at the end; until then a failure must not count as unhandled.
      committing.catch(() => undefined);
      inFlight = committing;
      // Remediations change the source being read (a CSV file rewritten): they finish before the next read.
      if (remediations.length > 0) await settle();
      if (page.snapshotComplete) snapshotSince = page.snapshotComplete.since;
    }
  } catch (err) {
    // A read that fails or is aborted still lets the page already sent finish (it is whole and checkpointed).
    await settle().catch(() => undefined);
    throw err;
  }
  await settle();
  // Violations are only resolved (and full-diff deletions only inferred) after a read that reached its end.
  const finished = await ledger.finishStream({
    runId,
    system: system.name,
    stream: stream.name,
    since: snapshotSince ?? runStart,
    full: snapshotSince !== null,
  });
  result.resolved += finished.resolved;
  result.deleted += finished.markedGone;
}

/** One stream's sync in progress: what every page commit of it needs. */
interface StreamRun<R> {
  system: SyncSystem;
  stream: StreamDefinition;
  options: SyncOptions<R>;
  runId: string;
  result: SystemSyncResult;
}

/** Commit one page with its checkpoint, then count it and hand on what it found. */
async function commitPage<R>(
  { system, stream, options, runId, result }: StreamRun<R>,
  {
    page,
    number,
    entries,
    violations,
    remediations,
    at,
  }: { page: Page; number: number; entries: IndexEntry[]; violations: ViolationInput[]; remediations: R[]; at: Date },
): Promise<void> {
  const committed = await options.ledger.commitPage({
    runId,
    system: system.name,
    stream: stream.name,
    records: entries,
    deleted: (page.deleted ?? []).map((d) => ({ ref: d.ref, state: d.state, deletedAt: d.deletedAt ?? null })),
    violations,
    checkpoint: page.checkpoint,
    at: at.toISOString(),
  });
  result.pages++;
  result.records += page.records.length;
  result.inserted += committed.inserted;
  result.updated += committed.updated;
  result.unchanged += committed.unchanged;
  result.deleted += committed.deleted;
  result.violations += violations.length;
  result.duplicationsAdded += committed.duplicationsAdded;
  if (remediations.length > 0 && options.onRemediations) await options.onRemediations(system.name, remediations);
  for (const d of page.deleted ?? []) if (result.deletedRefs.length < MAX_DELETED_REFS) result.deletedRefs.push(d.ref);
  options.log.debug(
    { system: system.name, stream: stream.name, page: number, records: page.records.length },
    'page committed',
  );
  options.onProgress?.({ system: system.name, stream: stream.name, pages: number, records: result.records });
}

/** Records indexed between two turns of the event loop. */
const INDEX_SLICE = 10;

async function indexPage(
  records: CrmRecord[],
  ledger: Ledger,
  keyer: SubjectKeyer,
  defaultCountry: CountryCode | undefined,
): Promise<IndexEntry[]> {
  const linked = new Map<string, IndexEntry['subjects']>();
  const linkRefs = new Map<string, RecordRef>();
  for (const r of records) for (const l of r.links ?? []) linkRefs.set(refKey(l), l);
  if (linkRefs.size > 0) {
    // An erased person no longer owns the activities still linked to them (a vendor may keep the link).
    for (const row of await ledger.recordsByRef([...linkRefs.values()]))
      if (!row.deletedAt) linked.set(refKey(row.ref), row.subjects);
  }
  const entries: IndexEntry[] = [];
  for (const [i, r] of records.entries()) {
    // The previous page's commit is in flight: let its next statement go out between slices of this work,
    // or the database thread waits for the whole page to be indexed.
    if (i > 0 && i % INDEX_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const entry = toIndexEntry(
      r,
      keyer,
      (links) => {
        const seen = new Map<string, IndexEntry['subjects'][number]>();
        for (const l of links) for (const s of linked.get(refKey(l)) ?? []) seen.set(s.key, s);
        return [...seen.values()];
      },
      defaultCountry,
    );
    // A person in this very page can be the link target of a note in the same page.
    linked.set(refKey(r.ref), entry.subjects);
    entries.push(entry);
  }
  return entries;
}

async function evaluatePolicies<R>(
  policy: PolicyHook<R>,
  system: SyncSystem,
  stream: StreamDefinition,
  records: CrmRecord[],
  entries: IndexEntry[],
  ledger: Ledger,
  infos: ReadonlyMap<string, SystemInfo>,
  at: Date,
): Promise<{ violations: ViolationInput[]; remediations: R[] }> {
  const keys = new Set<string>();
  for (const e of entries) for (const s of e.subjects) keys.add(s.key);
  const allKeys = [...keys];
  const [stored, tombstones] = await Promise.all([ledger.recordsBySubject(allKeys), ledger.tombstonesFor(allKeys)]);
  // Copies come from the ledger and from this page (two records of one person can arrive together).
  const byKey = new Map<string, Map<string, IndexedRecord>>();
  const addCopy = (key: string, rec: IndexedRecord) => {
    const m = byKey.get(key) ?? new Map<string, IndexedRecord>();
    byKey.set(key, m);
    m.set(refKey(rec.ref), rec);
  };
  for (const rec of stored) if (!rec.deletedAt) for (const s of rec.subjects) addCopy(s.key, rec);
  const iso = at.toISOString();
  for (const e of entries) {
    const rec: IndexedRecord = { ...e, firstSeen: iso, lastSeen: iso, deletedAt: null };
    for (const s of e.subjects) if (!byKey.get(s.key)?.has(refKey(e.ref))) addCopy(s.key, rec);
  }
  const entryByRef = new Map(entries.map((e) => [refKey(e.ref), e]));
  const info = infos.get(system.name)!;
  return policy.evaluate(records, (record) => {
    const entry = entryByRef.get(refKey(record.ref));
    const subjectKeys = entry?.subjects.map((s) => s.key) ?? [];
    const self = refKey(record.ref);
    const copies = new Map<string, IndexedRecord>();
    for (const k of subjectKeys) for (const [rk, rec] of byKey.get(k) ?? []) if (rk !== self) copies.set(rk, rec);
    return {
      system: info,
      stream,
      now: at,
      subjectKeys,
      copies: [...copies.values()],
      tombstoned: subjectKeys.some((k) => tombstones.has(k)),
      systems: infos,
    };
  });
}
