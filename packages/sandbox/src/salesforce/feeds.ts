/** The replication feeds: ids updated or deleted in a window (30 and 15 days back at most). */
import type { SandboxRequest, SandboxResponse } from '../kit/types.js';
import { errors } from './errors.js';
import { type SfObjectName, sfDateTime } from './schema.js';
import { RECYCLE_BIN_DAYS, type SalesforceStore } from './store.js';

const DAY = 86_400_000;

/** `start`/`end` of the updated/deleted feeds (ISO 8601), or the 400 Salesforce gives. */
function feedWindow(
  req: SandboxRequest,
  maxDays: number,
  nowMs: number,
): { start: number; end: number } | SandboxResponse {
  const start = Date.parse(req.query.get('start') ?? '');
  const end = Date.parse(req.query.get('end') ?? '');
  if (Number.isNaN(start) || Number.isNaN(end))
    return errors(400, 'MISSING_ARGUMENT', 'start and end are required ISO 8601 date-times');
  if (end < start) return errors(400, 'INVALID_REPLICATION_DATE', 'end date is before start date');
  if (start < nowMs - maxDays * DAY)
    return errors(400, 'INVALID_REPLICATION_DATE', `start date must be within the last ${maxDays} days`);
  return { start, end };
}
// Salesforce reports coverage to the minute.
const minute = (ms: number, nowMs: number) => sfDateTime(Math.floor(Math.min(ms, nowMs) / 60_000) * 60_000);

// GET /sobjects/{X}/updated: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
export function updatedFeed(
  store: SalesforceStore,
  req: SandboxRequest,
  object: SfObjectName,
  nowMs: number,
): SandboxResponse {
  const w = feedWindow(req, 30, nowMs);
  if ('status' in w) return w;
  const ids = store
    .index(object)
    .filter((e) => !e.deleted && e.t >= w.start && e.t < w.end)
    .map((e) => e.id);
  if (ids.length > 600_000) return errors(400, 'EXCEEDED_ID_LIMIT', 'too many ids: narrow the date range');
  return { status: 200, body: { ids, latestDateCovered: minute(w.end, nowMs) } };
}

// GET /sobjects/{X}/deleted: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
export function deletedFeed(
  store: SalesforceStore,
  req: SandboxRequest,
  object: SfObjectName,
  nowMs: number,
): SandboxResponse {
  const w = feedWindow(req, RECYCLE_BIN_DAYS, nowMs);
  if ('status' in w) return w;
  return {
    status: 200,
    body: {
      deletedRecords: store.deletedBetween(object, w.start, w.end),
      earliestDateAvailable: minute(nowMs - RECYCLE_BIN_DAYS * DAY, nowMs),
      latestDateCovered: minute(w.end, nowMs),
    },
  };
}
