import { describe, expect, it } from 'vitest';
import { createOverlayStore, createSeedWorld } from '../src/index.js';

interface Contact {
  id: string;
  email: string;
  updatedAt: number;
}

const world = createSeedWorld({ people: 1000, seed: 42 });
const inHubSpot = (i: number) => world.person(i).systems.includes('hubspot');
function contacts(count = 1000) {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  return createOverlayStore<Contact>({
    count,
    baseAt: (i) => {
      if (!inHubSpot(i)) return null;
      const p = world.person(i);
      return { id: String(1000 + i), email: p.email, updatedAt: Date.parse(p.updatedAt) };
    },
    idOf: (c) => c.id,
    positionOf: (id) => (/^\d+$/.test(id) ? Number(id) - 1000 : null),
    now: () => {
      clock += 1000;
      return new Date(clock);
    },
  });
}

describe('overlay store', () => {
  it('serves base records by id, and only ids of records the vendor holds', () => {
    const store = contacts();
    const held = [...world.indexesIn('hubspot')];
    const missing = [...Array(1000).keys()].find((i) => !inHubSpot(i)) as number;
    expect(store.get(String(1000 + (held[0] as number)))?.email).toBe(world.person(held[0] as number).email);
    expect(store.get(String(1000 + missing))).toBeNull();
    expect(store.get('abc')).toBeNull();
    expect(store.get('99999')).toBeNull();
  });

  it('updates, bins, restores and purges through overlays only', () => {
    const store = contacts();
    const id = String(1000 + ([...world.indexesIn('hubspot')][3] as number));
    expect(store.update(id, (c) => ({ ...c, email: 'changed@example.test' }))?.email).toBe('changed@example.test');
    expect(store.get(id)?.email).toBe('changed@example.test');
    expect(store.remove(id)).toBe(true);
    expect(store.get(id)).toBeNull();
    expect(store.find(id)).toMatchObject({ state: 'binned', deletedAt: '2026-01-01T00:00:01.000Z' });
    expect(store.update(id, (c) => c)).toBeNull();
    expect(store.remove(id)).toBe(false);
    expect([...store.iterate({ state: 'binned' })].map((r) => r.record.id)).toEqual([id]);
    expect(store.restore(id)).toBe(true);
    expect(store.get(id)?.email).toBe('changed@example.test');
    expect(store.purge(id)).toBe(true);
    expect(store.find(id)).toBeNull();
    expect(store.restore(id)).toBe(false);
    expect(store.purge(id)).toBe(false);
    expect(store.overlaySize()).toEqual({ changed: 0, binned: 0, purged: 1, created: 0 });
  });

  it('creates records after the base and pages over all of them with stable cursors', () => {
    const store = contacts();
    const position = store.create({ id: 'new-1', email: 'new@example.test', updatedAt: 0 });
    expect(position).toBe(1000);
    expect(store.get('new-1')?.email).toBe('new@example.test');
    const seen: string[] = [];
    let after: number | null = null;
    do {
      const page = store.page({ after, limit: 97 });
      seen.push(...page.items.map((r) => r.record.id));
      after = page.next;
    } while (after !== null);
    expect(seen).toHaveLength(world.countIn('hubspot') + 1);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe('new-1');
    expect(store.purge('new-1')).toBe(true);
    expect(store.get('new-1')).toBeNull();
    expect(store.remove('new-1')).toBe(false);
  });

  it('sorts positions by a key, ties by position, and re-sorts after writes', () => {
    const store = contacts();
    const byUpdated = (c: Contact) => c.updatedAt;
    const sorted = store.sortedPositions(byUpdated);
    expect(sorted.length).toBe(world.countIn('hubspot'));
    const keys = [...sorted].map((p) => store.find(String(1000 + p))?.record.updatedAt as number);
    for (let i = 1; i < keys.length; i++) expect(keys[i]).toBeGreaterThanOrEqual(keys[i - 1] as number);
    const first = String(1000 + (sorted[0] as number));
    store.update(first, (c) => ({ ...c, updatedAt: Number.MAX_SAFE_INTEGER }));
    const resorted = store.sortedPositions(byUpdated);
    expect(String(1000 + (resorted.at(-1) as number))).toBe(first);
  });

  it('keeps memory flat over a million generated records', () => {
    const big = createOverlayStore<{ id: string }>({
      count: 1_000_000,
      baseAt: (i) => ({ id: String(i) }),
      idOf: (r) => r.id,
      positionOf: (id) => Number(id),
    });
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    let n = 0;
    for (const _ of big.iterate()) n++;
    globalThis.gc?.();
    expect(n).toBe(1_000_000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 1024 * 1024);
    expect(big.page({ after: 999_997, limit: 10 }).items.map((r) => r.record.id)).toEqual(['999998', '999999']);
  });
});
