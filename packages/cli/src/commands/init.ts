/** `custodian init`: a commented starter config and the tenant secret (mode 0600). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustodianError, STARTER_POLICIES_YAML } from '@custodian/core';
import { printJson, say } from '../output.js';
import { createSecretFile } from '../secret.js';

export interface InitOptions {
  config: string;
  force?: boolean;
  json?: boolean;
}

export function starterConfig(): string {
  return `# Custodian configuration. Docs: README.md#configuration
# Secrets: write \${ENV_VAR} references, never the secret itself.
version: 1
tenant: default
secretFile: .custodian/secret      # or set CUSTODIAN_SECRET
ledger:
  dir: .custodian/ledger           # embedded; set DATABASE_URL to use PostgreSQL
defaultCountry: DE                 # for phone numbers written without +country code

systems:
  # A folder of CSV sales lists (one file per list).
  - name: sales-lists
    connector: csv
    purposes: [sales]
    legalBasis: legitimate_interest
    options:
      dir: ./lists
  # - name: hubspot-eu
  #   connector: hubspot
  #   purposes: [marketing, sales]
  #   legalBasis: consent
  #   options:
  #     auth: { type: private-app, accessToken: \${HUBSPOT_TOKEN} }
  #     tier: professional

${STARTER_POLICIES_YAML}
`;
}

export function initCommand(options: InitOptions): number {
  const configPath = resolve(options.config);
  if (existsSync(configPath) && !options.force) {
    throw new CustodianError('CUSTODIAN_ERR_INPUT_INVALID', `${configPath} already exists.`, {
      hint: 'Pass --force to overwrite it (the secret file is never overwritten).',
    });
  }
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileSync(configPath, starterConfig());
  const secretFile = resolve(dirname(configPath), '.custodian/secret');
  const createdSecret = createSecretFile(secretFile);
  if (options.json) {
    printJson({ config: configPath, secretFile, createdSecret });
  } else {
    say(`wrote ${configPath}`);
    say(createdSecret ? `created ${secretFile} (mode 0600)` : `kept existing ${secretFile}`);
    say('next: edit the systems, then run `custodian doctor` and `custodian sync`');
  }
  return 0;
}
