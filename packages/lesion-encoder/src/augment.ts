// Albumentations-style augmentation of a grey slice and its label mask: composable typed ops, each
// seeded on its own, geometric ops warping image (bilinear) and mask (nearest) identically.
import { LesionEncError, type Random, createRandom } from '@lesionenc/base';

/** One training sample: a grey image in [0, 1] and its class-index mask, both row-major. */
export interface AugmentSample {
  /** Intensities, `rows * columns`, normally in [0, 1]. */
  image: Float32Array;
  /** Class index per pixel, `rows * columns`. */
  mask: Uint8Array;
  rows: number;
  columns: number;
}

/** One augmentation step. Ops never modify their input sample. */
export interface AugmentOp {
  /** Short name, part of the op's random stream label. */
  readonly name: string;
  /**
   * Applies the op.
   *
   * @param sample - The input (not modified).
   * @param random - The op's own stream for this sample.
   * @returns A new sample, or the input itself when the op did nothing.
   */
  apply(sample: AugmentSample, random: Random): AugmentSample;
}

/** A composed pipeline. */
export interface Augmentation {
  /**
   * Runs every op in order. The same seed and key give the same result; each op draws from its
   * own stream, so adding or changing one op leaves the draws of the others unchanged.
   *
   * @param sample - The input (not modified).
   * @param key - Identifies the draw, e.g. `${epoch}/${sampleIndex}`.
   */
  apply(sample: AugmentSample, key: string | number): AugmentSample;
  readonly ops: readonly AugmentOp[];
}

function checkSample(sample: AugmentSample): void {
  const n = sample.rows * sample.columns;
  if (
    !Number.isInteger(sample.rows) ||
    !Number.isInteger(sample.columns) ||
    sample.rows < 1 ||
    sample.columns < 1 ||
    sample.image.length !== n ||
    sample.mask.length !== n
  ) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `augmentation sample: expected image and mask of ${sample.rows}x${sample.columns} = ${n} pixels, got ${sample.image.length} and ${sample.mask.length}`,
    );
  }
}

/**
 * Composes ops into one pipeline with a seed.
 *
 * @param ops - Applied in order.
 * @param seed - Integer seed of every op's stream.
 * @returns The pipeline.
 * @example
 * ```ts
 * const augment = composeAugmentations([horizontalFlip(), affine({ rotateDeg: 15 })], 7);
 * const out = augment.apply(sample, `${epoch}/${index}`);
 * ```
 */
export function composeAugmentations(ops: readonly AugmentOp[], seed: number): Augmentation {
  const root = createRandom(seed);
  const frozen = Object.freeze([...ops]);
  return {
    ops: frozen,
    apply: (sample, key) => {
      checkSample(sample);
      let current = sample;
      frozen.forEach((op, index) => {
        current = op.apply(current, root.fork(`${String(key)}/${index}:${op.name}`));
      });
      return current;
    },
  };
}

/** A 3x3 projective map from output (column, row) to input (column, row), row-major. */
type Homography = [number, number, number, number, number, number, number, number, number];

/**
 * Warps image (bilinear) and mask (nearest) with one map from output to input pixel centres.
 * Pixels that map outside the input take 0 (image) and 0 (mask, background).
 */
function warpSample(
  sample: AugmentSample,
  h: Homography,
  rows: number,
  columns: number,
): AugmentSample {
  const { image, mask, rows: inRows, columns: inColumns } = sample;
  const outImage = new Float32Array(rows * columns);
  const outMask = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const w = h[6] * c + h[7] * r + h[8];
      const x = (h[0] * c + h[1] * r + h[2]) / w;
      const y = (h[3] * c + h[4] * r + h[5]) / w;
      const o = r * columns + c;
      const xn = Math.round(x);
      const yn = Math.round(y);
      if (xn >= 0 && xn < inColumns && yn >= 0 && yn < inRows)
        outMask[o] = mask[yn * inColumns + xn]!;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      if (x0 < -1 || y0 < -1 || x0 >= inColumns || y0 >= inRows) continue;
      const fx = x - x0;
      const fy = y - y0;
      const at = (yy: number, xx: number) =>
        yy >= 0 && yy < inRows && xx >= 0 && xx < inColumns ? image[yy * inColumns + xx]! : 0;
      outImage[o] =
        (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
        fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
    }
  }
  return { image: outImage, mask: outMask, rows, columns };
}

function checkProbability(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${op} p: expected a probability in [0, 1], got ${p}`,
    );
  }
}

/**
 * Mirrors left-right with probability `p`.
 *
 * @param p - Probability. @defaultValue 0.5
 */
export function horizontalFlip(p = 0.5): AugmentOp {
  checkProbability('horizontalFlip', p);
  return {
    name: 'hflip',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const { rows, columns } = sample;
      const image = new Float32Array(rows * columns);
      const mask = new Uint8Array(rows * columns);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          image[r * columns + c] = sample.image[r * columns + columns - 1 - c]!;
          mask[r * columns + c] = sample.mask[r * columns + columns - 1 - c]!;
        }
      }
      return { image, mask, rows, columns };
    },
  };
}

/** Ranges of {@link affine}; each value is drawn uniformly in `[-limit, limit]` (scale: `1 ± limit`). */
export interface AffineOptions {
  /** @defaultValue 0.5 */
  p?: number;
  /** Largest rotation (degrees). @defaultValue 15 */
  rotateDeg?: number;
  /** Largest relative zoom change. @defaultValue 0.1 */
  scaleLimit?: number;
  /** Largest shift as a fraction of the side. @defaultValue 0.0625 */
  translateFraction?: number;
  /** Largest shear (degrees). @defaultValue 0 */
  shearDeg?: number;
}

function invert3(m: Homography): Homography {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    A / det,
    -(b * i - c * h) / det,
    (b * f - c * e) / det,
    B / det,
    (a * i - c * g) / det,
    -(a * f - c * d) / det,
    C / det,
    -(a * h - b * g) / det,
    (a * e - b * d) / det,
  ];
}

/**
 * Rotates, scales, shifts and shears about the image centre with probability `p`.
 *
 * @param options - Ranges and probability.
 */
export function affine(options: AffineOptions = {}): AugmentOp {
  const p = options.p ?? 0.5;
  checkProbability('affine', p);
  const rotateDeg = options.rotateDeg ?? 15;
  const scaleLimit = options.scaleLimit ?? 0.1;
  const translateFraction = options.translateFraction ?? 0.0625;
  const shearDeg = options.shearDeg ?? 0;
  return {
    name: 'affine',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const angle = (random.uniform(-rotateDeg, rotateDeg) * Math.PI) / 180;
      const scale = random.uniform(1 - scaleLimit, 1 + scaleLimit);
      const shear = (random.uniform(-shearDeg, shearDeg) * Math.PI) / 180;
      const tx = random.uniform(-translateFraction, translateFraction) * sample.columns;
      const ty = random.uniform(-translateFraction, translateFraction) * sample.rows;
      const cx = (sample.columns - 1) / 2;
      const cy = (sample.rows - 1) / 2;
      // Forward map input -> output: centre, shear, rotate and scale, back to centre plus shift.
      const cos = Math.cos(angle) * scale;
      const sin = Math.sin(angle) * scale;
      const k = Math.tan(shear);
      const a = cos;
      const b = cos * k - sin;
      const d = sin;
      const e = sin * k + cos;
      const forward: Homography = [
        a,
        b,
        cx + tx - a * cx - b * cy,
        d,
        e,
        cy + ty - d * cx - e * cy,
        0,
        0,
        1,
      ];
      return warpSample(sample, invert3(forward), sample.rows, sample.columns);
    },
  };
}

// The projective map taking four source points to four destination points (DLT, 8 unknowns).
function homographyFromPoints(src: [number, number][], dst: [number, number][]): Homography {
  const a: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = src[i]!;
    const [u, v] = dst[i]!;
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gaussian elimination with partial pivoting on the 8x9 augmented system.
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++)
      if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const row = a[col]!;
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const factor = a[r]![col]! / row[col]!;
      for (let k = col; k < 9; k++) a[r]![k]! -= factor * row[k]!;
    }
  }
  const h = a.map((row, i) => row[8]! / row[i]!);
  return [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, 1];
}

/**
 * Moves each corner inward or outward by up to `scale` of the side and warps projectively, with
 * probability `p`.
 *
 * @param options - `scale` (fraction of the side, default 0.05) and `p` (default 0.5).
 */
export function perspective(options: { p?: number; scale?: number } = {}): AugmentOp {
  const p = options.p ?? 0.5;
  checkProbability('perspective', p);
  const scale = options.scale ?? 0.05;
  return {
    name: 'perspective',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const w = sample.columns - 1;
      const h = sample.rows - 1;
      const corners: [number, number][] = [
        [0, 0],
        [w, 0],
        [w, h],
        [0, h],
      ];
      const moved = corners.map(
        ([x, y]) =>
          [x + random.uniform(-scale, scale) * w, y + random.uniform(-scale, scale) * h] as [
            number,
            number,
          ],
      );
      // Output corners are the fixed frame; each maps back to a jittered input point.
      return warpSample(sample, homographyFromPoints(corners, moved), sample.rows, sample.columns);
    },
  };
}

function mapImage(sample: AugmentSample, image: Float32Array): AugmentSample {
  return { image, mask: sample.mask, rows: sample.rows, columns: sample.columns };
}

/**
 * Scales contrast about the mean by `1 + c` and adds `b` (in intensity units of a [0, 1] image),
 * with c and b drawn in `[-limit, limit]`, with probability `p`. The mask is unchanged.
 *
 * @param options - Limits (default 0.2 each) and `p` (default 0.5).
 */
export function brightnessContrast(
  options: { p?: number; brightnessLimit?: number; contrastLimit?: number } = {},
): AugmentOp {
  const p = options.p ?? 0.5;
  checkProbability('brightnessContrast', p);
  const brightnessLimit = options.brightnessLimit ?? 0.2;
  const contrastLimit = options.contrastLimit ?? 0.2;
  return {
    name: 'brightness_contrast',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const alpha = 1 + random.uniform(-contrastLimit, contrastLimit);
      const beta = random.uniform(-brightnessLimit, brightnessLimit);
      let mean = 0;
      for (const v of sample.image) mean += v;
      mean /= sample.image.length;
      const image = new Float32Array(sample.image.length);
      for (let i = 0; i < image.length; i++)
        image[i] = (sample.image[i]! - mean) * alpha + mean + beta;
      return mapImage(sample, image);
    },
  };
}

// Separable box filter with edge replication.
function boxBlur(image: Float32Array, rows: number, columns: number, radius: number): Float32Array {
  const tmp = new Float32Array(image.length);
  const out = new Float32Array(image.length);
  const n = 2 * radius + 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++)
        s += image[r * columns + Math.min(columns - 1, Math.max(0, c + k))]!;
      tmp[r * columns + c] = s / n;
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++)
        s += tmp[Math.min(rows - 1, Math.max(0, r + k)) * columns + c]!;
      out[r * columns + c] = s / n;
    }
  }
  return out;
}

/**
 * Box blur with a random odd kernel of 3 to `maxKernelPx` pixels, with probability `p`.
 *
 * @param options - `maxKernelPx` (default 5) and `p` (default 0.3).
 */
export function blur(options: { p?: number; maxKernelPx?: number } = {}): AugmentOp {
  const p = options.p ?? 0.3;
  checkProbability('blur', p);
  const maxRadius = Math.max(1, Math.floor(((options.maxKernelPx ?? 5) - 1) / 2));
  return {
    name: 'blur',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const radius = 1 + random.nextInt(maxRadius);
      return mapImage(sample, boxBlur(sample.image, sample.rows, sample.columns, radius));
    },
  };
}

/**
 * Unsharp masking: `image + alpha * (image - blur3x3(image))`, alpha drawn in `alphaRange`,
 * with probability `p`.
 *
 * @param options - `alphaRange` (default [0.2, 0.5]) and `p` (default 0.3).
 */
export function sharpen(options: { p?: number; alphaRange?: [number, number] } = {}): AugmentOp {
  const p = options.p ?? 0.3;
  checkProbability('sharpen', p);
  const [low, high] = options.alphaRange ?? [0.2, 0.5];
  return {
    name: 'sharpen',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const alpha = random.uniform(low, high);
      const blurred = boxBlur(sample.image, sample.rows, sample.columns, 1);
      const image = new Float32Array(sample.image.length);
      for (let i = 0; i < image.length; i++)
        image[i] = sample.image[i]! + alpha * (sample.image[i]! - blurred[i]!);
      return mapImage(sample, image);
    },
  };
}

/**
 * Adds Gaussian noise of standard deviation drawn in `stdRange` (intensity units), with
 * probability `p`.
 *
 * @param options - `stdRange` (default [0.01, 0.04]) and `p` (default 0.3).
 */
export function gaussianNoise(
  options: { p?: number; stdRange?: [number, number] } = {},
): AugmentOp {
  const p = options.p ?? 0.3;
  checkProbability('gaussianNoise', p);
  const [low, high] = options.stdRange ?? [0.01, 0.04];
  return {
    name: 'gauss_noise',
    apply: (sample, random) => {
      if (random.next() >= p) return sample;
      const std = random.uniform(low, high);
      const image = new Float32Array(sample.image.length);
      for (let i = 0; i < image.length; i++) image[i] = sample.image[i]! + random.normal(0, std);
      return mapImage(sample, image);
    },
  };
}

/**
 * Crops a random `rows x columns` window (always applied).
 *
 * @param rows - Output rows (px), at most the input's.
 * @param columns - Output columns (px), at most the input's.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` at apply time when the input is smaller.
 */
export function randomCrop(rows: number, columns: number): AugmentOp {
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `randomCrop: expected positive integer sizes, got ${rows}x${columns}`,
    );
  }
  return {
    name: 'random_crop',
    apply: (sample, random) => {
      if (sample.rows < rows || sample.columns < columns) {
        throw new LesionEncError(
          'SHAPE_MISMATCH',
          `randomCrop: expected an input of at least ${rows}x${columns} px, got ${sample.rows}x${sample.columns}`,
        );
      }
      const top = random.nextInt(sample.rows - rows + 1);
      const left = random.nextInt(sample.columns - columns + 1);
      const image = new Float32Array(rows * columns);
      const mask = new Uint8Array(rows * columns);
      for (let r = 0; r < rows; r++) {
        const from = (top + r) * sample.columns + left;
        image.set(sample.image.subarray(from, from + columns), r * columns);
        mask.set(sample.mask.subarray(from, from + columns), r * columns);
      }
      return { image, mask, rows, columns };
    },
  };
}

/**
 * The recipe used to train the default model: flip, affine, perspective, brightness/contrast,
 * blur or sharpen, noise, then a random crop to the network input.
 *
 * @param cropPx - Rows and columns of the network input.
 * @param seed - Pipeline seed.
 * @returns The pipeline.
 */
export function createDefaultAugmentation(
  cropPx: readonly [number, number],
  seed: number,
): Augmentation {
  return composeAugmentations(
    [
      horizontalFlip(0.5),
      affine({ p: 0.7, rotateDeg: 15, scaleLimit: 0.15, translateFraction: 0.0625, shearDeg: 5 }),
      perspective({ p: 0.3, scale: 0.05 }),
      brightnessContrast({ p: 0.5 }),
      blur({ p: 0.15 }),
      sharpen({ p: 0.15 }),
      gaussianNoise({ p: 0.2 }),
      randomCrop(cropPx[0], cropPx[1]),
    ],
    seed,
  );
}
