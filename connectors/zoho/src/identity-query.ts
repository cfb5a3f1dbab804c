/**
 * COQL criteria that look many people up in one query: `Email in (...)` for emails, and for phones the
 * forms a number is commonly typed in (Zoho keeps phone fields exactly as entered).
 * COQL limits (https://www.zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html): `in` takes up to
 * 50 values, WHERE up to 25 criteria, SELECT up to 50 fields, LIMIT up to 2,000 rows a call.
 */
import type { Identity } from '@custodian/core';
import { parsePhoneNumberFromString } from 'libphonenumber-js';

export const COQL_IN_MAX = 50;

/** A COQL string literal: backslash and quote escaped, so a value can never end the literal early. */
export function coqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `(A in (...) or B in (...))`: two criteria, whatever the number of values. */
export function anyFieldIn(fields: readonly string[], values: readonly string[]): string {
  const list = values.map(coqlString).join(', ');
  return `(${fields.map((f) => `${f} in (${list})`).join(' or ')})`;
}

export const EMAIL_FIELDS = ['Email', 'Secondary_Email'] as const;
export const PHONE_FIELDS = ['Phone', 'Mobile'] as const;

/**
 * The forms a phone identity (E.164) may be stored in: as given, E.164, E.164 without `+`, international
 * (`+49 1511 2345678`) and national (`01511 2345678`) formatting. Anything else typed by hand (other
 * spacing or punctuation, `+49 (0)151...`, extensions) is not matched by COQL equality; `find` falls back
 * to Zoho's phone search for a phone COQL did not find.
 */
export function phoneForms(value: string): string[] {
  const given = value.trim();
  const forms = new Set([given]);
  const parsed = parsePhoneNumberFromString(given);
  if (parsed) {
    forms.add(parsed.number);
    forms.add(parsed.number.replace(/^\+/, ''));
    forms.add(parsed.formatInternational());
    forms.add(parsed.formatNational());
  }
  return [...forms];
}

/** Group items so that the values each one brings stay within `max` per group (an item is never split). */
export function packByValues<T>(items: readonly T[], valuesOf: (item: T) => string[], max: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const n = Math.min(valuesOf(item).length, max);
    if (size + n > max && current.length > 0) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Distinct values of the identities of one kind, in first-seen order. */
export function valuesOfKind(identities: readonly Identity[], kind: 'email' | 'phone'): string[] {
  return [...new Set(identities.filter((i) => i.kind === kind).map((i) => i.value.trim()))].filter(Boolean);
}
