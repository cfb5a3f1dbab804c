/**
 * The Zoho modules Custodian reads: people (Contacts, Leads) and free-text activities (Notes, Tasks,
 * Calls), with field classification. The full field list of a module comes from the field metadata API
 * at read time; these are the fields Custodian needs and classifies.
 */
import type { CanonicalField, FieldCategory, FieldClassification, StreamDefinition } from '@custodian/core';

export const PERSON_MODULES = ['Contacts', 'Leads'] as const;
export const ACTIVITY_MODULES = ['Notes', 'Tasks', 'Calls'] as const;
export type PersonModule = (typeof PERSON_MODULES)[number];
export type ActivityModule = (typeof ACTIVITY_MODULES)[number];
export type ZohoModule = PersonModule | ActivityModule;
export const MODULES: readonly ZohoModule[] = [...PERSON_MODULES, ...ACTIVITY_MODULES];

export function isPersonModule(m: string): m is PersonModule {
  return (PERSON_MODULES as readonly string[]).includes(m);
}
export function isModule(m: string): m is ZohoModule {
  return (MODULES as readonly string[]).includes(m);
}

const f = (name: string, category: FieldCategory, canonical?: CanonicalField): FieldClassification =>
  canonical ? { name, category, canonical } : { name, category };

const consentFields = [
  f('Email_Opt_Out', 'consent'),
  f('Data_Processing_Basis_Details', 'consent'),
  f('Data_Processing_Basis', 'consent'),
];

const system = [f('id', 'identifier.vendor'), f('Created_Time', 'system'), f('Modified_Time', 'system')];

export const MODULE_FIELDS: Record<ZohoModule, FieldClassification[]> = {
  Contacts: [
    ...system,
    f('First_Name', 'name', 'firstName'),
    f('Last_Name', 'name', 'lastName'),
    f('Email', 'contact.email', 'email'),
    f('Secondary_Email', 'contact.email', 'secondaryEmail'),
    f('Phone', 'contact.phone', 'phone'),
    f('Mobile', 'contact.phone', 'mobilePhone'),
    f('Mailing_Street', 'contact.address', 'address'),
    f('Mailing_City', 'contact.address', 'city'),
    f('Mailing_Zip', 'contact.address', 'postalCode'),
    f('Mailing_Country', 'contact.address', 'country'),
    f('Account_Name', 'other', 'company'),
    f('Title', 'other', 'jobTitle'),
    f('Date_of_Birth', 'special_category', 'dateOfBirth'),
    f('Description', 'free_text'),
    f('Last_Activity_Time', 'activity'),
    f('Lead_Status', 'other'),
    ...consentFields,
  ],
  Leads: [
    ...system,
    f('First_Name', 'name', 'firstName'),
    f('Last_Name', 'name', 'lastName'),
    f('Email', 'contact.email', 'email'),
    f('Secondary_Email', 'contact.email', 'secondaryEmail'),
    f('Phone', 'contact.phone', 'phone'),
    f('Mobile', 'contact.phone', 'mobilePhone'),
    f('Street', 'contact.address', 'address'),
    f('City', 'contact.address', 'city'),
    f('Zip_Code', 'contact.address', 'postalCode'),
    f('Country', 'contact.address', 'country'),
    f('Company', 'other', 'company'),
    f('Designation', 'other', 'jobTitle'),
    f('Description', 'free_text'),
    f('Last_Activity_Time', 'activity'),
    f('Lead_Status', 'other'),
    ...consentFields,
  ],
  Notes: [...system, f('Note_Title', 'free_text'), f('Note_Content', 'free_text'), f('Parent_Id', 'identifier.vendor')],
  Tasks: [
    ...system,
    f('Subject', 'free_text'),
    f('Description', 'free_text'),
    f('Who_Id', 'identifier.vendor'),
    f('What_Id', 'identifier.vendor'),
  ],
  Calls: [
    ...system,
    f('Subject', 'free_text'),
    f('Description', 'free_text'),
    f('Call_Agenda', 'free_text'),
    f('Who_Id', 'identifier.vendor'),
    f('What_Id', 'identifier.vendor'),
  ],
};

/** Free-text fields an activity erase in `redact` mode blanks out. */
export const ACTIVITY_TEXT_FIELDS: Record<ActivityModule, string[]> = {
  Notes: ['Note_Title', 'Note_Content'],
  Tasks: ['Subject', 'Description'],
  Calls: ['Subject', 'Description', 'Call_Agenda'],
};

export const STREAMS: StreamDefinition[] = MODULES.map((name) => ({
  name,
  kind: isPersonModule(name) ? 'person' : 'activity',
  title: `Zoho ${name}`,
  // `Data_Processing_Basis` is a sub-field of Data_Processing_Basis_Details, not requestable on its own.
  fields: MODULE_FIELDS[name],
  cursor: 'timestamp',
  deletes: { kind: 'tombstones', source: 'endpoint' },
}));

/** Fields Custodian needs, first in the list so they land in the first `fields` chunk. */
export function requiredFields(module: ZohoModule): string[] {
  return MODULE_FIELDS[module].map((x) => x.name).filter((n) => n !== 'id' && n !== 'Data_Processing_Basis');
}

/** `fields` takes at most 50 API names per request. */
export const MAX_FIELDS_PER_REQUEST = 50;

/** Required fields first, then every other field from metadata, split into chunks of at most 50. */
export function fieldChunks(module: ZohoModule, metadataFields: string[]): string[][] {
  const all = [...new Set([...requiredFields(module), ...metadataFields.filter((n) => n !== 'id')])];
  const chunks: string[][] = [];
  for (let i = 0; i < all.length; i += MAX_FIELDS_PER_REQUEST) chunks.push(all.slice(i, i + MAX_FIELDS_PER_REQUEST));
  return chunks;
}
