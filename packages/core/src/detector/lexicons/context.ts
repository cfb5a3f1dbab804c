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

/** Words before a national-format phone number (no +country code) that make it a phone number. */
export const PHONE_CONTEXT = [
  'tel',
  'phone',
  'call',
  'mobile',
  'cell',
  'ring',
  'handy',
  'telefon',
  'rückruf',
  'anrufen',
  'appeler',
  'portable',
  'téléphone',
  'llamar',
  'móvil',
  'teléfono',
  'mobil',
  'zvanīt',
  'tālr',
  'mob.',
  '电话',
  '手机',
  '致电',
];
