import { describe, expect, it } from 'vitest';
import { detect, maskEvidence, redactText } from '../src/index.js';
import { loadCorpus } from './support/detector-score.js';

// Evidence goes to the ledger and reports, so it must never carry enough of a value to recover it.
// Health and art. 9 evidence is the category label by design (e.g. "health (diagnosis)"), so the
// window check applies to identifiers, contacts, credentials and birth dates.
const VALUE_TYPES = new Set([
  'card_number',
  'iban',
  'national_id',
  'tax_id',
  'passport',
  'phone',
  'email',
  'credential',
  'date_of_birth',
]);
const compact = (s: string) => s.replace(/[\s\-*.]/g, '').toLowerCase();

describe('detector: no personal data or secrets leak through evidence or redaction', () => {
  const corpus = loadCorpus().filter((r) => !r.negative);

  it('masked evidence shares no 6-character run with the value it stands for', () => {
    let checked = 0;
    for (const row of corpus) {
      for (const f of detect(row.text)) {
        if (!VALUE_TYPES.has(f.type)) continue;
        const value = compact(row.text.slice(f.start, f.end));
        const evidence = compact(maskEvidence(f, row.text));
        for (let i = 0; i + 6 <= value.length; i++) {
          expect(evidence.includes(value.slice(i, i + 6)), `${row.id} ${f.type} evidence too revealing`).toBe(false);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('redacted text contains none of the labelled values', () => {
    for (const row of corpus) {
      const redacted = redactText(row.text, detect(row.text));
      for (const span of row.spans) {
        if (!VALUE_TYPES.has(span.type)) continue;
        expect(redacted.includes(row.text.slice(span.start, span.end)), `${row.id} ${span.type} survived`).toBe(false);
      }
      expect(redacted).toMatch(/\[REDACTED:[a-z_0-9]+\]/);
    }
  });
});
