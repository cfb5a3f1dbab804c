/**
 * Deletions found by sync propagate: when a system named as a source reports a person deleted (archived,
 * in a recycle bin, in a deleted-records feed), Custodian opens an erase request for that person's other
 * copies. The request is a dry run until the policy enables it, and waits for approval when configured.
 */
import { z } from 'zod';
import type { RequestRow } from '../ledger.js';
import type { Jurisdiction, RecordRef } from '../types.js';
import { openRequest, type RequestEngineDeps, runRequest } from './engine.js';

export const PropagateDeletionsSchema = z
  .object({
    name: z.string().default('propagate-deletions'),
    rule: z.literal('propagate-deletions'),
    /** Systems whose deletions count (e.g. the CRM that is the system of record). */
    sources: z.array(z.string()).min(1),
    /** Act for real; otherwise each request is opened as a dry run that shows its plan. */
    enabled: z.boolean().default(false),
    jurisdiction: z.enum(['gdpr', 'ccpa', 'pipl']).optional(),
  })
  .strict();
export type PropagateDeletionsPolicy = z.output<typeof PropagateDeletionsSchema>;

export interface PropagationResult {
  source: string;
  opened: { id: string; state: RequestRow['state']; dryRun: boolean }[];
}

export async function propagateDeletions(
  deps: RequestEngineDeps,
  policy: PropagateDeletionsPolicy,
  deleted: { system: string; refs: RecordRef[] }[],
): Promise<PropagationResult[]> {
  const results: PropagationResult[] = [];
  for (const { system, refs } of deleted) {
    if (!policy.sources.includes(system) || refs.length === 0) continue;
    const rows = await deps.ledger.recordsByRef(refs);
    // One request per person: a record's subject keys (email, phone) belong together.
    const people = new Map<string, string[]>();
    for (const r of rows)
      if (r.kind === 'person' && r.subjects[0])
        people.set(
          r.subjects[0].key,
          r.subjects.map((s) => s.key),
        );
    const opened: PropagationResult['opened'] = [];
    for (const keys of people.values()) {
      const copies = (await deps.ledger.recordsBySubject(keys)).filter(
        (r) => r.ref.system !== system && !r.deletedAt && r.kind === 'person',
      );
      if (copies.length === 0) continue;
      const request = await openRequest(deps, {
        kind: 'erase',
        identities: [],
        subjectKeys: keys,
        origin: 'propagated-deletion',
        excludeSystems: [system],
        dryRun: !policy.enabled,
        ...(policy.jurisdiction ? { jurisdiction: policy.jurisdiction as Jurisdiction } : {}),
      });
      const row = await runRequest(deps, request.id);
      opened.push({ id: row.id, state: row.state, dryRun: row.dryRun });
    }
    results.push({ source: system, opened });
  }
  return results;
}
