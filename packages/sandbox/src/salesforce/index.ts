import type { SeedWorld } from '../kit/seed-types.js';
import type { VendorApp } from '../kit/types.js';

export interface SalesforceAppOptions {
  /** Client credentials the OAuth endpoint accepts. */
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
}

/** Placeholder until the Salesforce look-alike lands (owned by the salesforce connector work). */
export function createSalesforceApp(_world: SeedWorld, _options: SalesforceAppOptions = {}): VendorApp {
  throw new Error(
    'The Salesforce look-alike is not in this build yet: start the sandbox with vendors: ["hubspot", "zoho"].',
  );
}
