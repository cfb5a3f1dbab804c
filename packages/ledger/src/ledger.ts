/**
 * The Ledger on SQL, shared by PGlite and PostgreSQL. Batches travel as one jsonb parameter unpacked
 * with jsonb_to_recordset, so a page of a thousand records is a handful of statements, not thousands
 * (row-at-a-time inserts are ~25x slower on both backends).
 */
import { randomUUID } from 'node:crypto';
import type {
  AuditInput,
  Checkpoint,
  Duplication,
  DuplicationInput,
  IdentityKind,
  IndexEntry,
  IndexedRecord,
  Ledger,
  PageCommit,
  PageCommitResult,
  RecordRef,
  RequestRow,
  RequestTaskRow,
  RunRow,
  Severity,
  StreamKind,
  SystemRow,
  Violation,
  ViolationFilter,
  ViolationStatus,
} from '@custodian/core';
import { CustodianError, SEVERITIES } from '@custodian/core';
import { appendAudit, auditHead, listAudit, verifyAudit } from './audit.js';
import type { Db, Queryable } from './db.js';

const REFS = 'jsonb_to_recordset($1::jsonb) AS x(s text, o text, i text)';

/** Ids handed out per nextval of record_rid_blocks (its INCREMENT, migration 2). */
const RID_BLOCK = 1024;

/**
 * Statements of one transaction sent without waiting for their answers: the database (PGlite's thread or
 * the server) works through them in order while this thread prepares the next, instead of idling between
 * them. `around` waits for all of them at the end and throws the first failure, the real cause (a statement
 * after a failed one only reports that the transaction is aborted).
 */
class Pipeline {
  private readonly sent: Promise<unknown>[] = [];

  send(statement: Promise<unknown>): void {
    // Not unhandled while it waits: `around` awaits it.
    statement.catch(() => undefined);
    this.sent.push(statement);
  }

  async around<T>(work: () => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await work();
    } catch (err) {
      await Promise.all(this.sent);
      throw err;
    }
    await Promise.all(this.sent);
    return out;
  }
}
const refKey = (r: RecordRef) => `${r.system}\u0000${r.object}\u0000${r.id}`;
const refJson = (refs: RecordRef[]) => JSON.stringify(refs.map((r) => ({ s: r.system, o: r.object, i: r.id })));
const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString();

interface RecordRowDb {
  rid: unknown;
  system: string;
  object: string;
  record_id: string;
  kind: StreamKind;
  field_names: string[];
  updated_at: string | null;
  last_activity_at: string | null;
  marketing_opt_out: boolean | null;
  legal_basis: string | null;
  archived: boolean;
  fingerprint: string;
  first_seen: Date | string;
  last_seen: Date | string;
  deleted_at: Date | string | null;
}

const severityRank = (s: Severity) => SEVERITIES.indexOf(s);

/** Request fields a patch may set, with their column and SQL type. */
const REQUEST_COLUMNS: Record<string, [column: string, type: string]> = {
  state: ['state', 'text'],
  subjectKeys: ['subject_keys', 'text[]'],
  dueAt: ['due_at', 'timestamptz'],
  extendedDueAt: ['extended_due_at', 'timestamptz'],
  dryRun: ['dry_run', 'boolean'],
  params: ['params', 'jsonb'],
  result: ['result', 'jsonb'],
  error: ['error', 'text'],
};

/**
 * Patches to many requests: one UPDATE per distinct set of patched fields (a batch step patches every
 * request the same way, so usually one statement), the rows travelling as one jsonb parameter.
 */
async function updateRequests(
  q: Queryable,
  updates: { id: string; patch: Partial<Omit<RequestRow, 'id'>> }[],
): Promise<void> {
  const byShape = new Map<string, typeof updates>();
  for (const u of updates) {
    const shape = Object.keys(u.patch)
      .filter((k) => k in REQUEST_COLUMNS)
      .sort()
      .join(',');
    byShape.set(shape, [...(byShape.get(shape) ?? []), u]);
  }
  for (const [shape, group] of byShape) {
    const keys = shape ? shape.split(',') : [];
    const columns = keys.map((k) => REQUEST_COLUMNS[k]!);
    const sets = [...columns.map(([c]) => `${c} = x.${c}`), 'updated_at = now()'];
    const rows = group.map((u) => {
      const row: Record<string, unknown> = { id: u.id };
      for (const [i, k] of keys.entries()) row[columns[i]![0]] = (u.patch as Record<string, unknown>)[k] ?? null;
      return row;
    });
    await q.query(
      `UPDATE requests r SET ${sets.join(', ')}
       FROM jsonb_to_recordset($1::jsonb) AS x(id text${columns.map(([c, t]) => `, ${c} ${t}`).join('')})
       WHERE r.id = x.id`,
      [JSON.stringify(rows)],
    );
  }
}

export function createSqlLedger(db: Db, schema: string, tenant: string, now: () => Date = () => new Date()): Ledger {
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof CustodianError) throw cause;
      throw new CustodianError('CUSTODIAN_ERR_LEDGER_QUERY', `Ledger ${what} failed.`, { cause });
    }
  };

  async function hydrate(q: Queryable, rows: RecordRowDb[]): Promise<IndexedRecord[]> {
    if (rows.length === 0) return [];
    const refs = refJson(rows.map((r) => ({ system: r.system, object: r.object, id: r.record_id })));
    const [subjects, links] = await Promise.all([
      q.query<{ rid: unknown; subject_key: string; kind: IdentityKind }>(
        'SELECT rid, subject_key, kind FROM record_subjects WHERE rid = ANY($1::bigint[]) ORDER BY rid, ordinal',
        [rows.map((r) => r.rid)],
      ),
      q.query<{
        system: string;
        object: string;
        record_id: string;
        link_system: string;
        link_object: string;
        link_id: string;
      }>(`SELECT l.* FROM record_links l JOIN ${REFS} ON l.system = x.s AND l.object = x.o AND l.record_id = x.i`, [
        refs,
      ]),
    ]);
    const key = (s: string, o: string, i: string) => `${s}\u0000${o}\u0000${i}`;
    const subjectMap = new Map<string, IndexedRecord['subjects']>();
    for (const s of subjects) {
      const rid = String(s.rid);
      const list = subjectMap.get(rid) ?? [];
      list.push({ key: s.subject_key, kind: s.kind });
      subjectMap.set(rid, list);
    }
    const linkMap = new Map<string, RecordRef[]>();
    for (const l of links) {
      const k = key(l.system, l.object, l.record_id);
      linkMap.set(k, [...(linkMap.get(k) ?? []), { system: l.link_system, object: l.link_object, id: l.link_id }]);
    }
    return rows.map((r) => {
      const k = key(r.system, r.object, r.record_id);
      return {
        ref: { system: r.system, object: r.object, id: r.record_id },
        kind: r.kind,
        subjects: subjectMap.get(String(r.rid)) ?? [],
        fieldNames: r.field_names,
        links: linkMap.get(k) ?? [],
        updatedAt: r.updated_at,
        lastActivityAt: r.last_activity_at,
        marketingOptOut: r.marketing_opt_out,
        legalBasis: r.legal_basis,
        archived: r.archived,
        fingerprint: r.fingerprint,
        firstSeen: iso(r.first_seen)!,
        lastSeen: iso(r.last_seen)!,
        deletedAt: iso(r.deleted_at),
      };
    });
  }

  /** Rebuild the duplication rows of the given subjects: one row per live person copy beyond the first. */
  async function refreshDuplications(tx: Queryable, allKeys: string[], at: string): Promise<number> {
    if (allKeys.length === 0) return 0;
    // Syncs of several systems commit at once on a server, and their people overlap. One refresh at a time
    // per ledger, each reading what the others committed (a statement's snapshot starts after the lock):
    // otherwise two new copies of one person, committed together, never see each other, and two refreshes
    // updating the same rows in different orders deadlock. The wait is for the end of another page's commit.
    if (db.backend === 'postgres')
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`custodian-duplications:${schema}`]);
    // Most people have one record: only keys held by several live records, or with rows already, need work.
    const candidates = await tx.query<{ k: string }>(
      `SELECT subject_key AS k FROM record_subjects WHERE subject_key = ANY($1::text[]) GROUP BY subject_key HAVING count(*) > 1
       UNION
       SELECT subject_key FROM duplications WHERE subject_key = ANY($1::text[]) AND origin = 'sync' AND status = 'active'`,
      [allKeys],
    );
    const keys = candidates.map((c) => c.k);
    if (keys.length === 0) return 0;
    // Copies are linked by any identity they share (an email in one system, only the phone in another), and
    // each copy gets one row: under the first of its identities (by ordinal: email before phone) that an
    // earlier record holds too. So that the choice is the same whichever identities a page touched, every
    // identity of the records involved is ranked; they are read first, so that the statement below gets
    // them as a list, which the planner sizes right (inlined, it scanned whole tables).
    const scope = await tx.query<{ k: string }>(
      `SELECT DISTINCT own.subject_key AS k FROM record_subjects rs JOIN record_subjects own ON own.rid = rs.rid
       WHERE rs.subject_key = ANY($1::text[])`,
      [keys],
    );
    // One statement ranks the copies once and both writes from that ranking: rows that change are upserted
    // (most refreshes find every copy as it was; an active copy's last sighting is its record's, read with
    // the row), and rows whose copy is no longer a copy under that identity (the record is gone, lost the
    // identity, or is now linked under an earlier one) are marked gone. The rows looked at are those under
    // the keys here and those of the records involved, found through the indexes; EXCEPT keeps the last
    // step a set operation, never one scan of the chosen copies per row.
    const [refreshed] = await tx.query<{ added: number | string }>(
      `WITH live AS (
         SELECT DISTINCT ON (rs.subject_key, r.rid) rs.subject_key, rs.ordinal, r.rid, r.system, r.object, r.record_id,
                r.first_seen, r.field_names
         FROM record_subjects rs JOIN records r ON r.rid = rs.rid
         WHERE rs.subject_key = ANY($3::text[]) AND r.deleted_at IS NULL AND r.kind = 'person'
         ORDER BY rs.subject_key, r.rid, rs.ordinal
       ), ranked AS (
         SELECT live.*, row_number() OVER (PARTITION BY subject_key ORDER BY first_seen, system, object, record_id) AS rn
         FROM live
       ), held AS (
         SELECT DISTINCT rid, system, object, record_id FROM live WHERE subject_key = ANY($1::text[])
       ), chosen AS (
         -- Only the records involved: another holder's own identities were not all read.
         SELECT DISTINCT ON (rid) * FROM ranked WHERE rn > 1 AND rid IN (SELECT rid FROM held)
         ORDER BY rid, ordinal, subject_key
       ), upserted AS (
         INSERT INTO duplications (subject_key, source_system, source_object, source_id, copy_system, copy_object,
                                   copy_id, fields, purpose, legal_basis, origin, first_seen, last_seen, status)
         SELECT c.subject_key, s.system, s.object, s.record_id, c.system, c.object, c.record_id, c.field_names,
                NULLIF(array_to_string(sys.purposes, ','), ''), sys.legal_basis, 'sync', $2::timestamptz,
                $2::timestamptz, 'active'
         FROM chosen c JOIN ranked s ON s.subject_key = c.subject_key AND s.rn = 1
         LEFT JOIN systems sys ON sys.name = c.system
         WHERE NOT EXISTS (
           SELECT 1 FROM duplications d
           WHERE d.subject_key = c.subject_key AND d.copy_system = c.system AND d.copy_object = c.object
             AND d.copy_id = c.record_id AND d.origin = 'sync' AND d.status = 'active'
             AND d.source_system = s.system AND d.source_object = s.object AND d.source_id = s.record_id
             AND d.fields = c.field_names AND d.purpose IS NOT DISTINCT FROM NULLIF(array_to_string(sys.purposes, ','), '')
             AND d.legal_basis IS NOT DISTINCT FROM sys.legal_basis)
         ON CONFLICT (subject_key, copy_system, copy_object, copy_id, origin) DO UPDATE SET
           source_system = excluded.source_system, source_object = excluded.source_object, source_id = excluded.source_id,
           fields = excluded.fields, purpose = excluded.purpose, legal_basis = excluded.legal_basis,
           last_seen = excluded.last_seen, status = 'active'
         RETURNING (xmax = 0) AS inserted
       ), involved AS (
         SELECT d.subject_key, d.copy_system, d.copy_object, d.copy_id FROM duplications d
         WHERE d.subject_key = ANY($1::text[]) AND d.origin = 'sync' AND d.status = 'active'
         UNION
         SELECT d.subject_key, d.copy_system, d.copy_object, d.copy_id
         FROM held h JOIN duplications d ON d.copy_system = h.system AND d.copy_object = h.object AND d.copy_id = h.record_id
         WHERE d.origin = 'sync' AND d.status = 'active'
       ), gone AS (
         SELECT * FROM involved EXCEPT SELECT subject_key, system, object, record_id FROM chosen
       ), marked AS (
         UPDATE duplications d SET status = 'gone', last_seen = $2::timestamptz
         FROM gone g
         WHERE d.subject_key = g.subject_key AND d.copy_system = g.copy_system AND d.copy_object = g.copy_object
           AND d.copy_id = g.copy_id AND d.origin = 'sync'
       )
       SELECT count(*) FILTER (WHERE inserted) AS added FROM upserted`,
      [keys, at, scope.map((r) => r.k)],
    );
    return Number(refreshed?.added ?? 0);
  }

  async function subjectsOfRefs(tx: Queryable, refs: RecordRef[]): Promise<string[]> {
    if (refs.length === 0) return [];
    const rows = await tx.query<{ subject_key: string }>(
      `SELECT DISTINCT rs.subject_key FROM records r JOIN ${REFS} ON r.system = x.s AND r.object = x.o AND r.record_id = x.i
       JOIN record_subjects rs ON rs.rid = r.rid`,
      [refJson(refs)],
    );
    return rows.map((r) => r.subject_key);
  }

  const toViolation = (r: {
    system: string;
    object: string;
    record_id: string;
    policy: string;
    rule: string;
    field: string;
    severity: Severity;
    evidence: string;
    subject_key: string | null;
    first_seen: Date | string;
    last_seen: Date | string;
    status: ViolationStatus;
  }): Violation => ({
    rule: r.rule,
    policy: r.policy,
    severity: r.severity,
    ref: { system: r.system, object: r.object, id: r.record_id },
    field: r.field === '' ? null : r.field,
    evidence: r.evidence,
    subjectKey: r.subject_key,
    firstSeen: iso(r.first_seen)!,
    lastSeen: iso(r.last_seen)!,
    status: r.status,
  });

  const violationWhere = (filter: ViolationFilter): { where: string; params: unknown[] } => {
    const parts: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      parts.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.rule) add('rule = ?', filter.rule);
    if (filter.system) add('system = ?', filter.system);
    if (filter.severity) add('severity = ?', filter.severity);
    if (filter.minSeverity)
      add(
        'severity = ANY(?::text[])',
        SEVERITIES.filter((s) => severityRank(s) >= severityRank(filter.minSeverity!)),
      );
    if (filter.status) add('status = ?', filter.status);
    return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  };

  const toRequest = (r: Record<string, unknown>): RequestRow => ({
    id: r.id as string,
    kind: r.kind as RequestRow['kind'],
    jurisdiction: r.jurisdiction as RequestRow['jurisdiction'],
    state: r.state as RequestRow['state'],
    subjectKeys: r.subject_keys as string[],
    receivedAt: iso(r.received_at)!,
    dueAt: iso(r.due_at)!,
    extendedDueAt: iso(r.extended_due_at),
    dryRun: r.dry_run as boolean,
    params: r.params as Record<string, unknown>,
    result: r.result as Record<string, unknown>,
    updatedAt: iso(r.updated_at)!,
    error: (r.error as string | null) ?? null,
  });

  const toTask = (r: Record<string, unknown>): RequestTaskRow => ({
    requestId: r.request_id as string,
    step: r.step as string,
    ref: { system: r.system as string, object: r.object as string, id: r.record_id as string },
    action: r.action as string,
    state: r.state as RequestTaskRow['state'],
    attempts: Number(r.attempts),
    reason: (r.reason as string | null) ?? null,
    updatedAt: iso(r.updated_at)!,
  });

  /** A record's subjects as stored: one row per distinct key, numbered in the record's own order (0 = primary). */
  const subjectRows = (r: IndexEntry): { key: string; kind: string; ord: number }[] => {
    const out: { key: string; kind: string; ord: number }[] = [];
    const seen = new Set<string>();
    for (const s of r.subjects) {
      if (seen.has(s.key)) continue;
      seen.add(s.key);
      out.push({ key: s.key, kind: s.kind, ord: out.length });
    }
    return out;
  };
  const subjectSignature = (list: { key: string; kind: string; ord: number }[]) =>
    list
      .map((x) => `${x.key}\u0001${x.kind}\u0001${x.ord}`)
      .sort()
      .join('\u0002');
  /** The record columns of a batch as parallel arrays, the order both the insert and the update unnest them. */
  const recordColumns = (list: IndexEntry[]) => [
    list.map((r) => r.kind),
    list.map((r) => JSON.stringify(r.fieldNames)),
    list.map((r) => r.updatedAt),
    list.map((r) => r.lastActivityAt),
    list.map((r) => r.marketingOptOut),
    list.map((r) => r.legalBasis),
    list.map((r) => r.archived),
    list.map((r) => r.fingerprint),
  ];
  const RECORD_COLUMN_TYPES = ['text', 'jsonb', 'text', 'text', 'boolean', 'text', 'boolean', 'text'];
  /** `$n::type[]` placeholders for recordColumns, numbered from `first`. */
  const recordColumnParams = (first: number) => RECORD_COLUMN_TYPES.map((t, j) => `$${first + j}::${t}[]`).join(', ');

  /** Index a page's records: new ones inserted, known ones updated, subject rows rewritten where they changed. */
  async function indexRecords(
    tx: Queryable,
    records: IndexEntry[],
    at: string,
    result: PageCommitResult,
    pipeline: Pipeline,
  ) {
    const touchedKeys = new Set<string>();
    // One primary-key range probe per (system, object) -- a page is one stream, so normally one query: a
    // `record_id = ANY(...)` index scan costs a quarter of a join against a record set when most ids are new.
    const idsByStream = new Map<string, { system: string; object: string; ids: string[] }>();
    for (const r of records) {
      const k = `${r.ref.system}\u0000${r.ref.object}`;
      const group = idsByStream.get(k) ?? { system: r.ref.system, object: r.ref.object, ids: [] };
      group.ids.push(r.ref.id);
      idsByStream.set(k, group);
    }
    // Statements that do not wait for each other's answers are sent together: the database works through
    // them while this thread prepares the next, instead of waiting for it between them. Ids for new records
    // are drawn for the whole page up front (a block is 1,024 ids of a bigint; unused ones cost nothing).
    const [groups, blocks] = await Promise.all([
      Promise.all(
        [...idsByStream.values()].map((group) =>
          tx.query<{ s: string; o: string; i: string; rid: unknown; fp: string; d: boolean }>(
            `SELECT r.system AS s, r.object AS o, r.record_id AS i, r.rid, r.fingerprint AS fp, r.deleted_at IS NOT NULL AS d
             FROM records r WHERE r.system = $1 AND r.object = $2 AND r.record_id = ANY($3::text[])`,
            [group.system, group.object, group.ids],
          ),
        ),
      ),
      tx.query<{ b: unknown }>("SELECT nextval('record_rid_blocks') AS b FROM generate_series(1, $1::int)", [
        Math.ceil(records.length / RID_BLOCK),
      ]),
    ]);
    const existing = groups.flat();
    const known = new Map(existing.map((e) => [refKey({ system: e.s, object: e.o, id: e.i }), e]));
    const fresh: IndexEntry[] = [];
    const seenBefore: { entry: IndexEntry; rid: string; changed: boolean }[] = [];
    for (const r of records) {
      const e = known.get(refKey(r.ref));
      if (!e) {
        result.inserted++;
        fresh.push(r);
      } else {
        const changed = e.fp !== r.fingerprint || e.d;
        if (changed) result.updated++;
        else result.unchanged++;
        seenBefore.push({ entry: r, rid: String(e.rid), changed });
      }
    }
    const ridOf = new Map<IndexEntry, string>(seenBefore.map((s) => [s.entry, s.rid]));
    const send = (statement: Promise<unknown>) => pipeline.send(statement);
    if (fresh.length > 0) {
      fresh.forEach((r, j) => {
        ridOf.set(r, String(Number(blocks[Math.floor(j / RID_BLOCK)]!.b) + (j % RID_BLOCK)));
      });
      // A plain insert, not an upsert: the select above found none of these, one system is synced by one worker
      // at a time, and ON CONFLICT's speculative insertion nearly doubles the cost of the statement.
      send(
        tx.query(
          `INSERT INTO records (rid, system, object, record_id, kind, field_names, updated_at, last_activity_at,
                              marketing_opt_out, legal_basis, archived, fingerprint, first_seen, last_seen)
         SELECT rid, s, o, i, k, f, u, a, m, l, ar, fp, $12::timestamptz, $12::timestamptz
         FROM unnest($13::bigint[], $1::text[], $2::text[], $3::text[], ${recordColumnParams(4)})
           AS x(rid, s, o, i, k, f, u, a, m, l, ar, fp)`,
          [
            fresh.map((r) => r.ref.system),
            fresh.map((r) => r.ref.object),
            fresh.map((r) => r.ref.id),
            ...recordColumns(fresh),
            at,
            fresh.map((r) => ridOf.get(r)!),
          ],
        ),
      );
    }
    const changed = seenBefore.filter((s) => s.changed);
    if (changed.length > 0) {
      // Changed (or revived) records take the page's values; the numeric id makes this an integer-key join.
      send(
        tx.query(
          `UPDATE records r SET kind = x.k, field_names = x.f, updated_at = x.u, last_activity_at = x.a,
           marketing_opt_out = x.m, legal_basis = x.l, archived = x.ar, fingerprint = x.fp,
           last_seen = $10::timestamptz, deleted_at = NULL
         FROM unnest($1::bigint[], ${recordColumnParams(2)}) AS x(rid, k, f, u, a, m, l, ar, fp)
         WHERE r.rid = x.rid`,
          [changed.map((s) => s.rid), ...recordColumns(changed.map((s) => s.entry)), at],
        ),
      );
    }
    const unchanged = seenBefore.filter((s) => !s.changed);
    if (unchanged.length > 0) {
      // An incremental resync mostly re-reads identical records: only the time they were last seen moves.
      send(
        tx.query('UPDATE records SET last_seen = $2::timestamptz WHERE rid = ANY($1::bigint[])', [
          unchanged.map((s) => s.rid),
          at,
        ]),
      );
    }
    // Records seen before may have changed identities: rewrite the subject rows of those whose set of
    // (key, kind, ordinal) differs; an incremental resync mostly re-reads identical records, so skip them.
    const rewrite: IndexEntry[] = [...fresh];
    if (seenBefore.length > 0) {
      const stored = await tx.query<{ rid: unknown; k: string; kind: string; ord: number }>(
        'SELECT rid, subject_key AS k, kind, ordinal AS ord FROM record_subjects WHERE rid = ANY($1::bigint[])',
        [seenBefore.map((s) => s.rid)],
      );
      const storedByRid = new Map<string, { key: string; kind: string; ord: number }[]>();
      for (const row of stored) {
        const rid = String(row.rid);
        const list = storedByRid.get(rid) ?? [];
        list.push({ key: row.k, kind: row.kind, ord: Number(row.ord) });
        storedByRid.set(rid, list);
        touchedKeys.add(row.k);
      }
      const stale = seenBefore.filter(
        (s) => subjectSignature(storedByRid.get(s.rid) ?? []) !== subjectSignature(subjectRows(s.entry)),
      );
      if (stale.length > 0) {
        send(tx.query('DELETE FROM record_subjects WHERE rid = ANY($1::bigint[])', [stale.map((s) => s.rid)]));
        for (const s of stale) rewrite.push(s.entry);
      }
    }
    for (const r of records) for (const x of r.subjects) touchedKeys.add(x.key);
    const subjects = rewrite.flatMap((r) => subjectRows(r).map((x) => ({ rid: ridOf.get(r)!, ...x })));
    if (subjects.length > 0) {
      send(
        tx.query(
          `INSERT INTO record_subjects (rid, ordinal, subject_key, kind)
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[])`,
          [
            subjects.map((x) => x.rid),
            subjects.map((x) => x.ord),
            subjects.map((x) => x.key),
            subjects.map((x) => x.kind),
          ],
        ),
      );
    }
    return touchedKeys;
  }

  const commitPageTx = (page: PageCommit): Promise<PageCommitResult> =>
    db.transaction(async (tx): Promise<PageCommitResult> => {
      const at = page.at;
      const result: PageCommitResult = { inserted: 0, updated: 0, unchanged: 0, deleted: 0, duplicationsAdded: 0 };
      const touchedKeys = new Set<string>();
      const pipeline = new Pipeline();
      // Sent now, answered in order: nothing below reads it.
      pipeline.send(
        tx.query(
          `INSERT INTO checkpoints (system, stream, checkpoint, updated_at) VALUES ($1, $2, $3::jsonb, $4::timestamptz)
             ON CONFLICT (system, stream) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
          [page.system, page.stream, JSON.stringify(page.checkpoint), at],
        ),
      );
      return pipeline.around(async () => {
        if (page.records.length > 0) {
          for (const k of await indexRecords(tx, page.records, at, result, pipeline)) touchedKeys.add(k);
          const withLinks = page.records.filter((r) => r.links.length > 0);
          if (withLinks.length > 0) {
            await tx.query(
              `DELETE FROM record_links l USING ${REFS} WHERE l.system = x.s AND l.object = x.o AND l.record_id = x.i`,
              [refJson(withLinks.map((r) => r.ref))],
            );
            await tx.query(
              `INSERT INTO record_links (system, object, record_id, link_system, link_object, link_id)
                 SELECT x.s, x.o, x.i, x.ls, x.lo, x.li FROM jsonb_to_recordset($1::jsonb) AS x(s text, o text, i text, ls text, lo text, li text)
                 ON CONFLICT DO NOTHING`,
              [
                JSON.stringify(
                  withLinks.flatMap((r) =>
                    r.links.map((l) => ({
                      s: r.ref.system,
                      o: r.ref.object,
                      i: r.ref.id,
                      ls: l.system,
                      lo: l.object,
                      li: l.id,
                    })),
                  ),
                ),
              ],
            );
          }
        }
        if (page.deleted.length > 0) {
          const marked = await tx.query<{ record_id: string }>(
            `UPDATE records r SET deleted_at = COALESCE(x.d::timestamptz, $2::timestamptz), archived = (x.st = 'archived'), last_seen = $2::timestamptz
               FROM jsonb_to_recordset($1::jsonb) AS x(s text, o text, i text, st text, d text)
               WHERE r.system = x.s AND r.object = x.o AND r.record_id = x.i AND r.deleted_at IS NULL
               RETURNING r.record_id`,
            [
              JSON.stringify(
                page.deleted.map((d) => ({
                  s: d.ref.system,
                  o: d.ref.object,
                  i: d.ref.id,
                  st: d.state,
                  d: d.deletedAt,
                })),
              ),
              at,
            ],
          );
          result.deleted = marked.length;
          for (const k of await subjectsOfRefs(
            tx,
            page.deleted.map((d) => d.ref),
          ))
            touchedKeys.add(k);
        }
        if (page.violations.length > 0) {
          await tx.query(
            `INSERT INTO violations (system, object, record_id, policy, rule, field, severity, evidence, subject_key, first_seen, last_seen, last_run, status)
               SELECT x.s, x.o, x.i, x.p, x.r, x.f, x.sev, x.ev, x.sk, $2::timestamptz, $2::timestamptz, $3, 'open'
               FROM jsonb_to_recordset($1::jsonb) AS x(s text, o text, i text, p text, r text, f text, sev text, ev text, sk text)
               ON CONFLICT (system, object, record_id, policy, rule, field) DO UPDATE SET
                 severity = excluded.severity, evidence = excluded.evidence, subject_key = excluded.subject_key,
                 last_seen = excluded.last_seen, last_run = excluded.last_run,
                 status = CASE WHEN violations.status = 'waived' THEN 'waived' ELSE 'open' END`,
            [
              JSON.stringify(
                // One violation per key: the same finding twice in a page must not fail the upsert.
                [
                  ...new Map(
                    page.violations.map((v) => [
                      `${v.ref.system}\u0000${v.ref.object}\u0000${v.ref.id}\u0000${v.policy}\u0000${v.rule}\u0000${v.field ?? ''}`,
                      {
                        s: v.ref.system,
                        o: v.ref.object,
                        i: v.ref.id,
                        p: v.policy,
                        r: v.rule,
                        f: v.field ?? '',
                        sev: v.severity,
                        ev: v.evidence,
                        sk: v.subjectKey,
                      },
                    ]),
                  ).values(),
                ],
              ),
              at,
              page.runId,
            ],
          );
        }
        // Last: on a server it takes the ledger's duplication lock, held until the commit right after.
        result.duplicationsAdded = await refreshDuplications(tx, [...touchedKeys], at);
        return result;
      });
    });

  // PGlite has no autovacuum, and a fresh PostgreSQL table has no statistics yet: without them the planner
  // picks sequential scans and every page gets slower than the last. Analyze early and then now and then.
  let commits = 0;
  let nextAnalyze = 1;
  const maybeAnalyze = async () => {
    commits++;
    if (commits < nextAnalyze) return;
    nextAnalyze = Math.min(nextAnalyze * 4, commits + 256);
    // The planner needs only rough sizes and distinct counts to prefer index scans: a sample of 3,000 rows
    // (statistics target 10) instead of 30,000 keeps the pause small as the tables grow.
    await db.exec(
      'SET default_statistics_target = 10; ANALYZE records; ANALYZE record_subjects; ANALYZE duplications; ANALYZE violations; ANALYZE record_links; RESET default_statistics_target;',
    );
  };

  const ledger: Ledger = {
    backend: db.backend,
    tenant,
    close: () => db.close(),

    upsertSystems: (systems) =>
      wrap('upsertSystems', async () => {
        await db.query(
          `INSERT INTO systems (name, connector, purposes, legal_basis)
           SELECT x.name, x.connector, ARRAY(SELECT jsonb_array_elements_text(x.purposes)), x.legal_basis
           FROM jsonb_to_recordset($1::jsonb) AS x(name text, connector text, purposes jsonb, legal_basis text)
           ON CONFLICT (name) DO UPDATE SET connector = excluded.connector, purposes = excluded.purposes,
             legal_basis = excluded.legal_basis, updated_at = now()`,
          [
            JSON.stringify(
              systems.map((s) => ({
                name: s.name,
                connector: s.connector,
                purposes: s.purposes,
                legal_basis: s.legalBasis,
              })),
            ),
          ],
        );
      }),
    listSystems: () =>
      wrap('listSystems', async () =>
        (
          await db.query<{
            name: string;
            connector: string;
            purposes: string[];
            legal_basis: string | null;
            paused_until: unknown;
          }>('SELECT * FROM systems ORDER BY name')
        ).map(
          (r): SystemRow => ({
            name: r.name,
            connector: r.connector,
            purposes: r.purposes,
            legalBasis: r.legal_basis,
            pausedUntil: iso(r.paused_until),
          }),
        ),
      ),
    setSystemPause: (system, until) =>
      wrap('setSystemPause', async () => {
        await db.query(
          `INSERT INTO systems (name, connector, paused_until) VALUES ($1, 'unknown', $2)
           ON CONFLICT (name) DO UPDATE SET paused_until = excluded.paused_until`,
          [system, until],
        );
      }),

    getCheckpoint: (system, stream) =>
      wrap('getCheckpoint', async () => {
        const [row] = await db.query<{ checkpoint: Checkpoint }>(
          'SELECT checkpoint FROM checkpoints WHERE system = $1 AND stream = $2',
          [system, stream],
        );
        return row?.checkpoint ?? null;
      }),
    resetCheckpoints: (system) =>
      wrap('resetCheckpoints', async () => {
        await db.query('DELETE FROM checkpoints WHERE system = $1', [system]);
      }),

    commitPage: (page: PageCommit) =>
      wrap('commitPage', async () => {
        const committed = await commitPageTx(page);
        await maybeAnalyze();
        return committed;
      }),
    startRun: (run) =>
      wrap('startRun', async () => {
        const id = `run_${now()
          .toISOString()
          .replace(/[-:.TZ]/g, '')
          .slice(0, 14)}_${randomUUID().slice(0, 8)}`;
        await db.query(`INSERT INTO runs (id, kind, system, status, started_at) VALUES ($1, $2, $3, 'running', $4)`, [
          id,
          run.kind,
          run.system,
          now().toISOString(),
        ]);
        return id;
      }),
    finishRun: (id, status, stats, error = null) =>
      wrap('finishRun', async () => {
        await db.query('UPDATE runs SET status = $2, stats = $3::jsonb, error = $4, finished_at = $5 WHERE id = $1', [
          id,
          status,
          JSON.stringify(stats),
          error,
          now().toISOString(),
        ]);
      }),
    finishStream: ({ runId, system, stream, since, full }) =>
      wrap('finishStream', () =>
        db.transaction(async (tx) => {
          const at = now().toISOString();
          let markedGone = 0;
          if (full) {
            const gone = await tx.query<{ record_id: string }>(
              `UPDATE records SET deleted_at = $4::timestamptz
               WHERE system = $1 AND object = $2 AND deleted_at IS NULL AND last_seen < $3::timestamptz RETURNING record_id`,
              [system, stream, since, at],
            );
            markedGone = gone.length;
            if (markedGone > 0) {
              const keys = await subjectsOfRefs(
                tx,
                gone.map((g) => ({ system, object: stream, id: g.record_id })),
              );
              await refreshDuplications(tx, keys, at);
            }
          }
          // Only records read in this run (or gone) can have their violations resolved: an incremental run
          // that did not re-read a record has not re-checked it.
          const resolved = await tx.query<{ record_id: string }>(
            `UPDATE violations v SET status = 'resolved', last_seen = $5::timestamptz
             FROM records r
             WHERE v.system = $1 AND v.object = $2 AND v.status = 'open' AND v.last_run <> $3
               AND r.system = v.system AND r.object = v.object AND r.record_id = v.record_id
               AND (r.last_seen >= $4::timestamptz OR r.deleted_at IS NOT NULL)
             RETURNING v.record_id`,
            [system, stream, runId, since, at],
          );
          return { resolved: resolved.length, markedGone };
        }),
      ),
    listRuns: (limit = 50) =>
      wrap('listRuns', async () =>
        (
          await db.query<Record<string, unknown>>('SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT $1', [
            limit,
          ])
        ).map(
          (r): RunRow => ({
            id: r.id as string,
            kind: r.kind as RunRow['kind'],
            system: (r.system as string | null) ?? null,
            status: r.status as RunRow['status'],
            startedAt: iso(r.started_at)!,
            finishedAt: iso(r.finished_at),
            stats: r.stats as Record<string, number>,
            error: (r.error as string | null) ?? null,
          }),
        ),
      ),

    recordsBySubject: (keys) =>
      wrap('recordsBySubject', async () => {
        if (keys.length === 0) return [];
        const rows = await db.query<RecordRowDb>(
          `SELECT DISTINCT r.* FROM records r JOIN record_subjects rs ON rs.rid = r.rid
           WHERE rs.subject_key = ANY($1::text[]) ORDER BY r.system, r.object, r.record_id`,
          [keys],
        );
        return hydrate(db, rows);
      }),
    recordsByRef: (refs) =>
      wrap('recordsByRef', async () => {
        if (refs.length === 0) return [];
        const rows = await db.query<RecordRowDb>(
          `SELECT r.* FROM records r JOIN ${REFS} ON r.system = x.s AND r.object = x.o AND r.record_id = x.i`,
          [refJson(refs)],
        );
        return hydrate(db, rows);
      }),
    recordsLinkedTo: (refs) =>
      wrap('recordsLinkedTo', async () => {
        if (refs.length === 0) return [];
        const rows = await db.query<RecordRowDb>(
          `SELECT DISTINCT r.* FROM records r JOIN record_links l USING (system, object, record_id)
           JOIN ${REFS} ON l.link_system = x.s AND l.link_object = x.o AND l.link_id = x.i`,
          [refJson(refs)],
        );
        return hydrate(db, rows);
      }),
    countRecords: (system) =>
      wrap('countRecords', async () => {
        const [row] = system
          ? await db.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM records WHERE system = $1 AND deleted_at IS NULL',
              [system],
            )
          : await db.query<{ n: number }>('SELECT count(*)::int AS n FROM records WHERE deleted_at IS NULL');
        return Number(row?.n ?? 0);
      }),
    markErased: (refs, at) =>
      wrap('markErased', () =>
        db.transaction(async (tx) => {
          if (refs.length === 0) return;
          const json = refJson(refs);
          await tx.query(
            `UPDATE records r SET deleted_at = $2::timestamptz FROM ${REFS} WHERE r.system = x.s AND r.object = x.o AND r.record_id = x.i AND r.deleted_at IS NULL`,
            [json, at],
          );
          await tx.query(
            `UPDATE duplications d SET status = 'erased', last_seen = $2::timestamptz FROM ${REFS}
             WHERE d.copy_system = x.s AND d.copy_object = x.o AND d.copy_id = x.i AND d.status <> 'erased'`,
            [json, at],
          );
        }),
      ),

    detachSubjects: (detach) =>
      wrap('detachSubjects', () =>
        db.transaction(async (tx) => {
          const keys = detach.flatMap((d) =>
            d.subjectKeys.map((k) => ({ s: d.ref.system, o: d.ref.object, i: d.ref.id, k })),
          );
          const links = detach.flatMap((d) =>
            d.links.map((l) => ({
              s: d.ref.system,
              o: d.ref.object,
              i: d.ref.id,
              ls: l.system,
              lo: l.object,
              li: l.id,
            })),
          );
          if (keys.length > 0)
            await tx.query(
              `DELETE FROM record_subjects rs USING records r, jsonb_to_recordset($1::jsonb) AS x(s text, o text, i text, k text)
               WHERE rs.rid = r.rid AND r.system = x.s AND r.object = x.o AND r.record_id = x.i AND rs.subject_key = x.k`,
              [JSON.stringify(keys)],
            );
          if (links.length > 0)
            await tx.query(
              `DELETE FROM record_links l
               USING jsonb_to_recordset($1::jsonb) AS x(s text, o text, i text, ls text, lo text, li text)
               WHERE l.system = x.s AND l.object = x.o AND l.record_id = x.i
                 AND l.link_system = x.ls AND l.link_object = x.lo AND l.link_id = x.li`,
              [JSON.stringify(links)],
            );
        }),
      ),

    duplicationsBySubject: (keys) =>
      wrap('duplicationsBySubject', async () => {
        if (keys.length === 0) return [];
        const rows = await db.query<Record<string, unknown>>(
          `SELECT d.*, CASE WHEN d.origin = 'sync' AND d.status = 'active' AND r.last_seen > d.last_seen
                            THEN r.last_seen ELSE d.last_seen END AS seen
           FROM duplications d
           LEFT JOIN records r ON r.system = d.copy_system AND r.object = d.copy_object AND r.record_id = d.copy_id
           WHERE d.subject_key = ANY($1::text[]) ORDER BY d.first_seen, d.copy_system`,
          [keys],
        );
        return rows.map(
          (r): Duplication => ({
            subjectKey: r.subject_key as string,
            source: { system: r.source_system as string, object: r.source_object as string, id: r.source_id as string },
            copy: { system: r.copy_system as string, object: r.copy_object as string, id: r.copy_id as string },
            fields: r.fields as string[],
            purpose: (r.purpose as string | null) ?? null,
            legalBasis: (r.legal_basis as string | null) ?? null,
            origin: r.origin as Duplication['origin'],
            firstSeen: iso(r.first_seen)!,
            lastSeen: iso(r.seen)!,
            status: r.status as Duplication['status'],
          }),
        );
      }),
    recordDuplication: (d: DuplicationInput) =>
      wrap('recordDuplication', async () => {
        const at = now().toISOString();
        await db.query(
          `INSERT INTO duplications (subject_key, source_system, source_object, source_id, copy_system, copy_object, copy_id,
                                     fields, purpose, legal_basis, origin, note, first_seen, last_seen, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $13, 'active')
           ON CONFLICT (subject_key, copy_system, copy_object, copy_id, origin) DO UPDATE SET last_seen = excluded.last_seen, status = 'active', fields = excluded.fields`,
          [
            d.subjectKey,
            d.source.system,
            d.source.object,
            d.source.id,
            d.copy.system,
            d.copy.object,
            d.copy.id,
            JSON.stringify(d.fields),
            d.purpose,
            d.legalBasis,
            d.origin,
            d.note ?? null,
            at,
          ],
        );
      }),
    duplicationSummary: () =>
      wrap('duplicationSummary', async () =>
        (
          await db.query<{ system: string; copies: number; subjects: number }>(
            `SELECT copy_system AS system, count(*)::int AS copies, count(DISTINCT subject_key)::int AS subjects
             FROM duplications WHERE status = 'active' GROUP BY copy_system ORDER BY copy_system`,
          )
        ).map((r) => ({ system: r.system, copies: Number(r.copies), subjects: Number(r.subjects) })),
      ),

    listViolations: (filter = {}) =>
      wrap('listViolations', async () => {
        const { where, params } = violationWhere(filter);
        params.push(filter.limit ?? 1000);
        const rows = await db.query<Parameters<typeof toViolation>[0]>(
          `SELECT * FROM violations ${where}
           ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, rule, system, object, record_id
           LIMIT $${params.length}`,
          params,
        );
        return rows.map(toViolation);
      }),
    countViolations: (filter = {}) =>
      wrap('countViolations', async () => {
        const { where, params } = violationWhere(filter);
        const rows = await db.query<{ rule: string; severity: Severity; n: number }>(
          `SELECT rule, severity, count(*)::int AS n FROM violations ${where} GROUP BY rule, severity ORDER BY rule, severity`,
          params,
        );
        return rows.map((r) => ({ rule: r.rule, severity: r.severity, count: Number(r.n) }));
      }),
    setViolationStatus: (ref, rule, status) =>
      wrap('setViolationStatus', async () => {
        await db.query(
          'UPDATE violations SET status = $5 WHERE system = $1 AND object = $2 AND record_id = $3 AND rule = $4',
          [ref.system, ref.object, ref.id, rule, status],
        );
      }),

    addTombstones: (tombstones) =>
      wrap('addTombstones', async () => {
        if (tombstones.length === 0) return;
        await db.query(
          `INSERT INTO tombstones (subject_key, request_id) SELECT k, r FROM unnest($1::text[], $2::text[]) AS t(k, r)
           ON CONFLICT (subject_key) DO NOTHING`,
          [tombstones.map((t) => t.subjectKey), tombstones.map((t) => t.requestId)],
        );
      }),
    tombstonesFor: (keys) =>
      wrap('tombstonesFor', async () => {
        if (keys.length === 0) return new Set<string>();
        const rows = await db.query<{ subject_key: string }>(
          'SELECT subject_key FROM tombstones WHERE subject_key = ANY($1::text[])',
          [keys],
        );
        return new Set(rows.map((r) => r.subject_key));
      }),

    createRequest: (row) =>
      wrap('createRequest', async () => {
        await db.query(
          `INSERT INTO requests (id, kind, jurisdiction, state, subject_keys, received_at, due_at, extended_due_at, dry_run, params, result, error)
           VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)`,
          [
            row.id,
            row.kind,
            row.jurisdiction,
            row.state,
            row.subjectKeys,
            row.receivedAt,
            row.dueAt,
            row.extendedDueAt,
            row.dryRun,
            JSON.stringify(row.params),
            JSON.stringify(row.result),
            row.error,
          ],
        );
      }),
    updateRequest: (id, patch) => wrap('updateRequest', () => updateRequests(db, [{ id, patch }])),
    updateRequests: (updates) => wrap('updateRequests', () => db.transaction((tx) => updateRequests(tx, updates))),
    getRequest: (id) =>
      wrap('getRequest', async () => {
        const [row] = await db.query<Record<string, unknown>>('SELECT * FROM requests WHERE id = $1', [id]);
        return row ? toRequest(row) : null;
      }),
    getRequests: (ids) =>
      wrap('getRequests', async () => {
        if (ids.length === 0) return [];
        const rows = await db.query<Record<string, unknown>>('SELECT * FROM requests WHERE id = ANY($1::text[])', [
          ids,
        ]);
        const byId = new Map(rows.map((r) => [r.id as string, toRequest(r)]));
        return ids.map((id) => byId.get(id) ?? null);
      }),
    listRequests: (filter = {}) =>
      wrap('listRequests', async () => {
        const rows = await db.query<Record<string, unknown>>(
          `SELECT * FROM requests ${filter.open ? "WHERE state NOT IN ('completed', 'failed')" : ''} ORDER BY received_at, id`,
        );
        return rows.map(toRequest);
      }),
    upsertTasks: (tasks) =>
      wrap('upsertTasks', async () => {
        if (tasks.length === 0) return;
        await db.query(
          `INSERT INTO request_tasks (request_id, step, system, object, record_id, action, state, reason)
           SELECT x.rq, x.st, x.s, x.o, x.i, x.a, x.state, x.reason
           FROM jsonb_to_recordset($1::jsonb) AS x(rq text, st text, s text, o text, i text, a text, state text, reason text)
           ON CONFLICT (request_id, step, system, object, record_id) DO UPDATE SET
             action = excluded.action, state = excluded.state, reason = excluded.reason, updated_at = now()`,
          [
            JSON.stringify(
              [
                ...new Map(
                  tasks.map((t) => [
                    `${t.requestId}\u0000${t.step}\u0000${t.ref.system}\u0000${t.ref.object}\u0000${t.ref.id}`,
                    t,
                  ]),
                ).values(),
              ].map((t) => ({
                rq: t.requestId,
                st: t.step,
                s: t.ref.system,
                o: t.ref.object,
                i: t.ref.id,
                a: t.action,
                state: t.state,
                reason: t.reason,
              })),
            ),
          ],
        );
      }),
    updateTask: (requestId, step, ref, patch) =>
      wrap('updateTask', async () => {
        await db.query(
          `UPDATE request_tasks SET state = COALESCE($6, state), reason = CASE WHEN $7::boolean THEN $8 ELSE reason END,
             attempts = attempts + CASE WHEN $6 = 'running' THEN 1 ELSE 0 END, updated_at = now()
           WHERE request_id = $1 AND step = $2 AND system = $3 AND object = $4 AND record_id = $5`,
          [
            requestId,
            step,
            ref.system,
            ref.object,
            ref.id,
            patch.state ?? null,
            'reason' in patch,
            patch.reason ?? null,
          ],
        );
      }),
    tasksByRequest: (requestIds, step) =>
      wrap('tasksByRequest', async () => {
        const out = new Map<string, RequestTaskRow[]>(requestIds.map((id) => [id, []]));
        if (requestIds.length === 0) return out;
        const rows = step
          ? await db.query<Record<string, unknown>>(
              'SELECT * FROM request_tasks WHERE request_id = ANY($1::text[]) AND step = $2 ORDER BY request_id, system, object, record_id',
              [requestIds, step],
            )
          : await db.query<Record<string, unknown>>(
              'SELECT * FROM request_tasks WHERE request_id = ANY($1::text[]) ORDER BY request_id, step, system, object, record_id',
              [requestIds],
            );
        for (const r of rows) out.get(r.request_id as string)?.push(toTask(r));
        return out;
      }),
    listTasks: (requestId, step) =>
      wrap('listTasks', async () => {
        const rows = step
          ? await db.query<Record<string, unknown>>(
              'SELECT * FROM request_tasks WHERE request_id = $1 AND step = $2 ORDER BY system, object, record_id',
              [requestId, step],
            )
          : await db.query<Record<string, unknown>>(
              'SELECT * FROM request_tasks WHERE request_id = $1 ORDER BY step, system, object, record_id',
              [requestId],
            );
        return rows.map(toTask);
      }),

    appendAudit: (events: AuditInput[]) => wrap('appendAudit', () => appendAudit(db, schema, events, now)),
    auditHead: () => wrap('auditHead', () => auditHead(db)),
    listAudit: (options) => wrap('listAudit', () => listAudit(db, options)),
    verifyAudit: () => wrap('verifyAudit', () => verifyAudit(db)),
  };
  return ledger;
}
