/**
 * CSV sales lists: a folder of CSV files, one per list. The smallest complete Custodian connector and the
 * template for connector authors (docs/connectors.md walks through it).
 *
 * Setup: point `options.dir` at the folder and map the columns you have (`options.columns`).
 * Permissions: read and write access to the folder (erase and update rewrite files atomically, under a
 * `<list file>.lock` lock that other processes honour; see lock.ts).
 * Limits: none at a vendor; local file I/O only.
 * Notes: each list is its own stream, read again whole when its modification time changes; rows that
 * disappear from a re-read list are reported gone (full diff, only after a complete read).
 */

import { existsSync } from 'node:fs';
import {
  CANONICAL_FIELDS,
  type CanonicalField,
  type ConnectorOperations,
  type CrmRecord,
  defineConnector,
  type FieldCategory,
  type FieldChange,
  type FieldClassification,
  type Identity,
  identitiesOf,
  leftoverResults,
  type OperationContext,
  type Page,
  type RecordRef,
  type RefResult,
  type StreamDefinition,
} from '@custodian/core';
import { type CsvList, type CsvRow, listNames, listPath, readHeader, readList, writeList } from './files.js';
import { type AssertLockHeld, withListLock } from './lock.js';
import { COLUMN_ROLES, type ColumnRole, type CsvOptions, CsvOptionsSchema } from './options.js';

export { type CsvOptions, CsvOptionsSchema } from './options.js';

const ROLE_CATEGORY: Record<ColumnRole, FieldClassification['category']> = {
  id: 'identifier.vendor',
  email: 'contact.email',
  phone: 'contact.phone',
  mobilePhone: 'contact.phone',
  firstName: 'name',
  lastName: 'name',
  company: 'other',
  jobTitle: 'other',
  address: 'contact.address',
  city: 'contact.address',
  postalCode: 'contact.address',
  country: 'contact.address',
  dateOfBirth: 'special_category',
  notes: 'free_text',
  optOut: 'consent',
  legalBasis: 'consent',
  lastActivity: 'activity',
  updatedAt: 'system',
};

// Roles that are canonical person fields (the rest are ids, notes, consent and activity columns).
const CANONICAL_ROLES = COLUMN_ROLES.filter((r): r is ColumnRole & CanonicalField =>
  (CANONICAL_FIELDS as readonly string[]).includes(r),
);

/** Unmapped columns are classified by their header, so nothing is left unclassified. */
function guessCategory(header: string): FieldCategory {
  const h = header.toLowerCase();
  if (/note|comment|remark|description|memo/.test(h)) return 'free_text';
  if (/mail/.test(h)) return 'contact.email';
  if (/phone|mobile|tel/.test(h)) return 'contact.phone';
  if (/street|address|zip|postal|city/.test(h)) return 'contact.address';
  if (/name/.test(h)) return 'name';
  if (/iban|card|account/.test(h)) return 'financial';
  if (/health|diagnos|medical/.test(h)) return 'health';
  if (/ssn|passport|national|tax/.test(h)) return 'identifier.government';
  return 'other';
}

function classify(options: CsvOptions, header: string[]): FieldClassification[] {
  const roleOf = new Map<string, ColumnRole>();
  for (const [role, column] of Object.entries(options.columns)) if (column) roleOf.set(column, role as ColumnRole);
  return header.map((name) => {
    const role = roleOf.get(name);
    const field: FieldClassification = { name, category: role ? ROLE_CATEGORY[role] : guessCategory(name) };
    if (role && (CANONICAL_ROLES as readonly string[]).includes(role))
      field.canonical = role as FieldClassification['canonical'];
    return field;
  });
}

const TRUTHY = new Set(['true', 'yes', 'y', '1', 'x', 'ja', 'oui', 'si', 'sí']);

function toRecord(system: string, list: CsvList, row: CsvRow, options: CsvOptions): CrmRecord {
  const col = (role: ColumnRole): string | null => {
    const header = options.columns[role];
    const v = header ? row.values[header] : undefined;
    return v === undefined || v.trim() === '' ? null : v.trim();
  };
  const canonical: CrmRecord['canonical'] = {};
  for (const role of CANONICAL_ROLES) {
    const v = col(role);
    if (v !== null) canonical[role] = v;
  }
  const optOut = col('optOut');
  const record: CrmRecord = {
    ref: { system, object: list.name, id: row.id },
    kind: 'person',
    updatedAt: col('updatedAt') ?? new Date(list.mtimeMs).toISOString(),
    lastActivityAt: col('lastActivity'),
    canonical,
    fields: { ...row.values },
    consent: {
      marketingOptOut: optOut === null ? false : TRUTHY.has(optOut.toLowerCase()),
      legalBasis: col('legalBasis'),
    },
  };
  return record;
}

interface CsvCheckpoint {
  mtimeMs: number;
  size: number;
  /** Next row offset while a list is being read; null once the list was read to the end. */
  offset: number | null;
  /** When the snapshot being read started (kept across resumes of the same file version). */
  snapshotSince: string;
}

function parseCheckpoint(raw: unknown): CsvCheckpoint | null {
  const c = raw as Partial<CsvCheckpoint> | null;
  if (!c || typeof c.mtimeMs !== 'number' || typeof c.size !== 'number' || typeof c.snapshotSince !== 'string')
    return null;
  return {
    mtimeMs: c.mtimeMs,
    size: c.size,
    offset: typeof c.offset === 'number' ? c.offset : null,
    snapshotSince: c.snapshotSince,
  };
}

/** What an erase, update or opt-out does to one row: remove it, keep it unchanged, or a result of its own. */
type RowChange = (list: CsvList, row: CsvRow, ref: RecordRef) => RefResult | 'remove' | 'keep';

function groupByList(refs: RecordRef[]): Map<string, RecordRef[]> {
  const groups = new Map<string, RecordRef[]>();
  for (const ref of refs) groups.set(ref.object, [...(groups.get(ref.object) ?? []), ref]);
  return groups;
}

export default defineConnector({
  id: 'csv',
  title: 'CSV sales lists',
  core: '^0.1.0',
  options: CsvOptionsSchema,
  streams: (options): StreamDefinition[] =>
    listNames(options).map((name) => ({
      name,
      kind: 'person',
      title: `${name}${options.extension}`,
      fields: classify(options, readHeader(options, name)),
      cursor: 'timestamp',
      deletes: { kind: 'full-diff' },
    })),
  limits: { groups: { default: { intervalMs: 1000, intervalCap: 10_000, concurrency: 4 } } },
  capabilities: ['find', 'get', 'erase', 'verify', 'update', 'opt-out', 'check'],
  setup(options): ConnectorOperations {
    // Across processes the file lock (lock.ts) serialises rewrites. Inside one process they also queue
    // here, in order, so calls of the same process (parallel request chunks) wait for each other without
    // polling the file lock and without spending the bounded lock wait on their own siblings.
    const queues = new Map<string, Promise<unknown>>();
    const inTurn = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const run = (queues.get(name) ?? Promise.resolve()).then(fn, fn);
      queues.set(
        name,
        run.catch(() => undefined),
      );
      return run;
    };

    const mutate = (
      refs: RecordRef[],
      ctx: OperationContext,
      operation: string,
      change: RowChange,
    ): Promise<RefResult[]> =>
      Promise.all(
        [...groupByList(refs)].map(([name, group]) =>
          inTurn(name, async () => {
            ctx.signal.throwIfAborted();
            if (!listNames(options).includes(name))
              return group.map((ref) => ({ ref, outcome: 'already_gone' as const }));
            const where = { system: ctx.system, operation, list: name };
            return withListLock(options, listPath(options, name), where, (assertHeld) =>
              rewrite(name, group, change, assertHeld),
            );
          }),
        ),
      ).then((parts) => parts.flat());

    /** One read-modify-write cycle of a list; runs under the list's lock. */
    const rewrite = async (
      name: string,
      group: RecordRef[],
      change: RowChange,
      assertHeld: AssertLockHeld,
    ): Promise<RefResult[]> => {
      // Checked again under the lock: another process may have removed the list meanwhile.
      if (!existsSync(listPath(options, name))) return group.map((ref) => ({ ref, outcome: 'already_gone' as const }));
      const list = await readList(options, name);
      const byId = new Map(list.rows.map((r) => [r.id, r]));
      const results: RefResult[] = [];
      const remove = new Set<string>();
      let changed = false;
      for (const ref of group) {
        const row = byId.get(ref.id);
        if (!row) {
          results.push({ ref, outcome: 'already_gone' });
          continue;
        }
        const outcome = change(list, row, ref);
        if (outcome === 'remove') {
          remove.add(row.id);
          results.push({ ref, outcome: 'done' });
        } else if (outcome === 'keep') {
          results.push({ ref, outcome: 'done' });
        } else {
          results.push(outcome);
        }
        changed ||= outcome !== 'keep' && (outcome === 'remove' || outcome.outcome === 'done');
      }
      if (changed)
        await writeList(
          options,
          list,
          list.rows.filter((r) => !remove.has(r.id)),
          assertHeld,
        );
      return results;
    };

    const allRecords = async (ctx: OperationContext): Promise<CrmRecord[]> => {
      const out: CrmRecord[] = [];
      for (const name of listNames(options)) {
        const list = await readList(options, name);
        for (const row of list.rows) out.push(toRecord(ctx.system, list, row, options));
      }
      return out;
    };

    const matches = (record: CrmRecord, wanted: Set<string>): boolean =>
      identitiesOf(record.canonical).some((id) => wanted.has(`${id.kind}:${id.value}`)) ||
      wanted.has(`vendor_id:${record.ref.system}:${record.ref.object}:${record.ref.id}`);

    async function getRecords(refs: RecordRef[], ctx: OperationContext): Promise<(CrmRecord | null)[]> {
      const lists = new Map<string, CsvList | null>();
      const names = new Set(listNames(options));
      const out: (CrmRecord | null)[] = [];
      for (const ref of refs) {
        if (!lists.has(ref.object))
          lists.set(ref.object, names.has(ref.object) ? await readList(options, ref.object) : null);
        const list = lists.get(ref.object);
        const row = list?.rows.find((r) => r.id === ref.id);
        out.push(list && row ? toRecord(ctx.system, list, row, options) : null);
      }
      return out;
    }

    return {
      async *read(stream, checkpoint, ctx): AsyncIterable<Page> {
        const list = await readList(options, stream);
        const previous = parseCheckpoint(checkpoint);
        const sameVersion = previous !== null && previous.mtimeMs === list.mtimeMs && previous.size === list.size;
        if (sameVersion && previous.offset === null) return; // unchanged since the last complete read
        const snapshotSince = sameVersion ? previous.snapshotSince : ctx.now().toISOString();
        let offset = sameVersion ? (previous.offset ?? 0) : 0;
        do {
          ctx.signal.throwIfAborted();
          const rows = list.rows.slice(offset, offset + options.pageSize);
          offset += rows.length;
          const done = offset >= list.rows.length;
          const page: Page = {
            records: rows.map((row) => toRecord(ctx.system, list, row, options)),
            checkpoint: { mtimeMs: list.mtimeMs, size: list.size, offset: done ? null : offset, snapshotSince },
          };
          if (done) page.snapshotComplete = { since: snapshotSince };
          yield page;
        } while (offset < list.rows.length);
      },

      async find(identities: Identity[], ctx) {
        const wanted = new Set(identities.map((i) => `${i.kind}:${i.value}`));
        return (await allRecords(ctx)).filter((r) => matches(r, wanted));
      },

      get: getRecords,

      // Rewriting the file is already permanent: CSV lists have no recycle bin.
      erase: (refs, _eraseOptions, ctx) => mutate(refs, ctx, 'erase', () => 'remove'),

      async verifyErased(refs, identities, ctx) {
        const wanted = new Set(identities.map((i) => `${i.kind}:${i.value}`));
        const remaining = (await allRecords(ctx)).filter((r) => matches(r, wanted));
        const stillThere = new Set(remaining.map((r) => `${r.ref.object}\u0000${r.ref.id}`));
        const found = await getRecords(refs, ctx);
        const perRef = refs.map((ref, i) =>
          found[i] || stillThere.has(`${ref.object}\u0000${ref.id}`)
            ? { ref, outcome: 'failed' as const, reason: 'record still present in the list' }
            : { ref, outcome: 'done' as const },
        );
        // A row added after locate (or one locate missed) that the identities still match, under its own ref.
        return [...perRef, ...leftoverResults(refs, remaining)];
      },

      update(changes: FieldChange[], ctx) {
        const byRef = new Map(changes.map((c) => [`${c.ref.object}\u0000${c.ref.id}`, c]));
        return mutate(
          changes.map((c) => c.ref),
          ctx,
          'update',
          (list, row, ref) => {
            const change = byRef.get(`${ref.object}\u0000${ref.id}`)!;
            for (const [field, expected] of Object.entries(change.expected ?? {})) {
              if ((row.values[field] ?? '') !== (expected ?? '')) return { ref, outcome: 'failed', reason: 'conflict' };
            }
            for (const field of Object.keys(change.set)) {
              if (!list.header.includes(field))
                return { ref, outcome: 'failed', reason: `no column "${field}" in list` };
            }
            for (const [field, value] of Object.entries(change.set)) {
              row.values[field] = value === null ? '' : String(value);
            }
            return { ref, outcome: 'done' };
          },
        );
      },

      setMarketingOptOut(refs, ctx) {
        const column = options.columns.optOut;
        if (!column) {
          return Promise.resolve(
            refs.map((ref) => ({
              ref,
              outcome: 'failed' as const,
              reason: 'no opt-out column mapped (options.columns.optOut)',
            })),
          );
        }
        return mutate(refs, ctx, 'setMarketingOptOut', (list, row, ref) => {
          if (!list.header.includes(column)) return { ref, outcome: 'failed', reason: `no column "${column}" in list` };
          row.values[column] = 'true';
          return { ref, outcome: 'done' };
        });
      },

      async check() {
        const results = [];
        const names = listNames(options);
        results.push({ check: 'folder', ok: true, message: `${names.length} list(s) in ${options.dir}` });
        for (const name of names) {
          const header = readHeader(options, name);
          const missing = Object.entries(options.columns).filter(([, column]) => column && !header.includes(column));
          // Without an id or an identity column, rows can neither be tracked nor found for a request.
          const essential = missing.filter(([role]) => role === 'id' || role === 'email');
          results.push({
            check: `list ${name}`,
            ok: essential.length === 0,
            message:
              missing.length === 0
                ? 'all mapped columns present'
                : `mapped columns missing: ${missing.map(([role, column]) => `${role} -> "${column}"`).join(', ')}`,
          });
        }
        return results;
      },
    };
  },
});
