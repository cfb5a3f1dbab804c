/**
 * The faults group catches broken HTTP connectors: the example contact-store connector, sound, passes
 * it; wrapped so that it swallows a 401 (the catch-all that turns an auth failure into "no more data")
 * or never refreshes its token, it fails with a message that names the problem.
 */
import { ConnectorError } from '@custodian/core';
import { describe, expect, it } from 'vitest';
import { DEMO_CLIENT, startContactStore } from '../../../examples/custom-connector/contact-store.js';
import { type ConformanceInput, runCheck } from '../src/index.js';
import { broken, contactStore, storeInput } from './support/contact-store.js';

const swallows401 = broken((ops) => ({
  ...ops,
  async *read(stream, checkpoint, ctx) {
    try {
      yield* ops.read(stream, checkpoint, ctx);
    } catch (err) {
      // The flaw: an auth failure read as "nothing more to read".
      if (err instanceof ConnectorError && err.status === 401) return;
      throw err;
    }
  },
}));

const neverRefreshes = broken(({ onAuthExpired: _dropped, ...ops }) => ops);

describe('the faults group catches broken HTTP connectors', () => {
  it('the sound example connector passes every fault scenario', async () => {
    expect(await runCheck(storeInput(contactStore), 'faults')).toEqual([]);
  });

  it('a swallowed 401', async () => {
    const messages = (await runCheck(storeInput(swallows401), 'faults')).map((p) => p.message);
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^a second 401: a 401 that persists after the refresh ended the read without an error \(40 of 120 records\): the connector swallowed the 401$/,
      ),
    );
  });

  it('a 401 that never refreshes the token', async () => {
    const messages = (await runCheck(storeInput(neverRefreshes), 'faults')).map((p) => p.message);
    expect(messages).toContainEqual(
      '401 -> refresh: a 401 did not lead to a token request (drop the cached token in onAuthExpired)',
    );
  });

  it('a fixture that does not route through the fault proxy', async () => {
    const unrouted: ConformanceInput = {
      ...storeInput(contactStore),
      async fixture() {
        const store = await startContactStore({ people: 10 });
        return { options: { baseUrl: store.url, ...DEMO_CLIENT }, cleanup: () => store.close() };
      },
    };
    expect((await runCheck(unrouted, 'faults'))[0]?.message).toMatch(/never routed its base URL through env\.route/);
  });
});
