/** SOQL literals. Values never reach a query unescaped; ids are checked against the Salesforce id shape. */
import { ConnectorError } from '@custodian/core';

/** SOQL string literal: backslash-escape `\` and `'` (and control characters) as the SOQL reference requires. */
export function soqlString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `'${escaped}'`;
}

const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** A record id, checked (15 or 18 letters and digits) before it goes into a SOQL literal or a URL. */
export function checkedId(id: string, where: { system: string; operation: string; object: string }): string {
  if (!ID_PATTERN.test(id)) {
    // The value is not echoed: a malformed ref may hold anything, including personal data.
    throw new ConnectorError(
      `a ${where.object} ref has an id that is not a Salesforce id (15 or 18 letters and digits, got ${id.length} characters)`,
      { system: where.system, operation: where.operation, kind: 'bad_request' },
    );
  }
  return id;
}

/** SOQL datetime literals are unquoted ISO-8601 in UTC. */
export function soqlDatetime(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
