/** SOQL over REST: `query` or `queryAll` (Recycle Bin rows too), following `nextRecordsUrl`. */
import type { OperationContext } from '@custodian/core';
import type { SalesforceCall } from './call.js';
import type { SalesforceOptions } from './index.js';
import type { SfRecord } from './records.js';

export interface QueryResult {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SfRecord[];
}

export function createQuery(options: SalesforceOptions, call: SalesforceCall) {
  /** https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm (+ queryAll, nextRecordsUrl) */
  function first(soql: string, ctx: OperationContext, all: boolean): Promise<QueryResult> {
    const resource = all ? 'queryAll' : 'query';
    return call(ctx, resource, (conn) =>
      conn.request<QueryResult>({
        method: 'GET',
        url: `/services/data/v${options.apiVersion}/${resource}?q=${encodeURIComponent(soql)}`,
        headers: { 'Sforce-Query-Options': `batchSize=${options.pageSize}` },
      }),
    );
  }

  /** Pages from `start` (an already fetched first page) or from a fresh query. */
  async function* pages(
    soql: string,
    ctx: OperationContext,
    all: boolean,
    start?: QueryResult,
  ): AsyncGenerator<QueryResult> {
    let page = start ?? (await first(soql, ctx, all));
    yield page;
    while (!page.done && page.nextRecordsUrl) {
      const next: string = page.nextRecordsUrl;
      // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm (nextRecordsUrl)
      page = await call(ctx, 'queryMore', (conn) => conn.request<QueryResult>(next));
      yield page;
    }
  }

  async function records(soql: string, ctx: OperationContext, all = false): Promise<SfRecord[]> {
    const out: SfRecord[] = [];
    for await (const page of pages(soql, ctx, all)) out.push(...page.records);
    return out;
  }

  return { first, pages, records };
}
export type Query = ReturnType<typeof createQuery>;
