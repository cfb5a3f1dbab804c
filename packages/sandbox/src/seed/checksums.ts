/**
 * Generators for numbers that pass their official checksums, so planted notes look real to a
 * detector that validates (Luhn, ISO 13616 mod-97, personnummer, BSN 11-test, DNI letter).
 */

export type Rand = () => number;

const randomDigits = (n: number, r: Rand): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 10).toString();
  return s;
};

/** Luhn check digit for a digit string (the digit to append). */
export function luhnCheckDigit(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    // Double every second digit counted from the right of the full number (check digit at position 0).
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function luhnValid(num: string): boolean {
  const digits = num.replace(/\D/g, '');
  return digits.length > 1 && luhnCheckDigit(digits.slice(0, -1)) === Number(digits.at(-1));
}

/** A 16-digit Visa or Mastercard number, formatted in groups of four. */
export function cardNumber(r: Rand): string {
  const prefix = r() < 0.5 ? '4' : `5${1 + Math.floor(r() * 5)}`;
  const payload = prefix + randomDigits(15 - prefix.length, r);
  const full = payload + luhnCheckDigit(payload).toString();
  return full.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** ISO 7064 mod 97-10 over a string of digits and letters (letters as 10..35). */
function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const v = ch >= 'A' && ch <= 'Z' ? (ch.charCodeAt(0) - 55).toString() : ch;
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem;
}

/** An IBAN for DE, GB or LV (BBAN formats without national check digits), printed in groups of four. */
export function iban(r: Rand): string {
  const pick = Math.floor(r() * 3);
  const [country, bban] =
    pick === 0
      ? ['DE', randomDigits(18, r)]
      : pick === 1
        ? ['GB', `NWBK${randomDigits(14, r)}`]
        : ['LV', `HABA${randomDigits(13, r)}`];
  const check = 98 - mod97(`${bban}${country}00`);
  const full = `${country}${check.toString().padStart(2, '0')}${bban}`;
  return full.replace(/(.{4})(?=.)/g, '$1 ');
}

export function ibanValid(value: string): boolean {
  const s = value.replace(/\s/g, '').toUpperCase();
  return /^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s) && mod97(s.slice(4) + s.slice(0, 4)) === 1;
}

/** Swedish personnummer YYMMDD-NNNC (Luhn over the 9 digits after the century). */
export function swedishPersonnummer(r: Rand): string {
  const yy = (50 + Math.floor(r() * 50)).toString().padStart(2, '0');
  const mm = (1 + Math.floor(r() * 12)).toString().padStart(2, '0');
  const dd = (1 + Math.floor(r() * 28)).toString().padStart(2, '0');
  const nnn = randomDigits(3, r);
  const payload = `${yy}${mm}${dd}${nnn}`;
  return `${yy}${mm}${dd}-${nnn}${luhnCheckDigit(payload)}`;
}

/** Dutch BSN: 9 digits passing the 11-test (9..2 weights, last digit weight -1). */
export function dutchBsn(r: Rand): string {
  for (;;) {
    const first = `${1 + Math.floor(r() * 9)}${randomDigits(7, r)}`;
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += Number(first[i]) * (9 - i);
    const last = sum % 11;
    if (last <= 9) return `${first}${last}`;
  }
}

/** Spanish DNI: 8 digits and the control letter. */
export function spanishDni(r: Rand): string {
  const n = randomDigits(8, r);
  return `${n}${'TRWAGMYFPDXBNJZSQVHLCKE'[Number(n) % 23]}`;
}

export function nationalId(r: Rand): { kind: string; value: string } {
  const pick = Math.floor(r() * 3);
  if (pick === 0) return { kind: 'se_personnummer', value: swedishPersonnummer(r) };
  if (pick === 1) return { kind: 'nl_bsn', value: dutchBsn(r) };
  return { kind: 'es_dni', value: spanishDni(r) };
}

const PASSWORD_WORDS = ['Summer', 'Tiger', 'Blue', 'Rocket', 'Maple', 'Falcon'];
export function password(r: Rand): string {
  return `${PASSWORD_WORDS[Math.floor(r() * PASSWORD_WORDS.length)]}${randomDigits(4, r)}!`;
}
