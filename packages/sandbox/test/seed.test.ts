import { detect } from '@custodian/core';
import { isValidIBAN } from 'ibantools';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import {
  createSeedWorld,
  DECLARED_PURPOSES,
  luhnValid,
  type PlantedProblem,
  PROBLEMS,
  type SeedPerson,
  UNDECLARED_COPY_SYSTEMS,
  VENDORS,
  type VendorName,
} from '../src/index.js';

const world = createSeedWorld({ people: 5000, seed: 42 });
const people: SeedPerson[] = Array.from({ length: 5000 }, (_, i) => world.person(i));

describe('seed world', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const again = createSeedWorld({ people: 5000, seed: 42 });
    const other = createSeedWorld({ people: 5000, seed: 43 });
    for (const i of [0, 1, 17, 999, 4999]) expect(again.person(i)).toEqual(people[i]);
    const differing = [0, 1, 2, 3, 4, 5, 6, 7].filter(
      (i) => JSON.stringify(other.person(i)) !== JSON.stringify(people[i]),
    );
    expect(differing.length).toBeGreaterThanOrEqual(7);
  });

  it('rejects indexes outside the world and bad options', () => {
    expect(() => world.person(5000)).toThrow(RangeError);
    expect(() => world.person(-1)).toThrow(RangeError);
    expect(() => createSeedWorld({ people: 0, seed: 1 })).toThrow();
  });

  it('gives unique lower-case emails on reserved .test domains and valid E.164 phones for the country', () => {
    const emails = new Set(people.map((p) => p.email));
    expect(emails.size).toBe(people.length);
    for (const p of people.slice(0, 1500)) {
      expect(p.email).toMatch(/^[a-z]+\.[a-z]+\.\d+@example-\d\.test$/);
      const phone = parsePhoneNumberFromString(p.phone);
      expect(phone?.isValid(), `${p.country} ${p.phone}`).toBe(true);
      expect(phone?.country, p.phone).toBe(p.country);
    }
    expect(new Set(people.map((p) => p.country))).toEqual(new Set(['US', 'GB', 'DE', 'FR', 'ES', 'SE', 'LV', 'CN']));
  });

  it('spreads people across vendors with overlaps, everyone in at least one', () => {
    const share = (v: VendorName) => people.filter((p) => p.systems.includes(v)).length / people.length;
    expect(share('hubspot')).toBeGreaterThan(0.55);
    expect(share('salesforce')).toBeGreaterThan(0.45);
    expect(share('zoho')).toBeGreaterThan(0.35);
    expect(people.every((p) => p.systems.length >= 1)).toBe(true);
    expect(people.filter((p) => p.systems.length >= 2).length / people.length).toBeGreaterThan(0.3);
    for (const v of VENDORS) {
      expect(world.countIn(v)).toBe(people.filter((p) => p.systems.includes(v)).length);
      expect([...world.indexesIn(v)]).toEqual(people.filter((p) => p.systems.includes(v)).map((p) => p.index));
    }
  });

  it('plants valid card numbers, IBANs and national ids in several languages; clean notes carry look-alikes only', () => {
    const notes = people.flatMap((p) => Object.values(p.notes).flat());
    const langs = new Set(notes.filter((n) => n.planted.length > 0).map((n) => n.lang));
    expect(langs).toEqual(new Set(['en', 'de', 'fr', 'es', 'sv', 'lv', 'zh']));
    const cards = notes.filter((n) => n.planted.includes('card_number'));
    expect(cards.length).toBeGreaterThan(50);
    for (const n of cards) {
      const m = /(\d{4} \d{4} \d{4} \d{4})/.exec(n.text);
      expect(m && luhnValid(m[1] as string)).toBe(true);
    }
    const ibans = notes.filter((n) => n.planted.includes('iban'));
    expect(ibans.length).toBeGreaterThan(30);
    for (const n of ibans) {
      const m = /IBAN ([A-Z]{2}\d{2}(?: ?[0-9A-Z]{1,4})+)/.exec(n.text);
      expect(isValidIBAN((m?.[1] ?? '').replace(/\s/g, '')), n.lang).toBe(true);
    }
    for (const n of notes.filter((x) => x.planted.includes('national_id') && /\d{6}-\d{4}/.test(x.text))) {
      const m = /(\d{6})-(\d{4})/.exec(n.text);
      expect(luhnValid(`${m?.[1]}${m?.[2]}`)).toBe(true);
    }
    for (const n of notes.filter((x) => x.planted.includes('national_id') && /\d{8}[A-Z]/.test(x.text))) {
      const m = /(\d{8})([A-Z])/.exec(n.text);
      expect('TRWAGMYFPDXBNJZSQVHLCKE'[Number(m?.[1]) % 23]).toBe(m?.[2]);
    }
    for (const n of notes.filter((x) => x.planted.includes('national_id') && /(^|\D)\d{9}(\D|$)/.test(x.text))) {
      const d = /(\d{9})/.exec(n.text)?.[1] ?? '';
      let sum = 0;
      for (let i = 0; i < 8; i++) sum += Number(d[i]) * (9 - i);
      expect((sum - Number(d[8])) % 11).toBe(0);
    }
    const clean = notes.filter((n) => n.planted.length === 0);
    expect(clean.length).toBeGreaterThan(notes.length / 2);
    for (const n of clean) expect(luhnValid(/\d{13,19}/.exec(n.text.replace(/ /g, ''))?.[0] ?? '0')).toBe(false);
    expect(clean.some((n) => /ORD-\d+/.test(n.text))).toBe(true);
    expect(clean.some((n) => /INV-\d+-\d+/.test(n.text))).toBe(true);
  });

  it('plants what the real detector finds, and clean notes give it nothing sensitive', () => {
    const notes = people.slice(0, 3000).flatMap((p) => Object.values(p.notes).flat());
    const sensitive = new Set(['card_number', 'iban', 'national_id', 'health', 'credential']);
    let missed = 0;
    let planted = 0;
    for (const n of notes) {
      const found = new Set(detect(n.text).map((f) => f.type as string));
      for (const kind of n.planted) {
        planted++;
        if (!found.has(kind)) missed++;
      }
      if (n.planted.length === 0)
        expect(
          [...found].filter((k) => sensitive.has(k)),
          n.key,
        ).toEqual([]);
    }
    expect(planted).toBeGreaterThan(200);
    expect(missed / planted).toBeLessThan(0.05);
  });

  it('planted() matches a brute-force recount on 5,000 people', () => {
    const report = world.planted();
    const problems = Object.fromEntries(PROBLEMS.map((p) => [p, 0])) as Record<PlantedProblem, number>;
    const perVendor: Record<VendorName, number> = { hubspot: 0, salesforce: 0, zoho: 0 };
    for (const p of people) {
      for (const v of p.systems) perVendor[v]++;
      const noteKinds = new Set(
        Object.values(p.notes)
          .flat()
          .flatMap((n) => n.planted),
      );
      const has: Record<PlantedProblem, boolean> = {
        card_in_note: noteKinds.has('card_number'),
        iban_in_note: noteKinds.has('iban'),
        national_id_in_note: noteKinds.has('national_id'),
        health_in_note: noteKinds.has('health'),
        password_in_note: noteKinds.has('credential'),
        opted_out_in_one_system: p.systems.length >= 2 && p.systems.filter((v) => p.optedOut[v]).length === 1,
        inactive_for_years: Date.parse(p.lastActivityAt) < Date.parse('2026-11-01T00:00:00Z') - 4 * 365.25 * 86_400_000,
        duplicate_in_system: p.duplicatedIn.length > 0,
        missing_consent: p.legalBasis === null,
        undeclared_copy: p.systems.length === 2 && UNDECLARED_COPY_SYSTEMS.every((v) => p.systems.includes(v)),
      };
      for (const problem of PROBLEMS) {
        expect(has[problem], `${problem} on ${p.index}`).toBe(p.problems.includes(problem));
        if (has[problem]) problems[problem]++;
      }
    }
    expect(report.problems).toEqual(problems);
    expect(report.perVendor).toEqual(perVendor);
    for (const problem of PROBLEMS) {
      expect(problems[problem]).toBeGreaterThan(10);
      for (const i of report.samples[problem]) expect(people[i]?.problems).toContain(problem);
    }
    const demo = people[report.demoPerson] as SeedPerson;
    expect(demo.systems).toEqual(['hubspot', 'salesforce', 'zoho']);
    expect(demo.problems.some((p) => p.endsWith('_in_note'))).toBe(true);
    // The undeclared-copy definition agrees with the declared purposes: salesforce and zoho share none.
    const [a, b] = UNDECLARED_COPY_SYSTEMS as [VendorName, VendorName];
    expect(DECLARED_PURPOSES[a].some((x) => DECLARED_PURPOSES[b].includes(x))).toBe(false);
    expect(report.undeclaredCopy?.systems).toEqual(UNDECLARED_COPY_SYSTEMS);
  });

  it('serves a 1,000,000-person world with O(1) access and flat memory', () => {
    const big = createSeedWorld({ people: 1_000_000, seed: 7 });
    const t0 = performance.now();
    const last = big.person(999_999);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(last.index).toBe(999_999);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    let hubspot = 0;
    for (const i of big.indexesIn('hubspot')) hubspot += i >= 0 ? 1 : 0;
    const report = big.planted();
    globalThis.gc?.();
    const after = process.memoryUsage().heapUsed;
    expect(hubspot).toBe(report.perVendor.hubspot);
    expect(after - before).toBeLessThan(64 * 1024 * 1024);
    expect(report.people).toBe(1_000_000);
    expect(report.problems.card_in_note).toBeGreaterThan(25_000);
  });
});
