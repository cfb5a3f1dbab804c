/** The testkit conformance suite against a fresh sandbox Salesforce org per check. */
import { createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { testConnector } from '@custodian/testkit';
// The sandbox package index exports the framework, not the vendor apps: the Salesforce app is reached by path.
import { createSalesforceApp } from '../../../packages/sandbox/src/salesforce/index.js';
import salesforce from '../src/index.js';

const CLIENT = {
  clientId: 'conformance-sf-client',
  clientSecret: 'conformance-sf-secret-3c9e',
  refreshToken: 'conformance-sf-refresh-0d4f',
};
const world = createSeedWorld({ people: 3000, seed: 5, now: new Date('2026-11-01T00:00:00Z') });

testConnector({
  connector: salesforce,
  system: 'salesforce',
  async fixture() {
    const app = createSalesforceApp(world, CLIENT);
    const server = await createVendorServer(app);
    const first = app.store.find(app.store.index('Contact')[0]?.id ?? '');
    return {
      // No lookback (a second read from the final checkpoint must return nothing); 500-record pages so every
      // stream has several page boundaries, many inside runs of equal SystemModstamp.
      options: { loginUrl: server.url, auth: { type: 'refresh-token', ...CLIENT }, lookbackMinutes: 0, pageSize: 500 },
      secrets: [CLIENT.clientSecret, CLIENT.refreshToken, String(first?.Email ?? 'unused@example.test')],
      cleanup: () => server.close(),
    };
  },
  // One describe per object, then one query call per page.
  callsPerPage: 2,
});
