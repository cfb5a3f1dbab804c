/** `custodian sandbox`: start the HubSpot, Salesforce and Zoho look-alikes and print a ready config. */
import { type FaultKnobs, startSandbox, VENDORS } from '@custodian/sandbox';
import { stringify } from 'yaml';
import { heading, printJson, say, table } from '../output.js';

export interface SandboxOptions {
  people?: number;
  seed?: number;
  latency?: number;
  errorRate?: number;
  dropRate?: number;
  quotaExhausted?: boolean;
  rateLimits?: boolean;
  json?: boolean;
  signal?: AbortSignal;
}

export async function sandboxCommand(options: SandboxOptions): Promise<number> {
  const knobs: Partial<FaultKnobs> = {
    ...(options.latency !== undefined ? { latencyMs: options.latency } : {}),
    ...(options.errorRate !== undefined ? { errorRate: options.errorRate } : {}),
    ...(options.dropRate !== undefined ? { dropRate: options.dropRate } : {}),
    ...(options.quotaExhausted ? { quotaExhausted: true } : {}),
    ...(options.rateLimits === false ? { rateLimits: false } : {}),
  };
  const vendors = [...VENDORS];
  const sandbox = await startSandbox({
    people: options.people ?? 3000,
    seed: options.seed ?? 42,
    vendors,
    knobs: Object.fromEntries(vendors.map((v) => [v, knobs])),
  });
  const config = { version: 1, systems: sandbox.systemsConfig(), policies: [{ preset: 'gdpr' }] };
  if (options.json) {
    printJson({ urls: sandbox.urls, planted: sandbox.planted, config });
  } else {
    say(
      heading(
        `Sandbox running with ${sandbox.planted.people.toLocaleString('en')} people (seed ${options.seed ?? 42})`,
      ),
    );
    say(
      table(
        ['vendor', 'base URL'],
        Object.entries(sandbox.urls).map(([v, u]) => [v, u ?? '']),
      ),
    );
    say(heading('A ready custodian.config.yaml for these servers:'));
    say(stringify(config));
    say('Ctrl-C stops the sandbox.');
  }
  await new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await sandbox.stop();
  return 0;
}
