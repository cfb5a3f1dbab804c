/**
 * The example runs from a config: the real CLI, in its own process, loads ./my-connector.ts through
 * `module:`, syncs the contact store into a throw-away ledger and finds a person in it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContactStore, DEMO_CLIENT, startContactStore } from '../contact-store.js';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(here, '../..');

function custodian(config: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'packages/cli/src/bin.ts'), '--config', config, ...args],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on('exit', (code) => done({ code, stdout, stderr })),
  );
}

describe('custodian.config.yaml with module: ./my-connector.ts', () => {
  let store: ContactStore;
  let dir: string;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    store = await startContactStore({ people: 120 });
    dir = mkdtempSync(join(tmpdir(), 'custom-connector-'));
    // The example's own config, with the ledger and secret moved to the temp folder and the module
    // path made absolute (the copy no longer sits next to my-connector.ts).
    const text = readFileSync(join(here, 'custodian.config.yaml'), 'utf8')
      .replace(/dir: .*custom-connector-ledger/, 'dir: ./ledger')
      .replace(/secretFile: .*/, 'secretFile: ./secret')
      .replace('module: ./my-connector.ts', `module: ${join(here, 'my-connector.ts')}`);
    config = join(dir, 'custodian.config.yaml');
    writeFileSync(config, text);
    env = {
      CONTACT_STORE_URL: store.url,
      CONTACT_STORE_CLIENT_SECRET: DEMO_CLIENT.clientSecret,
      CONTACT_STORE_REFRESH_TOKEN: DEMO_CLIENT.refreshToken,
      CUSTODIAN_SECRET: 'custom-connector-test-secret-0123456789abcdef',
    };
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs the contact store and finds a person in it', async () => {
    const sync = await custodian(config, ['sync', '--json'], env);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    const email = store.contacts.get('c00007')!.email!;
    const where = await custodian(config, ['where', email, '--json'], env);
    expect(where.code).toBe(0);
    expect(where.stdout).toContain('"contact-store"');
    expect(where.stdout).toContain('c00007');
    // Two CLI processes that each open an embedded ledger: slow on a loaded machine.
  }, 180_000);
});
