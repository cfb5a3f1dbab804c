/**
 * Checkpoints are opaque to the testkit, but timestamp watermarks inside them are not: ISO-8601 strings
 * and epoch milliseconds are found by path, compared page to page (never backwards) and moved into the
 * future (a checkpoint from the future must return nothing).
 */
import type { Checkpoint } from '@custodian/core';

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
// Epoch milliseconds between 2001 and 2286: big enough not to be a page number or an offset.
const isEpochMs = (v: unknown): v is number => typeof v === 'number' && v > 1e12 && v < 1e13;
const TWELVE_YEARS_MS = 12 * 365.25 * 24 * 3600 * 1000;

/** Every timestamp in a checkpoint, by JSON path, in epoch ms. */
export function timestampsOf(value: unknown, path = '$', out = new Map<string, number>()): Map<string, number> {
  if (typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)))
    out.set(path, Date.parse(value));
  else if (isEpochMs(value)) out.set(path, value);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) timestampsOf(v, `${path}.${k}`, out);
  return out;
}

/** Paths whose timestamp moved backwards from `before` to `after`. */
export function movedBackwards(before: Checkpoint, after: Checkpoint): string[] {
  const a = timestampsOf(before);
  const b = timestampsOf(after);
  return [...a].filter(([path, t]) => b.has(path) && b.get(path)! < t).map(([path]) => path);
}

/** The same checkpoint with every timestamp twelve years later, each in its own format. */
export function futureOf(value: unknown): unknown {
  if (typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))) {
    // Keep the vendor's format: move only the year (by 12, a multiple of the leap-year cycle, so 29 Feb stays valid).
    return value.replace(/^\d{4}/, (year) => String(Number(year) + 12));
  }
  if (isEpochMs(value)) return value + TWELVE_YEARS_MS;
  if (Array.isArray(value)) return value.map(futureOf);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, futureOf(v)]));
  return value;
}
