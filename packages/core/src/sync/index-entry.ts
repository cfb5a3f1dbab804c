/**
 * Turns a mapped record into what the ledger may hold: refs, subject keys, field names and a keyed
 * fingerprint. Values never leave this function.
 */
import type { CountryCode } from 'libphonenumber-js';
import { identitiesOf, type SubjectKeyer } from '../identity.js';
import type { IndexEntry } from '../ledger.js';
import type { CrmRecord, RecordRef } from '../types.js';

export function refKey(ref: RecordRef): string {
  return `${ref.system}\u0000${ref.object}\u0000${ref.id}`;
}

function isPopulated(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.trim().length > 0;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** Stable serialisation for fingerprints (key order must not change the digest). */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
    .join(',')}}`;
}

export function toIndexEntry(
  record: CrmRecord,
  keyer: SubjectKeyer,
  linkedSubjects: (links: RecordRef[]) => IndexEntry['subjects'],
  defaultCountry?: CountryCode,
): IndexEntry {
  const own = identitiesOf(record.canonical, defaultCountry).map((id) => ({ key: keyer.key(id), kind: id.kind }));
  const links = record.links ?? [];
  // Activity records (notes, tasks) carry no identity of their own: they belong to the people they link to.
  const subjects = own.length > 0 || links.length === 0 ? own : linkedSubjects(links);
  const fieldNames = Object.keys(record.fields)
    .filter((k) => isPopulated(record.fields[k]))
    .sort();
  return {
    ref: record.ref,
    kind: record.kind,
    subjects,
    fieldNames,
    links,
    updatedAt: record.updatedAt ?? null,
    lastActivityAt: record.lastActivityAt ?? null,
    marketingOptOut: record.consent?.marketingOptOut ?? null,
    legalBasis: record.consent?.legalBasis ?? null,
    archived: record.archived ?? false,
    fingerprint: keyer.digest(stableJson({ f: record.fields, c: record.canonical, a: record.archived ?? false })),
  };
}
