/**
 * The look-alike's sObjects: key prefixes, fields with describe types (two custom fields on the person
 * objects), and Salesforce's 18-character case-safe record ids.
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm
 */

export const SF_OBJECTS = ['Contact', 'Lead', 'Task', 'Note', 'Case', 'Individual'] as const;
export type SfObjectName = (typeof SF_OBJECTS)[number];
export type SfRow = { Id: string } & Record<string, unknown>;

/** Standard key prefixes (the first three characters of every id of the object). */
export const KEY_PREFIX: Record<SfObjectName, string> = {
  Contact: '003',
  Lead: '00Q',
  Task: '00T',
  Note: '002',
  Case: '500',
  Individual: '0PK',
};

export interface SfField {
  name: string;
  type: string;
  label: string;
  custom: boolean;
  /** Writable through PATCH (false for Id, system stamps and formula-like fields). */
  updateable: boolean;
  referenceTo?: SfObjectName[];
}

const f = (name: string, type: string, extra: Partial<SfField> = {}): SfField => ({
  name,
  type,
  label: name.replace(/__c$/, '').replace(/_/g, ' '),
  custom: name.endsWith('__c'),
  updateable: true,
  ...extra,
});
const system = (name: string, type: string) => f(name, type, { updateable: false });
const COMMON = [system('Id', 'id'), system('IsDeleted', 'boolean')];
const STAMPS = [
  system('CreatedDate', 'datetime'),
  system('LastModifiedDate', 'datetime'),
  system('SystemModstamp', 'datetime'),
];

export const FIELDS: Record<SfObjectName, SfField[]> = {
  Contact: [
    ...COMMON,
    f('FirstName', 'string'),
    f('LastName', 'string'),
    f('Email', 'email'),
    f('Phone', 'phone'),
    f('MobilePhone', 'phone'),
    f('MailingStreet', 'textarea'),
    f('MailingCity', 'string'),
    f('MailingPostalCode', 'string'),
    f('MailingCountry', 'string'),
    f('Title', 'string'),
    f('Birthdate', 'date'),
    f('Description', 'textarea'),
    f('HasOptedOutOfEmail', 'boolean'),
    f('DoNotCall', 'boolean'),
    f('IndividualId', 'reference', { referenceTo: ['Individual'] }),
    system('LastActivityDate', 'date'),
    ...STAMPS,
    f('Loyalty_Id__c', 'string'),
    f('Segment__c', 'picklist'),
  ],
  Lead: [
    ...COMMON,
    f('FirstName', 'string'),
    f('LastName', 'string'),
    f('Email', 'email'),
    f('Phone', 'phone'),
    f('MobilePhone', 'phone'),
    f('Company', 'string'),
    f('Title', 'string'),
    f('Street', 'textarea'),
    f('City', 'string'),
    f('PostalCode', 'string'),
    f('Country', 'string'),
    f('Status', 'picklist'),
    f('Description', 'textarea'),
    f('HasOptedOutOfEmail', 'boolean'),
    f('DoNotCall', 'boolean'),
    f('IndividualId', 'reference', { referenceTo: ['Individual'] }),
    system('LastActivityDate', 'date'),
    ...STAMPS,
    f('Loyalty_Id__c', 'string'),
    f('Segment__c', 'picklist'),
  ],
  Task: [
    ...COMMON,
    f('WhoId', 'reference', { referenceTo: ['Contact', 'Lead'] }),
    f('Subject', 'combobox'),
    f('Description', 'textarea'),
    f('Status', 'picklist'),
    f('ActivityDate', 'date'),
    ...STAMPS,
  ],
  Note: [
    ...COMMON,
    f('ParentId', 'reference', { referenceTo: ['Contact', 'Lead'] }),
    f('Title', 'string'),
    f('Body', 'textarea'),
    ...STAMPS,
  ],
  Case: [
    ...COMMON,
    f('ContactId', 'reference', { referenceTo: ['Contact'] }),
    f('Subject', 'string'),
    f('Description', 'textarea'),
    f('Status', 'picklist'),
    ...STAMPS,
  ],
  Individual: [
    ...COMMON,
    f('FirstName', 'string'),
    f('LastName', 'string'),
    f('HasOptedOutTracking', 'boolean'),
    f('HasOptedOutProcessing', 'boolean'),
    f('HasOptedOutSolicit', 'boolean'),
    f('HasOptedOutProfiling', 'boolean'),
    f('ShouldForget', 'boolean'),
    ...STAMPS,
  ],
};

/** Field by name, case-insensitively (SOQL and PATCH bodies ignore case), or undefined. */
export function fieldOf(object: SfObjectName, name: string): SfField | undefined {
  const lower = name.toLowerCase();
  return FIELDS[object].find((x) => x.name.toLowerCase() === lower);
}

export function isObject(name: string): name is SfObjectName {
  return (SF_OBJECTS as readonly string[]).includes(name);
}

/** Object by name, case-insensitively. */
export function objectNamed(name: string): SfObjectName | undefined {
  return SF_OBJECTS.find((o) => o.toLowerCase() === name.toLowerCase());
}

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character suffix that makes a 15-character id case-safe (one character per 5-character chunk). */
export function caseSafeSuffix(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let k = 0; k < 5; k++) {
      const c = id15.charCodeAt(chunk * 5 + k);
      if (c >= 65 && c <= 90) bits |= 1 << k;
    }
    out += SUFFIX_ALPHABET[bits];
  }
  return out;
}

/** `{prefix}{12 digits}{suffix}`: the digits hold (person index * 10 + n). */
export function encodeId(object: SfObjectName, index: number, n: number): string {
  const id15 = `${KEY_PREFIX[object]}${String(index * 10 + n).padStart(12, '0')}`;
  return id15 + caseSafeSuffix(id15);
}

export interface DecodedId {
  object: SfObjectName;
  index: number;
  n: number;
}

export function decodeId(id: string): DecodedId | null {
  if (!/^[A-Za-z0-9]{3}\d{12}[A-Z0-5]{3}$/.test(id)) return null;
  const id15 = id.slice(0, 15);
  if (caseSafeSuffix(id15) !== id.slice(15)) return null;
  const object = SF_OBJECTS.find((o) => KEY_PREFIX[o] === id.slice(0, 3));
  if (!object) return null;
  const number = Number(id.slice(3, 15));
  return { object, index: Math.floor(number / 10), n: number % 10 };
}

/** A well-formed Salesforce id (15 or 18 alphanumerics), whether or not it names anything here. */
export const isWellFormedId = (id: string): boolean => /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id);

/** Salesforce's datetime format in REST answers: `2026-01-01T10:00:00.000+0000`. */
export function sfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}
