/** The Zoho operations: read (incremental, hybrid page/page_token), find, get, related, erase, purge, verify, update, opt-out. */
import {
  type Checkpoint,
  ConnectorError,
  type ConnectorOperations,
  type CrmRecord,
  type FieldChange,
  HttpError,
  type Identity,
  leftoverResults,
  mapSettled,
  nextUtcMidnight,
  type OperationContext,
  type Page,
  type RecordRef,
  type RefResult,
} from '@custodian/core';
import { z } from 'zod';
import {
  actionEnvelope,
  deletedEnvelope,
  fieldsEnvelope,
  type ListEnvelope,
  listEnvelope,
  type ZohoClient,
  type ZohoRecord,
  type ZohoResponse,
  zohoErrorBody,
} from './client.js';
import {
  anyFieldIn,
  COQL_IN_MAX,
  coqlString,
  EMAIL_FIELDS,
  PHONE_FIELDS,
  packByValues,
  phoneForms,
  valuesOfKind,
} from './identity-query.js';
import type { ZohoOptions } from './index.js';
import { toCrmRecord } from './map.js';
import {
  ACTIVITY_TEXT_FIELDS,
  type ActivityModule,
  fieldChunks,
  isModule,
  isPersonModule,
  PERSON_MODULES,
  requiredFields,
  type ZohoModule,
} from './streams.js';

export const PER_PAGE = 200;
/** `page` reaches the first 2,000 records; beyond that only `page_token` works. */
export const DISCRETE_PAGE_LIMIT = 2000 / PER_PAGE;
export const BATCH = 100;
const REDACTED = '[redacted]';

const checkpointSchema = z.object({
  /** If-Modified-Since of the current run (an observed Modified_Time, minus one second). */
  since: z.string().nullable().default(null),
  phase: z.enum(['records', 'deleted']).default('records'),
  /** Next page number (records phase) or deleted-feed page. */
  page: z.number().int().min(1).default(1),
  /** page_token per field chunk, once past 2,000 records. */
  pageToken: z.array(z.string()).nullable().default(null),
  lastId: z.string().nullable().default(null),
  /** Highest Modified_Time / deleted_time observed in this run. */
  maxSeen: z.string().nullable().default(null),
  /** Ids observed at `maxSeen` in this run (at most MAX_BOUNDARY_IDS). */
  seenAtMax: z.array(z.string()).default([]),
  /**
   * From the previous run: records (and deletions) already observed at the boundary second. The next run
   * asks from one second before it and skips these ids when their time is still the boundary.
   */
  boundary: z
    .object({ at: z.string(), ids: z.array(z.string()) })
    .nullable()
    .default(null),
});
const MAX_BOUNDARY_IDS = 1000;

/** Track the latest time observed and the ids seen at exactly that time. */
function observe(cp: { maxSeen: string | null; seenAtMax: string[] }, time: string | null | undefined, id: string) {
  if (!time) return;
  const t = Date.parse(time);
  const max = cp.maxSeen ? Date.parse(cp.maxSeen) : Number.NEGATIVE_INFINITY;
  if (t > max) {
    cp.maxSeen = time;
    cp.seenAtMax = [id];
  } else if (t === max && cp.seenAtMax.length < MAX_BOUNDARY_IDS + 1 && !cp.seenAtMax.includes(id))
    cp.seenAtMax.push(id);
}

/** Already observed by the previous run at its boundary second, and unchanged since. */
function alreadySeen(boundary: ZohoCheckpointBoundary, time: string | null | undefined, id: string): boolean {
  return boundary !== null && !!time && Date.parse(time) === Date.parse(boundary.at) && boundary.ids.includes(id);
}
type ZohoCheckpointBoundary = { at: string; ids: string[] } | null;
type ZohoCheckpoint = z.output<typeof checkpointSchema>;

/** Zoho date-times: `2019-07-25T15:26:49+05:30`. */
export function zohoDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}+00:00`;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** COQL credits by LIMIT: https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html */
function coqlCost(limit: number): number {
  return limit <= 200 ? 1 : limit <= 1000 ? 2 : 3;
}
/** Rows one COQL call returns at most. */
const COQL_LIMIT_MAX = 2000;

function vendorCode(err: unknown): string | undefined {
  if (!(err instanceof HttpError)) return undefined;
  const parsed = zohoErrorBody.safeParse(err.body);
  return parsed.success ? parsed.data.code : undefined;
}

export function createOperations(client: ZohoClient, options: ZohoOptions, system: string): ConnectorOperations {
  const chunkCache = new Map<ZohoModule, string[][]>();

  /** Report credits from X-API-CREDITS-REMAINING and stop below the configured share. */
  const noteCredits = (res: ZohoResponse, ctx: OperationContext) => {
    const remaining = Number(res.headers.get('x-api-credits-remaining'));
    if (res.headers.get('x-api-credits-remaining') === null || !Number.isFinite(remaining)) return;
    const used = Math.max(0, options.dailyCredits - remaining);
    ctx.reportQuota({ used, limit: options.dailyCredits });
    if (used / options.dailyCredits >= options.quotaStopShare) creditStop = nextUtcMidnight(ctx.now());
  };
  /** Set once the configured share of the daily credits is used: no further calls until then. */
  let creditStop: Date | null = null;

  const call = async (
    ctx: OperationContext,
    operation: string,
    method: string,
    path: string,
    input: {
      query?: Record<string, string | number | undefined>;
      headers?: Record<string, string>;
      json?: unknown;
    } = {},
    callOptions: { cost?: number; group?: string; idempotent?: boolean } = {},
  ): Promise<ZohoResponse> => {
    if (creditStop && creditStop > ctx.now())
      throw new ConnectorError(
        `${Math.round(options.quotaStopShare * 100)}% of the ${options.dailyCredits} daily Zoho credits are used; calls resume ${creditStop.toISOString()}`,
        { system, operation, kind: 'quota_exhausted', resumeAt: creditStop },
      );
    const res = await ctx.call(operation, (signal) => client.request(method, path, { ...input, signal }), callOptions);
    noteCredits(res, ctx);
    return res;
  };

  const moduleOf = (ref: RecordRef, operation: string): ZohoModule => {
    if (!isModule(ref.object))
      throw new ConnectorError(`unknown Zoho module "${ref.object}" in a record ref`, {
        system,
        operation,
        kind: 'bad_request',
      });
    return ref.object;
  };

  // Field metadata: https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html
  const chunksFor = async (module: ZohoModule, ctx: OperationContext): Promise<string[][]> => {
    const cached = chunkCache.get(module);
    if (cached) return cached;
    const res = await call(ctx, 'fields', 'GET', '/crm/v8/settings/fields', { query: { module } });
    const meta = client.parse(fieldsEnvelope, res, 'the field metadata');
    const chunks = fieldChunks(
      module,
      (meta?.fields ?? []).map((x) => x.api_name),
    );
    chunkCache.set(module, chunks);
    return chunks;
  };

  // Get Records: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html
  const getPage = async (
    ctx: OperationContext,
    module: ZohoModule,
    fields: string[],
    since: string | null,
    position: { page: number } | { pageToken: string },
  ): Promise<ListEnvelope | null> => {
    const res = await call(
      ctx,
      'records',
      'GET',
      `/crm/v8/${module}`,
      {
        query: {
          fields: fields.join(','),
          per_page: PER_PAGE,
          sort_by: 'Modified_Time',
          sort_order: 'asc',
          ...('page' in position ? { page: position.page } : { page_token: position.pageToken }),
        },
        ...(since ? { headers: { 'If-Modified-Since': since } } : {}),
      },
      { group: 'heavy' },
    );
    return client.parse(listEnvelope, res, `Get Records of ${module}`);
  };

  /** One page of every field chunk, merged by id; chunk 0 holds the fields Custodian needs. */
  const readRecordsPage = async (ctx: OperationContext, module: ZohoModule, cp: ZohoCheckpoint) => {
    const chunks = await chunksFor(module, ctx);
    const envelopes: (ListEnvelope | null)[] = [];
    const tokens = cp.pageToken;
    for (let i = 0; i < chunks.length; i++) {
      const fields = chunks[i] ?? [];
      let token = tokens?.[i];
      if (cp.page > DISCRETE_PAGE_LIMIT && !token) {
        // No token (old checkpoint): page 10 hands out the token to the records after 2,000.
        const bridge = await getPage(ctx, module, fields, cp.since, { page: DISCRETE_PAGE_LIMIT });
        token = bridge?.info?.next_page_token ?? undefined;
        if (!token) {
          envelopes.push(null);
          continue;
        }
      }
      try {
        envelopes.push(
          await getPage(
            ctx,
            module,
            fields,
            cp.since,
            token && cp.page > DISCRETE_PAGE_LIMIT ? { pageToken: token } : { page: cp.page },
          ),
        );
      } catch (err) {
        const code = err instanceof ConnectorError ? vendorCode(err.cause) : undefined;
        if (code !== 'DISCRETE_PAGINATION_LIMIT_EXCEEDED' || cp.page <= 1) throw err;
        // The account's page cap is lower than documented: fetch the previous page for its token.
        const bridge = await getPage(ctx, module, fields, cp.since, { page: cp.page - 1 });
        const t = bridge?.info?.next_page_token;
        envelopes.push(t ? await getPage(ctx, module, fields, cp.since, { pageToken: t }) : null);
      }
    }
    const base = envelopes[0];
    const byId = new Map<string, ZohoRecord>();
    for (const r of base?.data ?? []) byId.set(r.id, { ...r });
    for (const env of envelopes.slice(1))
      for (const r of env?.data ?? []) {
        const b = byId.get(r.id);
        if (b) Object.assign(b, r);
      }
    const nextTokens = envelopes.map((e) => e?.info?.next_page_token ?? null);
    return {
      rows: [...byId.values()],
      more: base?.info?.more_records === true,
      nextTokens: nextTokens.every((t): t is string => typeof t === 'string') ? nextTokens : null,
    };
  };

  // Deleted records: https://www.zoho.com/crm/developer/docs/api/v8/get-deleted-records.html
  const readDeletedPage = async (ctx: OperationContext, module: ZohoModule, cp: ZohoCheckpoint) => {
    const res = await call(ctx, 'deleted', 'GET', `/crm/v8/${module}/deleted`, {
      query: { type: 'all', page: cp.page, per_page: PER_PAGE },
      ...(cp.since ? { headers: { 'If-Modified-Since': cp.since } } : {}),
    });
    const env = client.parse(deletedEnvelope, res, `the deleted records of ${module}`);
    return { rows: env?.data ?? [], more: env?.info?.more_records === true };
  };

  async function* read(stream: string, checkpoint: Checkpoint | null, ctx: OperationContext): AsyncIterable<Page> {
    if (!isModule(stream))
      throw new ConnectorError(`unknown stream "${stream}"`, { system, operation: 'read', kind: 'bad_request' });
    const parsed = checkpointSchema.safeParse(checkpoint ?? {});
    if (!parsed.success)
      throw new ConnectorError(`the ${stream} checkpoint is unreadable`, {
        system,
        operation: 'read',
        kind: 'config',
        cause: parsed.error,
      });
    let cp = parsed.data;
    if (cp.phase === 'records') {
      for (;;) {
        const { rows: fetched, more, nextTokens } = await readRecordsPage(ctx, stream, cp);
        const rows = fetched.filter(
          (r) => !alreadySeen(cp.boundary, typeof r.Modified_Time === 'string' ? r.Modified_Time : null, r.id),
        );
        const seen = { maxSeen: cp.maxSeen, seenAtMax: [...cp.seenAtMax] };
        for (const r of rows) observe(seen, typeof r.Modified_Time === 'string' ? r.Modified_Time : null, r.id);
        const lastId = fetched.at(-1)?.id ?? cp.lastId;
        const next: ZohoCheckpoint = more
          ? {
              ...cp,
              ...seen,
              page: cp.page + 1,
              pageToken: cp.page + 1 > DISCRETE_PAGE_LIMIT ? nextTokens : null,
              lastId,
            }
          : { ...cp, ...seen, phase: 'deleted', page: 1, pageToken: null, lastId };
        yield { records: rows.map((r) => toCrmRecord(system, stream, r)), checkpoint: next };
        cp = next;
        if (!more) break;
      }
    }
    for (;;) {
      const { rows: fetched, more } = await readDeletedPage(ctx, stream, cp);
      const rows = fetched.filter((r) => !alreadySeen(cp.boundary, r.deleted_time, r.id));
      const seen = { maxSeen: cp.maxSeen, seenAtMax: [...cp.seenAtMax] };
      for (const r of rows) observe(seen, r.deleted_time, r.id);
      const deleted = rows.map((r) => ({
        ref: { system, object: stream, id: r.id },
        deletedAt: r.deleted_time ?? null,
        state: r.type === 'recycle' ? ('archived' as const) : ('deleted' as const),
      }));
      // The next run asks from one second before the latest change observed: If-Modified-Since has
      // second precision and records sharing that second must not be lost. Those already observed at
      // that second are skipped by id (unless there were too many to remember: then they are re-read).
      let next: ZohoCheckpoint;
      if (more) next = { ...cp, ...seen, page: cp.page + 1 };
      else if (!seen.maxSeen)
        next = { ...cp, phase: 'records', page: 1, pageToken: null, maxSeen: null, seenAtMax: [] };
      else {
        const carried = cp.boundary && Date.parse(cp.boundary.at) === Date.parse(seen.maxSeen) ? cp.boundary.ids : [];
        const ids = [...new Set([...carried, ...seen.seenAtMax])];
        next = {
          since: zohoDateTime(new Date(Date.parse(seen.maxSeen) - 1000)),
          phase: 'records',
          page: 1,
          pageToken: null,
          lastId: cp.lastId,
          maxSeen: null,
          seenAtMax: [],
          boundary: ids.length <= MAX_BOUNDARY_IDS ? { at: seen.maxSeen, ids } : null,
        };
      }
      yield { records: [], deleted, checkpoint: next };
      cp = next;
      if (!more) break;
    }
  }

  // COQL: https://www.zoho.com/crm/developer/docs/api/v8/Get-Records-through-COQL-Query.html
  // Credits follow LIMIT (1-200: 1, 201-1000: 2, 1001-2000: 3), so the cost is declared per call.
  const coql = async (ctx: OperationContext, query: string, limit: number, offset = 0): Promise<ZohoRecord[]> => {
    const res = await call(
      ctx,
      'coql',
      'POST',
      '/crm/v8/coql',
      { json: { select_query: `${query} limit ${limit}${offset > 0 ? ` offset ${offset}` : ''}` } },
      { cost: coqlCost(limit), group: 'heavy' },
    );
    return client.parse(listEnvelope, res, 'a COQL query')?.data ?? [];
  };

  /**
   * Every row of a COQL query: a first call at LIMIT 200 (1 credit) answers the usual look-up; a full page
   * goes on at LIMIT 2,000 (the per-call maximum) with OFFSET, in COQL's default order (record id).
   */
  const coqlAll = async (ctx: OperationContext, query: string): Promise<ZohoRecord[]> => {
    const rows = await coql(ctx, query, PER_PAGE);
    if (rows.length < PER_PAGE) return rows;
    for (let offset = PER_PAGE; ; offset += COQL_LIMIT_MAX) {
      const page = await coql(ctx, query, COQL_LIMIT_MAX, offset);
      rows.push(...page);
      if (page.length < COQL_LIMIT_MAX) return rows;
    }
  };

  const personFields = (module: ZohoModule) =>
    requiredFields(module).filter((n) => n !== 'Data_Processing_Basis_Details');

  const selectPeople = (module: ZohoModule, where: string) =>
    `select ${personFields(module).join(', ')} from ${module} where ${where}`;

  // Search: https://www.zoho.com/crm/developer/docs/api/v8/search-records.html
  const searchPhone = async (ctx: OperationContext, module: ZohoModule, phone: string): Promise<ZohoRecord[]> => {
    const rows: ZohoRecord[] = [];
    for (let page = 1; page <= DISCRETE_PAGE_LIMIT; page++) {
      const res = await call(ctx, 'search', 'GET', `/crm/v8/${module}/search`, {
        query: { phone, fields: requiredFields(module).join(','), per_page: PER_PAGE, page },
      });
      const env = client.parse(listEnvelope, res, `a ${module} search`);
      rows.push(...(env?.data ?? []));
      if (!env?.info?.more_records) return rows;
    }
    // Search stops at 2,000 hits (LIMIT_REACHED): COQL reaches the rest.
    return coqlAll(ctx, selectPeople(module, anyFieldIn(PHONE_FIELDS, phoneForms(phone))));
  };

  /** The phone identities a row holds in one of the forms COQL was asked for. */
  const phoneHits = (row: ZohoRecord, formsByPhone: Map<string, Set<string>>): string[] => {
    const held = PHONE_FIELDS.map((f) => row[f]).filter((v): v is string => typeof v === 'string');
    return [...formsByPhone].filter(([, forms]) => held.some((v) => forms.has(v.trim()))).map(([p]) => p);
  };

  /**
   * People by identities with one COQL call per module per chunk (50 emails, or phones up to 50 forms),
   * not per person: COQL has no indexing delay, search does. With `fresh` (verify, opt-out) only COQL is
   * used; otherwise a phone that no COQL form matched in any module is also searched (Zoho's phone search
   * reaches numbers typed in other ways), one search per such phone and module.
   */
  const findIn = async (ctx: OperationContext, identities: Identity[], fresh: boolean): Promise<CrmRecord[]> => {
    const found = new Map<string, CrmRecord>();
    const vendorRefs: RecordRef[] = [];
    for (const identity of identities) {
      if (identity.kind !== 'vendor_id') continue;
      const [sys, object, id] = identity.value.split(':');
      if (sys === system && object && id && isModule(object)) vendorRefs.push({ system, object, id });
    }
    if (vendorRefs.length > 0)
      for (const rec of await get(vendorRefs, ctx)) if (rec) found.set(`${rec.ref.object}:${rec.ref.id}`, rec);

    const emails = valuesOfKind(identities, 'email');
    const formsByPhone = new Map(valuesOfKind(identities, 'phone').map((p) => [p, phoneForms(p)] as const));
    const phoneGroups = packByValues([...formsByPhone.keys()], (p) => formsByPhone.get(p) ?? [], COQL_IN_MAX);
    const unmatched = new Set(formsByPhone.keys());
    const keep = (module: ZohoModule, rows: ZohoRecord[]) => {
      for (const r of rows) found.set(`${module}:${r.id}`, toCrmRecord(system, module, r));
    };
    // Every module's lists at once: the runtime bounds COQL's concurrency (Zoho's heavy-call sub-limit).
    await mapSettled(PERSON_MODULES, async (module) => {
      await mapSettled(chunk(emails, COQL_IN_MAX), async (batch) =>
        keep(module, await coqlAll(ctx, selectPeople(module, anyFieldIn(EMAIL_FIELDS, batch)))),
      );
      await mapSettled(phoneGroups, async (group) => {
        const forms = group.flatMap((p) => formsByPhone.get(p) ?? []).slice(0, COQL_IN_MAX);
        const hits = await coqlAll(ctx, selectPeople(module, anyFieldIn(PHONE_FIELDS, forms)));
        const groupForms = new Map(group.map((p) => [p, new Set(formsByPhone.get(p))] as const));
        for (const r of hits) for (const p of phoneHits(r, groupForms)) unmatched.delete(p);
        keep(module, hits);
      });
    });
    // A phone that no COQL form found in any module may be typed another way: Zoho's phone search.
    if (!fresh)
      for (const phone of unmatched)
        for (const module of PERSON_MODULES) keep(module, await searchPhone(ctx, module, phone));
    return [...found.values()];
  };

  const groupByModule = (refs: RecordRef[], operation: string): Map<ZohoModule, RecordRef[]> => {
    const groups = new Map<ZohoModule, RecordRef[]>();
    for (const ref of refs) {
      const m = moduleOf(ref, operation);
      groups.set(m, [...(groups.get(m) ?? []), ref]);
    }
    return groups;
  };

  // Get Records by ids (up to 100): https://www.zoho.com/crm/developer/docs/api/v8/get-records.html
  const getByIds = async (ctx: OperationContext, module: ZohoModule, ids: string[], fields?: string[]) => {
    const out = new Map<string, ZohoRecord>();
    await mapSettled(chunk(ids, BATCH), async (batch) => {
      const res = await call(ctx, 'get', 'GET', `/crm/v8/${module}`, {
        query: { ids: batch.join(','), fields: (fields ?? requiredFields(module)).slice(0, 50).join(',') },
      });
      for (const r of client.parse(listEnvelope, res, `Get Records of ${module} by id`)?.data ?? []) out.set(r.id, r);
    });
    return out;
  };

  const get = async (refs: RecordRef[], ctx: OperationContext): Promise<(CrmRecord | null)[]> => {
    const found = new Map<string, CrmRecord>();
    await mapSettled([...groupByModule(refs, 'get')], async ([module, group]) => {
      const rows = await getByIds(
        ctx,
        module,
        group.map((r) => r.id),
      );
      for (const [id, r] of rows) found.set(`${module}:${id}`, toCrmRecord(system, module, r));
    });
    return refs.map((r) => found.get(`${r.object}:${r.id}`) ?? null);
  };

  const related = async (persons: RecordRef[], ctx: OperationContext): Promise<CrmRecord[]> => {
    const ids = [...new Set(persons.map((p) => p.id))];
    const pages = await mapSettled(chunk(ids, COQL_IN_MAX), async (batch) => {
      const list = batch.map(coqlString).join(', ');
      const queries: [ActivityModule, string][] = [
        ['Notes', `select ${requiredFields('Notes').join(', ')} from Notes where Parent_Id in (${list})`],
        [
          'Tasks',
          `select ${requiredFields('Tasks').join(', ')} from Tasks where Who_Id in (${list}) or What_Id in (${list})`,
        ],
        [
          'Calls',
          `select ${requiredFields('Calls').join(', ')} from Calls where Who_Id in (${list}) or What_Id in (${list})`,
        ],
      ];
      return mapSettled(queries, async ([module, q]) => {
        const out: CrmRecord[] = [];
        for (let offset = 0; ; offset += COQL_LIMIT_MAX) {
          const rows = await coql(ctx, q, COQL_LIMIT_MAX, offset);
          out.push(...rows.map((r) => toCrmRecord(system, module, r)));
          if (rows.length < COQL_LIMIT_MAX) break;
        }
        return out;
      });
    });
    return pages.flat(2);
  };

  type Outcome = { outcome: RefResult['outcome']; reason?: string };
  /** Per-record `data[]` results, matched by `details.id` or, failing that, by position. */
  const perRecord = (res: ZohoResponse, ids: string[], what: string): Map<string, Outcome> => {
    const out = new Map<string, Outcome>();
    const env = client.parse(actionEnvelope, res, what);
    if (!env) {
      for (const id of ids) out.set(id, { outcome: 'done' });
      return out;
    }
    env.data.forEach((entry, i) => {
      const id = typeof entry.details?.id === 'string' ? entry.details.id : ids[i];
      if (!id) return;
      if (entry.status === 'success') out.set(id, { outcome: 'done' });
      else if (entry.code === 'INVALID_DATA' || entry.code === 'RECORD_NOT_FOUND')
        out.set(id, { outcome: 'already_gone', reason: entry.code });
      else out.set(id, { outcome: 'failed', reason: `${entry.code}: ${entry.message ?? ''}`.trim() });
    });
    return out;
  };

  /** Zoho answers a batch with an all-failed result as a 4xx carrying the same `data[]`. */
  const actionCall = async (
    ctx: OperationContext,
    operation: string,
    method: string,
    path: string,
    ids: string[],
    input: { query?: Record<string, string>; json?: unknown },
  ): Promise<Map<string, Outcome>> => {
    try {
      const res = await call(ctx, operation, method, path, input, { idempotent: method !== 'POST' });
      return perRecord(res, ids, `${operation} ${path}`);
    } catch (err) {
      const cause = err instanceof ConnectorError ? err.cause : err;
      if (cause instanceof HttpError && cause.status === 400 && actionEnvelope.safeParse(cause.body).success)
        return perRecord({ status: 400, headers: cause.headers, body: cause.body }, ids, `${operation} ${path}`);
      throw err;
    }
  };

  const results = (refs: RecordRef[], outcomes: Map<string, Outcome>): RefResult[] =>
    refs.map((ref) => {
      const o = outcomes.get(ref.id) ?? { outcome: 'failed' as const, reason: 'no result from Zoho for this id' };
      return { ref, outcome: o.outcome, ...(o.reason ? { reason: o.reason } : {}) };
    });

  // Update Records (100 a call): https://www.zoho.com/crm/developer/docs/api/v8/update-records.html
  const putRecords = async (
    ctx: OperationContext,
    module: ZohoModule,
    rows: { id: string; set: Record<string, unknown> }[],
  ) => {
    const outcomes = new Map<string, Outcome>();
    for (const batch of chunk(rows, BATCH)) {
      const r = await actionCall(
        ctx,
        'update',
        'PUT',
        `/crm/v8/${module}`,
        batch.map((b) => b.id),
        { json: { data: batch.map((b) => ({ id: b.id, ...b.set })) } },
      );
      for (const [k, v] of r)
        outcomes.set(k, v.outcome === 'already_gone' ? { outcome: 'failed', reason: v.reason ?? 'INVALID_DATA' } : v);
    }
    return outcomes;
  };

  const purge = async (refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> => {
    const outcomes = new Map<string, Outcome>();
    // Recycle bin purge (v8 OAS, recycle_bin.json): DELETE /crm/v8/settings/recycle_bin?ids=
    // https://github.com/zoho/crm-oas/blob/main/v8.0/recycle_bin.json
    for (const batch of chunk([...new Set(refs.map((r) => r.id))], BATCH)) {
      const r = await actionCall(ctx, 'purge', 'DELETE', '/crm/v8/settings/recycle_bin', batch, {
        query: { ids: batch.join(',') },
      });
      for (const [k, v] of r) outcomes.set(k, v);
    }
    return results(refs, outcomes);
  };

  const erase = async (refs: RecordRef[], eraseOptions: { permanent: boolean }, ctx: OperationContext) => {
    const outcomes = new Map<string, Outcome>();
    const deleted: RecordRef[] = [];
    for (const [module, group] of groupByModule(refs, 'erase')) {
      if (!isPersonModule(module) && options.eraseActivities === 'redact') {
        const blank = Object.fromEntries(ACTIVITY_TEXT_FIELDS[module].map((f) => [f, REDACTED]));
        const r = await putRecords(
          ctx,
          module,
          group.map((g) => ({ id: g.id, set: blank })),
        );
        for (const [k, v] of r) outcomes.set(`${module}:${k}`, v);
        continue;
      }
      // Delete Records (100 ids a call, per-record data[], 207 when mixed):
      // https://www.zoho.com/crm/developer/docs/api/v8/delete-records.html
      for (const batch of chunk(group, BATCH)) {
        const ids = batch.map((b) => b.id);
        const r = await actionCall(ctx, 'delete', 'DELETE', `/crm/v8/${module}`, ids, {
          query: { ids: ids.join(','), wf_trigger: 'false' },
        });
        for (const ref of batch) {
          const o = r.get(ref.id);
          if (o) outcomes.set(`${module}:${ref.id}`, o);
          if (o?.outcome === 'done') deleted.push(ref);
        }
      }
    }
    if ((eraseOptions.permanent || options.permanentErase) && deleted.length > 0) {
      const purged = await purge(deleted, ctx);
      for (const p of purged)
        if (p.outcome === 'failed')
          outcomes.set(`${p.ref.object}:${p.ref.id}`, {
            outcome: 'failed',
            reason: `deleted but not purged: ${p.reason ?? ''}`,
          });
    }
    return refs.map((ref) => {
      const o = outcomes.get(`${ref.object}:${ref.id}`) ?? {
        outcome: 'failed' as const,
        reason: 'no result from Zoho for this id',
      };
      return { ref, outcome: o.outcome, ...(o.reason ? { reason: o.reason } : {}) };
    });
  };

  const update = async (changes: FieldChange[], ctx: OperationContext): Promise<RefResult[]> => {
    const out = new Map<string, RefResult>();
    const byModule = new Map<ZohoModule, FieldChange[]>();
    for (const c of changes) {
      const m = moduleOf(c.ref, 'update');
      byModule.set(m, [...(byModule.get(m) ?? []), c]);
    }
    for (const [module, group] of byModule) {
      const withExpected = group.filter((c) => c.expected && Object.keys(c.expected).length > 0);
      const current = withExpected.length
        ? await getByIds(
            ctx,
            module,
            withExpected.map((c) => c.ref.id),
            [...new Set(withExpected.flatMap((c) => Object.keys(c.expected ?? {})))],
          )
        : new Map<string, ZohoRecord>();
      const writes: { id: string; set: Record<string, unknown> }[] = [];
      for (const c of group) {
        if (c.expected && Object.keys(c.expected).length > 0) {
          const row = current.get(c.ref.id);
          if (!row) {
            out.set(`${module}:${c.ref.id}`, { ref: c.ref, outcome: 'already_gone' });
            continue;
          }
          const conflict = Object.entries(c.expected).some(([k, v]) => (row[k] ?? null) !== (v ?? null));
          if (conflict) {
            out.set(`${module}:${c.ref.id}`, { ref: c.ref, outcome: 'failed', reason: 'conflict' });
            continue;
          }
        }
        writes.push({ id: c.ref.id, set: c.set });
      }
      const r = await putRecords(ctx, module, writes);
      for (const c of group) {
        const o = r.get(c.ref.id);
        if (o)
          out.set(`${module}:${c.ref.id}`, {
            ref: c.ref,
            outcome: o.outcome,
            ...(o.reason ? { reason: o.reason } : {}),
          });
      }
    }
    return changes.map(
      (c) =>
        out.get(`${c.ref.object}:${c.ref.id}`) ?? {
          ref: c.ref,
          outcome: 'failed',
          reason: 'no result from Zoho for this id',
        },
    );
  };

  /** Opt-out on every record of the person: the refs given plus other Contacts/Leads with the same emails. */
  const setMarketingOptOut = async (refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> => {
    const persons = refs.filter((r) => isPersonModule(r.object));
    const current = await get(persons, ctx);
    const emails = new Set<string>();
    for (const rec of current) if (rec?.canonical.email) emails.add(rec.canonical.email.toLowerCase());
    const all = new Map<string, RecordRef>(persons.map((r) => [`${r.object}:${r.id}`, r]));
    if (emails.size > 0) {
      for (const rec of await findIn(
        ctx,
        [...emails].map((value) => ({ kind: 'email' as const, value })),
        true,
      ))
        all.set(`${rec.ref.object}:${rec.ref.id}`, rec.ref);
    }
    const changes = [...all.values()].map((ref) => ({ ref, set: { Email_Opt_Out: true } }));
    const res = await update(changes, ctx);
    const skipped = refs
      .filter((r) => !isPersonModule(r.object))
      .map((ref) => ({ ref, outcome: 'skipped' as const, reason: 'not a person record' }));
    return [...res, ...skipped];
  };

  const verifyErased = async (
    refs: RecordRef[],
    identities: Identity[],
    ctx: OperationContext,
  ): Promise<RefResult[]> => {
    const live = await get(refs, ctx);
    // Recycle bin listing (v8 OAS recycle_bin.json): restorable copies are not erased when purging is on.
    const inBin = new Set<string>();
    if (options.permanentErase) {
      for (const batch of chunk(
        refs.map((r) => r.id),
        BATCH,
      )) {
        const res = await call(ctx, 'recycle-bin', 'GET', '/crm/v8/settings/recycle_bin', {
          query: { ids: batch.join(',') },
        });
        const env = client.parse(
          z.object({ recycle_bin: z.array(z.looseObject({ id: z.string() })) }),
          res,
          'the recycle bin',
        );
        for (const r of env?.recycle_bin ?? []) inBin.add(r.id);
      }
    }
    const out: RefResult[] = refs.map((ref, i) => {
      if (live[i]) return { ref, outcome: 'failed', reason: 'record still exists' };
      if (inBin.has(ref.id)) return { ref, outcome: 'failed', reason: 'record is still in the recycle bin' };
      return { ref, outcome: 'done' };
    });
    // Records the identities still find that were not given are reported with their own refs; the person
    // refs fail too, naming them (ids only).
    const leftovers = leftoverResults(
      refs,
      await findIn(
        ctx,
        identities.filter((i) => i.kind !== 'vendor_id'),
        true,
      ),
    );
    if (leftovers.length > 0) {
      const named = leftovers.slice(0, 5).map((r) => `${r.ref.object}:${r.ref.id}`);
      const reason = `${leftovers.length} other record(s) with these identities remain: ${named.join(', ')}`;
      const persons = out.filter((r) => isPersonModule(r.ref.object));
      for (const r of persons.length > 0 ? persons : out.slice(0, 1)) {
        r.outcome = 'failed';
        r.reason = reason;
      }
    }
    return [...out, ...leftovers];
  };

  return {
    read,
    find: (identities, ctx) => findIn(ctx, identities, false),
    get,
    related,
    erase,
    purge,
    verifyErased,
    update,
    setMarketingOptOut,
    // Org details (privacy_settings): https://www.zoho.com/crm/developer/docs/api/v8/get-org-data.html
    async check(ctx) {
      try {
        const res = await call(ctx, 'org', 'GET', '/crm/v8/org');
        const org = client.parse(
          z.object({ org: z.array(z.looseObject({ privacy_settings: z.boolean().optional() })) }),
          res,
          'the org',
        );
        const privacy = org?.org[0]?.privacy_settings === true;
        return [
          {
            check: 'connect',
            ok: true,
            message: `connected to ${client.apiBase()} (data centre ${client.dataCentre})`,
          },
          {
            check: 'gdpr-compliance',
            ok: privacy,
            message: privacy ? 'GDPR compliance is enabled' : 'GDPR compliance is off: consent fields are missing',
          },
        ];
      } catch (err) {
        return [{ check: 'connect', ok: false, message: err instanceof Error ? err.message : String(err) }];
      }
    },
    async onAuthExpired() {
      client.tokens.invalidate();
    },
  };
}
