import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  createSubjectKeyer,
  identitiesOf,
  normaliseEmail,
  normalisePhone,
  parseIdentity,
} from '../src/index.js';

describe('identity normalisation and subject keys', () => {
  it('lower-cases and trims emails; phones to E.164 with or without a default country', () => {
    expect(normaliseEmail('  Jane.DOE@Example.COM ')).toBe('jane.doe@example.com');
    expect(normaliseEmail('not-an-email')).toBeNull();
    expect(normalisePhone('+49 30 12345678')).toBe('+493012345678');
    expect(normalisePhone('030 12345678', 'DE')).toBe('+493012345678');
    expect(normalisePhone('+371 2 1234567')).toBe('+37121234567');
    expect(normalisePhone('12')).toBeNull();
  });

  it('derives identities from canonical fields without duplicates', () => {
    expect(
      identitiesOf({ email: 'A@B.io', secondaryEmail: 'a@b.io', phone: '+46 8 1234567', mobilePhone: '+4681234567' }),
    ).toEqual([
      { kind: 'email', value: 'a@b.io' },
      { kind: 'phone', value: '+4681234567' },
    ]);
  });

  it('subject keys are stable per secret and differ across secrets and kinds', () => {
    const a = createSubjectKeyer('secret-one-secret-one-secret-one');
    const b = createSubjectKeyer('secret-two-secret-two-secret-two');
    const id = { kind: 'email' as const, value: 'jane@example.com' };
    expect(a.key(id)).toBe(a.key({ ...id }));
    expect(a.key(id)).not.toBe(b.key(id));
    expect(a.key(id)).not.toBe(a.key({ kind: 'phone', value: 'jane@example.com' }));
    expect(a.key(id)).toMatch(/^[0-9a-f]{64}$/);
    expect(() => createSubjectKeyer('short')).toThrow(/16 bytes/);
  });

  it('parses command-line identities and never echoes an invalid one', () => {
    expect(parseIdentity('Jane@Example.com')).toEqual({ kind: 'email', value: 'jane@example.com' });
    expect(parseIdentity('hubspot-eu:contacts:123')).toEqual({ kind: 'vendor_id', value: 'hubspot-eu:contacts:123' });
    try {
      parseIdentity('call me maybe');
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('CUSTODIAN_ERR_IDENTITY_INVALID');
      expect(String((err as Error).message)).not.toContain('call me maybe');
    }
  });
});

describe('logger redaction', () => {
  it('writes no email, phone, token, password or secret, whatever the log call looks like', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'trace', destination: sink });
    const secrets = [
      'jane.doe@example.com',
      '+4930123456789',
      'eyJhbGciOiJIUzI1NiJ9.payload.sig',
      'refresh-abc123-xyz',
      'hunter2-password',
      'client-secret-value',
    ];
    log.info({ email: 'jane.doe@example.com', phone: '+4930123456789' }, 'person synced');
    log.warn(
      { options: { clientSecret: 'client-secret-value', accessToken: 'eyJhbGciOiJIUzI1NiJ9.payload.sig' } },
      'options',
    );
    log.error(
      {
        req: { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig' } },
        refresh_token: 'refresh-abc123-xyz',
      },
      'request',
    );
    log.debug({ deep: { nested: { password: 'hunter2-password' } } }, 'nested');
    log.info('free text mentions jane.doe@example.com and +4930123456789 and Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig');
    log.error({ err: new Error('vendor said: no contact jane.doe@example.com') }, 'vendor error');
    log.child({ system: 'hub' }).info({ record: { fields: { email: 'jane.doe@example.com' } } }, 'child');
    const out = lines.join('');
    expect(lines.length).toBe(7);
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out).toContain('[REDACTED]');
  });
});
