/**
 * The Salesforce look-alike's records: generated on demand from the seed world (people held by
 * `salesforce` as Contacts or Leads, duplicates as second records, one Individual each, notes as Task,
 * Note and Case free text), with overlays for field updates and the Recycle Bin. Only a sorted
 * (SystemModstamp, Id) index per object and, on first lookup, an email/phone index are kept; record bodies
 * are generated per request.
 *
 * Recycle Bin: a deleted record stays queryable with `queryAll` (IsDeleted = true) for 15 days, then is
 * purged; emptying the bin purges it at once.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm
 */
import type { SeedNote, SeedPerson, SeedWorld } from '../kit/seed-types.js';
import { partitionPoint, sortedHas } from '../kit/sorted.js';
import { decodeId, encodeId, type SfObjectName, type SfRow, sfDateTime } from './schema.js';

export const RECYCLE_BIN_DAYS = 15;
const DAY = 86_400_000;

/** A record as a query sees it: live or in the Recycle Bin. */
export interface IndexEntry {
  id: string;
  /** SystemModstamp in epoch ms. */
  t: number;
  deleted: boolean;
}

interface BinEntry {
  deletedAt: number;
  purged: boolean;
}

const LEAD_STATUS: Record<SeedPerson['lifecycleStage'], string> = {
  subscriber: 'Open - Not Contacted',
  lead: 'Working - Contacted',
  opportunity: 'Closed - Converted',
  customer: 'Closed - Converted',
};

const hour = (iso: string): number => {
  const d = new Date(iso);
  d.setUTCMinutes(0, 0, 0);
  return d.getTime();
};

export class SalesforceStore {
  private readonly world: SeedWorld;
  private readonly now: () => number;
  private readonly patches = new Map<string, Record<string, unknown>>();
  private readonly bin = new Map<string, BinEntry>();
  private readonly sorted = new Map<SfObjectName, IndexEntry[]>();
  private persons: number[] | null = null;
  private contactIndex: Map<string, string[]> | null = null;

  constructor(world: SeedWorld, now: () => number) {
    this.world = world;
    this.now = now;
  }

  /** Deterministic split: roughly two in three people are Contacts, the rest Leads. */
  static personObject(index: number): 'Contact' | 'Lead' {
    return (index * 2246822519) % 3 === 0 ? 'Lead' : 'Contact';
  }

  /** The object a person's note number `n` lives in: Cases only hang off Contacts. */
  static activityObject(parent: 'Contact' | 'Lead', n: number): 'Task' | 'Note' | 'Case' {
    return parent === 'Contact' ? (['Task', 'Note', 'Case'] as const)[n % 3] : (['Task', 'Note'] as const)[n % 2];
  }

  /** The primary (or duplicate) person record id of a seed person. */
  personRecordId(index: number, duplicate = false): string {
    return encodeId(SalesforceStore.personObject(index), index, duplicate ? 1 : 0);
  }

  private salesforceIndexes(): number[] {
    this.persons ??= [...this.world.indexesIn('salesforce')];
    return this.persons;
  }

  holds(index: number): boolean {
    return sortedHas(this.salesforceIndexes(), index);
  }

  private notesOf(person: SeedPerson): SeedNote[] {
    return person.notes.salesforce ?? [];
  }

  /** The generated record before overlays; null when the id names nothing in this org. */
  private base(id: string): SfRow | null {
    const d = decodeId(id);
    if (!d || d.index >= this.world.options.people || !this.holds(d.index)) return null;
    const p = this.world.person(d.index);
    const parentObject = SalesforceStore.personObject(d.index);
    if (d.object === 'Contact' || d.object === 'Lead') {
      if (parentObject !== d.object || d.n > 1 || (d.n === 1 && !p.duplicatedIn.includes('salesforce'))) return null;
      return this.personRow(id, d.object, p, d.n);
    }
    if (d.object === 'Individual') return d.n === 0 ? this.individualRow(id, p) : null;
    const note = this.notesOf(p)[d.n];
    if (!note || SalesforceStore.activityObject(parentObject, d.n) !== d.object) return null;
    const parent = encodeId(parentObject, d.index, 0);
    const stamps = {
      CreatedDate: sfDateTime(Date.parse(note.createdAt)),
      LastModifiedDate: sfDateTime(hour(note.createdAt)),
      SystemModstamp: sfDateTime(hour(note.createdAt)),
    };
    const common = { Id: id, IsDeleted: false };
    if (d.object === 'Note')
      return { ...common, ParentId: parent, Title: `Note ${d.n + 1}`, Body: note.text, ...stamps };
    if (d.object === 'Case')
      return {
        ...common,
        ContactId: parent,
        Subject: `Case ${d.n + 1}`,
        Description: note.text,
        Status: 'Closed',
        ...stamps,
      };
    return {
      ...common,
      WhoId: parent,
      Subject: `Follow up ${d.n + 1}`,
      Description: note.text,
      Status: 'Completed',
      ActivityDate: note.createdAt.slice(0, 10),
      ...stamps,
    };
  }

  /** The moment of the data import that last touched a quarter of the people (many rows share it). */
  private importTime(): number {
    return hour(new Date(this.world.options.now.getTime() - 400 * DAY).toISOString());
  }

  private personRow(id: string, object: 'Contact' | 'Lead', p: SeedPerson, dup: number): SfRow {
    // Hour precision, and one person in four last touched by the same import: SystemModstamp ties
    // across page boundaries, which the connector's (SystemModstamp, Id) watermark must survive.
    const modified = dup === 1 ? hour(p.createdAt) : p.index % 4 === 0 ? this.importTime() : hour(p.updatedAt);
    const common: SfRow = {
      Id: id,
      IsDeleted: false,
      FirstName: p.firstName,
      LastName: p.lastName,
      Email: p.email,
      Phone: p.phone,
      MobilePhone: null,
      Title: p.jobTitle,
      Description: null,
      HasOptedOutOfEmail: p.optedOut.salesforce === true,
      DoNotCall: false,
      IndividualId: encodeId('Individual', p.index, 0),
      LastActivityDate: p.lastActivityAt.slice(0, 10),
      CreatedDate: sfDateTime(Date.parse(p.createdAt)),
      LastModifiedDate: sfDateTime(modified),
      SystemModstamp: sfDateTime(modified),
      Loyalty_Id__c: `LOY-${String(p.index).padStart(8, '0')}`,
      Segment__c: `segment-${p.index % 7}`,
    };
    return object === 'Contact'
      ? {
          ...common,
          MailingStreet: p.street,
          MailingCity: p.city,
          MailingPostalCode: p.postalCode,
          MailingCountry: p.country,
          Birthdate: null,
        }
      : {
          ...common,
          Company: p.company,
          Street: p.street,
          City: p.city,
          PostalCode: p.postalCode,
          Country: p.country,
          Status: LEAD_STATUS[p.lifecycleStage],
        };
  }

  private individualRow(id: string, p: SeedPerson): SfRow {
    const stamp = sfDateTime(hour(p.createdAt));
    return {
      Id: id,
      IsDeleted: false,
      FirstName: p.firstName,
      LastName: p.lastName,
      HasOptedOutTracking: false,
      HasOptedOutProcessing: false,
      HasOptedOutSolicit: p.optedOut.salesforce === true,
      HasOptedOutProfiling: false,
      ShouldForget: false,
      CreatedDate: stamp,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    };
  }

  /** The object an id belongs to (by its key prefix), or null. */
  objectOf(id: string): SfObjectName | null {
    return decodeId(id)?.object ?? null;
  }

  /** The bin entry, treating records binned longer than 15 days as purged. */
  private binned(id: string): BinEntry | undefined {
    const entry = this.bin.get(id);
    if (entry && !entry.purged && this.now() - entry.deletedAt > RECYCLE_BIN_DAYS * DAY) entry.purged = true;
    return entry;
  }

  /** The record live or in the Recycle Bin (IsDeleted = true); null when unknown or purged. */
  find(id: string): SfRow | null {
    const entry = this.binned(id);
    if (entry?.purged) return null;
    const row = this.base(id);
    if (!row) return null;
    const patch = this.patches.get(id);
    const merged = patch ? { ...row, ...patch } : row;
    return entry ? { ...merged, IsDeleted: true } : merged;
  }

  /** The live record, or null (unknown, in the Recycle Bin or purged). */
  get(id: string): SfRow | null {
    const row = this.find(id);
    return row && row.IsDeleted !== true ? row : null;
  }

  /** What a delete or empty-bin call finds at an id. */
  state(id: string): 'live' | 'binned' | 'purged' | 'unknown' {
    const entry = this.binned(id);
    if (entry) return entry.purged ? 'purged' : 'binned';
    return this.base(id) ? 'live' : 'unknown';
  }

  /** The index entry of a record as it is now (null when unknown or purged). */
  private entryOf(id: string): IndexEntry | null {
    const row = this.find(id);
    return row ? { id, t: Date.parse(String(row.SystemModstamp)), deleted: row.IsDeleted === true } : null;
  }

  /**
   * Apply a change to one record and move its entry in the cached (SystemModstamp, Id) index, so a write
   * costs a binary search and a splice instead of regenerating the whole object's index.
   */
  private change(id: string, mutate: () => void): void {
    const object = decodeId(id)?.object;
    const list = object ? this.sorted.get(object) : undefined;
    const before = list ? this.entryOf(id) : null;
    mutate();
    if (!list || !object) return;
    if (before) {
      const at = lowerBound(list, before);
      if (list[at]?.id !== id) {
        this.sorted.delete(object); // not where it should be: rebuild on next use
        return;
      }
      list.splice(at, 1);
    }
    const after = this.entryOf(id);
    if (after) list.splice(lowerBound(list, after), 0, after);
  }

  private touch(id: string, fields: Record<string, unknown>): void {
    const stamp = sfDateTime(this.now());
    this.patches.set(id, { ...this.patches.get(id), ...fields, LastModifiedDate: stamp, SystemModstamp: stamp });
  }

  update(id: string, fields: Record<string, unknown>): SfRow | null {
    if (!this.get(id)) return null;
    this.change(id, () => this.touch(id, fields));
    const row = this.get(id);
    this.indexContact(row);
    return row;
  }

  /** Move a live record to the Recycle Bin (SystemModstamp moves, so incremental queryAll sees it). */
  remove(id: string): boolean {
    if (this.state(id) !== 'live') return false;
    this.change(id, () => {
      this.touch(id, {});
      this.bin.set(id, { deletedAt: this.now(), purged: false });
    });
    return true;
  }

  /** Put back a removed or updated record (used to roll back an allOrNone Collections call). */
  restore(id: string, previous: Record<string, unknown> | undefined): void {
    this.change(id, () => {
      this.bin.delete(id);
      if (previous) this.patches.set(id, previous);
      else this.patches.delete(id);
    });
  }

  /** The overlay of a record (to restore it after a rollback). */
  patchOf(id: string): Record<string, unknown> | undefined {
    return this.patches.get(id);
  }

  /** Empty the record from the Recycle Bin: gone for good. */
  purge(id: string): boolean {
    const entry = this.binned(id);
    if (!entry || entry.purged) return false;
    this.change(id, () => {
      entry.purged = true;
      this.patches.delete(id);
    });
    return true;
  }

  /** Every base record id of an object, in seed order. */
  private *baseIds(object: SfObjectName): Iterable<string> {
    for (const index of this.salesforceIndexes()) {
      const parent = SalesforceStore.personObject(index);
      if (object === 'Contact' || object === 'Lead') {
        if (parent !== object) continue;
        yield encodeId(object, index, 0);
        if (this.world.person(index).duplicatedIn.includes('salesforce')) yield encodeId(object, index, 1);
      } else if (object === 'Individual') {
        yield encodeId(object, index, 0);
      } else {
        const notes = this.notesOf(this.world.person(index));
        for (let n = 0; n < notes.length; n++)
          if (SalesforceStore.activityObject(parent, n) === object) yield encodeId(object, index, n);
      }
    }
  }

  /** Records of an object (live and binned) sorted by (SystemModstamp, Id); cached until the next write. */
  index(object: SfObjectName): IndexEntry[] {
    let list = this.sorted.get(object);
    if (!list) {
      list = [];
      for (const id of this.baseIds(object)) {
        const row = this.find(id);
        if (row) list.push({ id, t: Date.parse(String(row.SystemModstamp)), deleted: row.IsDeleted === true });
      }
      list.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      this.sorted.set(object, list);
    }
    return list;
  }

  /** Contact and Lead ids (live or binned) whose Email, Phone or MobilePhone equals the value (any case). */
  byContactValue(value: string): string[] {
    if (!this.contactIndex) {
      this.contactIndex = new Map();
      for (const object of ['Contact', 'Lead'] as const)
        for (const { id } of this.index(object)) this.indexContact(this.find(id));
    }
    return this.contactIndex.get(value.toLowerCase()) ?? [];
  }

  private indexContact(row: SfRow | null): void {
    if (!row || !this.contactIndex) return;
    for (const v of [row.Email, row.Phone, row.MobilePhone]) {
      if (typeof v !== 'string') continue;
      const key = v.toLowerCase();
      const list = this.contactIndex.get(key) ?? [];
      if (!list.includes(row.Id)) list.push(row.Id);
      this.contactIndex.set(key, list);
    }
  }

  /** Activity ids of an object linked to the given person record ids (derived from the ids, no scan). */
  activitiesOf(object: 'Task' | 'Note' | 'Case', personIds: string[]): string[] {
    const out: string[] = [];
    const seen = new Set<number>();
    for (const pid of personIds) {
      const d = decodeId(pid);
      if (!d || (d.object !== 'Contact' && d.object !== 'Lead') || seen.has(d.index) || !this.holds(d.index)) continue;
      seen.add(d.index);
      const parent = SalesforceStore.personObject(d.index);
      const notes = this.notesOf(this.world.person(d.index));
      for (let n = 0; n < notes.length; n++)
        if (SalesforceStore.activityObject(parent, n) === object) out.push(encodeId(object, d.index, n));
    }
    return out;
  }

  /** Records of an object deleted between start and end (epoch ms), for `/sobjects/X/deleted`. */
  deletedBetween(object: SfObjectName, start: number, end: number): { id: string; deletedDate: string }[] {
    const out: { id: string; deletedDate: string }[] = [];
    for (const [id, entry] of this.bin) {
      if (decodeId(id)?.object !== object || this.binned(id)?.purged) continue;
      if (entry.deletedAt >= start && entry.deletedAt < end) out.push({ id, deletedDate: sfDateTime(entry.deletedAt) });
    }
    return out;
  }

  /** Overlay sizes (memory checks for big worlds). */
  overlaySize(): { patched: number; binned: number } {
    return { patched: this.patches.size, binned: this.bin.size };
  }
}

/** First position in a (t, id)-sorted index whose entry is not before `entry`. */
function lowerBound(list: IndexEntry[], entry: IndexEntry): number {
  return partitionPoint(list, (m) => m.t < entry.t || (m.t === entry.t && m.id < entry.id));
}
