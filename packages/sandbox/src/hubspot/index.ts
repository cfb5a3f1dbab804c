import type { SeedWorld } from '../kit/seed-types.js';
import type { VendorApp } from '../kit/types.js';

export interface HubSpotAppOptions {
  /** Client credentials the OAuth endpoint accepts. */
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
}

/** Placeholder until the HubSpot look-alike lands (owned by the hubspot connector work). */
export function createHubSpotApp(_world: SeedWorld, _options: HubSpotAppOptions = {}): VendorApp {
  throw new Error('hubspot sandbox app not implemented yet');
}
