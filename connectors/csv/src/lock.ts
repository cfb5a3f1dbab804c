/**
 * A lock on one list file that every process honours, held for a whole read-modify-write cycle (read
 * the current content, apply, write the temporary file, rename), so two `custodian worker`s erasing rows
 * of the same list never lose each other's rewrite.
 *
 * proper-lockfile creates `<file>.lock` with mkdir (atomic on local and network file systems), refreshes
 * its mtime while the lock is held, and takes over a lock whose mtime is older than `staleMs`: the holder
 * died without releasing it (SIGKILL, power loss). A normal exit or SIGTERM releases it at once.
 */
import { ConnectorError, ERROR_CODES } from '@custodian/core';
import lockfile from 'proper-lockfile';
import type { CsvOptions } from './options.js';

/** Longest pause between two attempts to take a busy lock; the first pauses are shorter. */
const MAX_POLL_MS = 250;
const MIN_POLL_MS = 20;

/** The list's lock could not be taken in time, or was lost mid-cycle: nothing was written. */
export class CsvListLockedError extends ConnectorError {
  // A transient ConnectorError (the request engine parks the request, resumable) with its own code.
  override readonly code = 'CUSTODIAN_ERR_CSV_LIST_LOCKED';

  constructor(message: string, where: { system: string; operation: string; list: string }, cause?: unknown) {
    super(message, {
      system: where.system,
      operation: where.operation,
      kind: 'transient',
      hint: ERROR_CODES.CUSTODIAN_ERR_CSV_LIST_LOCKED,
      details: { list: where.list },
      cause,
    });
  }
}

/** Call right before the rename that publishes a rewrite; throws if the lock was lost meanwhile. */
export type AssertLockHeld = () => void;

/**
 * Run `cycle` while holding the list's lock. Waits at most `options.lock.waitMs` for another holder,
 * polling with growing, jittered pauses; then fails with CUSTODIAN_ERR_CSV_LIST_LOCKED naming the list.
 */
export async function withListLock<T>(
  options: CsvOptions,
  path: string,
  where: { system: string; operation: string; list: string },
  cycle: (assertHeld: AssertLockHeld) => Promise<T>,
): Promise<T> {
  const { waitMs, staleMs } = options.lock;
  let lost: Error | null = null;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      // The list may vanish between listing and locking; the cycle re-checks it under the lock.
      realpath: false,
      stale: staleMs,
      retries: {
        retries: Math.ceil(waitMs / MIN_POLL_MS),
        minTimeout: MIN_POLL_MS,
        maxTimeout: MAX_POLL_MS,
        factor: 1.5,
        randomize: true,
        maxRetryTime: waitMs,
      },
      // The default throws from a timer and kills the process; instead the cycle refuses to publish.
      onCompromised: (err) => {
        lost = err;
      },
    });
  } catch (err) {
    if (!isBusy(err)) throw err;
    throw new CsvListLockedError(
      `list "${where.list}" stayed locked by another process for ${waitMs} ms; nothing was written`,
      where,
      err,
    );
  }
  const assertHeld: AssertLockHeld = () => {
    if (lost)
      throw new CsvListLockedError(
        `lost the lock on list "${where.list}" (not refreshed within ${staleMs} ms, another process may have taken it); nothing was written`,
        where,
        lost,
      );
  };
  try {
    return await cycle(assertHeld);
  } finally {
    // A compromised lock is already released (ERELEASED); there is nothing left to undo.
    await release().catch(() => undefined);
  }
}

/**
 * ELOCKED: the last attempt met a live lock. The `retry` package reports a plain "timeout occurred"
 * error instead when `maxRetryTime` ran out before a second attempt.
 */
function isBusy(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (err as NodeJS.ErrnoException).code === 'ELOCKED' || err.message === 'RetryOperation timeout occurred';
}
