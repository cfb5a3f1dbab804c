/**
 * startSandbox: one seeded world, the three vendor look-alikes on loopback, shared request log,
 * fixed sandbox credentials and a ready `systems:` block for custodian.config.yaml.
 */
import { z } from 'zod';
import { createHubSpotApp } from './hubspot/index.js';
import { createRequestLog, type RequestLog } from './kit/request-log.js';
import type { PlantedReport, SeedWorld } from './kit/seed-types.js';
import { createVendorServer, type VendorServer } from './kit/server.js';
import { type FaultKnobs, VENDORS, type VendorApp, type VendorName } from './kit/types.js';
import { createSalesforceApp } from './salesforce/index.js';
import { createSeedWorld, DECLARED_LEGAL_BASIS, DECLARED_PURPOSES } from './seed/world.js';
import { createZohoApp } from './zoho/index.js';

export interface SandboxCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** Fixed credentials: the sandbox is not a secret store, and fixed values keep configs reproducible. */
export const SANDBOX_CREDENTIALS: Record<VendorName, SandboxCredentials> = {
  hubspot: {
    clientId: 'sandbox-hubspot-client',
    clientSecret: 'sandbox-hubspot-secret',
    refreshToken: 'sandbox-refresh-hubspot',
  },
  salesforce: {
    clientId: 'sandbox-salesforce-client',
    clientSecret: 'sandbox-salesforce-secret',
    refreshToken: 'sandbox-refresh-salesforce',
  },
  zoho: { clientId: 'sandbox-zoho-client', clientSecret: 'sandbox-zoho-secret', refreshToken: 'sandbox-refresh-zoho' },
};

/** System names used in the ready config, per vendor. */
export const SANDBOX_SYSTEM_NAMES: Record<VendorName, string> = {
  hubspot: 'hubspot',
  salesforce: 'salesforce',
  zoho: 'zoho-crm',
};

export type VendorAppFactory = (world: SeedWorld, credentials: SandboxCredentials) => VendorApp;

const DEFAULT_FACTORIES: Record<VendorName, VendorAppFactory> = {
  hubspot: (world, c) => createHubSpotApp(world, c),
  salesforce: (world, c) => createSalesforceApp(world, c),
  zoho: (world, c) => createZohoApp(world, c),
};

export interface SandboxOptions {
  /** People in the seeded world (default 3000). */
  people?: number;
  seed?: number;
  /** Vendors to start (default all three). */
  vendors?: VendorName[];
  knobs?: Partial<Record<VendorName, Partial<FaultKnobs>>>;
  ports?: Partial<Record<VendorName, number>>;
  /** Replace a vendor app factory (tests of the framework itself). */
  factories?: Partial<Record<VendorName, VendorAppFactory>>;
  /** Cap of request-log entries kept as objects (counts are always complete). */
  maxLogEntries?: number;
}

export interface SystemConfigEntry {
  name: string;
  connector: VendorName;
  purposes: string[];
  legalBasis: string;
  options: Record<string, unknown>;
}

export interface Sandbox {
  world: SeedWorld;
  planted: PlantedReport;
  urls: Partial<Record<VendorName, string>>;
  servers: Partial<Record<VendorName, VendorServer>>;
  credentials: Record<VendorName, SandboxCredentials>;
  log: RequestLog;
  knobs(vendor: VendorName): FaultKnobs;
  setKnobs(vendor: VendorName, partial: Partial<FaultKnobs>): void;
  /** The `systems:` entries of a ready custodian.config.yaml pointing at these servers. */
  systemsConfig(): SystemConfigEntry[];
  stop(): Promise<void>;
}

const optionsSchema = z.object({
  people: z.number().int().min(1).default(3000),
  seed: z.number().int().default(42),
  vendors: z.array(z.enum(VENDORS as [VendorName, ...VendorName[]])).default([...VENDORS]),
  maxLogEntries: z.number().int().positive().optional(),
});

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const parsed = optionsSchema.parse({
    people: options.people,
    seed: options.seed,
    vendors: options.vendors,
    maxLogEntries: options.maxLogEntries,
  });
  const world = createSeedWorld({ people: parsed.people, seed: parsed.seed });
  const log = createRequestLog({ maxEntries: parsed.maxLogEntries });
  const servers: Partial<Record<VendorName, VendorServer>> = {};
  const urls: Partial<Record<VendorName, string>> = {};
  try {
    for (const vendor of parsed.vendors) {
      const factory = options.factories?.[vendor] ?? DEFAULT_FACTORIES[vendor];
      const app = factory(world, SANDBOX_CREDENTIALS[vendor]);
      const server = await createVendorServer(app, {
        port: options.ports?.[vendor],
        knobs: options.knobs?.[vendor],
        log,
      });
      servers[vendor] = server;
      urls[vendor] = server.url;
    }
  } catch (error) {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    throw error;
  }

  const serverOf = (vendor: VendorName): VendorServer => {
    const server = servers[vendor];
    if (!server)
      throw new RangeError(`sandbox vendor ${vendor} is not running (started: ${parsed.vendors.join(', ')})`);
    return server;
  };

  return {
    world,
    get planted() {
      return world.planted();
    },
    urls,
    servers,
    credentials: SANDBOX_CREDENTIALS,
    log,
    knobs: (vendor) => serverOf(vendor).knobs,
    setKnobs: (vendor, partial) => serverOf(vendor).setKnobs(partial),
    systemsConfig() {
      return parsed.vendors.map((vendor) => {
        const baseUrl = serverOf(vendor).url;
        const credentials = SANDBOX_CREDENTIALS[vendor];
        const vendorOptions: Record<string, unknown> =
          vendor === 'zoho'
            ? { dataCentre: 'eu', apiBaseUrl: baseUrl, accountsUrl: baseUrl }
            : vendor === 'salesforce'
              ? {
                  instanceUrl: baseUrl,
                  loginUrl: baseUrl,
                  auth: {
                    type: 'refresh-token',
                    clientId: credentials.clientId,
                    clientSecret: credentials.clientSecret,
                    refreshToken: credentials.refreshToken,
                  },
                }
              : {
                  auth: {
                    type: 'oauth',
                    clientId: credentials.clientId,
                    clientSecret: credentials.clientSecret,
                    refreshToken: credentials.refreshToken,
                  },
                };
        return {
          name: SANDBOX_SYSTEM_NAMES[vendor],
          connector: vendor,
          purposes: [...DECLARED_PURPOSES[vendor]],
          legalBasis: DECLARED_LEGAL_BASIS[vendor],
          options: { baseUrl, credentials: { ...credentials }, ...credentials, ...vendorOptions },
        };
      });
    },
    stop: async () => {
      await Promise.all(Object.values(servers).map((s) => s.close()));
    },
  };
}
