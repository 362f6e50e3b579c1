// Drawing a slice: the lung window, outlines on the voxels' edges, fills with the opacity asked for.
import { describe, expect, it } from 'vitest';

import { LUNG_COLORS, busiestSlice, renderGrey, renderOverlay } from '../src/render';

const GGO: readonly [number, number, number] = [240, 228, 66];

// A 4x4 slice: a 2x2 right lung in the middle, one voxel of it ground-glass.
function slice() {
  const lungs = new Uint8Array(16);
  const lesions = new Uint8Array(16);
  for (const n of [5, 6, 9, 10]) lungs[n] = 1;
  lesions[10] = 1;
  return { rows: 4, columns: 4, ct: new Float32Array(16).fill(-600), lungs, lesions };
}

const options = {
  showLungs: true,
  showLesions: true,
  opacity: 0.5,
  lesionColors: new Map([[1, GGO]]),
};

// RGBA of display pixel (x, y).
const at = (pixels: Uint8ClampedArray, width: number, x: number, y: number) =>
  Array.from(pixels.subarray((y * width + x) * 4, (y * width + x) * 4 + 4));

describe('slice rendering', () => {
  it('maps the lung window to grey levels', () => {
    const grey = renderGrey({ ...slice(), ct: Float32Array.from([-1350, -600, 150, 2000]) });
    expect([grey[0], grey[4], grey[8], grey[12]]).toEqual([0, 128, 255, 255]);
    expect(grey[3]).toBe(255);
  });

  it('outlines the lung on its edge, fills inside it, and draws lesions over the fill', () => {
    // 8x8 display pixels: each voxel covers 2x2.
    const pixels = renderOverlay(slice(), 8, 8, options);
    const lung = LUNG_COLORS[1]!;
    // Voxel (1, 1) spans display pixels 2-3: its outer pixels lie on the lung's edge.
    expect(at(pixels, 8, 2, 2)).toEqual([...lung, 128]);
    // Voxel (2, 2), the lesion: the pixel at (5, 5) is on the lung's outer edge, (4, 4) inside.
    expect(at(pixels, 8, 5, 5)).toEqual([...lung, 128]);
    expect(at(pixels, 8, 4, 4)).toEqual([...GGO, 128]);
    // Outside the lung nothing is drawn.
    expect(at(pixels, 8, 0, 0)).toEqual([0, 0, 0, 0]);
  });

  it('fills the lung faintly where there is no lesion, and hides what is switched off', () => {
    const fill = renderOverlay(slice(), 8, 8, { ...options, opacity: 1 });
    // Pixel (3, 3) is inside the lung, away from its edge, on voxel (1, 1) which has no lesion.
    expect(at(fill, 8, 3, 3)).toEqual([...LUNG_COLORS[1]!, Uint8ClampedArray.of(0.3 * 255)[0]]);
    const lesionsOnly = renderOverlay(slice(), 8, 8, { ...options, showLungs: false });
    expect(at(lesionsOnly, 8, 5, 5)).toEqual([...GGO, 128]);
    expect(at(lesionsOnly, 8, 2, 2)).toEqual([0, 0, 0, 0]);
    const none = renderOverlay(slice(), 8, 8, { ...options, opacity: 0 });
    expect(none.some((v) => v !== 0)).toBe(false);
  });

  it('opens on the slice with the most lesion voxels, else the middle one', () => {
    const lesions = new Uint8Array(4 * 5);
    lesions.fill(1, 4, 6); // slice 1: two voxels
    lesions.fill(2, 12, 15); // slice 3: three voxels
    expect(busiestSlice(lesions, 5)).toBe(3);
    expect(busiestSlice(new Uint8Array(20), 5)).toBe(2);
  });
});
