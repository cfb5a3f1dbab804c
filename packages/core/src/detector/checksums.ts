/**
 * Checksums of the identifiers the detector reports. A look-alike that fails its checksum (order numbers,
 * invoice and tracking ids) is not a finding. IBANs are checked with ibantools, phones with
 * libphonenumber-js; these schemes have no well-kept library, and each is a few lines.
 */
const digitsOf = (s: string) => s.replace(/\D/g, '');

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Issuer of a card number by IIN range, or null. */
export function cardIssuer(digits: string): string | null {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4' && (n === 16 || n === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p6 >= 222100 && p6 <= 272099)) && n === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && n === 15) return 'amex';
  if ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) && n >= 16 && n <= 19) return 'discover';
  if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) return 'jcb';
  if (p2 === 62 && n >= 16 && n <= 19) return 'unionpay';
  if ((p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) && n >= 14 && n <= 19) return 'diners';
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && n >= 16 && n <= 19) return 'maestro';
  return null;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function usSsn(s: string): boolean {
  const [a, g, n] = [s.slice(0, 3), s.slice(3, 5), s.slice(5)];
  return a !== '000' && a !== '666' && a[0] !== '9' && g !== '00' && n !== '0000';
}

const NINO_BAD_PREFIX = new Set(['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ']);
export function ukNino(s: string): boolean {
  const v = s.replace(/\s/g, '').toUpperCase();
  return /^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(v) && !NINO_BAD_PREFIX.has(v.slice(0, 2));
}

/** DE Steuer-ID: ISO 7064 MOD 11,10 and the digit-repetition rule. */
export function deSteuerId(s: string): boolean {
  const v = digitsOf(s);
  if (v.length !== 11 || v[0] === '0') return false;
  const counts = new Map<string, number>();
  for (const c of v.slice(0, 10)) counts.set(c, (counts.get(c) ?? 0) + 1);
  const repeated = [...counts.values()].filter((c) => c > 1);
  if (repeated.length !== 1 || (repeated[0] !== 2 && repeated[0] !== 3)) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (Number(v[i]) + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = 11 - product === 10 ? 0 : 11 - product;
  return check === Number(v[10]);
}

/** FR NIR (numéro de sécurité sociale): key = 97 - (number mod 97); Corsica 2A/2B. */
export function frNir(s: string): boolean {
  const v = s.replace(/\s/g, '').toUpperCase();
  if (!/^[12]\d{4}(\d{2}|2A|2B)\d{8}$/.test(v)) return false;
  const body = v.slice(0, 13).replace('2A', '19').replace('2B', '18');
  const key = Number(v.slice(13));
  return 97 - Number(BigInt(body) % 97n) === key;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';
export function esDniNie(s: string): boolean {
  const v = s.replace(/[\s-]/g, '').toUpperCase();
  const m = /^([XYZ]?)(\d{7,8})([A-Z])$/.exec(v);
  if (!m) return false;
  const prefix = m[1] ? String('XYZ'.indexOf(m[1])) : '';
  const number = prefix + m[2]!;
  if (number.length !== 8) return false;
  return DNI_LETTERS[Number(number) % 23] === m[3];
}

const CF_ODD: Record<string, number> = Object.fromEntries(
  '0:1,1:0,2:5,3:7,4:9,5:13,6:15,7:17,8:19,9:21,A:1,B:0,C:5,D:7,E:9,F:13,G:15,H:17,I:19,J:21,K:2,L:4,M:18,N:20,O:11,P:3,Q:6,R:8,S:12,T:14,U:16,V:10,W:22,X:25,Y:24,Z:23'
    .split(',')
    .map((p) => [p.split(':')[0]!, Number(p.split(':')[1])]),
);
export function itCodiceFiscale(s: string): boolean {
  const v = s.toUpperCase();
  if (!/^[A-Z]{6}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z]$/.test(v)) return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = v[i]!;
    sum += i % 2 === 0 ? CF_ODD[c]! : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 65;
  }
  return String.fromCharCode(65 + (sum % 26)) === v[15];
}

export function nlBsn(s: string): boolean {
  const v = digitsOf(s);
  if (v.length !== 9 || v === '000000000') return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(v[i]) * (9 - i);
  sum -= Number(v[8]);
  return sum % 11 === 0;
}

/** SE personnummer / samordningsnummer: date (day + 60 allowed) and Luhn over the 10 digits. */
export function sePersonnummer(s: string): boolean {
  const v = digitsOf(s);
  const ten = v.length === 12 ? v.slice(2) : v;
  if (ten.length !== 10) return false;
  const yy = Number(ten.slice(0, 2));
  const year = v.length === 12 ? Number(v.slice(0, 4)) : yy + 1900;
  let day = Number(ten.slice(4, 6));
  if (day > 60) day -= 60;
  return validDate(year, Number(ten.slice(2, 4)), day) && luhn(ten);
}

export function plPesel(s: string): boolean {
  const v = digitsOf(s);
  if (v.length !== 11) return false;
  const w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += Number(v[i]) * w[i]!;
  if ((10 - (sum % 10)) % 10 !== Number(v[10])) return false;
  let month = Number(v.slice(2, 4));
  let century = 1900;
  if (month > 80) [century, month] = [1800, month - 80];
  else if (month > 60) [century, month] = [2200, month - 60];
  else if (month > 40) [century, month] = [2100, month - 40];
  else if (month > 20) [century, month] = [2000, month - 20];
  return validDate(century + Number(v.slice(0, 2)), month, Number(v.slice(4, 6)));
}

/**
 * LV personas kods, old format DDMMYY-CNNNN: weighted check digit plus a valid birth date. Codes issued
 * since 1 July 2017 (32NNNN-NNNNN) carry no birth date and are not guaranteed to satisfy that check digit,
 * so they are recognised by shape (see lvPersonasKodsNew) and need context words in the detector.
 */
export function lvPersonasKods(s: string): boolean {
  const v = digitsOf(s);
  if (v.length !== 11) return false;
  const w = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += Number(v[i]) * w[i]!;
  const check = (1101 - sum) % 11;
  if (check === 10 || check !== Number(v[10])) return false;
  const century = v[6] === '0' ? 1800 : v[6] === '1' ? 1900 : v[6] === '2' ? 2000 : -1;
  return century > 0 && validDate(century + Number(v.slice(4, 6)), Number(v.slice(2, 4)), Number(v.slice(0, 2)));
}

/** LV personas kods in the 2017 format: 11 digits starting with 32, no embedded birth date. */
export function lvPersonasKodsNew(s: string): boolean {
  const v = digitsOf(s);
  return v.length === 11 && v.startsWith('32');
}

/** CN resident identity card: region, birth date and ISO 7064 MOD 11-2. */
export function cnResidentId(s: string): boolean {
  const v = s.toUpperCase();
  if (!/^[1-8]\d{16}[\dX]$/.test(v)) return false;
  if (
    !validDate(Number(v.slice(6, 10)), Number(v.slice(10, 12)), Number(v.slice(12, 14))) ||
    Number(v.slice(6, 10)) < 1900
  )
    return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * (2 ** (17 - i) % 11);
  return '10X98765432'[sum % 11] === v[17];
}

export { validDate };
