/** Connector operations over jsforce: every vendor call goes through `ctx.call` and reports Sforce-Limit-Info. */
import type {
  Checkpoint,
  ConnectorOperations,
  CrmRecord,
  DeletedRecord,
  FieldChange,
  Identity,
  OperationContext,
  Page,
  RecordRef,
  RefResult,
  StreamKind,
} from '@custodian/core';
import type jsforce from 'jsforce';
import type { SalesforceClient, SalesforceOptions } from './index.js';
import { ACTIVITY_OBJECTS, classifyField, PERSON_OBJECTS, STREAM_OBJECTS } from './streams.js';

type SfRecord = Record<string, unknown> & { Id: string; attributes?: unknown };
interface QueryResult {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SfRecord[];
}
interface SaveResult {
  id?: string;
  success: boolean;
  errors?: { statusCode?: string; message?: string }[];
}

/** SOQL string literal: backslash-escape `\` and `'` (and control characters) as the SOQL reference requires. */
export function soqlString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `'${escaped}'`;
}

const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
function soqlId(id: string): string {
  if (!ID_PATTERN.test(id)) throw Object.assign(new Error('invalid Salesforce id'), { errorCode: 'INVALID_ID_FIELD' });
  return `'${id}'`;
}

/** SOQL datetime literals are unquoted ISO-8601 in UTC. */
function soqlDatetime(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const LINK_FIELDS: Record<string, string> = { Task: 'WhoId', Note: 'ParentId', Case: 'ContactId' };
const PREFIX_OBJECT: Record<string, string> = { '003': 'Contact', '00Q': 'Lead' };

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function createOperations(options: SalesforceOptions, client: SalesforceClient): ConnectorOperations {
  const version = options.apiVersion;
  const fieldsCache = new Map<string, { name: string; type: string }[]>();

  /** The api-usage last seen while at or above `quotaStopShare` (the runtime's own guard uses its default share). */
  let overShare: { used: number; limit: number } | null = null;

  /** One vendor call with a fresh connection; reports api-usage from Sforce-Limit-Info afterwards. */
  async function call<T>(
    ctx: OperationContext,
    operation: string,
    fn: (conn: jsforce.Connection) => Promise<T>,
    idempotent = true,
  ): Promise<T> {
    return ctx.call(
      operation,
      async (signal) => {
        if (overShare) {
          // Stop before the call that would go past the configured share; the runtime pauses the system.
          const { used, limit } = overShare;
          overShare = null;
          throw Object.assign(new Error(`quota stop share reached: ${used}/${limit} API requests used`), {
            errorCode: 'REQUEST_LIMIT_EXCEEDED',
          });
        }
        const conn = await client.connection(signal);
        try {
          return await fn(conn);
        } finally {
          const usage = conn.limitInfo?.apiUsage;
          if (usage && usage.limit > 0) {
            ctx.reportQuota({ used: usage.used, limit: usage.limit });
            if (usage.used / usage.limit >= options.quotaStopShare)
              overShare = { used: usage.used, limit: usage.limit };
          }
        }
      },
      { idempotent },
    );
  }

  /** https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm */
  async function describe(object: string, ctx: OperationContext): Promise<{ name: string; type: string }[]> {
    const cached = fieldsCache.get(object);
    if (cached) return cached;
    const result = await call(ctx, 'describe', (conn) =>
      conn.request<{ fields: { name: string; type: string }[] }>(
        `/services/data/v${version}/sobjects/${object}/describe`,
      ),
    );
    const fields = result.fields.filter((f) => f.type !== 'address' && f.type !== 'location' && f.type !== 'base64');
    fieldsCache.set(object, fields);
    return fields;
  }

  /** https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm (+ queryAll, nextRecordsUrl) */
  async function* queryPages(soql: string, ctx: OperationContext, all = false): AsyncGenerator<QueryResult> {
    const resource = all ? 'queryAll' : 'query';
    let page = await call(ctx, resource, (conn) =>
      conn.request<QueryResult>({
        method: 'GET',
        url: `/services/data/v${version}/${resource}?q=${encodeURIComponent(soql)}`,
        headers: { 'Sforce-Query-Options': `batchSize=${options.pageSize}` },
      }),
    );
    yield page;
    while (!page.done && page.nextRecordsUrl) {
      const next: string = page.nextRecordsUrl;
      page = await call(ctx, 'queryMore', (conn) => conn.request<QueryResult>(next));
      yield page;
    }
  }

  async function queryAllRecords(soql: string, ctx: OperationContext, all = false): Promise<SfRecord[]> {
    const out: SfRecord[] = [];
    for await (const page of queryPages(soql, ctx, all)) out.push(...page.records);
    return out;
  }

  function kindOf(object: string): StreamKind {
    if ((PERSON_OBJECTS as readonly string[]).includes(object)) return 'person';
    if ((ACTIVITY_OBJECTS as readonly string[]).includes(object)) return 'activity';
    return 'other';
  }

  function toRecord(object: string, raw: SfRecord, ctx: OperationContext): CrmRecord {
    const { attributes: _attributes, ...fields } = raw;
    const canonical: CrmRecord['canonical'] = {};
    for (const [name, value] of Object.entries(fields)) {
      const c = classifyField(name, '', options.fieldOverrides[object]).canonical;
      if (c && (typeof value === 'string' || value === null)) canonical[c] = value;
    }
    const record: CrmRecord = {
      ref: { system: ctx.system, object, id: raw.Id },
      kind: kindOf(object),
      canonical,
      fields,
      updatedAt: (raw.SystemModstamp as string | undefined) ?? null,
      createdAt: (raw.CreatedDate as string | undefined) ?? null,
      archived: raw.IsDeleted === true,
    };
    if (record.kind === 'person') {
      record.lastActivityAt = (raw.LastActivityDate as string | null | undefined) ?? null;
      record.lifecycleStage = object === 'Lead' ? ((raw.Status as string | null | undefined) ?? 'lead') : 'contact';
      if ('HasOptedOutOfEmail' in raw) record.consent = { marketingOptOut: raw.HasOptedOutOfEmail === true };
    }
    const linkField = LINK_FIELDS[object];
    const linked = linkField ? (raw[linkField] as string | null | undefined) : null;
    if (linked) {
      const target = PREFIX_OBJECT[linked.slice(0, 3)];
      if (target) record.links = [{ system: ctx.system, object: target, id: linked }];
    }
    return record;
  }

  async function selectList(object: string, ctx: OperationContext): Promise<string[]> {
    const names = (await describe(object, ctx)).map((f) => f.name);
    for (const needed of ['Id', 'SystemModstamp', 'IsDeleted']) if (!names.includes(needed)) names.push(needed);
    return names;
  }

  async function* read(stream: string, checkpoint: Checkpoint | null, ctx: OperationContext): AsyncIterable<Page> {
    if (!(STREAM_OBJECTS as readonly string[]).includes(stream)) {
      throw Object.assign(new Error(`unknown stream ${stream}`), { errorCode: 'INVALID_TYPE' });
    }
    const fields = await selectList(stream, ctx);
    const since = typeof checkpoint?.since === 'string' ? checkpoint.since : null;
    const lastId = typeof checkpoint?.lastId === 'string' ? checkpoint.lastId : null;
    // Lookback restarts earlier (late-committed rows); (since, lastId) dedupes the instant we stopped inside.
    const from = since ? new Date(new Date(since).getTime() - options.lookbackMinutes * 60_000).toISOString() : null;
    const where = !from
      ? ''
      : options.lookbackMinutes === 0 && lastId
        ? ` WHERE (SystemModstamp > ${soqlDatetime(from)} OR (SystemModstamp = ${soqlDatetime(from)} AND Id > ${soqlId(lastId)}))`
        : ` WHERE SystemModstamp >= ${soqlDatetime(from)}`;
    const soql = `SELECT ${fields.join(', ')} FROM ${stream}${where} ORDER BY SystemModstamp ASC, Id ASC`;
    let mark: { since: string | null; lastId: string | null } = {
      since: since ? new Date(since).toISOString() : null,
      lastId,
    };
    // queryAll also returns rows in the Recycle Bin (IsDeleted = true): they become Page.deleted.
    for await (const page of queryPages(soql, ctx, since !== null)) {
      const records: CrmRecord[] = [];
      const deleted: DeletedRecord[] = [];
      for (const raw of page.records) {
        const at = new Date(raw.SystemModstamp as string).toISOString();
        // The mark only moves forward: lookback rows older than it never move the checkpoint back.
        if (!mark.since || at > mark.since || (at === mark.since && raw.Id > (mark.lastId ?? ''))) {
          mark = { since: at, lastId: raw.Id };
        }
        if (raw.IsDeleted === true) {
          deleted.push({ ref: { system: ctx.system, object: stream, id: raw.Id }, deletedAt: at, state: 'archived' });
        } else {
          records.push(toRecord(stream, raw, ctx));
        }
      }
      const out: Page = { records, checkpoint: { since: mark.since, lastId: mark.lastId } };
      if (deleted.length > 0) out.deleted = deleted;
      yield out;
    }
  }

  async function find(identities: Identity[], ctx: OperationContext): Promise<CrmRecord[]> {
    const emails = identities.filter((i) => i.kind === 'email').map((i) => i.value);
    const phones = identities.filter((i) => i.kind === 'phone').map((i) => i.value);
    if (emails.length === 0 && phones.length === 0) return [];
    const out: CrmRecord[] = [];
    for (const object of PERSON_OBJECTS) {
      const fields = await selectList(object, ctx);
      const conditions: string[] = [];
      if (emails.length) conditions.push(`Email IN (${emails.map(soqlString).join(', ')})`);
      for (const phone of phones) {
        const literal = soqlString(phone);
        conditions.push(`Phone = ${literal}`, `MobilePhone = ${literal}`);
      }
      const soql = `SELECT ${fields.filter((f) => f !== 'IsDeleted').join(', ')} FROM ${object} WHERE ${conditions.join(' OR ')}`;
      for (const raw of await queryAllRecords(soql, ctx)) out.push(toRecord(object, raw, ctx));
    }
    return out;
  }

  async function get(refs: RecordRef[], ctx: OperationContext): Promise<(CrmRecord | null)[]> {
    const byId = new Map<string, CrmRecord>();
    const objects = [...new Set(refs.map((r) => r.object))];
    for (const object of objects) {
      const ids = refs.filter((r) => r.object === object).map((r) => r.id);
      const fields = await selectList(object, ctx);
      for (const batch of chunks(ids, 200)) {
        const soql = `SELECT ${fields.join(', ')} FROM ${object} WHERE Id IN (${batch.map(soqlId).join(', ')})`;
        for (const raw of await queryAllRecords(soql, ctx, true)) byId.set(raw.Id, toRecord(object, raw, ctx));
      }
    }
    return refs.map((r) => byId.get(r.id) ?? null);
  }

  async function related(persons: RecordRef[], ctx: OperationContext): Promise<CrmRecord[]> {
    const ids = persons.map((p) => p.id);
    if (ids.length === 0) return [];
    const out: CrmRecord[] = [];
    for (const object of ACTIVITY_OBJECTS) {
      const linkField = LINK_FIELDS[object] as string;
      const fields = await selectList(object, ctx);
      for (const batch of chunks(ids, 200)) {
        const soql = `SELECT ${fields.filter((f) => f !== 'IsDeleted').join(', ')} FROM ${object} WHERE ${linkField} IN (${batch.map(soqlId).join(', ')})`;
        for (const raw of await queryAllRecords(soql, ctx)) out.push(toRecord(object, raw, ctx));
      }
    }
    return out;
  }

  function resultFor(ref: RecordRef, r: SaveResult | undefined): RefResult {
    if (r?.success) return { ref, outcome: 'done' };
    const code = r?.errors?.[0]?.statusCode ?? 'UNKNOWN';
    if (code === 'ENTITY_IS_DELETED' || code === 'INVALID_CROSS_REFERENCE_KEY' || code === 'NOT_FOUND')
      return { ref, outcome: 'already_gone', reason: code };
    return { ref, outcome: 'failed', reason: code };
  }

  /** https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm */
  async function deleteRefs(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    for (const batch of chunks(refs, 200)) {
      const ids = batch.map((r) => soqlId(r.id).slice(1, -1)).join(',');
      const reply = await call(
        ctx,
        'collections-delete',
        (conn) =>
          conn.request<SaveResult[]>({
            method: 'DELETE',
            url: `/services/data/v${version}/composite/sobjects?ids=${ids}&allOrNone=false`,
          }),
        true,
      );
      const byId = new Map(reply.map((r, i) => [r.id ?? batch[i]?.id, r]));
      for (const [i, ref] of batch.entries()) results.push(resultFor(ref, byId.get(ref.id) ?? reply[i]));
    }
    return results;
  }

  /** SOAP emptyRecycleBin (no REST equivalent): https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm */
  async function purge(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    for (const batch of chunks(refs, 200)) {
      const reply = await call(ctx, 'empty-recycle-bin', (conn) => conn.soap.emptyRecycleBin(batch.map((r) => r.id)));
      const list = (Array.isArray(reply) ? reply : [reply]) as SaveResult[];
      for (const [i, ref] of batch.entries()) results.push(resultFor(ref, list[i]));
    }
    return results;
  }

  async function patch(
    object: string,
    id: string,
    body: Record<string, unknown>,
    ctx: OperationContext,
  ): Promise<void> {
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
    await call(ctx, 'sobject-update', (conn) =>
      conn.request({
        method: 'PATCH',
        url: `/services/data/v${version}/sobjects/${object}/${soqlId(id).slice(1, -1)}`,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    );
  }

  async function patchSafely(ref: RecordRef, body: Record<string, unknown>, ctx: OperationContext): Promise<RefResult> {
    try {
      await patch(ref.object, ref.id, body, ctx);
      return { ref, outcome: 'done' };
    } catch (err) {
      const code = (err as { errorCode?: string; kind?: string }).errorCode ?? (err as { kind?: string }).kind;
      if (code === 'not_found' || code === 'NOT_FOUND' || code === 'ENTITY_IS_DELETED')
        return { ref, outcome: 'already_gone', reason: String(code) };
      throw err;
    }
  }

  return {
    read,
    find,
    get,
    related,
    async erase(refs, eraseOptions, ctx) {
      const individuals: string[] = [];
      if (options.shouldForget) {
        for (const record of await get(
          refs.filter((r) => kindOf(r.object) === 'person'),
          ctx,
        )) {
          const individualId = record?.fields.IndividualId;
          if (typeof individualId === 'string') individuals.push(individualId);
        }
      }
      let toDelete = refs;
      const results: RefResult[] = [];
      if (options.eraseActivities === 'redact') {
        const activities = refs.filter((r) => kindOf(r.object) === 'activity');
        toDelete = refs.filter((r) => kindOf(r.object) !== 'activity');
        for (const ref of activities) {
          const body =
            ref.object === 'Note'
              ? { Body: '[erased]', Title: '[erased]' }
              : { Description: '[erased]', Subject: '[erased]' };
          results.push(await patchSafely(ref, body, ctx));
        }
      }
      const deleted = await deleteRefs(toDelete, ctx);
      for (const id of [...new Set(individuals)])
        await patchSafely({ system: ctx.system, object: 'Individual', id }, { ShouldForget: true }, ctx);
      if (eraseOptions.permanent) {
        const gone = deleted.filter((r) => r.outcome === 'done' || r.outcome === 'already_gone').map((r) => r.ref);
        const purged = new Map((await purge(gone, ctx)).map((r) => [r.ref.id, r]));
        for (const r of deleted) {
          const p = purged.get(r.ref.id);
          results.push(
            p && p.outcome === 'failed' && r.outcome === 'done' ? { ...p, reason: `recycle bin: ${p.reason}` } : r,
          );
        }
        return results;
      }
      return [...results, ...deleted];
    },
    purge,
    async verifyErased(refs, identities, ctx) {
      const remaining = new Set<string>();
      for (const record of await get(refs, ctx)) if (record) remaining.add(record.ref.id);
      const found = await find(identities, ctx);
      return refs.map(
        (ref): RefResult =>
          remaining.has(ref.id)
            ? { ref, outcome: 'failed', reason: 'still present (live or in the Recycle Bin)' }
            : found.length > 0
              ? { ref, outcome: 'failed', reason: `${found.length} record(s) still match the identities` }
              : { ref, outcome: 'done' },
      );
    },
    async update(changes: FieldChange[], ctx) {
      const results: RefResult[] = [];
      const current = await get(
        changes.filter((c) => c.expected).map((c) => c.ref),
        ctx,
      );
      const currentById = new Map(current.filter((r) => r !== null).map((r) => [r.ref.id, r]));
      for (const change of changes) {
        if (change.expected) {
          const now = currentById.get(change.ref.id);
          if (!now) {
            results.push({ ref: change.ref, outcome: 'already_gone' });
            continue;
          }
          const conflict = Object.entries(change.expected).some(([k, v]) => (now.fields[k] ?? null) !== v);
          if (conflict) {
            results.push({ ref: change.ref, outcome: 'failed', reason: 'conflict' });
            continue;
          }
        }
        results.push(await patchSafely(change.ref, change.set, ctx));
      }
      return results;
    },
    async setMarketingOptOut(refs, ctx) {
      const results: RefResult[] = [];
      const individuals = new Set<string>();
      for (const record of await get(refs, ctx)) {
        const individualId = record?.fields.IndividualId;
        if (typeof individualId === 'string') individuals.add(individualId);
      }
      for (const ref of refs) results.push(await patchSafely(ref, { HasOptedOutOfEmail: true }, ctx));
      for (const id of individuals)
        await patchSafely({ system: ctx.system, object: 'Individual', id }, { HasOptedOutSolicit: true }, ctx);
      return results;
    },
    async check(ctx) {
      const limits = await call(ctx, 'limits', (conn) =>
        conn.request<{ DailyApiRequests?: { Max: number; Remaining: number } }>(`/services/data/v${version}/limits`),
      );
      const daily = limits.DailyApiRequests;
      return [
        { check: 'connectivity', ok: true, message: 'Authenticated and reached the REST API.' },
        {
          check: 'daily-api-requests',
          ok: !daily || daily.Remaining > daily.Max * (1 - options.quotaStopShare),
          message: daily
            ? `${daily.Max - daily.Remaining}/${daily.Max} API requests used in the last 24 h.`
            : 'Limits not reported.',
        },
      ];
    },
    async onAuthExpired() {
      client.invalidate();
    },
  };
}
