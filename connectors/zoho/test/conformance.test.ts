/** The testkit conformance suite against a fresh sandbox Zoho org per check. */

import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { testConnector } from '@custodian/testkit';
// The sandbox package index exports the framework, not the vendor apps: the Zoho app is reached by path.
import { createZohoApp } from '../../../packages/sandbox/src/zoho/index.js';
import zoho from '../src/index.js';

const CLIENT = {
  clientId: '1000.CONFORMANCE',
  clientSecret: 'conformance-secret-7f3a',
  refreshToken: '1000.conformance-refresh-91c2',
};
const world = createSeedWorld({ people: 8000, seed: 5, now: new Date('2026-11-01T00:00:00Z') });

testConnector({
  connector: zoho,
  system: 'zoho',
  async fixture(env) {
    let frozen: Date | null = null;
    const app = createZohoApp(world, { ...CLIENT, now: () => frozen ?? new Date() });
    const server = await createVendorServer(app);
    const url = await env.route(server.url);
    const first = app.store.get(app.store.sortedIndex('Contacts')[0]?.id ?? '');
    return {
      options: { dataCentre: 'eu', apiBaseUrl: url, accountsUrl: url, ...CLIENT },
      secrets: [CLIENT.clientSecret, CLIENT.refreshToken, String(first?.Email ?? 'unused@example.test')],
      // A mass update: Zoho stamps every record of it with one Modified_Time.
      bulkModify: async (stream, count) => {
        frozen = new Date(Date.now() - 2000);
        const touched = app.store
          .sortedIndex(stream as Parameters<typeof app.store.sortedIndex>[0])
          .slice(0, count)
          .map(({ id }) => app.store.update(id, {})?.id);
        frozen = null;
        return touched.filter((id): id is string => !!id);
      },
      // https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html (credits used up)
      faults: {
        quota: { status: 429, headers: { 'x-api-credits-remaining': '0' }, body: { code: 'LIMIT_EXCEEDED' } },
      },
      cleanup: () => server.close(),
    };
  },
  // Two `fields` chunks per page (the modules have more than 50 fields), plus metadata and the deleted feed.
  callsPerPage: 3,
});
