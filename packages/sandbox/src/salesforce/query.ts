/**
 * SOQL execution over the store: picks candidates from an index when the WHERE pins ids, emails/phones or
 * the parent of an activity, else scans the (SystemModstamp, Id) index; filters, sorts, slices.
 * Errors carry Salesforce's codes: MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
 */
import { fieldOf, objectNamed, type SfField, type SfObjectName, type SfRow } from './schema.js';
import { type FieldValue, fieldsOf, matches, parseSoql, pinnedValues, SoqlSyntaxError } from './soql.js';
import type { IndexEntry, SalesforceStore } from './store.js';

export class QueryError extends Error {
  readonly errorCode: string;
  constructor(errorCode: string, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

export interface QueryResult {
  object: SfObjectName;
  select: SfField[];
  /** Matching ids in answer order (a snapshot: later pages read the records as they are then). */
  ids: string[];
}

const LINK_FIELD: Partial<Record<SfObjectName, string>> = { Task: 'WhoId', Note: 'ParentId', Case: 'ContactId' };

function resolveField(object: SfObjectName, name: string): SfField {
  const field = fieldOf(object, name);
  if (!field)
    throw new QueryError(
      'INVALID_FIELD',
      `No such column '${name}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
    );
  return field;
}

/** Run a SOQL query; `all` (queryAll) includes Recycle Bin rows. */
export function runQuery(store: SalesforceStore, soql: string, all: boolean): QueryResult {
  let q: ReturnType<typeof parseSoql>;
  try {
    q = parseSoql(soql);
  } catch (error) {
    if (error instanceof SoqlSyntaxError) throw new QueryError('MALFORMED_QUERY', error.message);
    throw error;
  }
  const object = objectNamed(q.object);
  if (!object)
    throw new QueryError(
      'INVALID_TYPE',
      `sObject type '${q.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
    );
  const select = q.fields.map((name) => resolveField(object, name));
  for (const name of [...fieldsOf(q.where), ...q.orderBy.map((o) => o.field)]) resolveField(object, name);

  // Candidates: an index lookup when the condition pins something indexed, else the whole object.
  let candidates: IndexEntry[];
  let fromIndex = false;
  const entryOf = (id: string): IndexEntry | null => {
    const row = store.find(id);
    return row ? { id, t: Date.parse(String(row.SystemModstamp)), deleted: row.IsDeleted === true } : null;
  };
  const pinnedIds = pinnedValues(q.where, ['Id']);
  const pinnedContacts =
    object === 'Contact' || object === 'Lead' ? pinnedValues(q.where, ['Email', 'Phone', 'MobilePhone']) : null;
  const linkField = LINK_FIELD[object];
  const pinnedParents = linkField ? pinnedValues(q.where, [linkField]) : null;
  let ids: string[] | null = null;
  if (pinnedIds) ids = pinnedIds;
  else if (pinnedContacts) ids = pinnedContacts.flatMap((v) => store.byContactValue(v));
  else if (pinnedParents && linkField) ids = store.activitiesOf(object as 'Task', pinnedParents);
  if (ids) {
    candidates = [...new Set(ids)].map(entryOf).filter((e): e is IndexEntry => e !== null);
  } else {
    candidates = store.index(object);
    fromIndex = true;
  }

  const rows = new Map<string, SfRow | null>();
  const rowOf = (id: string): SfRow | null => {
    if (!rows.has(id)) rows.set(id, store.find(id));
    return rows.get(id) ?? null;
  };
  const fieldValue = (entry: IndexEntry, name: string): FieldValue => {
    const lower = name.toLowerCase();
    if (lower === 'id') return entry.id;
    if (lower === 'systemmodstamp') return entry.t;
    if (lower === 'isdeleted') return entry.deleted;
    const field = fieldOf(object, name);
    return field ? (rowOf(entry.id)?.[field.name] as FieldValue) : undefined;
  };

  let matched = candidates.filter(
    (entry) =>
      (!entry.deleted || (all && store.state(entry.id) === 'binned')) &&
      store.objectOf(entry.id) === object &&
      matches(q.where, (field) => fieldValue(entry, field)),
  );

  const order = q.orderBy.map((o) => ({ ...o, lower: o.field.toLowerCase() }));
  const indexOrder =
    fromIndex &&
    order.length > 0 &&
    order[0]?.lower === 'systemmodstamp' &&
    !order[0].desc &&
    (order.length === 1 || (order.length === 2 && order[1]?.lower === 'id' && !order[1].desc));
  if (order.length > 0 && !indexOrder) {
    matched = [...matched].sort((a, b) => {
      for (const o of order) {
        const va = fieldValue(a, o.field);
        const vb = fieldValue(b, o.field);
        const na = va === null || va === undefined;
        const nb = vb === null || vb === undefined;
        if (na || nb) {
          if (na && nb) continue;
          return (na ? 1 : -1) * (o.nullsLast ? 1 : -1);
        }
        const c = compareValues(o.field, va, vb);
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });
  }
  const start = q.offset;
  const end = q.limit === null ? undefined : start + q.limit;
  return { object, select, ids: matched.slice(start, end).map((e) => e.id) };
}

/** Sort order of two non-null values: numbers by value, ids as they are, other text ignoring case. */
function compareValues(field: string, a: FieldValue, b: FieldValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const ordinal = /Id$/.test(field) || field.toLowerCase() === 'id';
  const x = ordinal ? String(a) : String(a).toLowerCase();
  const y = ordinal ? String(b) : String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
