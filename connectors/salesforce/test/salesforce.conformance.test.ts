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
  async fixture(env) {
    // A clock the fixture can hold still, so a bulk update stamps every row with one SystemModstamp.
    let frozen: Date | null = null;
    const app = createSalesforceApp(world, { ...CLIENT, now: () => frozen ?? new Date() });
    const server = await createVendorServer(app);
    const first = app.store.find(app.store.index('Contact')[0]?.id ?? '');
    return {
      // No lookback (a second read from the final checkpoint must return nothing); 500-record pages so every
      // stream has several page boundaries, many inside runs of equal SystemModstamp.
      options: {
        loginUrl: await env.route(server.url),
        auth: { type: 'refresh-token', ...CLIENT },
        lookbackMinutes: 0,
        pageSize: 500,
      },
      secrets: [CLIENT.clientSecret, CLIENT.refreshToken, String(first?.Email ?? 'unused@example.test')],
      // A data-loader update: Salesforce stamps every row of the batch with the same SystemModstamp.
      bulkModify: async (stream, count) => {
        const object = stream as Parameters<typeof app.store.index>[0];
        frozen = new Date(Date.now() - 2000);
        try {
          return app.store
            .index(object)
            .slice(0, count)
            .map((e) => e.id)
            .filter((id) => app.store.update(id, {}) !== null);
        } finally {
          frozen = null;
        }
      },
      // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
      faults: {
        quota: {
          status: 403,
          body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
        },
        unauthorized: {
          status: 401,
          body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
        },
      },
      cleanup: () => server.close(),
    };
  },
  // One describe per object, then one query call per page.
  callsPerPage: 2,
});
