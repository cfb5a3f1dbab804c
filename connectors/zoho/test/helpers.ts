/** Test helpers: a runtime-wrapped Zoho connector and a Zoho Get Records look-alike for nock replies. */
import { createRuntimeConnector, type Logger, type RuntimeConnector } from '@custodian/core';
import { captureLogger } from '@custodian/testkit';
import zoho from '../src/index.js';

export const SECRET = 'csecret-5f1e9a77';
export const REFRESH = '1000.refresh-8c1f2b';

export { captureLogger };

export async function connect(
  options: Record<string, unknown> = {},
  system = 'zoho-eu',
  logger: Logger = captureLogger().logger,
): Promise<RuntimeConnector> {
  return createRuntimeConnector(zoho, {
    system,
    options: {
      dataCentre: 'eu',
      clientId: '1000.CLIENTID',
      clientSecret: SECRET,
      refreshToken: REFRESH,
      ...options,
    },
    logger,
    sleep: async () => {},
    baseBackoffMs: 1,
    maxRetries: 3,
  });
}

export function tokenReply(token: string, apiDomain = 'https://www.zohoapis.eu') {
  return { access_token: token, api_domain: apiDomain, token_type: 'Bearer', expires_in: 3600 };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export interface FakeRecord {
  id: string;
  Modified_Time: string;
  [field: string]: unknown;
}

/**
 * Get Records as Zoho documents it: mandatory `fields` (<= 50), `per_page` 200, `page` up to 2,000 records
 * then DISCRETE_PAGINATION_LIMIT_EXCEEDED, `page_token` bound to the fields, If-Modified-Since (strictly
 * after), Modified_Time ascending, 204 when empty.
 */
export function getRecordsReply(
  records: FakeRecord[],
  uri: string,
  headers: Record<string, unknown>,
): [number, unknown] {
  const url = new URL(uri, 'https://x');
  const q = url.searchParams;
  const fields = q.get('fields');
  if (!fields)
    return [
      400,
      {
        code: 'REQUIRED_PARAM_MISSING',
        details: { param: 'fields' },
        message: 'One of the expected parameter is missing',
        status: 'error',
      },
    ];
  const names = fields.split(',');
  if (names.length > 50)
    return [
      400,
      {
        code: 'LIMIT_EXCEEDED',
        details: { limit: 50, param: 'fields' },
        message: 'fields limit exceeded',
        status: 'error',
      },
    ];
  const perPage = Number(q.get('per_page') ?? 200);
  const ims = headers['if-modified-since'];
  const since = typeof ims === 'string' ? Date.parse(ims) : Array.isArray(ims) ? Date.parse(String(ims[0])) : null;
  const rows = records
    .filter((r) => since === null || Date.parse(r.Modified_Time) > since)
    .sort((a, b) => Date.parse(a.Modified_Time) - Date.parse(b.Modified_Time) || a.id.localeCompare(b.id));
  let offset: number;
  const token = q.get('page_token');
  if (token) {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as { offset: number; fields: string };
    if (t.fields !== fields)
      return [
        400,
        { code: 'TOKEN_BOUND_DATA_MISMATCH', details: {}, message: 'token bound to other parameters', status: 'error' },
      ];
    offset = t.offset;
  } else {
    const page = Number(q.get('page') ?? 1);
    offset = (page - 1) * perPage;
    if (offset + perPage > 2000)
      return [
        400,
        {
          code: 'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
          details: { limit: 2000 },
          message: 'cannot fetch more than 2000 records. Use page_token',
          status: 'error',
        },
      ];
  }
  const slice = rows.slice(offset, offset + perPage);
  if (slice.length === 0) return [204, ''];
  const more = offset + perPage < rows.length;
  return [
    200,
    {
      data: slice.map((r) => Object.fromEntries([['id', r.id], ...names.filter((n) => n in r).map((n) => [n, r[n]])])),
      info: {
        per_page: perPage,
        count: slice.length,
        page: Math.floor(offset / perPage) + 1,
        more_records: more,
        next_page_token: more
          ? Buffer.from(JSON.stringify({ offset: offset + perPage, fields })).toString('base64url')
          : null,
        previous_page_token: null,
        page_token_expiry: '2026-11-24T10:00:00+00:00',
        sort_by: 'Modified_Time',
        sort_order: 'asc',
      },
    },
  ];
}
