/**
 * The `custodian` command line. Each command opens one AppContext, runs, and closes it; errors are
 * printed with their code and hint, and exit codes are stable: 0 ok, 1 failure or failing check,
 * 2 invalid config or input.
 */
import { type ErrorCode, formatError, isCustodianError, type Severity } from '@custodian/core';
import { Command, Option } from 'commander';
import { auditVerifyCommand } from './commands/audit.js';
import { demoCommand } from './commands/demo.js';
import { detectCommand } from './commands/detect.js';
import { doctorCommand } from './commands/doctor.js';
import { initCommand } from './commands/init.js';
import {
  requestCommand,
  requestsApproveCommand,
  requestsListCommand,
  requestsResumeCommand,
  requestsShowCommand,
} from './commands/requests.js';
import { sandboxCommand } from './commands/sandbox.js';
import { scheduleCommand, workerCommand, workerStatusCommand } from './commands/schedule.js';
import { parseSeverity, syncCommand } from './commands/sync.js';
import { violationsCommand } from './commands/violations.js';
import { whereCommand } from './commands/where.js';
import { type AppContext, openContext } from './context.js';
import { printJson } from './output.js';

const USAGE_ERRORS = new Set<ErrorCode>([
  'CUSTODIAN_ERR_CONFIG_INVALID',
  'CUSTODIAN_ERR_CONFIG_NOT_FOUND',
  'CUSTODIAN_ERR_CONFIG_ENV_MISSING',
  'CUSTODIAN_ERR_POLICY_INVALID',
  'CUSTODIAN_ERR_SCHEDULE_INVALID',
  'CUSTODIAN_ERR_INPUT_INVALID',
  'CUSTODIAN_ERR_IDENTITY_INVALID',
  'CUSTODIAN_ERR_SYSTEM_UNKNOWN',
  'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
  'CUSTODIAN_ERR_CONNECTOR_UNKNOWN',
]);

export function exitCodeFor(err: unknown): number {
  return isCustodianError(err) && USAGE_ERRORS.has(err.code) ? 2 : 1;
}

export interface RunOptions {
  /** Abort signal wired to SIGINT/SIGTERM by the bin. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export function buildProgram(run: RunOptions = {}): { program: Command; exitCode: () => number } {
  let code = 0;
  const program = new Command('custodian')
    .description('Keep CRM data lawful: find violations, carry out data-subject requests everywhere, prove it.')
    .option('-c, --config <file>', 'config file', process.env.CUSTODIAN_CONFIG ?? 'custodian.config.yaml')
    .showHelpAfterError()
    .exitOverride();

  const withContext =
    <A extends unknown[]>(fn: (ctx: AppContext, ...args: A) => Promise<number>) =>
    async (...args: A) => {
      const ctx = await openContext({
        configPath: program.opts().config as string,
        ...(run.env ? { env: run.env } : {}),
      });
      try {
        code = await fn(ctx, ...args);
      } finally {
        await ctx.close();
      }
    };

  program
    .command('init')
    .description('write a starter custodian.config.yaml and the tenant secret (mode 0600)')
    .option('--force', 'overwrite an existing config file')
    .option('--json', 'machine-readable output')
    .action((opts: { force?: boolean; json?: boolean }) => {
      code = initCommand({ config: program.opts().config as string, ...opts });
    });

  program
    .command('sync')
    .description('pull every configured system into the ledger and check policies')
    .option('-s, --system <name...>', 'only these systems')
    .option('--full', 'ignore checkpoints and read everything; records not seen again are marked gone')
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when open violations at or above this severity exist').argParser(
        parseSeverity,
      ),
    )
    .option('--apply', 'carry out enabled remediations (default: dry run)')
    .option('--json', 'machine-readable output')
    .action(
      withContext(
        (ctx, opts: { system?: string[]; full?: boolean; failOn?: Severity; apply?: boolean; json?: boolean }) =>
          syncCommand(ctx, { ...opts, ...(run.signal ? { signal: run.signal } : {}) }),
      ),
    );

  program
    .command('where')
    .description('every system and record where this person appears (email, phone or system:object:id)')
    .argument('<identity...>')
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, identities: string[], opts: { json?: boolean }) => whereCommand(ctx, identities, opts)));

  program
    .command('violations')
    .description('list violations found by the policies')
    .option('--rule <rule>', 'only this rule')
    .option('--system <name>', 'only this system')
    .addOption(new Option('--severity <severity>', 'only this severity').argParser(parseSeverity))
    .addOption(
      new Option('--status <status>', 'open, resolved or waived')
        .choices(['open', 'resolved', 'waived'])
        .default('open'),
    )
    .option('--limit <n>', 'rows to show', (v) => Number.parseInt(v, 10), 200)
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, opts) => violationsCommand(ctx, opts)));

  const audit = program.command('audit').description('the append-only, hash-chained audit log');
  audit
    .command('verify')
    .description('recompute the hash chain and report whether it is intact')
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, opts: { json?: boolean }) => auditVerifyCommand(ctx, opts)));

  program
    .command('doctor')
    .description('check config, secret, ledger, credentials, connectivity and scopes of every system')
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, opts: { json?: boolean }) => doctorCommand(ctx, opts)));

  program
    .command('detect')
    .description('find sensitive data in text: JSON lines {"id","text"} on stdin, or --text')
    .option('--text <text>', 'scan one string')
    .option('--min-confidence <n>', 'drop findings below this confidence (0..1)', Number.parseFloat)
    .action(async (opts: { text?: string; minConfidence?: number }) => {
      code = await detectCommand(opts);
    });

  const jurisdiction = () =>
    new Option('--jurisdiction <law>', 'deadline rules: gdpr, ccpa or pipl').choices(['gdpr', 'ccpa', 'pipl']);
  const subjectCopy = () =>
    new Option(
      '--subject-copy <file>',
      'also write a copy of the certificate that names the person, to send to them (the ledger keeps none)',
    );
  program
    .command('erase')
    .description('erase a person in every system: plan, delete, purge, verify, tombstone, certificate')
    .argument('<identity...>', 'email, phone or system:object:id')
    .option('--dry-run', 'show the plan, change nothing')
    .option('--permanent', 'empty recycle bins / use permanent delete (default from config)')
    .option('--no-permanent', 'leave deleted records restorable in recycle bins')
    .option('--each', 'one request per identity (different people), run together with shared vendor calls')
    .addOption(jurisdiction())
    .addOption(subjectCopy())
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, ids: string[], opts) => requestCommand(ctx, 'erase', ids, opts)));
  program
    .command('export')
    .description("write a person's data from every system (JSON per system, CSV, summary) to a folder")
    .argument('<identity...>')
    .requiredOption('--out <dir>', 'folder to write the export to')
    .addOption(jurisdiction())
    .addOption(subjectCopy())
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, ids: string[], opts) => requestCommand(ctx, 'export', ids, opts)));
  program
    .command('rectify')
    .description("correct a person's data in every copy")
    .argument('<identity>')
    .requiredOption('--set <field=value...>', 'canonical field and new value, e.g. lastName=Smith')
    .addOption(jurisdiction())
    .addOption(subjectCopy())
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, id: string, opts) => requestCommand(ctx, 'rectify', [id], opts)));
  program
    .command('opt-out')
    .description('set the marketing opt-out for a person in every system')
    .argument('<identity...>')
    .addOption(jurisdiction())
    .addOption(subjectCopy())
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, ids: string[], opts) => requestCommand(ctx, 'opt-out', ids, opts)));

  const requests = program.command('requests').description('data-subject requests and their deadlines');
  requests
    .command('list', { isDefault: true })
    .description('open requests with days left (--all for every request)')
    .option('--all', 'include completed requests')
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, opts: { all?: boolean; json?: boolean }) => requestsListCommand(ctx, opts)));
  requests
    .command('show')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, id: string, opts: { json?: boolean }) => requestsShowCommand(ctx, id, opts)));
  requests
    .command('resume')
    .description('finish interrupted or blocked requests (all open ones, or one)')
    .argument('[id]')
    .option('--json', 'machine-readable output')
    .action(
      withContext((ctx, id: string | undefined, opts: { json?: boolean }) => requestsResumeCommand(ctx, id, opts)),
    );
  requests
    .command('approve')
    .description('approve a request Custodian opened itself (propagated deletion) and run it')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(withContext((ctx, id: string, opts: { json?: boolean }) => requestsApproveCommand(ctx, id, opts)));

  program
    .command('demo')
    .description(
      'start the sandbox CRMs, sync them and the quickstart lists, show findings, erase one person everywhere',
    )
    .option('--people <n>', 'synthetic people in the sandbox CRMs', (v) => Number.parseInt(v, 10), 3000)
    .option('--seed <n>', 'seed of the synthetic world', (v) => Number.parseInt(v, 10), 42)
    .option('--dir <dir>', 'keep the demo ledger and config in this folder')
    .option('--json', 'one machine-readable summary')
    .action(async (opts: { dir?: string; json?: boolean; people?: number; seed?: number }) => {
      code = await demoCommand(opts);
    });

  const intArg = (v: string) => Number.parseInt(v, 10);
  program
    .command('sandbox')
    .description('start the HubSpot, Salesforce and Zoho look-alikes on 127.0.0.1 and print a ready config')
    .option('--people <n>', 'synthetic people', intArg, 3000)
    .option('--seed <n>', 'seed of the synthetic world', intArg, 42)
    .option('--latency <ms>', 'added latency per request', intArg)
    .option('--error-rate <share>', 'share of requests answered with 5xx', Number.parseFloat)
    .option('--drop-rate <share>', 'share of connections dropped', Number.parseFloat)
    .option('--quota-exhausted', 'answer with the daily-quota error')
    .option('--no-rate-limits', 'do not enforce vendor rate limits')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      code = await sandboxCommand({ ...opts, ...(run.signal ? { signal: run.signal } : {}) });
    });

  program
    .command('schedule')
    .description("run the config's schedules with cron in this process (SIGTERM finishes the current page, then exits)")
    .option('--once <job>', 'run one scheduled job now and exit')
    .option('--json', 'machine-readable output')
    .action(
      withContext((ctx, opts: { once?: string; json?: boolean }) =>
        scheduleCommand(ctx, { ...opts, ...(run.signal ? { signal: run.signal } : {}) }),
      ),
    );

  const worker = program
    .command('worker')
    .description('share scheduled jobs with other workers through PostgreSQL (DATABASE_URL)')
    .option('--also <config...>', 'more tenant configs served by this worker')
    .option('--concurrency <n>', 'jobs at once', (v) => Number.parseInt(v, 10), 2)
    .action(
      withContext((ctx, opts: { also?: string[]; concurrency?: number }) =>
        workerCommand(ctx, {
          ...opts,
          ...(run.signal ? { signal: run.signal } : {}),
          ...(run.env ? { env: run.env } : {}),
        }),
      ),
    );
  worker
    .command('status')
    .description('queues, running jobs, failures and schedules')
    .option('--json', 'machine-readable output')
    .action(
      withContext((ctx, opts: { json?: boolean }) =>
        workerStatusCommand(ctx, { ...opts, ...(run.env ? { env: run.env } : {}) }),
      ),
    );

  return { program, exitCode: () => code };
}

/** Run the CLI with argv (without node and script); returns the exit code. */
export async function runCli(argv: string[], run: RunOptions = {}): Promise<number> {
  const { program, exitCode } = buildProgram(run);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (err) {
    const commanderCode = (err as { code?: string }).code;
    if (commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version') return 0;
    if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) return 2;
    const code = exitCodeFor(err);
    if (json)
      printJson({
        error: isCustodianError(err) ? err.toJSON() : { code: 'CUSTODIAN_ERR_UNEXPECTED', message: String(err) },
      });
    process.stderr.write(`${formatError(err)}\n`);
    return code;
  }
}
