/**
 * The ledger interface the core runs against. `@custodian/ledger` implements it on embedded PGlite and on
 * PostgreSQL; core depends on no database driver. Nothing here carries raw personal data: refs, subject
 * keys (HMACs), field names, masked evidence, counts, hashes and timestamps only.
 */
import type { Checkpoint } from './contract.js';
import type {
  AuditEvent,
  Duplication,
  DuplicationOrigin,
  IdentityKind,
  Jurisdiction,
  RecordRef,
  RequestKind,
  Severity,
  StreamKind,
  Violation,
  ViolationStatus,
} from './types.js';

export interface SystemRow {
  name: string;
  connector: string;
  purposes: string[];
  legalBasis: string | null;
  /** Set when the vendor's daily quota is exhausted: syncs and tasks wait until then. */
  pausedUntil?: string | null;
}

/** One record as the ledger indexes it. */
export interface IndexEntry {
  ref: RecordRef;
  kind: StreamKind;
  /** Subject keys of every identity in the record (first is the primary). */
  subjects: { key: string; kind: IdentityKind }[];
  /** Names of populated fields (vendor names). Values are never stored. */
  fieldNames: string[];
  /** For activity records: the person records they are linked to. */
  links: RecordRef[];
  updatedAt: string | null;
  lastActivityAt: string | null;
  marketingOptOut: boolean | null;
  legalBasis: string | null;
  archived: boolean;
  /** HMAC of the record's content, to tell changed from unchanged. */
  fingerprint: string;
}

export interface IndexedRecord extends IndexEntry {
  firstSeen: string;
  lastSeen: string;
  /** Set when the vendor reported the record deleted or Custodian erased it. */
  deletedAt: string | null;
}

export interface SubjectDetachment {
  ref: RecordRef;
  subjectKeys: string[];
  links: RecordRef[];
}

/** A violation as the policy engine reports it for one record in this run. */
export interface ViolationInput {
  policy: string;
  rule: string;
  severity: Severity;
  ref: RecordRef;
  field: string | null;
  evidence: string;
  subjectKey: string | null;
}

export interface PageCommit {
  runId: string;
  system: string;
  stream: string;
  records: IndexEntry[];
  deleted: { ref: RecordRef; state: 'archived' | 'deleted'; deletedAt: string | null }[];
  violations: ViolationInput[];
  checkpoint: Checkpoint;
  /** Wall clock of this commit (ISO). */
  at: string;
}

export interface PageCommitResult {
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  duplicationsAdded: number;
}

export interface RunRow {
  id: string;
  kind: 'sync' | 'full-sync' | 'request' | 'job';
  system: string | null;
  status: 'running' | 'succeeded' | 'failed' | 'aborted';
  startedAt: string;
  finishedAt: string | null;
  stats: Record<string, number>;
  error: string | null;
}

export interface ViolationFilter {
  rule?: string;
  system?: string;
  severity?: Severity;
  /** At or above this severity. */
  minSeverity?: Severity;
  status?: ViolationStatus;
  limit?: number;
}

export type RequestState =
  | 'intake'
  | 'locate'
  | 'plan'
  | 'awaiting-approval'
  | 'execute'
  | 'purge'
  | 'verify'
  | 'tombstone'
  | 'certificate'
  | 'completed'
  | 'failed'
  | 'blocked';

export interface RequestRow {
  id: string;
  kind: RequestKind;
  jurisdiction: Jurisdiction;
  state: RequestState;
  /** Subject keys of the identities named in the request (never the identities). */
  subjectKeys: string[];
  receivedAt: string;
  dueAt: string;
  extendedDueAt: string | null;
  dryRun: boolean;
  /** Non-personal parameters: permanent flag, field names to rectify, origin, approver. */
  params: Record<string, unknown>;
  /** Plan, counts, outcome, certificate: refs and counts only. */
  result: Record<string, unknown>;
  updatedAt: string;
  error: string | null;
}

export type TaskState = 'pending' | 'running' | 'done' | 'already_gone' | 'failed' | 'skipped' | 'exempt';
export interface RequestTaskRow {
  requestId: string;
  step: string;
  ref: RecordRef;
  action: string;
  state: TaskState;
  attempts: number;
  reason: string | null;
  updatedAt: string;
}

export interface DuplicationInput {
  subjectKey: string;
  source: RecordRef;
  copy: RecordRef;
  fields: string[];
  purpose: string | null;
  legalBasis: string | null;
  origin: DuplicationOrigin;
  /** Free-form, non-personal: who asked, destination folder hash. */
  note?: string | null;
}

export interface AuditInput {
  actor: string;
  action: string;
  data: Record<string, unknown>;
}

export interface AuditVerifyResult {
  ok: boolean;
  count: number;
  headHash: string;
  /** First sequence number whose hash does not match, when broken. */
  brokenAt?: number;
}

export interface Ledger {
  readonly backend: 'pglite' | 'postgres';
  readonly tenant: string;
  close(): Promise<void>;

  // systems
  upsertSystems(systems: SystemRow[]): Promise<void>;
  listSystems(): Promise<SystemRow[]>;
  setSystemPause(system: string, until: string | null): Promise<void>;

  // sync
  getCheckpoint(system: string, stream: string): Promise<Checkpoint | null>;
  /** Drop a system's checkpoints (full resync). The index is kept; records not seen again are marked gone. */
  resetCheckpoints(system: string): Promise<void>;
  /** One transaction: index upserts, deletions, duplication rows, violations (seen this run), checkpoint. */
  commitPage(page: PageCommit): Promise<PageCommitResult>;
  startRun(run: Pick<RunRow, 'kind' | 'system'>): Promise<string>;
  finishRun(id: string, status: RunRow['status'], stats: Record<string, number>, error?: string | null): Promise<void>;
  /**
   * After a complete run of a stream: resolve that stream's open violations not seen in the run, and
   * (full resync only) mark records not seen since `since` as deleted.
   */
  finishStream(input: { runId: string; system: string; stream: string; since: string; full: boolean }): Promise<{
    resolved: number;
    markedGone: number;
  }>;
  listRuns(limit?: number): Promise<RunRow[]>;

  // index queries
  recordsBySubject(subjectKeys: string[]): Promise<IndexedRecord[]>;
  recordsByRef(refs: RecordRef[]): Promise<IndexedRecord[]>;
  /** Activity records linked to these person refs. */
  recordsLinkedTo(refs: RecordRef[]): Promise<IndexedRecord[]>;
  countRecords(system?: string): Promise<number>;
  markErased(refs: RecordRef[], at: string): Promise<void>;
  /**
   * A record kept because it is shared with other people stops belonging to an erased one: these subject keys
   * and links to these person refs leave its index entry, so `where` no longer lists it for that person.
   */
  detachSubjects(detach: SubjectDetachment[]): Promise<void>;

  // duplications
  duplicationsBySubject(subjectKeys: string[]): Promise<Duplication[]>;
  recordDuplication(input: DuplicationInput): Promise<void>;
  duplicationSummary(): Promise<{ system: string; copies: number; subjects: number }[]>;

  // violations
  listViolations(filter?: ViolationFilter): Promise<Violation[]>;
  countViolations(filter?: ViolationFilter): Promise<{ rule: string; severity: Severity; count: number }[]>;
  setViolationStatus(ref: RecordRef, rule: string, status: ViolationStatus): Promise<void>;

  // tombstones
  /** One tombstone per subject key (the first request to erase it is kept). */
  addTombstones(tombstones: { subjectKey: string; requestId: string | null }[]): Promise<void>;
  tombstonesFor(subjectKeys: string[]): Promise<Set<string>>;

  // requests
  createRequest(row: Omit<RequestRow, 'updatedAt'>): Promise<void>;
  updateRequest(id: string, patch: Partial<Omit<RequestRow, 'id'>>): Promise<void>;
  /** Many patches in one transaction (a batch of requests passing a step together). */
  updateRequests(updates: { id: string; patch: Partial<Omit<RequestRow, 'id'>> }[]): Promise<void>;
  getRequest(id: string): Promise<RequestRow | null>;
  /** The requests with these ids, in the same order; null where there is none. */
  getRequests(ids: string[]): Promise<(RequestRow | null)[]>;
  listRequests(filter?: { open?: boolean }): Promise<RequestRow[]>;
  upsertTasks(tasks: Omit<RequestTaskRow, 'updatedAt' | 'attempts'>[]): Promise<void>;
  updateTask(
    requestId: string,
    step: string,
    ref: RecordRef,
    patch: Partial<Pick<RequestTaskRow, 'state' | 'reason'>>,
  ): Promise<void>;
  listTasks(requestId: string, step?: string): Promise<RequestTaskRow[]>;
  /** Every task of these requests (of one step if given), keyed by request id; every id has an entry. */
  tasksByRequest(requestIds: string[], step?: string): Promise<Map<string, RequestTaskRow[]>>;

  // audit
  appendAudit(events: AuditInput[]): Promise<AuditEvent[]>;
  auditHead(): Promise<{ seq: number; hash: string }>;
  listAudit(options?: { fromSeq?: number; limit?: number }): Promise<AuditEvent[]>;
  verifyAudit(): Promise<AuditVerifyResult>;
}
