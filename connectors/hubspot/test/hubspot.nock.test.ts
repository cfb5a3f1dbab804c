import { ConnectorError, type Page } from '@custodian/core';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyHubSpotError } from '../src/index.js';
import { API, captureLogger, collect, connect, contact, type HsObject, searchReply, TOKEN } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const SYSTEM = 'hubspot-eu';
const BASE = Date.parse('2026-11-01T00:00:00Z');
const ref = (object: string, id: string) => ({ system: SYSTEM, object, id });

describe('read: backfill by listing', () => {
  it('pages contacts with after, maps canonical and consent fields, then switches to incremental', async () => {
    const all = Array.from({ length: 150 }, (_, i) => contact(i, BASE + i * 1000));
    const scope = nock(API, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .get('/crm/v3/objects/contacts')
      .query((q) => q.limit === '100' && q.after === undefined && q.archived === 'false')
      .reply(200, { results: all.slice(0, 100), paging: { next: { after: '1100', link: '?after=1100' } } })
      .get('/crm/v3/objects/contacts')
      .query((q) => q.after === '1100')
      .reply(200, { results: all.slice(100) });
    const c = await connect();
    const pages = await collect(c.read('contacts', null));
    expect(scope.isDone()).toBe(true);
    expect(pages.map((p) => p.records.length)).toEqual([100, 50]);
    expect(pages[0]?.checkpoint).toMatchObject({ phase: 'backfill', after: '1100' });
    expect(pages[1]?.checkpoint).toMatchObject({ phase: 'incremental' });
    const first = pages[0]?.records[0];
    expect(first?.canonical.email).toBe('person0@example.org');
    expect(first?.consent).toEqual({ marketingOptOut: true, legalBasis: 'consent' });
    expect(first?.lastActivityAt).toBe(new Date(BASE).toISOString());
  });

  it('reads notes with their contacts inline (no call per note) and resumes from a backfill checkpoint', async () => {
    const note = {
      id: '9001',
      properties: { hs_note_body: 'Called about the invoice', hs_lastmodifieddate: '2026-11-01T00:00:00Z' },
      createdAt: '2026-11-01T00:00:00Z',
      updatedAt: '2026-11-01T00:00:00Z',
      archived: false,
      associations: { contacts: { results: [{ id: '1001', type: 'note_to_contact' }] } },
    };
    const scope = nock(API)
      .get('/crm/v3/objects/notes')
      .query((q) => q.after === 'abc' && String(q.associations) === 'contacts')
      .reply(200, { results: [note] });
    const c = await connect();
    const pages = await collect(c.read('notes', { phase: 'backfill', after: 'abc', since: BASE }));
    expect(scope.isDone()).toBe(true);
    expect(pages[0]?.records[0]?.links).toEqual([ref('contacts', '1001')]);
    expect(pages[0]?.records[0]?.fields.hs_note_body).toBe('Called about the invoice');
  });

  it('rejects a malformed checkpoint with a coded error', async () => {
    const c = await connect();
    await expect(collect(c.read('contacts', { phase: 'nope' }))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_CHECKPOINT_INVALID',
    });
  });
});

describe('read: incremental search', () => {
  function searchAndArchive(records: HsObject[], archived: HsObject[] = []) {
    let searches = 0;
    const reply = searchReply(records);
    const scope = nock(API)
      .post('/crm/v3/objects/contacts/search')
      .times(50)
      .reply((uri, body) => {
        searches++;
        return reply(uri, body);
      })
      .get('/crm/v3/objects/contacts')
      .query((q) => q.archived === 'true')
      .reply(200, { results: archived.map((a) => ({ ...a, archived: true, archivedAt: '2026-11-02T00:00:00Z' })) });
    return { searches: () => searches, scope };
  }

  it('walks lastmodifieddate with the composite watermark, pages of 200, then lists archived records', async () => {
    const records = Array.from({ length: 450 }, (_, i) => contact(i, BASE + Math.floor(i / 3) * 1000));
    const { searches } = searchAndArchive(records, [contact(999, BASE)]);
    const c = await connect({}, undefined, () => new Date(BASE + 86_400_000));
    const pages = await collect(c.read('contacts', { phase: 'incremental', since: BASE, seen: [] }));
    const ids = new Set(pages.flatMap((p) => p.records.map((r) => r.ref.id)));
    expect(ids.size).toBe(450);
    // 450 records in pages of 200: 3 searches, plus at most one boundary re-read.
    expect(searches()).toBeLessThanOrEqual(4);
    const last = pages.at(-1) as Page;
    expect(last.deleted?.[0]).toMatchObject({ ref: ref('contacts', '1999'), state: 'archived' });
    expect(last.checkpoint).toMatchObject({ phase: 'incremental' });
  });

  it('resumes from every yielded checkpoint without losing a record', async () => {
    const records = Array.from({ length: 450 }, (_, i) => contact(i, BASE + Math.floor(i / 7) * 1000));
    searchAndArchive(records);
    const c = await connect({}, undefined, () => new Date(BASE + 86_400_000));
    const pages = await collect(c.read('contacts', { phase: 'incremental', since: BASE, seen: [] }));
    for (const [i, p] of pages.entries()) {
      if (p.checkpoint.phase !== 'incremental') continue;
      searchAndArchive(records);
      const rest = await collect(c.read('contacts', p.checkpoint));
      const seen = new Set([...pages.slice(0, i + 1), ...rest].flatMap((x) => x.records.map((r) => r.ref.id)));
      expect(seen.size).toBe(450);
      nock.cleanAll();
    }
  });

  it('walks an instant shared by more than a page by object id (never an after offset, never the 10,000 cap)', async () => {
    const records = Array.from({ length: 500 }, (_, i) => contact(i, BASE));
    const { searches } = searchAndArchive(records);
    const c = await connect({}, undefined, () => new Date(BASE + 86_400_000));
    const pages = await collect(c.read('contacts', { phase: 'incremental', since: BASE, seen: [] }));
    expect(new Set(pages.flatMap((p) => p.records.map((r) => r.ref.id))).size).toBe(500);
    expect(searches()).toBeLessThanOrEqual(6);
  });

  it('never asks for records newer than now minus the search lag', async () => {
    let upper = '';
    nock(API)
      .post('/crm/v3/objects/contacts/search')
      .reply(200, (_u, body) => {
        upper = (
          body as { filterGroups: { filters: { operator: string; value: string }[] }[] }
        ).filterGroups[0]?.filters.find((f) => f.operator === 'LTE')?.value as string;
        return { total: 0, results: [] };
      })
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(200, { results: [] });
    const c = await connect({ searchLagSeconds: 90 }, undefined, () => new Date(BASE + 3_600_000));
    await collect(c.read('contacts', { phase: 'incremental', since: BASE, seen: [] }));
    expect(Number(upper)).toBe(BASE + 3_600_000 - 90_000);
  });
});

describe('find, erase, verify, update, opt-out', () => {
  it('finds by email with batch read (207 lists the missing) and by phone with search', async () => {
    const scope = nock(API)
      .post('/crm/v3/objects/contacts/batch/read', (b) => b.idProperty === 'email' && b.inputs.length === 2)
      .query(true)
      .reply(207, {
        status: 'COMPLETE',
        results: [contact(1, BASE)],
        numErrors: 1,
        errors: [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message: 'Could not get some CONTACT objects, they may be deleted or not exist.',
            context: { ids: ['nobody@example.org'] },
          },
        ],
        startedAt: '2026-11-01T00:00:00Z',
        completedAt: '2026-11-01T00:00:01Z',
      })
      .post('/crm/v3/objects/contacts/search')
      .reply(200, { total: 1, results: [contact(2, BASE)] });
    const c = await connect();
    const found = await c.find([
      { kind: 'email', value: 'person1@example.org' },
      { kind: 'email', value: 'nobody@example.org' },
      { kind: 'phone', value: '+33612345678' },
    ]);
    expect(found.map((r) => r.ref.id).sort()).toEqual(['1001', '1002']);
    expect(scope.isDone()).toBe(true);
  });

  it('soft erase archives 100 per call (204) and notes are archived too', async () => {
    let calls = 0;
    nock(API)
      .post('/crm/v3/objects/contacts/batch/archive', (b) => b.inputs.length <= 100)
      .times(2)
      .reply(204, () => {
        calls++;
        return '';
      })
      .post('/crm/v3/objects/notes/batch/archive')
      .reply(204);
    const c = await connect();
    const refs = Array.from({ length: 150 }, (_, i) => ref('contacts', String(i)));
    const out = await c.erase([...refs, ref('notes', '9001')], { permanent: false });
    expect(calls).toBe(2);
    expect(out.every((r) => r.outcome === 'done')).toBe(true);
  });

  it('permanent erase is one GDPR delete per contact; a 404 is already gone; notes can be redacted', async () => {
    nock(API)
      .post('/crm/v3/objects/contacts/gdpr-delete', { objectId: '1001' })
      .reply(204)
      .post('/crm/v3/objects/contacts/gdpr-delete', { objectId: '1002' })
      .reply(404, { status: 'error', message: 'resource not found', category: 'OBJECT_NOT_FOUND', correlationId: 'x' })
      .post('/crm/v3/objects/notes/batch/update', (b) => b.inputs[0].properties.hs_note_body === '[redacted]')
      .reply(200, { status: 'COMPLETE', results: [{ id: '9001', properties: {} }] });
    const c = await connect({ eraseNotes: 'redact' });
    const out = await c.erase([ref('contacts', '1001'), ref('contacts', '1002'), ref('notes', '9001')], {
      permanent: true,
    });
    expect(Object.fromEntries(out.map((r) => [r.ref.id, r.outcome]))).toEqual({
      '1001': 'done',
      '1002': 'already_gone',
      '9001': 'done',
    });
  });

  it('verify reads back: a contact still readable, or another with the email, fails verification', async () => {
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read', (b) => !b.idProperty)
      .query(true)
      .reply(207, {
        status: 'COMPLETE',
        results: [],
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'x', context: { ids: ['1001'] } }],
      })
      .post('/crm/v3/objects/contacts/batch/read', (b) => b.idProperty === 'email')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [contact(7, BASE)] });
    const c = await connect();
    const res = await c.verifyErased([ref('contacts', '1001')], [{ kind: 'email', value: 'person7@example.org' }]);
    expect(res).toEqual([
      { ref: ref('contacts', '1001'), outcome: 'failed', reason: 'a contact with the identity remains' },
      { ref: ref('contacts', '1007'), outcome: 'failed', reason: 'person still found by identity' },
    ]);
  });

  it('verify reports a contact still found by email that the request holds no ref of, with its own ref', async () => {
    const scope = nock(API)
      .post('/crm/v3/objects/contacts/batch/read', (b) => b.idProperty === 'email')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [contact(7, BASE)] });
    const c = await connect();
    const res = await c.verifyErased([], [{ kind: 'email', value: 'person7@example.org' }]);
    expect(scope.isDone()).toBe(true);
    expect(res).toEqual([
      { ref: ref('contacts', '1007'), outcome: 'failed', reason: 'person still found by identity' },
    ]);
    expect(JSON.stringify(res)).not.toContain('person7@example.org');
  });

  it('verify searches phone identities too: a duplicate with the phone is a leftover, a stale hit of an erased ref is not', async () => {
    const phone = '+33612345678';
    const duplicate = contact(8, BASE, { email: null });
    const searches: unknown[] = [];
    const reply = searchReply([contact(1, BASE), duplicate]);
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read', (b) => !b.idProperty)
      .query(true)
      .twice()
      .reply(207, {
        status: 'COMPLETE',
        results: [],
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'x', context: { ids: ['1001'] } }],
      })
      .post('/crm/v3/objects/contacts/search')
      .twice()
      .reply((uri, body) => {
        searches.push(body);
        return reply(uri, body);
      });
    const c = await connect();
    // 1001 was erased but the search index still lists it; 1008 holds the phone and was never located.
    expect(await c.verifyErased([ref('contacts', '1001')], [{ kind: 'phone', value: phone }])).toEqual([
      { ref: ref('contacts', '1001'), outcome: 'failed', reason: 'a contact with the identity remains' },
      { ref: ref('contacts', '1008'), outcome: 'failed', reason: 'person still found by identity' },
    ]);
    expect(searches[0]).toMatchObject({
      filterGroups: [
        { filters: [{ propertyName: 'phone', operator: 'EQ', value: phone }] },
        { filters: [{ propertyName: 'mobilephone', operator: 'EQ', value: phone }] },
      ],
    });
    duplicate.properties.phone = '+33600000000';
    expect(await c.verifyErased([ref('contacts', '1001')], [{ kind: 'phone', value: phone }])).toEqual([
      { ref: ref('contacts', '1001'), outcome: 'done' },
    ]);
    expect(searches).toHaveLength(2);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('update rectifies fields and honours expected values as a conflict check', async () => {
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [contact(1, BASE), contact(2, BASE)] })
      .post(
        '/crm/v3/objects/contacts/batch/update',
        (b) => b.inputs.length === 1 && b.inputs[0].properties.lastname === 'Byron',
      )
      .reply(200, { status: 'COMPLETE', results: [{ id: '1001', properties: {} }] });
    const c = await connect();
    const out = await c.update([
      { ref: ref('contacts', '1001'), set: { lastname: 'Byron' }, expected: { lastname: 'Last1' } },
      { ref: ref('contacts', '1002'), set: { lastname: 'Byron' }, expected: { lastname: 'Someone else' } },
    ]);
    expect(out.map((r) => r.outcome)).toEqual(['done', 'failed']);
    expect(out[1]?.reason).toBe('conflict');
  });

  it('opt-out unsubscribes every subscribed subscription with the legal basis, then from all email, and reads it back', async () => {
    const unsub: unknown[] = [];
    const wide = '/communication-preferences/v4/statuses/person1%40example.org/unsubscribe-all';
    // https://developers.hubspot.com/docs/api-reference/communication-preferences-subscriptions-v4 (PublicWideStatus)
    const wideStatus = {
      subscriberIdString: 'person1@example.org',
      channel: 'EMAIL',
      status: 'UNSUBSCRIBED',
      wideStatusType: 'PORTAL_WIDE',
      timestamp: '2026-11-01T00:00:00Z',
    };
    const v4 = nock(API)
      .post(wide)
      .query({ channel: 'EMAIL' })
      .reply(200, { status: 'COMPLETE', results: [], startedAt: 'x', completedAt: 'y' })
      .get(wide)
      .query({ channel: 'EMAIL' })
      .reply(200, { status: 'COMPLETE', results: [wideStatus], startedAt: 'x', completedAt: 'y' });
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [contact(1, BASE)] })
      .get('/communication-preferences/v3/status/email/person1%40example.org')
      .reply(200, {
        recipient: 'person1@example.org',
        subscriptionStatuses: [
          {
            id: '11',
            name: 'Newsletter',
            description: 'n',
            status: 'SUBSCRIBED',
            sourceOfStatus: 'SUBSCRIPTION_STATUS',
          },
          {
            id: '12',
            name: 'Offers',
            description: 'o',
            status: 'NOT_SUBSCRIBED',
            sourceOfStatus: 'SUBSCRIPTION_STATUS',
          },
        ],
      })
      .post('/communication-preferences/v3/unsubscribe')
      .reply(200, (_u, body) => {
        unsub.push(body);
        return {
          id: '11',
          name: 'Newsletter',
          description: 'n',
          status: 'NOT_SUBSCRIBED',
          sourceOfStatus: 'SUBSCRIPTION_STATUS',
        };
      });
    const c = await connect();
    const [res] = await c.setMarketingOptOut([ref('contacts', '1001')]);
    expect(res?.outcome).toBe('done');
    expect(v4.isDone()).toBe(true);
    expect(unsub).toEqual([
      {
        emailAddress: 'person1@example.org',
        subscriptionId: '11',
        legalBasis: 'LEGITIMATE_INTEREST_OTHER',
        legalBasisExplanation: 'Opt-out requested by the data subject (recorded by Custodian).',
      },
    ]);
  });
});

describe('limits, auth and errors', () => {
  const rateHeaders = {
    'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
    'X-HubSpot-RateLimit-Max': '190',
    'X-HubSpot-RateLimit-Remaining': '0',
  };

  it('a 429 waits and retries once; the body and headers are those HubSpot documents', async () => {
    nock(API)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(
        429,
        {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId: 'c1',
          policyName: 'TEN_SECONDLY_ROLLING',
        },
        rateHeaders,
      )
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(200, { results: [contact(1, BASE)] });
    const c = await connect();
    const pages = await collect(c.read('contacts', null));
    expect(pages[0]?.records).toHaveLength(1);
  });

  it('classifies 429 (interval), DAILY, 401, 403 with the scope, 5xx and 400', () => {
    const now = new Date('2026-11-23T15:00:00Z');
    const sdk = (code: number, body: unknown, headers: Record<string, string> = {}) =>
      Object.assign(new Error('HTTP-Code'), { code, body, headers });
    expect(classifyHubSpotError(sdk(429, { policyName: 'TEN_SECONDLY_ROLLING' }, rateHeaders), now)).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 10_000,
    });
    expect(
      classifyHubSpotError(sdk(429, { message: 'You have reached your daily limit.', policyName: 'DAILY' }), now),
    ).toMatchObject({ kind: 'quota_exhausted', resumeAt: new Date('2026-11-24T00:00:00Z') });
    expect(
      classifyHubSpotError(sdk(401, { status: 'error', category: 'EXPIRED_AUTHENTICATION', message: 'expired' }), now),
    ).toMatchObject({ kind: 'auth_expired' });
    const perm = classifyHubSpotError(
      sdk(403, {
        status: 'error',
        message:
          "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        category: 'MISSING_SCOPES',
        errors: [
          {
            message: 'One or more of the following scopes are required.',
            context: { requiredGranularScopes: ['crm.objects.contacts.write'] },
          },
        ],
        context: { requiredGranularScopes: ['crm.objects.contacts.write'] },
      }),
      now,
    );
    expect(perm).toMatchObject({ kind: 'permission' });
    expect(perm?.message).toContain('crm.objects.contacts.write');
    expect(classifyHubSpotError(sdk(502, 'Bad gateway'), now)).toMatchObject({ kind: 'transient' });
    expect(classifyHubSpotError(sdk(400, { category: 'VALIDATION_ERROR' }), now)).toMatchObject({
      kind: 'bad_request',
    });
    expect(classifyHubSpotError(new Error('other'), now)).toBeUndefined();
  });

  it('a daily 429 surfaces as quota exhausted, a 403 as permission, without retrying', async () => {
    nock(API).get('/crm/v3/objects/contacts').query(true).reply(429, {
      status: 'error',
      message: 'You have reached your daily limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'DAILY',
      correlationId: 'c',
    });
    const c = await connect();
    const err = await collect(c.read('contacts', null)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).kind).toBe('quota_exhausted');
    nock(API)
      .post('/crm/v3/objects/contacts/batch/archive')
      .reply(403, {
        status: 'error',
        message: 'missing scopes',
        category: 'MISSING_SCOPES',
        context: { requiredGranularScopes: ['crm.objects.contacts.write'] },
      });
    // The daily pause holds the whole system; a fresh connection shows the 403 mapping.
    const fresh = await connect();
    const err2 = await fresh.erase([ref('contacts', '1')], { permanent: false }).catch((e: unknown) => e);
    expect((err2 as ConnectorError).kind).toBe('permission');
    expect((err2 as Error).message).toContain('crm.objects.contacts.write');
  });

  it('OAuth: refreshes once for concurrent calls, and again after a 401', async () => {
    const token = nock(API)
      .post('/oauth/v1/token', (b) => b.grant_type === 'refresh_token' && b.refresh_token === 'rt-1')
      .times(2)
      .reply(200, { access_token: 'at-1', refresh_token: 'rt-1', expires_in: 1800, token_type: 'bearer' });
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .times(5)
      .reply(200, { status: 'COMPLETE', results: [] })
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(401, { status: 'error', message: 'expired', category: 'EXPIRED_AUTHENTICATION', correlationId: 'x' })
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [] });
    const c = await connect({
      auth: { type: 'oauth', clientId: 'cid', clientSecret: 'cs-secret', refreshToken: 'rt-1' },
    });
    await Promise.all(Array.from({ length: 5 }, () => c.get([ref('contacts', '1')])));
    await c.get([ref('contacts', '1')]);
    expect(token.isDone()).toBe(true);
  });

  it('check probes each scope group and names the missing scope', async () => {
    nock(API)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply(200, { results: [] })
      .get('/crm/v3/objects/notes')
      .query(true)
      .reply(200, { results: [] })
      .get('/crm/v3/objects/companies')
      .query(true)
      .reply(200, { results: [] })
      .get('/crm/v3/objects/deals')
      .query(true)
      .reply(403, {
        status: 'error',
        message: "This app hasn't been granted all required scopes to make this call.",
        category: 'MISSING_SCOPES',
        correlationId: 'x',
        context: { requiredGranularScopes: ['crm.objects.deals.read'] },
      })
      .get('/communication-preferences/v3/definitions')
      .reply(403, {
        status: 'error',
        message: "This app hasn't been granted all required scopes to make this call.",
        category: 'MISSING_SCOPES',
        correlationId: 'x',
        context: { requiredGranularScopes: ['communication_preferences.read'] },
      })
      // https://developers.hubspot.com/docs/api-reference/account-account-information-v3/guide (AccountDetails)
      .get('/account-info/v3/details')
      .reply(200, {
        portalId: 62515,
        accountType: 'STANDARD',
        timeZone: 'US/Eastern',
        companyCurrency: 'USD',
        additionalCurrencies: [],
        utcOffset: '-05:00',
        utcOffsetMilliseconds: -18_000_000,
        uiDomain: 'app.hubspot.com',
        dataHostingLocation: 'na1',
      });
    const c = await connect({ portalTimeZone: 'Europe/Berlin' });
    const results = await c.check();
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, false, false]);
    expect(results[3]?.message).toContain('crm.objects.deals.read');
    expect(results[4]?.message).toContain('communication_preferences.read');
    expect(results[5]?.message).toContain('set portalTimeZone: US/Eastern');
    // The same zone under another name passes.
    nock(API).get('/account-info/v3/details').reply(200, { portalId: 62515, timeZone: 'US/Eastern' });
    nock(API)
      .get(/\/crm\/v3\/objects\/\w+/)
      .query(true)
      .times(4)
      .reply(200, { results: [] });
    nock(API).get('/communication-preferences/v3/definitions').reply(200, { subscriptionDefinitions: [] });
    const ny = await connect({ portalTimeZone: 'America/New_York' });
    expect((await ny.check()).every((r) => r.ok)).toBe(true);
  });

  it('logs hold no personal data and no token, even on failures', async () => {
    const { logger, lines } = captureLogger();
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(500, { status: 'error', message: 'person1@example.org broke', category: 'INTERNAL' })
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .times(5)
      .reply(200, { status: 'COMPLETE', results: [contact(1, BASE)] });
    const c = await connect({}, logger);
    await c.find([{ kind: 'email', value: 'person1@example.org' }]);
    const text = lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of ['person1@example.org', 'First1', 'Last1', '+33612345678', TOKEN])
      expect(text).not.toContain(secret);
  });
});
