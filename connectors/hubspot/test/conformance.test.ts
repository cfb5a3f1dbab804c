/** The testkit conformance suite against a fresh sandbox HubSpot portal per check. */
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { testConnector } from '@custodian/testkit';
// The sandbox package index exports the framework, not the vendor apps: the HubSpot app is reached by path.
import { createHubSpotApp } from '../../../packages/sandbox/src/hubspot/index.js';
import { type HsObjectType, modifiedProperty } from '../../../packages/sandbox/src/hubspot/seed.js';
import hubspot from '../src/index.js';

const CLIENT = {
  clientId: 'conformance-client',
  clientSecret: 'conformance-secret-5d2e',
  refreshToken: 'conformance-rt-9a1b',
};
const world = createSeedWorld({ people: 3000, seed: 5, now: new Date('2026-11-01T00:00:00Z') });

testConnector({
  connector: hubspot,
  system: 'hubspot',
  async fixture(env) {
    const app = createHubSpotApp(world, CLIENT);
    const server = await createVendorServer(app, { knobs: { rateLimits: false } });
    const first = [...app.objects('contacts').values()].find((r) => r.properties.email);
    return {
      options: {
        auth: { type: 'oauth', ...CLIENT },
        baseUrl: await env.route(server.url),
        searchLagSeconds: 0,
        lookbackMinutes: 0,
      },
      secrets: [CLIENT.clientSecret, CLIENT.refreshToken, String(first?.properties.email ?? 'unused@example.test')],
      // A bulk update: HubSpot stamps every record of it with one modification time.
      bulkModify: async (stream, count) => {
        const at = new Date(Date.now() - 2000).toISOString();
        const prop = modifiedProperty(stream);
        return [...app.objects(stream as HsObjectType).values()].slice(0, count).map((r) => {
          r.updatedAt = at;
          r.properties[prop] = at;
          return r.id;
        });
      },
      // https://developers.hubspot.com/docs/api/usage-details#error-responses (daily limit)
      faults: { quota: { status: 429, body: { status: 'error', errorType: 'RATE_LIMIT', policyName: 'DAILY' } } },
      cleanup: () => server.close(),
    };
  },
});
