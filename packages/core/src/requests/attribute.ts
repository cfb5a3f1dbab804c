/**
 * Which request a record belongs to when one connector call served many requests (batched erasure):
 * by the subject keys of the identities in the record, or by the person refs an activity links to.
 * A batch of one owns everything the call returned, exactly as an unbatched request would.
 */
import type { CountryCode } from 'libphonenumber-js';
import { identitiesOf, type SubjectKeyer } from '../identity.js';
import { refKey } from '../sync/index-entry.js';
import type { CrmRecord, RecordRef } from '../types.js';

export interface Owner {
  id: string;
  subjectKeys: string[];
}

export class Attribution<T extends Owner> {
  private readonly byKey = new Map<string, T[]>();

  constructor(
    private readonly owners: T[],
    private readonly keyer: SubjectKeyer,
    private readonly defaultCountry?: CountryCode,
  ) {
    for (const o of owners) for (const k of o.subjectKeys) this.byKey.set(k, [...(this.byKey.get(k) ?? []), o]);
  }

  /** Owners of a person record found by identity (every owner when the batch has one request). */
  ofRecord(record: Pick<CrmRecord, 'canonical'>): T[] {
    if (this.owners.length === 1) return this.owners;
    return this.ofKeys(identitiesOf(record.canonical, this.defaultCountry).map((i) => this.keyer.key(i)));
  }

  ofKeys(keys: string[]): T[] {
    const out = new Set<T>();
    for (const k of keys) for (const o of this.byKey.get(k) ?? []) out.add(o);
    return [...out];
  }
}

/** Owners of activity records: through the person refs each links to. */
export function ownersByLink<T>(links: RecordRef[] | undefined, personOwners: Map<string, T[]>, all: T[]): T[] {
  if (all.length === 1) return all;
  const out = new Set<T>();
  for (const l of links ?? []) for (const o of personOwners.get(refKey(l)) ?? []) out.add(o);
  return [...out];
}
