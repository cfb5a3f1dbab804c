/**
 * The Zoho CRM v8 look-alike: OAuth refresh, Get Records (mandatory `fields` <= 50, `page` up to 2,000
 * records then `page_token`, If-Modified-Since, Modified_Time sort), search, COQL, update, delete (100 ids,
 * per-record `data[]`, 207 when mixed), the deleted-records feed, the recycle bin (list and purge), field
 * metadata and org. Shapes follow https://www.zoho.com/crm/developer/docs/api/v8/ and the v8 OAS
 * (github.com/zoho/crm-oas). Error bodies: `{ code, details, message, status: 'error' }`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SeedWorld } from '../kit/seed-types.js';
import { partitionPoint } from '../kit/sorted.js';
import type { SandboxRequest, SandboxResponse, VendorApp } from '../kit/types.js';
import { CoqlSyntaxError, conditionCount, equalities, largestIn, matches, parseCoql } from './coql.js';
import { FIELD_METADATA, ZOHO_MODULES, type ZohoModuleName, type ZohoRow, ZohoStore, zohoTime } from './store.js';

export { ZohoStore } from './store.js';

export interface ZohoAppOptions {
  /** Client credentials the OAuth endpoint accepts (any when unset). */
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** Daily credits (default 50,000). */
  dailyCredits?: number;
  /**
   * Calls one token may have in flight (default 20, the Enterprise edition). Zoho limits concurrency and
   * daily credits, not calls per second: https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html
   */
  concurrency?: number;
  /** Records changed less than this long ago are not yet in the search index (Zoho's search lag). */
  searchLagMs?: number;
  now?: () => Date;
}

const PER_PAGE_MAX = 200;
const DISCRETE_LIMIT = 2000;
const TOKEN_REACH = 100_000;
const MAX_FIELDS = 50;
const COQL_IN_MAX = 50;
const BATCH = 100;

const error = (
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): SandboxResponse => ({
  status,
  body: { code, details, message, status: 'error' },
});

function isModule(m: string): m is ZohoModuleName {
  return (ZOHO_MODULES as readonly string[]).includes(m);
}

function pick(row: ZohoRow, fields: string[]): ZohoRow {
  const out: ZohoRow = { id: row.id };
  for (const f of fields) if (f in row) out[f] = row[f];
  // Zoho always returns the module of a polymorphic lookup with it.
  if ('$se_module' in row && (fields.includes('What_Id') || fields.includes('Parent_Id')))
    out.$se_module = row.$se_module;
  return out;
}

function idsParam(req: SandboxRequest): string[] {
  return (req.query.get('ids') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function createZohoApp(world: SeedWorld, options: ZohoAppOptions = {}): VendorApp & { store: ZohoStore } {
  const now = options.now ?? (() => new Date());
  const store = new ZohoStore(world, now);
  const tokens = new Map<string, { expired: boolean }>();
  /** Page tokens: opaque to clients, bound to module, fields and If-Modified-Since, valid 24 h. */
  const pageTokens = new Map<string, { binding: string; offset: number; expires: number }>();
  const changedAt = new Map<string, number>();
  const dailyLimit = options.dailyCredits ?? 50_000;

  const since = (req: SandboxRequest): number | null => {
    const h = req.headers['if-modified-since'];
    const v = Array.isArray(h) ? h[0] : h;
    if (!v) return null;
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  };

  // POST /oauth/v2/token (form): https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html
  const token = (req: SandboxRequest): SandboxResponse => {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
    const param = (k: string) => body[k] ?? req.query.get(k) ?? undefined;
    if (param('grant_type') !== 'refresh_token') return { status: 200, body: { error: 'unsupported_grant_type' } };
    if (options.clientId && param('client_id') !== options.clientId)
      return { status: 200, body: { error: 'invalid_client' } };
    if (options.clientSecret && param('client_secret') !== options.clientSecret)
      return { status: 200, body: { error: 'invalid_client_secret' } };
    if (options.refreshToken && param('refresh_token') !== options.refreshToken)
      return { status: 200, body: { error: 'invalid_code' } };
    const access = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    tokens.set(access, { expired: false });
    const host = req.headers.host ?? '127.0.0.1';
    return {
      status: 200,
      body: {
        access_token: access,
        api_domain: `http://${host}`,
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'ZohoCRM.modules.ALL',
      },
    };
  };

  const fieldsParam = (req: SandboxRequest): string[] | SandboxResponse => {
    const raw = req.query.get('fields');
    if (!raw)
      return error(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'fields' });
    const fields = raw.split(',').map((f) => f.trim());
    if (fields.length > MAX_FIELDS)
      return error(400, 'LIMIT_EXCEEDED', 'fields limit exceeded', { limit: MAX_FIELDS, param: 'fields' });
    return fields;
  };

  // GET /crm/v8/{module}: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html
  const list = (req: SandboxRequest, module: ZohoModuleName): SandboxResponse => {
    const fields = fieldsParam(req);
    if (!Array.isArray(fields)) return fields;
    const ids = idsParam(req);
    if (ids.length > 0) {
      if (ids.length > BATCH) return error(400, 'LIMIT_EXCEEDED', 'too many ids', { limit: BATCH, param: 'ids' });
      const rows = ids.map((id) => store.get(id, module)).filter((r): r is ZohoRow => r !== null);
      return rows.length === 0
        ? { status: 204 }
        : {
            status: 200,
            body: {
              data: rows.map((r) => pick(r, fields)),
              info: { per_page: BATCH, count: rows.length, page: 1, more_records: false },
            },
          };
    }
    const perPage = Number(req.query.get('per_page') ?? PER_PAGE_MAX);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > PER_PAGE_MAX)
      return error(400, 'INVALID_DATA', 'invalid per_page', { param: 'per_page', maximum_length: PER_PAGE_MAX });
    const sortBy = req.query.get('sort_by') ?? 'id';
    const desc = (req.query.get('sort_order') ?? (sortBy === 'id' ? 'desc' : 'desc')) === 'desc';
    const ims = since(req);
    const binding = JSON.stringify([module, req.query.get('fields'), perPage, sortBy, desc, ims]);
    const pageToken = req.query.get('page_token');
    const pageParam = req.query.get('page');
    if (pageToken && pageParam)
      return error(400, 'AMBIGUITY_DURING_PROCESSING', 'page and page_token cannot be given together', {});
    let offset: number;
    if (pageToken) {
      const t = pageTokens.get(pageToken);
      if (!t || t.expires < now().getTime())
        return error(400, 'EXPIRED_VALUE', 'the page token has expired', { param: 'page_token' });
      if (t.binding !== binding)
        return error(400, 'TOKEN_BOUND_DATA_MISMATCH', 'the page token belongs to other parameters', {
          param: 'page_token',
        });
      offset = t.offset;
      if (offset >= TOKEN_REACH)
        return error(400, 'PAGINATION_LIMIT_EXCEEDED', 'cannot fetch more than 100000 records', { limit: TOKEN_REACH });
    } else {
      const page = Number(pageParam ?? 1);
      offset = (page - 1) * perPage;
      if (offset + perPage > DISCRETE_LIMIT)
        return error(
          400,
          'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
          'cannot fetch more than 2000 records using page. Use page_token',
          { limit: DISCRETE_LIMIT },
        );
    }
    let index = store.sortedIndex(module);
    if (ims !== null) {
      // If-Modified-Since: records modified after the given time.
      index = index.slice(partitionPoint(index, (e) => e.t <= ims));
    }
    if (sortBy === 'id') index = [...index].sort((a, b) => (a.id < b.id ? -1 : 1));
    if (desc) index = [...index].reverse();
    const slice = index.slice(offset, offset + perPage);
    if (slice.length === 0) return ims !== null && offset === 0 ? { status: 304 } : { status: 204 };
    const more = offset + perPage < index.length;
    let next: string | null = null;
    if (more) {
      next = createHash('sha256')
        .update(`${binding}:${offset + perPage}:${randomBytes(8).toString('hex')}`)
        .digest('hex');
      pageTokens.set(next, { binding, offset: offset + perPage, expires: now().getTime() + 86_400_000 });
    }
    const rows = slice.map(({ id }) => store.get(id)).filter((r): r is ZohoRow => r !== null);
    return {
      status: 200,
      body: {
        data: rows.map((r) => pick(r, fields)),
        info: {
          per_page: perPage,
          next_page_token: next,
          count: rows.length,
          sort_by: sortBy,
          page: Math.floor(offset / perPage) + 1,
          previous_page_token: null,
          page_token_expiry: more ? zohoTime(new Date(now().getTime() + 86_400_000)) : null,
          sort_order: desc ? 'desc' : 'asc',
          more_records: more,
        },
      },
    };
  };

  const indexed = (row: ZohoRow) => {
    const lag = options.searchLagMs ?? 0;
    const at = changedAt.get(row.id);
    return lag === 0 || at === undefined || now().getTime() - at >= lag;
  };

  // GET /crm/v8/{module}/search: https://www.zoho.com/crm/developer/docs/api/v8/search-records.html
  const search = (req: SandboxRequest, module: ZohoModuleName): SandboxResponse => {
    if (module !== 'Contacts' && module !== 'Leads')
      return error(400, 'INVALID_MODULE', 'search is not supported here', {});
    const email = req.query.get('email');
    const phone = req.query.get('phone');
    const criteria = req.query.get('criteria');
    let rows: ZohoRow[];
    if (email) rows = store.byContact(module, 'email', email);
    else if (phone) rows = store.byContact(module, 'phone', phone);
    else if (criteria) {
      const m =
        /^\(\((?:Email|Secondary_Email|Phone|Mobile)\):equals:(.+)\)$/.exec(criteria) ??
        /^\((Email|Secondary_Email|Phone|Mobile):equals:(.+)\)$/.exec(criteria);
      if (!m)
        return error(400, 'INVALID_QUERY', 'criteria supported: (Email|Phone:equals:value)', { param: 'criteria' });
      const value = m[m.length - 1] as string;
      rows = store.byContact(module, value.includes('@') ? 'email' : 'phone', value);
    } else
      return error(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', {
        param: 'criteria|email|phone|word',
      });
    rows = rows.filter(indexed);
    const perPage = Math.min(Number(req.query.get('per_page') ?? PER_PAGE_MAX), PER_PAGE_MAX);
    const page = Number(req.query.get('page') ?? 1);
    if (page * perPage > DISCRETE_LIMIT)
      return error(400, 'LIMIT_REACHED', 'search results exceed 2000 records', { limit: DISCRETE_LIMIT });
    const slice = rows.slice((page - 1) * perPage, page * perPage);
    if (slice.length === 0) return { status: 204 };
    const fields = req.query.get('fields')?.split(',') ?? null;
    return {
      status: 200,
      body: {
        data: slice.map((r) => (fields ? pick(r, fields) : r)),
        info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < rows.length },
      },
    };
  };

  // POST /crm/v8/coql: https://www.zoho.com/crm/developer/docs/api/v8/Get-Records-through-COQL-Query.html
  const coql = (req: SandboxRequest): SandboxResponse => {
    const q = (req.body as { select_query?: unknown } | undefined)?.select_query;
    if (typeof q !== 'string')
      return error(400, 'REQUIRED_PARAM_MISSING', 'select_query is missing', { param: 'select_query' });
    let parsed: ReturnType<typeof parseCoql>;
    try {
      parsed = parseCoql(q);
    } catch (err) {
      return error(400, 'SYNTAX_ERROR', err instanceof CoqlSyntaxError ? err.message : 'invalid query', {});
    }
    if (!isModule(parsed.module)) return error(400, 'INVALID_QUERY', 'invalid module', { module: parsed.module });
    if (parsed.fields.length > MAX_FIELDS)
      return error(400, 'LIMIT_EXCEEDED', 'select allows 50 fields', { limit: MAX_FIELDS });
    if (conditionCount(parsed.where) > 25)
      return error(400, 'LIMIT_EXCEEDED', 'where allows 25 conditions', { limit: 25 });
    // COQL limitations: `in` takes up to 50 values. https://www.zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html
    if (largestIn(parsed.where) > COQL_IN_MAX)
      return error(400, 'LIMIT_EXCEEDED', 'in allows 50 values', { limit: COQL_IN_MAX });
    if (parsed.limit > 2000) return error(400, 'LIMIT_EXCEEDED', 'limit is at most 2000', { limit: 2000 });
    if (parsed.offset + parsed.limit > TOKEN_REACH)
      return error(400, 'LIMIT_EXCEEDED', 'offset reaches 100000 records', { limit: TOKEN_REACH });
    const module = parsed.module;
    // Candidate records: index lookups for email/phone and activity parents, else a scan.
    let candidates: ZohoRow[];
    const emails = equalities(parsed.where, ['Email', 'Secondary_Email']);
    const phones = equalities(parsed.where, ['Phone', 'Mobile']);
    const parents = lookupIds(parsed.where);
    if (emails) candidates = emails.flatMap((e) => store.byContact(module, 'email', e));
    else if (phones) candidates = phones.flatMap((p) => store.byContact(module, 'phone', p));
    else if (parents && (module === 'Notes' || module === 'Tasks' || module === 'Calls'))
      candidates = store.activitiesOf(module, parents);
    else
      candidates = store
        .sortedIndex(module)
        .map(({ id }) => store.get(id))
        .filter((r): r is ZohoRow => r !== null);
    const unique = new Map(candidates.map((r) => [r.id, r]));
    let rows = [...unique.values()].filter((r) => matches(r, parsed.where));
    if (parsed.orderBy) {
      const f = parsed.orderBy.field;
      rows.sort((a, b) => String(a[f] ?? '').localeCompare(String(b[f] ?? '')) * (parsed.orderBy?.desc ? -1 : 1));
    }
    const total = rows.length;
    rows = rows.slice(parsed.offset, parsed.offset + parsed.limit);
    if (rows.length === 0) return { status: 204 };
    return {
      status: 200,
      body: {
        data: rows.map((r) => pick(r, parsed.fields)),
        info: { count: rows.length, more_records: parsed.offset + parsed.limit < total },
      },
    };
  };

  // PUT /crm/v8/{module}: https://www.zoho.com/crm/developer/docs/api/v8/update-records.html
  const update = (req: SandboxRequest, module: ZohoModuleName): SandboxResponse => {
    const data = (req.body as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(data) || data.length === 0)
      return error(400, 'INVALID_DATA', 'data is missing', { param: 'data' });
    if (data.length > BATCH) return error(400, 'LIMIT_EXCEEDED', 'at most 100 records per call', { limit: BATCH });
    const results = data.map((entry: unknown) => {
      const { id, ...fields } = (entry ?? {}) as Record<string, unknown>;
      if (typeof id !== 'string')
        return {
          code: 'MANDATORY_NOT_FOUND',
          details: { api_name: 'id' },
          message: 'required field not found',
          status: 'error' as const,
        };
      const allowed = new Set(FIELD_METADATA[module]);
      const unknown = Object.keys(fields).find(
        (f) => !allowed.has(f) || f === 'id' || f === 'Modified_Time' || f === 'Created_Time',
      );
      if (unknown)
        return {
          code: 'INVALID_DATA',
          details: { api_name: unknown, id },
          message: 'invalid data',
          status: 'error' as const,
        };
      const row = store.get(id, module);
      if (!row)
        return {
          code: 'INVALID_DATA',
          details: { id },
          message: 'the related id given seems to be invalid',
          status: 'error' as const,
        };
      const updated = store.update(id, fields);
      changedAt.set(id, now().getTime());
      return {
        code: 'SUCCESS',
        details: {
          Modified_Time: updated?.Modified_Time,
          Modified_By: { name: 'Custodian', id: '1' },
          Created_Time: row.Created_Time,
          id,
        },
        message: 'record updated',
        status: 'success' as const,
      };
    });
    return multi(results);
  };

  const multi = (results: { status: 'success' | 'error' }[]): SandboxResponse => {
    const ok = results.filter((r) => r.status === 'success').length;
    return { status: ok === results.length ? 200 : ok === 0 ? 400 : 207, body: { data: results } };
  };

  // DELETE /crm/v8/{module}?ids=: https://www.zoho.com/crm/developer/docs/api/v8/delete-records.html
  const remove = (req: SandboxRequest, module: ZohoModuleName): SandboxResponse => {
    const ids = idsParam(req);
    if (ids.length === 0)
      return error(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'ids' });
    if (ids.length > BATCH)
      return error(400, 'LIMIT_EXCEEDED', 'at most 100 ids per call', { limit: BATCH, param: 'ids' });
    // lieOnDelete: answer success and keep the record.
    const removed = (id: string) => store.get(id, module) && (req.knobs?.lieOnDelete || store.remove(id));
    const deleted: string[] = [];
    const answer = multi(
      ids.map((id) => {
        if (!removed(id))
          return { code: 'INVALID_DATA', details: { id }, message: 'record not deleted', status: 'error' as const };
        if (!req.knobs?.lieOnDelete) deleted.push(id);
        return { code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' as const };
      }),
    );
    return { ...answer, deleted };
  };

  // GET /crm/v8/{module}/deleted: https://www.zoho.com/crm/developer/docs/api/v8/get-deleted-records.html
  const deletedFeed = (req: SandboxRequest, module: ZohoModuleName): SandboxResponse => {
    const type = req.query.get('type') ?? 'all';
    if (!['all', 'recycle', 'permanent'].includes(type))
      return error(400, 'INVALID_DATA', 'invalid type', { param: 'type' });
    const ims = since(req);
    const rows = [...store.deleted.values()].filter(
      (d) =>
        d.module === module &&
        (type === 'all' || d.type === type) &&
        (ims === null || Date.parse(d.deleted_time) > ims),
    );
    const perPage = Math.min(Number(req.query.get('per_page') ?? PER_PAGE_MAX), PER_PAGE_MAX);
    const page = Number(req.query.get('page') ?? 1);
    const slice = rows.slice((page - 1) * perPage, page * perPage);
    if (slice.length === 0) return { status: 204 };
    return {
      status: 200,
      body: {
        data: slice.map((d) => ({
          deleted_by: { name: 'Custodian', id: '1' },
          id: d.id,
          display_name: d.type === 'recycle' ? d.display_name : null,
          type: d.type,
          created_by: { name: 'Owner', id: '2' },
          deleted_time: d.deleted_time,
        })),
        info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < rows.length },
      },
    };
  };

  // GET/DELETE /crm/v8/settings/recycle_bin: v8 OAS recycle_bin.json (github.com/zoho/crm-oas).
  const recycleBin = (req: SandboxRequest): SandboxResponse => {
    const ids = idsParam(req);
    if (req.method === 'DELETE') {
      if (ids.length === 0)
        return error(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'ids' });
      if (ids.length > BATCH)
        return error(400, 'LIMIT_EXCEEDED', 'at most 100 ids per call', { limit: BATCH, param: 'ids' });
      return multi(
        ids.map((id) =>
          store.purge(id)
            ? { code: 'SUCCESS', details: { id }, message: 'record deleted permanently', status: 'success' as const }
            : {
                code: 'INVALID_DATA',
                details: { id },
                message: 'record not in the recycle bin',
                status: 'error' as const,
              },
        ),
      );
    }
    const rows = [...store.deleted.values()].filter(
      (d) => d.type === 'recycle' && (ids.length === 0 || ids.includes(d.id)),
    );
    if (rows.length === 0) return { status: 204 };
    return {
      status: 200,
      body: {
        recycle_bin: rows.slice(0, PER_PAGE_MAX).map((d) => ({
          id: d.id,
          display_name: d.display_name,
          module: { api_name: d.module, id: '1' },
          deleted_time: d.deleted_time,
          deleted_by: { name: 'Custodian', id: '1' },
        })),
        info: {
          per_page: PER_PAGE_MAX,
          count: Math.min(rows.length, PER_PAGE_MAX),
          page: 1,
          more_records: rows.length > PER_PAGE_MAX,
        },
      },
    };
  };

  const route = (req: SandboxRequest): SandboxResponse => {
    if (req.method === 'POST' && req.path === '/oauth/v2/token') return token(req);
    const parts = req.path.split('/').filter(Boolean);
    if (parts[0] !== 'crm' || parts[1] !== 'v8')
      return error(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one', {});
    const [a, b, c] = parts.slice(2);
    if (a === 'coql' && req.method === 'POST' && !b) return coql(req);
    if (a === 'org' && req.method === 'GET' && !b)
      return {
        status: 200,
        body: { org: [{ id: '1', company_name: 'Sandbox', privacy_settings: true, country_code: 'DE' }] },
      };
    if (a === 'settings' && b === 'fields' && req.method === 'GET') {
      const module = req.query.get('module') ?? '';
      if (!isModule(module))
        return error(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { param: 'module' });
      return {
        status: 200,
        body: {
          fields: FIELD_METADATA[module].map((api_name, i) => ({
            api_name,
            id: String(1000 + i),
            data_type: api_name.endsWith('_Time') ? 'datetime' : api_name === 'Email_Opt_Out' ? 'boolean' : 'text',
            custom_field: api_name.startsWith('Custom_Field_'),
            visible: true,
          })),
        },
      };
    }
    if (a === 'settings' && b === 'recycle_bin' && !c && (req.method === 'GET' || req.method === 'DELETE'))
      return recycleBin(req);
    if (!a || !isModule(a)) return error(400, 'INVALID_MODULE', 'the module name given seems to be invalid', {});
    if (!b) {
      if (req.method === 'GET') return list(req, a);
      if (req.method === 'PUT') return update(req, a);
      if (req.method === 'DELETE') return remove(req, a);
      return error(405, 'METHOD_NOT_ALLOWED', 'method not allowed', {});
    }
    if (b === 'search' && req.method === 'GET') return search(req, a);
    if (b === 'deleted' && req.method === 'GET') return deletedFeed(req, a);
    if (!c && req.method === 'GET') {
      const row = store.get(b, a);
      return row ? { status: 200, body: { data: [row] } } : { status: 204 };
    }
    return error(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one', {});
  };

  return {
    vendor: 'zoho',
    store,
    endpointKey(method, path) {
      const key = path
        .replace(/^\/crm\/v8\/(Contacts|Leads|Notes|Tasks|Calls)\/(\d{6,})$/, '/crm/v8/$1/{id}')
        .replace(/\/\d{6,}(?=\/|$)/g, '/{id}');
      return `${method} ${key}`;
    },
    handle: route,
    isPublic: (req) => req.path === '/oauth/v2/token',
    tokenValid(t) {
      if (!t) return false;
      const entry = tokens.get(t);
      return entry !== undefined && !entry.expired;
    },
    expireTokens() {
      for (const entry of tokens.values()) entry.expired = true;
    },
    responses: {
      unauthorized: () => error(401, 'INVALID_TOKEN', 'invalid oauth token'),
      serverError: () => error(500, 'INTERNAL_ERROR', 'Internal Server Error'),
      notFound: () => error(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one'),
      malformedBody: () => error(400, 'INVALID_DATA', 'body is not valid JSON'),
      rateLimited: () => ({
        ...error(429, 'TOO_MANY_REQUESTS', 'concurrency limit of the user for the app is exceeded'),
      }),
      quotaExhausted: () => ({
        ...error(429, 'TOO_MANY_REQUESTS', 'Number of API requests for the 24 hour period is exceeded'),
        headers: { 'X-API-CREDITS-REMAINING': '0' },
      }),
    },
    rateLimits: [],
    maxConcurrentPerToken: options.concurrency ?? 20,
    usageHeaders: (dailyUsed) => ({ 'X-API-CREDITS-REMAINING': String(Math.max(0, dailyLimit - dailyUsed)) }),
    dailyLimit,
  };
}

/** Ids from `Parent_Id in (...)`, `Who_Id = '...'` etc. (activity parents). */
function lookupIds(cond: ReturnType<typeof parseCoql>['where']): string[] | null {
  if (!cond) return null;
  if (cond.op === 'or') {
    const l = lookupIds(cond.left);
    const r = lookupIds(cond.right);
    return l && r ? [...l, ...r] : null;
  }
  if (cond.op === 'and') return lookupIds(cond.left) ?? lookupIds(cond.right);
  const field = cond.field.replace(/\.id$/, '');
  if (!['Parent_Id', 'Who_Id', 'What_Id'].includes(field)) return null;
  if (cond.op === 'in') return cond.values.map(String);
  return cond.cmp === '=' && typeof cond.value === 'string' ? [cond.value] : null;
}
