/**
 * The sensitive-data detector: finds, in free text, values that must not be stored there. Returns
 * `{start, end, type, confidence}` with JavaScript string offsets (end exclusive). Digit-based scanners
 * run only when the text has enough digits, and every pattern is linear (no nested ambiguous
 * quantifiers), so adversarial input cannot make it slow.
 */
import { isValidIBAN } from 'ibantools';
import { type CountryCode, findPhoneNumbersInText, isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import { CustodianError } from '../errors.js';
import {
  cardIssuer,
  cnResidentId,
  deSteuerId,
  esDniNie,
  frNir,
  itCodiceFiscale,
  luhn,
  lvPersonasKods,
  lvPersonasKodsNew,
  nlBsn,
  plPesel,
  sePersonnummer,
  ukNino,
  usSsn,
} from './checksums.js';
import {
  DOB_CONTEXT,
  ID_CONTEXT,
  INSTITUTION_WORDS,
  LEXICONS,
  type Lexicon,
  PASSPORT_CONTEXT,
  PASSWORD_WORDS,
  PHONE_CONTEXT,
  PHONE_CONTEXT_COUNTRIES,
} from './lexicons/index.js';

export const DETECTOR_TYPES = [
  'card_number',
  'iban',
  'national_id',
  'tax_id',
  'passport',
  'phone',
  'email',
  'health',
  'special_category',
  'credential',
  'date_of_birth',
] as const;
export type DetectorType = (typeof DETECTOR_TYPES)[number];

export interface Finding {
  start: number;
  end: number;
  type: DetectorType;
  confidence: number;
  /** The scheme or category: `visa`, `se_personnummer`, `aws_access_key`, `religion`. */
  subtype?: string;
}

export interface DetectOptions {
  types?: readonly DetectorType[];
  /** @default 0.5 */
  minConfidence?: number;
  /** Country for phone numbers written without +country code. */
  defaultCountry?: string;
}

const detectOptionsSchema = z
  .object({
    types: z.array(z.enum(DETECTOR_TYPES)).optional(),
    minConfidence: z.number().min(0).max(1).optional(),
    defaultCountry: z
      .string()
      .refine((c) => isSupportedCountry(c), 'must be an ISO 3166-1 alpha-2 country code, e.g. "DE"')
      .optional(),
  })
  .strict();

const DETECTOR_TYPE_SET: ReadonlySet<string> = new Set(DETECTOR_TYPES);
const OPTION_KEYS: ReadonlySet<string> = new Set(['types', 'minConfidence', 'defaultCountry']);

/** Callers (the policy engine) pass fresh options per value, so valid options take a cheap path; zod explains the rest. */
function optionsLookValid(o: DetectOptions): boolean {
  for (const key in o) if (!OPTION_KEYS.has(key)) return false;
  if (o.types !== undefined && !(Array.isArray(o.types) && o.types.every((t) => DETECTOR_TYPE_SET.has(t))))
    return false;
  const min = o.minConfidence;
  if (min !== undefined && !(typeof min === 'number' && min >= 0 && min <= 1)) return false;
  const country = o.defaultCountry;
  return country === undefined || (typeof country === 'string' && isSupportedCountry(country));
}

function checkOptions(options: DetectOptions): void {
  if (optionsLookValid(options)) return;
  const parsed = detectOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new CustodianError('CUSTODIAN_ERR_INPUT_INVALID', `detect(): invalid ${where}`, { cause: parsed.error });
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const HAN = /\p{Script=Han}/u;

function near(text: string, index: number, words: readonly string[], window = 40): boolean {
  const before = text.slice(Math.max(0, index - window), index).toLowerCase();
  return words.some((w) => before.includes(w));
}

// --- patterns (exported for the adversarial-input test) ---

export const PATTERNS = {
  card: /(?<!\d|\d[.,/-]|[A-Za-z]-)\d(?:[ -]?\d){11,18}(?!\d|-[A-Za-z0-9])/g,
  iban: /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}\b/g,
  email: /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g,
  ssn: /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])/g,
  ssnPlain: /(?<!\d)\d{9}(?!\d)/g,
  nino: /\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
  digits11: /(?<!\d|\d[.,/-])\d{11}(?!\d|[.,/-]\d)/g,
  nir: /(?<![\d])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3} ?\d{2}(?!\d)/g,
  dni: /\b(?:[XYZ]\d{7}|\d{8})-?[A-Z]\b/g,
  codiceFiscale: /\b[A-Z]{6}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z]\b/g,
  bsn: /(?<!\d|\d[.,/-])\d{9}(?!\d|[.,/-]\d)/g,
  personnummer: /(?<!\d|\d[.,/-])(?:19|20)?\d{6}[-+]?\d{4}(?!\d|[.,/-]\d)/g,
  lvCode: /(?<![\d-])\d{6}-\d{5}(?![\d-])/g,
  cnId: /(?<![\dA-Z])[1-8]\d{16}[\dXx](?![\dA-Za-z])/g,
  passport: /\b[A-Z0-9]{0,3}\d[A-Z0-9]{5,8}\b/g,
  aws: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  github: /\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
  slack: /\bxox[abprs]-[A-Za-z0-9-]{10,200}/g,
  stripe: /\b[rs]k_live_[A-Za-z0-9]{20,247}\b/g,
  google: /\bAIza[0-9A-Za-z_-]{35}\b/g,
  hubspot: /\bpat-(?:na|eu)1-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g,
  jwt: /\beyJ[A-Za-z0-9_-]{5,2000}\.eyJ[A-Za-z0-9_-]{5,8000}\.[A-Za-z0-9_-]{10,2000}/g,
  pem: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----[A-Za-z0-9+/=\s]{0,8000}?-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----/g,
  password: new RegExp(
    `(?<![\\p{Script=Latin}])(?:${PASSWORD_WORDS.map(escapeRegExp).join('|')})\\s{0,3}[:=：]\\s{0,3}([^\\s，。；、）]{3,64})`,
    'giu',
  ),
  date: /(\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}年\d{1,2}月\d{1,2}日|\d{1,2}\.? ?[\p{L}]{3,12}\.? \d{4}|[\p{L}]{3,12} \d{1,2},? \d{4})/gu,
};

interface LexiconMatcher {
  latin: RegExp;
  han: RegExp | null;
  byTerm: Map<string, Lexicon>;
}

function buildLexicon(): LexiconMatcher {
  const byTerm = new Map<string, Lexicon>();
  const latin: string[] = [];
  const han: string[] = [];
  for (const lex of LEXICONS) {
    for (const term of lex.terms) {
      byTerm.set(term.toLowerCase(), lex);
      (HAN.test(term) ? han : latin).push(term);
    }
  }
  const alt = (terms: string[]) =>
    [...new Set(terms)]
      .sort((a, b) => b.length - a.length)
      .map((t) => escapeRegExp(t).replace(/ /g, '\\s+'))
      .join('|');
  return {
    latin: new RegExp(`(?<![\\p{L}\\p{N}])(?:${alt(latin)})(?![\\p{L}\\p{N}])`, 'giu'),
    han: han.length > 0 ? new RegExp(alt(han), 'gu') : null,
    byTerm,
  };
}

const LEXICON = buildLexicon();
const INSTITUTION_AFTER = new RegExp(
  `^(?:[ -]?(?:${INSTITUTION_WORDS.map(escapeRegExp).join('|')})(?![\\p{L}])|(?:${INSTITUTION_WORDS.filter((w) =>
    HAN.test(w),
  )
    .map(escapeRegExp)
    .join('|')}))`,
  'u',
);
/** The lexicon and helper expressions, exported with PATTERNS so the adversarial-input test covers every regex. */
export const LEXICON_PATTERNS: Record<string, RegExp> = {
  lexiconLatin: LEXICON.latin,
  ...(LEXICON.han ? { lexiconHan: LEXICON.han } : {}),
  institutionAfter: INSTITUTION_AFTER,
  han: HAN,
};

// Acronyms that are ordinary words in lower case ("hearing aids") only count in capitals.
const CASE_SENSITIVE = new Set(['hiv', 'aids']);

function countDigits(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    yield m;
    if (m[0].length === 0) re.lastIndex++;
  }
}

type Sink = (f: Finding) => void;

function scanDigits(text: string, add: Sink): void {
  for (const m of matches(PATTERNS.card, text)) {
    const digits = m[0].replace(/[ -]/g, '');
    const issuer = cardIssuer(digits);
    if (issuer && luhn(digits))
      add({
        start: m.index,
        end: m.index + m[0].length,
        type: 'card_number',
        confidence: near(text, m.index, ID_CONTEXT.card!) ? 0.98 : 0.9,
        subtype: issuer,
      });
  }
  for (const m of matches(PATTERNS.ssn, text)) {
    if (usSsn(m[1]! + m[2]! + m[3]!))
      add({
        start: m.index,
        end: m.index + 11,
        type: 'national_id',
        confidence: near(text, m.index, ID_CONTEXT.us_ssn!) ? 0.95 : 0.7,
        subtype: 'us_ssn',
      });
  }
  for (const m of matches(PATTERNS.ssnPlain, text)) {
    if (near(text, m.index, ID_CONTEXT.us_ssn!) && usSsn(m[0]))
      add({ start: m.index, end: m.index + 9, type: 'national_id', confidence: 0.9, subtype: 'us_ssn' });
  }
  for (const m of matches(PATTERNS.digits11, text)) {
    const at = { start: m.index, end: m.index + 11 };
    if (deSteuerId(m[0]))
      add({
        ...at,
        type: 'tax_id',
        confidence: near(text, m.index, ID_CONTEXT.de_steuer_id!) ? 0.95 : 0.55,
        subtype: 'de_steuer_id',
      });
    if (plPesel(m[0]))
      add({
        ...at,
        type: 'national_id',
        confidence: near(text, m.index, ID_CONTEXT.pl_pesel!) ? 0.95 : 0.6,
        subtype: 'pl_pesel',
      });
  }
  for (const m of matches(PATTERNS.nir, text)) {
    if (frNir(m[0]))
      add({ start: m.index, end: m.index + m[0].length, type: 'national_id', confidence: 0.9, subtype: 'fr_nir' });
  }
  for (const m of matches(PATTERNS.bsn, text)) {
    if (nlBsn(m[0]))
      add({
        start: m.index,
        end: m.index + 9,
        type: 'national_id',
        confidence: near(text, m.index, ID_CONTEXT.nl_bsn!) ? 0.95 : 0.45,
        subtype: 'nl_bsn',
      });
  }
  for (const m of matches(PATTERNS.personnummer, text)) {
    if (/[-+]/.test(m[0]) && sePersonnummer(m[0]))
      add({
        start: m.index,
        end: m.index + m[0].length,
        type: 'national_id',
        confidence: 0.85,
        subtype: 'se_personnummer',
      });
  }
  for (const m of matches(PATTERNS.lvCode, text)) {
    const oldFormat = lvPersonasKods(m[0]);
    if (oldFormat || (lvPersonasKodsNew(m[0]) && near(text, m.index, ID_CONTEXT.lv_personas_kods!)))
      add({
        start: m.index,
        end: m.index + m[0].length,
        type: 'national_id',
        confidence: oldFormat ? 0.85 : 0.9,
        subtype: 'lv_personas_kods',
      });
  }
  for (const m of matches(PATTERNS.cnId, text)) {
    if (cnResidentId(m[0]))
      add({ start: m.index, end: m.index + 18, type: 'national_id', confidence: 0.95, subtype: 'cn_resident_id' });
  }
}

function scanLetterIds(text: string, add: Sink): void {
  for (const m of matches(PATTERNS.iban, text)) {
    const compact = m[0].replace(/ /g, '');
    if (isValidIBAN(compact)) add({ start: m.index, end: m.index + m[0].length, type: 'iban', confidence: 0.97 });
  }
  for (const m of matches(PATTERNS.nino, text)) {
    if (ukNino(m[0]))
      add({ start: m.index, end: m.index + m[0].length, type: 'national_id', confidence: 0.85, subtype: 'uk_nino' });
  }
  for (const m of matches(PATTERNS.dni, text)) {
    if (esDniNie(m[0]))
      add({ start: m.index, end: m.index + m[0].length, type: 'national_id', confidence: 0.9, subtype: 'es_dni' });
  }
  for (const m of matches(PATTERNS.codiceFiscale, text)) {
    if (itCodiceFiscale(m[0]))
      add({ start: m.index, end: m.index + 16, type: 'tax_id', confidence: 0.95, subtype: 'it_codice_fiscale' });
  }
  const lower = text.toLowerCase();
  if (PASSPORT_CONTEXT.some((w) => lower.includes(w))) {
    for (const m of matches(PATTERNS.passport, text)) {
      if (near(text, m.index, PASSPORT_CONTEXT, 30))
        add({ start: m.index, end: m.index + m[0].length, type: 'passport', confidence: 0.8 });
    }
  }
}

function decodesToJwtHeader(part: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { alg?: unknown };
    return typeof header.alg === 'string';
  } catch {
    return false;
  }
}

const CREDENTIAL_HINTS = ['AKIA', 'ASIA', 'gh', 'github_pat_', 'xox', '_live_', 'AIza', 'pat-', 'eyJ', '-----BEGIN'];

function scanCredentials(text: string, add: Sink): void {
  const lower = text.toLowerCase();
  const hasPasswordWord = PASSWORD_WORDS.some((w) => lower.includes(w));
  if (!hasPasswordWord && !CREDENTIAL_HINTS.some((h) => text.includes(h))) return;
  const simple: [RegExp, string][] = [
    [PATTERNS.aws, 'aws_access_key'],
    [PATTERNS.github, 'github_token'],
    [PATTERNS.slack, 'slack_token'],
    [PATTERNS.stripe, 'stripe_key'],
    [PATTERNS.google, 'google_api_key'],
    [PATTERNS.hubspot, 'hubspot_token'],
    [PATTERNS.pem, 'private_key'],
  ];
  for (const [re, subtype] of simple) {
    for (const m of matches(re, text))
      add({ start: m.index, end: m.index + m[0].length, type: 'credential', confidence: 0.97, subtype });
  }
  for (const m of matches(PATTERNS.jwt, text)) {
    if (decodesToJwtHeader(m[0].slice(0, m[0].indexOf('.'))))
      add({ start: m.index, end: m.index + m[0].length, type: 'credential', confidence: 0.95, subtype: 'jwt' });
  }
  if (!hasPasswordWord) return;
  for (const m of matches(PATTERNS.password, text)) {
    const value = m[1]!;
    const start = m.index + m[0].length - value.length;
    add({ start, end: start + value.length, type: 'credential', confidence: 0.9, subtype: 'password' });
  }
}

function scanDateOfBirth(text: string, add: Sink): void {
  const lower = text.toLowerCase();
  if (!DOB_CONTEXT.some((w) => lower.includes(w))) return;
  const thisYear = new Date().getUTCFullYear();
  for (const m of matches(PATTERNS.date, text)) {
    // A contact's birth date lies at least ten years back ("birthday party on 12.03.2026" is not one).
    const year = Number(/(\d{4})/.exec(m[0])?.[1] ?? Number.NaN);
    if (Number.isFinite(year) && (year < 1900 || year > thisYear - 10)) continue;
    if (near(text, m.index, DOB_CONTEXT, 24))
      add({ start: m.index, end: m.index + m[0].length, type: 'date_of_birth', confidence: 0.85 });
  }
}

/**
 * "cancer centre", "Diabetes-Zentrum", "糖尿病医院": the term names an organisation or product, not a
 * person's condition, when an institution word follows it directly.
 */
function namesAnInstitution(text: string, end: number): boolean {
  const after = text.slice(end, end + 16).toLowerCase();
  return INSTITUTION_AFTER.test(after);
}

function scanLexicons(text: string, add: Sink): void {
  for (const m of matches(LEXICON.latin, text)) {
    const term = m[0].toLowerCase().replace(/\s+/g, ' ');
    if (CASE_SENSITIVE.has(term) && m[0] !== m[0].toUpperCase()) continue;
    if (namesAnInstitution(text, m.index + m[0].length)) continue;
    const lex = LEXICON.byTerm.get(term);
    if (lex) add({ start: m.index, end: m.index + m[0].length, type: lex.type, confidence: 0.8, subtype: lex.subtype });
  }
  if (LEXICON.han && HAN.test(text)) {
    for (const m of matches(LEXICON.han, text)) {
      if (namesAnInstitution(text, m.index + m[0].length)) continue;
      const lex = LEXICON.byTerm.get(m[0]);
      if (lex)
        add({ start: m.index, end: m.index + m[0].length, type: lex.type, confidence: 0.8, subtype: lex.subtype });
    }
  }
}

function scanContacts(text: string, add: Sink, defaultCountry: string | undefined): void {
  if (text.includes('@')) {
    for (const m of matches(PATTERNS.email, text))
      add({ start: m.index, end: m.index + m[0].length, type: 'email', confidence: 0.95 });
  }
  if (defaultCountry || /\+\s?\d/.test(text)) {
    const found = defaultCountry
      ? findPhoneNumbersInText(text, defaultCountry as CountryCode)
      : findPhoneNumbersInText(text);
    for (const p of found) addPhone(text, p.startsAt, p.endsAt, p.number.isValid(), add, Boolean(defaultCountry));
  }
  if (defaultCountry) return;
  // No default country: national-format numbers are parsed only right after a phone word, with the numbering
  // plans of the word's language ("Rückruf unter 0151 ..." as German), so a bare order number is never tried.
  const lower = text.toLowerCase();
  for (const [word, countries] of Object.entries(PHONE_CONTEXT_COUNTRIES)) {
    if (countries.length === 0) continue;
    for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + word.length)) {
      const from = at + word.length;
      const window = text.slice(from, from + PHONE_WINDOW);
      if (countDigits(window) < 6) continue;
      for (const country of countries)
        for (const p of findPhoneNumbersInText(window, country as CountryCode))
          addPhone(text, from + p.startsAt, from + p.endsAt, p.number.isValid(), add, false);
    }
  }
}

/** Characters after a phone word searched for a national-format number (the word must be within 30 of it). */
const PHONE_WINDOW = 60;

function addPhone(text: string, start: number, end: number, valid: boolean, add: Sink, hasDefault: boolean): void {
  if (!valid) return;
  // A number written with +country code is a phone number; one in national format looks like many product
  // codes and references, so it needs a phone word nearby.
  const international = text[start] === '+' || text.startsWith('00', start);
  const confidence = international ? 0.85 : near(text, start, PHONE_CONTEXT, 30) ? 0.8 : hasDefault ? 0.4 : 0;
  if (confidence > 0) add({ start, end, type: 'phone', confidence });
}

/** Keep the strongest finding where findings overlap (a card number is not also a phone number). */
function resolve(findings: Finding[]): Finding[] {
  const ranked = [...findings].sort(
    (a, b) => b.confidence - a.confidence || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const kept: Finding[] = [];
  for (const f of ranked) {
    if (!kept.some((k) => f.start < k.end && k.start < f.end)) kept.push(f);
  }
  return kept.sort((a, b) => a.start - b.start);
}

const EMPTY_OPTIONS: DetectOptions = Object.freeze({});

export function detect(text: string, options: DetectOptions = EMPTY_OPTIONS): Finding[] {
  if (options !== EMPTY_OPTIONS) checkOptions(options);
  if (typeof text !== 'string' || text.length === 0) return [];
  const min = options.minConfidence ?? 0.5;
  const wanted = options.types ? new Set(options.types) : null;
  const findings: Finding[] = [];
  const add: Sink = (f) => {
    if (f.confidence >= min && (!wanted || wanted.has(f.type))) findings.push(f);
  };
  const digits = countDigits(text);
  if (digits >= 9) scanDigits(text, add);
  if (digits >= 5) scanLetterIds(text, add);
  scanCredentials(text, add);
  if (digits >= 4) scanDateOfBirth(text, add);
  if (digits >= 6 || text.includes('@')) scanContacts(text, add, options.defaultCountry);
  scanLexicons(text, add);
  return resolve(findings);
}
