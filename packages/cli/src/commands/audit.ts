/** `custodian audit verify`: recompute the audit hash chain and say whether it is intact. */
import type { AppContext } from '../context.js';
import { color, printJson, say } from '../output.js';

export async function auditVerifyCommand(ctx: AppContext, options: { json?: boolean }): Promise<number> {
  const result = await (await ctx.ledger()).verifyAudit();
  if (options.json) printJson(result);
  else if (result.ok) say(color.green(`audit chain intact: ${result.count} event(s), head ${result.headHash}`));
  else
    say(
      color.red(
        `audit chain BROKEN at event ${result.brokenAt} (of ${result.count}); restore from backup and investigate`,
      ),
    );
  return result.ok ? 0 : 1;
}
