/**
 * nock tests for the companies and deals streams, property chunking (never a 414), the quota headers fed to
 * the runtime, the daily limit reset at the portal's midnight, the v4 opt-out read-back, and redacting a
 * span in a note. Payloads as HubSpot documents them.
 */
import { ConnectorError, createRuntimeConnector, defineConnector, silentLogger } from '@custodian/core';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import hubspot, { rollingLimit } from '../src/index.js';
import { nextMidnightIn } from '../src/quota.js';
import { API, captureLogger, collect, connect, contact, TOKEN } from './helpers.js';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const SYSTEM = 'hubspot-eu';
const ref = (object: string, id: string) => ({ system: SYSTEM, object, id });
const at = '2026-11-01T00:00:00.000Z';

/** HubSpot's 414, as its error guide lists it (the body shape follows the generic error format). */
const URI_TOO_LONG = { status: 'error', message: 'Request-URI Too Long', category: 'URI_TOO_LONG', correlationId: 'c' };
/** HubSpot's list answers 414 past this many characters of URL (the sandbox look-alike's limit). */
const URL_LIMIT = 12_000;

describe('companies and deals', () => {
  it('declares every property of both streams with a category, custom properties included', async () => {
    const c = await connect({ customProperties: { deals: [{ name: 'buyer_email', category: 'contact.email' }] } });
    const byName = new Map(c.streams.map((s) => [s.name, s]));
    expect([...byName.keys()]).toEqual(['contacts', 'notes', 'companies', 'deals']);
    const companies = byName.get('companies');
    expect(companies?.fields.find((f) => f.name === 'phone')?.category).toBe('contact.phone');
    expect(companies?.fields.find((f) => f.name === 'description')?.category).toBe('free_text');
    const deals = byName.get('deals');
    expect(deals?.fields.find((f) => f.name === 'hubspot_owner_id')?.category).toBe('identifier.vendor');
    expect(deals?.fields.find((f) => f.name === 'buyer_email')?.category).toBe('contact.email');
  });

  it('backfills companies with their contacts inline and deals search pages with one association batch', async () => {
    const company = {
      id: '3001',
      properties: {
        hs_object_id: '3001',
        name: 'Berg Consulting AB',
        phone: '+46701234567',
        description: 'Key contact Sofia Berg',
        hs_lastmodifieddate: at,
        createdate: at,
      },
      createdAt: at,
      updatedAt: at,
      archived: false,
      associations: { contacts: { results: [{ id: '1001', type: 'company_to_contact' }] } },
    };
    const list = nock(API)
      .get('/crm/v3/objects/companies')
      .query((q) => String(q.associations) === 'contacts' && String(q.properties).includes('description'))
      .reply(200, { results: [company] });
    const c = await connect();
    const pages = await collect(c.read('companies', null));
    expect(list.isDone()).toBe(true);
    const rec = pages[0]?.records[0];
    expect(rec).toMatchObject({ ref: ref('companies', '3001'), kind: 'other', links: [ref('contacts', '1001')] });
    expect(rec?.fields.phone).toBe('+46701234567');

    const deal = {
      id: '7001',
      properties: { hs_object_id: '7001', dealname: 'Renewal – Sofia Berg', hs_lastmodifieddate: at },
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    let associationCalls = 0;
    nock(API)
      .post('/crm/v3/objects/deals/search', (b) => b.filterGroups[0].filters[0].propertyName === 'hs_lastmodifieddate')
      .reply(200, {
        total: 2,
        results: [deal, { ...deal, id: '7002', properties: { ...deal.properties, hs_object_id: '7002' } }],
      })
      .post('/crm/v4/associations/deals/contacts/batch/read', (b) => {
        associationCalls++;
        return b.inputs.length === 2;
      })
      .reply(200, {
        status: 'COMPLETE',
        results: [{ from: { id: '7001' }, to: [{ toObjectId: 1001, associationTypes: [] }] }],
        startedAt: at,
        completedAt: at,
      })
      .get('/crm/v3/objects/deals')
      .query((q) => q.archived === 'true')
      .reply(200, { results: [] });
    const later = await connect({}, undefined, () => new Date(Date.parse(at) + 86_400_000));
    const dealPages = await collect(later.read('deals', { phase: 'incremental', since: Date.parse(at), seen: [] }));
    const deals = dealPages.flatMap((p) => p.records);
    expect(deals.map((d) => [d.ref.id, d.links?.map((l) => l.id)])).toEqual([
      ['7001', ['1001']],
      ['7002', []],
    ]);
    expect(associationCalls).toBe(1);
  });

  it('erases companies and deals by archiving them', async () => {
    const archived: string[][] = [];
    nock(API)
      .post(/\/crm\/v3\/objects\/(companies|deals)\/batch\/archive/, (b) => {
        archived.push(b.inputs.map((i: { id: string }) => i.id));
        return true;
      })
      .times(2)
      .reply(204);
    const c = await connect();
    const out = await c.erase([ref('companies', '3001'), ref('deals', '7001')], { permanent: true });
    expect(out.map((r) => r.outcome)).toEqual(['done', 'done']);
    expect(archived).toEqual([['3001'], ['7001']]);
  });
});

describe('long property lists', () => {
  const custom = Array.from({ length: 400 }, (_, i) => ({
    name: `custom_field_with_a_long_name_${String(i).padStart(3, '0')}`,
    category: 'other' as const,
  }));

  it('never sends a list URL HubSpot answers 414 to: the rest of the properties come by batch read, merged by id', async () => {
    let longest = 0;
    const inUrl = new Set<string>();
    nock(API)
      .get('/crm/v3/objects/contacts')
      .query(true)
      .reply((uri) => {
        longest = Math.max(longest, uri.length);
        if (uri.length > URL_LIMIT) return [414, URI_TOO_LONG];
        for (const p of new URL(uri, API).searchParams.getAll('properties').flatMap((v) => v.split(','))) inUrl.add(p);
        return [200, { results: [contact(1, Date.parse(at)), contact(2, Date.parse(at))] }];
      });
    const bodyProperties: string[] = [];
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read', (b) => {
        bodyProperties.push(...b.properties);
        return b.inputs.length === 2;
      })
      .query(true)
      // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-read
      .reply(200, {
        status: 'COMPLETE',
        results: [1001, 1002].map((id) => ({
          id: String(id),
          properties: { hs_object_id: String(id), custom_field_with_a_long_name_399: `value-${id}` },
          createdAt: at,
          updatedAt: at,
          archived: false,
        })),
        startedAt: at,
        completedAt: at,
      });
    const c = await connect({ customProperties: { contacts: custom } });
    const pages = await collect(c.read('contacts', null));
    expect(longest).toBeLessThanOrEqual(URL_LIMIT);
    const all = c.streams.find((s) => s.name === 'contacts')?.fields.map((f) => f.name) ?? [];
    // Every property is asked for once, in the URL or in the body.
    expect(new Set([...inUrl, ...bodyProperties])).toEqual(new Set(all));
    expect(bodyProperties.length).toBeGreaterThan(0);
    const first = pages[0]?.records[0];
    expect(first?.canonical.email).toBe('person1@example.org');
    expect(first?.fields.custom_field_with_a_long_name_399).toBe('value-1001');
  });
});

describe('declared limits', () => {
  it('declare each HubSpot limit as a rolling window of its own size', async () => {
    const c = await connect({ tier: 'professional' });
    expect(c.limits.groups.default).toEqual(rollingLimit(190, 10_000));
    expect(c.limits.groups.search).toEqual(rollingLimit(5, 1_000));
    expect(rollingLimit(190, 10_000)).toMatchObject({ intervalCap: 190, intervalMs: 10_000 });
    const free = await connect({ tier: 'free' });
    expect(free.limits.groups.default?.intervalCap).toBe(100);
  });

  it('burst the allowance, then never let a window of arrivals hold more than the limit, whatever the latency', async () => {
    // HubSpot's own declared limits through the runtime, with calls that take 80 ms and stamp when they are
    // sent and answered: the search group (5 per second) so the test takes seconds, not 10 s windows.
    const LATENCY = 80;
    const definition = defineConnector({
      ...hubspot,
      capabilities: ['find'],
      setup: () => ({
        async *read() {},
        find: async (_ids, ctx) => {
          const calls: { sent: number; answered: number }[] = [];
          await Promise.all(
            Array.from({ length: 15 }, () =>
              ctx.call(
                'search',
                async () => {
                  const sent = performance.now();
                  await new Promise((r) => setTimeout(r, LATENCY));
                  calls.push({ sent, answered: performance.now() });
                },
                { group: 'search' },
              ),
            ),
          );
          return calls as never;
        },
      }),
    });
    const rc = await createRuntimeConnector(definition, {
      system: 'hubspot-eu',
      options: { auth: { type: 'private-app', accessToken: TOKEN } },
      logger: silentLogger,
    });
    const calls = ((await rc.find([])) as unknown as { sent: number; answered: number }[]).sort(
      (a, b) => a.sent - b.sent,
    );
    // HubSpot counts a call when it arrives, somewhere between sent and answered. Worst case: the earlier calls
    // arrive as late as possible, the later one as early as possible; still at most 5 in any second.
    for (const [i, c] of calls.entries()) {
      const inWindow = calls.slice(0, i + 1).filter((e) => e.answered > c.sent - 1_000).length;
      expect(inWindow).toBeLessThanOrEqual(5);
    }
    // The first five go at once; fifteen calls need two more windows (plus one latency each), no more.
    const started = calls.map((c) => c.sent - calls[0]!.sent);
    const { intervalMs } = rollingLimit(5, 1_000);
    expect(started[4]!).toBeLessThan(100);
    expect(started[14]!).toBeGreaterThanOrEqual(2 * (intervalMs + LATENCY) - 20);
    expect(started[14]!).toBeLessThan(2 * (intervalMs + LATENCY) + 600);
  });
});

describe('quota from response headers', () => {
  const usage = (used: number, limit: number) => ({
    'X-HubSpot-RateLimit-Daily': String(limit),
    'X-HubSpot-RateLimit-Daily-Remaining': String(limit - used),
    'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
    'X-HubSpot-RateLimit-Max': '190',
    'X-HubSpot-RateLimit-Remaining': '189',
  });

  it('feeds daily usage to the runtime, which stops at its share with a coded error naming the usage', async () => {
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [], startedAt: at, completedAt: at }, usage(500, 1000))
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [], startedAt: at, completedAt: at }, usage(950, 1000));
    const now = new Date('2026-11-23T15:00:00Z');
    const c = await connect({ portalTimeZone: 'America/New_York' }, undefined, () => now);
    await c.get([ref('contacts', '1')]);
    expect(c.quota()).toMatchObject({ report: { used: 500, limit: 1000 }, pausedUntil: null });
    await c.get([ref('contacts', '1')]);
    // 95% used: past the default stop share (90%); paused until midnight in New York (05:00 UTC).
    expect(c.quota().pausedUntil).toEqual(new Date('2026-11-24T05:00:00Z'));
    const err = await c.get([ref('contacts', '1')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED');
    expect((err as Error).message).toContain('used 950 of 1000');
  });

  it('warns once when HubSpot reports a lower burst limit than the tier declares', async () => {
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .times(2)
      .reply(
        200,
        { status: 'COMPLETE', results: [], startedAt: at, completedAt: at },
        {
          ...usage(10, 625_000),
          'X-HubSpot-RateLimit-Max': '110',
        },
      );
    const { logger, lines } = captureLogger();
    const c = await connect({ tier: 'enterprise' }, logger);
    await c.get([ref('contacts', '1')]);
    await c.get([ref('contacts', '1')]);
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.reportedMax === 110);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ declaredMax: 190, level: 40 });
  });

  it('a DAILY 429 pauses until midnight in the portal time zone, naming the usage', async () => {
    nock(API)
      .get('/crm/v3/objects/contacts')
      .query(true)
      // https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (429, policyName DAILY)
      .reply(
        429,
        {
          status: 'error',
          message: 'You have reached your daily limit.',
          errorType: 'RATE_LIMIT',
          correlationId: '7c1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8',
          policyName: 'DAILY',
          requestId: 'a1b2',
        },
        { 'X-HubSpot-RateLimit-Daily': '625000', 'X-HubSpot-RateLimit-Daily-Remaining': '0' },
      );
    const now = new Date('2026-11-23T23:30:00Z');
    const paused: Date[] = [];
    const { createRuntimeConnector } = await import('@custodian/core');
    const c = await createRuntimeConnector(hubspot, {
      system: SYSTEM,
      options: { auth: { type: 'private-app', accessToken: 'pat-x' }, portalTimeZone: 'Asia/Tokyo' },
      logger: captureLogger().logger,
      now: () => now,
      sleep: async () => {},
      onPause: (_s, until) => {
        paused.push(until);
      },
    });
    const err = await collect(c.read('contacts', null)).catch((e: unknown) => e);
    expect((err as ConnectorError).kind).toBe('quota_exhausted');
    // 23:30 UTC is 08:30 on the 24th in Tokyo: the next Tokyo midnight is 15:00 UTC on the 24th.
    // The headers of the 429 already report the day used up, and the 429 itself: both pause until then.
    expect(new Set(paused.map((d) => d.toISOString()))).toEqual(new Set(['2026-11-24T15:00:00.000Z']));
    expect(c.quota().pausedUntil).toEqual(new Date('2026-11-24T15:00:00Z'));
    expect((err as Error).message).toContain('used 625000 of 625000 requests today');
    expect((err as Error).message).toContain('Asia/Tokyo');
  });

  it('finds the next portal midnight across daylight-saving changes', () => {
    // Berlin leaves summer time on 2026-10-25 at 03:00 local: that midnight is still +02:00.
    expect(nextMidnightIn('Europe/Berlin', new Date('2026-10-24T12:00:00Z'))).toEqual(new Date('2026-10-24T22:00:00Z'));
    expect(nextMidnightIn('Europe/Berlin', new Date('2026-10-25T12:00:00Z'))).toEqual(new Date('2026-10-25T23:00:00Z'));
    expect(nextMidnightIn('UTC', new Date('2026-11-23T00:00:00Z'))).toEqual(new Date('2026-11-24T00:00:00Z'));
  });
});

describe('opt-out read-back and note redaction', () => {
  it('opt-out fails when HubSpot does not read back the portal-wide unsubscribe', async () => {
    const wide = '/communication-preferences/v4/statuses/person2%40example.org/unsubscribe-all';
    nock(API)
      .post('/crm/v3/objects/contacts/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [contact(2, Date.parse(at))] })
      .get('/communication-preferences/v3/status/email/person2%40example.org')
      .reply(200, { recipient: 'person2@example.org', subscriptionStatuses: [] })
      .post(wide)
      .query({ channel: 'EMAIL' })
      .reply(200, { status: 'COMPLETE', results: [], startedAt: at, completedAt: at })
      .get(wide)
      .query({ channel: 'EMAIL' })
      .reply(200, { status: 'COMPLETE', results: [], startedAt: at, completedAt: at });
    const { logger, lines } = captureLogger();
    const c = await connect({}, logger);
    const [res] = await c.setMarketingOptOut([ref('contacts', '1002')]);
    expect(res).toMatchObject({ outcome: 'failed' });
    expect(res?.reason).toContain('read-back');
    expect(JSON.stringify(lines)).not.toContain('person2@example.org');
  });

  it('redacts a span inside a note, and refuses when the note changed since it was read', async () => {
    const original = 'Paid with card 4111 1111 1111 1111, call back Monday';
    const redacted = 'Paid with card [REDACTED:card], call back Monday';
    const note = (body: string) => ({
      id: '9001',
      properties: { hs_object_id: '9001', hs_note_body: body, hs_lastmodifieddate: at },
      createdAt: at,
      updatedAt: at,
      archived: false,
    });
    let written: unknown;
    nock(API)
      .post('/crm/v3/objects/notes/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [note(original)] })
      .post('/crm/v3/objects/notes/batch/update', (b) => {
        written = b;
        return true;
      })
      // https://developers.hubspot.com/docs/api-reference/crm-notes-v3/batch/post-crm-v3-objects-notes-batch-update
      .reply(200, { status: 'COMPLETE', results: [note(redacted)], startedAt: at, completedAt: at })
      .post('/crm/v3/objects/notes/batch/read')
      .query(true)
      .reply(200, { status: 'COMPLETE', results: [note(`${original} (edited)`)] });
    const c = await connect();
    const change = { ref: ref('notes', '9001'), set: { hs_note_body: redacted }, expected: { hs_note_body: original } };
    expect((await c.update([change]))[0]?.outcome).toBe('done');
    expect(written).toEqual({ inputs: [{ id: '9001', properties: { hs_note_body: redacted } }] });
    expect((await c.update([change]))[0]).toMatchObject({ outcome: 'failed', reason: 'conflict' });
  });
});
