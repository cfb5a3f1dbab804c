/**
 * HubSpot CRM v3 look-alike over the seed world. Shapes follow vendor-facts.md §1 and the public spec
 * (https://github.com/HubSpot/HubSpot-public-api-spec-collection). Contacts, notes, companies and deals
 * are derived from the world on demand and only changes are kept (./store.ts), so a million-person
 * portal is served without building it. Limits as the
 * Professional tier (burst per 10 s, search 5 per second on its own, daily), 414 past the URL limit.
 * Where the docs leave a shape open a comment says so.
 */
import { randomUUID } from 'node:crypto';
import { timeZoneOffsetMs } from '@custodian/core';
import type { SeedWorld } from '../kit/seed-types.js';
import type { SandboxRequest, SandboxResponse, VendorApp } from '../kit/types.js';
import { createdProperty, HS_OBJECT_TYPES, type HsObjectType, type HsRecord, modifiedProperty } from './seed.js';
import { HubSpotStore } from './store.js';

export type { HsObjectType, HsRecord } from './seed.js';
export { HubSpotStore } from './store.js';

/**
 * Longest request URL (path and query) the look-alike accepts before answering 414. HubSpot publishes no
 * number (its error guide lists 414 URI Too Long); Airbyte chunks HubSpot property lists at 15,000
 * characters. Node's own request-line cap is 16 KiB, so the look-alike is stricter than the vendor.
 */
export const HUBSPOT_MAX_URL_CHARS = 12_000;
/** Search: "five requests per second per account" (search guide), outside the ten-secondly bucket. */
export const SEARCH_PER_SECOND = 5;

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
  /** The portal's time zone (account details); the daily limit resets at its midnight. @default UTC */
  timeZone?: string;
  /** 414 past this many characters of path and query. @default HUBSPOT_MAX_URL_CHARS */
  maxUrlChars?: number;
}

const SINGULAR: Record<string, string> = { contacts: 'contact', notes: 'note', companies: 'company', deals: 'deal' };

const error = (status: number, category: string, message: string, extra: Record<string, unknown> = {}) => ({
  status,
  body: { status: 'error', message, correlationId: randomUUID(), category, ...extra },
});

export function createHubSpotApp(
  world: SeedWorld,
  options: HubSpotAppOptions = {},
): VendorApp & {
  /**
   * Every record of a type, for tests and benchmarks to inspect. Walking it generates the whole type;
   * records it hands out are moved into the overlay, so editing one in place sticks (as on a real portal).
   */
  objects(type: HsObjectType): ReadonlyMap<string, HsRecord>;
  store: HubSpotStore;
} {
  const tokens = new Map<string, number>();
  for (const t of options.privateAppTokens ?? []) tokens.set(t, Number.POSITIVE_INFINITY);
  const portal = new HubSpotStore(world);
  const blocklist = new Set<string>();
  /** email -> subscription id -> the legal basis recorded with the unsubscribe. */
  const unsubscribed = new Map<string, Map<string, { legalBasis?: string; legalBasisExplanation?: string }>>();
  /** email -> when the person unsubscribed from all email (v4 unsubscribe-all). */
  const unsubscribedAll = new Map<string, string>();
  const clock = () => Date.now();

  const isType = (type: string): type is HsObjectType => (HS_OBJECT_TYPES as readonly string[]).includes(type);
  const modifiedProp = modifiedProperty;
  const touch = (type: string, r: HsRecord) => {
    const at = new Date(clock()).toISOString();
    r.updatedAt = at;
    r.properties[modifiedProp(type)] = at;
  };
  const view = (type: string, r: HsRecord, props: string[], withAssoc: boolean) => ({
    id: r.id,
    properties: Object.fromEntries(
      [...new Set([...props, 'hs_object_id', modifiedProp(type), createdProperty(type)])].map((k) => [
        k,
        r.properties[k] ?? null,
      ]),
    ),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    archived: r.archived,
    ...(r.archivedAt ? { archivedAt: r.archivedAt } : {}),
    ...(withAssoc && type !== 'contacts' && r.links.length
      ? {
          associations: {
            contacts: { results: r.links.map((id) => ({ id, type: `${SINGULAR[type]}_to_contact` })) },
          },
        }
      : {}),
  });
  const numeric = (prop: string, v: string | null | undefined) =>
    v == null
      ? Number.NaN
      : /date|timestamp|notes_last/.test(prop) && Number.isNaN(Number(v))
        ? Date.parse(v)
        : Number(v);

  function list(type: string, req: SandboxRequest): SandboxResponse {
    if (!isType(type)) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts
    const limit = Math.min(Number(req.query.get('limit') ?? 10), 100);
    const archived = req.query.get('archived') === 'true';
    const props = req.query.getAll('properties').flatMap((p) => p.split(','));
    const withAssoc = req.query.getAll('associations').join(',').includes('contacts');
    const after = Number(req.query.get('after') ?? 0);
    // Ids in order from `after`, one more than the page to know the next cursor; nothing else is generated.
    const page: HsRecord[] = [];
    const source = archived ? portal.archived(type).filter((r) => Number(r.id) >= after) : portal.walk(type, after);
    for (const r of source) {
      if (r.archived !== archived) continue;
      page.push(r);
      if (page.length > limit) break;
    }
    const next = page.length > limit ? page.pop()?.id : undefined;
    return {
      status: 200,
      body: {
        results: page.map((r) => view(type, r, props, withAssoc)),
        ...(next ? { paging: { next: { after: next, link: `?after=${next}` } } } : {}),
      },
    };
  }

  function search(type: string, req: SandboxRequest): SandboxResponse {
    if (!isType(type)) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
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
    const match = (raw: string | null | undefined, f: { propertyName: string; operator: string; value?: string }) => {
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
    const matches = (r: HsRecord) =>
      !r.archived &&
      (groups.length === 0 || groups.some((g) => g.filters.every((f) => match(r.properties[f.propertyName], f))));
    const sort = body.sorts?.[0];
    const by = typeof sort === 'string' ? sort : sort?.propertyName;
    const dir = typeof sort === 'object' && sort.direction === 'DESCENDING' ? -1 : 1;
    const page: HsRecord[] = [];
    let total = 0;
    const take = (r: HsRecord) => {
      if (total >= after && total < after + limit) page.push(r);
      total++;
    };
    // Candidates by the email index when every group asks for one email (how find looks people up).
    const emails = groups.map((g) => g.filters.find((f) => f.propertyName === 'email' && f.operator === 'EQ')?.value);
    const byEmail =
      type === 'contacts' && groups.length > 0 && emails.every((e) => e !== undefined)
        ? [...new Map(emails.flatMap((e) => portal.byEmail(e as string)).map((r) => [r.id, r])).values()]
        : null;
    if (byEmail || (by && by !== modifiedProp(type))) {
      // Few candidates (an email in every group), or a sort the index does not keep: sort the matches here.
      const source = byEmail ?? portal.walk(type);
      const hits = [...source].filter(matches);
      if (by)
        hits.sort(
          (x, y) =>
            dir * (numeric(by, x.properties[by]) - numeric(by, y.properties[by]) || Number(x.id) - Number(y.id)),
        );
      else hits.sort((x, y) => Number(x.id) - Number(y.id));
      for (const r of hits) take(r);
    } else if (by) {
      // Sorted by modification time: walk the (time, id) index; filters on time and id need no record.
      const indexed = new Set(['hs_object_id', modifiedProp(type)]);
      const cheap = groups.every((g) => g.filters.every((f) => indexed.has(f.propertyName)));
      // Every group bounding the time from below lets the walk start at the earliest bound.
      const lowerBounds = groups.map((g) =>
        Math.max(
          ...g.filters
            .filter((f) => f.propertyName === modifiedProp(type) && (f.operator === 'GT' || f.operator === 'GTE'))
            .map((f) => numeric(f.propertyName, f.value))
            .filter((t) => !Number.isNaN(t)),
        ),
      );
      const since = groups.length ? Math.min(...lowerBounds) : Number.NEGATIVE_INFINITY;
      for (const entry of portal.byModified(type, dir < 0, since)) {
        if (!cheap || entry.changed) {
          const r = entry.changed ?? portal.generate(type, String(entry.id));
          if (r && matches(r)) take(r);
          continue;
        }
        // A base record (never archived) whose time and id answer every filter: generated only if on the page.
        const raw = (prop: string) => (prop === 'hs_object_id' ? String(entry.id) : new Date(entry.t).toISOString());
        if (groups.length && !groups.some((g) => g.filters.every((f) => match(raw(f.propertyName), f)))) continue;
        if (total >= after && total < after + limit) page.push(portal.generate(type, String(entry.id)) as HsRecord);
        total++;
      }
    } else {
      for (const r of portal.walk(type)) if (matches(r)) take(r);
    }
    return {
      status: 200,
      body: {
        total,
        results: page.map((r) => view(type, r, body.properties ?? [], false)),
        ...(after + limit < total ? { paging: { next: { after: String(after + limit) } } } : {}),
      },
    };
  }

  /** Contacts with this email (archived too), lowest id first. */
  const contactsByEmail = (email: string) => portal.byEmail(email).sort((a, b) => Number(a.id) - Number(b.id));

  function batchRead(type: string, req: SandboxRequest): SandboxResponse {
    if (!isType(type)) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const body = req.body as { inputs: { id: string }[]; properties?: string[]; idProperty?: string };
    if (body.inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch size must be at most 100');
    const found: HsRecord[] = [];
    const missing: string[] = [];
    for (const { id } of body.inputs) {
      const sameValue = (x: HsRecord) =>
        !x.archived && (x.properties[body.idProperty ?? ''] ?? '').toLowerCase() === id.toLowerCase();
      const r = !body.idProperty
        ? portal.get(type, id)
        : type === 'contacts' && body.idProperty === 'email'
          ? contactsByEmail(id).find(sameValue)
          : [...portal.walk(type)].find(sameValue);
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
    if (!isType(type)) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const inputs = (req.body as { inputs: { id: string }[] }).inputs;
    if (inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch size must be at most 100');
    if (req.knobs?.lieOnDelete) return { status: 204 };
    const deleted: string[] = [];
    for (const { id } of inputs) {
      const r = portal.get(type, id)?.archived === false ? portal.edit(type, id) : null;
      if (r) {
        r.archived = true;
        r.archivedAt = new Date(clock()).toISOString();
        deleted.push(id);
      }
    }
    return { status: 204, deleted };
  }

  function batchUpdate(type: string, req: SandboxRequest): SandboxResponse {
    if (!isType(type)) return error(404, 'OBJECT_NOT_FOUND', `Unknown object type ${type}`);
    const inputs = (req.body as { inputs: { id: string; properties: Record<string, string> }[] }).inputs;
    if (inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch size must be at most 100');
    const missing = inputs.filter((i) => portal.get(type, i.id)?.archived !== false).map((i) => i.id);
    if (missing.length)
      return error(400, 'OBJECT_NOT_FOUND', 'Could not update some objects', { context: { ids: missing } });
    const results = inputs.map((i) => {
      const r = portal.edit(type, i.id) as HsRecord;
      for (const [k, v] of Object.entries(i.properties)) r.properties[k] = v === '' ? null : v;
      touch(type, r);
      if (type === 'contacts') portal.noteEmail(r);
      return view(type, r, Object.keys(i.properties), false);
    });
    return { status: 200, body: { status: 'COMPLETE', results } };
  }

  function gdprDelete(req: SandboxRequest): SandboxResponse {
    if (req.knobs?.lieOnDelete) return { status: 204 };
    const body = req.body as { objectId: string; idProperty?: string };
    const r =
      body.idProperty === 'email' ? contactsByEmail(body.objectId)[0] : portal.get('contacts', String(body.objectId));
    if (!r) {
      // "If email address is not found, the email address will be added to a blocklist" (spec text).
      if (body.idProperty === 'email') {
        blocklist.add(body.objectId.toLowerCase());
        return { status: 204 };
      }
      return error(404, 'OBJECT_NOT_FOUND', 'resource not found');
    }
    if (r.properties.email) blocklist.add(r.properties.email.toLowerCase());
    // Notes, companies and deals survive the contact: only the association goes (HS-KB-DEL).
    portal.erase(r.id);
    return { status: 204, deleted: [r.id] };
  }

  function create(req: SandboxRequest): SandboxResponse {
    const props = (req.body as { properties: Record<string, string> }).properties ?? {};
    const email = props.email?.toLowerCase();
    if (email && blocklist.has(email))
      return error(400, 'VALIDATION_ERROR', 'This email address was permanently deleted (GDPR) and is blocklisted.');
    if (email && portal.byEmail(email).length > 0) return error(409, 'CONFLICT', 'Contact already exists.');
    const r = portal.createContact(props, new Date(clock()).toISOString());
    return { status: 201, body: view('contacts', r, Object.keys(props), false) };
  }

  function associations(from: string, to: string, req: SandboxRequest): SandboxResponse {
    if (!isType(from) || !isType(to)) return error(404, 'OBJECT_NOT_FOUND', 'Unknown object type');
    // `links` holds contact -> notes and notes/companies/deals -> contacts; other pairs have no associations here.
    const linked = (from === 'contacts' && to === 'notes') || (from !== 'contacts' && to === 'contacts');
    // https://developers.hubspot.com/docs/api-reference/crm-associations-v4/batch/post-crm-v4-associations-fromObjectType-toObjectType-batch-read
    const inputs = (req.body as { inputs: { id: string }[] }).inputs;
    const results = inputs
      .map(({ id }) => portal.get(from, String(id)))
      .filter((r): r is HsRecord => linked && !!r && r.links.length > 0)
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
  const markOptedOut = (email: string) => {
    for (const { id } of portal.byEmail(email)) {
      const r = portal.edit('contacts', id) as HsRecord;
      r.properties.hs_email_optout = 'true';
      touch('contacts', r);
    }
  };
  function status(email: string): SandboxResponse {
    const key = email.toLowerCase();
    const off = unsubscribed.get(key) ?? new Map();
    const all = unsubscribedAll.has(key);
    // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3 (GET /communication-preferences/v3/status/email/{emailAddress})
    return {
      status: 200,
      body: {
        recipient: email,
        subscriptionStatuses: SUBSCRIPTIONS.map((s) => {
          const basis = off.get(s.id);
          return {
            ...s,
            status: basis || all ? 'NOT_SUBSCRIBED' : 'SUBSCRIBED',
            sourceOfStatus: basis || all ? 'SUBSCRIPTION_STATUS' : 'PORTAL_WIDE_STATUS',
            ...(basis?.legalBasis ? { legalBasis: basis.legalBasis } : {}),
            ...(basis?.legalBasisExplanation ? { legalBasisExplanation: basis.legalBasisExplanation } : {}),
          };
        }),
      },
    };
  }
  function unsubscribe(req: SandboxRequest): SandboxResponse {
    const body = (req.body ?? {}) as {
      emailAddress?: string;
      subscriptionId?: string;
      legalBasis?: string;
      legalBasisExplanation?: string;
    };
    const sub = SUBSCRIPTIONS.find((s) => s.id === String(body.subscriptionId));
    if (!body.emailAddress || !sub)
      return error(400, 'VALIDATION_ERROR', 'emailAddress and a known subscriptionId are required');
    const email = body.emailAddress.toLowerCase();
    const off = unsubscribed.get(email) ?? new Map();
    off.set(sub.id, {
      ...(body.legalBasis ? { legalBasis: body.legalBasis } : {}),
      ...(body.legalBasisExplanation ? { legalBasisExplanation: body.legalBasisExplanation } : {}),
    });
    unsubscribed.set(email, off);
    if (off.size === SUBSCRIPTIONS.length) markOptedOut(email);
    // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3 (POST /communication-preferences/v3/unsubscribe)
    return {
      status: 200,
      body: {
        ...sub,
        status: 'NOT_SUBSCRIBED',
        sourceOfStatus: 'SUBSCRIPTION_STATUS',
        ...(body.legalBasis ? { legalBasis: body.legalBasis } : {}),
      },
    };
  }
  const wideStatus = (email: string, at: string) => ({
    subscriberIdString: email,
    channel: 'EMAIL',
    status: 'UNSUBSCRIBED',
    wideStatusType: 'PORTAL_WIDE',
    timestamp: at,
  });
  function unsubscribeAll(req: SandboxRequest, email: string): SandboxResponse {
    if (req.query.get('channel') !== 'EMAIL') return error(400, 'VALIDATION_ERROR', 'channel must be EMAIL');
    const key = email.toLowerCase();
    const at = unsubscribedAll.get(key) ?? new Date(clock()).toISOString();
    // https://developers.hubspot.com/docs/api-reference/communication-preferences-subscriptions-v4 (GET …/{subscriberIdString}/unsubscribe-all: empty results unless opted out of everything)
    if (req.method === 'GET')
      return {
        status: 200,
        body: { status: 'COMPLETE', results: unsubscribedAll.has(key) ? [wideStatus(email, at)] : [], ...times() },
      };
    unsubscribedAll.set(key, at);
    markOptedOut(key);
    // https://developers.hubspot.com/docs/api-reference/communication-preferences-subscriptions-v4 (POST …/{subscriberIdString}/unsubscribe-all; verbose=true lists the statuses)
    const statuses = SUBSCRIPTIONS.map((s) => ({
      subscriberIdString: email,
      channel: 'EMAIL',
      subscriptionId: Number(s.id),
      subscriptionName: s.name,
      status: 'UNSUBSCRIBED',
      source: 'API',
      setStatusSuccessReason: 'UNSUBSCRIBE_FROM_ALL_OCCURRED',
      timestamp: at,
    }));
    return {
      status: 200,
      body: { status: 'COMPLETE', results: req.query.get('verbose') === 'true' ? statuses : [], ...times() },
    };
  }
  const times = () => ({ startedAt: new Date(clock()).toISOString(), completedAt: new Date(clock()).toISOString() });

  function accountDetails(): SandboxResponse {
    const timeZone = options.timeZone ?? 'UTC';
    const offset = timeZoneOffsetMs(timeZone, clock());
    // https://developers.hubspot.com/docs/api-reference/account-account-information-v3/guide (GET /account-info/v3/details)
    return {
      status: 200,
      body: {
        portalId: 4_815_162,
        accountType: 'STANDARD',
        timeZone,
        companyCurrency: 'EUR',
        additionalCurrencies: [],
        utcOffsetMilliseconds: offset,
        utcOffset: `${offset < 0 ? '-' : '+'}${new Date(Math.abs(offset)).toISOString().slice(11, 16)}`,
        uiDomain: 'app-eu1.hubspot.com',
        dataHostingLocation: 'eu1',
      },
    };
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

  const OBJ = /^\/crm\/v3\/objects\/(contacts|notes|companies|deals)(\/.*)?$/;
  const ASSOC =
    /^\/crm\/v4\/associations\/(contacts|notes|companies|deals)\/(contacts|notes|companies|deals)\/batch\/read$/;
  const WIDE = /^\/communication-preferences\/v4\/statuses\/([^/]+)\/unsubscribe-all$/;
  const burst = options.burstPer10s ?? 190;
  const maxUrlChars = options.maxUrlChars ?? HUBSPOT_MAX_URL_CHARS;
  const dailyLimit = options.dailyLimit ?? 625_000;
  const isSearch = (req: SandboxRequest) => req.path.endsWith('/search');

  function route(req: SandboxRequest): SandboxResponse {
    if (req.method === 'POST' && req.path === '/oauth/v1/token') return token(req);
    const query = req.query.toString();
    if (req.path.length + (query ? query.length + 1 : 0) > maxUrlChars)
      // https://developers.hubspot.com/docs/api-reference/error-handling (414 URI Too Long)
      return error(414, 'URI_TOO_LONG', 'Request-URI Too Long');
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
    const a = ASSOC.exec(req.path);
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
    if (req.method === 'POST' && req.path === '/communication-preferences/v3/unsubscribe') return unsubscribe(req);
    const w = WIDE.exec(req.path);
    if (w && (req.method === 'GET' || req.method === 'POST'))
      return unsubscribeAll(req, decodeURIComponent(w[1] as string));
    if (req.method === 'GET' && req.path === '/account-info/v3/details') return accountDetails();
    return notFound(req);
  }
  const notFound = (req: SandboxRequest): SandboxResponse => ({
    status: 404,
    body: {
      status: 'error',
      message: `Unable to route ${req.method} request`,
      correlationId: randomUUID(),
      category: 'NOT_FOUND',
    },
  });

  return {
    vendor: 'hubspot',
    objects: (type) => new ObjectsView(portal, type),
    store: portal,
    endpointKey(method, path) {
      return `${method} ${path
        .replace(/\/status\/email\/[^/]+$/, '/status/email/{email}')
        .replace(/\/statuses\/[^/]+\/unsubscribe-all$/, '/statuses/{email}/unsubscribe-all')
        .replace(/\/objects\/(contacts|notes|companies|deals)\/\d+/, '/objects/$1/{id}')}`;
    },
    handle: route,
    isPublic: (req) => req.path === '/oauth/v1/token',
    tokenValid: (t) => t !== null && (tokens.get(t) ?? 0) > clock(),
    expireTokens() {
      for (const k of tokens.keys()) tokens.set(k, 0);
    },
    responses: {
      unauthorized: () => error(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.'),
      serverError: () => error(502, 'INTERNAL_ERROR', 'Bad Gateway'),
      notFound,
      malformedBody: () => error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1'),
      // Window 0 is the ten-secondly burst, window 1 the search limit. HubSpot documents the burst body
      // (policyName TEN_SECONDLY_ROLLING); the search body's policyName SECONDLY is our assumption.
      rateLimited: (retryAfterMs, index = 0) => {
        const searchLimit = index === 1;
        return {
          status: 429,
          headers: {
            'X-HubSpot-RateLimit-Interval-Milliseconds': searchLimit ? '1000' : '10000',
            'X-HubSpot-RateLimit-Max': String(searchLimit ? SEARCH_PER_SECOND : burst),
            'X-HubSpot-RateLimit-Remaining': '0',
            'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
          },
          body: {
            status: 'error',
            message: searchLimit
              ? 'You have reached your secondly limit.'
              : 'You have reached your ten_secondly_rolling limit.',
            errorType: 'RATE_LIMIT',
            correlationId: randomUUID(),
            policyName: searchLimit ? 'SECONDLY' : 'TEN_SECONDLY_ROLLING',
          },
        };
      },
      // https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (429 policyName DAILY)
      quotaExhausted: () => ({
        status: 429,
        headers: { 'X-HubSpot-RateLimit-Daily': String(dailyLimit), 'X-HubSpot-RateLimit-Daily-Remaining': '0' },
        body: {
          status: 'error',
          message: 'You have reached your daily limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'DAILY',
        },
      }),
    },
    // The ten-secondly burst is rolling (policyName TEN_SECONDLY_ROLLING) and skips search (the spec's x-hubspot-rate-limit-exemptions: ten-secondly);
    // search has its own window of 5 per second.
    rateLimits: [
      { windowMs: 10_000, max: burst, rolling: true, group: (req) => (isSearch(req) ? null : 'burst') },
      { windowMs: 1_000, max: SEARCH_PER_SECOND, group: (req) => (isSearch(req) ? 'search' : null) },
    ],
    usageHeaders(dailyUsed, windows) {
      const w = windows?.find((x) => x.index === 0) ?? windows?.[0];
      return {
        'X-HubSpot-RateLimit-Daily': String(dailyLimit),
        'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, dailyLimit - dailyUsed)),
        ...(w
          ? {
              'X-HubSpot-RateLimit-Interval-Milliseconds': String(w.windowMs),
              'X-HubSpot-RateLimit-Max': String(w.max),
              'X-HubSpot-RateLimit-Remaining': String(w.remaining),
            }
          : {}),
      };
    },
    dailyLimit,
  };
}

/** `objects(type)`: a read-only map over the whole type that adopts what it hands out (see its doc above). */
class ObjectsView implements ReadonlyMap<string, HsRecord> {
  constructor(
    private readonly portal: HubSpotStore,
    private readonly type: HsObjectType,
  ) {}
  get size(): number {
    let n = 0;
    for (const _ of this.portal.walk(this.type)) n++;
    return n;
  }
  get(id: string): HsRecord | undefined {
    return this.portal.edit(this.type, id) ?? undefined;
  }
  has(id: string): boolean {
    return this.portal.get(this.type, id) !== null;
  }
  *entries(): MapIterator<[string, HsRecord]> {
    for (const r of this.portal.walk(this.type)) yield [r.id, this.portal.edit(this.type, r.id) as HsRecord];
  }
  *keys(): MapIterator<string> {
    for (const r of this.portal.walk(this.type)) yield r.id;
  }
  *values(): MapIterator<HsRecord> {
    for (const [, r] of this.entries()) yield r;
  }
  [Symbol.iterator](): MapIterator<[string, HsRecord]> {
    return this.entries();
  }
  forEach(callback: (value: HsRecord, key: string, map: ReadonlyMap<string, HsRecord>) => void): void {
    for (const [id, r] of this.entries()) callback(r, id, this);
  }
}
