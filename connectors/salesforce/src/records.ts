/** Describe-driven field lists and the mapping of Salesforce rows (REST JSON or Bulk CSV) to core records. */
import type { CrmRecord, OperationContext, StreamKind } from '@custodian/core';
import type { SalesforceCall } from './call.js';
import type { SalesforceOptions } from './index.js';
import { ACTIVITY_OBJECTS, classifyField, PERSON_OBJECTS } from './streams.js';

export type SfRecord = Record<string, unknown> & { Id: string; attributes?: unknown };
export interface DescribedField {
  name: string;
  type: string;
}

export const LINK_FIELDS: Record<string, string> = { Task: 'WhoId', Note: 'ParentId', Case: 'ContactId' };
const PREFIX_OBJECT: Record<string, string> = { '003': 'Contact', '00Q': 'Lead' };
const NUMERIC_TYPES = new Set(['int', 'double', 'currency', 'percent', 'long']);

export function kindOf(object: string): StreamKind {
  if ((PERSON_OBJECTS as readonly string[]).includes(object)) return 'person';
  if ((ACTIVITY_OBJECTS as readonly string[]).includes(object)) return 'activity';
  return 'other';
}

export function createRecords(options: SalesforceOptions, call: SalesforceCall) {
  // The describe in flight is shared: lookups sent side by side ask once per object.
  const fieldsCache = new Map<string, Promise<DescribedField[]>>();

  /** https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm */
  async function describe(object: string, ctx: OperationContext): Promise<DescribedField[]> {
    let fields = fieldsCache.get(object);
    if (!fields) {
      fields = call(ctx, 'describe', (conn) =>
        conn.request<{ fields: DescribedField[] }>(`/services/data/v${options.apiVersion}/sobjects/${object}/describe`),
      ).then((result) =>
        // Compound fields cannot be selected in Bulk queries and repeat their components; blobs are not text.
        result.fields.filter((f) => f.type !== 'address' && f.type !== 'location' && f.type !== 'base64'),
      );
      fieldsCache.set(object, fields);
      // A failed describe is asked again next time.
      fields.catch(() => fieldsCache.delete(object));
    }
    return fields;
  }

  async function selectList(object: string, ctx: OperationContext): Promise<string[]> {
    const names = (await describe(object, ctx)).map((f) => f.name);
    for (const needed of ['Id', 'SystemModstamp', 'IsDeleted']) if (!names.includes(needed)) names.push(needed);
    return names;
  }

  /** Bulk CSV cells are strings; typed back by the describe (empty cell = null). */
  function fromCsv(row: Record<string, string>, described: DescribedField[]): SfRecord {
    const types = new Map(described.map((f) => [f.name, f.type]));
    const out: Record<string, unknown> = {};
    for (const [name, cell] of Object.entries(row)) {
      const type = types.get(name) ?? (name === 'IsDeleted' ? 'boolean' : 'string');
      out[name] =
        cell === '' ? null : type === 'boolean' ? cell === 'true' : NUMERIC_TYPES.has(type) ? Number(cell) : cell;
    }
    return out as SfRecord;
  }

  function toRecord(object: string, raw: SfRecord, ctx: OperationContext): CrmRecord {
    const { attributes: _attributes, ...fields } = raw;
    const canonical: CrmRecord['canonical'] = {};
    for (const [name, value] of Object.entries(fields)) {
      const c = classifyField(name, '', options.fieldOverrides[object]).canonical;
      if (c && (typeof value === 'string' || value === null)) canonical[c] = value;
    }
    const record: CrmRecord = {
      ref: { system: ctx.system, object, id: raw.Id },
      kind: kindOf(object),
      canonical,
      fields,
      updatedAt: (raw.SystemModstamp as string | undefined) ?? null,
      createdAt: (raw.CreatedDate as string | undefined) ?? null,
      archived: raw.IsDeleted === true,
    };
    if (record.kind === 'person') {
      record.lastActivityAt = (raw.LastActivityDate as string | null | undefined) ?? null;
      record.lifecycleStage = object === 'Lead' ? ((raw.Status as string | null | undefined) ?? 'lead') : 'contact';
      if ('HasOptedOutOfEmail' in raw) record.consent = { marketingOptOut: raw.HasOptedOutOfEmail === true };
    }
    const linkField = LINK_FIELDS[object];
    const linked = linkField ? (raw[linkField] as string | null | undefined) : null;
    if (linked) {
      const target = PREFIX_OBJECT[linked.slice(0, 3)];
      if (target) record.links = [{ system: ctx.system, object: target, id: linked }];
    }
    return record;
  }

  return { describe, selectList, fromCsv, toRecord };
}
export type Records = ReturnType<typeof createRecords>;
