import { describe, expect, it } from 'vitest';
import { createSubjectKeyer, daysLeft, dueDate, extendedDueDate, seal, unseal } from '../src/index.js';

describe('statutory deadlines', () => {
  it('GDPR: one calendar month, ending on the last day of a shorter month; extendable by two', () => {
    expect(dueDate('gdpr', new Date('2026-01-31T10:00:00Z')).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(dueDate('gdpr', new Date('2026-03-15T00:00:00Z')).toISOString()).toBe('2026-04-15T00:00:00.000Z');
    expect(extendedDueDate('gdpr', new Date('2026-01-31T10:00:00Z')).toISOString()).toBe('2026-04-30T10:00:00.000Z');
  });

  it('CCPA: 45 days, extendable once by 45', () => {
    expect(dueDate('ccpa', new Date('2026-11-23T00:00:00Z')).toISOString()).toBe('2027-01-07T00:00:00.000Z');
    expect(extendedDueDate('ccpa', new Date('2026-11-23T00:00:00Z')).toISOString()).toBe('2027-02-21T00:00:00.000Z');
  });

  it('PIPL: 15 working days, weekends skipped', () => {
    // Monday 2026-11-23 + 15 working days = Monday 2026-12-14
    expect(dueDate('pipl', new Date('2026-11-23T09:00:00Z')).toISOString()).toBe('2026-12-14T09:00:00.000Z');
  });

  it('days left go negative when overdue', () => {
    expect(daysLeft(new Date('2026-12-01T00:00:00Z'), new Date('2026-11-23T00:00:00Z'))).toBe(8);
    expect(daysLeft(new Date('2026-11-20T00:00:00Z'), new Date('2026-11-23T00:00:00Z'))).toBe(-3);
  });
});

describe('sealed request payloads', () => {
  it('round-trips under the tenant secret and cannot be read under another', () => {
    const keyer = createSubjectKeyer('tenant-secret-tenant-secret-tenant');
    const sealed = seal(keyer, { identities: [{ kind: 'email', value: 'jane@example.com' }] });
    expect(sealed).not.toContain('jane');
    expect(unseal<{ identities: { value: string }[] }>(keyer, sealed).identities[0]?.value).toBe('jane@example.com');
    expect(() => unseal(createSubjectKeyer('another-secret-another-secret-xx'), sealed)).toThrow(
      /tenant secret changed/,
    );
  });
});
