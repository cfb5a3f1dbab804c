/**
 * A small typed Zoho CRM REST v8 client over fetch: one instance per tenant (no globals, no disk), OAuth
 * refresh with one refresh at a time (core token manager, `api_domain` kept), zod-checked envelopes and
 * non-2xx answers thrown as core `HttpError` with the Zoho error body for `classifyError`.
 * Why not the SDK: toolchain.md §4 (process-global singleton, token-derived files on disk, ~100 MB).
 */
import { CustodianError, createTokenManager, HttpError, type TokenManager } from '@custodian/core';
import { z } from 'zod';
import { DATA_CENTRES, type DataCentre } from './datacentres.js';

export interface ZohoClientConfig {
  dataCentre: DataCentre;
  /** Overrides the API domain (sandbox, tests); otherwise `api_domain` from the token, then the DC table. */
  apiBaseUrl?: string | undefined;
  accountsUrl?: string | undefined;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  fetch?: typeof fetch;
}

/** Zoho's error envelope: https://www.zoho.com/crm/developer/docs/api/v8/status-codes.html */
export const zohoErrorBody = z.object({
  code: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  message: z.string().optional(),
  status: z.literal('error'),
});
export type ZohoErrorBody = z.infer<typeof zohoErrorBody>;

/** Accounts answer: https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html */
const tokenResponse = z.union([
  z.object({
    access_token: z.string().min(1),
    api_domain: z.string().optional(),
    expires_in: z.number().optional(),
    token_type: z.string().optional(),
  }),
  z.object({ error: z.string() }),
]);

export const recordSchema = z.looseObject({ id: z.string() });
export type ZohoRecord = z.infer<typeof recordSchema>;

/** Get Records / search answer: https://www.zoho.com/crm/developer/docs/api/v8/get-records.html */
export const listEnvelope = z.object({
  data: z.array(recordSchema),
  info: z
    .looseObject({
      more_records: z.boolean().optional(),
      next_page_token: z.string().nullish(),
      page: z.number().optional(),
      per_page: z.number().optional(),
      count: z.number().optional(),
    })
    .optional(),
});
export type ListEnvelope = z.infer<typeof listEnvelope>;

/** Per-record results of delete / update / purge: `data[]` with one entry per id. */
export const actionEnvelope = z.object({
  data: z.array(
    z.object({
      code: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      message: z.string().optional(),
      status: z.enum(['success', 'error']),
    }),
  ),
});
export type ActionEnvelope = z.infer<typeof actionEnvelope>;

/** Deleted-records feed: https://www.zoho.com/crm/developer/docs/api/v8/get-deleted-records.html */
export const deletedEnvelope = z.object({
  data: z.array(
    z.looseObject({
      id: z.string(),
      type: z.enum(['recycle', 'permanent']),
      deleted_time: z.string().nullish(),
    }),
  ),
  info: z.looseObject({ more_records: z.boolean().optional() }).optional(),
});

/** Field metadata: https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html */
export const fieldsEnvelope = z.object({
  fields: z.array(z.looseObject({ api_name: z.string(), data_type: z.string().optional() })),
});

export interface ZohoResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for 204 No Content. */
  body: unknown;
}

export interface RequestInput {
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  signal?: AbortSignal;
}

export class ZohoClient {
  readonly tokens: TokenManager;
  readonly accountsUrl: string;
  private readonly config: ZohoClientConfig;
  private readonly fetchImpl: typeof fetch;

  constructor(config: ZohoClientConfig) {
    this.config = config;
    this.fetchImpl = config.fetch ?? fetch;
    this.accountsUrl = (config.accountsUrl ?? DATA_CENTRES[config.dataCentre].accountsUrl).replace(/\/$/, '');
    this.tokens = createTokenManager({ fetchToken: (signal) => this.fetchToken(signal) });
  }

  /** The API host in use: explicit option, else the token's `api_domain`, else the data-centre table. */
  apiBase(): string {
    const base =
      this.config.apiBaseUrl ?? this.tokens.extras().api_domain ?? DATA_CENTRES[this.config.dataCentre].apiDomain;
    return base.replace(/\/$/, '');
  }

  get dataCentre(): DataCentre {
    return this.config.dataCentre;
  }

  // Refresh: POST {accounts}/oauth/v2/token grant_type=refresh_token
  // https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html
  private async fetchToken(signal?: AbortSignal) {
    const endpoint = 'POST /oauth/v2/token';
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
      refresh_token: this.config.refreshToken,
    });
    const res = await this.fetchImpl(`${this.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      ...(signal ? { signal } : {}),
    });
    const body = await readBody(res);
    if (!res.ok) throw new HttpError(res.status, endpoint, res.headers, body);
    const parsed = tokenResponse.safeParse(body);
    if (!parsed.success) {
      throw new CustodianError(
        'CUSTODIAN_ERR_CONNECTOR_BAD_RESPONSE',
        `Zoho accounts server ${this.accountsUrl} answered the token refresh with an unexpected shape`,
        { cause: parsed.error },
      );
    }
    if ('error' in parsed.data) {
      // Zoho answers 200 with {error:"invalid_code"|"invalid_client"} for a refresh token it does not know,
      // which is what a refresh token from another data centre looks like.
      throw new CustodianError(
        'CUSTODIAN_ERR_CONNECTOR_AUTH',
        `Zoho accounts server ${this.accountsUrl} (data centre "${this.config.dataCentre}") rejected the refresh token: ${parsed.data.error}. Check that the client and refresh token were issued by this data centre.`,
        { details: { vendorCode: parsed.data.error, dataCentre: this.config.dataCentre } },
      );
    }
    const extras: Record<string, string> = {};
    if (parsed.data.api_domain) extras.api_domain = parsed.data.api_domain;
    return {
      accessToken: parsed.data.access_token,
      expiresInSeconds: parsed.data.expires_in ?? 3600,
      extras,
    };
  }

  /** One API request. Non-2xx throws `HttpError` (body kept for classification, never logged). */
  async request(method: string, path: string, input: RequestInput = {}): Promise<ZohoResponse> {
    const token = await this.tokens.token(input.signal);
    const url = new URL(`${this.apiBase()}${path}`);
    for (const [k, v] of Object.entries(input.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Zoho-oauthtoken ${token}`, ...input.headers };
    if (input.json !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetchImpl(url, {
      method,
      headers,
      ...(input.json !== undefined ? { body: JSON.stringify(input.json) } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
    });
    // 304 Not Modified answers If-Modified-Since when nothing changed: an empty result, like 204.
    if (res.status === 304) return { status: 204, headers: res.headers, body: null };
    const body = await readBody(res);
    if (res.status < 200 || res.status > 299) {
      const parsed = zohoErrorBody.safeParse(body);
      const code = parsed.success ? ` ${parsed.data.code}` : '';
      if (res.status === 401 && parsed.success && parsed.data.code === 'INVALID_TOKEN') {
        // The classic cause besides expiry: a token from another data centre's accounts server.
        throw new HttpError(
          res.status,
          `${method} ${path}`,
          res.headers,
          body,
          `HTTP 401 INVALID_TOKEN from ${method} ${path} at ${new URL(this.apiBase()).host}: the token is expired or was issued by another data centre (configured "${this.config.dataCentre}", accounts server ${new URL(this.accountsUrl).host}); check dataCentre if it persists after a refresh`,
        );
      }
      throw new HttpError(
        res.status,
        `${method} ${path}`,
        res.headers,
        body,
        `HTTP ${res.status}${code} from ${method} ${path}`,
      );
    }
    return { status: res.status, headers: res.headers, body };
  }

  /** Parse a 2xx body with a schema; 204 (empty) is `null`. */
  parse<S extends z.ZodType>(schema: S, res: ZohoResponse, what: string): z.output<S> | null {
    if (res.status === 204 || res.body === null || res.body === '') return null;
    const parsed = schema.safeParse(res.body);
    if (!parsed.success) {
      throw new CustodianError(
        'CUSTODIAN_ERR_CONNECTOR_BAD_RESPONSE',
        `Zoho answered ${what} with an unexpected shape (${parsed.error.issues.length} issues, first at "${parsed.error.issues[0]?.path.join('.') ?? ''}")`,
        { details: { what } },
      );
    }
    return parsed.data;
  }
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return null;
  const text = await res.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
