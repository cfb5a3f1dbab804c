/** HubSpot streams and the classification of every property the connector reads. */
import type { FieldClassification, StreamDefinition } from '@custodian/core';

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

export const STREAMS: StreamDefinition[] = [
  {
    name: 'contacts',
    kind: 'person',
    title: 'Contacts',
    fields: CONTACT_FIELDS,
    cursor: 'timestamp',
    deletes: { kind: 'tombstones', source: 'archive' },
  },
  {
    name: 'notes',
    kind: 'activity',
    title: 'Notes',
    fields: NOTE_FIELDS,
    cursor: 'timestamp',
    deletes: { kind: 'tombstones', source: 'archive' },
  },
];

/** The property that carries the modification time, per object (notes use the hs_ prefix). */
export const MODIFIED_PROPERTY: Record<string, string> = {
  contacts: 'lastmodifieddate',
  notes: 'hs_lastmodifieddate',
};
