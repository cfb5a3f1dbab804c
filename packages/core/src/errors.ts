/**
 * The one error registry for the whole project. Every error Custodian throws on purpose carries one of
 * these codes, a message that says what is wrong and where, a hint that says what to do, and the cause.
 * `docs/errors.md` documents every code; a test keeps the two in step (fastify's FST_ERR_* pattern).
 */

export const ERROR_CODES = {
  // --- configuration ---
  CUSTODIAN_ERR_CONFIG_NOT_FOUND: 'Fix: run `custodian init` or pass --config <file>.',
  CUSTODIAN_ERR_CONFIG_INVALID: 'Fix the listed config paths; `custodian doctor` re-checks them.',
  CUSTODIAN_ERR_CONFIG_ENV_MISSING: 'Set the named environment variable or replace the $VAR reference.',
  CUSTODIAN_ERR_SECRET_MISSING: 'Set CUSTODIAN_SECRET or run `custodian init` to create the secret file.',
  CUSTODIAN_ERR_SECRET_INSECURE: 'Run `chmod 600` on the secret file.',
  CUSTODIAN_ERR_SYSTEM_UNKNOWN: 'Use a system name declared under `systems:` in the config.',
  CUSTODIAN_ERR_POLICY_INVALID: 'Fix the policy at the listed config path.',
  // --- connectors ---
  CUSTODIAN_ERR_CONNECTOR_UNKNOWN: 'Use a connector id that is installed (`custodian doctor` lists them).',
  CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID: "Fix the system's `options:` at the listed paths.",
  CUSTODIAN_ERR_CONNECTOR_VERSION_MISMATCH: 'Upgrade the connector or Custodian so their versions match.',
  CUSTODIAN_ERR_CONNECTOR_CAPABILITY_MISSING: 'This connector cannot do that; Custodian lists the step as manual.',
  CUSTODIAN_ERR_CONNECTOR_INVALID: 'The connector definition is broken; report it to its author.',
  CUSTODIAN_ERR_CONNECTOR_UNREACHABLE: 'Check the base URL, the network and the vendor status page.',
  CUSTODIAN_ERR_CONNECTOR_AUTH: 'Reconnect the system: the token is expired, revoked or wrong.',
  CUSTODIAN_ERR_CONNECTOR_PERMISSION: 'Grant the missing scope or permission to the integration user.',
  CUSTODIAN_ERR_CONNECTOR_RATE_LIMITED: 'Custodian retried with backoff; lower concurrency or raise the plan tier.',
  CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED: 'The daily API quota is used up; the system resumes at the reset time.',
  CUSTODIAN_ERR_CONNECTOR_TRANSIENT: 'The vendor failed repeatedly; Custodian will retry on the next run.',
  CUSTODIAN_ERR_CONNECTOR_NOT_FOUND: 'The record no longer exists at the vendor.',
  CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST: 'The vendor rejected the request; this is a connector bug or bad config.',
  CUSTODIAN_ERR_CONNECTOR_BAD_RESPONSE: 'The vendor answered with an unexpected shape; report it with the request id.',
  CUSTODIAN_ERR_CONNECTOR_FAILED: 'The connector threw an unexpected error; see the cause.',
  CUSTODIAN_ERR_CONNECTOR_CHECKPOINT_INVALID: 'The stored checkpoint is unreadable; run `custodian sync --full`.',
  CUSTODIAN_ERR_ABORTED: 'The operation was cancelled; run the command again to resume.',
  // --- data input ---
  CUSTODIAN_ERR_CSV_MALFORMED: 'Fix the named row of the CSV file; nothing from it was imported.',
  CUSTODIAN_ERR_CSV_LIST_LOCKED:
    'Another process held the list past the lock wait; nothing was written. Resume the request; if it recurs, look for a process stuck writing the list or raise `options.lock.waitMs`.',
  CUSTODIAN_ERR_IDENTITY_INVALID: 'Give an email address, a phone number with country code, or system:object:id.',
  CUSTODIAN_ERR_INPUT_INVALID: 'Fix the input at the named line.',
  // --- ledger ---
  CUSTODIAN_ERR_LEDGER_OPEN: 'Check the ledger folder or DATABASE_URL, and that no other process holds it.',
  CUSTODIAN_ERR_LEDGER_MIGRATION: 'The ledger schema could not be migrated; restore a backup or report it.',
  CUSTODIAN_ERR_LEDGER_QUERY: 'A ledger query failed; see the cause.',
  CUSTODIAN_ERR_AUDIT_CHAIN_BROKEN: 'The audit log was altered; restore it from a backup and investigate.',
  // --- requests ---
  CUSTODIAN_ERR_REQUEST_NOT_FOUND: 'Use an id listed by `custodian requests`.',
  CUSTODIAN_ERR_REQUEST_STATE: 'The request is not in a state that allows this; see `custodian requests show`.',
  CUSTODIAN_ERR_REQUEST_CONFLICT: 'The record changed since it was read; review it and run the request again.',
  CUSTODIAN_ERR_REQUEST_VERIFY_FAILED: 'Data remained after erasure; the request stays open until it is gone.',
  // --- scheduling ---
  CUSTODIAN_ERR_SCHEDULE_INVALID: 'Fix the cron expression or time zone at the listed config path.',
  CUSTODIAN_ERR_SCHEDULE_UNKNOWN_JOB: 'Use a job name declared under `schedules:`.',
  CUSTODIAN_ERR_WORKER_NEEDS_POSTGRES: 'Set DATABASE_URL to a PostgreSQL server for `custodian worker`.',
  // --- sandbox ---
  // --- connector authoring ---
  CUSTODIAN_ERR_SCAFFOLD_INVALID:
    'Pick a lower-case connector name (letters, digits, single dashes) that no folder under connectors/ uses yet.',
  // --- other ---
  CUSTODIAN_ERR_UNEXPECTED: 'This is a bug in Custodian; report it with the log (it holds no personal data).',
  CUSTODIAN_ERR_SANDBOX_START: 'A sandbox server could not start; free the port or choose another.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CustodianErrorOptions {
  cause?: unknown;
  /** Structured details safe to log: paths, refs, counts. Never personal data or secrets. */
  details?: Record<string, unknown>;
  /** Overrides the registry hint when a more precise one is known. */
  hint?: string;
}

export class CustodianError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CustodianErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustodianError';
    this.code = code;
    this.hint = options.hint ?? ERROR_CODES[code];
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** How the runtime treats a failure (Airbyte failure_type, finer). */
export type FailureKind =
  | 'transient'
  | 'rate_limited'
  | 'quota_exhausted'
  | 'auth_expired'
  | 'auth_revoked'
  | 'permission'
  | 'not_found'
  | 'bad_request'
  | 'bad_response'
  | 'config'
  | 'aborted'
  | 'unknown';

const KIND_TO_CODE: Record<FailureKind, ErrorCode> = {
  transient: 'CUSTODIAN_ERR_CONNECTOR_TRANSIENT',
  rate_limited: 'CUSTODIAN_ERR_CONNECTOR_RATE_LIMITED',
  quota_exhausted: 'CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED',
  auth_expired: 'CUSTODIAN_ERR_CONNECTOR_AUTH',
  auth_revoked: 'CUSTODIAN_ERR_CONNECTOR_AUTH',
  permission: 'CUSTODIAN_ERR_CONNECTOR_PERMISSION',
  not_found: 'CUSTODIAN_ERR_CONNECTOR_NOT_FOUND',
  bad_request: 'CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST',
  bad_response: 'CUSTODIAN_ERR_CONNECTOR_BAD_RESPONSE',
  config: 'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
  aborted: 'CUSTODIAN_ERR_ABORTED',
  unknown: 'CUSTODIAN_ERR_CONNECTOR_FAILED',
};

export interface ConnectorErrorOptions extends CustodianErrorOptions {
  system: string;
  operation: string;
  kind: FailureKind;
  status?: number;
  /** For quota exhaustion: when the system may resume. */
  resumeAt?: Date;
}

/** Every failure that crosses the connector runtime becomes one of these. */
export class ConnectorError extends CustodianError {
  readonly system: string;
  readonly operation: string;
  readonly kind: FailureKind;
  readonly status?: number;
  readonly resumeAt?: Date;

  constructor(message: string, options: ConnectorErrorOptions) {
    super(KIND_TO_CODE[options.kind], `[${options.system}] ${options.operation}: ${message}`, {
      ...options,
      details: { ...options.details, system: options.system, operation: options.operation, kind: options.kind },
    });
    this.name = 'ConnectorError';
    this.system = options.system;
    this.operation = options.operation;
    this.kind = options.kind;
    if (options.status !== undefined) this.status = options.status;
    if (options.resumeAt !== undefined) this.resumeAt = options.resumeAt;
  }
}

export function isCustodianError(err: unknown): err is CustodianError {
  return err instanceof CustodianError;
}

/** A message for a user: code, message and hint on separate lines. */
export function formatError(err: unknown): string {
  if (err instanceof CustodianError) return `${err.code}: ${err.message}\n  hint: ${err.hint}`;
  if (err instanceof Error) return `CUSTODIAN_ERR_UNEXPECTED: ${err.message}`;
  return `CUSTODIAN_ERR_UNEXPECTED: ${String(err)}`;
}
