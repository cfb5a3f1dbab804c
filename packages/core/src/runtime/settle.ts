/**
 * Every item's call started at once, results in item order. A connector's calls all pass through the
 * runtime's per-vendor queue, which bounds how many are in flight and how fast they start, so a connector
 * hands over its whole batch instead of awaiting one call before sending the next. Every call settles
 * before the first failure is thrown: no call is left running unobserved.
 */
export async function mapSettled<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const settled = await Promise.allSettled(items.map((item, i) => fn(item, i)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}
