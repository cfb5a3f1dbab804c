/**
 * The HubSpot look-alike for the HubSpot bench, in its own thread: the bench's client (SDK parsing, mapping)
 * and the look-alike then run on separate event loops, so the time a request reaches the look-alike's rate
 * windows does not wait for the client's CPU work, as it would against HubSpot itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequestLog, createSeedWorld, createVendorServer } from '@custodian/sandbox';
import { createHubSpotApp, type HubSpotAppOptions } from '../../packages/sandbox/src/hubspot/index.js';

const { people, seed, app: appOptions } = workerData as { people: number; seed: number; app: HubSpotAppOptions };
const world = createSeedWorld({ people, seed, now: new Date('2026-11-01T00:00:00Z') });
const app = createHubSpotApp(world, appOptions);
const log = createRequestLog({ maxEntries: 100_000 });
const server = await createVendorServer(app, { knobs: { rateLimits: true }, log });

parentPort?.on('message', async (message: 'entries' | 'reset' | 'close') => {
  if (message === 'entries') parentPort?.postMessage({ entries: log.entries() });
  if (message === 'reset') {
    log.reset();
    parentPort?.postMessage({ reset: true });
  }
  if (message === 'close') {
    await server.close();
    parentPort?.close();
  }
});
parentPort?.postMessage({ url: server.url, contactIds: [...app.objects('contacts').keys()] });
