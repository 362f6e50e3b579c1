// Turns the noise-free HU volume into a reconstruction: slice profile, kernel blur or sharpening, correlated noise.
import type { Random } from '@lesionenc/base';

import type { ReconstructionKernel } from '../config';

/** Shape and voxel size of the volume being reconstructed. */
export interface ReconstructGrid {
  readonly slices: number;
  readonly rows: number;
  readonly columns: number;
  readonly pixelMm: number;
  readonly sliceSpacingMm: number;
}

/** Blur of one detector pixel's width (a box of one pixel has this standard deviation), px. */
const PIXEL_INTEGRATION_SIGMA_PX = 0.35;
/** Stored HU range of CT (12-bit with the usual -1024 offset). */
const MIN_STORED_HU = -1024;
const MAX_STORED_HU = 3071;

/** A normalised, symmetric Gaussian kernel of standard deviation `sigma` samples. */
export function gaussianKernel(sigma: number): Float32Array {
  if (!(sigma > 0.05)) return Float32Array.of(1);
  const radius = Math.max(1, Math.ceil(2.5 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let t = -radius; t <= radius; t++) {
    const w = Math.exp((-0.5 * t * t) / (sigma * sigma));
    kernel[t + radius] = w;
    sum += w;
  }
  for (let t = 0; t < kernel.length; t++) kernel[t] = (kernel[t] as number) / sum;
  return kernel;
}

/**
 * Convolves a `[slices, rows, columns]` volume along one axis with a symmetric kernel, edges
 * clamped. Writes into `out` (which must not be `input`).
 */
export function convolveAxis(
  input: Float32Array,
  out: Float32Array,
  grid: Pick<ReconstructGrid, 'slices' | 'rows' | 'columns'>,
  axis: 0 | 1 | 2,
  kernel: Float32Array,
): void {
  const { slices, rows, columns } = grid;
  const radius = (kernel.length - 1) / 2;
  if (radius === 0) {
    out.set(input);
    return;
  }
  if (axis === 2) {
    for (let line = 0; line < slices * rows; line++) {
      const base = line * columns;
      for (let j = 0; j < columns; j++) {
        let acc = 0;
        if (j >= radius && j < columns - radius) {
          const first = base + j - radius;
          for (let t = 0; t < kernel.length; t++) {
            acc += (kernel[t] as number) * (input[first + t] as number);
          }
        } else {
          for (let t = -radius; t <= radius; t++) {
            let jj = j + t;
            jj = jj < 0 ? 0 : jj >= columns ? columns - 1 : jj;
            acc += (kernel[t + radius] as number) * (input[base + jj] as number);
          }
        }
        out[base + j] = acc;
      }
    }
    return;
  }
  // Rows or slices: accumulate whole contiguous lines, so the inner loop runs along memory.
  const count = axis === 1 ? rows : slices;
  const stride = axis === 1 ? columns : rows * columns;
  const outer = axis === 1 ? slices : 1;
  const lineLength = axis === 1 ? columns : rows * columns;
  for (let o = 0; o < outer; o++) {
    const block = o * rows * columns;
    for (let a = 0; a < count; a++) {
      const target = block + a * stride;
      out.fill(0, target, target + lineLength);
      for (let t = -radius; t <= radius; t++) {
        let aa = a + t;
        aa = aa < 0 ? 0 : aa >= count ? count - 1 : aa;
        const source = block + aa * stride;
        const w = kernel[t + radius] as number;
        for (let q = 0; q < lineLength; q++) {
          out[target + q] = (out[target + q] as number) + w * (input[source + q] as number);
        }
      }
    }
  }
}

/**
 * Reconstructs: the slice profile (a thickness above the spacing blurs along z), then noise,
 * then the kernel's in-plane blur and edge enhancement. Noise goes in before the kernel, as in
 * filtered back-projection, so the kernel shapes it: the sharp kernel's noise is fine-grained,
 * the smooth kernel's blotchy. Its level is scaled so the final standard deviation is the
 * kernel's `noiseHu` times `noiseScale`.
 *
 * @returns HU rounded and clamped to the stored range.
 */
export function reconstruct(
  ideal: Float32Array,
  grid: ReconstructGrid,
  kernel: ReconstructionKernel,
  sliceThicknessMm: number,
  noiseScale: number,
  random: Random,
): Int16Array {
  const n = ideal.length;
  const a = new Float32Array(n);
  const b = new Float32Array(n);

  // Slice profile: a Gaussian of the thickness beyond the spacing (FWHM -> sigma).
  const extraMm = Math.sqrt(Math.max(0, sliceThicknessMm ** 2 - grid.sliceSpacingMm ** 2));
  const zKernel = gaussianKernel(extraMm / 2.355 / grid.sliceSpacingMm);
  convolveAxis(ideal, a, grid, 0, zKernel);

  const psfPx = Math.hypot(kernel.psfSigmaMm / grid.pixelMm, PIXEL_INTEGRATION_SIGMA_PX);
  const xyKernel = gaussianKernel(psfPx);
  const noiseHu = kernel.noiseHu * noiseScale;
  if (noiseHu > 0) {
    const gain = noiseHu / kernelNoiseGain(xyKernel, kernel.sharpening);
    addWhiteNoise(a, gain, random.nextInt(2 ** 32 - 1) + 1);
  }

  // In-plane point spread, then the sharp kernel's edge enhancement (an unsharp Laplacian).
  convolveAxis(a, b, grid, 1, xyKernel);
  convolveAxis(b, a, grid, 2, xyKernel);
  if (kernel.sharpening > 0) sharpenSlices(a, b, grid, kernel.sharpening);
  const image = kernel.sharpening > 0 ? b : a;

  const out = new Int16Array(n);
  for (let v = 0; v < n; v++) {
    const x = Math.round(image[v] as number);
    out[v] = x < MIN_STORED_HU ? MIN_STORED_HU : x > MAX_STORED_HU ? MAX_STORED_HU : x;
  }
  return out;
}

/** `out = s - weight * laplacian(s)` per slice (4-neighbour stencil, edges clamped). */
function sharpenSlices(
  input: Float32Array,
  out: Float32Array,
  grid: Pick<ReconstructGrid, 'slices' | 'rows' | 'columns'>,
  weight: number,
): void {
  const { slices, rows, columns } = grid;
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < rows; i++) {
      const row = (k * rows + i) * columns;
      const up = i > 0 ? row - columns : row;
      const down = i < rows - 1 ? row + columns : row;
      for (let j = 0; j < columns; j++) {
        const c = input[row + j] as number;
        const left = input[row + (j > 0 ? j - 1 : j)] as number;
        const right = input[row + (j < columns - 1 ? j + 1 : j)] as number;
        const lap = left + right + (input[up + j] as number) + (input[down + j] as number) - 4 * c;
        out[row + j] = c - weight * lap;
      }
    }
  }
}

/** Standard deviation that unit white noise has after the in-plane kernel, found on a small image. */
function kernelNoiseGain(xyKernel: Float32Array, sharpening: number): number {
  const size = 2 * xyKernel.length + 5;
  const grid = { slices: 1, rows: size, columns: size };
  const impulse = new Float32Array(size * size);
  impulse[(size >> 1) * size + (size >> 1)] = 1;
  const a = new Float32Array(impulse.length);
  const b = new Float32Array(impulse.length);
  convolveAxis(impulse, a, grid, 1, xyKernel);
  convolveAxis(a, b, grid, 2, xyKernel);
  let response = b;
  if (sharpening > 0) {
    sharpenSlices(b, a, grid, sharpening);
    response = a;
  }
  let energy = 0;
  for (let v = 0; v < response.length; v++) energy += (response[v] as number) ** 2;
  return Math.sqrt(energy);
}

/**
 * Adds zero-mean noise of standard deviation `gain`: the sum of four uniforms from an inline xorshift
 * (Irwin-Hall, close to normal; the correlation filter that follows makes it closer still).
 * The generator is seeded from the phantom's seeded stream, so the noise is reproducible.
 */
function addWhiteNoise(out: Float32Array, gain: number, seed: number): void {
  let s = seed >>> 0 || 1;
  const scale = (gain * Math.sqrt(3)) / 2 ** 32;
  for (let v = 0; v < out.length; v++) {
    let sum = 0;
    for (let q = 0; q < 4; q++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      sum += s;
    }
    // Four uniforms on [0, 2^32) have mean 2^33 and variance 4 * 2^64 / 12.
    out[v] = (out[v] as number) + (sum - 2 ** 33) * scale;
  }
}
