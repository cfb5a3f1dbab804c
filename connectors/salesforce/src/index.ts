/**
 * Salesforce connector (REST API v62.0 and Bulk API 2.0 through `jsforce` 3.10.16). Setup, permissions, options
 * and limits are in ../README.md.
 *
 * Module map: `call.ts` (one vendor call through the runtime, Sforce-Limit-Info reported), `query.ts` (SOQL
 * pages), `read.ts` (incremental read, getDeleted feed, Bulk switch), `bulk.ts` (Bulk API 2.0 query and
 * hardDelete jobs), `records.ts` (describe and row mapping), `operations.ts` (find, erase, verify, update,
 * opt-out, check), `streams.ts` (field classification), `soql.ts` (literals).
 *
 * jsforce's own session refresh is not used (no refresh token is given to it): the runtime calls
 * `onAuthExpired` once on a 401 and retries once; a second 401 is an auth error.
 */
import { createSign } from 'node:crypto';
import {
  type ClassifiedFailure,
  type CrmRecord,
  createTokenManager,
  defineConnector,
  type FieldClassification,
  type StreamDefinition,
} from '@custodian/core';
import jsforce from 'jsforce';
import { z } from 'zod';
import { createOperations } from './operations.js';
import { buildStreams } from './streams.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SALESFORCE_HOST = /(^|\.)(salesforce\.com|force\.com|salesforce\.mil)$/;

/** Production, sandbox (`test.`), My Domain (`acme.my.`, `acme--dev.sandbox.my.`) hosts over https; http only on loopback. */
export function isSalesforceUrl(value: string): boolean {
  const url = new URL(value);
  if (url.pathname !== '/' || url.search || url.hash) return false;
  if (LOOPBACK.has(url.hostname)) return url.protocol === 'http:' || url.protocol === 'https:';
  return url.protocol === 'https:' && SALESFORCE_HOST.test(url.hostname);
}

/** Sandbox orgs sign in at test.salesforce.com or a `.sandbox.my.salesforce.com` My Domain. */
export function isSandboxLogin(loginUrl: string): boolean {
  const host = new URL(loginUrl).hostname;
  return host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com');
}

const salesforceUrl = z.url().refine(isSalesforceUrl, {
  message:
    'must be https://login.salesforce.com, https://test.salesforce.com (sandbox orgs) or a My Domain URL such as https://acme.my.salesforce.com, with no path (http only on 127.0.0.1/localhost)',
});

export const salesforceOptions = z
  .object({
    loginUrl: salesforceUrl.default('https://login.salesforce.com'),
    instanceUrl: salesforceUrl.optional(),
    auth: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('refresh-token'),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
        refreshToken: z.string().min(1),
      }),
      z.object({
        type: z.literal('jwt'),
        clientId: z.string().min(1),
        username: z.string().min(1),
        privateKey: z.string().min(1),
      }),
      z.object({ type: z.literal('client-credentials'), clientId: z.string().min(1), clientSecret: z.string().min(1) }),
      z.object({ type: z.literal('access-token'), accessToken: z.string().min(1), instanceUrl: salesforceUrl }),
    ]),
    apiVersion: z
      .string()
      .regex(/^\d+\.\d$/)
      .default('62.0'),
    /** Stop (pause the system) once this share of the org's daily API allocation is used. */
    quotaStopShare: z.number().gt(0).max(1).default(0.9),
    /** Calls in flight at once (Salesforce allows 25 concurrent long-running requests per org). */
    maxConcurrency: z.number().int().min(1).max(25).default(10),
    /** A read whose first REST page reports more rows than this switches to a Bulk API 2.0 query job. */
    bulkThreshold: z.number().int().positive().default(100_000),
    bulkPollIntervalMs: z.number().int().min(1).default(2_000),
    bulkPollTimeoutMs: z.number().int().min(1).default(600_000),
    permanentErase: z.enum(['recycle-bin', 'hard-delete']).default('recycle-bin'),
    /** Set `ShouldForget` on the person's Individual when erasing. */
    shouldForget: z.boolean().default(false),
    /** sObject Collections delete and update `allOrNone`: false reports each record on its own; true rolls a call back on any failure. */
    allOrNone: z.boolean().default(false),
    fieldOverrides: z.record(z.string(), z.record(z.string(), z.string())).default({}),
    eraseActivities: z.enum(['delete', 'redact']).default('delete'),
    lookbackMinutes: z.number().int().min(0).default(10),
    pageSize: z.number().int().min(200).max(2000).default(2000),
  })
  .superRefine((options, issues) => {
    // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm: the
    // client credentials flow is served only on the org's My Domain, not on login./test.salesforce.com.
    const host = new URL(options.loginUrl).hostname;
    if (
      options.auth.type === 'client-credentials' &&
      (host === 'login.salesforce.com' || host === 'test.salesforce.com')
    )
      issues.addIssue({
        code: 'custom',
        path: ['loginUrl'],
        message: 'the client-credentials flow needs the My Domain URL (https://<domain>.my.salesforce.com)',
      });
  });
export type SalesforceOptions = z.output<typeof salesforceOptions>;

interface TokenReply {
  access_token: string;
  instance_url?: string;
}

/** https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm (token endpoint, all grants) */
async function requestToken(options: SalesforceOptions, signal?: AbortSignal): Promise<TokenReply> {
  const auth = options.auth;
  const body = new URLSearchParams();
  if (auth.type === 'refresh-token') {
    body.set('grant_type', 'refresh_token');
    body.set('client_id', auth.clientId);
    body.set('client_secret', auth.clientSecret);
    body.set('refresh_token', auth.refreshToken);
  } else if (auth.type === 'client-credentials') {
    body.set('grant_type', 'client_credentials');
    body.set('client_id', auth.clientId);
    body.set('client_secret', auth.clientSecret);
  } else if (auth.type === 'jwt') {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const audience = isSandboxLogin(options.loginUrl) ? 'https://test.salesforce.com' : 'https://login.salesforce.com';
    const head = `${b64({ alg: 'RS256' })}.${b64({ iss: auth.clientId, sub: auth.username, aud: audience, exp: Math.floor(Date.now() / 1000) + 180 })}`;
    const signature = createSign('RSA-SHA256').update(head).sign(auth.privateKey).toString('base64url');
    body.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    body.set('assertion', `${head}.${signature}`);
  } else {
    return { access_token: auth.accessToken, instance_url: auth.instanceUrl };
  }
  const res = await fetch(new URL('/services/oauth2/token', options.loginUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    signal: signal ?? null,
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, string>;
  if (!res.ok) {
    // Token endpoint errors are `{ error, error_description }`; never echo the request (it holds secrets).
    throw Object.assign(new Error(`token request failed: ${json.error ?? res.status}`), {
      errorCode: json.error ?? `ERROR_HTTP_${res.status}`,
      statusCode: res.status === 400 ? 401 : res.status,
    });
  }
  return json as unknown as TokenReply;
}

export interface SalesforceClient {
  connection(signal?: AbortSignal): Promise<jsforce.Connection>;
  invalidate(): void;
}

function createClient(options: SalesforceOptions): SalesforceClient {
  const tokens = createTokenManager({
    fetchToken: async (signal) => {
      const reply = await requestToken(options, signal);
      return {
        accessToken: reply.access_token,
        extras: reply.instance_url ? { instanceUrl: reply.instance_url } : ({} as Record<string, string>),
      };
    },
  });
  return {
    async connection(signal) {
      const accessToken = await tokens.token(signal);
      const instanceUrl = tokens.extras().instanceUrl ?? options.instanceUrl ?? options.loginUrl;
      return new jsforce.Connection({ instanceUrl, accessToken, version: options.apiVersion });
    },
    invalidate: () => tokens.invalidate(),
  };
}

/** https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm */
const OAUTH_GRANT_ERRORS = new Set([
  'invalid_grant',
  'invalid_client',
  'invalid_client_id',
  'unauthorized_client',
  'inactive_user',
  'inactive_org',
]);

/** The first vendor error code: jsforce folds an array of several errors into `MULTIPLE_API_ERRORS` + `data`. */
export function vendorErrorCode(err: unknown): string {
  if (!err || typeof err !== 'object') return 'UNKNOWN';
  const e = err as { errorCode?: string; name?: string; data?: unknown };
  // SOAP faults (emptyRecycleBin) carry the code as `sf:INVALID_SESSION_ID`; REST errors carry it bare.
  const code = (e.errorCode ?? e.name ?? '').replace(/^sf:/, '');
  if (code === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data)) {
    const first = e.data[0] as { errorCode?: unknown } | undefined;
    if (typeof first?.errorCode === 'string') return first.errorCode;
  }
  return code;
}

/**
 * Maps jsforce errors (`errorCode`, `name`, HTTP status) to failure kinds. Error codes:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 */
export function classifySalesforceError(err: unknown): ClassifiedFailure | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as {
    errorCode?: string;
    name?: string;
    data?: unknown;
    statusCode?: number;
    status?: number;
    apiUsage?: string;
    retryAfterMs?: number;
  };
  const code = vendorErrorCode(err);
  const httpStatus = /^ERROR_HTTP_(\d{3})$/.exec(code)?.[1];
  const status = e.statusCode ?? e.status ?? (httpStatus ? Number(httpStatus) : undefined);
  const message = code ? (e.apiUsage ? `${code} (${e.apiUsage})` : code) : undefined;
  // The allocation is a rolling 24 h window: the runtime pauses until its next UTC midnight (an estimate; a
  // later 403 pauses again).
  // The same code also answers the concurrent long-running request limit ("ConcurrentPerOrgLongTxn Limit
  // exceeded"), which frees within seconds, so that one is a rate limit, not a spent allocation:
  // https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
  if (code === 'REQUEST_LIMIT_EXCEEDED' && /concurrent/i.test(String((err as { message?: unknown }).message ?? '')))
    return { kind: 'rate_limited', status: 403, message: `${code} (concurrent requests)` };
  if (code === 'REQUEST_LIMIT_EXCEEDED') return { kind: 'quota_exhausted', status: 403, message };
  // OAuth token endpoint errors: the grant itself is bad, so refreshing again cannot help.
  if (OAUTH_GRANT_ERRORS.has(code))
    return { kind: 'auth_revoked', status: 401, message: `the OAuth token request was refused (${code})` };
  if (code === 'INVALID_SESSION_ID' || status === 401) return { kind: 'auth_expired', status: 401, message };
  // Throttling in front of the org (API gateways, Bulk polling) answers 429, with Retry-After when it knows.
  if (status === 429) return { kind: 'rate_limited', status, message, retryAfterMs: e.retryAfterMs };
  if (
    ['INSUFFICIENT_ACCESS', 'INSUFFICIENT_ACCESS_OR_READONLY', 'API_DISABLED_FOR_ORG', 'FEATURE_NOT_ENABLED'].includes(
      code,
    ) ||
    status === 403
  )
    return { kind: 'permission', status: 403, message };
  if (
    ['MALFORMED_QUERY', 'INVALID_FIELD', 'INVALID_TYPE', 'INVALID_QUERY_LOCATOR', 'INVALID_ID_FIELD'].includes(code) ||
    status === 400
  )
    return { kind: 'bad_request', status: status ?? 400, message };
  if (code === 'NOT_FOUND' || code === 'ENTITY_IS_DELETED' || status === 404)
    return { kind: 'not_found', status: 404, message };
  if (['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE'].includes(code) || (status ?? 0) >= 500)
    return { kind: 'transient', status, message };
  return undefined;
}

export type { CrmRecord, FieldClassification, StreamDefinition };

export default defineConnector({
  id: 'salesforce',
  title: 'Salesforce',
  core: '^0.1.0',
  options: salesforceOptions,
  streams: (options) => buildStreams(options.fieldOverrides),
  // Salesforce counts no calls per second: it limits concurrent long-running requests (25 in production) and
  // the daily allocation (SF-LIMITS), so calls are bounded by concurrency alone.
  limits: (options) => ({
    groups: {
      default: { intervalMs: 1000, intervalCap: Number.POSITIVE_INFINITY, concurrency: options.maxConcurrency },
    },
    daily: 100_000,
  }),
  capabilities: ['find', 'get', 'related', 'erase', 'purge', 'verify', 'update', 'opt-out', 'check'],
  secrets: ['auth.clientSecret', 'auth.refreshToken', 'auth.privateKey', 'auth.accessToken'],
  classifyError: classifySalesforceError,
  setup(options) {
    return createOperations(options, createClient(options));
  },
});
