// Runs async work over a list with a bounded number in flight, keeping the results in order.

/**
 * Maps `items` through `fn` with at most `limit` calls pending at once.
 *
 * @param items - The inputs.
 * @param limit - Calls in flight at most (at least 1).
 * @param fn - The work; its rejection rejects the whole map once the pending calls settle.
 * @returns The results, in the order of `items`.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
