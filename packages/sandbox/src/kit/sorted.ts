/**
 * Binary search over a sorted list: the first position whose item is not `before` the target (the list must
 * be partitioned, every `before` item first). The look-alikes' seed-index and (time, id) lookups share it.
 */
export function partitionPoint<T>(list: ArrayLike<T>, before: (item: T) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(list[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether an ascending list of numbers holds `value`. */
export function sortedHas(list: ArrayLike<number>, value: number): boolean {
  return list[partitionPoint(list, (v) => v < value)] === value;
}
