/**
 * Masked evidence for the ledger and reports, and redaction for the CRM. Evidence names the type and
 * keeps at most the last four characters of long identifiers: enough to find the note, never enough to
 * recover the value.
 */
import type { Finding } from './detect.js';

export function maskEvidence(finding: Finding, text: string): string {
  const value = text.slice(finding.start, finding.end);
  const compact = value.replace(/[\s-]/g, '');
  const label = finding.subtype ? `${finding.type} (${finding.subtype})` : finding.type;
  switch (finding.type) {
    case 'card_number':
      return `${label} **** ${compact.slice(-4)}`;
    case 'iban':
      return `${label} ${compact.slice(0, 2)}** **** ${compact.slice(-4)}`;
    case 'national_id':
    case 'tax_id':
    case 'passport':
      return `${label} ***${compact.length > 6 ? compact.slice(-2) : ''}`;
    case 'email': {
      const [local = '', domain = ''] = value.split('@');
      return `${label} ${local.slice(0, 1)}***@***${domain.slice(domain.lastIndexOf('.'))}`;
    }
    case 'phone':
      return `${label} ***${compact.slice(-2)}`;
    default:
      // Credentials, dates of birth, health and special categories: the type says enough.
      return label;
  }
}

/** Replace every finding's span with `[REDACTED:<type>]`, right to left so offsets stay valid. */
export function redactText(text: string, findings: Finding[]): string {
  let out = text;
  for (const f of [...findings].sort((a, b) => b.start - a.start)) {
    out = `${out.slice(0, f.start)}[REDACTED:${f.type}]${out.slice(f.end)}`;
  }
  return out;
}
