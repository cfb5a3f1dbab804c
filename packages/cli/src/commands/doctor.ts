/** `custodian doctor`: checks config, secret, ledger, and every system's credentials, connectivity and scopes. */
import { type CheckResult, formatError } from '@custodian/core';
import type { AppContext } from '../context.js';
import { color, heading, printJson, say, table } from '../output.js';

interface DoctorRow {
  scope: string;
  check: string;
  ok: boolean;
  message: string;
}

async function guarded(scope: string, check: string, fn: () => Promise<string | CheckResult[]>): Promise<DoctorRow[]> {
  try {
    const out = await fn();
    if (typeof out === 'string') return [{ scope, check, ok: true, message: out }];
    return out.map((r) => ({ scope, check: r.check, ok: r.ok, message: r.message }));
  } catch (err) {
    return [{ scope, check, ok: false, message: formatError(err).replace(/\n\s*/g, ' ') }];
  }
}

export async function doctorCommand(ctx: AppContext, options: { json?: boolean }): Promise<number> {
  const rows: DoctorRow[] = [{ scope: 'config', check: 'file', ok: true, message: `${ctx.loaded.path} is valid` }];
  rows.push(
    ...(await guarded('config', 'secret', async () => {
      ctx.keyer();
      return 'tenant secret loaded';
    })),
  );
  rows.push(
    ...(await guarded('ledger', 'open', async () => {
      const ledger = await ctx.ledger();
      return `${ledger.backend} ledger open (tenant ${ledger.tenant}), ${await ledger.countRecords()} records indexed`;
    })),
  );
  for (const system of ctx.config.systems) {
    rows.push(
      ...(await guarded(system.name, 'connector', async () => {
        const c = await ctx.connector(system.name);
        return `${c.definition.title}: ${c.streams.length} stream(s), capabilities: ${[...c.capabilities].join(', ') || 'read only'}`;
      })),
    );
    rows.push(
      ...(await guarded(system.name, 'connectivity', async () => {
        const c = await ctx.connector(system.name);
        if (!c.has('check')) return 'connector has no self-check; run a sync to test connectivity';
        return c.check();
      })),
    );
  }
  const ok = rows.every((r) => r.ok);
  if (options.json) {
    printJson({ ok, checks: rows });
  } else {
    say(heading('Doctor'));
    say(
      table(
        ['scope', 'check', '', 'result'],
        rows.map((r) => [r.scope, r.check, r.ok ? color.green('ok') : color.red('FAIL'), r.message]),
      ),
    );
    say(
      ok
        ? color.green('all checks passed')
        : color.red('some checks failed: fix them and run `custodian doctor` again'),
    );
  }
  return ok ? 0 : 1;
}
