/** The example contact-store connector as the testkit's sound HTTP subject, and a way to break it on purpose. */
import {
  type AnyConnectorDefinition,
  type Checkpoint,
  type ConnectorOperations,
  defineConnector,
  type OperationContext,
  type Page,
  type StreamDefinition,
} from '@custodian/core';
import { DEMO_CLIENT, startContactStore } from '../../../../examples/custom-connector/contact-store.js';
import contactStore from '../../../../examples/custom-connector/my-connector.js';
import type { ConformanceInput } from '../../src/index.js';

export { contactStore };

type Read = (stream: string, checkpoint: Checkpoint | null, ctx: OperationContext) => AsyncIterable<Page>;

/** The example connector with its operations (and optionally its streams) changed by `flaw`. */
export function broken(
  flaw: (ops: ConnectorOperations & { read: Read }) => ConnectorOperations,
  streams?: (declared: StreamDefinition[]) => StreamDefinition[],
): AnyConnectorDefinition {
  const declared = contactStore.streams as StreamDefinition[];
  return defineConnector({
    ...contactStore,
    streams: streams ? streams(declared) : declared,
    async setup(options, ctx) {
      return flaw(await contactStore.setup(options, ctx));
    },
  });
}

/** A fresh contact store per check, routed through the fault proxy, with ties and the quota answer staged. */
export const storeInput = (connector: AnyConnectorDefinition): ConformanceInput => ({
  connector,
  async fixture(env) {
    const store = await startContactStore({ people: 200 });
    return {
      options: { baseUrl: await env.route(store.url), ...DEMO_CLIENT, pageSize: 40 },
      bulkModify: async (_stream, count) => store.massUpdate(count),
      faults: { quota: { status: 429, body: { error: 'daily_quota_exhausted' } } },
      cleanup: () => store.close(),
    };
  },
});
