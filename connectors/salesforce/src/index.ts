/**
 * Salesforce connector (REST API v62.0 through `jsforce` 3.10.16).
 *
 * Setup: create a Connected App (Setup > App Manager) with OAuth scopes `api refresh_token`, and configure
 * one of `auth: { type: 'refresh-token' | 'jwt' | 'client-credentials' | 'access-token' }`. `loginUrl` is
 * `https://login.salesforce.com`, `https://test.salesforce.com` for sandbox orgs, or a My Domain URL.
 *
 * Required permissions: API Enabled; Read on Contact, Lead, Task, Note, Case, Individual; Edit for update and
 * opt-out; Delete for erase; "Modify All Data" (or Bulk API Hard Delete) to empty the Recycle Bin.
 *
 * Limits: a rolling 24 h allocation of API requests per org (Sforce-Limit-Info `api-usage=used/limit`, read
 * after every call and reported to the runtime, which stops at `quotaStopShare`); 403
 * `REQUEST_LIMIT_EXCEEDED` pauses the system instead of failing. Concurrency is capped at 10 (Salesforce
 * allows 25 concurrent long-running requests).
 *
 * Notes: reads are SOQL on `SystemModstamp` ordered by (SystemModstamp, Id) from a composite watermark
 * `{ since, lastId }`, with `>=` and the (since, lastId) tie-break so a page boundary inside one instant loses
 * nothing, and each run starts `lookbackMinutes` earlier. Deleted rows come from `queryAll` with
 * `IsDeleted = true`. Erase deletes through the sObject Collections endpoint (200 ids a call,
 * `allOrNone=false`), then empties those ids from the Recycle Bin. jsforce's own session refresh is not used
 * (no refresh token is given to it): the runtime calls `onAuthExpired` once and retries once.
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

export const salesforceOptions = z.object({
  loginUrl: z.url().default('https://login.salesforce.com'),
  instanceUrl: z.url().optional(),
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
    z.object({ type: z.literal('access-token'), accessToken: z.string().min(1), instanceUrl: z.url() }),
  ]),
  apiVersion: z
    .string()
    .regex(/^\d+\.\d$/)
    .default('62.0'),
  quotaStopShare: z.number().gt(0).max(1).default(0.9),
  bulkThreshold: z.number().int().positive().default(50_000),
  permanentErase: z.enum(['recycle-bin', 'hard-delete']).default('recycle-bin'),
  shouldForget: z.boolean().default(false),
  fieldOverrides: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  eraseActivities: z.enum(['delete', 'redact']).default('delete'),
  lookbackMinutes: z.number().int().min(0).default(10),
  pageSize: z.number().int().min(200).max(2000).default(2000),
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
    const audience = new URL(options.loginUrl).hostname.startsWith('test.')
      ? 'https://test.salesforce.com'
      : 'https://login.salesforce.com';
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
      errorCode: json.error ?? 'INVALID_GRANT',
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

function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/** Maps jsforce errors (`errorCode`, `name`, HTTP status) to failure kinds. */
export function classifySalesforceError(err: unknown): ClassifiedFailure | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { errorCode?: string; name?: string; statusCode?: number; status?: number; message?: string };
  // SOAP faults (emptyRecycleBin) carry the code as `sf:INVALID_SESSION_ID`; REST errors carry it bare.
  const code = (e.errorCode ?? e.name ?? '').replace(/^sf:/, '');
  const status = e.statusCode ?? e.status;
  const message = code || undefined;
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    // The allocation is a rolling 24 h window; the next UTC midnight is an estimate, a later 403 pauses again.
    return { kind: 'quota_exhausted', status: 403, message, resumeAt: nextUtcMidnight(new Date()) };
  }
  if (code === 'INVALID_SESSION_ID' || status === 401) return { kind: 'auth_expired', status: 401, message };
  if (code === 'INSUFFICIENT_ACCESS' || code === 'INSUFFICIENT_ACCESS_OR_READONLY' || status === 403)
    return { kind: 'permission', status: 403, message };
  if (['MALFORMED_QUERY', 'INVALID_FIELD', 'INVALID_TYPE', 'INVALID_QUERY_LOCATOR'].includes(code) || status === 400)
    return { kind: 'bad_request', status: status ?? 400, message };
  if (code === 'NOT_FOUND' || status === 404) return { kind: 'not_found', status: 404, message };
  if (['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'ERROR_HTTP_503'].includes(code) || (status ?? 0) >= 500)
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
  limits: { groups: { default: { intervalMs: 1000, intervalCap: 25, concurrency: 10 } }, daily: 100_000 },
  capabilities: ['find', 'get', 'related', 'erase', 'purge', 'verify', 'update', 'opt-out', 'check'],
  secrets: ['auth.clientSecret', 'auth.refreshToken', 'auth.privateKey', 'auth.accessToken'],
  classifyError: classifySalesforceError,
  setup(options) {
    return createOperations(options, createClient(options));
  },
});
