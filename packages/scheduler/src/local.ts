/**
 * One machine: node-cron in one long-lived process. The same job never overlaps itself (node-cron's
 * noOverlap), a failing job is logged and runs again at its next tick, and stop() aborts the running
 * job's signal so it finishes its current page, then resolves once it has stopped.
 */
import type { Logger } from '@custodian/core';
import cron, { type ScheduledTask } from 'node-cron';
import type { JobSpec, Schedule } from './config.js';

export interface JobOutcome {
  ok: boolean;
  summary: Record<string, unknown>;
}

export type JobRunner = (schedule: Schedule, job: JobSpec, signal: AbortSignal) => Promise<JobOutcome>;

export interface LocalScheduler {
  /** Resolves when every running job has finished (after its current page) and no more will start. */
  stop(): Promise<void>;
  running(): string[];
}

export function startLocalScheduler(input: { schedules: Schedule[]; run: JobRunner; log: Logger }): LocalScheduler {
  const controller = new AbortController();
  const inFlight = new Map<string, Promise<unknown>>();
  const tasks: ScheduledTask[] = [];
  for (const schedule of input.schedules) {
    const task = cron.schedule(
      schedule.cron,
      async () => {
        if (inFlight.has(schedule.name) || controller.signal.aborted) {
          input.log.warn({ schedule: schedule.name }, 'previous run still going; this tick is skipped');
          return;
        }
        const started = Date.now();
        const run = input
          .run(schedule, schedule.job, controller.signal)
          .then((outcome) => {
            const fields = { schedule: schedule.name, ok: outcome.ok, ms: Date.now() - started, ...outcome.summary };
            // A job that ran but did not succeed (a system's sync failed) is a failure too, not an info line.
            if (outcome.ok) input.log.info(fields, 'scheduled job finished');
            else input.log.error(fields, 'scheduled job failed; it runs again at its next tick');
          })
          .catch((err: unknown) => {
            // Logged, not thrown: the job runs again at its next tick.
            input.log.error({ schedule: schedule.name, err }, 'scheduled job failed; it runs again at its next tick');
          })
          .finally(() => inFlight.delete(schedule.name));
        inFlight.set(schedule.name, run);
        await run;
      },
      {
        name: schedule.name,
        timezone: schedule.timezone,
        noOverlap: true,
        // node-cron's own warnings go through our redacting logger, not the console.
        logger: {
          info: (m) => input.log.debug({ schedule: schedule.name }, String(m)),
          warn: (m) => input.log.debug({ schedule: schedule.name }, String(m)),
          error: (m) => input.log.error({ schedule: schedule.name }, String(m)),
          debug: (m) => input.log.debug({ schedule: schedule.name }, String(m)),
        },
      },
    );
    task.on('execution:overlap', () => {
      input.log.warn({ schedule: schedule.name }, 'previous run still going; this tick is skipped');
    });
    tasks.push(task);
  }
  return {
    running: () => [...inFlight.keys()],
    async stop() {
      for (const t of tasks) await t.stop();
      controller.abort(new Error('scheduler stopping'));
      await Promise.allSettled(inFlight.values());
      for (const t of tasks) await t.destroy();
    },
  };
}
