/**
 * The Zoho look-alike's records: generated on demand from the seed world (people held by `zoho`, split
 * deterministically into Contacts and Leads, duplicates as second records, notes as Notes/Tasks/Calls),
 * with overlays for updates, the recycle bin and permanent deletions. Only a sorted (Modified_Time, id)
 * index per module is cached; record bodies are generated per request.
 */
import type { SeedNote, SeedPerson, SeedWorld } from '../kit/seed-types.js';
import { sortedHas } from '../kit/sorted.js';

export const ZOHO_MODULES = ['Contacts', 'Leads', 'Notes', 'Tasks', 'Calls'] as const;
export type ZohoModuleName = (typeof ZOHO_MODULES)[number];
export type ZohoRow = { id: string } & Record<string, unknown>;

const PREFIX: Record<ZohoModuleName, bigint> = {
  Contacts: 3n,
  Leads: 4n,
  Notes: 5n,
  Tasks: 6n,
  Calls: 7n,
};
const SPAN = 10n ** 17n;

/** Custom fields every person module carries, so a full field list needs two `fields` chunks (> 50). */
export const CUSTOM_FIELD_COUNT = 36;
const CUSTOM = Array.from({ length: CUSTOM_FIELD_COUNT }, (_, i) => `Custom_Field_${i + 1}`);

export const FIELD_METADATA: Record<ZohoModuleName, string[]> = {
  Contacts: [
    'id',
    'Created_Time',
    'Modified_Time',
    'First_Name',
    'Last_Name',
    'Email',
    'Secondary_Email',
    'Phone',
    'Mobile',
    'Mailing_Street',
    'Mailing_City',
    'Mailing_Zip',
    'Mailing_Country',
    'Account_Name',
    'Title',
    'Date_of_Birth',
    'Description',
    'Last_Activity_Time',
    'Lead_Status',
    'Email_Opt_Out',
    'Data_Processing_Basis_Details',
    ...CUSTOM,
  ],
  Leads: [
    'id',
    'Created_Time',
    'Modified_Time',
    'First_Name',
    'Last_Name',
    'Email',
    'Secondary_Email',
    'Phone',
    'Mobile',
    'Street',
    'City',
    'Zip_Code',
    'Country',
    'Company',
    'Designation',
    'Description',
    'Last_Activity_Time',
    'Lead_Status',
    'Email_Opt_Out',
    'Data_Processing_Basis_Details',
    ...CUSTOM,
  ],
  Notes: ['id', 'Created_Time', 'Modified_Time', 'Note_Title', 'Note_Content', 'Parent_Id'],
  Tasks: ['id', 'Created_Time', 'Modified_Time', 'Subject', 'Description', 'Who_Id', 'What_Id', 'Status'],
  Calls: ['id', 'Created_Time', 'Modified_Time', 'Subject', 'Description', 'Call_Agenda', 'Who_Id', 'What_Id'],
};

/** Zoho date-time (`2026-01-01T10:00:00+00:00`), truncated to the hour so many records share a value. */
export function zohoTime(iso: string | Date, truncateToHour = false): string {
  const d = new Date(iso);
  if (truncateToHour) d.setUTCMinutes(0, 0, 0);
  return `${d.toISOString().slice(0, 19)}+00:00`;
}

const BASIS: Record<string, string> = {
  consent: 'Consent - Obtained',
  contract: 'Contract',
  legitimate_interest: 'Legitimate Interests',
};
const STATUS: Record<SeedPerson['lifecycleStage'], string> = {
  subscriber: 'Not Contacted',
  lead: 'Contacted',
  opportunity: 'Pre-Qualified',
  customer: 'Converted',
};

function contactValues(row: ZohoRow, kind: 'email' | 'phone'): string[] {
  const fields = kind === 'email' ? [row.Email, row.Secondary_Email] : [row.Phone, row.Mobile];
  return fields.filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase());
}

export interface DeletedEntry {
  id: string;
  module: ZohoModuleName;
  type: 'recycle' | 'permanent';
  deleted_time: string;
  display_name: string;
}

interface Decoded {
  module: ZohoModuleName;
  index: number;
  /** Person modules: 0 primary record, 1 the duplicate. Activities: the note number. */
  n: number;
}

export class ZohoStore {
  private readonly world: SeedWorld;
  private readonly now: () => Date;
  /** Updated fields per record id (overlay on the generated base). */
  private readonly patches = new Map<string, Record<string, unknown>>();
  /** Deleted records: recycle bin or permanently gone. */
  readonly deleted = new Map<string, DeletedEntry>();
  private sorted = new Map<ZohoModuleName, { id: string; t: number }[]>();
  private persons: number[] | null = null;
  private emailIndex: Map<string, string[]> | null = null;

  constructor(world: SeedWorld, now: () => Date) {
    this.world = world;
    this.now = now;
  }

  /** The moment of the bulk import that last touched a quarter of the people. */
  private importTime(): string {
    return zohoTime(new Date(this.world.options.now.getTime() - 400 * 86_400_000), true);
  }

  static moduleOfPerson(index: number): 'Contacts' | 'Leads' {
    // Deterministic split: roughly two in three people are Contacts.
    return (index * 2654435761) % 3 === 0 ? 'Leads' : 'Contacts';
  }

  encode(module: ZohoModuleName, index: number, n: number): string {
    return String(PREFIX[module] * SPAN + BigInt(index) * 1000n + BigInt(n));
  }

  decode(id: string): Decoded | null {
    if (!/^\d{18}$/.test(id)) return null;
    const big = BigInt(id);
    const prefix = big / SPAN;
    const module = (Object.keys(PREFIX) as ZohoModuleName[]).find((m) => PREFIX[m] === prefix);
    if (!module) return null;
    const rest = big % SPAN;
    const index = Number(rest / 1000n);
    const n = Number(rest % 1000n);
    if (index >= this.world.options.people) return null;
    return { module, index, n };
  }

  private zohoIndexes(): number[] {
    this.persons ??= [...this.world.indexesIn('zoho')];
    return this.persons;
  }

  private holds(index: number): boolean {
    return sortedHas(this.zohoIndexes(), index);
  }

  private activityModule(n: number): 'Notes' | 'Tasks' | 'Calls' {
    return n % 3 === 0 ? 'Notes' : n % 3 === 1 ? 'Tasks' : 'Calls';
  }

  private notesOf(person: SeedPerson): SeedNote[] {
    return person.notes.zoho ?? [];
  }

  /** The generated record, before overlays; null when the id names nothing in the world. */
  private base(id: string): ZohoRow | null {
    const d = this.decode(id);
    if (!d || !this.holds(d.index)) return null;
    const p = this.world.person(d.index);
    if (d.module === 'Contacts' || d.module === 'Leads') {
      if (ZohoStore.moduleOfPerson(d.index) !== d.module) return null;
      if (d.n > 1 || (d.n === 1 && !p.duplicatedIn.includes('zoho'))) return null;
      return this.personRow(id, d.module, p, d.n);
    }
    const notes = this.notesOf(p);
    const note = notes[d.n];
    if (!note || this.activityModule(d.n) !== d.module) return null;
    const parentModule = ZohoStore.moduleOfPerson(d.index);
    const parent = { id: this.encode(parentModule, d.index, 0), name: `${p.firstName} ${p.lastName}` };
    const created = zohoTime(note.createdAt);
    const common = { id, Created_Time: created, Modified_Time: zohoTime(note.createdAt, true) };
    if (d.module === 'Notes')
      return {
        ...common,
        Note_Title: `Note ${d.n + 1}`,
        Note_Content: note.text,
        Parent_Id: { ...parent, module: { api_name: parentModule, id: String(PREFIX[parentModule]) } },
        $se_module: parentModule,
      };
    const links =
      parentModule === 'Contacts'
        ? { Who_Id: parent, What_Id: null, $se_module: null }
        : { Who_Id: null, What_Id: parent, $se_module: 'Leads' };
    return d.module === 'Tasks'
      ? { ...common, Subject: `Follow up ${d.n + 1}`, Description: note.text, Status: 'Completed', ...links }
      : { ...common, Subject: `Call ${d.n + 1}`, Description: note.text, Call_Agenda: null, ...links };
  }

  private personRow(id: string, module: 'Contacts' | 'Leads', p: SeedPerson, dup: number): ZohoRow {
    const basis = p.legalBasis ? BASIS[p.legalBasis] : 'Not Applicable';
    const common: ZohoRow = {
      id,
      Created_Time: zohoTime(p.createdAt),
      // Hour precision, and one person in four last touched by the same bulk import: many records share
      // a Modified_Time, across page boundaries.
      Modified_Time: p.index % 4 === 0 ? this.importTime() : zohoTime(p.updatedAt, true),
      First_Name: p.firstName,
      Last_Name: p.lastName,
      Email: p.email,
      Secondary_Email: null,
      Phone: p.phone,
      Mobile: null,
      Description: null,
      Last_Activity_Time: zohoTime(p.lastActivityAt),
      Lead_Status: STATUS[p.lifecycleStage],
      Email_Opt_Out: p.optedOut.zoho === true,
      Data_Processing_Basis_Details: {
        id: `${id}1`,
        Data_Processing_Basis: p.problems.includes('missing_consent') ? 'Not Applicable' : basis,
        Contact_Through_Email: true,
        Contact_Through_Phone: false,
        Contact_Through_Social: false,
        Contact_Through_Survey: false,
        Consent_Date: p.createdAt.slice(0, 10),
        Consent_Remarks: null,
        Lawful_Reason: null,
        Mail_Sent_Time: null,
        Consent_Through: 'Email',
      },
      ...Object.fromEntries(CUSTOM.map((f, i) => [f, i === 0 ? `segment-${p.index % 7}` : null])),
    };
    if (dup === 1) common.Modified_Time = zohoTime(p.createdAt, true);
    return module === 'Contacts'
      ? {
          ...common,
          Mailing_Street: p.street,
          Mailing_City: p.city,
          Mailing_Zip: p.postalCode,
          Mailing_Country: p.country,
          Account_Name: { name: p.company, id: String(9n * SPAN + BigInt(p.index)) },
          Title: p.jobTitle,
          Date_of_Birth: null,
        }
      : {
          ...common,
          Street: p.street,
          City: p.city,
          Zip_Code: p.postalCode,
          Country: p.country,
          Company: p.company,
          Designation: p.jobTitle,
        };
  }

  /** The current record (base + patches), or null when deleted or unknown. */
  get(id: string, module?: ZohoModuleName): ZohoRow | null {
    if (this.deleted.has(id)) return null;
    const row = this.base(id);
    if (!row) return null;
    if (module && this.decode(id)?.module !== module) return null;
    const patch = this.patches.get(id);
    return patch ? { ...row, ...patch } : row;
  }

  /** Every base record id of a module, in generation order. */
  private *baseIds(module: ZohoModuleName): Iterable<string> {
    for (const index of this.zohoIndexes()) {
      if (module === 'Contacts' || module === 'Leads') {
        if (ZohoStore.moduleOfPerson(index) !== module) continue;
        yield this.encode(module, index, 0);
        if (this.world.person(index).duplicatedIn.includes('zoho')) yield this.encode(module, index, 1);
      } else {
        const notes = this.notesOf(this.world.person(index));
        for (let n = 0; n < notes.length; n++)
          if (this.activityModule(n) === module) yield this.encode(module, index, n);
      }
    }
  }

  /** Live records of a module sorted by (Modified_Time, id) ascending; cached until the next write. */
  sortedIndex(module: ZohoModuleName): { id: string; t: number }[] {
    let list = this.sorted.get(module);
    if (!list) {
      list = [];
      for (const id of this.baseIds(module)) {
        const row = this.get(id);
        if (row) list.push({ id, t: Date.parse(String(row.Modified_Time)) });
      }
      list.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      this.sorted.set(module, list);
    }
    return list;
  }

  /** Records of a person module whose email / phone fields equal the value (lower-cased). */
  byContact(module: ZohoModuleName, kind: 'email' | 'phone', value: string): ZohoRow[] {
    if (!this.emailIndex) {
      this.emailIndex = new Map();
      for (const m of ['Contacts', 'Leads'] as const)
        for (const { id } of this.sortedIndex(m)) this.indexRow(this.get(id));
    }
    return (this.emailIndex.get(`${kind}:${value.toLowerCase()}`) ?? [])
      .map((id) => this.get(id, module))
      .filter((r): r is ZohoRow => r !== null && contactValues(r, kind).includes(value.toLowerCase()));
  }

  private indexRow(row: ZohoRow | null): void {
    if (!row || !this.emailIndex) return;
    const keys = [
      ...[row.Email, row.Secondary_Email].map((v) => (typeof v === 'string' ? `email:${v.toLowerCase()}` : null)),
      ...[row.Phone, row.Mobile].map((v) => (typeof v === 'string' ? `phone:${v.toLowerCase()}` : null)),
    ];
    for (const k of keys) {
      if (!k) continue;
      const list = this.emailIndex.get(k) ?? [];
      if (!list.includes(row.id)) list.push(row.id);
      this.emailIndex.set(k, list);
    }
  }

  /** Activity records (any module) linked to the given person record ids, derived from the ids. */
  activitiesOf(module: ZohoModuleName, personIds: string[]): ZohoRow[] {
    const out: ZohoRow[] = [];
    const seen = new Set<number>();
    for (const pid of personIds) {
      const d = this.decode(pid);
      if (!d || seen.has(d.index) || !this.holds(d.index)) continue;
      seen.add(d.index);
      const notes = this.notesOf(this.world.person(d.index));
      for (let n = 0; n < notes.length; n++) {
        if (this.activityModule(n) !== module) continue;
        const row = this.get(this.encode(module, d.index, n));
        if (row) out.push(row);
      }
    }
    return out;
  }

  update(id: string, fields: Record<string, unknown>): ZohoRow | null {
    const row = this.get(id);
    if (!row) return null;
    const patch = { ...this.patches.get(id), ...fields, Modified_Time: zohoTime(this.now()) };
    this.patches.set(id, patch);
    const module = this.decode(id)?.module;
    if (module) this.sorted.delete(module);
    this.indexRow(this.get(id));
    return this.get(id);
  }

  /** Delete to the recycle bin; false when the record does not exist (or is already deleted). */
  remove(id: string): boolean {
    const row = this.get(id);
    const d = this.decode(id);
    if (!row || !d) return false;
    const name =
      typeof row.Last_Name === 'string'
        ? `${row.First_Name ?? ''} ${row.Last_Name}`.trim()
        : String(row.Subject ?? row.Note_Title ?? '');
    this.deleted.set(id, {
      id,
      module: d.module,
      type: 'recycle',
      deleted_time: zohoTime(this.now()),
      display_name: name,
    });
    this.sorted.delete(d.module);
    return true;
  }

  /** Purge from the recycle bin: the record is gone for good. */
  purge(id: string): boolean {
    const entry = this.deleted.get(id);
    if (entry?.type !== 'recycle') return false;
    this.deleted.set(id, { ...entry, type: 'permanent', deleted_time: zohoTime(this.now()), display_name: '' });
    this.patches.delete(id);
    return true;
  }

  /** Ids the store can resolve (for tests): primary record of a person. */
  personRecordId(index: number, duplicate = false): string {
    return this.encode(ZohoStore.moduleOfPerson(index), index, duplicate ? 1 : 0);
  }
}
