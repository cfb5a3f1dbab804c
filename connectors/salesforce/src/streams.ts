/** Streams and field classification: static defaults for declared streams, describe-driven at run time. */
import type { CanonicalField, FieldCategory, FieldClassification, StreamDefinition } from '@custodian/core';

export const PERSON_OBJECTS = ['Contact', 'Lead'] as const;
export const ACTIVITY_OBJECTS = ['Task', 'Note', 'Case'] as const;
export const STREAM_OBJECTS = [...PERSON_OBJECTS, ...ACTIVITY_OBJECTS, 'Individual'] as const;

const CANONICAL: Record<string, CanonicalField> = {
  Email: 'email',
  Phone: 'phone',
  MobilePhone: 'mobilePhone',
  FirstName: 'firstName',
  LastName: 'lastName',
  MailingStreet: 'address',
  Street: 'address',
  MailingCity: 'city',
  City: 'city',
  MailingPostalCode: 'postalCode',
  PostalCode: 'postalCode',
  MailingCountry: 'country',
  Country: 'country',
  Company: 'company',
  Title: 'jobTitle',
  Birthdate: 'dateOfBirth',
  BirthDate: 'dateOfBirth',
};

const CONSENT = new Set([
  'HasOptedOutOfEmail',
  'DoNotCall',
  'HasOptedOutOfFax',
  'HasOptedOutTracking',
  'HasOptedOutProcessing',
  'HasOptedOutProfiling',
  'HasOptedOutSolicit',
  'HasOptedOutGeoTracking',
  'ShouldForget',
  'SendIndividualData',
]);
const FREE_TEXT = new Set(['Description', 'Body', 'Subject', 'Comments']);

/** Classify a field by its describe type and name; `overrides` (field -> category) win. */
export function classifyField(name: string, type: string, overrides: Record<string, string> = {}): FieldClassification {
  const canonical = CANONICAL[name];
  const override = overrides[name] as FieldCategory | undefined;
  const base = (category: FieldCategory): FieldClassification => ({
    name,
    category: override ?? category,
    ...(canonical ? { canonical } : {}),
  });
  if (CONSENT.has(name)) return base('consent');
  if (type === 'email') return base('contact.email');
  if (type === 'phone') return base('contact.phone');
  if (type === 'id' || type === 'reference') return base('identifier.vendor');
  if (
    name === 'SystemModstamp' ||
    name === 'IsDeleted' ||
    name.startsWith('Created') ||
    name.startsWith('LastModified')
  )
    return base('system');
  if (/Name$/.test(name) || name === 'Salutation') return base('name');
  if (/Street|City|PostalCode|Country|State|Address/.test(name)) return base('contact.address');
  if (/^Last(Activity|Viewed|Referenced)/.test(name)) return base('activity');
  if (type === 'textarea' || FREE_TEXT.has(name)) return base('free_text');
  if (/birth/i.test(name)) return base('special_category');
  return base('other');
}

const DEFAULT_FIELDS: Record<string, [string, string][]> = {
  Contact: [
    ['Id', 'id'],
    ['FirstName', 'string'],
    ['LastName', 'string'],
    ['Email', 'email'],
    ['Phone', 'phone'],
    ['MobilePhone', 'phone'],
    ['HasOptedOutOfEmail', 'boolean'],
    ['DoNotCall', 'boolean'],
    ['IndividualId', 'reference'],
    ['LastActivityDate', 'date'],
    ['Description', 'textarea'],
    ['SystemModstamp', 'datetime'],
  ],
  Lead: [
    ['Id', 'id'],
    ['FirstName', 'string'],
    ['LastName', 'string'],
    ['Email', 'email'],
    ['Phone', 'phone'],
    ['Company', 'string'],
    ['Status', 'picklist'],
    ['HasOptedOutOfEmail', 'boolean'],
    ['DoNotCall', 'boolean'],
    ['IndividualId', 'reference'],
    ['LastActivityDate', 'date'],
    ['SystemModstamp', 'datetime'],
  ],
  Task: [
    ['Id', 'id'],
    ['WhoId', 'reference'],
    ['Subject', 'string'],
    ['Description', 'textarea'],
    ['SystemModstamp', 'datetime'],
  ],
  Note: [
    ['Id', 'id'],
    ['ParentId', 'reference'],
    ['Title', 'string'],
    ['Body', 'textarea'],
    ['SystemModstamp', 'datetime'],
  ],
  Case: [
    ['Id', 'id'],
    ['ContactId', 'reference'],
    ['Subject', 'string'],
    ['Description', 'textarea'],
    ['SystemModstamp', 'datetime'],
  ],
  Individual: [
    ['Id', 'id'],
    ['FirstName', 'string'],
    ['LastName', 'string'],
    ['HasOptedOutTracking', 'boolean'],
    ['HasOptedOutProcessing', 'boolean'],
    ['HasOptedOutSolicit', 'boolean'],
    ['ShouldForget', 'boolean'],
    ['SystemModstamp', 'datetime'],
  ],
};

export function buildStreams(fieldOverrides: Record<string, Record<string, string>>): StreamDefinition[] {
  return STREAM_OBJECTS.map((object) => ({
    name: object,
    kind: (PERSON_OBJECTS as readonly string[]).includes(object)
      ? 'person'
      : (ACTIVITY_OBJECTS as readonly string[]).includes(object)
        ? 'activity'
        : 'other',
    fields: (DEFAULT_FIELDS[object] ?? []).map(([name, type]) => classifyField(name, type, fieldOverrides[object])),
    cursor: 'timestamp',
    deletes: { kind: 'tombstones', source: 'flag' },
  }));
}
