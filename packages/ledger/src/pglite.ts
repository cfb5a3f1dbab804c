/**
 * Starting embedded PGlite within a bounded memory budget. PGlite is PostgreSQL compiled to WASM: its heap
 * only grows, and it starts at the module's 128 MB minimum.
 * - PostgreSQL's shared buffers live in that heap; the 128 MB default would push it past 250 MB, so they are
 *   cut to 32 MB (the ledger's page commits touch index pages of the current page's keys, not the whole table).
 * - A new folder needs initdb, which PGlite runs as a second WASM instance of ~400 MB that V8 never hands back
 *   to the OS. It runs in a short-lived child process instead, so a first sync does not carry it to the end.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';

export const PGLITE_SHARED_BUFFERS = '32MB';

function startParams(): string[] {
  // PGlite.defaultStartParams is a static the type declarations leave out; its flags (single-user mode, no
  // fsync, no parallel workers) must stay.
  const defaults = (PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams;
  return [
    ...defaults,
    '-c',
    `shared_buffers=${PGLITE_SHARED_BUFFERS}`,
    ...(process.env.PGX ? process.env.PGX.split(' ') : []),
  ];
}

/** Runs initdb for `dir` in a child process (see above); a folder that already holds a cluster is left alone. */
async function initFolder(dir: string): Promise<void> {
  if (existsSync(join(dir, 'PG_VERSION'))) return;
  const pglite = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const script = `const { PGlite } = await import(${JSON.stringify(pglite)});
const db = await PGlite.create(${JSON.stringify(dir)});
await db.close();`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000 });
}

/**
 * Opens PGlite in a folder (created if needed) or, without one, in memory (tests). In memory the data files
 * themselves live in the JS heap, so a small buffer cache would save nothing and cost copies: defaults there.
 */
export async function startPglite(dir: string | null): Promise<PGlite> {
  if (!dir) return PGlite.create();
  await initFolder(dir);
  return PGlite.create(dir, { startParams: startParams() });
}
