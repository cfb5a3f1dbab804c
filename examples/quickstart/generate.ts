/**
 * Writes the quickstart's synthetic sales lists (deterministic): `pnpm tsx examples/quickstart/generate.ts`.
 * Two lists share about a third of their people, so the duplication register has something to show,
 * and a few rows carry planted problems (a card number in notes, an opt-out in one list only).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let state = 20261123;
const rand = () => {
  state = (state * 1664525 + 1013904223) >>> 0;
  return state / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const FIRST = [
  'Anna',
  'Jonas',
  'Marie',
  'Lukas',
  'Sofia',
  'Elias',
  'Emma',
  'Noah',
  'Ilze',
  'Janis',
  'Wei',
  'Lucia',
  'Pablo',
  'Astrid',
  'Claire',
  'Oskar',
];
const LAST = [
  'Berg',
  'Schmidt',
  'Martin',
  'Garcia',
  'Lindqvist',
  'Ozols',
  'Chen',
  'Rossi',
  'Dubois',
  'Novak',
  'Kalnins',
  'Fischer',
  'Moreau',
  'Lopez',
];
const COMPANY = [
  'Nordwind GmbH',
  'Baltic Freight',
  'Soleil SARL',
  'Iberia Tech',
  'Kiruna AB',
  'Rigas Dati',
  'Acme Ltd',
];
// Prefix and subscriber digits that make valid numbers per country (checked by libphonenumber-js in the tests).
const PREFIX: Record<string, [string, number]> = {
  DE: ['+49 30 ', 8],
  FR: ['+33 1 ', 8],
  ES: ['+34 91 ', 7],
  SE: ['+46 8 ', 7],
  LV: ['+371 2', 7],
  GB: ['+44 20 7', 7],
};
const NOTES = [
  'Met at the trade fair, interested in the premium plan.',
  'Asked for a call back next quarter.',
  'Order 4521-8890-1123 shipped, invoice INV-2024-0042 paid.',
  'Prefers email. Tracking 1Z999AA10123456784.',
  '',
  '',
];

function luhnComplete(prefix: string): string {
  const digits = prefix.split('').map(Number);
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits[digits.length - 1 - i]!;
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return prefix + ((10 - (sum % 10)) % 10);
}

interface Person {
  id: number;
  first: string;
  last: string;
  email: string;
  phone: string;
  company: string;
}
const people: Person[] = Array.from({ length: 400 }, (_, i) => {
  const first = pick(FIRST);
  const last = pick(LAST);
  const country = pick(Object.keys(PREFIX));
  const [prefix, n] = PREFIX[country]!;
  const digits = String(Math.floor(rand() * 9 * 10 ** (n - 1)) + 2 * 10 ** (n - 1)).slice(0, n);
  return {
    id: i + 1,
    first,
    last,
    email: `${first}.${last}.${i + 1}@example.test`.toLowerCase(),
    phone: `${prefix}${digits}`,
    company: pick(COMPANY),
  };
});

const header = [
  'id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'company',
  'notes',
  'opted_out',
  'legal_basis',
  'last_activity',
];
const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
function row(p: Person, list: string, idPrefix: string, i: number): string[] {
  const card =
    i % 37 === 5
      ? ` Paid by card ${luhnComplete(`4111${String(10_000_000_000 + p.id * 7919).slice(0, 11)}`)} exp 09/27.`
      : '';
  const years = i % 11 === 3 ? 5 : rand() * 2;
  const last = new Date(Date.UTC(2026, 10, 1) - years * 365 * 86_400_000).toISOString().slice(0, 10);
  return [
    `${idPrefix}-${p.id}`,
    p.email,
    p.phone,
    p.first,
    p.last,
    p.company,
    pick(NOTES) + card,
    list === 'newsletter' && p.id % 13 === 0 ? 'true' : 'false',
    i % 17 === 2 ? '' : list === 'newsletter' ? 'consent' : 'legitimate_interest',
    last,
  ];
}

const lists: Record<string, Person[]> = {
  'trade-fair-2025': people.slice(0, 260),
  newsletter: people.slice(140, 400),
};
mkdirSync(join(here, 'lists'), { recursive: true });
for (const [name, members] of Object.entries(lists)) {
  const lines = [
    header.join(','),
    ...members.map((p, i) =>
      row(p, name, name === 'newsletter' ? 'nl' : 'tf', i)
        .map(csvCell)
        .join(','),
    ),
  ];
  writeFileSync(join(here, 'lists', `${name}.csv`), `${lines.join('\n')}\n`);
}
process.stdout.write(`wrote ${Object.keys(lists).length} lists, ${people.length} people, ${260 + 260 - 400} in both\n`);
