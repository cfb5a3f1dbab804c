export { findSchedule, type JobSpec, parseSchedules, type Schedule, ScheduleSchema } from './config.js';
export { type JobOutcome, type JobRunner, type LocalScheduler, startLocalScheduler } from './local.js';
export {
  QUEUES,
  type RunningWorker,
  startWorker,
  type TenantRuntime,
  tickQueue,
  type WorkerOptions,
  type WorkerStatus,
  workerStatus,
} from './worker.js';
