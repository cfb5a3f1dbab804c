/**
 * Zoho CRM connector (REST v8 over fetch; no SDK, see toolchain.md §4).
 *
 * Setup: create a Server-based or Self Client in the Zoho API console of the org's data centre, generate
 * a refresh token (`access_type=offline`) and configure `dataCentre`, `clientId`, `clientSecret`,
 * `refreshToken`. The accounts host and API domain follow the data centre; `api_domain` from the token
 * answer wins when present. `apiBaseUrl`/`accountsUrl` override both (sandbox, tests).
 *
 * Required scopes: ZohoCRM.modules.ALL, ZohoCRM.settings.fields.READ, ZohoCRM.settings.recycle_bin.ALL
 * (purge), ZohoCRM.coql.READ, ZohoSearch.securesearch.READ, ZohoCRM.org.READ.
 *
 * Limits: concurrency per edition (free 5, standard 10, professional 15, enterprise 20, ultimate 25) with a
 * sub-concurrency of 10 for heavy calls (sorted Get Records, COQL); a daily credit budget (`dailyCredits`,
 * rolling 24 h at Zoho). 429 waits with backoff; credits exhausted pause the system until reset.
 *
 * Notes: Get Records reaches 2,000 records with `page`, then `page_token`; `fields` is mandatory and
 * capped at 50 names, so wide modules are read in field chunks. Search lags writes, so misses are
 * re-checked with COQL. Deletes go to the recycle bin (60 days); `permanentErase` purges them through
 * `DELETE /crm/v8/settings/recycle_bin` (Zoho's v8 OAS, recycle_bin.json; batch size unverified, 100 used).
 * Checkpoints: `{ since, phase, page, pageToken[], lastId, maxSeen, seenAtMax, boundary }`; `since` only
 * ever becomes an observed Modified_Time/deleted_time minus one second (If-Modified-Since has second
 * precision), and the ids already seen at that boundary second are skipped, so records sharing it are
 * never lost and unchanged ones are not re-read. Known gap: a record modified *during* a run moves to the end
 * of the Modified_Time order and can shift one unread record into an already-read page (page numbers are
 * offsets); it is picked up when it next changes. Opt-out also covers other Contacts/Leads with the same
 * email (found with COQL); the runtime reports one result per ref given.
 */
import {
  type ClassifiedFailure,
  ConnectorError,
  CustodianError,
  defineConnector,
  HttpError,
  nextUtcMidnight,
} from '@custodian/core';
import { z } from 'zod';
import { ZohoClient as ZohoClientImpl, zohoErrorBody } from './client.js';
import { DATA_CENTRE_IDS, EDITION_CONCURRENCY, HEAVY_SUB_CONCURRENCY } from './datacentres.js';
import { createOperations } from './operations.js';
import { STREAMS } from './streams.js';

export const zohoOptions = z.object({
  dataCentre: z.enum(DATA_CENTRE_IDS),
  apiBaseUrl: z.url().optional(),
  accountsUrl: z.url().optional(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  refreshToken: z.string().min(1),
  edition: z.enum(['free', 'standard', 'professional', 'enterprise', 'ultimate']).default('enterprise'),
  /** Daily credit budget of the org (Zoho: 50,000 + users x edition allowance). */
  dailyCredits: z.number().int().positive().default(50_000),
  /** Stop calling once this share of the daily credits is used (read from X-API-CREDITS-REMAINING). */
  quotaStopShare: z.number().gt(0).max(1).default(0.9),
  /** Purge erased records from the recycle bin so they cannot be restored. */
  permanentErase: z.boolean().default(false),
  /** What erasing a Note/Task/Call does: delete it, or blank its free-text fields. */
  eraseActivities: z.enum(['delete', 'redact']).default('delete'),
});
export type ZohoOptions = z.output<typeof zohoOptions>;

const AUTH_CODES = new Set(['INVALID_TOKEN', 'AUTHENTICATION_FAILURE']);
const PERMISSION_CODES = new Set(['OAUTH_SCOPE_MISMATCH', 'NO_PERMISSION', 'INVALID_URL_PATTERN_FOR_SCOPE']);

/** Map Zoho answers to failure kinds; the runtime's default handles the rest. */
export function classifyZohoError(err: unknown, now: Date = new Date()): ClassifiedFailure | undefined {
  if (err instanceof CustodianError && !(err instanceof ConnectorError) && err.code === 'CUSTODIAN_ERR_CONNECTOR_AUTH')
    return { kind: 'auth_revoked', message: err.message };
  if (!(err instanceof HttpError)) return undefined;
  const parsed = zohoErrorBody.safeParse(err.body);
  const code = parsed.success ? parsed.data.code : undefined;
  const vendor = code ? `${code}: ${parsed.data?.message ?? ''}`.trim() : `HTTP ${err.status}`;
  if (code && PERMISSION_CODES.has(code))
    return { kind: 'permission', status: err.status, message: `${err.message} (${vendor})` };
  if (err.status === 401 || (code && AUTH_CODES.has(code)))
    return { kind: 'auth_expired', status: err.status, message: err.message };
  const creditsRemaining = err.headers.get('x-api-credits-remaining');
  if (err.status === 429 && (creditsRemaining === '0' || code === 'LIMIT_EXCEEDED')) {
    const reset = Number(err.headers.get('x-api-credits-reset'));
    const resumeAt = Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000) : nextUtcMidnight(now);
    return {
      kind: 'quota_exhausted',
      status: 429,
      message: `Zoho API credits for the 24 h window are used up (${vendor})`,
      resumeAt,
    };
  }
  if (err.status === 429)
    return { kind: 'rate_limited', status: 429, message: `Zoho concurrency limit reached (${vendor})` };
  if (err.status >= 500) return { kind: 'transient', status: err.status, message: `${err.message} (${vendor})` };
  if (err.status === 404) return { kind: 'not_found', status: 404, message: err.message };
  return { kind: 'bad_request', status: err.status, message: `${err.message} (${vendor})` };
}

export default defineConnector({
  id: 'zoho',
  title: 'Zoho CRM',
  core: '^0.1.0',
  options: zohoOptions,
  streams: STREAMS,
  limits: (options: ZohoOptions) => ({
    groups: {
      default: { intervalMs: 1000, intervalCap: 1000, concurrency: EDITION_CONCURRENCY[options.edition] },
      heavy: {
        intervalMs: 1000,
        intervalCap: 1000,
        concurrency: Math.min(HEAVY_SUB_CONCURRENCY, EDITION_CONCURRENCY[options.edition]),
      },
    },
    daily: options.dailyCredits,
  }),
  capabilities: ['find', 'get', 'related', 'erase', 'purge', 'verify', 'update', 'opt-out', 'check'],
  secrets: ['clientSecret', 'refreshToken'],
  classifyError: (err) => classifyZohoError(err),
  setup(options: ZohoOptions, ctx) {
    const client = new ZohoClientImpl({
      dataCentre: options.dataCentre,
      apiBaseUrl: options.apiBaseUrl,
      accountsUrl: options.accountsUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      refreshToken: options.refreshToken,
    });
    return createOperations(client, options, ctx.system);
  },
});

export { ZohoClient } from './client.js';
export { DATA_CENTRES } from './datacentres.js';
