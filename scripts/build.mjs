#!/usr/bin/env node
/**
 * Builds the CLI into one ESM file, packages/cli/dist/custodian.mjs, run directly (`./custodian.mjs sync`)
 * or through the package's `custodian` bin.
 *
 * Why a bundle: from source, tsx compiles on a module-loader thread of its own (a second V8 isolate) that
 * costs ~80 MB of RSS for the life of the process, and a sync of 1M records must stay under 300 MB.
 * PGlite stays external: it loads its WASM and data files from its own package folder; the ledger's database
 * thread (pglite-worker.mjs) is copied next to the bundle.
 *
 * Why these Node flags (in the file's shebang): the sync's live heap is small (one page of records), but V8
 * grows the old generation far beyond it while garbage is cheap to keep; a 128 MB ceiling makes it collect
 * instead. One V8 worker thread is enough on the small machines Custodian runs on and saves their stacks
 * and heaps. Override with NODE_OPTIONS where a tenant needs more.
 */
import { chmodSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The flags every built entry point runs with; the sync bench runs its cases with them too. */
export const NODE_FLAGS = ['--max-old-space-size=128', '--v8-pool-size=1'];

/** Bundle one TypeScript entry point into a runnable ESM file (Node 20), PGlite left external. */
export async function bundle(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@electric-sql/pglite', 'pg-native'],
    // Bundled CommonJS dependencies call require(); ESM output has none of its own.
    banner: {
      js: `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}\nimport { createRequire as __custodianRequire } from 'node:module';\nconst require = __custodianRequire(import.meta.url);`,
    },
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
  // The embedded ledger starts its database thread from this file, next to the code that starts it.
  copyFileSync(join(root, 'packages/ledger/src/pglite-worker.mjs'), join(dirname(outfile), 'pglite-worker.mjs'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = join(root, 'packages/cli/dist/custodian.mjs');
  await bundle(join(root, 'packages/cli/src/bin.ts'), out);
  process.stdout.write(`built ${out}\n`);
}
