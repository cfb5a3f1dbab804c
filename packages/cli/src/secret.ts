/**
 * The tenant secret keys every subject key (HMAC). It comes from CUSTODIAN_SECRET or a file only its
 * owner can read; a group- or world-readable file is refused rather than trusted.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CustodianError } from '@custodian/core';

export function loadSecret(file: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CUSTODIAN_SECRET?.trim();
  if (fromEnv) {
    if (fromEnv.length < 32) {
      throw new CustodianError('CUSTODIAN_ERR_SECRET_MISSING', 'CUSTODIAN_SECRET is shorter than 32 characters.');
    }
    return fromEnv;
  }
  if (!existsSync(file)) {
    throw new CustodianError(
      'CUSTODIAN_ERR_SECRET_MISSING',
      `No secret: CUSTODIAN_SECRET is unset and ${file} does not exist.`,
    );
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CustodianError(
      'CUSTODIAN_ERR_SECRET_INSECURE',
      `${file} is readable by others (mode ${mode.toString(8)}).`,
      {
        hint: `Run \`chmod 600 ${file}\`.`,
      },
    );
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) {
    throw new CustodianError(
      'CUSTODIAN_ERR_SECRET_MISSING',
      `${file} holds no usable secret (shorter than 32 characters).`,
    );
  }
  return secret;
}

/** Create the secret file with mode 0600; never overwrites an existing one (that would orphan every key). */
export function createSecretFile(file: string): boolean {
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return true;
}
