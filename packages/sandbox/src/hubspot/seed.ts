/**
 * HubSpot records derived from seed people: contacts, notes, companies and deals, deterministic per
 * (seed, people). Ids: contact 100000 + 2*index (its duplicate +1), note 500000000 + 10*index + k,
 * company 300000000 + n (one per COMPANY_SIZE consecutive HubSpot people, named after the first),
 * deal 700000000 + index (one per person at the opportunity or customer stage). Companies and deals scale
 * with the contacts and carry personal data the way real portals do: a person's direct phone as the
 * company phone, owner ids, and names and emails typed into names and descriptions.
 */
import type { SeedPerson } from '../kit/seed-types.js';

export type HsObjectType = 'contacts' | 'notes' | 'companies' | 'deals';
export const HS_OBJECT_TYPES: readonly HsObjectType[] = ['contacts', 'notes', 'companies', 'deals'];

export interface HsRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
  /** Contacts: note ids; notes, companies and deals: contact ids. */
  links: string[];
}

/** Consecutive HubSpot people that share one company. */
export const COMPANY_SIZE = 4;
/** CRM users that own records (hubspot_owner_id). */
const OWNERS = ['41000001', '41000002', '41000003', '41000004', '41000005'];

const LEGAL: Record<string, string> = {
  consent: 'Freely given consent from contact',
  contract: 'Performance of a contract',
  legitimate_interest: 'Legitimate interest – prospect/lead',
};

/** The property holding the modification time (contacts predate the hs_ prefix). */
export const modifiedProperty = (type: string): string =>
  type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
/** The property holding the creation time. */
export const createdProperty = (type: string): string => (type === 'notes' ? 'hs_createdate' : 'createdate');

/** Contact id of a seed person (`duplicate`: its email-less second record). */
export const contactId = (index: number, duplicate = false): number => 100_000 + 2 * index + (duplicate ? 1 : 0);
export const noteId = (index: number, k: number): number => 500_000_000 + 10 * index + k;
export const companyId = (n: number): number => 300_000_000 + n;
export const dealId = (index: number): number => 700_000_000 + index;
/** Notes a person can have (ids leave room for ten). */
export const NOTES_PER_PERSON = 10;

const ownerOf = (index: number): string => OWNERS[index % OWNERS.length] as string;

/** The person's contact records: the primary (linked to its notes) and, if duplicated, its email-less twin. */
export function seedContacts(p: SeedPerson, index: number): HsRecord[] {
  const base = (id: number, email: string | null): HsRecord => ({
    id: String(id),
    properties: {
      hs_object_id: String(id),
      email,
      firstname: p.firstName,
      lastname: p.lastName,
      phone: p.phone,
      address: p.street,
      city: p.city,
      zip: p.postalCode,
      country: p.country,
      company: p.company,
      jobtitle: p.jobTitle,
      createdate: p.createdAt,
      lastmodifieddate: p.updatedAt,
      notes_last_updated: p.lastActivityAt,
      lifecyclestage: p.lifecycleStage,
      hs_email_optout: p.optedOut.hubspot ? 'true' : 'false',
      hs_legal_basis: p.legalBasis ? (LEGAL[p.legalBasis] ?? null) : null,
      hubspot_owner_id: ownerOf(index),
    },
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    archived: false,
    links: [],
  });
  // Duplicates carry no email (HubSpot keeps email unique per portal), only the name and phone.
  const primary = base(contactId(index), p.email);
  primary.links = (p.notes.hubspot ?? []).map((_, k) => String(noteId(index, k)));
  return p.duplicatedIn.includes('hubspot') ? [primary, base(contactId(index, true), null)] : [primary];
}

/** The person's notes, each linked to the primary contact. */
export function seedNotes(p: SeedPerson, index: number): HsRecord[] {
  return (p.notes.hubspot ?? []).map((n, k) => {
    const id = String(noteId(index, k));
    return {
      id,
      properties: {
        hs_object_id: id,
        hs_note_body: n.text,
        hs_timestamp: n.createdAt,
        hs_createdate: n.createdAt,
        hs_lastmodifieddate: n.createdAt,
        hubspot_owner_id: ownerOf(index),
      },
      createdAt: n.createdAt,
      updatedAt: n.createdAt,
      archived: false,
      links: [String(contactId(index))],
    };
  });
}

/**
 * Company `n`: named after the first of its COMPANY_SIZE consecutive HubSpot people (`members`, seed
 * indexes in order), linked to their primary contacts.
 */
export function seedCompany(n: number, first: SeedPerson, members: readonly number[]): HsRecord {
  const id = String(companyId(n));
  const p = first;
  const domain = `${p.company.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
  return {
    id,
    properties: {
      hs_object_id: id,
      name: p.company,
      domain,
      // Small firms list the founder's direct line as the company phone.
      phone: p.phone,
      address: p.street,
      city: p.city,
      zip: p.postalCode,
      country: p.country,
      description: `Key contact ${p.firstName} ${p.lastName} (${p.jobTitle}), ${p.email}`,
      hubspot_owner_id: ownerOf(members[0] as number),
      createdate: p.createdAt,
      hs_lastmodifieddate: p.updatedAt,
    },
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    archived: false,
    links: members.map((index) => String(contactId(index))),
  };
}

/** The person's deal, for people at the opportunity or customer stage; null otherwise. */
export function seedDeal(p: SeedPerson, index: number): HsRecord | null {
  if (p.lifecycleStage !== 'opportunity' && p.lifecycleStage !== 'customer') return null;
  const id = String(dealId(index));
  return {
    id,
    properties: {
      hs_object_id: id,
      dealname: `${p.company} – ${p.firstName} ${p.lastName}`,
      amount: String(1000 + (index % 50) * 250),
      dealstage: p.lifecycleStage === 'customer' ? 'closedwon' : 'appointmentscheduled',
      pipeline: 'default',
      closedate: p.lifecycleStage === 'customer' ? p.updatedAt : null,
      description: `Call ${p.firstName} on ${p.phone} about the renewal`,
      hubspot_owner_id: ownerOf(index),
      createdate: p.createdAt,
      hs_lastmodifieddate: p.updatedAt,
    },
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    archived: false,
    links: [String(contactId(index))],
  };
}
