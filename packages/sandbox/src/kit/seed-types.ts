/**
 * The synthetic world the sandbox serves. People are generated on demand from (seed, index), so a
 * million-person world costs no memory until records are changed; vendor stores keep only overlays
 * (updates, deletions, recycle bins) on top of the generated base.
 */
import type { VendorName } from './types.js';

export type PlantedProblem =
  | 'card_in_note'
  | 'iban_in_note'
  | 'national_id_in_note'
  | 'health_in_note'
  | 'password_in_note'
  | 'opted_out_in_one_system'
  | 'inactive_for_years'
  | 'duplicate_in_system'
  | 'missing_consent'
  | 'undeclared_copy';

export interface SeedNote {
  /** Stable per person and vendor: `${personIndex}-${n}`. */
  key: string;
  text: string;
  /** ISO language code the note is written in (en, de, fr, es, sv, lv, zh). */
  lang: string;
  createdAt: string;
  /** Detector types planted in the text (empty for clean notes). */
  planted: string[];
}

export interface SeedPerson {
  index: number;
  firstName: string;
  lastName: string;
  /** Unique per person; lower-case. */
  email: string;
  /** E.164. */
  phone: string;
  country: string;
  city: string;
  street: string;
  postalCode: string;
  company: string;
  jobTitle: string;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
  lifecycleStage: 'subscriber' | 'lead' | 'opportunity' | 'customer';
  legalBasis: 'consent' | 'contract' | 'legitimate_interest' | null;
  /** Systems holding a copy of this person. */
  systems: VendorName[];
  /** Marketing opt-out per system that holds the person. */
  optedOut: Partial<Record<VendorName, boolean>>;
  /** Systems holding a second record of the same person (duplicate inside one system). */
  duplicatedIn: VendorName[];
  /** Notes per system. */
  notes: Partial<Record<VendorName, SeedNote[]>>;
  problems: PlantedProblem[];
}

export interface SeedOptions {
  people: number;
  seed: number;
  /** Pin "now" so generated dates are reproducible. */
  now?: Date;
}

export interface SeedWorld {
  readonly options: Required<SeedOptions>;
  /** Person by index, 0 <= index < people. Deterministic. */
  person(index: number): SeedPerson;
  /** Indexes of people held by a vendor, in a stable order (ascending). */
  indexesIn(vendor: VendorName): Iterable<number>;
  /** Count of people held by a vendor (without iterating). */
  countIn(vendor: VendorName): number;
  /** What was planted: counts per problem and per vendor, and sample people per problem. */
  planted(): PlantedReport;
}

export interface PlantedReport {
  people: number;
  perVendor: Record<VendorName, number>;
  problems: Record<PlantedProblem, number>;
  /** Up to 5 person indexes per problem, for tests and the demo. */
  samples: Record<PlantedProblem, number[]>;
  /** A person present in all three vendors, used by the demo for `where` and erasure. */
  demoPerson: number;
  /** People per problem per vendor where a scan should find it (note problems: the vendor holding the note). */
  problemsPerVendor?: Record<PlantedProblem, Record<VendorName, number>>;
  /** How `undeclared_copy` is planted: the system set and the purposes the ready config declares. */
  undeclaredCopy?: { systems: VendorName[]; declaredPurposes: Record<VendorName, string[]>; explanation: string };
}
