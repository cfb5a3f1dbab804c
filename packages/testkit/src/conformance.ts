/**
 * The connector conformance checks. Each check runs against a fresh fixture and returns problems, each
 * naming what is wrong; `testConnector` turns them into vitest tests, and the testkit's own tests run
 * deliberately broken connectors through them to prove every check can fail.
 */
import {
  FIELD_CATEGORIES,
  type Identity,
  identitiesOf,
  type Page,
  type RuntimeConnector,
  type StreamDefinition,
} from '@custodian/core';
import { futureOf, movedBackwards } from './checkpoints.js';
import { checkDeletes } from './checks/deletes.js';
import { checkFaults } from './checks/faults.js';
import {
  type Check,
  type ConformanceInput,
  firstPerson,
  GROUPS,
  type Group,
  type Harness,
  harness,
  ids,
  type Problem,
  readAll,
} from './harness.js';

export {
  type ConformanceInput,
  type FaultShapes,
  type Fixture,
  type FixtureEnv,
  GROUPS,
  type Group,
  type Problem,
} from './harness.js';

/**
 * A stream that resumes from a modified-time watermark. Full-diff streams are left out: their timestamp
 * versions a whole snapshot (a CSV file's mtime), and any change rightly re-reads all of it.
 */
const watermarked = (s: StreamDefinition) => s.cursor === 'timestamp' && s.deletes.kind !== 'full-diff';

/**
 * Equal timestamps across a page boundary: the fixture gives more than two pages of records one same
 * modified time (a bulk update), then an incremental read, resumed after each of its pages, must see them all.
 * Returns whether the fixture could stage a tie spanning a page boundary of this stream.
 */
async function checkTies(
  h: Harness,
  stream: string,
  full: Page[],
  pageSize: number,
  problem: (m: string) => void,
): Promise<boolean> {
  const touched = (await h.fixture.bulkModify?.(stream, pageSize * 2 + 1)) ?? [];
  if (touched.length === 0) return false;
  const pages = await readAll(h.rc, stream, full.at(-1)?.checkpoint ?? null);
  const seen = new Set(ids(pages));
  const missing = touched.filter((id) => !seen.has(id));
  if (missing.length > 0)
    problem(`stream ${stream}: ${missing.length} of ${touched.length} records modified at one same time were not read`);
  // Too few records to fill two pages of this stream: nothing staged here.
  if (pages.filter((p) => p.records.some((r) => touched.includes(r.ref.id))).length < 2) return false;
  for (let i = 0; i + 1 < pages.length; i++) {
    const union = new Set([...ids(pages.slice(0, i + 1)), ...ids(await readAll(h.rc, stream, pages[i]!.checkpoint))]);
    const lost = touched.filter((id) => !union.has(id));
    if (lost.length > 0) {
      problem(
        `stream ${stream}: equal timestamps across the page ${i + 1}/${i + 2} boundary lose ${lost.length} record(s) on resume: use a (timestamp, id) watermark`,
      );
      break;
    }
  }
  return true;
}

export const CHECKS: Record<Group, Check> = {
  async definition(h, input, problem) {
    const bad = input.connector.options.safeParse({ __not_an_option__: true });
    if (bad.success) problem('options schema accepts unknown or missing options: make it strict');
    if (h.rc.streams.length === 0) problem('declares no streams');
    for (const s of h.rc.streams) {
      if (s.fields.length === 0) problem(`stream ${s.name} classifies no fields`);
      for (const f of s.fields) {
        if (!(FIELD_CATEGORIES as readonly string[]).includes(f.category))
          problem(`stream ${s.name} field ${f.name} has unknown category ${f.category}`);
      }
      if (s.deletes.kind === 'none' && !s.deletes.reason)
        problem(`stream ${s.name} declares no delete strategy and gives no reason`);
    }
  },

  async read(h, _input, problem) {
    for (const s of h.rc.streams) {
      const pages = await readAll(h.rc, s.name, null);
      const all = ids(pages);
      if (all.length === 0) problem(`stream ${s.name} returned no records from the fixture`);
      if (new Set(all).size !== all.length) problem(`stream ${s.name} returned duplicate ids within one read`);
      for (const p of pages) {
        try {
          JSON.stringify(p.checkpoint);
        } catch {
          problem(`stream ${s.name} yields a checkpoint that is not JSON`);
        }
        for (const r of p.records) {
          if (r.ref.system !== h.rc.system || r.ref.object !== s.name || !r.ref.id)
            problem(`stream ${s.name} record ${r.ref.id} has a wrong ref`);
          if (r.kind !== s.kind)
            problem(`stream ${s.name} record ${r.ref.id} has kind ${r.kind}, stream says ${s.kind}`);
        }
      }
    }
  },

  async incremental(h, _input, problem) {
    const finals = new Map<string, Page[]>();
    for (const s of h.rc.streams) {
      const full = await readAll(h.rc, s.name, null);
      finals.set(s.name, full);
      const expected = new Set(ids(full));
      // Resume from every committed checkpoint: nothing may be lost.
      for (let i = 0; i < full.length; i++) {
        const before = new Set(ids(full.slice(0, i + 1)));
        const rest = await readAll(h.rc, s.name, full[i]!.checkpoint);
        const union = new Set([...before, ...ids(rest)]);
        const lost = [...expected].filter((id) => !union.has(id));
        if (lost.length > 0) {
          problem(
            `stream ${s.name}: resuming after page ${i + 1} loses ${lost.length} record(s): the checkpoint moved past what was observed or a page was skipped`,
          );
          break;
        }
      }
      for (let i = 1; i < full.length; i++) {
        const back = movedBackwards(full[i - 1]!.checkpoint, full[i]!.checkpoint);
        if (back.length > 0) {
          problem(`stream ${s.name}: the checkpoint moved backwards at page ${i + 1} (${back.join(', ')})`);
          break;
        }
      }
      const last = full.at(-1)?.checkpoint ?? null;
      if (last && s.cursor !== 'none') {
        const secondRead = await readAll(h.rc, s.name, last);
        const again = ids(secondRead);
        if (again.length > 0)
          problem(
            `stream ${s.name}: a second read from the final checkpoint returned ${again.length} unchanged record(s)`,
          );
        const back = secondRead.length > 0 ? movedBackwards(last, secondRead.at(-1)!.checkpoint) : [];
        if (back.length > 0)
          problem(`stream ${s.name}: a second read moved the checkpoint backwards (${back.join(', ')})`);
      }
      if (last && watermarked(s)) {
        const future = futureOf(last) as typeof last;
        if (JSON.stringify(future) === JSON.stringify(last))
          problem(
            `stream ${s.name}: its final checkpoint holds no timestamp (ISO-8601 or epoch ms) though its cursor is timestamp`,
          );
        else {
          const fromFuture = ids(await readAll(h.rc, s.name, future));
          if (fromFuture.length > 0)
            problem(
              `stream ${s.name}: a checkpoint from the future returned ${fromFuture.length} record(s), expected none`,
            );
        }
      }
    }
    // Ties last: staging them modifies the fixture's data.
    const timestamped = h.rc.streams.filter(watermarked);
    let staged = 0;
    const pageSize = Math.max(1, ...[...finals.values()].flat().map((p) => p.records.length));
    for (const s of timestamped) if (await checkTies(h, s.name, finals.get(s.name)!, pageSize, problem)) staged++;
    if (timestamped.length > 0 && staged === 0)
      problem(
        'the fixture stages no equal timestamps across a page boundary (bulkModify), so ties are untested: add bulkModify to the fixture',
      );
  },

  async find(h, _input, problem) {
    const person = await firstPerson(h.rc);
    if (!person) return problem('no person record with an identity in the fixture');
    const identities: Identity[] = identitiesOf(person.canonical);
    const found = await h.rc.find(identities);
    if (!found.some((r) => r.ref.id === person.ref.id))
      problem(`find by identity did not return record ${person.ref.id}`);
    const none = await h.rc.find([{ kind: 'email', value: 'nobody.at.all@conformance.invalid' }]);
    if (none.length > 0) problem('find returned records for an identity that matches nobody');
  },

  async erase(h, _input, problem) {
    const person = await firstPerson(h.rc);
    if (!person) return problem('no person record to erase');
    const [first] = await h.rc.erase([person.ref], { permanent: true });
    if (first?.outcome !== 'done') problem(`erase returned ${first?.outcome} for an existing record`);
    const [again] = await h.rc.erase([person.ref], { permanent: true });
    if (again?.outcome !== 'already_gone')
      problem(`erasing an erased record returned ${again?.outcome}, expected already_gone`);
    if (h.rc.has('get') && (await h.rc.get([person.ref]))[0]) problem('an erased record can still be read');
    if (h.rc.has('find') && (await h.rc.find(identitiesOf(person.canonical))).some((r) => r.ref.id === person.ref.id))
      problem('an erased record is still found by identity');
  },

  async update(h, _input, problem) {
    const person = await firstPerson(h.rc);
    if (!person) return problem('no person record to update');
    const stream = h.rc.streams.find((s) => s.name === person.ref.object)!;
    const field = stream.fields.find((f) => f.canonical === 'lastName' || f.canonical === 'firstName');
    if (!field) return problem(`stream ${stream.name} maps no name field to rectify`);
    const [conflict] = await h.rc.update([
      { ref: person.ref, set: { [field.name]: 'Conformance' }, expected: { [field.name]: 'not-the-current-value' } },
    ]);
    if (conflict?.outcome !== 'failed')
      problem('update overwrote a value that changed since it was read (expected must be honoured)');
    const [ok] = await h.rc.update([
      {
        ref: person.ref,
        set: { [field.name]: 'Conformance' },
        expected: { [field.name]: person.fields[field.name] ?? null },
      },
    ]);
    if (ok?.outcome !== 'done') problem(`update returned ${ok?.outcome}: ${ok?.reason ?? ''}`);
    if (h.rc.has('get')) {
      const [after] = await h.rc.get([person.ref]);
      if (after?.fields[field.name] !== 'Conformance') problem('the updated value does not read back');
    }
  },

  async 'opt-out'(h, _input, problem) {
    const person = await firstPerson(h.rc);
    if (!person) return problem('no person record to opt out');
    const [r] = await h.rc.setMarketingOptOut([person.ref]);
    if (r?.outcome !== 'done') problem(`opt-out returned ${r?.outcome}: ${r?.reason ?? ''}`);
    if (h.rc.has('get')) {
      const [after] = await h.rc.get([person.ref]);
      if (after?.consent?.marketingOptOut !== true) problem('the opt-out does not read back');
    }
  },

  async budget(h, input, problem) {
    const limit = input.callsPerPage ?? 3;
    for (const s of h.rc.streams) {
      h.calls.length = 0;
      const pages = await readAll(h.rc, s.name, null);
      const perPage = h.calls.length / Math.max(1, pages.length);
      if (perPage > limit)
        problem(
          `stream ${s.name}: ${perPage.toFixed(1)} vendor calls per page (budget ${limit}): is something called once per record?`,
        );
    }
  },

  async logging(h, input, problem) {
    for (const s of h.rc.streams) await readAll(h.rc, s.name, null);
    const person = await firstPerson(h.rc);
    if (person && h.rc.has('find')) await h.rc.find(identitiesOf(person.canonical));
    const text = h.logs.join('');
    const values = [
      ...(h.fixture.secrets ?? []),
      ...(person ? identitiesOf(person.canonical).map((i) => i.value) : []),
    ];
    for (const v of values)
      if (v && text.includes(v)) problem(`a log line contains a secret or personal value (${v.slice(0, 3)}…)`);
    void input;
  },

  deletes: (h, input, problem) => checkDeletes(h, input, problem),
  // Run by runCheck with a fresh fault-proxied fixture per scenario.
  faults: async () => {},
};

const CAPABILITY_OF: Partial<Record<Group, Parameters<RuntimeConnector['has']>[0]>> = {
  find: 'find',
  erase: 'erase',
  update: 'update',
  'opt-out': 'opt-out',
};

/** Run one group; returns its problems (a missing capability or a skip with a reason returns none). */
export async function runCheck(input: ConformanceInput, group: Group): Promise<Problem[]> {
  const problems: Problem[] = [];
  const problem = (message: string) => problems.push({ group, message });
  if (group === 'faults') {
    try {
      await checkFaults(input, problem);
    } catch (err) {
      problem(`threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    return problems;
  }
  const h = await harness(input, { faults: group === 'deletes' });
  try {
    const cap = CAPABILITY_OF[group];
    if (cap && !h.rc.has(cap)) return [];
    await CHECKS[group](h, input, problem);
  } catch (err) {
    problem(`threw: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await h.close();
  }
  return problems;
}

export async function runConformance(input: ConformanceInput): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const group of GROUPS) if (!input.skip?.[group]) out.push(...(await runCheck(input, group)));
  return out;
}
