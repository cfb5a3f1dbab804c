/**
 * An overlay store over generated base records, for vendor look-alikes.
 *
 * The seed world generates record `i` on demand (`baseAt(i)`); a million-record store therefore
 * costs nothing until records change. The store keeps only overlays:
 * - `changed`:  position -> replacement record (updates),
 * - `binned`:   position -> deletedAt (in the recycle bin, restorable),
 * - `purged`:   positions gone for good,
 * - `created`:  records added through the API, at positions `count`, `count + 1`, ...
 *
 * A *position* is the record's place in the store's natural order: base records first (by index),
 * then created records in creation order. Cursors are positions, so paging is O(limit) plus skipped
 * deleted records, and stays stable while other records change.
 *
 * Usage (in a vendor app):
 * ```ts
 * const contacts = createOverlayStore<Contact>({
 *   count: world.options.people,
 *   baseAt: (i) => contactFromPerson(world.person(i)),   // null when index i is not in this vendor
 *   idOf: (c) => c.id,
 *   positionOf: (id) => decodeIndex(id),                  // id -> base index, or null if not a base id
 * });
 * contacts.get('1001');                 // live record or null (binned/purged/unknown)
 * contacts.update('1001', (c) => ({ ...c, email: 'x' }));
 * contacts.remove('1001');              // to the recycle bin; contacts.restore / contacts.purge
 * const page = contacts.page({ after: cursor, limit: 100 });  // { items, next: position | null }
 * ```
 * For ordering by something other than position (e.g. modification time), `sortedPositions(keyOf)`
 * builds a compact Float64Array/Uint32Array index once and caches it until the next write.
 */

export interface OverlayStoreOptions<T> {
  /** Number of base positions (usually world.options.people). */
  count: number;
  /** The generated record at base position i, or null when the vendor holds nothing there. */
  baseAt(index: number): T | null;
  idOf(record: T): string;
  /** Base position named by an id (vendor ids usually encode the seed index), or null. Created ids are tracked by the store. */
  positionOf(id: string): number | null;
  /** Clock for deletedAt stamps. */
  now?: () => Date;
}

export type RecordState = 'live' | 'binned';

export interface StoredRecord<T> {
  position: number;
  record: T;
  state: RecordState;
  /** Set when state is 'binned'. */
  deletedAt?: string;
}

export interface PageOptions<T> {
  /** Position to start after (exclusive); omitted starts at the beginning. */
  after?: number | null;
  limit: number;
  /** 'live' (default), 'binned' (recycle bin only) or 'all'. */
  state?: RecordState | 'all';
  filter?(record: T): boolean;
}

export interface Page<T> {
  items: StoredRecord<T>[];
  /** Position to pass as `after` for the next page; null on the last page. */
  next: number | null;
}

export interface OverlayStore<T> {
  readonly baseCount: number;
  /** Live record by id, or null (unknown, binned or purged). */
  get(id: string): T | null;
  /** Record by id whatever its state (null when unknown or purged). */
  find(id: string): StoredRecord<T> | null;
  /** Replace a live record (function gets the current one). Returns the new record, or null if not live. */
  update(id: string, change: T | ((current: T) => T)): T | null;
  /** Add a record; returns its position. */
  create(record: T): number;
  /** Move a live record to the recycle bin. Returns false if it was not live. */
  remove(id: string): boolean;
  /** Bring a binned record back. Returns false if it was not binned. */
  restore(id: string): boolean;
  /** Delete for good (live or binned). Returns false if unknown or already purged. */
  purge(id: string): boolean;
  /** Records in position order, lazily. */
  iterate(options?: Omit<PageOptions<T>, 'limit' | 'after'> & { after?: number | null }): Generator<StoredRecord<T>>;
  page(options: PageOptions<T>): Page<T>;
  /** Positions of live records sorted by keyOf (ties by position); cached until the next write. */
  sortedPositions(keyOf: (record: T) => number): Uint32Array;
  /** Overlay sizes, for memory checks. */
  overlaySize(): { changed: number; binned: number; purged: number; created: number };
}

export function createOverlayStore<T>(options: OverlayStoreOptions<T>): OverlayStore<T> {
  const { count, baseAt, idOf, positionOf } = options;
  const now = options.now ?? (() => new Date());
  const changed = new Map<number, T>();
  const binned = new Map<number, string>();
  const purged = new Set<number>();
  const created: T[] = [];
  const createdIds = new Map<string, number>();
  let sortedCache: { keyOf: (r: T) => number; positions: Uint32Array } | null = null;
  const invalidate = () => {
    sortedCache = null;
  };

  const recordAt = (position: number): T | null => {
    if (purged.has(position)) return null;
    const overlay = changed.get(position);
    if (overlay !== undefined) return overlay;
    if (position < count) return baseAt(position);
    return created[position - count] ?? null;
  };

  const resolve = (id: string): number | null => {
    const createdAt = createdIds.get(id);
    if (createdAt !== undefined) return purged.has(createdAt) ? null : createdAt;
    const position = positionOf(id);
    if (position === null || !Number.isInteger(position) || position < 0 || position >= count) return null;
    const record = recordAt(position);
    // The id must name the record actually there (guards against ids that decode to someone else).
    return record !== null && idOf(record) === id ? position : null;
  };

  const stored = (position: number): StoredRecord<T> | null => {
    const record = recordAt(position);
    if (record === null) return null;
    const deletedAt = binned.get(position);
    return deletedAt === undefined
      ? { position, record, state: 'live' }
      : { position, record, state: 'binned', deletedAt };
  };

  function* iterate(
    opts: Omit<PageOptions<T>, 'limit' | 'after'> & { after?: number | null } = {},
  ): Generator<StoredRecord<T>> {
    const want = opts.state ?? 'live';
    const total = count + created.length;
    const start = opts.after === undefined || opts.after === null ? 0 : opts.after + 1;
    for (let position = start; position < total; position++) {
      if (want === 'binned' && !binned.has(position)) continue; // cheap skip: no generation
      if (want === 'live' && binned.has(position)) continue;
      const item = stored(position);
      if (item === null) continue;
      if (opts.filter && !opts.filter(item.record)) continue;
      yield item;
    }
  }

  return {
    baseCount: count,
    get(id) {
      const position = resolve(id);
      if (position === null || binned.has(position)) return null;
      return recordAt(position);
    },
    find(id) {
      const position = resolve(id);
      return position === null ? null : stored(position);
    },
    update(id, change) {
      const position = resolve(id);
      if (position === null || binned.has(position)) return null;
      const current = recordAt(position) as T;
      const next = typeof change === 'function' ? (change as (c: T) => T)(current) : change;
      changed.set(position, next);
      invalidate();
      return next;
    },
    create(record) {
      const position = count + created.length;
      created.push(record);
      createdIds.set(idOf(record), position);
      invalidate();
      return position;
    },
    remove(id) {
      const position = resolve(id);
      if (position === null || binned.has(position)) return false;
      binned.set(position, now().toISOString());
      invalidate();
      return true;
    },
    restore(id) {
      const position = resolve(id);
      if (position === null || !binned.has(position)) return false;
      binned.delete(position);
      invalidate();
      return true;
    },
    purge(id) {
      const position = resolve(id);
      if (position === null) return false;
      binned.delete(position);
      changed.delete(position);
      purged.add(position);
      if (position >= count) created[position - count] = undefined as unknown as T;
      invalidate();
      return true;
    },
    iterate,
    page(opts) {
      const items: StoredRecord<T>[] = [];
      let last: number | null = null;
      for (const item of iterate(opts)) {
        if (items.length === opts.limit) {
          return { items, next: last };
        }
        items.push(item);
        last = item.position;
      }
      return { items, next: null };
    },
    sortedPositions(keyOf) {
      if (sortedCache && sortedCache.keyOf === keyOf) return sortedCache.positions;
      const positions: number[] = [];
      const keys: number[] = [];
      for (const item of iterate()) {
        positions.push(item.position);
        keys.push(keyOf(item.record));
      }
      const order = new Uint32Array(positions.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      order.sort(
        (a, b) => (keys[a] as number) - (keys[b] as number) || (positions[a] as number) - (positions[b] as number),
      );
      const sorted = new Uint32Array(order.length);
      for (let i = 0; i < order.length; i++) sorted[i] = positions[order[i] as number] as number;
      sortedCache = { keyOf, positions: sorted };
      return sorted;
    },
    overlaySize: () => ({ changed: changed.size, binned: binned.size, purged: purged.size, created: created.length }),
  };
}
