// Bringing a feature sequence to another slice spacing, so that scans reconstructed at 2.5 mm
// and at 5 mm give sequences of the same length for the same stretch of body.
import { assert } from '@lesionenc/base';

/** A sequence at its new spacing. */
export interface ResampledSequence {
  /** `[steps, featureSize]` row-major. */
  features: Float32Array;
  steps: number;
}

/**
 * Resamples a `[steps, featureSize]` sequence from one slice spacing to another along the slice
 * axis. Coarser targets average the source steps each output step covers, weighted by overlap
 * (a box filter, so no slice is skipped); finer targets interpolate linearly between neighbours.
 * The output holds `max(1, round(steps * from / to))` steps; equal spacings return a copy.
 *
 * @param features - `[steps, featureSize]` row-major.
 * @param steps - Number of steps (slices).
 * @param fromSpacingMm - Spacing of the input slices.
 * @param toSpacingMm - Spacing wanted.
 * @returns The resampled sequence.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a non-positive spacing, a length that is
 *   not `steps` times a whole feature size, or no steps.
 */
export function resampleSequence(
  features: ArrayLike<number>,
  steps: number,
  fromSpacingMm: number,
  toSpacingMm: number,
): ResampledSequence {
  assert(
    Number.isFinite(fromSpacingMm) && fromSpacingMm > 0,
    'INVALID_ARGUMENT',
    () => `resample sequence: expected a positive source spacing in mm, got ${fromSpacingMm}`,
  );
  assert(
    Number.isFinite(toSpacingMm) && toSpacingMm > 0,
    'INVALID_ARGUMENT',
    () => `resample sequence: expected a positive target spacing in mm, got ${toSpacingMm}`,
  );
  assert(
    Number.isInteger(steps) && steps >= 1 && features.length % steps === 0,
    'INVALID_ARGUMENT',
    () =>
      `resample sequence: expected at least one step and ${steps} whole rows, got ` +
      `${features.length} values`,
  );
  const size = features.length / steps;
  const ratio = toSpacingMm / fromSpacingMm;
  const outSteps = Math.max(1, Math.round(steps / ratio));
  const out = new Float32Array(outSteps * size);
  if (Math.abs(ratio - 1) < 1e-9) {
    for (let i = 0; i < out.length; i++) out[i] = features[i]!;
    return { features: out, steps };
  }
  // Output step j covers the source interval [j, j + 1) * scale, in source steps.
  const scale = steps / outSteps;
  if (scale >= 1) {
    for (let j = 0; j < outSteps; j++) {
      const start = j * scale;
      const end = Math.min(steps, (j + 1) * scale);
      let total = 0;
      for (let k = Math.floor(start); k < end; k++) {
        const weight = Math.min(end, k + 1) - Math.max(start, k);
        if (weight <= 0) continue;
        total += weight;
        for (let c = 0; c < size; c++) out[j * size + c]! += weight * features[k * size + c]!;
      }
      for (let c = 0; c < size; c++) out[j * size + c]! /= total;
    }
  } else {
    for (let j = 0; j < outSteps; j++) {
      // Centre of output step j in source-step coordinates (step k's centre is k + 0.5).
      const at = Math.min(steps - 1, Math.max(0, (j + 0.5) * scale - 0.5));
      const k = Math.floor(at);
      const next = Math.min(steps - 1, k + 1);
      const t = at - k;
      for (let c = 0; c < size; c++) {
        out[j * size + c] = (1 - t) * features[k * size + c]! + t * features[next * size + c]!;
      }
    }
  }
  return { features: out, steps: outSteps };
}
