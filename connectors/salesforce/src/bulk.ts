/**
 * Bulk API 2.0, called step by step so every request goes through the runtime (rate limit, retries, quota):
 * query jobs for large reads and `hardDelete` ingest jobs for erasure that skips the Recycle Bin.
 * (jsforce 3.10.16's `bulk2.query` fails with "write after end" once results span two locators, and its
 * `loadAndWaitForResults` polls outside the runtime, so the job steps are plain REST calls here.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectorError, type OperationContext } from '@custodian/core';
import { requestWithHeaders, type SalesforceCall } from './call.js';
import type { SalesforceOptions } from './index.js';

type JobKind = 'query' | 'ingest';
interface JobInfo {
  id: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
}
export type CsvRow = Record<string, string>;

/**
 * Whether a failed Bulk job may be retried over the REST path: not after quota exhaustion, an abort or a
 * refused grant, where REST would fail the same way.
 */
export function canFallBack(err: unknown): err is ConnectorError {
  return err instanceof ConnectorError && !['quota_exhausted', 'aborted', 'auth_revoked'].includes(err.kind);
}

/** Rows of one results page; Bulk API 2.0 answers in CSV, which jsforce parses into string-valued rows. */
const RESULT_PAGE_SIZE = 10_000;

export function createBulk(options: SalesforceOptions, call: SalesforceCall) {
  const base = `/services/data/v${options.apiVersion}/jobs`;

  const jobFailed = (ctx: OperationContext, kind: JobKind, id: string, state: string) =>
    new ConnectorError(`Bulk API 2.0 ${kind} job ${id} ended in state ${state}`, {
      system: ctx.system,
      operation: `bulk-${kind}`,
      kind: 'bad_response',
    });

  /**
   * Poll until JobComplete. https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
   * and https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_info.htm
   */
  async function waitForJob(ctx: OperationContext, kind: JobKind, id: string): Promise<void> {
    const deadline = Date.now() + options.bulkPollTimeoutMs;
    for (;;) {
      const info = await call(ctx, `bulk-${kind}-status`, (conn) =>
        conn.request<JobInfo>({ method: 'GET', url: `${base}/${kind}/${id}` }),
      );
      if (info.state === 'JobComplete') return;
      if (info.state === 'Failed' || info.state === 'Aborted') throw jobFailed(ctx, kind, id, info.state);
      if (Date.now() >= deadline) {
        await abortJob(ctx, kind, id);
        throw new ConnectorError(
          `Bulk API 2.0 ${kind} job ${id} still ${info.state} after ${options.bulkPollTimeoutMs} ms`,
          { system: ctx.system, operation: `bulk-${kind}`, kind: 'transient' },
        );
      }
      await sleep(options.bulkPollIntervalMs, undefined, { signal: ctx.signal });
    }
  }

  /**
   * Best effort: a job we stop waiting for should not keep running in the org (its caller falls back to REST).
   * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_abort_job.htm and
   * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/close_job.htm (state Aborted)
   */
  async function abortJob(ctx: OperationContext, kind: JobKind, id: string): Promise<void> {
    try {
      await call(ctx, `bulk-${kind}-abort`, (conn) =>
        conn.request({
          method: 'PATCH',
          url: `${base}/${kind}/${id}`,
          body: JSON.stringify({ state: 'Aborted' }),
          headers: { 'content-type': 'application/json' },
        }),
      );
    } catch (err) {
      ctx.log.warn({ job: id, code: (err as { code?: string }).code }, 'could not abort a Bulk API 2.0 job');
    }
  }

  /** Run a query job and yield its result pages (`Sforce-Locator` until the string "null"). */
  async function* query(soql: string, all: boolean, ctx: OperationContext): AsyncGenerator<CsvRow[]> {
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
    const job = await call(
      ctx,
      'bulk-query-create',
      (conn) =>
        conn.request<JobInfo>({
          method: 'POST',
          url: `${base}/query`,
          body: JSON.stringify({ operation: all ? 'queryAll' : 'query', query: soql }),
          headers: { 'content-type': 'application/json' },
        }),
      false,
    );
    await waitForJob(ctx, 'query', job.id);
    let locator: string | null = null;
    do {
      const params = new URLSearchParams({ maxRecords: String(RESULT_PAGE_SIZE) });
      if (locator) params.set('locator', locator);
      // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
      const page = await call(ctx, 'bulk-query-results', (conn) =>
        requestWithHeaders<CsvRow[] | string>(conn, {
          method: 'GET',
          url: `${base}/query/${job.id}/results?${params}`,
          headers: { accept: 'text/csv' },
        }),
      );
      yield rowsOf(page.body, ctx, 'query results');
      const next = page.headers['sforce-locator'];
      locator = next && next !== 'null' ? next : null;
    } while (locator);
  }

  /**
   * Hard-delete ids of one object through an ingest job; returns the vendor error code per failed id and `null`
   * per deleted id. Ids in neither result set were not processed.
   */
  async function hardDelete(object: string, ids: string[], ctx: OperationContext): Promise<Map<string, string | null>> {
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/create_job.htm
    const job = await call(
      ctx,
      'bulk-ingest-create',
      (conn) =>
        conn.request<JobInfo>({
          method: 'POST',
          url: `${base}/ingest`,
          body: JSON.stringify({ object, operation: 'hardDelete', contentType: 'CSV', lineEnding: 'LF' }),
          headers: { 'content-type': 'application/json' },
        }),
      false,
    );
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/upload_job_data.htm
    await call(ctx, 'bulk-ingest-upload', (conn) =>
      conn.request({
        method: 'PUT',
        url: `${base}/ingest/${job.id}/batches`,
        body: `Id\n${ids.join('\n')}\n`,
        headers: { 'content-type': 'text/csv' },
      }),
    );
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/close_job.htm
    await call(ctx, 'bulk-ingest-close', (conn) =>
      conn.request({
        method: 'PATCH',
        url: `${base}/ingest/${job.id}`,
        body: JSON.stringify({ state: 'UploadComplete' }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    await waitForJob(ctx, 'ingest', job.id);
    const outcome = new Map<string, string | null>();
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm
    const done = await call(ctx, 'bulk-ingest-results', (conn) =>
      conn.request<CsvRow[] | string>({ method: 'GET', url: `${base}/ingest/${job.id}/successfulResults` }),
    );
    for (const row of rowsOf(done, ctx, 'successful results')) outcome.set(row.sf__Id ?? row.Id ?? '', null);
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_failed_results.htm
    const failed = await call(ctx, 'bulk-ingest-results', (conn) =>
      conn.request<CsvRow[] | string>({ method: 'GET', url: `${base}/ingest/${job.id}/failedResults` }),
    );
    // sf__Error is `STATUS_CODE:message:fields`; only the status code is kept (the message may quote values).
    for (const row of rowsOf(failed, ctx, 'failed results'))
      outcome.set(row.Id ?? row.sf__Id ?? '', (row.sf__Error ?? 'UNKNOWN').split(':')[0] || 'UNKNOWN');
    return outcome;
  }

  /** CSV bodies come back parsed; an empty body is no rows, anything else is not what the API documents. */
  function rowsOf(body: CsvRow[] | string, ctx: OperationContext, what: string): CsvRow[] {
    if (Array.isArray(body)) return body;
    if (typeof body === 'string' && body.trim() === '') return [];
    throw new ConnectorError(`Bulk API 2.0 ${what} are not CSV rows`, {
      system: ctx.system,
      operation: 'bulk',
      kind: 'bad_response',
    });
  }

  return { query, hardDelete };
}
export type Bulk = ReturnType<typeof createBulk>;
