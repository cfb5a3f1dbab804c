/**
 * Deleting and purging: sObject Collections delete (up to 200 ids, one result per id in request order,
 * allOrNone rollback) into the Recycle Bin, and the SOAP `emptyRecycleBin` call that purges it.
 */
import type { SandboxRequest, SandboxResponse } from '../kit/types.js';
import { allOrNone, MAX_IDS, refused, type SaveResult, saved, type Undo } from './collections.js';
import { errors } from './errors.js';
import { isWellFormedId } from './schema.js';
import { emptyRecycleBinResponse, parseSoapCall, SOAP_CONTENT_TYPE, soapFault } from './soap.js';
import type { SalesforceStore } from './store.js';

// sObject Collections delete: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm
export function collectionsDelete(store: SalesforceStore, req: SandboxRequest): SandboxResponse {
  const ids = (req.query.get('ids') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) return errors(400, 'MISSING_ARGUMENT', 'ids parameter is required');
  if (ids.length > MAX_IDS) return errors(400, 'EXCEEDED_ID_LIMIT', `Maximum number of records exceeded: ${MAX_IDS}`);
  const undo: Undo[] = [];
  const results = ids.map((id): SaveResult => {
    // Failed items may have no id (documented); a malformed id is one of them.
    if (!isWellFormedId(id)) return refused(undefined, 'MALFORMED_ID', 'malformed id');
    const state = store.state(id);
    if (state === 'binned' || state === 'purged') return refused(id, 'ENTITY_IS_DELETED', 'entity is deleted');
    if (state === 'unknown') return refused(id, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    const previous = store.patchOf(id);
    // lieOnDelete: answer success and keep the record (a vendor that lies; verification must catch it).
    if (!req.knobs?.lieOnDelete) store.remove(id);
    undo.push({ id, previous });
    return saved(id);
  });
  const answered = req.query.get('allOrNone') === 'true' ? allOrNone(store, results, undo) : results;
  // Rolled back or lied about: nothing was deleted.
  const deleted = req.knobs?.lieOnDelete ? [] : answered.flatMap((r) => (r.success && r.id ? [r.id] : []));
  return { status: 200, body: answered, deleted };
}

// SOAP emptyRecycleBin (no REST resource): https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm
export function emptyRecycleBin(store: SalesforceStore, req: SandboxRequest, dailyLimit: number): SandboxResponse {
  const call = parseSoapCall(req.rawBody);
  if (!call) return soapFault('INVALID_SOAP_HEADER', 'the request is not a SOAP envelope');
  if (call.method !== 'emptyRecycleBin')
    return soapFault('INVALID_OPERATION', `operation ${call.method} is not supported here`);
  if (call.ids.length > MAX_IDS) return soapFault('EXCEEDED_ID_LIMIT', `emptyRecycleBin takes at most ${MAX_IDS} ids`);
  const results = call.ids.map((id) => {
    const state = isWellFormedId(id) ? store.state(id) : 'unknown';
    if (req.knobs?.lieOnDelete && state === 'live') return { id, success: true };
    if (state === 'binned') {
      store.purge(id);
      return { id, success: true };
    }
    // [U] the exact status codes for ids not in the bin are not documented; these are what jsforce users report.
    if (state === 'live')
      return {
        id,
        success: false,
        error: { statusCode: 'INVALID_ID_FIELD', message: 'record is not in the recycle bin' },
      };
    if (state === 'purged')
      return { id, success: false, error: { statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted' } };
    return {
      id,
      success: false,
      error: { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id' },
    };
  });
  return {
    status: 200,
    headers: { 'content-type': SOAP_CONTENT_TYPE },
    body: emptyRecycleBinResponse(results, { used: req.dailyUsed ?? 0, limit: dailyLimit }),
  };
}
