/**
 * End to end against the sandbox HubSpot look-alike through the official SDK: companies and deals,
 * long custom property lists (the look-alike answers 414 past its URL limit), search under its own
 * 5-per-second limit, the daily quota from the headers and the DAILY 429, opt-out read back through v4,
 * and redacting a span inside a note.
 */
import { ConnectorError, createRuntimeConnector, type RuntimeConnector, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
// The sandbox package index exports the framework, not the vendor apps: the HubSpot app is reached by path.
import { createHubSpotApp, type HubSpotAppOptions } from '../../../packages/sandbox/src/hubspot/index.js';
import hubspot from '../src/index.js';

const world = createSeedWorld({ people: 2000, seed: 11, now: new Date('2026-11-01T00:00:00Z') });
const TOKEN = 'pat-e2e-limits-7f3a';
type Server = Awaited<ReturnType<typeof createVendorServer>>;
let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function portal(
  appOptions: HubSpotAppOptions = {},
  connectorOptions: Record<string, unknown> = {},
  rateLimits = false,
): Promise<{ app: ReturnType<typeof createHubSpotApp>; server: Server; c: RuntimeConnector }> {
  const app = createHubSpotApp(world, { privateAppTokens: [TOKEN], ...appOptions });
  const server = await createVendorServer(app, { knobs: { rateLimits } });
  servers.push(server);
  const c = await createRuntimeConnector(hubspot, {
    system: 'hubspot',
    options: {
      auth: { type: 'private-app', accessToken: TOKEN },
      baseUrl: server.url,
      searchLagSeconds: 0,
      lookbackMinutes: 0,
      ...connectorOptions,
    },
    logger: silentLogger,
  });
  return { app, server, c };
}

async function readAll(c: RuntimeConnector, stream: string) {
  const records = [];
  for await (const page of c.read(stream, null)) records.push(...page.records);
  return records;
}

describe('HubSpot e2e: companies, deals, limits and preferences', () => {
  it('pulls companies and deals with their contacts, one list call per 100 and no association calls', async () => {
    const { app, server, c } = await portal();
    for (const stream of ['companies', 'deals'] as const) {
      const records = await readAll(c, stream);
      const stored = app.objects(stream);
      expect(records).toHaveLength(stored.size);
      for (const r of records.slice(0, 50)) expect(r.links?.map((l) => l.id)).toEqual(stored.get(r.ref.id)?.links);
      expect(server.log.count({ vendor: 'hubspot', endpoint: `GET /crm/v3/objects/${stream}` })).toBe(
        Math.ceil(stored.size / 100),
      );
    }
    const deal = (await readAll(c, 'deals'))[0];
    expect(deal?.fields.hubspot_owner_id).toMatch(/^4100000\d$/);
    expect(
      server.log.count({ vendor: 'hubspot', endpoint: 'POST /crm/v4/associations/deals/contacts/batch/read' }),
    ).toBe(0);
  });

  it('reads 400 long custom properties without a 414: the rest comes by batch read per page', async () => {
    const custom = Array.from({ length: 400 }, (_, i) => ({
      name: `portal_specific_property_${String(i).padStart(3, '0')}`,
      category: 'other' as const,
    }));
    const { app, server, c } = await portal({}, { customProperties: { contacts: custom } });
    const first = [...app.objects('contacts').values()][0];
    if (first) first.properties.portal_specific_property_399 = 'kept';
    const records = await readAll(c, 'contacts');
    expect(records).toHaveLength(app.objects('contacts').size);
    expect(records.find((r) => r.ref.id === first?.id)?.fields.portal_specific_property_399).toBe('kept');
    const lists = server.log.count({ vendor: 'hubspot', endpoint: 'GET /crm/v3/objects/contacts' });
    expect(server.log.count({ vendor: 'hubspot', status: 414 })).toBe(0);
    expect(server.log.count({ vendor: 'hubspot', endpoint: 'POST /crm/v3/objects/contacts/batch/read' })).toBe(lists);
  });

  it('keeps search under its own 5-per-second limit: no 429 with the limits enforced', async () => {
    const { app, server, c } = await portal({}, {}, true);
    const phones = [...app.objects('contacts').values()].slice(0, 12).map((r) => r.properties.phone as string);
    const found = await Promise.all(phones.map((value) => c.find([{ kind: 'phone', value }])));
    expect(found.every((f) => f.length > 0)).toBe(true);
    expect(server.log.count({ vendor: 'hubspot', endpoint: 'POST /crm/v3/objects/contacts/search' })).toBe(12);
    expect(server.log.count({ vendor: 'hubspot', status: 429 })).toBe(0);
  });

  it('stops at the quota share the headers report, and a DAILY 429 pauses until the portal midnight', async () => {
    const { server, c } = await portal(
      { dailyLimit: 10, timeZone: 'Europe/Berlin' },
      { portalTimeZone: 'Europe/Berlin' },
    );
    const err = await readAll(c, 'contacts').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED');
    expect((err as Error).message).toMatch(/used 9 of 10/);
    // 90% of 10: the guard stopped at 9 requests, before HubSpot's own daily 429.
    expect(server.dailyUsed()).toBe(9);
    expect(c.quota().report).toMatchObject({ used: 9, limit: 10 });

    const fresh = await portal({ timeZone: 'Europe/Berlin' }, { portalTimeZone: 'Europe/Berlin' });
    fresh.server.setKnobs({ quotaExhausted: true });
    const daily = await readAll(fresh.c, 'contacts').catch((e: unknown) => e);
    expect((daily as ConnectorError).kind).toBe('quota_exhausted');
    expect((daily as Error).message).toContain('policyName DAILY');
    const until = fresh.c.quota().pausedUntil as Date;
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', timeStyle: 'short' });
    expect(berlin.format(until)).toBe('00:00');
    expect(until.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
  });

  it('opts out per subscription with the legal basis and from all email, read back; redacts a span in a note', async () => {
    const { app, server, c } = await portal({}, { legalBasis: 'CONSENT_WITH_NOTICE' });
    const person = [...app.objects('contacts').values()].find((r) => r.properties.email && r.links.length > 0);
    const ref = { system: 'hubspot', object: 'contacts', id: person?.id as string };
    const [out] = await c.setMarketingOptOut([ref]);
    expect(out?.outcome).toBe('done');
    expect(server.log.count({ vendor: 'hubspot', endpoint: 'POST /communication-preferences/v3/unsubscribe' })).toBe(2);
    expect(
      server.log.count({
        vendor: 'hubspot',
        endpoint: 'GET /communication-preferences/v4/statuses/{email}/unsubscribe-all',
      }),
    ).toBe(1);
    const status = (await (
      await fetch(
        `${server.url}/communication-preferences/v3/status/email/${encodeURIComponent(person?.properties.email as string)}`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      )
    ).json()) as { subscriptionStatuses: { status: string; legalBasis?: string }[] };
    expect(status.subscriptionStatuses.map((s) => [s.status, s.legalBasis])).toEqual([
      ['NOT_SUBSCRIBED', 'CONSENT_WITH_NOTICE'],
      ['NOT_SUBSCRIBED', 'CONSENT_WITH_NOTICE'],
    ]);
    expect(app.objects('contacts').get(ref.id)?.properties.hs_email_optout).toBe('true');

    const noteId = person?.links[0] as string;
    const body = app.objects('notes').get(noteId)?.properties.hs_note_body as string;
    const span = body.slice(0, Math.min(12, body.length));
    const redacted = `[REDACTED:test]${body.slice(span.length)}`;
    const noteRef = { system: 'hubspot', object: 'notes', id: noteId };
    const [red] = await c.update([{ ref: noteRef, set: { hs_note_body: redacted }, expected: { hs_note_body: body } }]);
    expect(red?.outcome).toBe('done');
    expect(app.objects('notes').get(noteId)?.properties.hs_note_body).toBe(redacted);
    const [again] = await c.update([
      { ref: noteRef, set: { hs_note_body: redacted }, expected: { hs_note_body: body } },
    ]);
    expect(again).toMatchObject({ outcome: 'failed', reason: 'conflict' });
  });
});
