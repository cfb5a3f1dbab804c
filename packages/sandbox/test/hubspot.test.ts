/** The HubSpot look-alike driven by the official SDK: paging, search cap, 207, GDPR blocklist, limits, faults. */
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotApp } from '../src/hubspot/index.js';
import { createVendorServer } from '../src/kit/server.js';
import { createSeedWorld } from '../src/seed/world.js';

const CLIENT = { clientId: 'sbx', clientSecret: 'sbx-secret', refreshToken: 'sbx-rt' };
const world = createSeedWorld({ people: 3000, seed: 3, now: new Date('2026-11-01T00:00:00Z') });
let app: ReturnType<typeof createHubSpotApp>;
let server: Awaited<ReturnType<typeof createVendorServer>>;
let client: Client;

beforeAll(async () => {
  app = createHubSpotApp(world, { ...CLIENT, burstPer10s: 190 });
  server = await createVendorServer(app, { knobs: { rateLimits: false } });
  const tokenClient = new Client({ basePath: server.url, numberOfApiCallRetries: 0 });
  const token = await tokenClient.oauth.tokensApi.create(
    'refresh_token',
    undefined,
    undefined,
    CLIENT.clientId,
    CLIENT.clientSecret,
    CLIENT.refreshToken,
  );
  expect(token.expiresIn).toBe(1800);
  client = new Client({ basePath: server.url, accessToken: token.accessToken, numberOfApiCallRetries: 0 });
});
afterAll(async () => server?.close());

describe('HubSpot look-alike', () => {
  it('lists every contact with after paging (limit capped at 100) and notes with inline associations', async () => {
    const ids = new Set<string>();
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.crm.contacts.basicApi.getPage(500, after, ['email']);
      expect(page.results.length).toBeLessThanOrEqual(100);
      for (const r of page.results) ids.add(r.id);
      after = page.paging?.next?.after;
      pages++;
    } while (after);
    expect(ids.size).toBe(app.objects('contacts').size);
    expect(pages).toBe(Math.ceil(ids.size / 100));
    const notes = await client.crm.objects.notes.basicApi.getPage(10, undefined, ['hs_note_body'], undefined, [
      'contacts',
    ]);
    // The first note is about its company's first two people; the others are about one person each.
    const linked = notes.results.map((n) => n.associations?.contacts?.results.length);
    expect(linked[0]).toBe(2);
    expect(linked.slice(1)).toContain(1);
  });

  it('search pages of 200 with total, and answers 400 past 10,000 results', async () => {
    const res = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [],
      limit: 200,
      sorts: ['lastmodifieddate'],
    });
    expect(res.results).toHaveLength(200);
    expect(res.total).toBe(app.objects('contacts').size);
    await expect(
      client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 200, after: '9900' }),
    ).rejects.toMatchObject({
      code: 400,
    });
  });

  it('batch read by email answers 207 listing the missing', async () => {
    const email = [...app.objects('contacts').values()].find((r) => r.properties.email)?.properties.email as string;
    const res = await client.crm.contacts.batchApi.read({
      inputs: [{ id: email }, { id: 'nobody@example.invalid' }],
      idProperty: 'email',
      properties: ['email'],
      propertiesWithHistory: [],
    });
    expect(res.results).toHaveLength(1);
    expect((res as { errors?: { context?: Record<string, string[]> }[] }).errors?.[0]?.context?.ids).toEqual([
      'nobody@example.invalid',
    ]);
  });

  it('GDPR delete removes the contact and blocklists the email so a later create fails', async () => {
    const victim = [...app.objects('contacts').values()].find((r) => r.properties.email && r.links.length);
    const email = victim?.properties.email as string;
    const res = await client.apiRequest({
      method: 'POST',
      path: '/crm/v3/objects/contacts/gdpr-delete',
      body: { objectId: victim?.id },
    });
    expect(res.status).toBe(204);
    expect(app.objects('contacts').has(victim?.id as string)).toBe(false);
    // A second GDPR delete of the id finds nothing: 404, and the log counts the contact deleted once.
    const again = await client.apiRequest({
      method: 'POST',
      path: '/crm/v3/objects/contacts/gdpr-delete',
      body: { objectId: victim?.id },
    });
    expect(again.status).toBe(404);
    expect(server.log.deletions('hubspot').get(victim?.id as string)).toBe(1);
    // Notes survive the contact, no longer associated with it (a note shared with a colleague keeps them).
    for (const noteId of victim?.links ?? []) expect(app.objects('notes').get(noteId)?.links).not.toContain(victim?.id);
    await expect(
      client.crm.contacts.basicApi.create({ properties: { email }, associations: [] }),
    ).rejects.toMatchObject({
      code: 400,
    });
  });

  it('batch archive answers 204 and archived records only list with archived=true', async () => {
    const id = [...app.objects('contacts').keys()][5] as string;
    await client.crm.contacts.batchApi.archive({ inputs: [{ id }] });
    // Archiving it again is no error (204), and archives nothing: the log counts one delete of it.
    await client.crm.contacts.batchApi.archive({ inputs: [{ id }] });
    expect(server.log.deletions('hubspot').get(id)).toBe(1);
    const archived = await client.crm.contacts.basicApi.getPage(100, undefined, undefined, undefined, undefined, true);
    expect(archived.results.map((r) => r.id)).toContain(id);
  });

  it('unknown endpoints answer 404 with HubSpot body; expired tokens 401; rate limits 429 with headers', async () => {
    const res = await client.apiRequest({ method: 'GET', path: '/crm/v3/nothing-here' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 'error', category: 'NOT_FOUND' });
    server.setKnobs({ rateLimits: true });
    const limited = createHubSpotApp(world, { ...CLIENT, burstPer10s: 3 });
    const small = await createVendorServer(limited);
    const token = (await (
      await fetch(`${small.url}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: 'sbx',
          client_secret: 'sbx-secret',
          refresh_token: 'sbx-rt',
        }),
      })
    ).json()) as { access_token: string };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${small.url}/crm/v3/objects/contacts?limit=1`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last?.headers.get('x-hubspot-ratelimit-max')).toBe('3');
    expect(await last?.json()).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
    small.setKnobs({ expireTokens: true });
    const expired = await fetch(`${small.url}/crm/v3/objects/contacts?limit=1`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(expired.status).toBe(401);
    await small.close();
    server.setKnobs({ rateLimits: false });
  });

  it('serves companies and deals seeded from the world, linked to contacts, scaling with them', async () => {
    const contacts = app.objects('contacts');
    const companies = app.objects('companies');
    const deals = app.objects('deals');
    expect(companies.size).toBe(Math.ceil(world.countIn('hubspot') / 4));
    expect(deals.size).toBeGreaterThan(0);
    const page = await client.crm.companies.basicApi.getPage(
      100,
      undefined,
      ['name', 'phone', 'description'],
      undefined,
      ['contacts'],
    );
    expect(page.results).toHaveLength(100);
    const first = page.results[0];
    const linked = first?.associations?.contacts?.results.map((r) => r.id) ?? [];
    expect(linked.length).toBeGreaterThan(0);
    expect(linked.every((id) => contacts.has(id))).toBe(true);
    const deal = [...deals.values()][0];
    const read = await client.crm.deals.batchApi.read({
      inputs: [{ id: deal?.id as string }],
      properties: ['dealname', 'hubspot_owner_id'],
      propertiesWithHistory: [],
    });
    expect(read.results[0]?.properties.hubspot_owner_id).toMatch(/^4100000\d$/);
    const again = createHubSpotApp(world, CLIENT);
    expect([...again.objects('deals').keys()]).toEqual([...deals.keys()]);
  });

  it('answers 414 when the URL passes the limit, and the same properties in a POST body work', async () => {
    const many = Array.from({ length: 500 }, (_, i) => `custom_property_number_${i}`);
    const res = await client.apiRequest({
      method: 'GET',
      path: `/crm/v3/objects/contacts?limit=1&properties=${many.join(',')}`,
    });
    expect(res.status).toBe(414);
    expect(await res.json()).toMatchObject({ status: 'error', category: 'URI_TOO_LONG' });
    const id = [...app.objects('contacts').keys()][0] as string;
    const body = await client.crm.contacts.batchApi.read({
      inputs: [{ id }],
      properties: many,
      propertiesWithHistory: [],
    });
    expect(body.results[0]?.id).toBe(id);
  });

  it('limits search to 5 per second on its own, outside the ten-secondly burst', async () => {
    const limited = createHubSpotApp(world, { privateAppTokens: ['pat-test'], burstPer10s: 2 });
    const small = await createVendorServer(limited);
    const call = (path: string, body?: unknown) =>
      fetch(`${small.url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: 'Bearer pat-test', 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    expect((await call('/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    expect((await call('/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    expect((await call('/crm/v3/objects/contacts?limit=1')).status).toBe(429);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await call('/crm/v3/objects/contacts/search', { filterGroups: [], limit: 1 });
      statuses.push(last.status);
    }
    // The burst window is full, yet five searches pass; the sixth meets the search limit.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last?.headers.get('x-hubspot-ratelimit-max')).toBe('5');
    expect(await last?.json()).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
    await small.close();
  });

  it('unsubscribes per subscription with a legal basis, and from all email (v4), and reads both back', async () => {
    const email = [...app.objects('contacts').values()].find((r) => r.properties.email)?.properties.email as string;
    const wide = `/communication-preferences/v4/statuses/${encodeURIComponent(email)}/unsubscribe-all?channel=EMAIL`;
    const before = await client.apiRequest({ method: 'GET', path: wide });
    expect(((await before.json()) as { results: unknown[] }).results).toEqual([]);
    await client.communicationPreferences.statusApi.unsubscribe({
      emailAddress: email,
      subscriptionId: '1001',
      legalBasis: 'CONSENT_WITH_NOTICE' as never,
      legalBasisExplanation: 'asked by phone',
    });
    const status = await client.communicationPreferences.statusApi.getEmailStatus(email);
    expect(status.subscriptionStatuses.map((s) => [s.id, s.status, s.legalBasis])).toEqual([
      ['1001', 'NOT_SUBSCRIBED', 'CONSENT_WITH_NOTICE'],
      ['1002', 'SUBSCRIBED', undefined],
    ]);
    const post = await client.apiRequest({ method: 'POST', path: `${wide}&verbose=true` });
    expect(
      ((await post.json()) as { results: { status: string }[] }).results.every((r) => r.status === 'UNSUBSCRIBED'),
    ).toBe(true);
    const after = (await (await client.apiRequest({ method: 'GET', path: wide })).json()) as {
      results: { wideStatusType: string; status: string }[];
    };
    expect(after.results).toMatchObject([{ wideStatusType: 'PORTAL_WIDE', status: 'UNSUBSCRIBED' }]);
    const contact = [...app.objects('contacts').values()].find((r) => r.properties.email === email);
    expect(contact?.properties.hs_email_optout).toBe('true');
    expect(
      server.log.count({
        vendor: 'hubspot',
        endpoint: 'GET /communication-preferences/v4/statuses/{email}/unsubscribe-all',
      }),
    ).toBe(2);
  });

  it('account details name the portal time zone', async () => {
    const zoned = createHubSpotApp(world, { privateAppTokens: ['pat-tz'], timeZone: 'Asia/Tokyo' });
    const srv = await createVendorServer(zoned);
    const res = await fetch(`${srv.url}/account-info/v3/details`, { headers: { authorization: 'Bearer pat-tz' } });
    expect(await res.json()).toMatchObject({
      timeZone: 'Asia/Tokyo',
      utcOffsetMilliseconds: 9 * 3_600_000,
      utcOffset: '+09:00',
    });
    await srv.close();
  });
});
