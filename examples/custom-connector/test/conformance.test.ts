/** The shared conformance suite, faults included, against a fresh contact store per check. */
import { testConnector } from '@custodian/testkit';
import { DEMO_CLIENT, startContactStore } from '../contact-store.js';
import connector from '../my-connector.js';

testConnector({
  connector,
  async fixture(env) {
    const store = await startContactStore({ people: 250 });
    return {
      options: { baseUrl: await env.route(store.url), ...DEMO_CLIENT, pageSize: 50 },
      secrets: [DEMO_CLIENT.clientSecret, DEMO_CLIENT.refreshToken, store.contacts.get('c00000')!.email!],
      bulkModify: async (_stream, count) => store.massUpdate(count),
      faults: { quota: { status: 429, body: { error: 'daily_quota_exhausted' } } },
      cleanup: () => store.close(),
    };
  },
  // One change-feed request per page.
  callsPerPage: 1,
});
