/**
 * Domain model shared by every package. See DESIGN.md "Domain model".
 * Records exist only in memory; the ledger stores refs, subject keys, field names and masked evidence.
 */

/** Field categories: a small taxonomy every field of every stream is classified into. */
export const FIELD_CATEGORIES = [
  'contact.email',
  'contact.phone',
  'contact.address',
  'name',
  'identifier.government',
  'identifier.vendor',
  'financial',
  'health',
  'special_category',
  'free_text',
  'consent',
  'activity',
  'system',
  'other',
] as const;
export type FieldCategory = (typeof FIELD_CATEGORIES)[number];

/** Canonical field names every connector maps into. */
export const CANONICAL_FIELDS = [
  'email',
  'secondaryEmail',
  'phone',
  'mobilePhone',
  'firstName',
  'lastName',
  'address',
  'city',
  'postalCode',
  'country',
  'company',
  'jobTitle',
  'dateOfBirth',
] as const;
export type CanonicalField = (typeof CANONICAL_FIELDS)[number];
export type CanonicalFields = Partial<Record<CanonicalField, string | null>>;

export interface RecordRef {
  /** The user's name for the connected system, e.g. `hubspot-eu`. */
  system: string;
  /** The stream / vendor object, e.g. `contacts`, `Contact`, `notes`. */
  object: string;
  id: string;
}

export type StreamKind = 'person' | 'activity' | 'other';

export interface ConsentState {
  /** True when the person opted out of marketing in this system. */
  marketingOptOut?: boolean;
  /** Legal basis recorded in the CRM, normalised: `consent`, `contract`, `legal_obligation`, `vital_interest`, `public_task`, `legitimate_interest`. */
  legalBasis?: string | null;
  /** Purposes the person consented to, as recorded in the CRM (vendor subscription names etc.). */
  consentedPurposes?: string[];
}

export interface CrmRecord {
  ref: RecordRef;
  kind: StreamKind;
  createdAt?: string | null;
  updatedAt?: string | null;
  /** Last activity (email open, meeting, call) as the CRM reports it; drives retention. */
  lastActivityAt?: string | null;
  /** Lifecycle stage or status (`lead`, `customer`, ...), for per-stage retention. */
  lifecycleStage?: string | null;
  canonical: CanonicalFields;
  /** Vendor field values keyed by vendor field name. Held in memory only, never persisted. */
  fields: Record<string, unknown>;
  consent?: ConsentState;
  /** For activity records (notes, tasks): the person records they belong to. */
  links?: RecordRef[];
  /** Record archived / in recycle bin / soft deleted at the vendor. */
  archived?: boolean;
}

export type IdentityKind = 'email' | 'phone' | 'vendor_id';
export interface Identity {
  kind: IdentityKind;
  /** Normalised value (lower-cased email, E.164 phone, `system:object:id` for vendor ids). */
  value: string;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export type ViolationStatus = 'open' | 'resolved' | 'waived';

export interface Violation {
  rule: string;
  policy: string;
  severity: Severity;
  ref: RecordRef;
  field?: string | null;
  /** Masked evidence, never the raw value: `card **** 1111`. */
  evidence: string;
  subjectKey?: string | null;
  firstSeen: string;
  lastSeen: string;
  status: ViolationStatus;
}

export type DuplicationOrigin = 'sync' | 'export' | 'request' | 'custodian';
export interface Duplication {
  subjectKey: string;
  /** The system of record copy (first seen) and the copy. */
  source: RecordRef;
  copy: RecordRef;
  fields: string[];
  purpose: string | null;
  legalBasis: string | null;
  origin: DuplicationOrigin;
  firstSeen: string;
  lastSeen: string;
  status: 'active' | 'erased' | 'gone';
}

export type RequestKind = 'erase' | 'export' | 'rectify' | 'opt-out';
export type Jurisdiction = 'gdpr' | 'ccpa' | 'pipl';

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  /** Refs, counts, subject keys: never raw personal data. */
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}
