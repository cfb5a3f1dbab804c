/**
 * One vendor call through the runtime (`ctx.call`: rate limit, retries, one refresh, quota pause) with a fresh
 * jsforce connection. After every response, error or not, the `Sforce-Limit-Info` usage jsforce parsed is
 * reported to the runtime with this system's stop share, so the runtime's quota guard stops the system before
 * the org's daily allocation runs out.
 */
import type { OperationContext } from '@custodian/core';
import type jsforce from 'jsforce';
import { HttpApi } from 'jsforce/lib/http-api.js';
import type { SalesforceClient, SalesforceOptions } from './index.js';

export type SalesforceCall = <T>(
  ctx: OperationContext,
  operation: string,
  fn: (conn: jsforce.Connection) => Promise<T>,
  idempotent?: boolean,
) => Promise<T>;

export function createCall(options: SalesforceOptions, client: SalesforceClient): SalesforceCall {
  return (ctx, operation, fn, idempotent = true) =>
    ctx.call(
      operation,
      async (signal) => {
        const conn = await client.connection(signal);
        const retryAfter = watchRetryAfter(conn);
        try {
          return await fn(conn);
        } catch (err) {
          // The 403 REQUEST_LIMIT_EXCEEDED error then states the exact usage the org reported with it.
          const usage = conn.limitInfo?.apiUsage;
          if (err && typeof err === 'object' && Object.isExtensible(err)) {
            if (usage) Object.assign(err, { apiUsage: `api-usage=${usage.used}/${usage.limit}` });
            if (retryAfter.ms !== undefined) Object.assign(err, { retryAfterMs: retryAfter.ms });
            // jsforce drops the HTTP status of errors whose body is not Salesforce's error array.
            if (retryAfter.status && (err as { statusCode?: number }).statusCode === undefined)
              Object.assign(err, { statusCode: retryAfter.status });
          }
          throw err;
        } finally {
          const usage = conn.limitInfo?.apiUsage;
          if (usage && usage.limit > 0)
            ctx.reportQuota({
              used: usage.used,
              limit: usage.limit,
              stopShare: options.quotaStopShare,
              vendorUsage: `api-usage=${usage.used}/${usage.limit}`,
            });
        }
      },
      { idempotent },
    );
}

/**
 * jsforce's fetch layer retries 429, 5xx and connection errors itself, up to five times with its own backoff and
 * no regard for Retry-After; the runtime owns retries (one policy, rate limits and quota pauses honoured), so
 * jsforce's are turned off for every request made here.
 */
const NO_JSFORCE_RETRIES = { retry: { maxRetries: 0 } };

/**
 * jsforce errors carry no response headers (nor, for a non-Salesforce body, the status), so a throttling
 * answer's `Retry-After` (seconds) would be lost:
 * REST calls on this connection go through an HttpApi that notes it, as `Connection.request` does with
 * `Sforce-Limit-Info` (kept here too).
 */
function watchRetryAfter(conn: jsforce.Connection): { ms?: number; status?: number } {
  const seen: { ms?: number; status?: number } = {};
  const normalizeUrl = (conn as unknown as { _normalizeUrl(url: string): string })._normalizeUrl.bind(conn);
  conn.request = ((request: string | { method: string; url: string }, options = {}) => {
    const req = typeof request === 'string' ? { method: 'GET', url: request } : request;
    const api = new HttpApi(conn, { ...options, ...NO_JSFORCE_RETRIES });
    api.on('response', (response: { statusCode?: number; headers?: Record<string, string | undefined> }) => {
      const headers = response.headers ?? {};
      seen.status = response.statusCode;
      const seconds = Number(headers['retry-after']);
      seen.ms = headers['retry-after'] !== undefined && Number.isFinite(seconds) ? seconds * 1000 : undefined;
      const usage = /api-usage=(\d+)\/(\d+)/.exec(headers['sforce-limit-info'] ?? '');
      if (usage) conn.limitInfo = { apiUsage: { used: Number(usage[1]), limit: Number(usage[2]) } };
    });
    return api.request({ ...req, url: normalizeUrl(req.url) } as never);
  }) as typeof conn.request;
  return seen;
}

/**
 * A REST request whose response headers matter (Bulk API 2.0 `Sforce-Locator`), which `Connection.request` does
 * not expose. It goes through jsforce's own HttpApi (auth header, error parsing, CSV bodies parsed into rows);
 * the `Sforce-Limit-Info` usage is copied onto `conn.limitInfo` as `Connection.request` would.
 */
export async function requestWithHeaders<T>(
  conn: jsforce.Connection,
  request: { method: 'GET'; url: string; headers?: Record<string, string> },
): Promise<{ body: T; headers: Record<string, string | undefined> }> {
  const api = new HttpApi(conn, NO_JSFORCE_RETRIES);
  let headers: Record<string, string | undefined> = {};
  api.on('response', (response: { headers?: Record<string, string | undefined> }) => {
    headers = response.headers ?? {};
    const usage = /api-usage=(\d+)\/(\d+)/.exec(headers['sforce-limit-info'] ?? '');
    if (usage) conn.limitInfo = { apiUsage: { used: Number(usage[1]), limit: Number(usage[2]) } };
  });
  const body = (await api.request({ ...request, url: new URL(request.url, conn.instanceUrl).toString() })) as T;
  return { body, headers };
}
