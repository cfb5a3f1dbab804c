import { describe, expect, it } from 'vitest';
import type { FieldClassification } from '../src/contract.js';
import { createSubjectKeyer } from '../src/index.js';
import type { Item, RequestConnector, RequestEngineDeps } from '../src/requests/batch.js';
import { personProfile, REDACTED, redaction, sharedScope, verifyShared } from '../src/requests/shared.js';
import type { CrmRecord, Identity } from '../src/types.js';

const keyer = createSubjectKeyer('shared-records-test-secret-0123456789');
const ana: Identity = { kind: 'email', value: 'ana@example.test' };
const anaRecord: CrmRecord = {
  ref: { system: 'hub', object: 'contacts', id: '1' },
  kind: 'person',
  fields: {},
  canonical: { email: 'ana@example.test', phone: '+49 30 1234567', firstName: 'Ana', lastName: 'Berg' },
};
const profile = personProfile({ keyer, identities: [ana], keys: [], records: [anaRecord], defaultCountry: 'DE' });
const COMPANY: FieldClassification[] = [
  { name: 'name', category: 'other' },
  { name: 'phone', category: 'contact.phone' },
  { name: 'description', category: 'free_text' },
];
const company = (fields: Record<string, string | null>): CrmRecord => ({
  ref: { system: 'hub', object: 'companies', id: '9' },
  kind: 'other',
  fields,
  canonical: {},
  links: [anaRecord.ref, { system: 'hub', object: 'contacts', id: '2' }],
});
const ctx = { profile, keyer, defaultCountry: 'DE' as const, others: new Set<string>() };

describe('redacting a person from a record other people share', () => {
  it('clears the fields holding their phone however written, and cuts them out of free text', () => {
    const record = company({
      name: 'Berg Consulting',
      phone: '030 1234567',
      description: 'Key contact Ana Berg (CEO), ANA@example.test',
    });
    expect(redaction(record, COMPANY, ctx)).toEqual({
      phone: null,
      description: `Key contact ${REDACTED} (CEO), ${REDACTED}`,
    });
  });

  it("leaves a company's own phone, and a phone another linked person holds too", () => {
    expect(redaction(company({ name: 'Berg Consulting', phone: '+49 30 7654321' }), COMPANY, ctx)).toEqual({});
    const shared = keyer.key({ kind: 'phone', value: '+49301234567' });
    expect(redaction(company({ phone: '+49 30 1234567' }), COMPANY, { ...ctx, others: new Set([shared]) })).toEqual({});
  });

  it('read-back fails while the identity is still on the record, and passes once it is gone', async () => {
    let stored = company({ phone: '+49 30 1234567', description: 'Ana Berg' });
    const connector = {
      streams: [{ name: 'companies', fields: COMPANY }],
      has: () => true,
      get: async (refs: CrmRecord['ref'][]) => refs.map((r) => (r.object === 'contacts' ? anaRecord : stored)),
    } as unknown as RequestConnector;
    const item = { row: { id: 'req_1', subjectKeys: [] }, sealed: { identities: [ana] } } as unknown as Item;
    const deps = {
      keyer,
      defaultCountry: 'DE',
      ledger: { recordsByRef: async () => [] },
    } as unknown as RequestEngineDeps;
    // Built before the person's own record is deleted: it reads their phone and name from it.
    const s = await sharedScope(deps, connector, [item], new Map([[item, [anaRecord.ref]]]), 'hub');
    const ref = stored.ref;
    expect((await verifyShared(deps, connector, s, [{ item, ref }]))[0]?.result).toMatchObject({ outcome: 'failed' });
    stored = company({ phone: null, description: REDACTED });
    expect((await verifyShared(deps, connector, s, [{ item, ref }]))[0]?.result).toEqual({ ref, outcome: 'done' });
  });
});
