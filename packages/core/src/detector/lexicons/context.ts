/**
 * Context words, in English, German, French, Spanish, Swedish, Latvian and Chinese, that turn an otherwise
 * ambiguous shape (a number, a date, a word after a colon) into a finding. Matched case-insensitively.
 */

/** Words near a number that make it a passport number. */
export const PASSPORT_CONTEXT = [
  'passport',
  'passport no',
  'reisepass',
  'passnummer',
  'passeport',
  'pasaporte',
  'pass nr',
  'passnummer',
  'pase',
  'pases numurs',
  '护照',
];

/** Words before a date that make it a date of birth. */
export const DOB_CONTEXT = [
  'born',
  'born on',
  'date of birth',
  'dob',
  'd.o.b.',
  'birthday',
  'geboren',
  'geb.',
  'geburtsdatum',
  'né le',
  'née le',
  'date de naissance',
  'fecha de nacimiento',
  'nacido el',
  'nacida el',
  'född',
  'födelsedatum',
  'dzimis',
  'dzimusi',
  'dzimšanas datums',
  '出生日期',
  '生于',
  '出生于',
];

/** Words that raise confidence in a nearby id (and make context-only schemes count). */
export const ID_CONTEXT: Record<string, string[]> = {
  us_ssn: ['ssn', 'social security'],
  de_steuer_id: ['steuer-id', 'steuerid', 'steuer id', 'steueridentifikationsnummer', 'idnr', 'tax id', 'steuernummer'],
  nl_bsn: ['bsn', 'burgerservicenummer', 'sofinummer'],
  pl_pesel: ['pesel'],
  lv_personas_kods: ['personas kod', 'p.k.', 'personal code', 'identity code'],
  cn_resident_id: ['身份证', 'id card', 'resident id'],
  card: [
    'card',
    'visa',
    'mastercard',
    'amex',
    'kreditkarte',
    'karte',
    'carte',
    'tarjeta',
    'kort',
    'karte',
    'kartes',
    '信用卡',
    '卡号',
    'cc',
  ],
};

export const PASSWORD_WORDS = [
  'password',
  'passwd',
  'pwd',
  'passwort',
  'kennwort',
  'mot de passe',
  'mdp',
  'contraseña',
  'clave',
  'lösenord',
  'parole',
  '密码',
  'pin',
];

/**
 * Words before a national-format phone number (no +country code) that make it a phone number, each with
 * the countries whose national numbering the word's language suggests. Without a configured default
 * country, only those countries' national formats are tried, so "Rückruf unter 0151 23456789" is found
 * as a German mobile while a bare "0151-234567" in an order line is not a phone at all.
 */
export const PHONE_CONTEXT_COUNTRIES: Record<string, readonly string[]> = {
  tel: [],
  phone: ['US', 'GB'],
  call: ['US', 'GB'],
  mobile: ['US', 'GB'],
  cell: ['US'],
  ring: ['SE'],
  handy: ['DE', 'AT', 'CH'],
  telefon: ['DE', 'AT', 'CH', 'SE'],
  rückruf: ['DE', 'AT', 'CH'],
  anrufen: ['DE', 'AT', 'CH'],
  appeler: ['FR', 'BE'],
  portable: ['FR', 'BE'],
  téléphone: ['FR', 'BE'],
  llamar: ['ES'],
  móvil: ['ES'],
  teléfono: ['ES'],
  mobil: ['SE', 'DE'],
  zvanīt: ['LV'],
  tālr: ['LV'],
  'mob.': [],
  电话: ['CN'],
  手机: ['CN'],
  致电: ['CN'],
};
export const PHONE_CONTEXT = Object.keys(PHONE_CONTEXT_COUNTRIES);

/** Words that, right after a health or art. 9 term, make it the name of an organisation or product. */
export const INSTITUTION_WORDS = [
  'center',
  'centre',
  'clinic',
  'ward',
  'wing',
  'research',
  'foundation',
  'society',
  'institute',
  'association',
  'charity',
  'awareness',
  'department',
  'unit',
  'hospital',
  'zentrum',
  'klinik',
  'forschung',
  'stiftung',
  'gesellschaft',
  'station',
  'clinique',
  'recherche',
  'fondation',
  'centro',
  'clínica',
  'fundación',
  'asociación',
  'mottagning',
  'forskning',
  'förbund',
  'centrs',
  'klīnika',
  'biedrība',
  '中心',
  '医院',
  '研究',
  '协会',
  '基金会',
];
