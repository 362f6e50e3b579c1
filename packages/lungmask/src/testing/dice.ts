// Test helper: Dice of two masks, any non-zero label counting as inside.

/**
 * Dice of `predicted > 0` against `truth > 0`.
 *
 * @param predicted - Labels, one per voxel.
 * @param truth - Labels of the same length.
 * @returns 2|A and B| / (|A| + |B|).
 */
export function dice(predicted: Uint8Array, truth: Uint8Array): number {
  let both = 0;
  let p = 0;
  let t = 0;
  for (let n = 0; n < truth.length; n++) {
    const a = predicted[n]! > 0;
    const b = truth[n]! > 0;
    if (a) p++;
    if (b) t++;
    if (a && b) both++;
  }
  return (2 * both) / (p + t);
}
