/**
 * Connector registry: the built-in connectors by id, plus custom connectors loaded from a module path in
 * the config. Imports are lazy so a command only loads the SDKs it needs.
 */
import { pathToFileURL } from 'node:url';
import { type AnyConnectorDefinition, CustodianError } from '@custodian/core';

const BUILTIN: Record<string, () => Promise<unknown>> = {
  csv: () => import('@custodian/connector-csv'),
  hubspot: () => import('@custodian/connector-hubspot'),
  salesforce: () => import('@custodian/connector-salesforce'),
  zoho: () => import('@custodian/connector-zoho'),
};

export const BUILTIN_CONNECTORS = Object.keys(BUILTIN);

function isDefinition(value: unknown): value is AnyConnectorDefinition {
  const v = value as Partial<AnyConnectorDefinition> | null;
  return (
    !!v && typeof v.id === 'string' && typeof v.setup === 'function' && typeof v.options === 'object' && !!v.streams
  );
}

export async function loadConnector(id: string, modulePath?: string): Promise<AnyConnectorDefinition> {
  const load = modulePath ? () => import(pathToFileURL(modulePath).href) : BUILTIN[id];
  if (!load) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONNECTOR_UNKNOWN',
      `Unknown connector "${id}"; installed: ${BUILTIN_CONNECTORS.join(', ')}.`,
      {
        hint: 'Use an installed connector id, or give `module:` with the path to a custom connector.',
      },
    );
  }
  let mod: { default?: unknown };
  try {
    mod = (await load()) as { default?: unknown };
  } catch (cause) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONNECTOR_INVALID',
      `Connector "${id}" could not be loaded${modulePath ? ` from ${modulePath}` : ''}.`,
      {
        cause,
      },
    );
  }
  if (!isDefinition(mod.default)) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONNECTOR_INVALID',
      `Connector "${id}"${modulePath ? ` (${modulePath})` : ''} has no default export made with defineConnector({...}).`,
    );
  }
  if (mod.default.id !== id) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONNECTOR_INVALID',
      `Module for connector "${id}" exports connector "${mod.default.id}".`,
    );
  }
  return mod.default;
}
