/**
 * Every test run gets one temp folder of its own: TMPDIR points into it for the test workers and every
 * process they start (CLIs, crash-test children, PGlite), and it is removed when the run ends. Tests
 * therefore never leave workspaces, ledgers or sandboxes behind on the machine, even when they fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'custodian-test-'));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
