/**
 * `pnpm demo`: the main job on a fresh machine, no accounts needed. Starts the HubSpot, Salesforce and
 * Zoho sandbox CRMs (in process, on 127.0.0.1), copies the quickstart's CSV sales lists to a
 * temporary folder, syncs every system, shows the violations, the duplication register and where one
 * planted person lives, erases that person everywhere, prints the certificate and shows `where` finding
 * nothing afterwards. `--json` prints one summary object instead.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Certificate, CustodianError, normaliseEmail, openRequest, runRequest } from '@custodian/core';
import { type Sandbox, startSandbox, VENDORS, type VendorName } from '@custodian/sandbox';
import { stringify } from 'yaml';
import { openContext } from '../context.js';
import { color, heading, printJson, say, table } from '../output.js';
import { printRequest, requestDeps } from './requests.js';
import { printSyncSummary, syncAndRemediate } from './sync.js';
import { locateInLedger } from './where.js';

export interface DemoOptions {
  json?: boolean;
  /** Synthetic people in the sandbox CRMs. @default 3000 */
  people?: number;
  seed?: number;
  /** Keep the demo's ledger, lists and config in this folder (default: a temp folder removed afterwards). */
  dir?: string;
}

/** The repository's quickstart lists, found upwards from this module (run from source or from the built bundle). */
function quickstartDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'examples', 'quickstart');
    if (existsSync(join(candidate, 'lists'))) return candidate;
  }
  throw new CustodianError(
    'CUSTODIAN_ERR_INPUT_INVALID',
    "The demo needs the repository's examples/quickstart folder; run it from a checkout of Custodian.",
  );
}

export async function demoCommand(options: DemoOptions): Promise<number> {
  const sandbox = await startSandbox({
    people: options.people ?? 3000,
    seed: options.seed ?? 42,
    vendors: [...VENDORS],
  });
  try {
    return await runDemo(options, sandbox);
  } finally {
    await sandbox.stop();
  }
}

async function runDemo(options: DemoOptions, sandbox: Sandbox): Promise<number> {
  const dir = options.dir ? resolve(options.dir) : mkdtempSync(join(tmpdir(), 'custodian-demo-'));
  const sandboxSystems = sandbox.systemsConfig();
  cpSync(join(quickstartDir(), 'lists'), join(dir, 'lists'), { recursive: true });
  const configPath = join(dir, 'custodian.config.yaml');
  writeFileSync(
    configPath,
    stringify({
      version: 1,
      tenant: 'demo',
      ledger: { dir: './ledger' },
      defaultCountry: 'DE',
      systems: [
        {
          name: 'trade-fair',
          connector: 'csv',
          purposes: ['sales'],
          legalBasis: 'legitimate_interest',
          options: { dir: './lists', lists: ['trade-fair-2025'] },
        },
        {
          name: 'newsletter',
          connector: 'csv',
          purposes: ['marketing'],
          legalBasis: 'consent',
          options: { dir: './lists', lists: ['newsletter'] },
        },
        ...sandboxSystems,
      ],
      policies: [{ preset: 'gdpr' }],
      requests: { permanent: true },
    }),
  );
  const env = { ...process.env, CUSTODIAN_SECRET: randomBytes(32).toString('hex') };
  const ctx = await openContext({ configPath, env });
  const log = (text = '') => {
    if (!options.json) say(text);
  };
  try {
    log(heading('Custodian demo: two CSV sales lists that share 120 of their 400 people'));
    log(
      `and sandbox CRMs on 127.0.0.1 with ${sandbox.planted.people.toLocaleString('en')} synthetic people and planted problems:`,
    );
    log(
      table(
        ['vendor', 'base URL', 'people held'],
        Object.entries(sandbox.urls).map(([v, u]) => [v, u ?? '', sandbox.world.countIn(v as VendorName)]),
      ),
    );
    const { sync } = await syncAndRemediate(ctx, { json: true });
    if (!options.json) printSyncSummary(sync);

    const ledger = await ctx.ledger();
    const counts = await ledger.countViolations({ status: 'open' });
    const perRule: Record<string, number> = {};
    for (const c of counts) perRule[c.rule] = (perRule[c.rule] ?? 0) + c.count;
    log(heading('Violations found'));
    log(
      table(
        ['rule', 'severity', 'open'],
        counts.map((c) => [c.rule, c.severity, c.count]),
      ),
    );
    const samples = await ledger.listViolations({ status: 'open', rule: 'sensitive-free-text', limit: 3 });
    if (samples.length > 0) {
      log(
        table(
          ['record', 'field', 'masked evidence'],
          samples.map((v) => [`${v.ref.system}:${v.ref.id}`, v.field ?? '', v.evidence]),
        ),
      );
    }
    const duplicationSummary = await ledger.duplicationSummary();
    log(heading('Duplication register (copies of a person outside their first system)'));
    log(
      table(
        ['system', 'copies', 'people'],
        duplicationSummary.map((d) => [d.system, d.copies, d.subjects]),
      ),
    );

    // The sandbox's planted demo person lives in every CRM, with a card number in a Salesforce note.
    const email = normaliseEmail(sandbox.world.person(sandbox.planted.demoPerson).email);
    if (!email) throw new Error('the sandbox demo person has no valid email');
    const identity = { kind: 'email' as const, value: email };
    const before = (await locateInLedger(ctx, [identity])).records.filter((r) => !r.deletedAt);
    log(heading('custodian where <email of the planted demo person>'));
    log(
      table(
        ['system', 'list', 'record id', 'fields held'],
        before.map((r) => [r.ref.system, r.ref.object, r.ref.id, r.fieldNames.join(', ')]),
      ),
    );

    log(heading('custodian erase <their email> --permanent'));
    const deps = await requestDeps(ctx, 'custodian demo');
    const opened = await openRequest(deps, { kind: 'erase', identities: [identity], permanent: true });
    const done = await runRequest(deps, opened.id);
    if (!options.json) printRequest(done, {});
    const remaining = (await locateInLedger(ctx, [identity])).records.filter((r) => !r.deletedAt);
    log(
      remaining.length === 0
        ? color.green('custodian where: not found in any system any more')
        : color.red(`where: still ${remaining.length} record(s)`),
    );
    log(heading('API calls per sandbox CRM (request log)'));
    log(
      table(
        ['vendor', 'calls'],
        Object.keys(sandbox.urls).map((v) => [v, sandbox.log.count({ vendor: v as VendorName })]),
      ),
    );
    const audit = await ledger.verifyAudit();
    log(audit.ok ? color.green(`audit chain intact: ${audit.count} events`) : color.red('audit chain broken'));

    const cert = done.result.certificate as Certificate | undefined;
    if (options.json) {
      printJson({
        source: `quickstart CSV lists and sandbox ${Object.keys(sandbox.urls).join(', ')}`,
        systems: sync.systems.map((s) => s.system),
        recordsPerSystem: Object.fromEntries(sync.systems.map((s) => [s.system, s.records])),
        syncStatus: Object.fromEntries(sync.systems.map((s) => [s.system, s.status])),
        violationsPerRule: perRule,
        duplications: duplicationSummary,
        apiCalls: Object.fromEntries(
          Object.keys(sandbox.urls).map((v) => [v, sandbox.log.count({ vendor: v as VendorName })]),
        ),
        where: { records: before.length },
        erasure: {
          requestId: done.id,
          state: done.state,
          systems:
            cert?.systems.map((s) => ({
              system: s.system,
              found: s.found,
              erased: s.done + s.alreadyGone,
              verified: s.verified,
            })) ?? [],
          certificateHash: cert?.certificateHash ?? null,
          whereAfter: remaining.length,
        },
        auditChainIntact: audit.ok,
      });
    }
    return done.state === 'completed' && remaining.length === 0 && sync.systems.every((s) => s.status === 'succeeded')
      ? 0
      : 1;
  } finally {
    await ctx.close();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
}
