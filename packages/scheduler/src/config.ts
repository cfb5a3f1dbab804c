/**
 * `schedules:` in the config: named jobs with cron expressions and IANA time zones, checked up front so a
 * typo fails at start-up with its config path, not at 3 a.m.
 */
import { CustodianError } from '@custodian/core';
import cron from 'node-cron';
import { z } from 'zod';

const JobSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('sync'), systems: z.array(z.string()).optional(), full: z.boolean().default(false) })
    .strict(),
  z.object({ kind: z.literal('retention-sweep') }).strict(),
  z.object({ kind: z.literal('deadline-check'), warnDays: z.number().int().min(0).default(7) }).strict(),
  z.object({ kind: z.literal('resume-requests') }).strict(),
  z
    .object({ kind: z.literal('report'), out: z.string().min(1), format: z.enum(['json', 'html']).default('json') })
    .strict(),
]);

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const ScheduleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _ only'),
    cron: z.string().refine((c) => cron.validate(c), 'not a valid cron expression (minute hour day month weekday)'),
    timezone: z.string().default('UTC').refine(validTimeZone, 'not an IANA time zone such as Europe/Berlin'),
    job: JobSchema,
  })
  .strict();

export type Schedule = z.output<typeof ScheduleSchema>;
export type JobSpec = Schedule['job'];

/**
 * `knownSystems`: the configured system names; a sync job naming another system is an error now, not at
 * its first tick.
 */
export function parseSchedules(
  raw: unknown,
  lineOf: (path: (string | number)[]) => number | null = () => null,
  knownSystems?: readonly string[],
): Schedule[] {
  const parsed = z
    .array(ScheduleSchema)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((s, i) => {
        if (seen.has(s.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate schedule name "${s.name}"` });
        seen.add(s.name);
        if (s.job.kind !== 'sync' || !knownSystems) return;
        s.job.systems?.forEach((system, j) => {
          if (knownSystems.includes(system)) return;
          ctx.addIssue({
            code: 'custom',
            path: [i, 'job', 'systems', j],
            message: `unknown system "${system}"; configured: ${knownSystems.join(', ') || '(none)'}`,
          });
        });
      });
    })
    .safeParse(raw ?? []);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = ['schedules', ...(issue.path as (string | number)[])];
    const text = path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p),
      '',
    );
    return `${text}${lineOf(path) ? ` (line ${lineOf(path)})` : ''}: ${issue.message}`;
  });
  throw new CustodianError('CUSTODIAN_ERR_SCHEDULE_INVALID', `invalid schedules:\n  ${problems.join('\n  ')}`, {
    details: { problems },
  });
}

export function findSchedule(schedules: Schedule[], name: string): Schedule {
  const s = schedules.find((x) => x.name === name);
  if (!s) {
    throw new CustodianError(
      'CUSTODIAN_ERR_SCHEDULE_UNKNOWN_JOB',
      `No schedule named "${name}"; configured: ${schedules.map((x) => x.name).join(', ') || '(none)'}.`,
    );
  }
  return s;
}
