/**
 * The faults group catches broken HTTP connectors: the example contact-store connector, sound, passes
 * it; wrapped so that it swallows a 401 (the catch-all that turns an auth failure into "no more data")
 * or never refreshes its token, it fails with a message that names the problem.
 */
import { type AnyConnectorDefinition, ConnectorError, defineConnector } from '@custodian/core';
import { describe, expect, it } from 'vitest';
import { DEMO_CLIENT, startContactStore } from '../../../examples/custom-connector/contact-store.js';
import contactStore from '../../../examples/custom-connector/my-connector.js';
import { type ConformanceInput, runCheck } from '../src/index.js';

type Flaw = 'swallow-401' | 'no-refresh';

function broken(flaw: Flaw): AnyConnectorDefinition {
  return defineConnector({
    ...contactStore,
    async setup(options, ctx) {
      const ops = await contactStore.setup(options, ctx);
      if (flaw === 'no-refresh') {
        const { onAuthExpired: _dropped, ...rest } = ops;
        return rest;
      }
      return {
        ...ops,
        async *read(stream, checkpoint, opCtx) {
          try {
            yield* ops.read(stream, checkpoint, opCtx);
          } catch (err) {
            // The flaw: an auth failure read as "nothing more to read".
            if (err instanceof ConnectorError && err.status === 401) return;
            throw err;
          }
        },
      };
    },
  });
}

const input = (connector: AnyConnectorDefinition): ConformanceInput => ({
  connector,
  async fixture(env) {
    const store = await startContactStore({ people: 200 });
    return {
      options: { baseUrl: await env.route(store.url), ...DEMO_CLIENT, pageSize: 40 },
      faults: { quota: { status: 429, body: { error: 'daily_quota_exhausted' } } },
      cleanup: () => store.close(),
    };
  },
});

describe('the faults group catches broken HTTP connectors', () => {
  it('the sound example connector passes every fault scenario', async () => {
    expect(await runCheck(input(contactStore), 'faults')).toEqual([]);
  });

  it('a swallowed 401', async () => {
    const messages = (await runCheck(input(broken('swallow-401')), 'faults')).map((p) => p.message);
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^a second 401: a 401 that persists after the refresh ended the read without an error \(40 of 120 records\): the connector swallowed the 401$/,
      ),
    );
  });

  it('a 401 that never refreshes the token', async () => {
    const messages = (await runCheck(input(broken('no-refresh')), 'faults')).map((p) => p.message);
    expect(messages).toContainEqual(
      '401 -> refresh: a 401 did not lead to a token request (drop the cached token in onAuthExpired)',
    );
  });

  it('a fixture that does not route through the fault proxy', async () => {
    const unrouted: ConformanceInput = {
      ...input(contactStore),
      async fixture() {
        const store = await startContactStore({ people: 10 });
        return { options: { baseUrl: store.url, ...DEMO_CLIENT }, cleanup: () => store.close() };
      },
    };
    expect((await runCheck(unrouted, 'faults'))[0]?.message).toMatch(/never routed its base URL through env\.route/);
  });
});
