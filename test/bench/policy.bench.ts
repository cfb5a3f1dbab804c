/**
 * Policy evaluation speed with every built-in rule on (GDPR preset plus the CCPA-only settings), over
 * synthetic person records with ~150-character notes, 10% of them carrying a card number or a
 * diagnosis. Writes bench-results/policy.json. The sync target is >= 10,000 records/s with all rules on.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  type CrmRecord,
  createPolicyEngine,
  type PolicyRecordContext,
  parsePolicies,
  type StreamDefinition,
  type SystemInfo,
} from '@custodian/core';

const stream: StreamDefinition = {
  name: 'contacts',
  kind: 'person',
  cursor: 'timestamp',
  deletes: { kind: 'none', reason: 'bench' },
  fields: [
    { name: 'email', category: 'contact.email', canonical: 'email' },
    { name: 'phone', category: 'contact.phone', canonical: 'phone' },
    { name: 'name', category: 'name', canonical: 'lastName' },
    { name: 'notes', category: 'free_text' },
    { name: 'optout', category: 'consent' },
  ],
};
const system: SystemInfo = {
  name: 'crm',
  connector: 'bench',
  purposes: ['marketing', 'sales'],
  legalBasis: 'consent',
  streams: [stream],
};
const systems = new Map([[system.name, system]]);
const NOTES = [
  'Met at the trade fair in Berlin, interested in the premium plan; asked us to call back next quarter about pricing and rollout.',
  'Order 4521-8890-1123 shipped on Monday, invoice INV-2024-0042 paid. Customer happy with delivery, wants a product demo soon.',
  'Customer paid by card 4111 1111 1111 1111 and mentioned she is pregnant; follow up in May about the renewal of the contract.',
];
const records: CrmRecord[] = Array.from({ length: 20_000 }, (_, i) => ({
  ref: { system: 'crm', object: 'contacts', id: String(i) },
  kind: 'person',
  canonical: { email: `p${i}@example.test` },
  fields: {
    email: `p${i}@example.test`,
    phone: '+4930123456',
    name: `Doe${i}`,
    notes: NOTES[i % 10 === 0 ? 2 : i % 2]!,
    optout: 'false',
  },
  consent: { marketingOptOut: false, legalBasis: i % 7 === 0 ? null : 'consent' },
  lastActivityAt: i % 5 === 0 ? '2019-01-01T00:00:00Z' : '2026-10-01T00:00:00Z',
}));
const engine = createPolicyEngine({ policies: parsePolicies([{ preset: 'gdpr' }]) });
const ctx = (): PolicyRecordContext => ({
  system,
  stream,
  now: new Date(),
  subjectKeys: ['k'],
  copies: [],
  tombstoned: false,
  systems,
});
engine.evaluate(records.slice(0, 2000), ctx);
let evaluated = 0;
let violations = 0;
const started = performance.now();
while (performance.now() - started < 5000) {
  violations += engine.evaluate(records, ctx).violations.length;
  evaluated += records.length;
}
const recordsPerSecond = Math.round(evaluated / ((performance.now() - started) / 1000));
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/policy.json',
  JSON.stringify(
    {
      bench: 'policy',
      at: new Date().toISOString(),
      rules: 8,
      recordsPerSecond,
      violationsPerRecord: Math.round((violations / evaluated) * 100) / 100,
      target: 10_000,
    },
    null,
    2,
  ),
);
process.stdout.write(`policy engine, all GDPR rules: ${recordsPerSecond.toLocaleString('en')} records/s\n`);
