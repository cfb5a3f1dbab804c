/**
 * Incremental read of one stream. SOQL on `SystemModstamp` ordered by (SystemModstamp, Id) from a composite
 * watermark `{ since, lastId }`: `>=` plus the (since, lastId) tie-break so a page boundary inside one instant
 * loses nothing, each run starting `lookbackMinutes` earlier for late commits. Incremental runs use `queryAll`,
 * whose Recycle Bin rows (`IsDeleted = true`) become `archived` deletes, then the getDeleted feed, which also
 * names rows already purged from the Recycle Bin (`deleted`). When the first REST page reports more rows than
 * `bulkThreshold`, the read switches to a Bulk API 2.0 query job, and back to REST if that job cannot run.
 */
import { type Checkpoint, ConnectorError, type DeletedRecord, type OperationContext, type Page } from '@custodian/core';
import { type Bulk, canFallBack } from './bulk.js';
import type { SalesforceCall } from './call.js';
import type { SalesforceOptions } from './index.js';
import type { Query } from './query.js';
import type { Records, SfRecord } from './records.js';
import { checkedId, soqlDatetime } from './soql.js';
import { STREAM_OBJECTS } from './streams.js';

/** getDeleted answers for the last 15 days only; a little margin keeps `start` inside the window. */
const DELETED_WINDOW_MS = 15 * 24 * 3600_000 - 10 * 60_000;

interface Mark {
  since: string | null;
  lastId: string | null;
}
interface DeletedReply {
  deletedRecords: { id: string; deletedDate: string }[];
  earliestDateAvailable?: string;
  latestDateCovered: string;
}

/** A checkpoint date-time, or a coded error naming the field (a hand-edited or foreign checkpoint). */
function checkpointTime(checkpoint: Checkpoint | null, field: string, ctx: OperationContext): string | null {
  const value = checkpoint?.[field];
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new ConnectorError(`checkpoint.${field} is not an ISO 8601 date-time`, {
    system: ctx.system,
    operation: 'read',
    kind: 'bad_request',
  });
}

export function createRead(
  options: SalesforceOptions,
  call: SalesforceCall,
  query: Query,
  bulk: Bulk,
  records: Records,
) {
  return async function* read(stream: string, checkpoint: Checkpoint | null, ctx: OperationContext) {
    if (!(STREAM_OBJECTS as readonly string[]).includes(stream)) {
      throw new ConnectorError(`unknown stream "${stream}" (streams: ${STREAM_OBJECTS.join(', ')})`, {
        system: ctx.system,
        operation: 'read',
        kind: 'bad_request',
      });
    }
    const described = await records.describe(stream, ctx);
    const fields = await records.selectList(stream, ctx);
    const since = checkpointTime(checkpoint, 'since', ctx);
    const lastId = typeof checkpoint?.lastId === 'string' ? checkpoint.lastId : null;
    let deletedSince = checkpointTime(checkpoint, 'deletedSince', ctx);
    // Lookback restarts earlier (late-committed rows); (since, lastId) dedupes the instant we stopped inside.
    const from = since ? new Date(new Date(since).getTime() - options.lookbackMinutes * 60_000).toISOString() : null;
    const at = (iso: string) => soqlDatetime(iso);
    const where = !from
      ? ''
      : options.lookbackMinutes === 0 && lastId
        ? ` WHERE (SystemModstamp > ${at(from)} OR (SystemModstamp = ${at(from)} AND Id > '${checkedId(lastId, { system: ctx.system, operation: 'read', object: stream })}'))`
        : ` WHERE SystemModstamp >= ${at(from)}`;
    const soql = `SELECT ${fields.join(', ')} FROM ${stream}${where}`;
    const all = since !== null;
    let mark: Mark = { since, lastId };
    const archived = new Set<string>();
    const checkpointOf = (m: Mark): Checkpoint => ({ ...m, ...(deletedSince ? { deletedSince } : {}) });

    /** One page of rows; its checkpoint is `hold` when given (Bulk results are unordered), else the mark. */
    const pageOf = (rows: SfRecord[], hold?: Mark): Page => {
      const out: Page['records'] = [];
      const deleted: DeletedRecord[] = [];
      for (const raw of rows) {
        const stamp = new Date(raw.SystemModstamp as string).toISOString();
        // The mark only moves forward: lookback rows older than it never move the checkpoint back.
        if (!mark.since || stamp > mark.since || (stamp === mark.since && raw.Id > (mark.lastId ?? ''))) {
          mark = { since: stamp, lastId: raw.Id };
        }
        if (raw.IsDeleted === true) {
          archived.add(raw.Id);
          deleted.push({
            ref: { system: ctx.system, object: stream, id: raw.Id },
            deletedAt: stamp,
            state: 'archived',
          });
        } else {
          out.push(records.toRecord(stream, raw, ctx));
        }
      }
      const page: Page = { records: out, checkpoint: checkpointOf(hold ?? mark) };
      if (deleted.length > 0) page.deleted = deleted;
      return page;
    };

    // totalSize of the first page is the cheap count that decides between REST and Bulk.
    const first = await query.first(`${soql} ORDER BY SystemModstamp ASC, Id ASC`, ctx, all);
    let done = false;
    // A result that fitted in its first page is complete already: no job is worth starting for it.
    const bulkWanted = first.totalSize > options.bulkThreshold && !first.done;
    if (bulkWanted) {
      ctx.log.info({ stream, rows: first.totalSize }, 'reading over a Bulk API 2.0 query job');
      const startMark = mark;
      let yielded = false;
      try {
        // Bulk API 2.0 takes no ORDER BY: every page keeps the old checkpoint, a last empty page moves it.
        for await (const rows of bulk.query(soql, all, ctx)) {
          yield pageOf(
            rows.map((row) => records.fromCsv(row, described)),
            startMark,
          );
          yielded = true;
        }
        done = true;
        yield { records: [], checkpoint: checkpointOf(mark) };
      } catch (err) {
        if (yielded || !canFallBack(err)) throw err;
        ctx.log.warn(
          { stream, code: err.code, kind: err.kind, rows: first.totalSize },
          'Bulk API 2.0 query failed; reading over REST instead',
        );
        mark = startMark;
      }
    }
    if (!done) {
      // After a Bulk attempt the first page's query locator may have expired: query again from the start.
      for await (const page of query.pages(
        `${soql} ORDER BY SystemModstamp ASC, Id ASC`,
        ctx,
        all,
        bulkWanted ? undefined : first,
      ))
        yield pageOf(page.records);
    }
    if (!all || !from) return;

    const now = ctx.now();
    const start = new Date(Math.max(new Date(deletedSince ?? from).getTime(), now.getTime() - DELETED_WINDOW_MS));
    if (now.getTime() - start.getTime() < 60_000) return;
    const params = new URLSearchParams({
      start: soqlDatetime(start.toISOString()),
      end: soqlDatetime(now.toISOString()),
    });
    let reply: DeletedReply;
    try {
      // getDeleted: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
      reply = await call(ctx, 'deleted', (conn) =>
        conn.request<DeletedReply>(`/services/data/v${options.apiVersion}/sobjects/${stream}/deleted/?${params}`),
      );
    } catch (err) {
      // Objects that are not replicateable have no feed; the Recycle Bin rows above still came through.
      if (err instanceof ConnectorError && ['bad_request', 'not_found', 'permission'].includes(err.kind)) {
        ctx.log.warn({ stream, code: err.code, kind: err.kind }, 'getDeleted feed unavailable for this object');
        return;
      }
      throw err;
    }
    const purged: DeletedRecord[] = reply.deletedRecords
      .filter((d) => !archived.has(d.id))
      .map((d) => ({
        ref: { system: ctx.system, object: stream, id: d.id },
        deletedAt: new Date(d.deletedDate).toISOString(),
        state: 'deleted',
      }));
    deletedSince = new Date(reply.latestDateCovered).toISOString();
    const page: Page = { records: [], checkpoint: checkpointOf(mark) };
    if (purged.length > 0) page.deleted = purged;
    yield page;
  };
}
