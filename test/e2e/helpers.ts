/** Shared helpers for end-to-end tests: temp workspaces with a config, and running the real CLI. */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@custodian/cli';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TEST_SECRET = 'e2e-secret-0123456789abcdef0123456789abcdef';

export interface Workspace {
  dir: string;
  config: string;
  env: NodeJS.ProcessEnv;
}

/** A temp folder holding the quickstart lists and a config that points at them. */
export function quickstartWorkspace(extraYaml = ''): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-e2e-'));
  cpSync(join(repoRoot, 'examples/quickstart/lists'), join(dir, 'lists'), { recursive: true });
  const config = join(dir, 'custodian.config.yaml');
  writeFileSync(
    config,
    `tenant: e2e
ledger:
  dir: ./ledger
defaultCountry: DE
systems:
  - name: trade-fair
    connector: csv
    purposes: [sales]
    legalBasis: legitimate_interest
    options: { dir: ./lists, lists: [trade-fair-2025] }
  - name: newsletter
    connector: csv
    purposes: [marketing]
    legalBasis: consent
    options: { dir: ./lists, lists: [newsletter] }
${extraYaml}`,
  );
  return { dir, config, env: { ...process.env, CUSTODIAN_SECRET: TEST_SECRET } };
}

export function writeWorkspaceFile(ws: Workspace, name: string, content: string): string {
  const path = join(ws.dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/** Run the CLI in-process, capturing stdout; returns exit code and output. */
export async function cli(ws: Workspace, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runCli(['--config', ws.config, ...args], { env: ws.env });
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
}

/** Run the real CLI as a child process (tsx from source). */
export function spawnCli(
  ws: Workspace,
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'packages/cli/src/bin.ts'), '--config', ws.config, ...args],
    {
      cwd: repoRoot,
      env: { ...ws.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (res) => {
      child.on('exit', (code, signal) => res({ code, signal, stdout, stderr }));
    },
  );
  return { child, done };
}
