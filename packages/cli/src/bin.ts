/** Entry point: `pnpm custodian <command>` runs it from source with tsx; `pnpm build` bundles it (scripts/build.mjs). */
import { runCli } from './program.js';

const controller = new AbortController();
let interrupted = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted++;
    // First signal: finish the current page and stop cleanly; second: leave now (committed pages are safe).
    if (interrupted > 1) process.exit(130);
    controller.abort(new Error(`${signal} received`));
  });
}

// `pnpm demo -- --json` forwards the `--` itself; it is not an argument of ours.
const argv = process.argv.slice(2).filter((a, i) => !(a === '--' && i <= 1));
const code = await runCli(argv, { signal: controller.signal });
process.exitCode = code;
