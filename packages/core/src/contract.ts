/**
 * The connector contract. A connector is one `defineConnector({...})` default export. It declares what it
 * is (id, streams with field classification, limits, capabilities) and returns its operations from
 * `setup`. The runtime (./runtime) wraps every operation and every vendor call: rate limits, retries,
 * token refresh, abort, coded errors. Only `read` is required; everything else is an optional capability
 * the core falls back from.
 */
import type { z } from 'zod';
import type { FailureKind } from './errors.js';
import type { Logger } from './logger.js';
import type { CanonicalField, CrmRecord, FieldCategory, Identity, RecordRef, StreamKind } from './types.js';

export const CORE_VERSION = '0.1.0';

export interface FieldClassification {
  /** Vendor field name (`hs_note_body`, `Email`, `Email_Opt_Out`). */
  name: string;
  category: FieldCategory;
  /** Canonical field this vendor field maps to, so rectify can write `lastName` anywhere. */
  canonical?: CanonicalField;
}

export type DeleteStrategy =
  | { kind: 'tombstones'; source: 'endpoint' | 'flag' | 'archive' }
  | { kind: 'full-diff' }
  | { kind: 'none'; reason: string };

export interface StreamDefinition {
  name: string;
  kind: StreamKind;
  title?: string;
  fields: FieldClassification[];
  /** How the stream resumes: `timestamp` watermark, vendor `opaque` token, or a full read every run. */
  cursor: 'timestamp' | 'opaque' | 'none';
  deletes: DeleteStrategy;
}

export type Checkpoint = Record<string, unknown>;

export interface DeletedRecord {
  ref: RecordRef;
  deletedAt?: string | null;
  /** `archived` (restorable: recycle bin, HubSpot archive) or `deleted` (gone for good). */
  state: 'archived' | 'deleted';
}

export interface Page {
  records: CrmRecord[];
  deleted?: DeletedRecord[];
  /** Committed atomically with this page's effects; the next read resumes from it. */
  checkpoint: Checkpoint;
  /**
   * Set on the last page of a complete snapshot of the stream (full-diff streams): every record of the
   * stream not yielded since `since` is gone. Never set after a partial or failed read, so deletes are
   * never inferred from a partial run.
   */
  snapshotComplete?: { since: string };
}

export type RefOutcome = 'done' | 'already_gone' | 'failed' | 'skipped';
export interface RefResult {
  ref: RecordRef;
  outcome: RefOutcome;
  /** Safe, non-personal reason (vendor error code and message). */
  reason?: string;
}

/** Reason of a read-back result for a record the identities still find (see `verifyErased`). */
export const LEFTOVER_REASON = 'person still found by identity';

/**
 * The results `verifyErased` adds after its per-ref ones: one `failed` result, with the record's own ref, for
 * each record found by the identities that is not among the given refs (each record once).
 */
export function leftoverResults(given: RecordRef[], found: { ref: RecordRef; archived?: boolean }[]): RefResult[] {
  const key = (ref: RecordRef) => `${ref.system}\u0000${ref.object}\u0000${ref.id}`;
  const known = new Set(given.map(key));
  const out = new Map<string, RefResult>();
  for (const { ref, archived } of found)
    if (!known.has(key(ref)))
      out.set(key(ref), {
        ref,
        outcome: 'failed',
        reason: archived ? `${LEFTOVER_REASON} (archived or in the recycle bin)` : LEFTOVER_REASON,
      });
  return [...out.values()];
}

export interface FieldChange {
  ref: RecordRef;
  /** Vendor field name -> new value (null clears). */
  set: Record<string, string | boolean | null>;
  /** Vendor field name -> value we expect to replace; a mismatch is a conflict, not an overwrite. */
  expected?: Record<string, unknown>;
}

export interface EraseOptions {
  /** Also empty recycle bins / use the vendor's permanent (GDPR) delete. */
  permanent: boolean;
}

export interface CrmUser {
  id: string;
  active: boolean;
  role?: string | null;
  lastLoginAt?: string | null;
}

export interface CheckResult {
  check: string;
  ok: boolean;
  message: string;
}

export type Capability =
  | 'find'
  | 'get'
  | 'related'
  | 'erase'
  | 'purge'
  | 'verify'
  | 'update'
  | 'opt-out'
  | 'list-users'
  | 'check';

export interface CallOptions {
  /** Rate-limit group declared in `limits.groups` (default: `default`). */
  group?: string;
  /** Requests this call costs against the group and the daily quota (Zoho credits). Default 1. */
  cost?: number;
  /** Writes that are not idempotent are not retried after the request may have reached the vendor. */
  idempotent?: boolean;
}

export interface QuotaReport {
  used: number;
  limit: number;
  /** When the quota resets; defaults to the next UTC midnight. */
  resetAt?: Date;
  /** Share of `limit` at which the system stops, when the connector's options set one; else the runtime's. */
  stopShare?: number;
  /** Usage as the vendor wrote it (Salesforce `api-usage=N/M`), quoted verbatim in the quota error. */
  vendorUsage?: string;
}

export interface OperationContext {
  system: string;
  log: Logger;
  signal: AbortSignal;
  now(): Date;
  /**
   * Run one vendor API call through the runtime: waits for the rate-limit group, retries transient
   * failures with full-jitter backoff, honours Retry-After, refreshes auth once on `auth_expired`,
   * pauses on quota exhaustion and maps failures to `ConnectorError`.
   */
  call<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, options?: CallOptions): Promise<T>;
  /** Report vendor quota usage read from response headers; the runtime stops below the configured share. */
  reportQuota(report: QuotaReport): void;
}

export interface ConnectorOperations {
  /** Required. Read one stream page by page from a checkpoint (null = from the beginning). */
  read(stream: string, checkpoint: Checkpoint | null, ctx: OperationContext): AsyncIterable<Page>;
  /** Person records matching any of the identities, live from the vendor. */
  find?(identities: Identity[], ctx: OperationContext): Promise<CrmRecord[]>;
  /** Records by ref; null where the vendor no longer has it (archived ones come back with `archived: true`). */
  get?(refs: RecordRef[], ctx: OperationContext): Promise<(CrmRecord | null)[]>;
  /** Activity records (notes, tasks, calls, cases) linked to these person records. */
  related?(persons: RecordRef[], ctx: OperationContext): Promise<CrmRecord[]>;
  /** Delete records; "already gone" is `already_gone`, not a failure. */
  erase?(refs: RecordRef[], options: EraseOptions, ctx: OperationContext): Promise<RefResult[]>;
  /** Remove deleted records from recycle bins / archives so they cannot be restored. */
  purge?(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]>;
  /**
   * Confirm refs are gone for good (including recycle bins) and that nobody is still found by the
   * identities. Results hold one entry per given ref (its own read-back), plus one `failed` entry (reason
   * like `person still found by identity`) with the record's own ref for each record the identities still
   * find that is not among the given refs (a contact re-created after locate, a duplicate locate missed).
   * The runtime keeps those extra entries when they are refs of this system. Fallback: `get` + `find`.
   */
  verifyErased?(refs: RecordRef[], identities: Identity[], ctx: OperationContext): Promise<RefResult[]>;
  /** Write field values; honours `expected` (conflict -> outcome `failed`, reason `conflict`). */
  update?(changes: FieldChange[], ctx: OperationContext): Promise<RefResult[]>;
  /** Set the marketing opt-out on these person records, with whatever the vendor needs (subscriptions). */
  setMarketingOptOut?(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]>;
  listUsers?(ctx: OperationContext): Promise<CrmUser[]>;
  /** Connectivity, credentials and scopes, for `custodian doctor`. */
  check?(ctx: OperationContext): Promise<CheckResult[]>;
  /** Called when a call failed with `auth_expired`: drop the cached token so the retry refreshes it. */
  onAuthExpired?(ctx: OperationContext): Promise<void>;
  close?(): Promise<void>;
}

export interface RateLimitGroup {
  /**
   * At most `intervalCap` calls in any `intervalMs` (a rolling window; each call holds its slot until
   * `intervalMs` after its response, so the vendor's count by arrival is never exceeded); `Infinity` when the
   * vendor counts none.
   */
  intervalMs: number;
  intervalCap: number;
  /** Calls in flight at once. */
  concurrency: number;
}

export interface DeclaredLimits {
  groups: { default: RateLimitGroup } & Record<string, RateLimitGroup>;
  /** Daily request (or credit) allocation, if the vendor has one. */
  daily?: number;
}

export interface ClassifiedFailure {
  kind: FailureKind;
  status?: number;
  message?: string;
  retryAfterMs?: number;
  resumeAt?: Date;
}

export interface SetupContext {
  system: string;
  log: Logger;
}

export interface ConnectorDefinition<Schema extends z.ZodType = z.ZodType> {
  id: string;
  title: string;
  /** Semver range of @custodian/core this connector supports. */
  core: string;
  options: Schema;
  streams: StreamDefinition[] | ((options: z.output<Schema>) => StreamDefinition[]);
  limits: DeclaredLimits | ((options: z.output<Schema>) => DeclaredLimits);
  capabilities: Capability[];
  /** Option paths that hold secrets: never logged, never shown by `doctor`. */
  secrets?: string[];
  /** Map a vendor SDK / HTTP error into a failure kind; the runtime's default handles `HttpError` and network errors. */
  classifyError?(err: unknown): ClassifiedFailure | undefined;
  setup(options: z.output<Schema>, ctx: SetupContext): ConnectorOperations | Promise<ConnectorOperations>;
}

export type AnyConnectorDefinition = ConnectorDefinition<z.ZodType>;

const OPERATION_FOR_CAPABILITY: Record<Capability, keyof ConnectorOperations> = {
  find: 'find',
  get: 'get',
  related: 'related',
  erase: 'erase',
  purge: 'purge',
  verify: 'verifyErased',
  update: 'update',
  'opt-out': 'setMarketingOptOut',
  'list-users': 'listUsers',
  check: 'check',
};

export function operationForCapability(capability: Capability): keyof ConnectorOperations {
  return OPERATION_FOR_CAPABILITY[capability];
}

/** Identity wrapper that gives connector authors type inference and marks the object as a connector. */
export function defineConnector<Schema extends z.ZodType>(
  definition: ConnectorDefinition<Schema>,
): ConnectorDefinition<Schema> {
  return Object.freeze(definition);
}

export function resolveStreams<S extends z.ZodType>(
  def: ConnectorDefinition<S>,
  options: z.output<S>,
): StreamDefinition[] {
  return typeof def.streams === 'function' ? def.streams(options) : def.streams;
}

export function resolveLimits<S extends z.ZodType>(def: ConnectorDefinition<S>, options: z.output<S>): DeclaredLimits {
  return typeof def.limits === 'function' ? def.limits(options) : def.limits;
}
