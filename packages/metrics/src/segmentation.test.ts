// Dice, IoU, volumes and percentile Hausdorff against numpy/scipy fixtures, and aggregation rules.
import { createGeometry, createLabelMap, isLesionEncError, LESION_CLASSES } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { type SegmentationFixture, loadFixtures } from './internal/fixtures';
import { type SegmentationPair, evaluateSegmentation, hausdorffDistanceMm } from './segmentation';

/** Agreement with scipy's exact EDT through numpy.percentile (mm). */
const HAUSDORFF_MM_TOLERANCE = 1e-9;
/** Ratios of integer counts. */
const RATIO_TOLERANCE = 1e-15;

const fixtures = loadFixtures();

function pairOf(c: SegmentationFixture): SegmentationPair {
  const three = c.shape.length === 2 ? [1, ...c.shape] : c.shape;
  const spacing = c.spacing_mm.length === 2 ? [1, ...c.spacing_mm] : c.spacing_mm;
  const geometry = createGeometry({ shape: three, spacingMm: spacing });
  const decode = (s: string) => Uint8Array.from(s, (ch) => Number(ch));
  return {
    id: c.name,
    reference: { data: decode(c.reference), geometry },
    prediction: { data: decode(c.prediction), geometry },
  };
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

describe('evaluateSegmentation against numpy and scipy', () => {
  for (const c of fixtures.segmentation) {
    it(`${c.name}: per-class Dice, IoU and HD95 (pooled)`, () => {
      const report = evaluateSegmentation([pairOf(c)], { classes: [1, 2, 3] });
      const image = report.perImage[0];
      if (image === undefined) throw new Error('no image');
      image.classes.forEach((ours, k) => {
        const ref = c.classes[k];
        if (ref === undefined) throw new Error('fixture class missing');
        expect(ours.value).toBe(ref.value);
        expect(ours.intersectionVoxels).toBe(ref.intersection);
        expect(ours.referenceVoxels).toBe(ref.reference_voxels);
        expect(ours.predictedVoxels).toBe(ref.predicted_voxels);
        if (ref.dice === null) expect(ours.dice).toBeNull();
        else
          expect(Math.abs((ours.dice as number) - ref.dice)).toBeLessThanOrEqual(RATIO_TOLERANCE);
        if (ref.iou === null) expect(ours.iou).toBeNull();
        else expect(Math.abs((ours.iou as number) - ref.iou)).toBeLessThanOrEqual(RATIO_TOLERANCE);
        if (ref.hd95_pooled === null) expect(ours.hausdorffMm).toBeNull();
        else
          expect(Math.abs((ours.hausdorffMm as number) - ref.hd95_pooled)).toBeLessThanOrEqual(
            HAUSDORFF_MM_TOLERANCE,
          );
      });
    });

    it(`${c.name}: max-directed HD95 and the classic Hausdorff distance`, () => {
      const pair = pairOf(c);
      for (const ref of c.classes) {
        if (ref.hd95_max_directed === null || ref.hd100 === null) continue;
        const mask = (data: Uint8Array) => Uint8Array.from(data, (v) => (v === ref.value ? 1 : 0));
        const r = mask(pair.reference.data);
        const p = mask(pair.prediction.data);
        const directed = hausdorffDistanceMm(r, p, pair.reference.geometry, {
          hausdorffMode: 'max-directed',
        });
        const classic = hausdorffDistanceMm(r, p, pair.reference.geometry, {
          hausdorffPercentile: 100,
        });
        expect(Math.abs((directed as number) - ref.hd95_max_directed)).toBeLessThanOrEqual(
          HAUSDORFF_MM_TOLERANCE,
        );
        expect(Math.abs((classic as number) - ref.hd100)).toBeLessThanOrEqual(
          HAUSDORFF_MM_TOLERANCE,
        );
      }
    });
  }

  it('aggregates: mean over images whose reference has the class, and global pooled scores', () => {
    const pairs = fixtures.segmentation.filter((c) => c.shape.length === 3).map(pairOf);
    const report = evaluateSegmentation(pairs, { classes: [1, 2, 3] });
    for (const [k, agg] of report.aggregate.entries()) {
      const per = report.perImage.map((im) => im.classes[k]);
      const present = per.filter((s) => s !== undefined && s.referenceVoxels > 0);
      expect(agg.imagesWithClass).toBe(present.length);
      const meanDice = present.reduce((s, x) => s + (x?.dice as number), 0) / present.length;
      if (present.length > 0) expect(agg.meanDice).toBeCloseTo(meanDice, 14);
      const inter = per.reduce((s, x) => s + (x?.intersectionVoxels ?? 0), 0);
      const total = per.reduce(
        (s, x) => s + (x?.referenceVoxels ?? 0) + (x?.predictedVoxels ?? 0),
        0,
      );
      if (total > 0) expect(agg.globalDice).toBeCloseTo((2 * inter) / total, 14);
    }
  });

  it('volumes use the spacing: ml = voxels x mm³ / 1000', () => {
    const c = fixtures.segmentation[0];
    if (c === undefined) throw new Error('fixture missing');
    const pair = pairOf(c);
    const voxelMl =
      ((c.spacing_mm[0] as number) * (c.spacing_mm[1] as number) * (c.spacing_mm[2] as number)) /
      1000;
    const overlap = evaluateSegmentation([pair], { classes: [1] }).perImage[0]?.classes[0];
    expect(overlap?.referenceVolumeMl).toBeCloseTo(
      (c.classes[0]?.reference_voxels as number) * voxelMl,
      12,
    );
    expect(overlap?.volumeDifferenceMl).toBeCloseTo(
      ((c.classes[0]?.predicted_voxels as number) - (c.classes[0]?.reference_voxels as number)) *
        voxelMl,
      12,
    );
  });

  it('identical masks score Dice 1 and Hausdorff 0; a shifted cube is one voxel off along the shift', () => {
    const geometry = createGeometry({ shape: [8, 10, 10], spacingMm: [3, 0.5, 0.5] });
    const cube = new Uint8Array(800);
    const shifted = new Uint8Array(800);
    for (let k = 2; k < 6; k++) {
      for (let i = 3; i < 7; i++) {
        for (let j = 3; j < 7; j++) {
          cube[(k * 10 + i) * 10 + j] = 1;
          shifted[((k + 1) * 10 + i) * 10 + j] = 1;
        }
      }
    }
    expect(hausdorffDistanceMm(cube, cube, geometry)).toBe(0);
    expect(hausdorffDistanceMm(cube, shifted, geometry, { hausdorffPercentile: 100 })).toBeCloseTo(
      3,
      12,
    );
    const same = evaluateSegmentation([
      { reference: { data: cube, geometry }, prediction: { data: cube, geometry } },
    ]);
    expect(same.perImage[0]?.classes[0]?.dice).toBe(1);
  });

  it('takes class names and values from a LabelMap', () => {
    const geometry = createGeometry({ shape: [2, 4, 4] });
    const data = new Uint8Array(32);
    data[3] = 1;
    data[20] = 2;
    const map = createLabelMap(data, geometry, LESION_CLASSES);
    const report = evaluateSegmentation([{ reference: map, prediction: map }]);
    expect(report.aggregate.map((a) => a.value)).toEqual(
      LESION_CLASSES.map((c) => c.value).filter((v) => v !== 0),
    );
    expect(report.aggregate[0]?.name).toBe(LESION_CLASSES.find((c) => c.value === 1)?.name);
    // A class that appears in no image has no mean and no global score, never NaN.
    const absent = report.aggregate.find((a) => a.imagesWithClass === 0);
    expect(absent?.meanDice).toBeNull();
    expect(absent?.globalDice).toBeNull();
  });

  it('rejects a prediction on another grid, no images and bad options', () => {
    const a = createGeometry({ shape: [2, 4, 4] });
    const b = createGeometry({ shape: [2, 4, 4], spacingMm: [2, 1, 1] });
    const data = new Uint8Array(32);
    expect(
      codeOf(() =>
        evaluateSegmentation([
          { reference: { data, geometry: a }, prediction: { data, geometry: b } },
        ]),
      ),
    ).toBe('SHAPE_MISMATCH');
    expect(
      codeOf(() =>
        evaluateSegmentation([
          {
            reference: { data, geometry: a },
            prediction: { data: new Uint8Array(31), geometry: a },
          },
        ]),
      ),
    ).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => evaluateSegmentation([]))).toBe('DEGENERATE_INPUT');
    expect(codeOf(() => hausdorffDistanceMm(data, data, a, { hausdorffPercentile: 101 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(hausdorffDistanceMm(data, data, a)).toBeNull();
  });
});
