/** Connector operations over jsforce: every vendor call goes through `ctx.call` (see ./call.ts). */
import {
  type CheckResult,
  ConnectorError,
  type ConnectorOperations,
  type CrmRecord,
  type FieldChange,
  type Identity,
  leftoverResults,
  mapSettled,
  type OperationContext,
  type RecordRef,
  type RefResult,
} from '@custodian/core';
import { canFallBack, createBulk } from './bulk.js';
import { createCall } from './call.js';
import { type SalesforceClient, type SalesforceOptions, vendorErrorCode } from './index.js';
import { createQuery } from './query.js';
import { createRead } from './read.js';
import { createRecords, kindOf, LINK_FIELDS } from './records.js';
import { checkedId, chunks, soqlString } from './soql.js';
import { ACTIVITY_OBJECTS, PERSON_OBJECTS } from './streams.js';

export { soqlString } from './soql.js';

interface SaveResult {
  id?: string | null;
  success: boolean;
  errors?: { statusCode?: string; message?: string; fields?: string[] }[];
}

/** sObject Collections take at most 200 records a call. */
const COLLECTION_SIZE = 200;
/** Rows per Bulk API 2.0 hardDelete job (one CSV upload stays far below the 150 MB limit). */
const HARD_DELETE_JOB_SIZE = 10_000;
/**
 * Codes meaning the record is not there (any more). Ids are checked for shape before they are sent, so an
 * INVALID_ID_FIELD answer (e.g. emptyRecycleBin on a hard-deleted id) means gone; verify reads back anyway.
 */
const GONE_CODES = new Set(['ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY', 'NOT_FOUND', 'INVALID_ID_FIELD']);
/**
 * A failure that concerns one record only, so the next record may well succeed: a refusal the classifier
 * knows, or any other error body Salesforce answered with (validation rules, bad values: jsforce gives no
 * HTTP status, only the body's `errorCode`). Auth, quota, transient and network failures are not.
 */
function isRecordLevel(err: unknown): err is ConnectorError {
  if (!(err instanceof ConnectorError)) return false;
  if (['bad_request', 'not_found', 'permission'].includes(err.kind)) return true;
  const code = vendorErrorCode(err.cause);
  return err.kind === 'unknown' && /^[A-Z_]+$/.test(code) && !code.startsWith('ERROR_HTTP_');
}
/** What an activity erase in `redact` mode writes over its free text. */
const ERASED_TEXT: Record<string, Record<string, string>> = {
  Note: { Title: '[erased]', Body: '[erased]' },
  Task: { Subject: '[erased]', Description: '[erased]' },
  Case: { Subject: '[erased]', Description: '[erased]' },
};

function resultFor(ref: RecordRef, r: SaveResult | undefined): RefResult {
  if (r?.success) return { ref, outcome: 'done' };
  const code = r?.errors?.[0]?.statusCode ?? 'UNKNOWN';
  if (GONE_CODES.has(code)) return { ref, outcome: 'already_gone', reason: code };
  // Only the status code: Salesforce messages can quote field values.
  return { ref, outcome: 'failed', reason: code };
}

export function createOperations(options: SalesforceOptions, client: SalesforceClient): ConnectorOperations {
  const version = options.apiVersion;
  const call = createCall(options, client);
  const query = createQuery(options, call);
  const records = createRecords(options, call);
  const bulk = createBulk(options, call);
  const read = createRead(options, call, query, bulk, records);
  const idOf = (ref: RecordRef, ctx: OperationContext, operation: string) =>
    checkedId(ref.id, { system: ctx.system, operation, object: ref.object });

  async function findPeople(identities: Identity[], ctx: OperationContext, all: boolean): Promise<CrmRecord[]> {
    const emails = identities.filter((i) => i.kind === 'email').map((i) => i.value);
    const phones = identities.filter((i) => i.kind === 'phone').map((i) => i.value);
    if (emails.length === 0 && phones.length === 0) return [];
    const found = await mapSettled(PERSON_OBJECTS, async (object) => {
      const fields = await records.selectList(object, ctx);
      const conditions: string[] = [];
      if (emails.length) conditions.push(`Email IN (${emails.map(soqlString).join(', ')})`);
      for (const phone of phones) {
        const literal = soqlString(phone);
        conditions.push(`Phone = ${literal}`, `MobilePhone = ${literal}`);
      }
      const select = all ? fields : fields.filter((f) => f !== 'IsDeleted');
      const soql = `SELECT ${select.join(', ')} FROM ${object} WHERE ${conditions.join(' OR ')}`;
      return (await query.records(soql, ctx, all)).map((raw) => records.toRecord(object, raw, ctx));
    });
    return found.flat();
  }

  /** By id over queryAll, so rows in the Recycle Bin come back (`archived: true`). */
  async function get(refs: RecordRef[], ctx: OperationContext): Promise<(CrmRecord | null)[]> {
    const byId = new Map<string, CrmRecord>();
    await mapSettled([...new Set(refs.map((r) => r.object))], async (object) => {
      const ids = refs.filter((r) => r.object === object).map((r) => idOf(r, ctx, 'get'));
      const fields = await records.selectList(object, ctx);
      await mapSettled(chunks(ids, COLLECTION_SIZE), async (batch) => {
        const soql = `SELECT ${fields.join(', ')} FROM ${object} WHERE Id IN (${batch.map(soqlString).join(', ')})`;
        for (const raw of await query.records(soql, ctx, true)) byId.set(raw.Id, records.toRecord(object, raw, ctx));
      });
    });
    return refs.map((r) => byId.get(r.id) ?? null);
  }

  async function related(persons: RecordRef[], ctx: OperationContext): Promise<CrmRecord[]> {
    const ids = persons.map((p) => idOf(p, ctx, 'related'));
    if (ids.length === 0) return [];
    const found = await mapSettled(ACTIVITY_OBJECTS, async (object) => {
      const linkField = LINK_FIELDS[object] as string;
      const fields = (await records.selectList(object, ctx)).filter((f) => f !== 'IsDeleted');
      return mapSettled(chunks(ids, COLLECTION_SIZE), async (batch) => {
        const soql = `SELECT ${fields.join(', ')} FROM ${object} WHERE ${linkField} IN (${batch.map(soqlString).join(', ')})`;
        return (await query.records(soql, ctx)).map((raw) => records.toRecord(object, raw, ctx));
      });
    });
    return found.flat(2);
  }

  /** https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm */
  async function deleteRefs(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    for (const batch of chunks(refs, COLLECTION_SIZE)) {
      const ids = batch.map((r) => idOf(r, ctx, 'erase')).join(',');
      const reply = await call(ctx, 'collections-delete', (conn) =>
        conn.request<SaveResult[]>({
          method: 'DELETE',
          url: `/services/data/v${version}/composite/sobjects?ids=${ids}&allOrNone=${options.allOrNone}`,
        }),
      );
      // Results come in request order; with allOrNone=true every id of a failed call is ALL_OR_NONE_OPERATION_ROLLED_BACK.
      const byId = new Map(reply.map((r, i) => [r.id ?? batch[i]?.id, r]));
      for (const [i, ref] of batch.entries()) results.push(resultFor(ref, byId.get(ref.id) ?? reply[i]));
    }
    return results;
  }

  /**
   * sObject Collections update: up to 200 records of any types a call, `allOrNone` as configured, one SaveResult
   * per record in request order (a failed one may carry no id, so results are matched by position). Records go
   * sorted by object: Salesforce processes a call in runs of one type and takes at most 10 runs. A record-level
   * refusal (validation rule, bad value, gone) is that ref's result; a call refused as a whole wrote nothing, so
   * each of its refs fails with the code; auth, quota and transient failures stop the batch. Every id is checked
   * before the first call.
   * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
   */
  async function updateRecords(
    items: { ref: RecordRef; set: Record<string, unknown> }[],
    ctx: OperationContext,
  ): Promise<RefResult[]> {
    const ordered = items
      .map((item, at) => ({ ...item, at, id: idOf(item.ref, ctx, 'update') }))
      .sort((a, b) => (a.ref.object < b.ref.object ? -1 : a.ref.object > b.ref.object ? 1 : a.at - b.at));
    const results: RefResult[] = new Array(items.length);
    for (const batch of chunks(ordered, COLLECTION_SIZE)) {
      const records = batch.map(({ ref, set, id }) => ({ ...set, attributes: { type: ref.object }, id }));
      let reply: SaveResult[];
      try {
        reply = await call(ctx, 'collections-update', (conn) =>
          conn.request<SaveResult[]>({
            method: 'PATCH',
            url: `/services/data/v${version}/composite/sobjects`,
            body: JSON.stringify({ allOrNone: options.allOrNone, records }),
            headers: { 'content-type': 'application/json' },
          }),
        );
      } catch (err) {
        if (!isRecordLevel(err)) throw err;
        const reason = vendorErrorCode(err.cause);
        for (const { ref, at } of batch) results[at] = { ref, outcome: 'failed', reason };
        continue;
      }
      for (const [i, { ref, at }] of batch.entries()) results[at] = resultFor(ref, reply[i]);
    }
    return results;
  }

  /** SOAP emptyRecycleBin (no REST equivalent): https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm */
  async function purge(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    for (const batch of chunks(refs, COLLECTION_SIZE)) {
      const ids = batch.map((r) => idOf(r, ctx, 'purge'));
      const reply = await call(ctx, 'empty-recycle-bin', (conn) => conn.soap.emptyRecycleBin(ids));
      const list = (Array.isArray(reply) ? reply : [reply]) as SaveResult[];
      for (const [i, ref] of batch.entries()) results.push(resultFor(ref, list[i]));
    }
    return results;
  }

  /**
   * Empty the refs of these results that `need` it from the Recycle Bin. A ref the bin still holds after a
   * refused purge is not erased, so the purge failure becomes its result.
   */
  async function emptyBinFor(
    results: RefResult[],
    need: (r: RefResult) => boolean,
    ctx: OperationContext,
  ): Promise<RefResult[]> {
    const refs = results.filter(need).map((r) => r.ref);
    if (refs.length === 0) return results;
    const purged = new Map((await purge(refs, ctx)).map((r) => [r.ref.id, r]));
    return results.map((r) => {
      const p = purged.get(r.ref.id);
      return p?.outcome === 'failed' ? { ...p, reason: `recycle bin: ${p.reason}` } : r;
    });
  }

  /** Delete, then (permanent) empty those ids from the Recycle Bin. */
  async function deleteAndPurge(refs: RecordRef[], ctx: OperationContext, permanent: boolean): Promise<RefResult[]> {
    const deleted = await deleteRefs(refs, ctx);
    if (!permanent) return deleted;
    return emptyBinFor(deleted, (r) => r.outcome === 'done' || r.outcome === 'already_gone', ctx);
  }

  /**
   * Bulk API 2.0 hardDelete per object (skips the Recycle Bin; needs the "Bulk API Hard Delete" permission).
   * A job that cannot be created or fails as a whole falls back to delete + emptyRecycleBin for its ids.
   */
  async function hardDeleteRefs(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    for (const object of new Set(refs.map((r) => r.object))) {
      for (const batch of chunks(
        refs.filter((r) => r.object === object),
        HARD_DELETE_JOB_SIZE,
      )) {
        let outcome: Map<string, string | null>;
        try {
          outcome = await bulk.hardDelete(
            object,
            batch.map((r) => idOf(r, ctx, 'erase')),
            ctx,
          );
        } catch (err) {
          if (!canFallBack(err)) throw err;
          ctx.log.warn(
            { object, count: batch.length, code: err.code, kind: err.kind },
            'Bulk API 2.0 hardDelete failed; deleting and emptying the Recycle Bin instead',
          );
          results.push(...(await deleteAndPurge(batch, ctx, true)));
          continue;
        }
        const jobResults = batch.map((ref): RefResult => {
          const code = outcome.get(ref.id);
          if (code === null) return { ref, outcome: 'done' };
          if (code === undefined) return { ref, outcome: 'failed', reason: 'not processed by the hardDelete job' };
          return resultFor(ref, { success: false, errors: [{ statusCode: code }] });
        });
        // ENTITY_IS_DELETED: deleted earlier and maybe still in the Recycle Bin, which hardDelete does not reach.
        results.push(...(await emptyBinFor(jobResults, (r) => r.outcome === 'already_gone', ctx)));
      }
    }
    return results;
  }

  async function individualIdsOf(refs: RecordRef[], ctx: OperationContext): Promise<string[]> {
    const persons = refs.filter((r) => kindOf(r.object) === 'person');
    const ids = new Set<string>();
    for (const record of await get(persons, ctx)) {
      const individualId = record?.fields.IndividualId;
      if (typeof individualId === 'string') ids.add(individualId);
    }
    return [...ids];
  }

  const individualWrites = (ids: string[], set: Record<string, boolean>, ctx: OperationContext) =>
    ids.map((id) => ({ ref: { system: ctx.system, object: 'Individual', id }, set }));

  /** Individual failures are logged (by id only): the person's own results stand. */
  function logIndividualFailures(results: RefResult[], set: Record<string, boolean>, ctx: OperationContext) {
    for (const r of results)
      if (r.outcome === 'failed')
        ctx.log.warn({ individual: r.ref.id, fields: Object.keys(set), reason: r.reason }, 'Individual not updated');
  }

  async function updateIndividuals(ids: string[], set: Record<string, boolean>, ctx: OperationContext) {
    if (ids.length === 0) return;
    logIndividualFailures(await updateRecords(individualWrites(ids, set, ctx), ctx), set, ctx);
  }

  /**
   * The integration user's own "Bulk API Hard Delete" permission, from UserPermissionAccess (the current user's
   * effective permissions): https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_userpermissionaccess.htm
   */
  async function hardDeletePermission(ctx: OperationContext): Promise<CheckResult> {
    const check = 'bulk-api-hard-delete';
    try {
      const [row] = await query.records('SELECT PermissionsBulkApiHardDelete FROM UserPermissionAccess', ctx);
      return row?.PermissionsBulkApiHardDelete === true
        ? { check, ok: true, message: 'The user holds "Bulk API Hard Delete" (permanentErase: hard-delete).' }
        : {
            check,
            ok: false,
            message:
              'permanentErase is hard-delete but the user lacks the "Bulk API Hard Delete" permission: erasure falls back to delete + emptyRecycleBin.',
          };
    } catch (err) {
      if (!isRecordLevel(err)) throw err;
      return { check, ok: false, message: `Could not read the user's permissions (${vendorErrorCode(err.cause)}).` };
    }
  }

  return {
    read,
    find: (identities, ctx) => findPeople(identities, ctx, false),
    get,
    related,
    async erase(refs, eraseOptions, ctx) {
      // Read before deleting: the person rows name their Individual.
      const individuals = options.shouldForget ? await individualIdsOf(refs, ctx) : [];
      const results: RefResult[] = [];
      let toDelete = refs;
      if (options.eraseActivities === 'redact') {
        const activities = refs.filter((r) => ERASED_TEXT[r.object]);
        toDelete = refs.filter((r) => !ERASED_TEXT[r.object]);
        results.push(
          ...(await updateRecords(
            activities.map((ref) => ({ ref, set: ERASED_TEXT[ref.object] as Record<string, string> })),
            ctx,
          )),
        );
      }
      results.push(
        ...(eraseOptions.permanent && options.permanentErase === 'hard-delete'
          ? await hardDeleteRefs(toDelete, ctx)
          : await deleteAndPurge(toDelete, ctx, eraseOptions.permanent)),
      );
      await updateIndividuals(individuals, { ShouldForget: true }, ctx);
      return results;
    },
    purge,
    /** Read back with queryAll (live and Recycle Bin rows): nothing may remain, by ref or by identity. */
    async verifyErased(refs, identities, ctx) {
      const redacted = options.eraseActivities === 'redact';
      const remaining = new Set<string>();
      for (const record of await get(refs, ctx)) {
        if (!record) continue;
        const erasedText = redacted ? ERASED_TEXT[record.ref.object] : undefined;
        const blanked = erasedText && Object.entries(erasedText).every(([k, v]) => record.fields[k] === v);
        if (!blanked) remaining.add(record.ref.id);
      }
      const found = await findPeople(identities, ctx, true);
      const perRef = refs.map(
        (ref): RefResult =>
          remaining.has(ref.id)
            ? { ref, outcome: 'failed', reason: 'still present (live or in the Recycle Bin)' }
            : found.length > 0
              ? { ref, outcome: 'failed', reason: `${found.length} record(s) still match the identities` }
              : { ref, outcome: 'done' },
      );
      // Rows the identities still match that were not given (live or in the Recycle Bin), under their own refs.
      return [...perRef, ...leftoverResults(refs, found)];
    },
    /** Rectify and redact: `expected` values are compared with the live row first; a mismatch is a conflict. */
    async update(changes: FieldChange[], ctx) {
      const results: RefResult[] = [];
      const checked = changes.filter((c) => c.expected && Object.keys(c.expected).length > 0);
      const current = new Map(
        (
          await get(
            checked.map((c) => c.ref),
            ctx,
          )
        )
          .filter((r) => r !== null)
          .map((r) => [r.ref.id, r]),
      );
      const writes: FieldChange[] = [];
      for (const change of changes) {
        if (change.expected && Object.keys(change.expected).length > 0) {
          const now = current.get(change.ref.id);
          if (!now || now.archived) {
            results.push({ ref: change.ref, outcome: 'already_gone' });
            continue;
          }
          if (Object.entries(change.expected).some(([k, v]) => (now.fields[k] ?? null) !== (v ?? null))) {
            results.push({ ref: change.ref, outcome: 'failed', reason: 'conflict' });
            continue;
          }
        }
        writes.push(change);
      }
      results.push(...(await updateRecords(writes, ctx)));
      return results;
    },
    /** HasOptedOutOfEmail on these rows and on every Contact and Lead of the same Individual; the Individual too. */
    async setMarketingOptOut(refs, ctx) {
      const persons = refs.filter((r) => kindOf(r.object) === 'person');
      const individuals = await individualIdsOf(persons, ctx);
      const siblings: RecordRef[] = [];
      const known = new Set(refs.map((r) => r.id));
      for (const object of PERSON_OBJECTS) {
        for (const batch of chunks(individuals, COLLECTION_SIZE)) {
          const soql = `SELECT Id FROM ${object} WHERE IndividualId IN (${batch.map(soqlString).join(', ')}) AND HasOptedOutOfEmail = false`;
          for (const raw of await query.records(soql, ctx))
            if (!known.has(raw.Id)) siblings.push({ system: ctx.system, object, id: raw.Id });
        }
      }
      const people = [...persons, ...siblings].map((ref) => ({ ref, set: { HasOptedOutOfEmail: true } }));
      const solicit = { HasOptedOutSolicit: true };
      let results: RefResult[];
      if (options.allOrNone) {
        // Separate calls, so a refused Individual cannot roll back the people's opt-out.
        results = await updateRecords(people, ctx);
        await updateIndividuals(individuals, solicit, ctx);
      } else {
        // Types may share a call: the Individuals ride along with their people.
        const all = await updateRecords([...people, ...individualWrites(individuals, solicit, ctx)], ctx);
        results = all.slice(0, people.length);
        logIndividualFailures(all.slice(people.length), solicit, ctx);
      }
      const byId = new Map(results.map((r) => [r.ref.id, r]));
      return refs.map(
        (ref): RefResult =>
          byId.get(ref.id) ?? { ref, outcome: 'skipped', reason: `${ref.object} has no marketing opt-out` },
      );
    },
    async check(ctx) {
      // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
      const limits = await call(ctx, 'limits', (conn) =>
        conn.request<{ DailyApiRequests?: { Max: number; Remaining: number } }>(`/services/data/v${version}/limits`),
      );
      const daily = limits.DailyApiRequests;
      const checks: CheckResult[] = [
        { check: 'connectivity', ok: true, message: 'Authenticated and reached the REST API.' },
        {
          check: 'daily-api-requests',
          ok: !daily || daily.Remaining > daily.Max * (1 - options.quotaStopShare),
          message: daily
            ? `api-usage=${daily.Max - daily.Remaining}/${daily.Max} in the last 24 h; Custodian stops at ${Math.round(options.quotaStopShare * 100)}%.`
            : 'Limits not reported.',
        },
      ];
      if (options.permanentErase === 'hard-delete') checks.push(await hardDeletePermission(ctx));
      return checks;
    },
    async onAuthExpired() {
      client.invalidate();
    },
  };
}
