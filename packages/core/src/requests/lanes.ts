/**
 * Execute, purge and verify run as one lane per system: each system empties its recycle bin and reads back
 * its share of the batch as soon as its own deletes are done, without waiting for slower systems (one
 * vendor's rate limit must not hold the others' read-back, nor the others' read-back add to its tail).
 *
 * A request's stored state moves only when every lane it involves has passed: one row update with an audit
 * entry per step passed. Tasks are stored before and after every chunk, so a process killed inside a lane
 * resumes at the request's stored step and finds what the lanes already did: done tasks are never run
 * again, purge adds only what is missing, and read-back runs again (it changes nothing at the vendor).
 */
import { createHash } from 'node:crypto';
import type { RefResult } from '../contract.js';
import { refKey } from '../sync/index-entry.js';
import type { CrmRecord, RecordRef } from '../types.js';
import { Attribution } from './attribute.js';
import {
  applyResults,
  chunks,
  exemptionFor,
  fieldFor,
  type Item,
  inParallel,
  isErased,
  liveIdentities,
  markRunning,
  type NewTask,
  objectChunks,
  perSystem,
  type RequestConnector,
  type RequestEngineDeps,
  type StateChange,
  setStates,
  summarise,
  uniqueIdentities,
  uniqueRefs,
} from './batch.js';
import { writeExport } from './export.js';
import { patientConnector } from './patience.js';
import { rectifyChunk } from './rectify.js';
import { REDACT_SHARED, redactSharedChunk, type SharedScope, sharedScope, verifyShared } from './shared.js';

/** What the lanes of one batch share: each request's tasks in memory, updated as results are booked. */
interface Lanes {
  /** Every task of each request as read before the lanes started. */
  stored: Map<Item, NewTask[]>;
  executed: Map<Item, NewTask[]>;
  purged: Map<Item, NewTask[]>;
  verified: Map<Item, NewTask[]>;
  exported: Map<Item, Record<string, CrmRecord[]>>;
  /** Each request's person refs (located), whose identity leaves the records they share with others. */
  persons: Map<Item, RecordRef[]>;
}

/** One system's lane: where its work goes and the batch's shared task lists. */
interface Lane {
  deps: RequestEngineDeps;
  system: string;
  connector: RequestConnector;
  lanes: Lanes;
  /** Built once per lane, on first use: before the lane deletes the people it describes. */
  shared: () => Promise<SharedScope>;
}

const isPending = (t: NewTask) => t.state === 'pending' || t.state === 'running';
const isPermanentErase = (item: Item) => item.row.kind === 'erase' && item.row.params.permanent === true;

/** Drive requests at execute, purge or verify through the rest of those steps, one lane per system. */
export async function runLanes(deps: RequestEngineDeps, items: Item[]): Promise<void> {
  const stored = await deps.ledger.tasksByRequest(items.map((i) => i.row.id));
  const ofStep = (step: string) =>
    new Map<Item, NewTask[]>(items.map((i) => [i, (stored.get(i.row.id) ?? []).filter((t) => t.step === step)]));
  const lanes: Lanes = {
    stored: new Map(items.map((i) => [i, stored.get(i.row.id) ?? []])),
    executed: ofStep('execute'),
    purged: ofStep('purge'),
    verified: new Map(items.map((i) => [i, []])),
    exported: new Map(items.map((i) => [i, {}])),
    persons: new Map(
      items.map((i) => [
        i,
        (stored.get(i.row.id) ?? []).filter((t) => t.step === 'locate' && t.action === 'person').map((t) => t.ref),
      ]),
    ),
  };
  const ok = await perSystem(deps, items, 'execute', async (system, mine, at) => {
    const connector = patientConnector(await system.connector());
    let scope: Promise<SharedScope> | undefined;
    const erasing = mine.filter((i) => i.row.kind === 'erase');
    const shared = () => {
      scope ??= sharedScope(deps, connector, erasing, lanes.persons, system.name);
      return scope;
    };
    const lane: Lane = { deps, system: system.name, connector, lanes, shared };
    await executeIn(
      lane,
      mine.filter((i) => i.row.state === 'execute'),
    );
    at('purge');
    await purgeIn(
      lane,
      mine.filter((i) => isPermanentErase(i) && (i.row.state === 'execute' || i.row.state === 'purge')),
    );
    at('verify');
    const checked = mine.filter((i) => i.row.kind !== 'export');
    for (const item of checked) await deps.onStep?.(item.row.id, `read-back:${system.name}`);
    await verifyIn(lane, checked);
  });
  await finish(deps, ok, lanes);
}

/** Run the pending tasks of one system, batched per action across requests, storing progress after each chunk. */
async function executeIn(lane: Lane, mine: Item[]): Promise<void> {
  const { deps, system, connector, lanes } = lane;
  const tasks = mine.flatMap((i) => lanes.executed.get(i)!.filter((t) => t.ref.system === system && isPending(t)));
  if (tasks.length === 0) return;
  const byId = new Map(mine.map((i) => [i.row.id, i]));
  const byAction = new Map<string, NewTask[]>();
  for (const t of tasks) {
    const group = byAction.get(t.action);
    if (group) group.push(t);
    else byAction.set(t.action, [t]);
  }
  // Deletes never mix permanent and restorable erasure in one call.
  const permanent = (t: NewTask) => byId.get(t.requestId)?.row.params.permanent === true;
  // Shared records are redacted first: the person's own records, read for their name, still exist then.
  const ordered = [...byAction].sort(([a], [b]) => Number(b === REDACT_SHARED) - Number(a === REDACT_SHARED));
  for (const [action, group] of ordered) {
    // Rectify and redaction carry each request's own person, so their chunks never mix requests.
    const groups = (
      action === 'update' || action === REDACT_SHARED
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
        } else if (action === REDACT_SHARED) {
          results = await redactSharedChunk(deps, connector, await lane.shared(), byId.get(g[0]!.requestId)!, chunk);
        } else if (action === 'opt-out') {
          results = await connector.setMarketingOptOut(chunk);
        } else if (action === 'update') {
          const owner = byId.get(g[0]!.requestId)!;
          results = await rectifyChunk(connector, chunk, owner.sealed.set ?? {});
        } else {
          const records = await connector.get(chunk);
          const at = new Map(chunk.map((ref, i) => [refKey(ref), i]));
          for (const t of chunkTasks) {
            const r = records[at.get(refKey(t.ref))!];
            if (!r) continue;
            const byItem = lanes.exported.get(byId.get(t.requestId)!)!;
            byItem[system] = [...(byItem[system] ?? []), r];
          }
          results = chunk.map((ref, i) => (records[i] ? { ref, outcome: 'done' } : { ref, outcome: 'already_gone' }));
        }
        await applyResults(deps, chunkTasks, results);
        // Redaction has its own crash point: `execute:<system>` stops after the first chunk of deletes.
        const point = action === REDACT_SHARED ? `${action}:${system}:chunk` : `execute:${system}:${action}:chunk`;
        for (const id of new Set(chunkTasks.map((t) => t.requestId))) await deps.onStep?.(id, point);
      }),
    );
    await inParallel(deps.config.concurrency, jobs);
  }
}

/** Empty one system's recycle bin of what these permanent erasures deleted there. */
async function purgeIn(lane: Lane, mine: Item[]): Promise<void> {
  const { deps, system, connector, lanes } = lane;
  const fresh: NewTask[] = [];
  // Systems without a recycle bin (or whose erase is already permanent) get no purge tasks at all.
  if (connector.has('purge'))
    for (const item of mine) {
      const purged = lanes.purged.get(item)!;
      const existing = new Set(purged.map((t) => refKey(t.ref)));
      for (const t of lanes.executed.get(item)!)
        if (t.ref.system === system && t.action === 'delete' && isErased(t) && !existing.has(refKey(t.ref))) {
          const task: NewTask = {
            requestId: item.row.id,
            step: 'purge',
            ref: t.ref,
            action: 'purge',
            state: 'pending',
            reason: null,
          };
          purged.push(task);
          fresh.push(task);
        }
    }
  await deps.ledger.upsertTasks(fresh);
  const tasks = mine.flatMap((i) => lanes.purged.get(i)!.filter((t) => t.ref.system === system && isPending(t)));
  if (tasks.length === 0) return;
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
      for (const item of mine) await deps.onStep?.(item.row.id, `purge:${system}:chunk`);
    }),
  );
}

/** Read one system back: nothing erased may remain; opt-outs and corrections must be in place. */
async function verifyIn(lane: Lane, mine: Item[]): Promise<void> {
  const { deps, system, connector, lanes } = lane;
  const done = (item: Item) => lanes.executed.get(item)!.filter((t) => t.ref.system === system && isErased(t));
  // Records a request keeps or redacts under an exemption are still found by identity, and rightly so.
  const exempt = new Map<Item, Set<string>>(
    mine.map((item) => [
      item,
      new Set(uniqueRefs(lanes.executed.get(item)!.filter((t) => t.action !== 'delete')).map(refKey)),
    ]),
  );
  const book = (owners: Item[], r: RefResult) => {
    for (const item of owners)
      if (r.outcome !== 'failed' || !exempt.get(item)!.has(refKey(r.ref)))
        lanes.verified.get(item)!.push(verifyTask(item, r));
  };
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
  await verifySharedIn(lane, erase);
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
}

/** Records kept because others share them must no longer carry the person's identity. */
async function verifySharedIn(lane: Lane, erase: Item[]): Promise<void> {
  const { deps, system, connector, lanes } = lane;
  const tasks = erase.flatMap((item) =>
    lanes.executed
      .get(item)!
      .filter((t) => t.ref.system === system && t.action === REDACT_SHARED && isErased(t))
      .map((t) => ({ item, ref: t.ref })),
  );
  if (tasks.length === 0) return;
  for (const { item, result } of await verifyShared(deps, connector, await lane.shared(), tasks))
    lanes.verified.get(item)!.push(verifyTask(item, result));
}

function verifyTask(item: Item, r: RefResult): NewTask {
  const state = r.outcome === 'failed' ? 'failed' : 'done';
  return { requestId: item.row.id, step: 'verify', ref: r.ref, action: 'verify', state, reason: r.reason ?? null };
}

/** What read-back left open for one request: failed or remaining refs per system, and those locate never had. */
function problemsOf(lanes: Lanes, item: Item): { problems: Record<string, number>; unlocated: Record<string, number> } {
  const problems: Record<string, number> = {};
  const unlocated: Record<string, number> = {};
  const count = (into: Record<string, number>, system: string) => {
    into[system] = (into[system] ?? 0) + 1;
  };
  const executed = lanes.executed.get(item)!;
  const known = new Set(executed.map((t) => refKey(t.ref)));
  for (const t of lanes.verified.get(item)!)
    if (t.state === 'failed') {
      count(problems, t.ref.system);
      if (!known.has(refKey(t.ref))) count(unlocated, t.ref.system);
    }
  for (const t of executed) if (t.state === 'failed') count(problems, t.ref.system);
  return { problems, unlocated };
}

function blockedReason(id: string, problems: Record<string, number>, unlocated: Record<string, number>): string {
  const perSystem = Object.entries(problems).map(
    ([s, n]) =>
      `${s}: ${n} ref(s) failed or still present${
        unlocated[s] ? ` (${unlocated[s]} record(s) still found by identity that locate did not find)` : ''
      }`,
  );
  const relocate = Object.keys(unlocated).length > 0 ? ' (it locates and erases what read-back found)' : '';
  return `not finished: ${perSystem.join('; ')}; fix the cause and run \`custodian requests resume ${id}\`${relocate}`;
}

/** A request's tasks as the ledger now holds them: one per step and ref, the last one written. */
function tasksNow(lanes: Lanes, item: Item): NewTask[] {
  const latest = new Map<string, NewTask>();
  const put = (t: NewTask) => latest.set(`${t.step}\u0000${refKey(t.ref)}`, t);
  for (const t of lanes.stored.get(item) ?? []) put(t);
  for (const list of [lanes.executed, lanes.purged, lanes.verified]) for (const t of list.get(item)!) put(t);
  return [...latest.values()];
}

/** Every lane has passed: store the read-back, then move each request past the steps its lanes ran, at once. */
async function finish(deps: RequestEngineDeps, items: Item[], lanes: Lanes): Promise<void> {
  await deps.ledger.upsertTasks(items.flatMap((i) => lanes.verified.get(i)!));
  for (const item of items) item.tasks = tasksNow(lanes, item);
  const changes: StateChange[] = [];
  for (const item of items) {
    const { row } = item;
    let result = row.result;
    if (row.state === 'execute') {
      if (row.kind === 'export')
        result = { ...result, export: await recordExport(deps, item, lanes.exported.get(item)!) };
      const executed = summarise(lanes.executed.get(item)!);
      result = { ...result, executed };
      const next = row.kind === 'erase' ? 'purge' : row.kind === 'export' ? 'certificate' : 'verify';
      changes.push({ item, state: next, patch: { result }, audit: { executed } });
    }
    if (row.kind === 'erase' && (row.state === 'execute' || row.state === 'purge'))
      changes.push({ item, state: 'verify', audit: { purged: summarise(lanes.purged.get(item)!) } });
    if (row.kind === 'export') continue;
    const { problems, unlocated } = problemsOf(lanes, item);
    if (Object.keys(problems).length === 0) {
      changes.push({
        item,
        state: row.kind === 'erase' ? 'tombstone' : 'certificate',
        patch: { error: null },
        audit: { verified: lanes.verified.get(item)!.length },
      });
      continue;
    }
    // The request stays open (and keeps its sealed identities) until read-back finds nothing.
    changes.push({
      item,
      state: 'blocked',
      patch: { error: blockedReason(row.id, problems, unlocated), result: { ...result, verifyProblems: problems } },
      audit: { problems, ...(Object.keys(unlocated).length > 0 ? { unlocated } : {}) },
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
