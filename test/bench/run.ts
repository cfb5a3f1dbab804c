/**
 * `pnpm bench`: runs every benchmark in test/bench/*.bench.ts in its own process (so peak RSS is per
 * benchmark) and writes results to bench-results/<name>.json. `pnpm bench <name...>` runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
mkdirSync(join(process.cwd(), 'bench-results'), { recursive: true });
let failed = 0;
for (const file of benches) {
  console.log(`\n== ${file}`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, file)], { stdio: 'inherit' });
  if (res.status !== 0) failed++;
}
console.log(`\n${benches.length - failed}/${benches.length} benchmarks finished; results in bench-results/`);
process.exit(failed ? 1 : 0);
