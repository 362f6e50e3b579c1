import { describe, expect, it } from 'vitest';

import { isLesionEncError } from '@lesionenc/base';

import { WINDOW_PRESETS, adjustGamma, applyWindow, normalizeIntensity } from './window';

// float32 results of simple arithmetic on values of order 1.
const FLOAT_TOLERANCE = 1e-6;

function expectCode(run: () => unknown, code: string) {
  try {
    run();
    expect.unreachable();
  } catch (error) {
    expect(isLesionEncError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
  }
}

describe('applyWindow', () => {
  const hu = Int16Array.from([-2000, -1350, -600, 150, 1000, -125, 50, 225]);

  it('maps the lung window -1350..150 HU to 0..1 and clips outside it', () => {
    const out = applyWindow(hu, 'lung');
    expect(Array.from(out.subarray(0, 5))).toEqual([0, 0, 0.5, 1, 1]);
  });

  it('maps the mediastinal window to 0..255 in 8 bits', () => {
    const out = applyWindow(hu, 'mediastinal', { output: 'uint8' });
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Array.from(out.subarray(5))).toEqual([0, 128, 255]);
    expect(out[0]).toBe(0);
    expect(out[4]).toBe(255);
  });

  it('accepts a custom window and a 16-bit output', () => {
    const out = applyWindow([0, 50, 100], { widthHu: 100, centerHu: 50 }, { output: 'uint16' });
    expect(Array.from(out)).toEqual([0, 32768, 65535]);
    expect(WINDOW_PRESETS.lung).toEqual({ widthHu: 1500, centerHu: -600 });
  });

  it('rejects an unknown preset and a non-positive width', () => {
    expectCode(() => applyWindow(hu, 'bone' as never), 'INVALID_ARGUMENT');
    expectCode(() => applyWindow(hu, { widthHu: 0, centerHu: 0 }), 'INVALID_ARGUMENT');
  });
});

describe('normalizeIntensity', () => {
  it('scales to [0, 1] by min and max, over a mask when given', () => {
    const out = normalizeIntensity([10, 20, 30, 1000], { mask: Uint8Array.from([1, 1, 1, 0]) });
    expect(Array.from(out.subarray(0, 3))).toEqual([0, 0.5, 1]);
    expect(out[3]).toBeCloseTo(49.5, 4);
  });

  it('gives zero mean and unit deviation for zscore', () => {
    const values = Array.from({ length: 100 }, (_, i) => Math.sin(i) * 300 - 500);
    const out = normalizeIntensity(values, { method: 'zscore' });
    const mean = out.reduce((s, v) => s + v, 0) / out.length;
    const variance = out.reduce((s, v) => s + (v - mean) ** 2, 0) / out.length;
    expect(Math.abs(mean)).toBeLessThan(FLOAT_TOLERANCE * 10);
    expect(Math.abs(variance - 1)).toBeLessThan(1e-5);
  });

  it('maps a constant input to zeros, never NaN', () => {
    expect(Array.from(normalizeIntensity([5, 5, 5]))).toEqual([0, 0, 0]);
    expect(Array.from(normalizeIntensity([5, 5], { method: 'zscore' }))).toEqual([0, 0]);
  });

  it('clips to a fixed range', () => {
    const out = normalizeIntensity([-2000, -1024, -212, 600, 900], {
      method: 'range',
      rangeMin: -1024,
      rangeMax: 600,
    });
    expect(Array.from(out)).toEqual([0, 0, 0.5, 1, 1]);
    expectCode(
      () => normalizeIntensity([1], { method: 'range', rangeMin: 1, rangeMax: 1 }),
      'INVALID_ARGUMENT',
    );
  });
});

describe('adjustGamma', () => {
  it('raises [0, 1] intensities to the power gamma', () => {
    const out = adjustGamma(Float32Array.from([0, 0.25, 1]), 0.5);
    expect(Math.abs(out[1]! - 0.5)).toBeLessThan(FLOAT_TOLERANCE);
    expect(out[2]).toBe(1);
  });

  it('uses a lookup table on 8-bit images', () => {
    const out = adjustGamma(Uint8Array.from([0, 64, 255]), 2);
    expect(Array.from(out)).toEqual([0, Math.round(255 * (64 / 255) ** 2), 255]);
  });

  it('rejects gamma <= 0 and negative intensities', () => {
    expectCode(() => adjustGamma(new Float32Array(2), 0), 'INVALID_ARGUMENT');
    expectCode(() => adjustGamma(Float32Array.from([-0.1]), 1), 'INVALID_ARGUMENT');
  });
});
