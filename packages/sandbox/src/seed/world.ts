/**
 * The deterministic synthetic world. Person `i` is a pure function of (seed, i): nothing is held in
 * memory per person, so a million-person world costs only what callers keep.
 *
 * Two PRNG streams per person keep counting cheap:
 * - the *traits* stream (systems, planted problems, where they sit) is a handful of draws, so
 *   `planted()` and `countIn()` can scan a million people in well under a second;
 * - the *details* stream (names, addresses, dates, note texts) is only drawn by `person(i)`.
 */
import { z } from 'zod';
import type { PlantedProblem, PlantedReport, SeedNote, SeedOptions, SeedPerson, SeedWorld } from '../kit/seed-types.js';
import { VENDORS, type VendorName } from '../kit/types.js';
import { cardNumber, iban, nationalId, password, type Rand } from './checksums.js';
import {
  CLEAN_NOTES,
  COMPANY_STEMS,
  COMPANY_SUFFIX,
  COUNTRIES,
  COUNTRY_WEIGHTS,
  JOB_TITLES,
  NOTE_LANGS,
  type NoteLang,
  SENSITIVE_NOTES,
} from './data.js';

/** Fixed planting rates (share of people). Changing them changes every seeded world. */
export const PLANT_RATES = {
  card_in_note: 0.03,
  iban_in_note: 0.02,
  national_id_in_note: 0.02,
  health_in_note: 0.02,
  password_in_note: 0.01,
  /** Of people held by two or more systems. */
  opted_out_in_one_system: 0.1,
  inactive_for_years: 0.08,
  duplicate_in_system: 0.03,
  missing_consent: 0.06,
} as const;

/** Share of people in each vendor before the "everyone in at least one" fix-up. */
export const VENDOR_SHARE: Record<VendorName, number> = { hubspot: 0.6, salesforce: 0.5, zoho: 0.4 };

/**
 * Purposes the sandbox's ready config declares per system. With these, a person held by exactly
 * Salesforce and Zoho has copies whose purposes do not overlap (sales vs support): that is the
 * planted `undeclared_copy`. HubSpot shares `marketing` with Salesforce and `support` with Zoho, so
 * any other combination is declared.
 */
export const DECLARED_PURPOSES: Record<VendorName, string[]> = {
  hubspot: ['marketing', 'support'],
  salesforce: ['sales', 'marketing'],
  zoho: ['support'],
};
export const DECLARED_LEGAL_BASIS: Record<VendorName, string> = {
  hubspot: 'consent',
  salesforce: 'contract',
  zoho: 'legitimate_interest',
};
/** The exact system set that makes a person an undeclared copy under DECLARED_PURPOSES. */
export const UNDECLARED_COPY_SYSTEMS: VendorName[] = ['salesforce', 'zoho'];

const NOTE_PROBLEMS = [
  'card_in_note',
  'iban_in_note',
  'national_id_in_note',
  'health_in_note',
  'password_in_note',
] as const;
type NoteProblem = (typeof NOTE_PROBLEMS)[number];
const NOTE_KIND: Record<NoteProblem, keyof typeof SENSITIVE_NOTES> = {
  card_in_note: 'card',
  iban_in_note: 'iban',
  national_id_in_note: 'national_id',
  health_in_note: 'health',
  password_in_note: 'password',
};
/** The detector type (packages/core detector) each planted note kind must be found as. */
export const DETECTOR_TYPE: Record<keyof typeof SENSITIVE_NOTES, string> = {
  card: 'card_number',
  iban: 'iban',
  national_id: 'national_id',
  health: 'health',
  password: 'credential',
};
export const PROBLEMS: PlantedProblem[] = [
  ...NOTE_PROBLEMS,
  'opted_out_in_one_system',
  'inactive_for_years',
  'duplicate_in_system',
  'missing_consent',
  'undeclared_copy',
];

const VENDOR_BIT: Record<VendorName, number> = { hubspot: 1, salesforce: 2, zoho: 4 };
const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
/** Default "now" so worlds are reproducible across days. */
export const DEFAULT_SEED_NOW = new Date('2026-11-01T00:00:00.000Z');

/** murmur3 finaliser over (seed, index, stream): a well-mixed 32-bit state for each stream. */
function mix(seed: number, index: number, stream: number): number {
  let h = (seed ^ Math.imul(index + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35)) >>> 0;
  h ^= index >>> 16;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: tiny, fast, good enough for synthetic data. */
function mulberry32(state: number): Rand {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(items: readonly T[], r: Rand): T => items[Math.floor(r() * items.length)] as T;

/** What is planted on a person, decided from the cheap traits stream. */
export interface PersonTraits {
  systems: VendorName[];
  problems: PlantedProblem[];
  /** The system where the person is opted out while other systems say subscribed. */
  optedOutOnlyIn: VendorName | null;
  /** Opted out everywhere (consistent, not a problem). */
  optedOutEverywhere: boolean;
  duplicatedIn: VendorName | null;
  /** For each planted note problem, the system whose notes carry it. */
  noteProblemIn: Partial<Record<PlantedProblem, VendorName>>;
}

export function traitsOf(seed: number, index: number): PersonTraits {
  const r = mulberry32(mix(seed, index, 1));
  const systems = VENDORS.filter((v) => r() < VENDOR_SHARE[v]);
  const fallback = pick(VENDORS, r);
  if (systems.length === 0) systems.push(fallback);
  const problems: PlantedProblem[] = [];
  const noteProblemIn: Partial<Record<PlantedProblem, VendorName>> = {};
  for (const problem of NOTE_PROBLEMS) {
    const hit = r() < PLANT_RATES[problem];
    const where = pick(systems, r);
    if (hit) {
      problems.push(problem);
      noteProblemIn[problem] = where;
    }
  }
  const optRoll = r();
  const optWhere = pick(systems, r);
  let optedOutOnlyIn: VendorName | null = null;
  let optedOutEverywhere = false;
  if (systems.length >= 2 && optRoll < PLANT_RATES.opted_out_in_one_system) {
    optedOutOnlyIn = optWhere;
    problems.push('opted_out_in_one_system');
  } else if (optRoll > 0.96) {
    optedOutEverywhere = true;
  }
  if (r() < PLANT_RATES.inactive_for_years) problems.push('inactive_for_years');
  const dupRoll = r();
  const dupWhere = pick(systems, r);
  let duplicatedIn: VendorName | null = null;
  if (dupRoll < PLANT_RATES.duplicate_in_system) {
    duplicatedIn = dupWhere;
    problems.push('duplicate_in_system');
  }
  if (r() < PLANT_RATES.missing_consent) problems.push('missing_consent');
  if (systems.length === 2 && systems[0] === UNDECLARED_COPY_SYSTEMS[0] && systems[1] === UNDECLARED_COPY_SYSTEMS[1]) {
    problems.push('undeclared_copy');
  }
  return { systems, problems, optedOutOnlyIn, optedOutEverywhere, duplicatedIn, noteProblemIn };
}

/** The vendors a planted problem is attributed to (where a scan should find it). */
export function problemVendors(traits: PersonTraits, problem: PlantedProblem): VendorName[] {
  switch (problem) {
    case 'opted_out_in_one_system':
      return traits.optedOutOnlyIn ? [traits.optedOutOnlyIn] : [];
    case 'duplicate_in_system':
      return traits.duplicatedIn ? [traits.duplicatedIn] : [];
    case 'undeclared_copy':
      return [...UNDECLARED_COPY_SYSTEMS];
    case 'inactive_for_years':
    case 'missing_consent':
      return traits.systems;
    default: {
      const where = traits.noteProblemIn[problem];
      return where ? [where] : [];
    }
  }
}

const asciiSlug = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');

function phoneFor(country: (typeof COUNTRIES)[number], r: Rand): string {
  const prefix = pick(country.mobile.prefix, r);
  let rest = '';
  if (country.code === 'US') {
    // NANP exchange: first digit 2-9, and never N11.
    const d1 = 2 + Math.floor(r() * 8);
    const d2 = Math.floor(r() * 10);
    const d3 = Math.floor(r() * 10);
    rest = `${d1}${d2}${d2 === 1 && d3 === 1 ? 2 : d3}`;
    for (let i = 0; i < 4; i++) rest += Math.floor(r() * 10).toString();
  } else {
    for (let i = 0; i < country.mobile.digits; i++) rest += Math.floor(r() * 10).toString();
  }
  return `+${country.callingCode}${prefix}${rest}`;
}

function pickCountry(r: Rand): (typeof COUNTRIES)[number] {
  let roll = r();
  for (let i = 0; i < COUNTRIES.length; i++) {
    roll -= COUNTRY_WEIGHTS[i] ?? 0;
    if (roll < 0) return COUNTRIES[i] as (typeof COUNTRIES)[number];
  }
  return COUNTRIES[0] as (typeof COUNTRIES)[number];
}

const seedOptionsSchema = z.object({
  people: z.number().int().min(1).max(100_000_000),
  seed: z.number().int(),
  now: z.date().optional(),
});

/**
 * Create the deterministic world. `person(i)` is O(1) and allocation-light; `planted()` and
 * `countIn()` compute once over the cheap traits stream and are cached.
 */
export function createSeedWorld(options: SeedOptions): SeedWorld {
  const parsed = seedOptionsSchema.parse(options);
  const opts: Required<SeedOptions> = Object.freeze({
    people: parsed.people,
    seed: parsed.seed >>> 0,
    now: parsed.now ?? DEFAULT_SEED_NOW,
  });
  const nowMs = opts.now.getTime();
  let report: PlantedReport | null = null;
  let counts: Record<VendorName, number> | null = null;
  // One byte per person (a bit per vendor): 1 MB for a million people, so vendor scans skip the
  // traits stream entirely after the first pass.
  let membership: Uint8Array | null = null;
  const membershipBits = (): Uint8Array => {
    if (membership) return membership;
    const bits = new Uint8Array(opts.people);
    const c: Record<VendorName, number> = { hubspot: 0, salesforce: 0, zoho: 0 };
    for (let i = 0; i < opts.people; i++) {
      let b = 0;
      for (const v of traitsOf(opts.seed, i).systems) {
        b |= VENDOR_BIT[v];
        c[v]++;
      }
      bits[i] = b;
    }
    counts = c;
    membership = bits;
    return bits;
  };

  const person = (index: number): SeedPerson => {
    if (!Number.isInteger(index) || index < 0 || index >= opts.people) {
      throw new RangeError(`person index ${index} is outside the seeded world (0..${opts.people - 1})`);
    }
    const traits = traitsOf(opts.seed, index);
    const r = mulberry32(mix(opts.seed, index, 2));
    const country = pickCountry(r);
    const firstName = pick(country.firstNames, r);
    const lastName = pick(country.lastNames, r);
    const city = pick(country.cities, r);
    const street = `${pick(country.streets, r)} ${1 + Math.floor(r() * 120)}`;
    const postalCode = city.postal(r);
    const company = `${pick(COMPANY_STEMS, r)} ${pick(COMPANY_SUFFIX[country.code] ?? ['Ltd'], r)}`;
    const jobTitle = pick(JOB_TITLES, r);
    const phone = phoneFor(country, r);
    const email = `${asciiSlug(firstName) || 'person'}.${asciiSlug(lastName) || 'contact'}.${index}@example-${index % 7}.test`;

    const inactive = traits.problems.includes('inactive_for_years');
    const sinceActivity = inactive ? 4.2 * YEAR + r() * 4 * YEAR : r() * 3 * YEAR;
    const lastActivityMs = Math.floor(nowMs - sinceActivity);
    const createdMs = Math.floor(lastActivityMs - r() * 3 * YEAR - DAY);
    const updatedMs = Math.floor(lastActivityMs - r() * 30 * DAY);
    const stageRoll = r();
    const lifecycleStage: SeedPerson['lifecycleStage'] =
      stageRoll < 0.3 ? 'subscriber' : stageRoll < 0.6 ? 'lead' : stageRoll < 0.75 ? 'opportunity' : 'customer';
    const basisRoll = r();
    const legalBasis: SeedPerson['legalBasis'] = traits.problems.includes('missing_consent')
      ? null
      : basisRoll < 0.5
        ? 'consent'
        : basisRoll < 0.8
          ? 'contract'
          : 'legitimate_interest';

    const optedOut: Partial<Record<VendorName, boolean>> = {};
    for (const v of traits.systems) optedOut[v] = traits.optedOutEverywhere || traits.optedOutOnlyIn === v;

    const homeLang = country.lang as NoteLang;
    const noteLang = (): NoteLang => (r() < 0.7 ? homeLang : pick(NOTE_LANGS, r));
    const notes: Partial<Record<VendorName, SeedNote[]>> = {};
    let n = 0;
    const noteAt = (): string =>
      new Date(Math.floor(createdMs + r() * Math.max(DAY, updatedMs - createdMs))).toISOString();
    for (const v of traits.systems) {
      const list: SeedNote[] = [];
      const clean = Math.floor(r() * 3);
      for (let k = 0; k < clean; k++) {
        const lang = noteLang();
        const text = pick(CLEAN_NOTES[lang], r)
          .replace('{order}', `ORD-${100000 + Math.floor(r() * 900000)}`)
          .replace(
            '{invoice}',
            `INV-${2020 + Math.floor(r() * 6)}-${Math.floor(r() * 10000)
              .toString()
              .padStart(4, '0')}`,
          );
        list.push({ key: `${index}-${n++}`, text, lang, createdAt: noteAt(), planted: [] });
      }
      for (const problem of NOTE_PROBLEMS) {
        if (traits.noteProblemIn[problem] !== v) continue;
        const kind = NOTE_KIND[problem];
        const lang = noteLang();
        let value = '';
        if (kind === 'card') value = cardNumber(r);
        else if (kind === 'iban') value = iban(r);
        else if (kind === 'password') value = password(r);
        else if (kind === 'national_id') {
          // A bare 9-digit BSN is indistinguishable from an order number; real notes name it.
          const id = nationalId(r);
          value = id.kind === 'nl_bsn' ? `BSN ${id.value}` : id.value;
        }
        const planted = DETECTOR_TYPE[kind];
        const text = SENSITIVE_NOTES[kind][lang].replace('{value}', value);
        list.push({ key: `${index}-${n++}`, text, lang, createdAt: noteAt(), planted: [planted] });
      }
      if (list.length > 0) notes[v] = list;
    }

    return {
      index,
      firstName,
      lastName,
      email,
      phone,
      country: country.code,
      city: city.name,
      street,
      postalCode,
      company,
      jobTitle,
      createdAt: new Date(createdMs).toISOString(),
      updatedAt: new Date(updatedMs).toISOString(),
      lastActivityAt: new Date(lastActivityMs).toISOString(),
      lifecycleStage,
      legalBasis,
      systems: [...traits.systems],
      optedOut,
      duplicatedIn: traits.duplicatedIn ? [traits.duplicatedIn] : [],
      notes,
      problems: [...traits.problems],
    };
  };

  const computeReport = (): PlantedReport => {
    const perVendor: Record<VendorName, number> = { hubspot: 0, salesforce: 0, zoho: 0 };
    const problems = Object.fromEntries(PROBLEMS.map((p) => [p, 0])) as Record<PlantedProblem, number>;
    const samples = Object.fromEntries(PROBLEMS.map((p) => [p, [] as number[]])) as Record<PlantedProblem, number[]>;
    const problemsPerVendor = Object.fromEntries(
      PROBLEMS.map((p) => [p, { hubspot: 0, salesforce: 0, zoho: 0 }]),
    ) as Record<PlantedProblem, Record<VendorName, number>>;
    let demoPerson = -1;
    let demoFallback = -1;
    for (let i = 0; i < opts.people; i++) {
      const t = traitsOf(opts.seed, i);
      for (const v of t.systems) perVendor[v]++;
      for (const p of t.problems) {
        problems[p]++;
        if (samples[p].length < 5) samples[p].push(i);
        for (const v of problemVendors(t, p)) problemsPerVendor[p][v]++;
      }
      if (demoPerson < 0 && t.systems.length === 3) {
        if (t.noteProblemIn.card_in_note) demoPerson = i;
        else if (demoFallback < 0 && Object.keys(t.noteProblemIn).length > 0) demoFallback = i;
      }
    }
    return {
      people: opts.people,
      perVendor,
      problems,
      samples,
      demoPerson: demoPerson >= 0 ? demoPerson : Math.max(demoFallback, 0),
      problemsPerVendor,
      undeclaredCopy: {
        systems: [...UNDECLARED_COPY_SYSTEMS],
        declaredPurposes: DECLARED_PURPOSES,
        explanation:
          'people held by exactly salesforce (purposes sales, marketing) and zoho (purpose support): neither copy serves a purpose of the other',
      },
    };
  };

  return {
    options: opts,
    person,
    *indexesIn(vendor: VendorName): Iterable<number> {
      const bits = membershipBits();
      const bit = VENDOR_BIT[vendor];
      for (let i = 0; i < bits.length; i++) if ((bits[i] as number) & bit) yield i;
    },
    countIn(vendor: VendorName): number {
      membershipBits();
      return (counts as Record<VendorName, number>)[vendor];
    },
    planted(): PlantedReport {
      report ??= computeReport();
      return report;
    },
  };
}
