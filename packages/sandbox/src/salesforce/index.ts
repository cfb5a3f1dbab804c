/**
 * The Salesforce look-alike: what `jsforce` and the connector call, by instance URL. OAuth token endpoint
 * (refresh token, client credentials, JWT bearer), versions, limits, sObject describe, SOQL `query` and
 * `queryAll` with `nextRecordsUrl` paging (Sforce-Query-Options batchSize 200..2000), sObject rows
 * (GET, PATCH 204, DELETE 204), `updated`/`deleted` feeds, sObject Collections delete and update (200 records,
 * per-record results, allOrNone rollback), the Recycle Bin (15 days, visible to queryAll) and SOAP `emptyRecycleBin`.
 * Every answer carries `Sforce-Limit-Info: api-usage=N/M`; the daily quota answers 403
 * REQUEST_LIMIT_EXCEEDED. REST error bodies are arrays: `[{ message, errorCode, fields? }]`.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 */
import type { SeedWorld } from '../kit/seed-types.js';
import type { SandboxRequest, SandboxResponse, VendorApp } from '../kit/types.js';
import { collectionsUpdate } from './collections.js';
import { errors, notFound } from './errors.js';
import { deletedFeed, updatedFeed } from './feeds.js';
import { checkFieldValues } from './field-values.js';
import { newAccessToken, type OAuthClient, tokenEndpoint } from './oauth.js';
import { QueryError, runQuery } from './query.js';
import { collectionsDelete, emptyRecycleBin } from './recycle-bin.js';
import {
  decodeId,
  FIELDS,
  fieldOf,
  KEY_PREFIX,
  objectNamed,
  type SfField,
  type SfObjectName,
  type SfRow,
} from './schema.js';
import { parseSoapCall, SOAP_CONTENT_TYPE, soapFault } from './soap.js';
import { SalesforceStore } from './store.js';

export { MAX_IDS } from './collections.js';
export { SalesforceStore } from './store.js';

export interface SalesforceAppOptions extends OAuthClient {
  /** Daily API request allocation (default 100,000: the base of an Enterprise org). */
  dailyLimit?: number;
  now?: () => Date;
}

const BATCH_DEFAULT = 2000;
const BATCH_MIN = 200;
/** Open query cursors kept; older ones answer INVALID_QUERY_LOCATOR. */
const MAX_CURSORS = 100;
const API_VERSIONS = ['58.0', '59.0', '60.0', '61.0', '62.0', '63.0', '64.0'];

interface Cursor {
  resource: 'query' | 'queryAll';
  version: string;
  object: SfObjectName;
  select: SfField[];
  ids: string[];
  batch: number;
}

function batchSize(req: SandboxRequest): number {
  const header = req.headers['sforce-query-options'];
  const value = /batchSize\s*=\s*(\d+)/i.exec(Array.isArray(header) ? header.join(',') : (header ?? ''))?.[1];
  // "The default is 2,000; the minimum is 200, and the maximum is 2,000."
  return value ? Math.min(BATCH_DEFAULT, Math.max(BATCH_MIN, Number(value))) : BATCH_DEFAULT;
}

export function createSalesforceApp(
  world: SeedWorld,
  options: SalesforceAppOptions = {},
): VendorApp & { store: SalesforceStore } {
  const now = options.now ?? (() => new Date());
  const nowMs = () => now().getTime();
  const store = new SalesforceStore(world, nowMs);
  const tokens = new Map<string, { expired: boolean }>();
  const cursors = new Map<string, Cursor>();
  const dailyLimit = options.dailyLimit ?? 100_000;
  let cursorSeq = 0;

  const issue = () => {
    const token = newAccessToken();
    tokens.set(token, { expired: false });
    return token;
  };

  const attributes = (object: SfObjectName, id: string, version: string) => ({
    type: object,
    url: `/services/data/v${version}/sobjects/${object}/${id}`,
  });

  const project = (row: SfRow, object: SfObjectName, select: SfField[], version: string) => {
    const out: Record<string, unknown> = { attributes: attributes(object, row.Id, version) };
    for (const field of select) out[field.name] = row[field.name] ?? null;
    return out;
  };

  /** One page of a cursor from `offset`; the cursor is dropped after its last page. */
  const page = (key: string, cursor: Cursor, offset: number): SandboxResponse => {
    const slice = cursor.ids.slice(offset, offset + cursor.batch);
    const records = slice
      .map((id) => store.find(id))
      .filter((row): row is SfRow => row !== null && (cursor.resource === 'queryAll' || row.IsDeleted !== true))
      .map((row) => project(row, cursor.object, cursor.select, cursor.version));
    const done = offset + cursor.batch >= cursor.ids.length;
    if (done) cursors.delete(key);
    return {
      status: 200,
      body: {
        totalSize: cursor.ids.length,
        done,
        ...(done
          ? {}
          : { nextRecordsUrl: `/services/data/v${cursor.version}/${cursor.resource}/${key}-${offset + cursor.batch}` }),
        records,
      },
    };
  };

  // GET /query?q= and /queryAll?q=: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
  // (queryAll: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm)
  const query = (req: SandboxRequest, version: string, resource: 'query' | 'queryAll'): SandboxResponse => {
    const soql = req.query.get('q');
    if (!soql) return errors(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    let result: ReturnType<typeof runQuery>;
    try {
      result = runQuery(store, soql, resource === 'queryAll');
    } catch (error) {
      if (error instanceof QueryError) return errors(400, error.errorCode, error.message);
      throw error;
    }
    cursorSeq++;
    const id15 = `01g${String(cursorSeq).padStart(12, '0')}`;
    const key = `${id15}AAA`;
    cursors.set(key, { resource, version, ...result, batch: batchSize(req) });
    if (cursors.size > MAX_CURSORS) cursors.delete(cursors.keys().next().value as string);
    return page(key, cursors.get(key) as Cursor, 0);
  };

  // GET /query/{locator}-{offset}, the nextRecordsUrl of a page:
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm (Retrieving the Remaining SOQL Query Results)
  const queryMore = (locator: string): SandboxResponse => {
    const m = /^(.+)-(\d+)$/.exec(locator);
    const cursor = m ? cursors.get(m[1] as string) : undefined;
    if (!m || !cursor) return errors(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    return page(m[1] as string, cursor, Number(m[2]));
  };

  // GET /sobjects/{X}/describe: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
  const describe = (object: SfObjectName, version: string): SandboxResponse => ({
    status: 200,
    body: {
      name: object,
      label: object,
      keyPrefix: KEY_PREFIX[object],
      custom: false,
      queryable: true,
      deletable: true,
      updateable: true,
      fields: FIELDS[object].map((f) => ({
        name: f.name,
        label: f.label,
        type: f.type,
        custom: f.custom,
        updateable: f.updateable,
        createable: f.updateable,
        nillable: f.type !== 'boolean' && f.name !== 'Id' && f.name !== 'LastName',
        filterable: f.type !== 'textarea',
        sortable: f.type !== 'textarea',
        referenceTo: f.referenceTo ?? [],
        length: f.type === 'textarea' ? 32_000 : f.type === 'string' || f.type === 'email' ? 255 : 0,
      })),
      urls: {
        sobject: `/services/data/v${version}/sobjects/${object}`,
        describe: `/services/data/v${version}/sobjects/${object}/describe`,
        rowTemplate: `/services/data/v${version}/sobjects/${object}/{ID}`,
      },
    },
  });

  /** The record at an id of this object, or the 404 Salesforce gives for it. */
  const rowOr404 = (object: SfObjectName, id: string): SfRow | SandboxResponse => {
    const row = decodeId(id)?.object === object ? store.find(id) : null;
    if (!row) return notFound();
    if (row.IsDeleted === true) return errors(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
    return row;
  };

  // PATCH /sobjects/{X}/{id}: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
  const patch = (req: SandboxRequest, object: SfObjectName, id: string): SandboxResponse => {
    const row = rowOr404(object, id);
    if (!('Id' in row)) return row;
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))
      return errors(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object of field values');
    const checked = checkFieldValues(object, req.body as Record<string, unknown>);
    if ('refusal' in checked)
      return errors(400, checked.refusal.errorCode, checked.refusal.message, checked.refusal.fields);
    store.update(id, checked.set);
    return { status: 204 };
  };

  // GET /limits: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
  const limits = (req: SandboxRequest): SandboxResponse => ({
    status: 200,
    body: {
      DailyApiRequests: { Max: dailyLimit, Remaining: Math.max(0, dailyLimit - (req.dailyUsed ?? 0)) },
      DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
      DailyBulkApiBatches: { Max: 15_000, Remaining: 15_000 },
      ConcurrentAsyncGetReportInstances: { Max: 200, Remaining: 200 },
    },
  });

  const sobjects = (req: SandboxRequest, version: string, rest: string[]): SandboxResponse => {
    const [name, second, third] = rest;
    const object = name ? objectNamed(name) : undefined;
    if (!object) return notFound();
    if (second === 'describe' && !third && req.method === 'GET') return describe(object, version);
    if (second === 'updated' && !third && req.method === 'GET') return updatedFeed(store, req, object, nowMs());
    if (second === 'deleted' && !third && req.method === 'GET') return deletedFeed(store, req, object, nowMs());
    if (!second || third) return notFound();
    // GET/PATCH/DELETE /sobjects/{X}/{id}: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve.htm
    if (req.method === 'GET') {
      const row = rowOr404(object, second);
      if (!('Id' in row)) return row;
      const names = req.query
        .get('fields')
        ?.split(',')
        .map((s) => s.trim());
      const select = names
        ? names.map((n) => fieldOf(object, n)).filter((f): f is SfField => f !== undefined)
        : FIELDS[object];
      return { status: 200, body: project(row, object, select, version) };
    }
    if (req.method === 'PATCH') return patch(req, object, second);
    // DELETE /sobjects/{X}/{id}: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_delete_record.htm
    if (req.method === 'DELETE') {
      const row = rowOr404(object, second);
      if (!('Id' in row)) return row;
      store.remove(second);
      return { status: 204, deleted: [second] };
    }
    return errors(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${req.method}' not allowed. Allowed are GET,PATCH,DELETE`);
  };

  const route = (req: SandboxRequest): SandboxResponse => {
    if (req.path === '/services/oauth2/token' && req.method === 'POST')
      return tokenEndpoint(req, options, issue, nowMs());
    const soapPath = /^\/services\/Soap\/u\/(\d+\.\d)$/.exec(req.path);
    if (soapPath && req.method === 'POST') return emptyRecycleBin(store, req, dailyLimit);
    const parts = req.path.split('/').filter(Boolean);
    if (parts[0] !== 'services' || parts[1] !== 'data') return notFound();
    // GET /services/data: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm
    if (parts.length === 2 && req.method === 'GET')
      return {
        status: 200,
        body: API_VERSIONS.map((v) => ({ label: `API ${v}`, url: `/services/data/v${v}`, version: v })),
      };
    const version = /^v(\d+\.\d)$/.exec(parts[2] ?? '')?.[1];
    if (!version) return notFound();
    const [resource, ...rest] = parts.slice(3);
    if ((resource === 'query' || resource === 'queryAll') && req.method === 'GET')
      return rest.length === 0
        ? query(req, version, resource)
        : rest.length === 1
          ? queryMore(rest[0] as string)
          : notFound();
    if (resource === 'limits' && rest.length === 0 && req.method === 'GET') return limits(req);
    if (resource === 'sobjects') return sobjects(req, version, rest);
    if (resource === 'composite' && rest[0] === 'sobjects' && rest.length === 1) {
      if (req.method === 'DELETE') return collectionsDelete(store, req);
      if (req.method === 'PATCH') return collectionsUpdate(store, req);
    }
    return notFound();
  };

  return {
    vendor: 'salesforce',
    store,
    endpointKey(method, path) {
      const key = path
        .replace(/\/(query|queryAll)\/[^/]+$/, '/$1/{locator}')
        .replace(/\/sobjects\/(\w+)\/[A-Za-z0-9]{15,18}$/, '/sobjects/$1/{id}');
      return `${method} ${key}`;
    },
    handle: route,
    isPublic: (req) =>
      (req.path === '/services/oauth2/token' && req.method === 'POST') ||
      (req.path.replace(/\/$/, '') === '/services/data' && req.method === 'GET'),
    tokenValid(t) {
      const entry = t ? tokens.get(t) : undefined;
      return entry !== undefined && !entry.expired;
    },
    tokenFromBody: (path, rawBody) =>
      path.startsWith('/services/Soap/') ? (parseSoapCall(rawBody)?.sessionId ?? null) : null,
    expireTokens() {
      for (const entry of tokens.values()) entry.expired = true;
    },
    responses: {
      // SOAP callers get a SOAP fault; jsforce's SOAP client treats `sf:INVALID_SESSION_ID` as expiry.
      unauthorized: (req) =>
        req?.path.startsWith('/services/Soap/')
          ? soapFault('INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session')
          : errors(401, 'INVALID_SESSION_ID', 'Session expired or invalid'),
      serverError: () =>
        errors(
          500,
          'UNKNOWN_EXCEPTION',
          'An unexpected error occurred. Please include this ErrorId if you contact support',
        ),
      notFound: () => notFound(),
      malformedBody: () => errors(400, 'JSON_PARSER_ERROR', 'Unexpected character in the request body: not valid JSON'),
      // Salesforce has no per-second REST limit; concurrency overruns answer like the daily quota (403).
      rateLimited: () => errors(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
      quotaExhausted: (req) => ({
        ...(req?.path.startsWith('/services/Soap/')
          ? soapFault('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')
          : errors(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')),
        headers: {
          ...(req?.path.startsWith('/services/Soap/') ? { 'content-type': SOAP_CONTENT_TYPE } : {}),
          'Sforce-Limit-Info': `api-usage=${dailyLimit}/${dailyLimit}`,
        },
      }),
    },
    rateLimits: [],
    usageHeaders: (dailyUsed) => ({ 'Sforce-Limit-Info': `api-usage=${dailyUsed}/${dailyLimit}` }),
    usageHeadersOnErrors: true,
    dailyLimit,
  };
}
