/** HubSpot streams and the classification of every property the connector reads. */
import type { FieldCategory, FieldClassification, StreamDefinition } from '@custodian/core';

export const CONTACT_FIELDS: FieldClassification[] = [
  { name: 'email', category: 'contact.email', canonical: 'email' },
  { name: 'hs_additional_emails', category: 'contact.email', canonical: 'secondaryEmail' },
  { name: 'phone', category: 'contact.phone', canonical: 'phone' },
  { name: 'mobilephone', category: 'contact.phone', canonical: 'mobilePhone' },
  { name: 'firstname', category: 'name', canonical: 'firstName' },
  { name: 'lastname', category: 'name', canonical: 'lastName' },
  { name: 'address', category: 'contact.address', canonical: 'address' },
  { name: 'city', category: 'contact.address', canonical: 'city' },
  { name: 'zip', category: 'contact.address', canonical: 'postalCode' },
  { name: 'country', category: 'contact.address', canonical: 'country' },
  { name: 'company', category: 'other', canonical: 'company' },
  { name: 'jobtitle', category: 'other', canonical: 'jobTitle' },
  { name: 'date_of_birth', category: 'identifier.government', canonical: 'dateOfBirth' },
  { name: 'hs_email_optout', category: 'consent' },
  { name: 'hs_legal_basis', category: 'consent' },
  { name: 'lifecyclestage', category: 'system' },
  { name: 'notes_last_updated', category: 'activity' },
  { name: 'hs_last_sales_activity_timestamp', category: 'activity' },
  { name: 'hs_object_id', category: 'identifier.vendor' },
  { name: 'createdate', category: 'system' },
  { name: 'lastmodifieddate', category: 'system' },
  { name: 'hubspot_owner_id', category: 'identifier.vendor' },
];

export const NOTE_FIELDS: FieldClassification[] = [
  { name: 'hs_note_body', category: 'free_text' },
  { name: 'hs_timestamp', category: 'activity' },
  { name: 'hs_object_id', category: 'identifier.vendor' },
  { name: 'hs_createdate', category: 'system' },
  { name: 'hs_lastmodifieddate', category: 'system' },
  { name: 'hubspot_owner_id', category: 'identifier.vendor' },
];

/**
 * Companies hold personal data where the firm is a person (sole traders, the founder's direct line as the
 * company phone, an address that is a home) and in free text (descriptions naming the key contact).
 */
export const COMPANY_FIELDS: FieldClassification[] = [
  { name: 'name', category: 'other' },
  { name: 'domain', category: 'other' },
  { name: 'phone', category: 'contact.phone' },
  { name: 'address', category: 'contact.address' },
  { name: 'city', category: 'contact.address' },
  { name: 'zip', category: 'contact.address' },
  { name: 'country', category: 'contact.address' },
  { name: 'description', category: 'free_text' },
  { name: 'hubspot_owner_id', category: 'identifier.vendor' },
  { name: 'hs_object_id', category: 'identifier.vendor' },
  { name: 'createdate', category: 'system' },
  { name: 'hs_lastmodifieddate', category: 'system' },
];

/** Deals name the person they are with (deal names are typed by hand) and carry notes in `description`. */
export const DEAL_FIELDS: FieldClassification[] = [
  { name: 'dealname', category: 'free_text' },
  { name: 'description', category: 'free_text' },
  { name: 'amount', category: 'financial' },
  { name: 'dealstage', category: 'system' },
  { name: 'pipeline', category: 'system' },
  { name: 'closedate', category: 'activity' },
  { name: 'hubspot_owner_id', category: 'identifier.vendor' },
  { name: 'hs_object_id', category: 'identifier.vendor' },
  { name: 'createdate', category: 'system' },
  { name: 'hs_lastmodifieddate', category: 'system' },
];

export type HubSpotStream = 'contacts' | 'notes' | 'companies' | 'deals';
export const STREAM_NAMES: readonly HubSpotStream[] = ['contacts', 'notes', 'companies', 'deals'];
export const isHubSpotStream = (name: string): name is HubSpotStream =>
  (STREAM_NAMES as readonly string[]).includes(name);

const BUILT_IN: Record<
  HubSpotStream,
  { kind: StreamDefinition['kind']; title: string; fields: FieldClassification[] }
> = {
  contacts: { kind: 'person', title: 'Contacts', fields: CONTACT_FIELDS },
  notes: { kind: 'activity', title: 'Notes', fields: NOTE_FIELDS },
  companies: { kind: 'other', title: 'Companies', fields: COMPANY_FIELDS },
  deals: { kind: 'other', title: 'Deals', fields: DEAL_FIELDS },
};

/** Portal-specific (custom) properties to read, each with its category, per stream. */
export type CustomProperties = Partial<Record<HubSpotStream, { name: string; category: FieldCategory }[]>>;

/** The streams with the built-in properties plus the portal's custom ones (a built-in name wins). */
export function streamsFor(custom: CustomProperties = {}): StreamDefinition[] {
  return STREAM_NAMES.map((name) => {
    const builtIn = BUILT_IN[name];
    const known = new Set(builtIn.fields.map((f) => f.name));
    const extra = (custom[name] ?? []).filter((f) => !known.has(f.name));
    return {
      name,
      kind: builtIn.kind,
      title: builtIn.title,
      fields: [...builtIn.fields, ...extra],
      cursor: 'timestamp',
      deletes: { kind: 'tombstones', source: 'archive' },
    };
  });
}

/** The property that carries the modification time, per object (only contacts predate the hs_ prefix). */
export const modifiedProperty = (stream: string): string =>
  stream === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
