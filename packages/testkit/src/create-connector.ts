/**
 * `pnpm create-connector <name>`: scaffolds connectors/<name> with the contract (src/index.ts with TODOs),
 * package.json, tsconfig, vitest config, a README with setup / scopes / limits sections, and a
 * conformance test that fails with a clear message until its fixture is filled in.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CustodianError, formatError } from '@custodian/core';
import {
  conformanceTest,
  packageJson,
  readme,
  type ScaffoldNames,
  source,
  tsconfig,
  vitestConfig,
} from './scaffold-templates.js';

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function connectorNames(name: string): ScaffoldNames {
  if (!NAME.test(name) || name.length > 40)
    throw new CustodianError(
      'CUSTODIAN_ERR_SCAFFOLD_INVALID',
      `"${name}" is not a valid connector name: use lower-case letters, digits and single dashes, starting with a letter, at most 40 characters (e.g. pipedrive, company-db).`,
      { details: { name } },
    );
  return {
    id: name,
    title: name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => `${dash ? ' ' : ''}${c.toUpperCase()}`),
  };
}

/** Write connectors/<name> under `root` (the repository by default); returns the files written. */
export function scaffoldConnector(name: string, root: string = REPO_ROOT): string[] {
  const names = connectorNames(name);
  const dir = join(root, 'connectors', names.id);
  if (existsSync(dir))
    throw new CustodianError(
      'CUSTODIAN_ERR_SCAFFOLD_INVALID',
      `connectors/${names.id} already exists: nothing was written.`,
      {
        details: { dir },
      },
    );
  const files: Record<string, string> = {
    'package.json': packageJson(names),
    'tsconfig.json': tsconfig(),
    'vitest.config.ts': vitestConfig(names),
    'src/index.ts': source(names),
    'test/conformance.test.ts': conformanceTest(names),
    'README.md': readme(names),
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return Object.keys(files).map((f) => join(dir, f));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const name = process.argv[2] ?? '';
  try {
    if (!name) throw new CustodianError('CUSTODIAN_ERR_SCAFFOLD_INVALID', 'usage: pnpm create-connector <name>');
    const files = scaffoldConnector(name);
    console.log(`created connectors/${name}:`);
    for (const f of files) console.log(`  ${relative(REPO_ROOT, f)}`);
    console.log(
      `next: pnpm install, then fill in every TODO(create-connector) and run pnpm vitest run connectors/${name}`,
    );
  } catch (err) {
    console.error(formatError(err));
    process.exitCode = 2;
  }
}
