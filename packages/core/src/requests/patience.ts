/**
 * A rate-limit storm that outlasts the runtime's retries of one call is waited out a few more times at the
 * request level before the request parks: requests are not in a hurry, and every connector operation the
 * engine calls is safe to repeat (reads, and writes that are idempotent per ref).
 */
import { ConnectorError } from '../errors.js';
import type { RequestConnector } from './engine.js';

/** Extra waits after the runtime gave up on a rate-limited call, then the error goes up (and the request parks). */
export const PATIENCE_MS = [2_000, 4_000, 8_000] as const;

export async function patiently<T>(fn: () => Promise<T>, waits: readonly number[] = PATIENCE_MS): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ConnectorError) || err.kind !== 'rate_limited' || round >= waits.length) throw err;
      await new Promise((resolve) => setTimeout(resolve, waits[round]));
    }
  }
}

/** The same connector, each operation waited out through rate-limit storms. */
export function patientConnector(c: RequestConnector): RequestConnector {
  return {
    streams: c.streams,
    has: (capability) => c.has(capability),
    find: (identities) => patiently(() => c.find(identities)),
    get: (refs) => patiently(() => c.get(refs)),
    related: (persons) => patiently(() => c.related(persons)),
    erase: (refs, options) => patiently(() => c.erase(refs, options)),
    purge: (refs) => patiently(() => c.purge(refs)),
    verifyErased: (refs, identities) => patiently(() => c.verifyErased(refs, identities)),
    update: (changes) => patiently(() => c.update(changes)),
    setMarketingOptOut: (refs) => patiently(() => c.setMarketingOptOut(refs)),
  };
}
