/**
 * HubSpot CRM connector (CRM v3 through the official `@hubspot/api-client` 13.5.0).
 *
 * Setup: create a private app (Settings > Integrations > Private apps) and configure
 * `auth: { type: 'private-app', accessToken }`, or a public app with
 * `auth: { type: 'oauth', clientId, clientSecret, refreshToken }` (access tokens last 30 minutes; they are
 * refreshed one at a time, ahead of expiry). `baseUrl` points at another host (sandbox, tests). `tier`
 * selects the declared limits.
 *
 * Required scopes per capability:
 * - read/find/get (contacts): crm.objects.contacts.read; notes stream and related: crm.objects.contacts.read
 *   (notes are engagements read with the contacts scope) and association reads; companies and deals
 *   streams: crm.objects.companies.read, crm.objects.deals.read.
 * - erase/update: crm.objects.contacts.write (GDPR delete uses the same scope), and the companies/deals
 *   write scopes for those objects.
 * - opt-out: communication_preferences.read_write (or .read + .write), and the v4 status scopes.
 *
 * Rate limits: burst per app, 100 requests per 10 s (free, starter) or 190 (professional, enterprise); daily
 * 250,000 / 625,000 / 1,000,000 per account; search is exempt from the burst and has its own limit of 5
 * requests per second, declared as the `search` group. Every answer's X-HubSpot-RateLimit-Daily and
 * -Daily-Remaining go to the runtime's quota guard (it stops at its configured share of the day); -Max,
 * -Remaining and -Interval-Milliseconds time the wait after a 429. A 429 with `policyName: DAILY` pauses the
 * system until the next midnight in `portalTimeZone` (HubSpot resets there; `doctor` checks the zone against
 * the account details). The SDK's own retries and limiter stay off (`numberOfApiCallRetries: 0`).
 *
 * Notes: the first read lists every record (pages of 100, notes with their contact associations inline);
 * later reads search `lastmodifieddate` (pages of 200) from a composite watermark `(since, seen ids at
 * since)`, walking an instant shared by more than a page by `hs_object_id` (keyset, no `after` offset), so
 * the 10,000-result cap of search is never reached and no window splitting is needed. The upper bound is
 * `now - searchLagSeconds` (search lags writes) and each run restarts `lookbackMinutes` earlier. Each
 * incremental run then lists `archived=true` to mark archived records. Notes outlive their contact in
 * HubSpot, so erase handles notes refs given to it (delete or redact, `eraseNotes`). Companies and deals are
 * read like notes (their contacts inline on lists, by batch association reads on search pages). Portal
 * properties listed in `customProperties` are read too, each with its category; a property list too long
 * for a list URL is split, the rest read by batch read (POST body) per page, so HubSpot never answers 414.
 */
import {
  type ClassifiedFailure,
  createTokenManager,
  defineConnector,
  FIELD_CATEGORIES,
  HttpError,
  nextUtcMidnight,
  parseRetryAfter,
} from '@custodian/core';
import { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { createOperations } from './operations.js';
import { createQuotaTracker, dailyLimitContextOf, isTimeZone } from './quota.js';
import { STREAM_NAMES, streamsFor } from './streams.js';

export const hubspotOptions = z.object({
  auth: z.discriminatedUnion('type', [
    z.object({ type: z.literal('private-app'), accessToken: z.string().min(1) }),
    z.object({
      type: z.literal('oauth'),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      refreshToken: z.string().min(1),
    }),
  ]),
  baseUrl: z.url().default('https://api.hubapi.com'),
  tier: z.enum(['free', 'starter', 'professional', 'enterprise']).default('professional'),
  /** Each incremental run starts this much before the last watermark (search indexing lags). */
  lookbackMinutes: z.number().int().min(0).default(10),
  /** Search never asks for records modified in the last N seconds (they may not be indexed yet). */
  searchLagSeconds: z.number().int().min(0).default(60),
  /** Subscriptions to unsubscribe on opt-out; default: every subscription the person is subscribed to. */
  subscriptionIds: z.array(z.string().min(1)).optional(),
  legalBasis: z
    .enum([
      'CONSENT_WITH_NOTICE',
      'LEGITIMATE_INTEREST_CLIENT',
      'LEGITIMATE_INTEREST_OTHER',
      'LEGITIMATE_INTEREST_PQL',
      'NON_GDPR',
      'PERFORMANCE_OF_CONTRACT',
      'PROCESS_AND_STORE',
    ])
    .default('LEGITIMATE_INTEREST_OTHER'),
  legalBasisExplanation: z.string().default('Opt-out requested by the data subject (recorded by Custodian).'),
  /** Erasing a note: archive it, or blank its body (`hs_note_body`). */
  eraseNotes: z.enum(['delete', 'redact']).default('delete'),
  /** The portal's IANA time zone (Settings > Account defaults); HubSpot resets the daily limit at its midnight. */
  portalTimeZone: z.string().default('UTC').refine(isTimeZone, 'not an IANA time zone such as Europe/Berlin'),
  /** The portal's own properties to read, per stream, each with its category. */
  customProperties: z
    .partialRecord(
      z.enum(STREAM_NAMES),
      z.array(
        z.object({
          name: z.string().regex(/^[a-z0-9_]+$/, 'a HubSpot property name'),
          category: z.enum(FIELD_CATEGORIES),
        }),
      ),
    )
    .default({}),
});
export type HubSpotOptions = z.output<typeof hubspotOptions>;

export const TIER_LIMITS = {
  free: { burst: 100, daily: 250_000 },
  starter: { burst: 100, daily: 250_000 },
  professional: { burst: 190, daily: 625_000 },
  enterprise: { burst: 190, daily: 1_000_000 },
} as const;

interface SdkError {
  code: number;
  body?: unknown;
  headers?: Record<string, string>;
}
const isSdkError = (e: unknown): e is SdkError =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number';

const bodySchema = z.looseObject({
  message: z.string().optional(),
  category: z.string().optional(),
  policyName: z.string().optional(),
  errors: z.array(z.looseObject({ message: z.string().optional(), context: z.unknown().optional() })).optional(),
  context: z.looseObject({ requiredGranularScopes: z.array(z.string()).optional() }).optional(),
});

/** Scope names in a 403 body: `context.requiredGranularScopes` or the names quoted in the message. */
function missingScopes(body: z.infer<typeof bodySchema> | undefined): string[] {
  const fromContext = body?.context?.requiredGranularScopes ?? [];
  const texts = [body?.message ?? '', ...(body?.errors ?? []).map((e) => e.message ?? '')].join(' ');
  const fromText = texts.match(/\b[a-z_]+(?:\.[a-z_]+){1,4}\b/g) ?? [];
  return [...new Set([...fromContext, ...fromText.filter((s) => /read|write|crm|communication/.test(s))])];
}

/** Map HubSpot SDK errors (`code` = HTTP status, `body`, `headers`) and HttpError to failure kinds. */
export function classifyHubSpotError(err: unknown, now: Date = new Date()): ClassifiedFailure | undefined {
  let status: number;
  let rawBody: unknown;
  let header: (name: string) => string | undefined;
  if (err instanceof HttpError) {
    status = err.status;
    rawBody = err.body;
    header = (n) => err.headers.get(n) ?? undefined;
  } else if (isSdkError(err) && err.code >= 100 && err.code < 600) {
    status = err.code;
    rawBody = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const headers = Object.fromEntries(Object.entries(err.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    header = (n) => headers[n.toLowerCase()];
  } else return undefined;
  const parsed = bodySchema.safeParse(rawBody);
  const body = parsed.success ? parsed.data : undefined;
  const category = body?.category ?? 'no category';
  if (status === 429) {
    if (body?.policyName === 'DAILY') {
      const daily = dailyLimitContextOf(err);
      const resumeAt = daily?.resumeAt ?? nextUtcMidnight(now);
      const usage =
        daily?.used !== undefined && daily.limit !== undefined
          ? `used ${daily.used} of ${daily.limit} requests today`
          : 'usage not reported (no X-HubSpot-RateLimit-Daily headers)';
      return {
        kind: 'quota_exhausted',
        status,
        message: `HubSpot daily API limit reached (policyName DAILY, ${usage}); resuming ${resumeAt.toISOString()} (midnight ${daily?.timeZone ?? 'UTC'})`,
        resumeAt,
      };
    }
    const interval = Number(header('x-hubspot-ratelimit-interval-milliseconds'));
    const retryAfterMs = parseRetryAfter(header('retry-after'), now) ?? (interval > 0 ? interval : undefined);
    return {
      kind: 'rate_limited',
      status,
      message: `HubSpot rate limit reached (policy ${body?.policyName ?? 'unknown'})`,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (status === 401)
    return {
      kind: 'auth_expired',
      status,
      message: `HubSpot rejected the token (${category}): it is expired, revoked or wrong`,
    };
  if (status === 403) {
    const scopes = missingScopes(body);
    return {
      kind: 'permission',
      status,
      message: `HubSpot denied the call (${category}); grant the app the missing scope${scopes.length ? `: ${scopes.join(', ')}` : ''}`,
    };
  }
  if (status >= 500) return { kind: 'transient', status, message: `HubSpot answered ${status} (${category})` };
  if (status === 404) return { kind: 'not_found', status, message: `HubSpot has no such object (${category})` };
  return { kind: 'bad_request', status, message: `HubSpot rejected the request (${category})` };
}

/**
 * A HubSpot limit of `max` requests per rolling `windowMs` as a runtime group. HubSpot counts a request when
 * it arrives; the runtime holds each call's slot until `windowMs` after its response (by then it has arrived),
 * so the limit can be declared as is: the whole allowance goes out at once and each later call waits for the
 * oldest answered one to age out. A batch of C calls takes (ceil(C / max) - 1) windows plus the latency of
 * one call per window, the least the limit allows.
 */
export function rollingLimit(max: number, windowMs: number) {
  return { intervalCap: max, intervalMs: windowMs, concurrency: 10 };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export default defineConnector({
  id: 'hubspot',
  title: 'HubSpot CRM',
  core: '^0.1.0',
  options: hubspotOptions,
  streams: (options: HubSpotOptions) => streamsFor(options.customProperties),
  limits: (options: HubSpotOptions) => ({
    groups: {
      default: rollingLimit(TIER_LIMITS[options.tier].burst, 10_000),
      // Search: 5 per second per token, outside the burst (search guide).
      search: rollingLimit(5, 1_000),
    },
    daily: TIER_LIMITS[options.tier].daily,
  }),
  capabilities: ['find', 'get', 'related', 'erase', 'verify', 'update', 'opt-out', 'check'],
  secrets: ['auth.accessToken', 'auth.clientSecret', 'auth.refreshToken'],
  classifyError: (err) => classifyHubSpotError(err),
  setup(options: HubSpotOptions, ctx) {
    const basePath = options.baseUrl.replace(/\/$/, '');
    const auth = options.auth;
    const quota = createQuotaTracker(options.portalTimeZone, TIER_LIMITS[options.tier].burst);
    const client = new Client({ basePath, numberOfApiCallRetries: 0 });
    const tokens =
      auth.type === 'private-app'
        ? createTokenManager({
            initial: { accessToken: auth.accessToken },
            fetchToken: async () => ({ accessToken: auth.accessToken }),
          })
        : createTokenManager({
            // Tokens last 30 minutes; refresh 5 minutes ahead so long pages never carry a dying token.
            refreshAheadMs: 5 * 60_000,
            fetchToken: async () => {
              // https://developers.hubspot.com/docs/api-reference/auth-oauth-v1/tokens/post-oauth-v1-token
              const tokenClient = new Client({ basePath, numberOfApiCallRetries: 0 });
              const res = await tokenClient.oauth.tokensApi.create(
                'refresh_token',
                undefined,
                undefined,
                auth.clientId,
                auth.clientSecret,
                auth.refreshToken,
              );
              return { accessToken: res.accessToken, expiresInSeconds: res.expiresIn };
            },
          });
    const authed = async () => {
      client.setAccessToken(await tokens.token());
      return client;
    };
    const ops = createOperations(
      authed,
      { ...options, streams: streamsFor(options.customProperties), quota },
      ctx.system,
    );
    return {
      ...ops,
      async onAuthExpired() {
        tokens.invalidate();
      },
    };
  },
});
