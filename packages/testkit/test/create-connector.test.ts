/**
 * `pnpm create-connector <name>`: the scaffold type-checks as written, its conformance test fails with
 * the intended message (not a skip), and bad names or an existing folder get a coded error and write nothing.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, scaffoldConnector } from '../src/create-connector.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'create-connector-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A throw-away "repository": the base tsconfig and the packages a scaffold needs, linked from this one. */
function linkWorkspace(dir: string) {
  cpSync(join(REPO_ROOT, 'tsconfig.base.json'), join(dir, 'tsconfig.base.json'));
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@custodian'), { recursive: true });
  const testkitModules = join(REPO_ROOT, 'packages/testkit/node_modules');
  symlinkSync(join(REPO_ROOT, 'packages/core'), join(modules, '@custodian/core'));
  symlinkSync(join(REPO_ROOT, 'packages/testkit'), join(modules, '@custodian/testkit'));
  for (const dep of ['zod', 'vitest', '@types', 'typescript'])
    symlinkSync(join(testkitModules, dep), join(modules, dep));
}

describe('create-connector', () => {
  it('scaffolds a connector that type-checks and a conformance test that fails until filled in', () => {
    const files = scaffoldConnector('acme-crm', root);
    const dir = join(root, 'connectors/acme-crm');
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      'README.md',
      'package.json',
      'src/index.ts',
      'test/conformance.test.ts',
      'tsconfig.json',
      'vitest.config.ts',
    ]);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    for (const section of ['## Setup', '## Scopes', '## Limits']) expect(readme).toContain(section);
    expect(readFileSync(join(dir, 'src/index.ts'), 'utf8')).toContain("id: 'acme-crm'");
    linkWorkspace(root);

    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', dir], {
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    const vitest = spawnSync(
      process.execPath,
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--reporter', 'verbose'],
      { encoding: 'utf8', cwd: dir, env: { ...process.env, CI: '1', NO_COLOR: '1' } },
    );
    const out = vitest.stdout + vitest.stderr;
    expect(vitest.status).toBe(1);
    expect(out).toContain(
      'TODO(create-connector): the acme-crm conformance fixture is not filled in yet: edit connectors/acme-crm/test/conformance.test.ts',
    );
    expect(out).not.toMatch(/skipped/i);
    // tsc and vitest in their own processes: slow on a loaded machine.
  }, 180_000);

  it.each([
    ['Acme', /"Acme" is not a valid connector name/],
    ['acme_crm', /"acme_crm" is not a valid connector name/],
    ['acme--crm', /not a valid connector name/],
    ['../evil', /not a valid connector name/],
    ['', /not a valid connector name/],
  ])('refuses the name %j with a coded error', (name, message) => {
    expect(() => scaffoldConnector(name, root)).toThrow(message);
    expect(() => scaffoldConnector(name, root)).toThrow(
      expect.objectContaining({ code: 'CUSTODIAN_ERR_SCAFFOLD_INVALID' }),
    );
    expect(existsSync(join(root, 'connectors'))).toBe(false);
  });

  it('refuses an existing folder and leaves it untouched', () => {
    scaffoldConnector('acme', root);
    const before = readdirSync(join(root, 'connectors/acme')).sort();
    expect(() => scaffoldConnector('acme', root)).toThrow(
      expect.objectContaining({
        code: 'CUSTODIAN_ERR_SCAFFOLD_INVALID',
        message: 'connectors/acme already exists: nothing was written.',
      }),
    );
    expect(readdirSync(join(root, 'connectors/acme')).sort()).toEqual(before);
  });
});
