/**
 * sObject Collections: the per-record result shape and the allOrNone rollback shared by the Collections delete
 * (./recycle-bin.ts) and update (here). Up to 200 records a call, one result per record in request order;
 * a failed item may carry no id.
 */
import type { SandboxRequest, SandboxResponse } from '../kit/types.js';
import { errors } from './errors.js';
import { checkFieldValues } from './field-values.js';
import { isWellFormedId, KEY_PREFIX, objectNamed, type SfObjectName } from './schema.js';
import type { SalesforceStore } from './store.js';

/** Most records per sObject Collections call (and per emptyRecycleBin call). */
export const MAX_IDS = 200;

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
}

export const saved = (id: string): SaveResult => ({ id, success: true, errors: [] });

export const refused = (id: string | undefined, statusCode: string, message: string, fields: string[] = []) => ({
  ...(id === undefined ? {} : { id }),
  success: false,
  errors: [{ statusCode, message, fields }],
});

/** The state a record had before a call changed it, to put it back on rollback. */
export interface Undo {
  id: string;
  previous: Record<string, unknown> | undefined;
}

/**
 * allOrNone=true and something failed: undo every change of the call and report the records that had
 * succeeded as ALL_OR_NONE_OPERATION_ROLLED_BACK (the failed ones keep their own error).
 */
export function allOrNone(store: SalesforceStore, results: SaveResult[], undo: Undo[]): SaveResult[] {
  if (results.every((r) => r.success)) return results;
  for (const { id, previous } of undo.reverse()) store.restore(id, previous);
  return results.map((r) =>
    r.success
      ? refused(
          r.id,
          'ALL_OR_NONE_OPERATION_ROLLED_BACK',
          'Record rolled back because not all records were valid and the request was using AllOrNone header',
        )
      : r,
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// sObject Collections update: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
export function collectionsUpdate(store: SalesforceStore, req: SandboxRequest): SandboxResponse {
  const body = req.body;
  if (!isRecord(body) || !Array.isArray(body.records))
    return errors(400, 'JSON_PARSER_ERROR', 'The request body must be an object with a records array');
  if (body.records.length === 0) return errors(400, 'MISSING_ARGUMENT', 'records is required');
  // [U] the code Salesforce gives for more than 200 records on update; this is the one it gives on create and delete.
  if (body.records.length > MAX_IDS)
    return errors(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_IDS} records into this call`,
    );
  // A request Salesforce cannot read (no type, unknown type or column, wrong JSON type) is refused whole.
  const parsed: { id: unknown; object: SfObjectName; set: Record<string, unknown>; refusal?: SaveResult }[] = [];
  for (const [i, record] of body.records.entries()) {
    const type = isRecord(record) && isRecord(record.attributes) ? record.attributes.type : undefined;
    if (!isRecord(record) || typeof type !== 'string')
      return errors(400, 'JSON_PARSER_ERROR', `records[${i}]: each record needs an attributes map with a type`);
    const object = objectNamed(type);
    if (!object) return errors(400, 'INVALID_TYPE', `records[${i}]: sObject type '${type}' is not supported`);
    const checked = checkFieldValues(object, record, ['attributes', 'id', 'Id']);
    if ('refusal' in checked && checked.refusal.stage === 'parse')
      return errors(
        400,
        checked.refusal.errorCode,
        `records[${i}]: ${checked.refusal.message}`,
        checked.refusal.fields,
      );
    const id = record.id ?? record.Id;
    parsed.push(
      'refusal' in checked
        ? {
            id,
            object,
            set: {},
            refusal: refused(String(id), checked.refusal.errorCode, checked.refusal.message, checked.refusal.fields),
          }
        : { id, object, set: checked.set },
    );
  }
  const undo: Undo[] = [];
  const touched = new Set<string>();
  const results = parsed.map(({ id, object, set, refusal }): SaveResult => {
    // Failed items may have no id (documented); an id that is malformed or of another type is one of them.
    if (typeof id !== 'string' || !isWellFormedId(id) || !id.startsWith(KEY_PREFIX[object]))
      return refused(undefined, 'MALFORMED_ID', `${object} ID: id value of incorrect type`, ['Id']);
    const state = store.state(id);
    if (state === 'binned' || state === 'purged') return refused(id, 'ENTITY_IS_DELETED', 'entity is deleted');
    if (state === 'unknown') return refused(id, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    if (refusal) return refusal;
    if (!touched.has(id)) undo.push({ id, previous: store.patchOf(id) });
    touched.add(id);
    store.update(id, set);
    return saved(id);
  });
  return { status: 200, body: body.allOrNone === true ? allOrNone(store, results, undo) : results };
}
