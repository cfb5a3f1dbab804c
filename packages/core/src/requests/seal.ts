/**
 * A request must survive a crash, so what it names (identities, corrected values) must be kept until it
 * completes; the ledger must hold no readable personal data. That payload is therefore sealed
 * (AES-256-GCM under a key derived from the tenant secret) while the request is open, and the sealed blob
 * is dropped when it completes (crypto-shredding). Without the secret the ledger reveals nothing.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CustodianError } from '../errors.js';
import type { SubjectKeyer } from '../identity.js';

function keyOf(keyer: SubjectKeyer): Buffer {
  return Buffer.from(keyer.digest('custodian:request-seal:v1'), 'hex');
}

export function seal(keyer: SubjectKeyer, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(keyer), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
}

export function unseal<T>(keyer: SubjectKeyer, sealed: string): T {
  const [version, iv, tag, body] = sealed.split('.');
  try {
    if (version !== 'v1' || !iv || !tag || !body) throw new Error('unknown seal format');
    const decipher = createDecipheriv('aes-256-gcm', keyOf(keyer), Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return JSON.parse(
      Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8'),
    ) as T;
  } catch (cause) {
    throw new CustodianError(
      'CUSTODIAN_ERR_REQUEST_STATE',
      'The payload of this request cannot be unsealed: the tenant secret changed since it was received.',
      { cause: cause instanceof Error ? cause.message : String(cause) },
    );
  }
}
