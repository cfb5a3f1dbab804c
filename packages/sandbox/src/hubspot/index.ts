/**
 * HubSpot CRM v3 look-alike over the seed world. Shapes follow vendor-facts.md §1 and the public spec
 * (https://github.com/HubSpot/HubSpot-public-api-spec-collection). Contacts and notes are built from the
 * world on first use (ids deterministic: contact 100000 + 2*index, its duplicate +1, notes
 * 500000000 + 10*index + k); changes are kept in the same maps. Duplicates carry no email (HubSpot keeps
 * email unique per portal) and the person's name and phone. Where the docs leave a shape open a comment says so.
 */
import { randomUUID } from 'node:crypto';
import type { SeedWorld } from '../kit/seed-types.js';
import type { SandboxRequest, SandboxResponse, VendorApp } from '../kit/types.js';

export interface HubSpotAppOptions {
  /** Client credentials the OAuth endpoint accepts. */
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** Private-app tokens accepted as is. */
  privateAppTokens?: string[];
  /** Burst limit per 10 s (Professional/Enterprise 190, Free/Starter 100). */
  burstPer10s?: number;
  dailyLimit?: number;
}

interface HsRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
  /** Notes: contact ids; contacts: note ids. */
  links: string[];
}

const LEGAL: Record<string, string> = {
  consent: 'Freely given consent from contact',
  contract: 'Performance of a contract',
  legitimate_interest: 'Legitimate interest – prospect/lead',
};

const error = (status: number, category: string, message: string, extra: Record<string, unknown> = {}) => ({
  status,
  body: { status: 'error', message, correlationId: randomUUID(), category, ...extra },
});

export function createHubSpotApp(
  world: SeedWorld,
  options: HubSpotAppOptions = {},
): VendorApp & {
  objects(type: 'contacts' | 'notes'): Map<string, HsRecord>;
} {
  const tokens = new Map<string, number>();
  for (const t of options.privateAppTokens ?? []) tokens.set(t, Number.POSITIVE_INFINITY);
  let contacts: Map<string, HsRecord> | null = null;
  let notes: Map<string, HsRecord> | null = null;
  const blocklist = new Set<string>();
  const unsubscribed = new Map<string, Set<string>>();
  const clock = () => Date.now();

  function build() {
    if (contacts && notes) return;
    contacts = new Map();
    notes = new Map();
    for (const index of world.indexesIn('hubspot')) {
      const p = world.person(index);
      const base = (id: number, email: string | null): HsRecord => ({
        id: String(id),
        properties: {
          hs_object_id: String(id),
          email,
          firstname: p.firstName,
          lastname: p.lastName,
          phone: p.phone,
          address: p.street,
          city: p.city,
          zip: p.postalCode,
          country: p.country,
          company: p.company,
          jobtitle: p.jobTitle,
          createdate: p.createdAt,
          lastmodifieddate: p.updatedAt,
          notes_last_updated: p.lastActivityAt,
          lifecyclestage: p.lifecycleStage,
          hs_email_optout: p.optedOut.hubspot ? 'true' : 'false',
          hs_legal_basis: p.legalBasis ? (LEGAL[p.legalBasis] ?? null) : null,
        },
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
        archived: false,
        links: [],
      });
      const primary = base(100_000 + 2 * index, p.email);
      contacts.set(primary.id, primary);
      if (p.duplicatedIn.includes('hubspot')) {
        const dup = base(100_001 + 2 * index, null);
        contacts.set(dup.id, dup);
      }
      for (const [k, n] of (p.notes.hubspot ?? []).entries()) {
        const id = String(500_000_000 + 10 * index + k);
        notes.set(id, {
          id,
          properties: {
            hs_object_id: id,
            hs_note_body: n.text,
            hs_timestamp: n.createdAt,
            hs_createdate: n.createdAt,
            hs_lastmodifieddate: n.createdAt,
          },
          createdAt: n.createdAt,
          updatedAt: n.createdAt,
          archived: false,
          links: [primary.id],
        });
        primary.links.push(id);
      }
    }
  }
  const store = (type: string): Map<string, HsRecord> | null => {
    build();
    return type === 'contacts' ? contacts : type === 'notes' ? notes : null;
  };
  const modifiedProp = (type: string) => (type === 'notes' ? 'hs_lastmodifieddate' : 'lastmodifieddate');
  const touch = (type: string, r: HsRecord) => {
    const at = new Date(clock()).toISOString();
    r.updatedAt = at;
    r.properties[modifiedProp(type)] = at;
  };
  const view = (type: string, r: HsRecord, props: string[], withAssoc: boolean) => ({
    id: r.id,
    properties: Object.fromEntries(
      [
        ...new Set([...props, 'hs_object_id', modifiedProp(type), type === 'notes' ? 'hs_createdate' : 'createdate']),
      ].map((k) => [k, r.properties[k] ?? null]),
    ),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    archived: r.archived,
    ...(r.archivedAt ? { archivedAt: r.archivedAt } : {}),
    ...(withAssoc && type === 'notes' && r.links.length
      ? { associations: { contacts: { results: r.links.map((id) => ({ id, type: 'note_to_contact' })) } } }
      : {}),
  });
  const numeric = (prop: string, v: string | null | undefined) =>
    v == null
      ? Number.NaN
      : /date|timestamp|notes_last/.test(prop) && Number.isNaN(Number(v))
        ? Date.parse(v)
        : Number(v);

  function list(type: string, req: SandboxRequest): SandboxResponse {
    const map = store(type);
    if (!map) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts
    const limit = Math.min(Number(req.query.get('limit') ?? 10), 100);
    const archived = req.query.get('archived') === 'true';
    const props = req.query.getAll('properties').flatMap((p) => p.split(','));
    const withAssoc = req.query.getAll('associations').join(',').includes('contacts');
    const ids = [...map.values()].filter((r) => r.archived === archived).map((r) => r.id);
    const after = req.query.get('after');
    const start = after ? ids.findIndex((id) => Number(id) >= Number(after)) : 0;
    const from = start < 0 ? ids.length : start;
    const page = ids.slice(from, from + limit);
    const next = ids[from + limit];
    return {
      status: 200,
      body: {
        results: page.map((id) => view(type, map.get(id) as HsRecord, props, withAssoc)),
        ...(next ? { paging: { next: { after: next, link: `?after=${next}` } } } : {}),
      },
    };
  }

  function search(type: string, req: SandboxRequest): SandboxResponse {
    const map = store(type);
    if (!map) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const body = (req.body ?? {}) as {
      filterGroups?: { filters: { propertyName: string; operator: string; value?: string }[] }[];
      sorts?: (string | { propertyName: string; direction?: string })[];
      properties?: string[];
      limit?: number;
      after?: string | number;
    };
    const limit = body.limit ?? 10;
    if (limit > 200) return error(400, 'VALIDATION_ERROR', 'limit must be at most 200');
    const after = Number(body.after ?? 0);
    // https://developers.hubspot.com/docs/api-reference/search/guide : "up to 10,000 total results"; past that HubSpot answers 400.
    if (after + limit > 10_000) return error(400, 'VALIDATION_ERROR', 'There was a problem with the request.');
    const match = (r: HsRecord, f: { propertyName: string; operator: string; value?: string }) => {
      const raw = r.properties[f.propertyName];
      const a = numeric(f.propertyName, raw);
      const b = numeric(f.propertyName, f.value);
      const num = !Number.isNaN(a) && !Number.isNaN(b);
      switch (f.operator) {
        case 'EQ':
          return num ? a === b : (raw ?? '').toLowerCase() === (f.value ?? '').toLowerCase();
        case 'NEQ':
          return num ? a !== b : raw !== f.value;
        case 'GT':
          return a > b;
        case 'GTE':
          return a >= b;
        case 'LT':
          return a < b;
        case 'LTE':
          return a <= b;
        case 'HAS_PROPERTY':
          return raw != null && raw !== '';
        default:
          return false;
      }
    };
    const groups = body.filterGroups ?? [];
    let hits = [...map.values()].filter(
      (r) => !r.archived && (groups.length === 0 || groups.some((g) => g.filters.every((f) => match(r, f)))),
    );
    const sort = body.sorts?.[0];
    const by = typeof sort === 'string' ? sort : sort?.propertyName;
    const dir = typeof sort === 'object' && sort.direction === 'DESCENDING' ? -1 : 1;
    if (by)
      hits = hits.sort(
        (x, y) => dir * (numeric(by, x.properties[by]) - numeric(by, y.properties[by]) || Number(x.id) - Number(y.id)),
      );
    const page = hits.slice(after, after + limit);
    return {
      status: 200,
      body: {
        total: hits.length,
        results: page.map((r) => view(type, r, body.properties ?? [], false)),
        ...(after + limit < hits.length ? { paging: { next: { after: String(after + limit) } } } : {}),
      },
    };
  }

  function batchRead(type: string, req: SandboxRequest): SandboxResponse {
    const map = store(type);
    if (!map) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const body = req.body as { inputs: { id: string }[]; properties?: string[]; idProperty?: string };
    if (body.inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch size must be at most 100');
    const found: HsRecord[] = [];
    const missing: string[] = [];
    for (const { id } of body.inputs) {
      const r = body.idProperty
        ? [...map.values()].find(
            (x) => !x.archived && (x.properties[body.idProperty ?? ''] ?? '').toLowerCase() === id.toLowerCase(),
          )
        : map.get(id);
      if (r && !r.archived) found.push(r);
      else missing.push(id);
    }
    const results = found.map((r) => view(type, r, body.properties ?? [], false));
    const times = { startedAt: new Date(clock()).toISOString(), completedAt: new Date(clock()).toISOString() };
    if (missing.length === 0) return { status: 200, body: { status: 'COMPLETE', results, ...times } };
    // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-read (207 with errors)
    return {
      status: 207,
      body: {
        status: 'COMPLETE',
        results,
        numErrors: 1,
        errors: [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message: 'Could not get some CONTACT objects, they may be deleted or not exist.',
            context: { ids: missing },
          },
        ],
        ...times,
      },
    };
  }

  function batchArchive(type: string, req: SandboxRequest): SandboxResponse {
    const map = store(type);
    if (!map) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const inputs = (req.body as { inputs: { id: string }[] }).inputs;
    if (inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch size must be at most 100');
    if (req.knobs?.lieOnDelete) return { status: 204 };
    for (const { id } of inputs) {
      const r = map.get(id);
      if (r && !r.archived) {
        r.archived = true;
        r.archivedAt = new Date(clock()).toISOString();
      }
    }
    return { status: 204 };
  }

  function batchUpdate(type: string, req: SandboxRequest): SandboxResponse {
    const map = store(type);
    if (!map) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const inputs = (req.body as { inputs: { id: string; properties: Record<string, string> }[] }).inputs;
    if (inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch size must be at most 100');
    const missing = inputs.filter((i) => !map.get(i.id) || map.get(i.id)?.archived).map((i) => i.id);
    if (missing.length)
      return error(400, 'OBJECT_NOT_FOUND', 'Could not update some objects', { context: { ids: missing } });
    const results = inputs.map((i) => {
      const r = map.get(i.id) as HsRecord;
      for (const [k, v] of Object.entries(i.properties)) r.properties[k] = v === '' ? null : v;
      touch(type, r);
      return view(type, r, Object.keys(i.properties), false);
    });
    return { status: 200, body: { status: 'COMPLETE', results } };
  }

  function gdprDelete(req: SandboxRequest): SandboxResponse {
    if (req.knobs?.lieOnDelete) return { status: 204 };
    const map = store('contacts') as Map<string, HsRecord>;
    const body = req.body as { objectId: string; idProperty?: string };
    const r =
      body.idProperty === 'email'
        ? [...map.values()].find((x) => x.properties.email?.toLowerCase() === body.objectId.toLowerCase())
        : map.get(body.objectId);
    if (!r) {
      // "If email address is not found, the email address will be added to a blocklist" (spec text).
      if (body.idProperty === 'email') {
        blocklist.add(body.objectId.toLowerCase());
        return { status: 204 };
      }
      return error(404, 'OBJECT_NOT_FOUND', 'resource not found');
    }
    if (r.properties.email) blocklist.add(r.properties.email.toLowerCase());
    map.delete(r.id);
    // Notes survive the contact: only the association goes (HS-KB-DEL).
    for (const noteId of r.links) {
      const n = notes?.get(noteId);
      if (n) n.links = n.links.filter((c) => c !== r.id);
    }
    return { status: 204 };
  }

  function create(req: SandboxRequest): SandboxResponse {
    const map = store('contacts') as Map<string, HsRecord>;
    const props = (req.body as { properties: Record<string, string> }).properties ?? {};
    const email = props.email?.toLowerCase();
    if (email && blocklist.has(email))
      return error(400, 'VALIDATION_ERROR', 'This email address was permanently deleted (GDPR) and is blocklisted.');
    if (email && [...map.values()].some((r) => r.properties.email?.toLowerCase() === email))
      return error(409, 'CONFLICT', 'Contact already exists.');
    const id = String(900_000_000 + map.size);
    const at = new Date(clock()).toISOString();
    const r: HsRecord = {
      id,
      properties: { ...props, hs_object_id: id, createdate: at, lastmodifieddate: at },
      createdAt: at,
      updatedAt: at,
      archived: false,
      links: [],
    };
    map.set(id, r);
    return { status: 201, body: view('contacts', r, Object.keys(props), false) };
  }

  function associations(from: string, to: string, req: SandboxRequest): SandboxResponse {
    const map = store(from);
    if (!map || !store(to)) return error(404, 'OBJECT_NOT_FOUND', 'Unknown object type');
    // https://developers.hubspot.com/docs/api-reference/crm-associations-v4/batch/post-crm-v4-associations-fromObjectType-toObjectType-batch-read
    const inputs = (req.body as { inputs: { id: string }[] }).inputs;
    const results = inputs
      .map(({ id }) => map.get(id))
      .filter((r): r is HsRecord => !!r && r.links.length > 0)
      .map((r) => ({
        from: { id: r.id },
        to: r.links.map((toObjectId) => ({
          toObjectId: Number(toObjectId),
          associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: from === 'notes' ? 202 : 201, label: null }],
        })),
      }));
    return {
      status: 200,
      body: { status: 'COMPLETE', results, startedAt: new Date().toISOString(), completedAt: new Date().toISOString() },
    };
  }

  const SUBSCRIPTIONS = [
    { id: '1001', name: 'Newsletter', description: 'Monthly newsletter' },
    { id: '1002', name: 'Product updates', description: 'Product news' },
  ];
  function status(email: string): SandboxResponse {
    const off = unsubscribed.get(email.toLowerCase()) ?? new Set();
    // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3
    return {
      status: 200,
      body: {
        recipient: email,
        subscriptionStatuses: SUBSCRIPTIONS.map((s) => ({
          ...s,
          status: off.has(s.id) ? 'NOT_SUBSCRIBED' : 'SUBSCRIBED',
          sourceOfStatus: 'SUBSCRIPTION_STATUS',
          ...(off.has(s.id) ? { legalBasis: 'LEGITIMATE_INTEREST_OTHER' } : {}),
        })),
      },
    };
  }
  function unsubscribe(req: SandboxRequest, all: boolean): SandboxResponse {
    const body = req.body as { emailAddress: string; subscriptionId?: string };
    const email = body.emailAddress?.toLowerCase() ?? '';
    const set = unsubscribed.get(email) ?? new Set<string>();
    for (const s of SUBSCRIPTIONS) if (all || s.id === body.subscriptionId) set.add(s.id);
    unsubscribed.set(email, set);
    for (const r of store('contacts')?.values() ?? [])
      if (r.properties.email?.toLowerCase() === email && set.size === SUBSCRIPTIONS.length) {
        r.properties.hs_email_optout = 'true';
        touch('contacts', r);
      }
    const sub = SUBSCRIPTIONS.find((s) => s.id === body.subscriptionId) ?? SUBSCRIPTIONS[0];
    return { status: 200, body: { ...sub, status: 'NOT_SUBSCRIBED', sourceOfStatus: 'SUBSCRIPTION_STATUS' } };
  }

  function token(req: SandboxRequest): SandboxResponse {
    // https://developers.hubspot.com/docs/api-reference/auth-oauth-v1/tokens/post-oauth-v1-token (form body)
    const b = (req.body ?? {}) as Record<string, string>;
    if (
      b.grant_type !== 'refresh_token' ||
      b.client_id !== options.clientId ||
      b.client_secret !== options.clientSecret ||
      b.refresh_token !== options.refreshToken
    )
      return { status: 400, body: { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token' } };
    const access = `sbx-at-${randomUUID()}`;
    tokens.set(access, clock() + 1_800_000);
    return {
      status: 200,
      body: { access_token: access, refresh_token: b.refresh_token, expires_in: 1800, token_type: 'bearer' },
    };
  }

  const OBJ = /^\/crm\/v3\/objects\/(contacts|notes)(\/.*)?$/;
  const burst = options.burstPer10s ?? 190;
  const isSearch = (req: SandboxRequest) => req.path.endsWith('/search');

  return {
    vendor: 'hubspot',
    objects: (type) => store(type) as Map<string, HsRecord>,
    endpointKey(method, path) {
      return `${method} ${path
        .replace(/\/status\/email\/[^/]+$/, '/status/email/{email}')
        .replace(/\/objects\/(contacts|notes)\/\d+/, '/objects/$1/{id}')}`;
    },
    handle(req) {
      if (req.method === 'POST' && req.path === '/oauth/v1/token') return token(req);
      const m = OBJ.exec(req.path);
      if (m) {
        const type = m[1] as string;
        const rest = m[2] ?? '';
        if (req.method === 'GET' && rest === '') return list(type, req);
        if (req.method === 'POST' && rest === '' && type === 'contacts') return create(req);
        if (req.method === 'POST' && rest === '/search') return search(type, req);
        if (req.method === 'POST' && rest === '/batch/read') return batchRead(type, req);
        if (req.method === 'POST' && rest === '/batch/archive') return batchArchive(type, req);
        if (req.method === 'POST' && rest === '/batch/update') return batchUpdate(type, req);
        if (req.method === 'POST' && rest === '/gdpr-delete' && type === 'contacts') return gdprDelete(req);
      }
      const a = /^\/crm\/v4\/associations\/(contacts|notes)\/(contacts|notes)\/batch\/read$/.exec(req.path);
      if (a && req.method === 'POST') return associations(a[1] as string, a[2] as string, req);
      const s = /^\/communication-preferences\/v3\/status\/email\/([^/]+)$/.exec(req.path);
      if (s && req.method === 'GET') return status(decodeURIComponent(s[1] as string));
      if (req.method === 'GET' && req.path === '/communication-preferences/v3/definitions')
        // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3 (subscriptionDefinitions)
        return {
          status: 200,
          body: {
            subscriptionDefinitions: SUBSCRIPTIONS.map((d) => ({
              ...d,
              isActive: true,
              isDefault: false,
              isInternal: false,
              createdAt: '2025-01-01T00:00:00Z',
              updatedAt: '2025-01-01T00:00:00Z',
            })),
          },
        };
      if (req.method === 'POST' && req.path === '/communication-preferences/v3/unsubscribe')
        return unsubscribe(req, false);
      return this.responses.notFound(req);
    },
    isPublic: (req) => req.path === '/oauth/v1/token',
    tokenValid: (t) => t !== null && (tokens.get(t) ?? 0) > clock(),
    expireTokens() {
      for (const k of tokens.keys()) tokens.set(k, 0);
    },
    responses: {
      unauthorized: () => error(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.'),
      serverError: () => error(502, 'INTERNAL_ERROR', 'Bad Gateway'),
      notFound: (req) => ({
        status: 404,
        body: {
          status: 'error',
          message: `Unable to route ${req.method} request`,
          correlationId: randomUUID(),
          category: 'NOT_FOUND',
        },
      }),
      malformedBody: () => error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1'),
      rateLimited: (retryAfterMs) => ({
        status: 429,
        headers: {
          'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
          'X-HubSpot-RateLimit-Max': String(burst),
          'X-HubSpot-RateLimit-Remaining': '0',
          'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
        },
        body: {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'TEN_SECONDLY_ROLLING',
        },
      }),
      quotaExhausted: () => ({
        status: 429,
        body: {
          status: 'error',
          message: 'You have reached your daily limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'DAILY',
        },
      }),
    },
    // Burst per 10 s; search keys its own window (the spec exempts it from the burst bucket). The 5/s search
    // limit is not enforced here: the framework applies every window to every request.
    rateLimits: [{ windowMs: 10_000, max: burst, group: (req) => (isSearch(req) ? 'search' : 'default') }],
    usageHeaders(dailyUsed, windows) {
      const w = windows?.[0];
      return {
        'X-HubSpot-RateLimit-Daily': String(options.dailyLimit ?? 625_000),
        'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, (options.dailyLimit ?? 625_000) - dailyUsed)),
        ...(w
          ? {
              'X-HubSpot-RateLimit-Interval-Milliseconds': String(w.windowMs),
              'X-HubSpot-RateLimit-Max': String(w.max),
              'X-HubSpot-RateLimit-Remaining': String(w.remaining),
            }
          : {}),
      };
    },
    dailyLimit: options.dailyLimit ?? 625_000,
  };
}
