/**
 * End to end against the sandbox Salesforce look-alike: sync >= 20,000 people (Contacts and Leads, 2,000 a
 * query page, a restart from a checkpoint inside runs of equal SystemModstamp) with their Tasks, Notes and
 * Cases, find, erase with Recycle Bin emptying, verify, opt-out and rectify (sObject Collections update, 200
 * records a call); the request log shows which API calls were used and how many.
 */
import type { CrmRecord, Page, RecordRef, RuntimeConnector } from '@custodian/core';
import { createRuntimeConnector, silentLogger } from '@custodian/core';
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The sandbox package index exports the framework, not the vendor apps: the Salesforce app is reached by path.
import { createSalesforceApp } from '../../../packages/sandbox/src/salesforce/index.js';
import salesforce from '../src/index.js';

const CLIENT = { clientId: 'e2e-client', clientSecret: 'e2e-secret-4b1d', refreshToken: 'e2e-refresh-77aa' };
const PAGE = 2000;
const V = '/services/data/v62.0';
/** Whole-org reads on a loaded 2-core machine: generous, never a speed assertion. */
const SLOW = 300_000;

type Server = Awaited<ReturnType<typeof createVendorServer>>;
let server: Server;
let app: ReturnType<typeof createSalesforceApp>;
let c: RuntimeConnector;
let sfPeople = 0;

function worldWithSalesforcePeople(min: number) {
  let people = min;
  for (;;) {
    const world = createSeedWorld({ people, seed: 42, now: new Date('2026-11-01T00:00:00Z') });
    if (world.countIn('salesforce') >= min) return world;
    people = Math.ceil((people * min) / Math.max(1, world.countIn('salesforce'))) + 100;
  }
}

const calls = (method: string, endpoint: string) =>
  server.log.count({ vendor: 'salesforce', endpoint: `${method} ${endpoint}` });
const queryCalls = () =>
  calls('GET', `${V}/query`) +
  calls('GET', `${V}/query/{locator}`) +
  calls('GET', `${V}/queryAll`) +
  calls('GET', `${V}/queryAll/{locator}`);
/** sObject Collections update calls (no per-record PATCH is ever sent: see the endpoint check at the end). */
const updateCalls = () => calls('PATCH', `${V}/composite/sobjects`);
const live = (object: 'Contact' | 'Lead' | 'Task' | 'Note' | 'Case') =>
  app.store.index(object).filter((e) => !e.deleted).length;

async function readAll(stream: string, checkpoint: Record<string, unknown> | null, stopAfter = Infinity) {
  const pages: Page[] = [];
  for await (const page of c.read(stream, checkpoint)) {
    pages.push(page);
    if (pages.length >= stopAfter) break;
  }
  return pages;
}

beforeAll(async () => {
  const world = worldWithSalesforcePeople(20_000);
  sfPeople = world.countIn('salesforce');
  app = createSalesforceApp(world, { ...CLIENT, dailyLimit: 1_000_000 });
  server = await createVendorServer(app);
  c = await createRuntimeConnector(salesforce, {
    system: 'salesforce',
    // No lookback: a restart resumes exactly at the (SystemModstamp, Id) tie-break, so call counts are exact.
    options: { loginUrl: server.url, auth: { type: 'refresh-token', ...CLIENT }, lookbackMinutes: 0 },
    logger: silentLogger,
  });
}, SLOW);
afterAll(async () => {
  await c?.close();
  await server?.close();
});

describe('Salesforce connector against the sandbox', () => {
  const synced = new Map<string, CrmRecord>();
  let contactsCheckpoint: Record<string, unknown> | null = null;

  it('syncs every person (Contacts and Leads) in 2,000-record pages, with a restart inside equal SystemModstamps', {
    timeout: SLOW,
  }, async () => {
    expect(sfPeople).toBeGreaterThanOrEqual(20_000);
    const before = queryCalls();
    const first = await readAll('Contact', null, 3);
    const rest = await readAll('Contact', first.at(-1)?.checkpoint ?? null);
    for (const p of [...first, ...rest]) for (const r of p.records) synced.set(r.ref.id, r);
    contactsCheckpoint = rest.at(-1)?.checkpoint ?? null;
    for (const p of await readAll('Lead', null)) for (const r of p.records) synced.set(r.ref.id, r);
    const contacts = live('Contact');
    const leads = live('Lead');
    expect(synced.size).toBe(contacts + leads);
    expect(new Set([...synced.values()].map((r) => r.canonical.email)).size).toBe(sfPeople);
    // The minimum: one call per 2,000 records per object; the restart costs nothing extra.
    expect(queryCalls() - before).toBe(Math.ceil(contacts / PAGE) + Math.ceil(leads / PAGE));
    expect(calls('GET', `${V}/sobjects/Contact/describe`)).toBe(1);
    const sample = [...synced.values()].find((r) => r.ref.object === 'Contact') as CrmRecord;
    expect(typeof sample.consent?.marketingOptOut).toBe('boolean');
    expect(sample.fields.Loyalty_Id__c).toMatch(/^LOY-\d{8}$/);
  });

  it('syncs Tasks, Notes and Cases linked to their people', { timeout: SLOW }, async () => {
    for (const stream of ['Task', 'Note', 'Case'] as const) {
      const records = (await readAll(stream, null)).flatMap((p) => p.records);
      expect(records).toHaveLength(live(stream));
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) {
        expect(r.kind).toBe('activity');
        expect(synced.has(r.links?.[0]?.id ?? '')).toBe(true);
      }
    }
  });

  it('finds a person by email and phone, erases them with their notes and empties the Recycle Bin, and verifies', {
    timeout: SLOW,
  }, async () => {
    const target = [...synced.values()].find(
      (r) => r.ref.object === 'Contact' && app.store.activitiesOf('Task', [r.ref.id]).length > 0,
    ) as CrmRecord;
    const email = target.canonical.email as string;
    const phone = target.canonical.phone as string;
    expect((await c.find([{ kind: 'email', value: email.toUpperCase() }])).map((r) => r.ref.id)).toContain(
      target.ref.id,
    );
    const byPhone = await c.find([{ kind: 'phone', value: phone }]);
    expect(byPhone.map((r) => r.ref.id)).toContain(target.ref.id);
    const related = await c.related(byPhone.map((r) => r.ref));
    expect(related.length).toBeGreaterThan(0);
    const refs = [...byPhone.map((r) => r.ref), ...related.map((r) => r.ref)];
    const before = { del: calls('DELETE', `${V}/composite/sobjects`), bin: calls('POST', '/services/Soap/u/62.0') };
    const erased = await c.erase(refs, { permanent: true });
    expect(erased.map((r) => r.outcome)).toEqual(refs.map(() => 'done'));
    expect(calls('DELETE', `${V}/composite/sobjects`) - before.del).toBe(1);
    expect(calls('POST', '/services/Soap/u/62.0') - before.bin).toBe(1);
    for (const ref of refs) expect(app.store.state(ref.id)).toBe('purged');
    const verified = await c.verifyErased(refs, [
      { kind: 'email', value: email },
      { kind: 'phone', value: phone },
    ]);
    expect(verified.every((r) => r.outcome === 'done')).toBe(true);
    expect(await c.find([{ kind: 'email', value: email }])).toEqual([]);
    // Erasing again: already gone, per record.
    expect((await c.erase(refs, { permanent: true })).every((r) => r.outcome === 'already_gone')).toBe(true);
  });

  it('a soft erase stays in the Recycle Bin and the next incremental sync reports it deleted', {
    timeout: SLOW,
  }, async () => {
    const target = [...synced.values()].filter((r) => r.ref.object === 'Contact').at(-5) as CrmRecord;
    expect((await c.erase([target.ref], { permanent: false }))[0]?.outcome).toBe('done');
    expect(app.store.state(target.ref.id)).toBe('binned');
    const next = await readAll('Contact', contactsCheckpoint);
    const deleted = next.flatMap((p) => p.deleted ?? []);
    expect(deleted.map((d) => d.ref.id)).toContain(target.ref.id);
    expect(next.flatMap((p) => p.records).map((r) => r.ref.id)).not.toContain(target.ref.id);
  });

  it('erases N records in ceil(N/200) collection deletes plus ceil(N/200) emptyRecycleBin calls', async () => {
    const refs: RecordRef[] = [...synced.values()]
      .filter((r) => r.ref.object === 'Lead')
      .slice(0, 450)
      .map((r) => r.ref);
    const before = { del: calls('DELETE', `${V}/composite/sobjects`), bin: calls('POST', '/services/Soap/u/62.0') };
    const res = await c.erase(refs, { permanent: true });
    expect(res.filter((r) => r.outcome === 'done')).toHaveLength(450);
    expect(calls('DELETE', `${V}/composite/sobjects`) - before.del).toBe(3);
    expect(calls('POST', '/services/Soap/u/62.0') - before.bin).toBe(3);
  });

  it('opts out the record and its Individual, and rectifies a field with a conflict check', async () => {
    const person = [...synced.values()]
      .filter((r) => r.ref.object === 'Contact' && !r.consent?.marketingOptOut)
      .at(-1) as CrmRecord;
    const individualId = person.fields.IndividualId as string;
    const before = updateCalls();
    expect(await c.setMarketingOptOut([person.ref])).toEqual([{ ref: person.ref, outcome: 'done' }]);
    expect((await c.get([person.ref]))[0]?.consent?.marketingOptOut).toBe(true);
    expect(app.store.get(individualId)?.HasOptedOutSolicit).toBe(true);

    const lastName = person.fields.LastName as string;
    // Results are one per ref, so the conflicting and the good change go in separate calls.
    const conflict = await c.update([
      { ref: person.ref, set: { LastName: 'Again' }, expected: { LastName: 'Someone Else' } },
    ]);
    expect(conflict).toEqual([{ ref: person.ref, outcome: 'failed', reason: 'conflict' }]);
    const rectified = await c.update([
      { ref: person.ref, set: { LastName: 'Rectified' }, expected: { LastName: lastName } },
    ]);
    expect(rectified).toEqual([{ ref: person.ref, outcome: 'done' }]);
    expect((await c.get([person.ref]))[0]?.canonical.lastName).toBe('Rectified');
    // The opt-out (the person, any duplicate of them and their Individual) and the rectify: one Collections call each.
    expect(updateCalls() - before).toBe(2);
  });

  it('opts out N people in ceil(written/200) Collections update calls, Individuals and duplicates included', async () => {
    const refs = [...synced.values()]
      .filter((r) => r.ref.object === 'Contact' && app.store.state(r.ref.id) === 'live')
      .slice(100, 400)
      .map((r) => r.ref);
    const known = new Set(refs.map((r) => r.id));
    const individuals = new Set(refs.map((r) => app.store.get(r.id)?.IndividualId as string));
    // Other Contacts and Leads of the same Individuals that are not opted out yet are written too.
    const siblings = (['Contact', 'Lead'] as const)
      .flatMap((object) => app.store.index(object).filter((e) => !e.deleted && !known.has(e.id)))
      .map((e) => app.store.get(e.id))
      .filter((row) => row && individuals.has(row.IndividualId as string) && row.HasOptedOutOfEmail === false);
    const written = refs.length + siblings.length + individuals.size;
    const before = updateCalls();
    const results = await c.setMarketingOptOut(refs);
    expect(results.every((r) => r.outcome === 'done')).toBe(true);
    expect(updateCalls() - before).toBe(Math.ceil(written / 200));
    for (const ref of refs) expect(app.store.get(ref.id)?.HasOptedOutOfEmail).toBe(true);
    for (const id of individuals) expect(app.store.get(id)?.HasOptedOutSolicit).toBe(true);
  });

  it('rectifies N records in ceil(N/200) Collections update calls', async () => {
    const refs = [...synced.values()]
      .filter((r) => r.ref.object === 'Lead' && app.store.state(r.ref.id) === 'live')
      .slice(500, 950)
      .map((r) => r.ref);
    expect(refs).toHaveLength(450);
    const before = updateCalls();
    const results = await c.update(refs.map((ref) => ({ ref, set: { Title: 'Data Protection Officer' } })));
    expect(results.every((r) => r.outcome === 'done')).toBe(true);
    expect(updateCalls() - before).toBe(3);
    expect(refs.every((ref) => app.store.get(ref.id)?.Title === 'Data Protection Officer')).toBe(true);
  });

  it('emptying the Recycle Bin over SOAP refreshes an expired session once', async () => {
    const ref = [...synced.values()].filter((r) => r.ref.object === 'Lead').at(-3)?.ref as RecordRef;
    expect((await c.erase([ref], { permanent: false }))[0]?.outcome).toBe('done');
    // jsforce reads a SOAP fault's `faultcode` (`sf:INVALID_SESSION_ID`) as the error code.
    server.setKnobs({ expireTokens: true });
    expect(await c.purge([ref])).toEqual([{ ref, outcome: 'done' }]);
    expect(app.store.state(ref.id)).toBe('purged');
  });

  it('survives token expiry and 5xx bursts, and pauses on 403 REQUEST_LIMIT_EXCEEDED', async () => {
    const ref = [...synced.values()].filter((r) => r.ref.object === 'Contact').at(-2)?.ref as RecordRef;
    server.setKnobs({ expireTokens: true });
    expect((await c.get([ref]))[0]?.ref.id).toBe(ref.id);
    const errorsBefore = server.log.count({ vendor: 'salesforce', status: 500 });
    server.setKnobs({ errorBurst: 2 });
    expect((await c.get([ref]))[0]?.ref.id).toBe(ref.id);
    expect(server.log.count({ vendor: 'salesforce', status: 500 }) - errorsBefore).toBe(2);
    server.setKnobs({ quotaExhausted: true });
    await expect(c.get([ref])).rejects.toMatchObject({ kind: 'quota_exhausted' });
    expect(c.quota().pausedUntil).toBeInstanceOf(Date);
    server.setKnobs({ quotaExhausted: false });
  });

  it('the request log shows only the documented endpoints', () => {
    const byEndpoint = server.log.byEndpoint('salesforce');
    for (const e of Object.keys(byEndpoint))
      expect(e).toMatch(
        /^(POST \/services\/oauth2\/token|POST \/services\/Soap\/u\/62\.0|GET \/services\/data\/v62\.0\/(query|queryAll)(\/\{locator\})?|GET \/services\/data\/v62\.0\/sobjects\/\w+\/describe|GET \/services\/data\/v62\.0\/sobjects\/\w+\/deleted\/?|(PATCH|DELETE) \/services\/data\/v62\.0\/composite\/sobjects)$/,
      );
    // One token at start, one after each forced expiry (REST, then SOAP).
    expect(byEndpoint['POST /services/oauth2/token']).toBe(3);
  });
});

describe('Salesforce daily quota guard', () => {
  it('stops at the configured share of the daily allocation, with the exact usage reported', async () => {
    const world = createSeedWorld({ people: 20_000, seed: 8, now: new Date('2026-11-01T00:00:00Z') });
    const small = createSalesforceApp(world, { ...CLIENT, dailyLimit: 40 });
    const smallServer = await createVendorServer(small);
    const guarded = await createRuntimeConnector(salesforce, {
      system: 'salesforce',
      options: {
        loginUrl: smallServer.url,
        auth: { type: 'refresh-token', ...CLIENT },
        quotaStopShare: 0.5,
        pageSize: 200,
      },
      logger: silentLogger,
    });
    try {
      let records = 0;
      const run = (async () => {
        for await (const page of guarded.read('Contact', null)) records += page.records.length;
      })();
      await expect(run).rejects.toMatchObject({ kind: 'quota_exhausted' });
      // 20 of 40 requests: one describe and 19 query pages, then the guard refuses the 21st call.
      expect(smallServer.dailyUsed()).toBe(20);
      expect(records).toBe(19 * 200);
      expect(guarded.quota().report).toMatchObject({ used: 20, limit: 40 });
      expect(guarded.quota().pausedUntil).toBeInstanceOf(Date);
      expect(smallServer.log.count({ vendor: 'salesforce', status: 403 })).toBe(0);
    } finally {
      await guarded.close();
      await smallServer.close();
    }
  });
});
