/**
 * The request log every vendor server writes to. Counts live in maps keyed by
 * vendor/endpoint/status, so a benchmark making millions of calls costs a few kilobytes; only the
 * most recent `maxEntries` entries are kept as objects. Deletes the vendors really performed are
 * counted per record id (one map entry per deleted record).
 */
import type { RequestLogEntry, VendorName } from './types.js';

export interface RequestLogFilter {
  vendor?: VendorName;
  /** Endpoint key, e.g. `GET /crm/v3/objects/contacts/{id}`. */
  endpoint?: string;
  status?: number;
}

export interface RequestLog {
  /** The most recent entries (at most `maxEntries`), oldest first. */
  entries(): RequestLogEntry[];
  count(filter?: RequestLogFilter): number;
  /** Requests per endpoint key (optionally for one vendor). */
  byEndpoint(vendor?: VendorName): Record<string, number>;
  /**
   * Per record id, how many calls really deleted it at this vendor (`RequestLogEntry.deleted`): a delete of
   * a record that is already gone is not counted, so any count above 1 is a record deleted twice.
   */
  deletions(vendor: VendorName): Map<string, number>;
  record(entry: RequestLogEntry): void;
  reset(): void;
}

export function createRequestLog(options: { maxEntries?: number } = {}): RequestLog {
  const maxEntries = options.maxEntries ?? 10_000;
  let ring: RequestLogEntry[] = [];
  // vendor \u0000 endpoint \u0000 status -> count
  let counts = new Map<string, number>();
  let deletions = new Map<VendorName, Map<string, number>>();
  const SEP = '\u0000';
  return {
    entries: () => ring.slice(-maxEntries),
    count(filter = {}) {
      let total = 0;
      for (const [key, n] of counts) {
        const [vendor, endpoint, status] = key.split(SEP);
        if (filter.vendor !== undefined && vendor !== filter.vendor) continue;
        if (filter.endpoint !== undefined && endpoint !== filter.endpoint) continue;
        if (filter.status !== undefined && Number(status) !== filter.status) continue;
        total += n;
      }
      return total;
    },
    byEndpoint(vendor) {
      const out: Record<string, number> = {};
      for (const [key, n] of counts) {
        const [v, endpoint] = key.split(SEP) as [string, string];
        if (vendor !== undefined && v !== vendor) continue;
        out[endpoint] = (out[endpoint] ?? 0) + n;
      }
      return out;
    },
    deletions: (vendor) => new Map(deletions.get(vendor)),
    record(entry) {
      const key = `${entry.vendor}${SEP}${entry.endpoint}${SEP}${entry.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (entry.deleted?.length) {
        const ids = deletions.get(entry.vendor) ?? new Map<string, number>();
        deletions.set(entry.vendor, ids);
        for (const id of entry.deleted) ids.set(id, (ids.get(id) ?? 0) + 1);
      }
      ring.push(entry);
      if (ring.length > maxEntries * 2) ring = ring.slice(-maxEntries);
    },
    reset() {
      ring = [];
      counts = new Map();
      deletions = new Map();
    },
  };
}
