import type { SeedWorld } from '../kit/seed-types.js';
import type { VendorApp } from '../kit/types.js';

export interface ZohoAppOptions {
  /** Client credentials the OAuth endpoint accepts. */
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
}

/** Placeholder until the Zoho look-alike lands (owned by the zoho connector work). */
export function createZohoApp(_world: SeedWorld, _options: ZohoAppOptions = {}): VendorApp {
  throw new Error('zoho sandbox app not implemented yet');
}
