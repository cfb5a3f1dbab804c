/**
 * End to end against the sandbox Zoho look-alike: sync >= 20,000 people with notes (page numbers, then
 * page_token past 2,000, field chunks, a restart from a checkpoint), find, erase with purge, verify,
 * opt-out and rectify; the request log shows which API calls were used and how many.
 */
import type { CrmRecord, Page, RuntimeConnector } from '@custodian/core';
import { createRuntimeConnector, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The sandbox package index exports the framework, not the vendor apps: the Zoho app is reached by path.
import { createZohoApp } from '../../../packages/sandbox/src/zoho/index.js';
import zoho from '../src/index.js';

const CLIENT = { clientId: '1000.SANDBOX', clientSecret: 'sandbox-secret', refreshToken: '1000.sandbox-refresh' };
const PER_PAGE = 200;

type Server = Awaited<ReturnType<typeof createVendorServer>>;
let server: Server;
let app: ReturnType<typeof createZohoApp>;
let c: RuntimeConnector;
let zohoPeople = 0;

function worldWithZohoPeople(min: number) {
  let people = min;
  for (;;) {
    const world = createSeedWorld({ people, seed: 42, now: new Date('2026-11-01T00:00:00Z') });
    if (world.countIn('zoho') >= min) return world;
    people = Math.ceil((people * min) / Math.max(1, world.countIn('zoho'))) + 100;
  }
}

function calls(method: string, endpoint: string): number {
  return server.log.count({ vendor: 'zoho', endpoint: `${method} ${endpoint}` });
}

function searches(): number {
  return calls('GET', '/crm/v8/Contacts/search') + calls('GET', '/crm/v8/Leads/search');
}

async function readAll(stream: string, checkpoint: Record<string, unknown> | null, stopAfter = Infinity) {
  const pages: Page[] = [];
  for await (const page of c.read(stream, checkpoint)) {
    pages.push(page);
    if (pages.length >= stopAfter) break;
  }
  return pages;
}

beforeAll(async () => {
  const world = worldWithZohoPeople(20_000);
  zohoPeople = world.countIn('zoho');
  app = createZohoApp(world, { ...CLIENT, dailyCredits: 1_000_000 });
  server = await createVendorServer(app);
  c = await createRuntimeConnector(zoho, {
    system: 'zoho',
    options: { dataCentre: 'eu', apiBaseUrl: server.url, accountsUrl: server.url, ...CLIENT, dailyCredits: 1_000_000 },
    logger: silentLogger,
  });
});
afterAll(async () => {
  await c?.close();
  await server?.close();
});

describe('Zoho connector against the sandbox', () => {
  const synced = new Map<string, CrmRecord>();
  let contactsCheckpoint: Record<string, unknown> | null = null;

  it('syncs every person (Contacts and Leads) with page numbers, page_token past 2,000 and a restart', async () => {
    expect(zohoPeople).toBeGreaterThanOrEqual(20_000);
    // First run stops after 12 pages (past the 2,000-record page cap), the second resumes from its checkpoint.
    const first = await readAll('Contacts', null, 12);
    const rest = await readAll('Contacts', first.at(-1)?.checkpoint ?? null);
    for (const p of [...first, ...rest]) for (const r of p.records) synced.set(`${r.ref.object}:${r.ref.id}`, r);
    contactsCheckpoint = rest.at(-1)?.checkpoint ?? null;
    const leads = await readAll('Leads', null);
    for (const p of leads) for (const r of p.records) synced.set(`${r.ref.object}:${r.ref.id}`, r);
    const contacts = app.store.sortedIndex('Contacts').length;
    const leadCount = app.store.sortedIndex('Leads').length;
    expect(synced.size).toBe(contacts + leadCount);
    expect(new Set([...synced.values()].map((r) => r.canonical.email)).size).toBe(zohoPeople);
    // Minimum calls: one per 200 records per field chunk (2 chunks: the modules have > 50 fields).
    const getCalls = calls('GET', '/crm/v8/Contacts') + calls('GET', '/crm/v8/Leads');
    const minimum = (Math.ceil(contacts / PER_PAGE) + Math.ceil(leadCount / PER_PAGE)) * 2;
    expect(getCalls).toBe(minimum);
    const sample = [...synced.values()][0];
    expect(sample?.consent?.legalBasis === null || typeof sample?.consent?.legalBasis === 'string').toBe(true);
    expect(typeof sample?.consent?.marketingOptOut).toBe('boolean');
  });

  it('syncs notes, tasks and calls linked to their people', async () => {
    let activities = 0;
    for (const stream of ['Notes', 'Tasks', 'Calls']) {
      const pages = await readAll(stream, null);
      for (const p of pages)
        for (const r of p.records) {
          activities++;
          expect(r.links?.length).toBeGreaterThan(0);
        }
      expect(pages.flatMap((p) => p.records).length).toBe(app.store.sortedIndex(stream as 'Notes').length);
    }
    expect(activities).toBeGreaterThan(0);
  });

  it('finds N people in ceil(N/50) COQL calls per module for emails, and their phones without a search per person', async () => {
    const people = [...synced.values()].filter((r) => r.ref.object === 'Contacts' && r.canonical.email).slice(0, 120);
    const emails = [...new Set(people.map((r) => (r.canonical.email as string).toLowerCase()))];
    const expected = [...synced.values()]
      .filter((r) => [r.canonical.email, r.canonical.secondaryEmail].some((e) => e && emails.includes(e.toLowerCase())))
      .map((r) => `${r.ref.object}:${r.ref.id}`)
      .sort();
    const before = { coql: calls('POST', '/crm/v8/coql'), search: searches() };
    const byEmail = await c.find(emails.map((value) => ({ kind: 'email' as const, value })));
    expect(byEmail.map((r) => `${r.ref.object}:${r.ref.id}`).sort()).toEqual(expected);
    expect(calls('POST', '/crm/v8/coql') - before.coql).toBe(2 * Math.ceil(emails.length / 50));
    expect(searches() - before.search).toBe(0);

    const phones = [...new Set(people.map((r) => r.canonical.phone).filter((p): p is string => !!p))];
    const mid = { coql: calls('POST', '/crm/v8/coql'), search: searches() };
    const byPhone = await c.find(phones.map((value) => ({ kind: 'phone' as const, value })));
    expect(byPhone.map((r) => r.ref.id)).toEqual(expect.arrayContaining(people.map((r) => r.ref.id)));
    // Every phone is stored in a form COQL asks for: no search; a few forms per phone share a call.
    expect(searches() - mid.search).toBe(0);
    expect(calls('POST', '/crm/v8/coql') - mid.coql).toBeLessThanOrEqual(2 * Math.ceil(phones.length / 10));
  });

  it('finds a person by email and phone, erases with purge, verifies, and the next sync reports the deletion', async () => {
    const target = [...synced.values()].find(
      (r) => r.fields.Custom_Field_1 && r.ref.object === 'Contacts',
    ) as CrmRecord;
    const email = target.canonical.email as string;
    const phone = target.canonical.phone as string;
    const byEmail = await c.find([{ kind: 'email', value: email }]);
    const byPhone = await c.find([{ kind: 'phone', value: phone }]);
    expect(byEmail.map((r) => r.ref.id)).toContain(target.ref.id);
    expect(byPhone.map((r) => r.ref.id)).toContain(target.ref.id);
    const related = await c.related(byEmail.map((r) => r.ref));
    const refs = [...byEmail.map((r) => r.ref), ...related.map((r) => r.ref)];
    const before = { del: calls('DELETE', '/crm/v8/Contacts'), purge: calls('DELETE', '/crm/v8/settings/recycle_bin') };
    const erased = await c.erase(refs, { permanent: true });
    expect(erased.every((r) => r.outcome === 'done')).toBe(true);
    expect(calls('DELETE', '/crm/v8/Contacts') - before.del).toBe(1);
    expect(calls('DELETE', '/crm/v8/settings/recycle_bin') - before.purge).toBe(1);
    const verified = await c.verifyErased(refs, [
      { kind: 'email', value: email },
      { kind: 'phone', value: phone },
    ]);
    expect(verified.every((r) => r.outcome === 'done')).toBe(true);
    expect(await c.find([{ kind: 'email', value: email }])).toEqual([]);
    const next = await readAll('Contacts', contactsCheckpoint);
    const deleted = next.flatMap((p) => p.deleted ?? []);
    expect(deleted.map((d) => d.ref.id)).toContain(target.ref.id);
    expect(deleted.find((d) => d.ref.id === target.ref.id)?.state).toBe('deleted');
  });

  it('erases N records in ceil(N/100) delete calls', async () => {
    const refs = [...synced.values()]
      .filter((r) => r.ref.object === 'Leads')
      .slice(0, 250)
      .map((r) => r.ref);
    const before = calls('DELETE', '/crm/v8/Leads');
    const res = await c.erase(refs, { permanent: false });
    expect(res.filter((r) => r.outcome === 'done')).toHaveLength(250);
    expect(calls('DELETE', '/crm/v8/Leads') - before).toBe(3);
    // Erasing again: already gone, per record.
    expect((await c.erase(refs.slice(0, 5), { permanent: false })).every((r) => r.outcome === 'already_gone')).toBe(
      true,
    );
  });

  it('opts out every record of a person and rectifies a field with a conflict check', async () => {
    // From the end of the sync: the person erased above is the first record synced.
    const dup = [...synced.values()].reverse().find((r) => {
      const d = app.store.decode(r.ref.id);
      return d?.n === 1;
    }) as CrmRecord;
    const primaryId = app.store.encode(dup.ref.object as 'Contacts', app.store.decode(dup.ref.id)?.index ?? 0, 0);
    const res = await c.setMarketingOptOut([{ system: 'zoho', object: dup.ref.object, id: primaryId }]);
    // One result per ref given; the duplicate found by email is opted out too.
    expect(res).toEqual([{ ref: { system: 'zoho', object: dup.ref.object, id: primaryId }, outcome: 'done' }]);
    const after = await c.get([dup.ref, { ...dup.ref, id: primaryId }]);
    expect(after.every((r) => r?.consent?.marketingOptOut === true)).toBe(true);

    const lastName = after[1]?.fields.Last_Name as string;
    const rectified = await c.update([
      { ref: { ...dup.ref, id: primaryId }, set: { Last_Name: 'Rectified' }, expected: { Last_Name: lastName } },
      { ref: dup.ref, set: { Last_Name: 'Rectified' }, expected: { Last_Name: 'Someone Else' } },
    ]);
    expect(rectified.map((r) => r.outcome)).toEqual(['done', 'failed']);
    expect((await c.get([{ ...dup.ref, id: primaryId }]))[0]?.canonical.lastName).toBe('Rectified');
  });

  it('survives token expiry and 5xx bursts, and pauses when the daily credits are used up', async () => {
    const ref = [...synced.values()].at(-1)?.ref as CrmRecord['ref'];
    server.setKnobs({ expireTokens: true });
    expect((await c.get([ref]))[0]?.ref.id).toBe(ref.id);
    server.setKnobs({ expireTokens: false, errorBurst: 2 });
    expect((await c.get([ref]))[0]?.ref.id).toBe(ref.id);
    expect(server.log.count({ vendor: 'zoho', status: 500 })).toBe(2);
    server.setKnobs({ quotaExhausted: true });
    await expect(c.get([ref])).rejects.toMatchObject({ kind: 'quota_exhausted' });
    expect(c.quota().pausedUntil).toBeInstanceOf(Date);
    server.setKnobs({ quotaExhausted: false });
  });

  it('the request log shows only the documented endpoints', () => {
    const byEndpoint = server.log.byEndpoint('zoho');
    for (const e of Object.keys(byEndpoint))
      expect(e).toMatch(
        /^(POST \/oauth\/v2\/token|GET \/crm\/v8\/settings\/fields|GET \/crm\/v8\/\w+(\/search|\/deleted)?|POST \/crm\/v8\/coql|PUT \/crm\/v8\/\w+|DELETE \/crm\/v8\/\w+|(GET|DELETE) \/crm\/v8\/settings\/recycle_bin)$/,
      );
    // One refresh at start, one after the forced expiry.
    expect(byEndpoint['POST /oauth/v2/token']).toBe(2);
  });
});
