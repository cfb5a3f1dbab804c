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
        try {
          return await fn(conn);
        } catch (err) {
          // The 403 REQUEST_LIMIT_EXCEEDED error then states the exact usage the org reported with it.
          const usage = conn.limitInfo?.apiUsage;
          if (usage && err && typeof err === 'object' && Object.isExtensible(err))
            Object.assign(err, { apiUsage: `api-usage=${usage.used}/${usage.limit}` });
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
 * A REST request whose response headers matter (Bulk API 2.0 `Sforce-Locator`), which `Connection.request` does
 * not expose. It goes through jsforce's own HttpApi (auth header, error parsing, CSV bodies parsed into rows);
 * the `Sforce-Limit-Info` usage is copied onto `conn.limitInfo` as `Connection.request` would.
 */
export async function requestWithHeaders<T>(
  conn: jsforce.Connection,
  request: { method: 'GET'; url: string; headers?: Record<string, string> },
): Promise<{ body: T; headers: Record<string, string | undefined> }> {
  const api = new HttpApi(conn, {});
  let headers: Record<string, string | undefined> = {};
  api.on('response', (response: { headers?: Record<string, string | undefined> }) => {
    headers = response.headers ?? {};
    const usage = /api-usage=(\d+)\/(\d+)/.exec(headers['sforce-limit-info'] ?? '');
    if (usage) conn.limitInfo = { apiUsage: { used: Number(usage[1]), limit: Number(usage[2]) } };
  });
  const body = (await api.request({ ...request, url: new URL(request.url, conn.instanceUrl).toString() })) as T;
  return { body, headers };
}
