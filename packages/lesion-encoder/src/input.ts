// The input windowing of the lesion U-Net, shared by training and inference: HU through the lung
// window, 8-bit display grey scaled to [0, 1], then a min-max stretch per slice.
import { LesionEncError } from '@lesionenc/base';
import { applyWindow } from '@lesionenc/preprocess';

/** The window applied to HU slices before the per-slice stretch (lung: W1500 / L-600). */
export const NETWORK_WINDOW = Object.freeze({ widthHu: 1500, centerHu: -600 });

/** How the values of a slice are to be read. */
export type SliceIntensity = 'hu' | 'grey8';

/**
 * Maps one slice to the network's intensity scale: HU values through {@link NETWORK_WINDOW} to
 * [0, 1], or 8-bit grey (already windowed, as the COVID-SemiSeg and Zenodo slices are) divided by
 * 255; then a min-max stretch to [0, 1] over the slice, which makes per-slice contrast-stretched
 * training slices and HU-windowed scans comparable. A constant slice maps to zeros.
 *
 * @param values - The slice, row-major.
 * @param intensity - `hu` or `grey8`.
 * @returns A new Float32Array in [0, 1].
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` when a value is not finite.
 */
export function toNetworkIntensity(
  values: ArrayLike<number>,
  intensity: SliceIntensity,
): Float32Array {
  const scaled =
    intensity === 'hu'
      ? (applyWindow(values, NETWORK_WINDOW, { output: 'unit' }) as Float32Array)
      : Float32Array.from(values, (v) => v / 255);
  let low = Infinity;
  let high = -Infinity;
  for (const v of scaled) {
    if (!Number.isFinite(v)) {
      throw new LesionEncError(
        'DEGENERATE_INPUT',
        `slice intensity: expected finite values, got ${v}`,
      );
    }
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const range = high - low;
  const out = new Float32Array(scaled.length);
  if (range <= 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = (scaled[i]! - low) / range;
  return out;
}

/**
 * Rotates a row-major image 90 degrees clockwise (the COVID-SemiSeg slices are stored rotated
 * 90 degrees counter-clockwise: anterior on the left, spine on the right).
 *
 * @param values - The image.
 * @param rows - Rows of the input.
 * @param columns - Columns of the input.
 * @returns The rotated copy, `columns` rows by `rows` columns.
 */
export function rotate90Clockwise<T extends Float32Array | Uint8Array>(
  values: T,
  rows: number,
  columns: number,
): T {
  const out = new (values.constructor as new (n: number) => T)(values.length);
  // Output (r', c') = input (rows - 1 - c', r').
  for (let r = 0; r < columns; r++) {
    for (let c = 0; c < rows; c++) out[r * rows + c] = values[(rows - 1 - c) * columns + r]!;
  }
  return out;
}
