/** Shared helpers for end-to-end tests: temp workspaces with a config, and running the real CLI. */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@custodian/cli';
import type { Ledger } from '@custodian/core';
import { openLedger } from '@custodian/ledger';
import type { Sandbox } from '@custodian/sandbox';
import { expect } from 'vitest';

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

/**
 * Point the workspace's config at the sandbox's CRMs: `sections` go above `systems:` (e.g. a `requests:`
 * section), `moreSystems` are further `systems:` entries after the CRMs.
 */
export function writeSandboxConfig(
  ws: Workspace,
  sandbox: Sandbox,
  options: { sections?: string; moreSystems?: string } = {},
): void {
  writeFileSync(
    ws.config,
    `tenant: e2e
ledger:
  dir: ./ledger
defaultCountry: DE
${options.sections ?? ''}systems:
${sandbox
  .systemsConfig()
  .map((s) => `  - ${JSON.stringify(s)}`)
  .join('\n')}
${options.moreSystems ?? ''}`,
  );
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

/** The workspace's ledger, opened for the test's own reads and closed afterwards. */
export async function withLedger<T>(ws: Workspace, read: (ledger: Ledger) => Promise<T>): Promise<T> {
  const ledger = await openLedger({ dir: join(ws.dir, 'ledger'), tenant: 'e2e' });
  try {
    return await read(ledger);
  } finally {
    await ledger.close();
  }
}

/** Run the CLI as a child process that kills itself with SIGKILL at a step boundary (CUSTODIAN_TEST_CRASH_AT). */
export async function runKilledAt(ws: Workspace, args: string[], point: string): Promise<void> {
  const killed = await spawnCli(ws, args, { env: { CUSTODIAN_TEST_CRASH_AT: point } }).done;
  expect(killed.signal, `not killed at ${point}: exit ${killed.code} ${killed.stderr}`).toBe('SIGKILL');
}

export interface ResumedRequest {
  id: string;
  state: string;
  error: string | null;
}

/** `custodian requests resume` (in-process) after a crash: the ids open before it, and what it made of them. */
export async function resumeOpen(ws: Workspace): Promise<{ open: string[]; resumed: ResumedRequest[] }> {
  const listed = JSON.parse((await cli(ws, ['requests', '--json'])).stdout) as { requests: { id: string }[] };
  const res = await cli(ws, ['requests', 'resume', '--json']);
  expect(res.code, res.stderr).toBe(0);
  const { resumed } = JSON.parse(res.stdout) as { resumed: ResumedRequest[] };
  return { open: listed.requests.map((r) => r.id), resumed };
}
