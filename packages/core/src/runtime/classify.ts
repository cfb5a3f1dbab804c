/**
 * The default failure classifier: core HttpError, SDK errors that carry an HTTP status (HubSpot's SDK
 * puts it in `code`, others in `status`/`statusCode`), Node network errors and aborts. A connector's own
 * `classifyError` runs first and wins.
 */
import type { ClassifiedFailure } from '../contract.js';
import { ConnectorError, CustodianError } from '../errors.js';
import { HttpError, parseRetryAfter } from '../http.js';

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNABORTED',
]);

export function statusKind(status: number): ClassifiedFailure['kind'] {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_expired';
  if (status === 403) return 'permission';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 408 || status >= 500) return 'transient';
  if (status >= 400) return 'bad_request';
  return 'unknown';
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, unknown>;
  const hit = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = hit ? record[hit] : undefined;
  return Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
}

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  const message = err instanceof Error ? err.message : '';
  if (/fetch failed|socket hang up|network socket disconnected|other side closed/i.test(message)) return 'NETWORK';
  return undefined;
}

export function defaultClassify(err: unknown): ClassifiedFailure {
  if (err instanceof ConnectorError)
    return { kind: err.kind, ...(err.status !== undefined ? { status: err.status } : {}) };
  if (err instanceof CustodianError) return { kind: 'config', message: err.message };
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) return { kind: 'aborted' };
  if (err instanceof HttpError) {
    const retryAfterMs = parseRetryAfter(err.headers.get('retry-after'));
    return {
      kind: statusKind(err.status),
      status: err.status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  const code = networkCode(err);
  if (code) return { kind: 'transient', message: `network error (${code})` };
  if (err && typeof err === 'object') {
    const o = err as {
      status?: unknown;
      statusCode?: unknown;
      code?: unknown;
      headers?: unknown;
      response?: { headers?: unknown };
    };
    const status = [o.status, o.statusCode, o.code].find((v) => typeof v === 'number' && v >= 100 && v < 600) as
      | number
      | undefined;
    if (status !== undefined) {
      const retryAfterMs = parseRetryAfter(headerOf(o.headers ?? o.response?.headers, 'retry-after'));
      return { kind: statusKind(status), status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
  }
  return { kind: 'unknown' };
}

export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/**
 * Offset of an IANA time zone from UTC at an instant, in ms (Intl only: no time-zone database to ship).
 * Vendors that reset daily quotas at the account's local midnight need it (HubSpot).
 */
export function timeZoneOffsetMs(timeZone: string, at: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  return wall - Math.floor(at / 1000) * 1000;
}
