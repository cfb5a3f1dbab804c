/**
 * The HubSpot portal built from the seed world: contacts, notes, companies and deals, deterministic per
 * (seed, people). Ids: contact 100000 + 2*index (its duplicate +1), note 500000000 + 10*index + k,
 * company 300000000 + n (one per COMPANY_SIZE consecutive HubSpot people, named after the first),
 * deal 700000000 + index (one per person at the opportunity or customer stage). Companies and deals scale
 * with the contacts and carry personal data the way real portals do: a person's direct phone as the
 * company phone, owner ids, and names and emails typed into names and descriptions.
 */
import type { SeedWorld } from '../kit/seed-types.js';

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

export function seedPortal(world: SeedWorld): Record<HsObjectType, Map<string, HsRecord>> {
  const contacts = new Map<string, HsRecord>();
  const notes = new Map<string, HsRecord>();
  const companies = new Map<string, HsRecord>();
  const deals = new Map<string, HsRecord>();
  let position = 0;
  let company: HsRecord | null = null;
  for (const index of world.indexesIn('hubspot')) {
    const p = world.person(index);
    const owner = OWNERS[index % OWNERS.length] as string;
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
        hubspot_owner_id: owner,
      },
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
      archived: false,
      links: [],
    });
    // Duplicates carry no email (HubSpot keeps email unique per portal), only the name and phone.
    const primary = base(100_000 + 2 * index, p.email);
    contacts.set(primary.id, primary);
    if (p.duplicatedIn.includes('hubspot')) {
      const dup = base(100_001 + 2 * index, null);
      contacts.set(dup.id, dup);
    }
    for (const [k, n] of (p.notes.hubspot ?? []).entries()) {
      const id = String(500_000_000 + 10 * index + k);
      notes.set(id, {
        id,
        properties: {
          hs_object_id: id,
          hs_note_body: n.text,
          hs_timestamp: n.createdAt,
          hs_createdate: n.createdAt,
          hs_lastmodifieddate: n.createdAt,
          hubspot_owner_id: owner,
        },
        createdAt: n.createdAt,
        updatedAt: n.createdAt,
        archived: false,
        links: [primary.id],
      });
      primary.links.push(id);
    }
    if (position % COMPANY_SIZE === 0) {
      const id = String(300_000_000 + companies.size);
      const domain = `${p.company.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
      company = {
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
          hubspot_owner_id: owner,
          createdate: p.createdAt,
          hs_lastmodifieddate: p.updatedAt,
        },
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
        archived: false,
        links: [],
      };
      companies.set(id, company);
    }
    company?.links.push(primary.id);
    position++;
    if (p.lifecycleStage === 'opportunity' || p.lifecycleStage === 'customer') {
      const id = String(700_000_000 + index);
      deals.set(id, {
        id,
        properties: {
          hs_object_id: id,
          dealname: `${p.company} – ${p.firstName} ${p.lastName}`,
          amount: String(1000 + (index % 50) * 250),
          dealstage: p.lifecycleStage === 'customer' ? 'closedwon' : 'appointmentscheduled',
          pipeline: 'default',
          closedate: p.lifecycleStage === 'customer' ? p.updatedAt : null,
          description: `Call ${p.firstName} on ${p.phone} about the renewal`,
          hubspot_owner_id: owner,
          createdate: p.createdAt,
          hs_lastmodifieddate: p.updatedAt,
        },
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
        archived: false,
        links: [primary.id],
      });
    }
  }
  return { contacts, notes, companies, deals };
}
