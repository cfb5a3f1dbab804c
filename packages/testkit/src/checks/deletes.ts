/**
 * The deletes group: tombstones the vendor reports come back as `deleted` refs of the right stream, an
 * erased record is reported deleted on the next read (tombstones) or missing from the next complete
 * snapshot (full-diff), and no read that is partial or failed claims a complete snapshot, so the sync
 * engine never infers deletes from it.
 */
import type { Page } from '@custodian/core';
import { type Check, firstPerson, ids, readAll } from '../harness.js';

const completedEarly = (pages: Page[]) => pages.slice(0, -1).findIndex((p) => p.snapshotComplete);

export const checkDeletes: Check = async (h, _input, problem) => {
  const tracked = h.rc.streams.filter((s) => s.deletes.kind !== 'none');
  for (const s of tracked) {
    const full = await readAll(h.rc, s.name, null);
    const early = completedEarly(full);
    if (early >= 0)
      problem(
        `stream ${s.name}: page ${early + 1} of ${full.length} claims a complete snapshot, so deletes would be inferred from a partial read`,
      );
    if (s.deletes.kind === 'full-diff' && !full.at(-1)?.snapshotComplete)
      problem(`stream ${s.name} is full-diff but its last page does not mark the snapshot complete`);
    for (const d of full.flatMap((p) => p.deleted ?? []))
      if (d.ref.object !== s.name || d.ref.system !== h.rc.system) {
        problem(`stream ${s.name}: a tombstone names ${d.ref.system}:${d.ref.object}, not this stream`);
        break;
      }
    if (s.deletes.kind === 'full-diff' && h.traffic.routed) {
      // Every vendor request after the first fails: the read must fail and claim no complete snapshot.
      let n = 0;
      h.traffic.decide = (r) =>
        !r.isTokenRequest && ++n > 1 ? { respond: { status: 500, body: { message: 'testkit: failing' } } } : undefined;
      const partial: Page[] = [];
      let failed = false;
      try {
        for await (const page of h.rc.read(s.name, null)) partial.push(page);
      } catch {
        failed = true;
      }
      h.traffic.decide = () => undefined;
      if (!failed) problem(`stream ${s.name}: a read whose vendor calls fail ended without an error`);
      if (partial.some((p) => p.snapshotComplete))
        problem(`stream ${s.name}: a failed read claimed a complete snapshot, so deletes would be inferred from it`);
    }
  }

  if (!h.rc.has('erase')) return;
  const person = await firstPerson(h.rc);
  const stream = tracked.find((s) => s.name === person?.ref.object);
  if (!person || !stream) return;
  const before = await readAll(h.rc, stream.name, null);
  const [erased] = await h.rc.erase([person.ref], { permanent: false });
  if (erased?.outcome !== 'done') return problem(`stream ${stream.name}: erase returned ${erased?.outcome}`);
  if (stream.deletes.kind === 'tombstones') {
    const after = await readAll(h.rc, stream.name, before.at(-1)?.checkpoint ?? null);
    const tombstoned = after.flatMap((p) => p.deleted ?? []).some((d) => d.ref.id === person.ref.id);
    const live = after.flatMap((p) => p.records).some((r) => r.ref.id === person.ref.id && !r.archived);
    if (!tombstoned && !live)
      problem(`stream ${stream.name}: an erased record was not reported as deleted by the next incremental read`);
    if (live) problem(`stream ${stream.name}: an erased record comes back as a live record`);
  } else {
    const after = await readAll(h.rc, stream.name, null);
    if (ids(after).includes(person.ref.id))
      problem(`stream ${stream.name}: an erased record is still in the next complete snapshot`);
    if (!after.at(-1)?.snapshotComplete)
      problem(`stream ${stream.name}: the snapshot after an erase is not marked complete, so the delete is never seen`);
  }
};
