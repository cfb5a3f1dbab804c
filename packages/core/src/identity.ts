/**
 * Identities are normalised (lower-cased email, E.164 phone) and turned into subject keys:
 * HMAC-SHA256(tenant secret, kind:value). The ledger links records by subject key, never by raw value.
 */
import { createHmac } from 'node:crypto';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { CustodianError } from './errors.js';
import type { CanonicalFields, Identity } from './types.js';

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normaliseEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  return EMAIL_SHAPE.test(email) ? email : null;
}

export function normalisePhone(raw: string, defaultCountry?: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(raw.trim(), defaultCountry);
  return parsed?.isValid() ? parsed.number : null;
}

/** Identities found in a record's canonical fields. */
export function identitiesOf(canonical: CanonicalFields, defaultCountry?: CountryCode): Identity[] {
  const out: Identity[] = [];
  const seen = new Set<string>();
  const add = (id: Identity | null) => {
    if (id && !seen.has(`${id.kind}:${id.value}`)) {
      seen.add(`${id.kind}:${id.value}`);
      out.push(id);
    }
  };
  for (const key of ['email', 'secondaryEmail'] as const) {
    const v = canonical[key];
    if (v) {
      const e = normaliseEmail(v);
      add(e ? { kind: 'email', value: e } : null);
    }
  }
  for (const key of ['phone', 'mobilePhone'] as const) {
    const v = canonical[key];
    if (v) {
      const p = normalisePhone(v, defaultCountry);
      add(p ? { kind: 'phone', value: p } : null);
    }
  }
  return out;
}

/** Parse what a user typed on the command line: an email, a phone with country code, or system:object:id. */
export function parseIdentity(input: string, defaultCountry?: CountryCode): Identity {
  const trimmed = input.trim();
  if (trimmed.includes('@')) {
    const e = normaliseEmail(trimmed);
    if (e) return { kind: 'email', value: e };
  } else if (/^[a-z0-9_-]+:[A-Za-z0-9_]+:.+$/i.test(trimmed)) {
    return { kind: 'vendor_id', value: trimmed };
  } else {
    const p = normalisePhone(trimmed, defaultCountry);
    if (p) return { kind: 'phone', value: p };
  }
  throw new CustodianError('CUSTODIAN_ERR_IDENTITY_INVALID', 'Not a valid email, phone number or system:object:id.', {
    details: { length: trimmed.length },
  });
}

export interface SubjectKeyer {
  key(identity: Identity): string;
  /** HMAC of arbitrary content (record fingerprints) under the same tenant secret. */
  digest(content: string): string;
}

export function createSubjectKeyer(secret: string | Buffer): SubjectKeyer {
  if (secret.length < 16) {
    throw new CustodianError('CUSTODIAN_ERR_SECRET_MISSING', 'The tenant secret is shorter than 16 bytes.');
  }
  return {
    key: (identity) => createHmac('sha256', secret).update(`${identity.kind}:${identity.value}`).digest('hex'),
    digest: (content) => createHmac('sha256', secret).update(content).digest('hex'),
  };
}
