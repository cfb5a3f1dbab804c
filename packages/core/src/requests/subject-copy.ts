/**
 * The certificate copy for the data subject. The certificate kept in the ledger names no one; when the
 * user asks for a copy to send to the person, that copy (and only it) carries the identities the request
 * named. It is written where the user asked, with owner-only permissions, and never stored in the ledger.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Identity } from '../types.js';
import type { Certificate } from './engine.js';

export interface SubjectCopy {
  certificate: Certificate;
  /** The identities the request named, for the person to recognise the copy as theirs. */
  subject: { identities: Identity[] };
  note: string;
}

export async function writeSubjectCopy(path: string, certificate: Certificate, identities: Identity[]): Promise<void> {
  const copy: SubjectCopy = {
    certificate,
    subject: { identities },
    note: 'Copy for the data subject. The certificate hash covers the certificate only; the copy kept by the controller names no one.',
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(copy, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; an existing file is tightened too.
  await chmod(path, 0o600);
}
