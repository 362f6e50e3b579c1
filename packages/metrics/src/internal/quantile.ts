// Sample percentiles with numpy's default ('linear') rule, so intervals match numpy.percentile.

/**
 * The q-th percentile (q in [0, 100]) of sorted values, by numpy's linear interpolation between
 * the order statistics at (n - 1) q / 100.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * (q / 100);
  if (virtual >= n - 1) return sorted[n - 1] as number;
  if (virtual <= 0) return sorted[0] as number;
  const below = Math.floor(virtual);
  const gamma = virtual - below;
  const a = sorted[below] as number;
  const b = sorted[below + 1] as number;
  const diff = b - a;
  // numpy interpolates from the nearer end, which keeps the result monotone in q.
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** Sorts a copy of the values ascending and returns the percentile. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, q);
}
