// HU windowing with named presets, intensity normalisation and gamma adjustment.
import { LesionEncError, describeValue } from '@lesionenc/base';

/** A display window in Hounsfield units: `[centre - width / 2, centre + width / 2]`. */
export interface HuWindow {
  readonly widthHu: number;
  readonly centerHu: number;
}

/** The named windows of chest CT reading. */
export const WINDOW_PRESETS = Object.freeze({
  /** Lung parenchyma: W1500 / L-600, so -1350..150 HU. */
  lung: Object.freeze({ widthHu: 1500, centerHu: -600 }),
  /** Soft tissue of the mediastinum: W350 / L50, so -125..225 HU. */
  mediastinal: Object.freeze({ widthHu: 350, centerHu: 50 }),
}) satisfies Readonly<Record<string, HuWindow>>;

/** The names of {@link WINDOW_PRESETS}. */
export type WindowPreset = keyof typeof WINDOW_PRESETS;

/** How {@link applyWindow} writes its result. */
export type WindowOutput = 'unit' | 'uint8' | 'uint16';

/** Options of {@link applyWindow}. */
export interface WindowOptions {
  /**
   * `unit`: Float32Array in [0, 1]; `uint8`: Uint8Array 0..255; `uint16`: Uint16Array 0..65535
   * (rounded to nearest).
   * @defaultValue `unit`
   */
  output?: WindowOutput;
}

/** The output array type of {@link applyWindow} for each output kind. */
export type WindowResult<O extends WindowOutput> = O extends 'uint8'
  ? Uint8Array
  : O extends 'uint16'
    ? Uint16Array
    : Float32Array;

/**
 * Resolves a preset name or a custom window and validates it.
 *
 * @param window - A preset name or a `{ widthHu, centerHu }` window.
 * @returns The window.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for an unknown name or a width that is not
 * positive.
 */
export function resolveWindow(window: WindowPreset | HuWindow): HuWindow {
  if (typeof window === 'string') {
    const preset = (WINDOW_PRESETS as Record<string, HuWindow>)[window];
    if (preset === undefined) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `window: expected one of ${Object.keys(WINDOW_PRESETS).join(', ')}, got ${describeValue(window)}`,
      );
    }
    return preset;
  }
  if (
    !(window.widthHu > 0) ||
    !Number.isFinite(window.widthHu) ||
    !Number.isFinite(window.centerHu)
  ) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `window: expected a finite positive widthHu and a finite centerHu, got ` +
        `${describeValue(window.widthHu)} / ${describeValue(window.centerHu)} (HU)`,
    );
  }
  return window;
}

/**
 * Maps HU values through a display window: values below the window become 0, above it the top
 * of the output range, linear in between.
 *
 * @param values - HU values (any numeric typed array or array).
 * @param window - A preset name (`lung`, `mediastinal`) or a custom window.
 * @param options - The output kind.
 * @returns A new array of the same length.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad window or output kind.
 * @example
 * ```ts
 * const grey = applyWindow(volume.data, 'lung', { output: 'uint8' });
 * const soft = applyWindow(volume.data, { widthHu: 400, centerHu: 40 });
 * ```
 */
export function applyWindow<O extends WindowOutput = 'unit'>(
  values: ArrayLike<number>,
  window: WindowPreset | HuWindow,
  options: WindowOptions & { output?: O } = {},
): WindowResult<O> {
  const { widthHu, centerHu } = resolveWindow(window);
  const output = options.output ?? 'unit';
  const lowHu = centerHu - widthHu / 2;
  const n = values.length;
  if (output === 'unit') {
    const out = new Float32Array(n);
    const scale = 1 / widthHu;
    for (let i = 0; i < n; i++) {
      const t = (values[i]! - lowHu) * scale;
      out[i] = t <= 0 ? 0 : t >= 1 ? 1 : t;
    }
    return out as WindowResult<O>;
  }
  if (output !== 'uint8' && output !== 'uint16') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `window output: expected unit, uint8 or uint16, got ${describeValue(output)}`,
    );
  }
  const top = output === 'uint8' ? 255 : 65535;
  const out = output === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
  const scale = top / widthHu;
  for (let i = 0; i < n; i++) {
    const t = (values[i]! - lowHu) * scale;
    out[i] = t <= 0 ? 0 : t >= top ? top : Math.round(t);
  }
  return out as WindowResult<O>;
}

/** Options of {@link normalizeIntensity}. */
export interface NormalizeOptions {
  /**
   * `minmax`: to [0, 1] between the smallest and largest value; `zscore`: zero mean, unit
   * standard deviation; `range`: to [0, 1] between `rangeMin` and `rangeMax`, clipped.
   * @defaultValue `minmax`
   */
  method?: 'minmax' | 'zscore' | 'range';
  /** Only voxels where the mask is non-zero enter the statistics (all voxels are mapped). */
  mask?: Uint8Array;
  /** For `range`: the value mapped to 0. */
  rangeMin?: number;
  /** For `range`: the value mapped to 1. */
  rangeMax?: number;
}

/**
 * Normalises intensities. A constant input (no spread to divide by) maps to zeros rather than
 * to NaN.
 *
 * @param values - Input values.
 * @param options - Method, statistics mask and range.
 * @returns A new Float32Array.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for an unknown method, a bad range, or an
 * empty mask; `SHAPE_MISMATCH` when the mask length differs.
 */
export function normalizeIntensity(
  values: ArrayLike<number>,
  options: NormalizeOptions = {},
): Float32Array {
  const method = options.method ?? 'minmax';
  const n = values.length;
  const out = new Float32Array(n);
  const { mask } = options;
  if (mask !== undefined && mask.length !== n) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `normalize mask: expected ${n} voxels, got ${mask.length}`,
    );
  }
  const inStats = (i: number) => mask === undefined || mask[i] !== 0;

  if (method === 'range') {
    const lo = options.rangeMin;
    const hi = options.rangeMax;
    if (lo === undefined || hi === undefined || !(hi > lo)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `normalize range: expected rangeMin < rangeMax, got ${describeValue(lo)} and ${describeValue(hi)}`,
      );
    }
    const scale = 1 / (hi - lo);
    for (let i = 0; i < n; i++) {
      const t = (values[i]! - lo) * scale;
      out[i] = t <= 0 ? 0 : t >= 1 ? 1 : t;
    }
    return out;
  }
  if (method !== 'minmax' && method !== 'zscore') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `normalize method: expected minmax, zscore or range, got ${describeValue(method)}`,
    );
  }

  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!inStats(i)) continue;
    const v = values[i]!;
    count += 1;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (count === 0) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `normalize: expected at least one voxel in the statistics, got ${n === 0 ? 'no voxels' : 'an empty mask'}`,
    );
  }
  if (method === 'minmax') {
    if (!(max > min)) return out;
    const scale = 1 / (max - min);
    for (let i = 0; i < n; i++) out[i] = (values[i]! - min) * scale;
    return out;
  }
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    if (inStats(i)) squares += (values[i]! - mean) ** 2;
  }
  const std = Math.sqrt(squares / count);
  if (!(std > 0)) return out;
  for (let i = 0; i < n; i++) out[i] = (values[i]! - mean) / std;
  return out;
}

/**
 * Gamma adjustment `out = gain * in^gamma` on [0, 1] intensities, or on 0..255 grey values
 * through a lookup table (as scikit-image's `adjust_gamma` does for 8-bit images).
 *
 * @param values - Float32Array in [0, 1] or Uint8Array.
 * @param gamma - The exponent, > 0; below 1 brightens, above 1 darkens.
 * @param gain - The multiplier. @defaultValue 1
 * @returns A new array of the input's type (8-bit results are rounded and clipped).
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for gamma <= 0 or a negative input value.
 */
export function adjustGamma<T extends Float32Array | Uint8Array>(
  values: T,
  gamma: number,
  gain = 1,
): T {
  if (!(gamma > 0) || !Number.isFinite(gamma) || !Number.isFinite(gain)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `gamma: expected a finite gamma > 0 and a finite gain, got ${describeValue(gamma)} and ${describeValue(gain)}`,
    );
  }
  const n = values.length;
  if (values instanceof Uint8Array) {
    const lut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) {
      lut[v] = Math.min(255, Math.max(0, Math.round(255 * gain * (v / 255) ** gamma)));
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = lut[values[i]!]!;
    return out as T;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `gamma input: expected values >= 0 (intensities in [0, 1]), got ${describeValue(v)} at index ${i}`,
      );
    }
    out[i] = gain * v ** gamma;
  }
  return out as T;
}
