/** The HubSpot look-alike at a million people: served from the seed on demand, only changes kept. */
import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/models/Filter.js';
import { describe, expect, it } from 'vitest';
import { createHubSpotApp } from '../src/hubspot/index.js';
import { createVendorServer } from '../src/kit/server.js';
import { createSeedWorld } from '../src/seed/world.js';

describe('HubSpot look-alike at 1,000,000 people', () => {
  it('serves a contact by id, a list page and a search page without building the portal', {
    timeout: 300_000,
  }, async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const world = createSeedWorld({ people: 1_000_000, seed: 9, now: new Date('2026-11-01T00:00:00Z') });
    const app = createHubSpotApp(world, { privateAppTokens: ['pat-1m'] });
    const server = await createVendorServer(app, { knobs: { rateLimits: false } });
    try {
      const client = new Client({ basePath: server.url, accessToken: 'pat-1m', numberOfApiCallRetries: 0 });
      const last = [...world.indexesIn('hubspot')].at(-1) as number;
      const lastId = String(100_000 + 2 * last);

      // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-read
      const read = await client.crm.contacts.batchApi.read({
        inputs: [{ id: lastId }],
        properties: ['email'],
        propertiesWithHistory: [],
      });
      expect(read.results.map((r) => r.id)).toEqual([lastId]);
      expect(read.results[0]?.properties.email).toBe(world.person(last).email);

      // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts
      const from = String(100_000 + 2 * 500_000);
      const page = await client.crm.contacts.basicApi.getPage(100, from, ['email']);
      const ids = page.results.map((r) => Number(r.id));
      expect(ids).toHaveLength(100);
      expect(ids[0]).toBeGreaterThanOrEqual(Number(from));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(Number(page.paging?.next?.after)).toBeGreaterThan(ids.at(-1) as number);

      // https://developers.hubspot.com/docs/api-reference/search/guide
      const since = Date.parse('2026-10-01T00:00:00Z');
      const search = () =>
        client.crm.contacts.searchApi.doSearch({
          filterGroups: [
            { filters: [{ propertyName: 'lastmodifieddate', operator: FilterOperatorEnum.Gte, value: String(since) }] },
          ],
          sorts: ['lastmodifieddate'],
          properties: ['email'],
          limit: 100,
          after: '0',
        });
      const found = await search();
      expect(found.total).toBeGreaterThan(100);
      const stamps = found.results.map((r) => Date.parse(r.properties.lastmodifieddate as string));
      expect(stamps.every((t) => t >= since)).toBe(true);
      expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
      expect(app.store.overlaySize()).toEqual({ changed: 0, erased: 0 });

      // A write moves the record in the index: it is now the last modified, and only it sits in the overlay.
      await client.crm.contacts.batchApi.update({ inputs: [{ id: lastId, properties: { jobtitle: 'Auditor' } }] });
      const justNow = String(Date.now() - 60_000);
      const newest = await client.crm.contacts.searchApi.doSearch({
        filterGroups: [
          { filters: [{ propertyName: 'lastmodifieddate', operator: FilterOperatorEnum.Gte, value: justNow }] },
        ],
        sorts: ['lastmodifieddate'],
        properties: ['jobtitle'],
        limit: 10,
        after: '0',
      });
      expect(newest.results.map((r) => [r.id, r.properties.jobtitle])).toEqual([[lastId, 'Auditor']]);
      expect((await search()).total).toBe(found.total + 1);
      expect(app.store.overlaySize()).toEqual({ changed: 1, erased: 0 });

      // Bounded: the seed's bits, the (time, id) index of numbers and a few pages, never a million records.
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(400 * 1024 * 1024);
    } finally {
      await server.close();
    }
  });
});
