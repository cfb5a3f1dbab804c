/** Test helpers: a runtime-wrapped HubSpot connector and HubSpot-shaped replies for nock. */
import { createRuntimeConnector, type Logger, type RuntimeConnector } from '@custodian/core';
import { captureLogger } from '@custodian/testkit';
import hubspot from '../src/index.js';

export const API = 'https://api.hubapi.com';
export const TOKEN = 'pat-eu1-0b8e4c1d-secret-token';

export { captureLogger };

export async function connect(
  options: Record<string, unknown> = {},
  logger: Logger = captureLogger().logger,
  now?: () => Date,
): Promise<RuntimeConnector> {
  return createRuntimeConnector(hubspot, {
    system: 'hubspot-eu',
    options: { auth: { type: 'private-app', accessToken: TOKEN }, searchLagSeconds: 0, lookbackMinutes: 0, ...options },
    logger,
    sleep: async () => {},
    baseBackoffMs: 1,
    maxRetries: 3,
    ...(now ? { now } : {}),
  });
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export interface HsObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  associations?: Record<string, { results: { id: string; type: string }[] }>;
}

export function contact(i: number, modifiedMs: number, extra: Record<string, string | null> = {}): HsObject {
  const at = new Date(modifiedMs).toISOString();
  return {
    id: String(1000 + i),
    properties: {
      hs_object_id: String(1000 + i),
      email: `person${i}@example.org`,
      firstname: `First${i}`,
      lastname: `Last${i}`,
      phone: '+33612345678',
      createdate: '2025-01-01T00:00:00.000Z',
      lastmodifieddate: at,
      hs_email_optout: i % 2 === 0 ? 'true' : 'false',
      hs_legal_basis: 'Freely given consent from contact',
      notes_last_updated: null,
      ...extra,
    },
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: at,
    archived: false,
  };
}

interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: string;
}
interface SearchBody {
  filterGroups?: { filters: SearchFilter[] }[];
  sorts?: (string | { propertyName: string; direction?: string })[];
  limit?: number;
  after?: string | number;
}

const asNumber = (property: string, v: string | null | undefined): number =>
  v == null ? Number.NaN : /date|timestamp/.test(property) && Number.isNaN(Number(v)) ? Date.parse(v) : Number(v);

/**
 * CRM search as HubSpot documents it: filter groups ORed, filters ANDed, one sort ascending, `limit` <= 200,
 * `after` offset, `total`, and a 400 once `after + limit` passes 10,000.
 * https://developers.hubspot.com/docs/api-reference/search/guide
 */
export function searchReply(records: HsObject[]) {
  return (_uri: string, raw: unknown): [number, unknown] => {
    const body = raw as SearchBody;
    const match = (o: HsObject, f: SearchFilter) => {
      const a = asNumber(f.propertyName, o.properties[f.propertyName]);
      const b = asNumber(f.propertyName, f.value);
      switch (f.operator) {
        case 'EQ':
          return Number.isNaN(b) ? o.properties[f.propertyName] === f.value : a === b;
        case 'GT':
          return a > b;
        case 'GTE':
          return a >= b;
        case 'LTE':
          return a <= b;
        default:
          throw new Error(`operator ${f.operator} not in this fake`);
      }
    };
    const groups = body.filterGroups ?? [];
    let hits = records.filter((o) => groups.length === 0 || groups.some((g) => g.filters.every((f) => match(o, f))));
    const sort = body.sorts?.[0];
    const sortBy = typeof sort === 'string' ? sort : sort?.propertyName;
    if (sortBy)
      hits = [...hits].sort(
        (x, y) =>
          asNumber(sortBy, x.properties[sortBy]) - asNumber(sortBy, y.properties[sortBy]) ||
          Number(x.id) - Number(y.id),
      );
    const limit = body.limit ?? 10;
    const after = Number(body.after ?? 0);
    if (after + limit > 10_000)
      return [
        400,
        {
          status: 'error',
          message: 'There was a problem with the request.',
          correlationId: 'c0ffee',
          category: 'VALIDATION_ERROR',
        },
      ];
    const page = hits.slice(after, after + limit).map(({ associations: _a, ...o }) => o);
    const next = after + limit < hits.length ? { paging: { next: { after: String(after + limit) } } } : {};
    return [200, { total: hits.length, results: page, ...next }];
  };
}
