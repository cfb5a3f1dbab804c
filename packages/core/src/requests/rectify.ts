import type { FieldChange, RefResult } from '../contract.js';
import type { CanonicalField, RecordRef } from '../types.js';
import { fieldFor, type RequestConnector } from './batch.js';

/**
 * Write a person's corrected values to one chunk of their records. Each change carries the value it replaces,
 * read just before, so a copy changed since is reported as a conflict instead of overwritten.
 */
export async function rectifyChunk(
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
