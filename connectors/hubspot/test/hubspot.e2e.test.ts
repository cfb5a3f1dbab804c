/**
 * End to end against the sandbox HubSpot look-alike through the official SDK: backfill >= 20,000 contacts
 * and their notes, an incremental run, find, erase (soft and GDPR), verify, opt-out and rectify; the request
 * log shows which API calls were used and how many.
 */
import { createRuntimeConnector, type Page, type RuntimeConnector, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The sandbox package index exports the framework, not the vendor apps: the HubSpot app is reached by path.
import { createHubSpotApp } from '../../../packages/sandbox/src/hubspot/index.js';
import hubspot from '../src/index.js';

const CLIENT = { clientId: 'sbx-client', clientSecret: 'sbx-secret-41c9', refreshToken: 'sbx-refresh-77aa' };
type Server = Awaited<ReturnType<typeof createVendorServer>>;
let server: Server;
let app: ReturnType<typeof createHubSpotApp>;
let c: RuntimeConnector;

function worldWithContacts(min: number) {
  let people = min;
  for (;;) {
    const world = createSeedWorld({ people, seed: 42, now: new Date('2026-11-01T00:00:00Z') });
    if (world.countIn('hubspot') >= min) return world;
    people = Math.ceil((people * min) / Math.max(1, world.countIn('hubspot'))) + 100;
  }
}
const calls = (method: string, endpoint: string) =>
  server.log.count({ vendor: 'hubspot', endpoint: `${method} ${endpoint}` });

async function readAll(stream: string, checkpoint: Record<string, unknown> | null) {
  const pages: Page[] = [];
  for await (const page of c.read(stream, checkpoint)) pages.push(page);
  return pages;
}

beforeAll(async () => {
  app = createHubSpotApp(worldWithContacts(20_000), CLIENT);
  server = await createVendorServer(app, { knobs: { rateLimits: false } });
  c = await createRuntimeConnector(hubspot, {
    system: 'hubspot',
    options: { auth: { type: 'oauth', ...CLIENT }, baseUrl: server.url, searchLagSeconds: 0, lookbackMinutes: 0 },
    logger: silentLogger,
  });
});
afterAll(async () => server?.close());

describe('HubSpot e2e against the sandbox', () => {
  let contactsCheckpoint: Record<string, unknown> = {};
  it('backfills every contact and note with the minimum list calls and no call per record', async () => {
    const contacts = app.objects('contacts').size;
    const notes = app.objects('notes').size;
    expect(contacts).toBeGreaterThanOrEqual(20_000);
    const pages = await readAll('contacts', null);
    const ids = new Set(pages.flatMap((p) => p.records.map((r) => r.ref.id)));
    expect(ids.size).toBe(contacts);
    expect(calls('GET', '/crm/v3/objects/contacts')).toBe(Math.ceil(contacts / 100));
    contactsCheckpoint = pages.at(-1)?.checkpoint ?? {};
    const notePages = await readAll('notes', null);
    const noteRecords = notePages.flatMap((p) => p.records);
    expect(noteRecords).toHaveLength(notes);
    // Every note is linked to its contact, and the notes two colleagues share (the sandbox seeds some) to both.
    const linkCounts = noteRecords.map((n) => n.links?.length ?? 0);
    expect(linkCounts.every((n) => n === 1 || n === 2)).toBe(true);
    expect(linkCounts.filter((n) => n === 2).length).toBeGreaterThan(0);
    expect(calls('GET', '/crm/v3/objects/notes')).toBe(Math.ceil(notes / 100));
    expect(calls('POST', '/oauth/v1/token')).toBe(1);
  });

  it('finds, rectifies, opts out, erases soft and GDPR, verifies, and the incremental run sees the changes', async () => {
    const [first, second] = [...app.objects('contacts').values()].filter((r) => r.properties.email && r.links.length);
    const email = first?.properties.email as string;
    const found = await c.find([{ kind: 'email', value: email }]);
    expect(found.map((r) => r.ref.id)).toContain(first?.id);
    const ref = { system: 'hubspot', object: 'contacts', id: first?.id as string };

    const [rect] = await c.update([{ ref, set: { lastname: 'Rectified' } }]);
    expect(rect?.outcome).toBe('done');
    const [opt] = await c.setMarketingOptOut([ref]);
    expect(opt?.outcome).toBe('done');
    expect(app.objects('contacts').get(ref.id)?.properties.hs_email_optout).toBe('true');

    const notes = await c.related([ref]);
    expect(notes.length).toBe(first?.links.length);
    const eraseSoft = await c.erase([ref, ...notes.map((n) => n.ref)], { permanent: false });
    expect(eraseSoft.every((r) => r.outcome === 'done')).toBe(true);
    const verifySoft = await c.verifyErased([ref], [{ kind: 'email', value: email }]);
    expect(verifySoft[0]?.outcome).toBe('done');

    const ref2 = { system: 'hubspot', object: 'contacts', id: second?.id as string };
    const gdpr = await c.erase([ref2], { permanent: true });
    expect(gdpr[0]?.outcome).toBe('done');
    expect(app.objects('contacts').has(ref2.id)).toBe(false);
    const verifyGdpr = await c.verifyErased([ref2], [{ kind: 'email', value: second?.properties.email as string }]);
    expect(verifyGdpr[0]?.outcome).toBe('done');
    expect(calls('POST', '/crm/v3/objects/contacts/gdpr-delete')).toBe(1);

    const inc = await readAll('contacts', contactsCheckpoint);
    expect(inc.flatMap((p) => p.deleted ?? []).map((d) => d.ref.id)).toContain(ref.id);
    expect(calls('GET', '/communication-preferences/v3/status/email/{email}')).toBe(1);
  });
});
