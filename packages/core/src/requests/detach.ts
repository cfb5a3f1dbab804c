/**
 * After an erasure, records kept because others share them must stop answering for the erased person:
 * their index entries lose the person's subject keys and links, so `where` finds no live record of them.
 */
import type { SubjectDetachment } from '../ledger.js';
import { refKey } from '../sync/index-entry.js';
import { type Item, isErased, type NewTask, type RequestEngineDeps } from './batch.js';
import { liveKeysByRef, otherLinks, REDACT_SHARED } from './shared.js';

export async function sharedDetachments(
  deps: RequestEngineDeps,
  items: Item[],
  tasks: Map<string, NewTask[]>,
): Promise<SubjectDetachment[]> {
  const of = (item: Item) => tasks.get(item.row.id) ?? [];
  const kept = (item: Item) =>
    of(item).filter((t) => t.step === 'execute' && t.action === REDACT_SHARED && isErased(t));
  const withShared = items.filter((i) => kept(i).length > 0);
  if (withShared.length === 0) return [];
  const persons = new Map(
    withShared.map((i) => [
      i,
      of(i)
        .filter((t) => t.step === 'locate' && t.action === 'person')
        .map((t) => t.ref),
    ]),
  );
  const sharedRefs = withShared.flatMap((i) => kept(i).map((t) => t.ref));
  const indexed = await deps.ledger.recordsByRef([...persons.values()].flat().concat(sharedRefs));
  const byRef = new Map(indexed.map((r) => [refKey(r.ref), r]));
  // A key another live person linked to the record holds too (a shared phone line) stays with them.
  const keysOf = await liveKeysByRef(
    deps,
    withShared.flatMap((item) =>
      otherLinks(
        kept(item).map((t) => byRef.get(refKey(t.ref))),
        new Set(persons.get(item)!.map(refKey)),
      ),
    ),
  );
  const out = new Map<string, SubjectDetachment>();
  for (const item of withShared) {
    const own = persons.get(item)!;
    const ownKeys = new Set(own.map(refKey));
    const keys = [
      ...item.row.subjectKeys,
      ...own.flatMap((r) => byRef.get(refKey(r))?.subjects.map((s) => s.key) ?? []),
    ];
    for (const t of kept(item)) {
      const links = byRef.get(refKey(t.ref))?.links ?? [];
      const protectedKeys = new Set(
        links.filter((l) => !ownKeys.has(refKey(l))).flatMap((l) => keysOf.get(refKey(l)) ?? []),
      );
      const entry = out.get(refKey(t.ref)) ?? { ref: t.ref, subjectKeys: [], links: [] };
      entry.subjectKeys = [...new Set([...entry.subjectKeys, ...keys.filter((k) => !protectedKeys.has(k))])];
      entry.links = [...entry.links, ...links.filter((l) => ownKeys.has(refKey(l)))];
      out.set(refKey(t.ref), entry);
    }
  }
  return [...out.values()];
}
