/**
 * The HubSpot portal as an overlay over the seed world. Base records are generated from their ids on
 * demand (./seed.ts); only what the API changed is kept: `overlay` holds every record written to
 * (updated, archived, re-linked, created), `gone` the ids erased for good (GDPR delete). So a portal
 * of a million people costs the seed's membership bits until something asks for more.
 *
 * Ordering needs no records either: lists walk ids in order, generating records page by page, and
 * search over (modification time, id) uses a per-type index of numbers (two Float64Arrays) built once
 * from the base records. The base never changes, so that index is never rebuilt; records in the
 * overlay are merged in at search time (they are few, and tests may edit them in place).
 */
import type { SeedPerson, SeedWorld } from '../kit/seed-types.js';
import { partitionPoint } from '../kit/sorted.js';
import {
  COMPANY_SIZE,
  companyId,
  contactId,
  dealId,
  HS_OBJECT_TYPES,
  type HsObjectType,
  type HsRecord,
  modifiedProperty,
  NOTES_PER_PERSON,
  noteId,
  seedCompany,
  seedContacts,
  seedDeal,
  seedNotes,
} from './seed.js';

/** First id of contacts created through the API (above every seed contact id). */
const CREATED_CONTACT_BASE = 900_000_000;

/** Base records of one type sorted by (modification time, id): numbers only. */
interface ModifiedIndex {
  t: Float64Array;
  id: Float64Array;
}

/** An entry of a search walk: the record's sort key; `changed` when the record is in the overlay. */
export interface IndexedEntry {
  t: number;
  id: number;
  changed?: HsRecord;
}

const modifiedMs = (type: HsObjectType, r: HsRecord): number => {
  const v = r.properties[modifiedProperty(type)];
  return v == null ? Number.NaN : Date.parse(v);
};

/** FNV-1a of a lower-cased string: the email index keys on 32-bit numbers, not strings. */
function hash32(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class HubSpotStore {
  private members: Int32Array | null = null;
  private readonly overlay = new Map<HsObjectType, Map<string, HsRecord>>(HS_OBJECT_TYPES.map((t) => [t, new Map()]));
  private readonly gone = new Map<HsObjectType, Set<string>>(HS_OBJECT_TYPES.map((t) => [t, new Set()]));
  /** Ids created through the API, ascending (created ids come after every base id). */
  private readonly created: string[] = [];
  private readonly indexes = new Map<HsObjectType, ModifiedIndex>();
  /** hash32(email) -> contact ids that had that email; candidates are checked against the record. */
  private emailIndex: Map<number, string[]> | null = null;

  constructor(private readonly world: SeedWorld) {}

  /** Seed indexes of the people HubSpot holds, ascending: a position in it is a person's place in the portal. */
  private hubspotIndexes(): Int32Array {
    this.members ??= Int32Array.from(this.world.indexesIn('hubspot'));
    return this.members;
  }

  /** Position of the first HubSpot person whose seed index is >= index. */
  private positionFrom(index: number): number {
    return partitionPoint(this.hubspotIndexes(), (m) => m < index);
  }

  private holds(index: number): boolean {
    const members = this.hubspotIndexes();
    return index >= 0 && index < this.world.options.people && members[this.positionFrom(index)] === index;
  }

  private person(index: number): SeedPerson {
    return this.world.person(index);
  }

  private companyAt(n: number): HsRecord | null {
    const members = this.hubspotIndexes();
    if (n < 0 || n * COMPANY_SIZE >= members.length) return null;
    const group = [...members.subarray(n * COMPANY_SIZE, (n + 1) * COMPANY_SIZE)];
    return seedCompany(n, this.person(group[0] as number), group);
  }

  /**
   * The first two people of a company work together: the first one's first note and deal are about both
   * (a meeting with the two of them), so erasing one person meets records other people share.
   */
  private pairOf(index: number): { lead: number; partner: number } | null {
    const members = this.hubspotIndexes();
    const pos = this.positionFrom(index);
    const first = pos - (pos % COMPANY_SIZE);
    if (pos % COMPANY_SIZE > 1 || first + 1 >= members.length) return null;
    return { lead: members[first] as number, partner: members[first + 1] as number };
  }

  /** Seed records of one person, with the links of the records they share with their company's pair. */
  private seedOf(type: Exclude<HsObjectType, 'companies'>, index: number): HsRecord[] {
    const p = this.person(index);
    const records =
      type === 'contacts'
        ? seedContacts(p, index)
        : type === 'notes'
          ? seedNotes(p, index)
          : [seedDeal(p, index)].filter((r): r is HsRecord => r !== null);
    const pair = this.pairOf(index);
    if (!pair) return records;
    const shared = (this.person(pair.lead).notes.hubspot ?? []).length > 0 ? String(noteId(pair.lead, 0)) : null;
    const partner = String(contactId(pair.partner));
    for (const r of records) {
      if (type === 'contacts' && r.id === partner && shared) r.links = [...r.links, shared];
      if (type === 'notes' && r.id === shared) r.links = [...r.links, partner];
      if (type === 'deals' && index === pair.lead) r.links = [...r.links, partner];
    }
    return records;
  }

  /** The base record named by an id, generated from the seed (null when the seed has no such record). */
  generate(type: HsObjectType, id: string): HsRecord | null {
    if (!/^\d+$/.test(id)) return null;
    const n = Number(id);
    switch (type) {
      case 'contacts': {
        const index = Math.floor((n - 100_000) / 2);
        if (n < 100_000 || !this.holds(index)) return null;
        return this.seedOf('contacts', index).find((r) => r.id === id) ?? null;
      }
      case 'notes': {
        const index = Math.floor((n - 500_000_000) / NOTES_PER_PERSON);
        if (n < 500_000_000 || !this.holds(index)) return null;
        return this.seedOf('notes', index)[n - 500_000_000 - NOTES_PER_PERSON * index] ?? null;
      }
      case 'companies':
        return n >= 300_000_000 ? this.companyAt(n - 300_000_000) : null;
      case 'deals': {
        const index = n - 700_000_000;
        return this.holds(index) ? (this.seedOf('deals', index)[0] ?? null) : null;
      }
    }
  }

  /** Base records from the first whose id is >= `from`, in id order, generated one person at a time. */
  private *baseFrom(type: HsObjectType, from: number): Generator<HsRecord> {
    const members = this.hubspotIndexes();
    if (type === 'companies') {
      for (let n = Math.max(0, from - 300_000_000); n * COMPANY_SIZE < members.length; n++)
        yield this.companyAt(n) as HsRecord;
      return;
    }
    const firstIndex =
      type === 'contacts'
        ? Math.floor((from - 100_000) / 2)
        : type === 'notes'
          ? Math.floor((from - 500_000_000) / NOTES_PER_PERSON)
          : from - 700_000_000;
    for (let pos = this.positionFrom(Math.max(0, firstIndex)); pos < members.length; pos++) {
      for (const r of this.seedOf(type, members[pos] as number)) if (Number(r.id) >= from) yield r;
    }
  }

  /** Record by id, archived or not (null when unknown or erased). */
  get(type: HsObjectType, id: string): HsRecord | null {
    const changed = this.overlay.get(type)?.get(id);
    if (changed) return changed;
    if (this.gone.get(type)?.has(id)) return null;
    return this.generate(type, id);
  }

  /** The record to change in place: moved into the overlay first, so the change is kept. */
  edit(type: HsObjectType, id: string): HsRecord | null {
    const changed = this.overlay.get(type)?.get(id);
    if (changed) return changed;
    const r = this.get(type, id);
    if (r) this.overlay.get(type)?.set(id, r);
    return r;
  }

  /** Every record (archived too) from the first whose id is >= `from`, in id order: base and overlay merged. */
  *walk(type: HsObjectType, from = 0): Generator<HsRecord> {
    const overlay = this.overlay.get(type) as Map<string, HsRecord>;
    const gone = this.gone.get(type) as Set<string>;
    for (const r of this.baseFrom(type, from)) {
      if (gone.has(r.id)) continue;
      yield overlay.get(r.id) ?? r;
    }
    if (type !== 'contacts') return;
    for (const id of this.created) {
      const r = overlay.get(id);
      if (r && Number(id) >= from) yield r;
    }
  }

  /** Archived records in id order (all of them were archived through the API, so all are in the overlay). */
  archived(type: HsObjectType): HsRecord[] {
    return [...(this.overlay.get(type)?.values() ?? [])]
      .filter((r) => r.archived)
      .sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** Add a contact created through the API. */
  createContact(properties: Record<string, string | null>, at: string): HsRecord {
    const id = String(CREATED_CONTACT_BASE + this.created.length);
    const r: HsRecord = {
      id,
      properties: { ...properties, hs_object_id: id, createdate: at, lastmodifieddate: at },
      createdAt: at,
      updatedAt: at,
      archived: false,
      links: [],
    };
    this.created.push(id);
    this.overlay.get('contacts')?.set(id, r);
    this.noteEmail(r);
    return r;
  }

  /** Keep the email index in step after a contact's email was written (old entries are checked on use). */
  noteEmail(r: HsRecord): void {
    const email = r.properties.email?.toLowerCase();
    if (!email || !this.emailIndex) return;
    const key = hash32(email);
    const ids = this.emailIndex.get(key) ?? [];
    if (!ids.includes(r.id)) ids.push(r.id);
    this.emailIndex.set(key, ids);
  }

  /** Contacts (archived too) whose email equals the value, in any case. Builds the email index on first use. */
  byEmail(value: string): HsRecord[] {
    const email = value.toLowerCase();
    if (!this.emailIndex) {
      this.emailIndex = new Map();
      for (const r of this.walk('contacts')) this.noteEmail(r);
    }
    return (this.emailIndex.get(hash32(email)) ?? [])
      .map((id) => this.get('contacts', id))
      .filter((r): r is HsRecord => r !== null && r.properties.email?.toLowerCase() === email);
  }

  /**
   * Erase a contact for good (GDPR delete). Its notes, company and deal survive; only their link to it goes.
   * Which records link to a seed contact follows from its id, so nothing is scanned.
   */
  erase(id: string): void {
    this.overlay.get('contacts')?.delete(id);
    this.gone.get('contacts')?.add(id);
    const n = Number(id);
    const index = Math.floor((n - 100_000) / 2);
    if (n >= CREATED_CONTACT_BASE || n % 2 === 1 || !this.holds(index)) return;
    const pair = this.pairOf(index);
    const linked: [HsObjectType, string][] = [
      ...seedNotes(this.person(index), index).map((r): [HsObjectType, string] => ['notes', r.id]),
      ['companies', String(companyId(Math.floor(this.positionFrom(index) / COMPANY_SIZE)))],
      ['deals', String(dealId(index))],
      // The partner of a pair is linked to the lead's first note and deal too.
      ...(pair?.partner === index
        ? [
            ['notes', String(noteId(pair.lead, 0))] as [HsObjectType, string],
            ['deals', String(dealId(pair.lead))] as [HsObjectType, string],
          ]
        : []),
    ];
    for (const [type, otherId] of linked) {
      const other = this.get(type, otherId);
      if (other?.links.includes(id)) (this.edit(type, otherId) as HsRecord).links = other.links.filter((c) => c !== id);
    }
  }

  private modifiedIndex(type: HsObjectType): ModifiedIndex {
    let index = this.indexes.get(type);
    if (!index) {
      const ts: number[] = [];
      const ids: number[] = [];
      for (const r of this.baseFrom(type, 0)) {
        ts.push(modifiedMs(type, r));
        ids.push(Number(r.id));
      }
      const order = Uint32Array.from(ids.keys()).sort(
        (a, b) => (ts[a] as number) - (ts[b] as number) || (ids[a] as number) - (ids[b] as number),
      );
      index = {
        t: Float64Array.from(order, (i) => ts[i] as number),
        id: Float64Array.from(order, (i) => ids[i] as number),
      };
      this.indexes.set(type, index);
    }
    return index;
  }

  /**
   * Every record in (modification time, id) order, ascending or descending: the base index with erased and
   * changed records left out, merged with the overlay sorted now. Base entries carry no record: the
   * caller generates one only when it needs more than the time and id. Entries before `since` (epoch ms)
   * are left out, found by binary search: an incremental search does not walk the whole portal.
   */
  *byModified(type: HsObjectType, descending: boolean, since = Number.NEGATIVE_INFINITY): Generator<IndexedEntry> {
    const index = this.modifiedIndex(type);
    const overlay = this.overlay.get(type) as Map<string, HsRecord>;
    const gone = this.gone.get(type) as Set<string>;
    const changed = [...overlay.values()]
      .map((r) => ({ t: modifiedMs(type, r), id: Number(r.id), changed: r }))
      .filter((e) => e.t >= since)
      .sort((a, b) => a.t - b.t || a.id - b.id);
    if (descending) changed.reverse();
    const before = (a: { t: number; id: number }, b: { t: number; id: number }) =>
      descending ? a.t > b.t || (a.t === b.t && a.id > b.id) : a.t < b.t || (a.t === b.t && a.id < b.id);
    let first = 0;
    let end = index.t.length;
    while (first < end) {
      const mid = (first + end) >> 1;
      if ((index.t[mid] as number) < since) first = mid + 1;
      else end = mid;
    }
    const n = index.t.length - first;
    let c = 0;
    for (let k = 0; k < n; k++) {
      const at = descending ? index.t.length - 1 - k : first + k;
      const entry = { t: index.t[at] as number, id: index.id[at] as number };
      const key = String(entry.id);
      if (gone.has(key) || overlay.has(key)) continue;
      while (c < changed.length && before(changed[c] as IndexedEntry, entry)) yield changed[c++] as IndexedEntry;
      yield entry;
    }
    while (c < changed.length) yield changed[c++] as IndexedEntry;
  }

  /** Overlay sizes (memory checks for big portals). */
  overlaySize(): { changed: number; erased: number } {
    let changed = 0;
    let erased = 0;
    for (const m of this.overlay.values()) changed += m.size;
    for (const s of this.gone.values()) erased += s.size;
    return { changed, erased };
  }
}
