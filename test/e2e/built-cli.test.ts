/**
 * The built CLI (`pnpm build`: one bundled file run through its shebang with the production Node flags) does
 * what the source does: a sync of the quickstart lists into a new embedded ledger, then `where`.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, NODE_FLAGS } from '../../scripts/build.mjs';
import { quickstartWorkspace, repoRoot } from './helpers.js';

// Next to where `pnpm build` writes, so the bundle finds PGlite as the CLI package's dependency.
const built = join(repoRoot, 'packages/cli/dist', `custodian-test-${process.pid}.mjs`);
const run = promisify(execFile);

beforeAll(async () => {
  await bundle(join(repoRoot, 'packages/cli/src/bin.ts'), built);
}, 60_000);

afterAll(() => rmSync(built, { force: true }));

describe('the built CLI', () => {
  it('starts with the production Node flags from its shebang', () => {
    expect(readFileSync(built, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  });

  it('syncs the quickstart lists into a new ledger and finds a person in both', async () => {
    const ws = quickstartWorkspace();
    const env = { ...process.env, ...ws.env };
    const synced = await run(built, ['--config', ws.config, 'sync', '--json'], { env });
    const systems = (JSON.parse(synced.stdout) as { sync: { systems: { system: string; inserted: number }[] } }).sync
      .systems;
    expect(systems.map((s) => [s.system, s.inserted])).toEqual([
      ['trade-fair', 260],
      ['newsletter', 260],
    ]);
    const line = readFileSync(join(ws.dir, 'lists/newsletter.csv'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('nl-150,'))!;
    const where = await run(built, ['--config', ws.config, 'where', line.split(',')[1]!, '--json'], { env });
    const records = (JSON.parse(where.stdout) as { records: { system: string; id: string }[] }).records;
    expect(records.map((r) => `${r.system}:${r.id}`).sort()).toEqual(['newsletter:nl-150', 'trade-fair:tf-150']);
  }, 60_000);
});
