import type { FieldChange, RefResult } from '../contract.js';
import type { CanonicalField, CrmRecord, RecordRef } from '../types.js';
import { fieldFor, type RequestConnector } from './batch.js';

/** What to do with one record read just before writing: a change, or an outcome without a write. */
export type WriteDecision = FieldChange | RefResult;

/**
 * Write changes to one chunk of records, each decided on the record as read just before (expected values are
 * read now, not at locate time: they are personal data and are never stored). Every change carries the
 * values it replaces, so a record changed since is reported as a conflict instead of overwritten, and a
 * retry finds nothing left to write.
 */
export async function writeAfterRead(
  connector: RequestConnector,
  refs: RecordRef[],
  decide: (current: (CrmRecord | null)[]) => Promise<(ref: RecordRef, record: CrmRecord) => WriteDecision>,
): Promise<RefResult[]> {
  const current = await connector.get(refs);
  const decideOne = await decide(current);
  const changes: FieldChange[] = [];
  const results: RefResult[] = [];
  refs.forEach((ref, i) => {
    const record = current[i];
    const d: WriteDecision = record ? decideOne(ref, record) : { ref, outcome: 'already_gone' };
    if ('set' in d) changes.push(d);
    else results.push(d);
  });
  return [...results, ...(changes.length > 0 ? await connector.update(changes) : [])];
}

/** Write a person's corrected values to one chunk of their records. */
export async function rectifyChunk(
  connector: RequestConnector,
  refs: RecordRef[],
  set: Partial<Record<CanonicalField, string>>,
): Promise<RefResult[]> {
  return writeAfterRead(connector, refs, async () => (ref, record) => {
    const change: FieldChange = { ref, set: {}, expected: {} };
    for (const [canonical, value] of Object.entries(set)) {
      const field = fieldFor(connector.streams, ref.object, canonical);
      if (!field) continue;
      change.set[field] = value ?? null;
      change.expected![field] = record.fields[field] ?? null;
    }
    if (Object.keys(change.set).length === 0)
      return { ref, outcome: 'skipped', reason: 'none of the fields exist on this object' };
    if (Object.entries(change.set).every(([f, v]) => (record.fields[f] ?? null) === v)) return { ref, outcome: 'done' };
    return change;
  });
}
