/**
 * Everything a command needs, opened once and lazily: config, logger, subject keyer, ledger and runtime
 * connectors. Commands never open resources themselves, so each is closed exactly once.
 */
import {
  CustodianError,
  createLogger,
  createRuntimeConnector,
  createSubjectKeyer,
  type Ledger,
  type Logger,
  type RuntimeConnector,
  type SubjectKeyer,
  type SyncSystem,
} from '@custodian/core';
import { openLedger } from '@custodian/ledger';
import { type CustodianConfig, type LoadedConfig, loadConfig, type SystemConfig } from './config.js';
import { loadConnector } from './connectors.js';
import { loadSecret } from './secret.js';

export interface AppContext {
  loaded: LoadedConfig;
  config: CustodianConfig;
  log: Logger;
  keyer(): SubjectKeyer;
  ledger(): Promise<Ledger>;
  connector(system: string): Promise<RuntimeConnector>;
  /** Configured systems, optionally only the named ones (unknown names are an error). */
  systems(names?: string[]): SystemConfig[];
  syncSystems(names?: string[]): Promise<SyncSystem[]>;
  close(): Promise<void>;
}

export interface OpenContextOptions {
  configPath: string;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export function databaseUrlFor(config: CustodianConfig, env: NodeJS.ProcessEnv): string | undefined {
  return env.DATABASE_URL || config.ledger.databaseUrl || undefined;
}

export async function openContext(options: OpenContextOptions): Promise<AppContext> {
  const env = options.env ?? process.env;
  const loaded = loadConfig(options.configPath, env);
  const { config } = loaded;
  const log = options.log ?? createLogger({ base: { tenant: config.tenant } });
  let keyer: SubjectKeyer | null = null;
  let ledger: Promise<Ledger> | null = null;
  const connectors = new Map<string, Promise<RuntimeConnector>>();

  const systems = (names?: string[]): SystemConfig[] => {
    if (!names || names.length === 0) return config.systems;
    const unknown = names.filter((n) => !config.systems.some((s) => s.name === n));
    if (unknown.length > 0) {
      throw new CustodianError(
        'CUSTODIAN_ERR_SYSTEM_UNKNOWN',
        `Unknown system(s): ${unknown.join(', ')}; configured: ${config.systems.map((s) => s.name).join(', ')}.`,
      );
    }
    return config.systems.filter((s) => names.includes(s.name));
  };

  const ctx: AppContext = {
    loaded,
    config,
    log,
    keyer() {
      keyer ??= createSubjectKeyer(loadSecret(config.secretFile, env));
      return keyer;
    },
    ledger() {
      ledger ??= openLedger({
        databaseUrl: databaseUrlFor(config, env),
        dir: config.ledger.dir,
        tenant: config.tenant,
        logger: log,
      });
      return ledger;
    },
    connector(name) {
      let existing = connectors.get(name);
      if (!existing) {
        const system = systems([name])[0]!;
        existing = (async () => {
          const definition = await loadConnector(system.connector, system.module);
          return createRuntimeConnector(definition, {
            system: system.name,
            options: system.options,
            logger: log.child({ system: system.name }),
            onPause: async (_system, until) => {
              await (await ctx.ledger()).setSystemPause(system.name, until.toISOString());
            },
          });
        })();
        connectors.set(name, existing);
      }
      return existing;
    },
    systems,
    async syncSystems(names) {
      return Promise.all(
        systems(names).map(async (s) => ({
          name: s.name,
          connectorId: s.connector,
          purposes: s.purposes,
          legalBasis: s.legalBasis,
          connector: await ctx.connector(s.name),
        })),
      );
    },
    async close() {
      for (const c of connectors.values()) await (await c.catch(() => null))?.close();
      if (ledger) await (await ledger.catch(() => null))?.close();
    },
  };
  return ctx;
}
