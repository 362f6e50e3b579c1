// Tests of the chest phantom: determinism, tissue HU ranges, masks against voxels, truth, geometry.
import { describe, expect, it } from 'vitest';

import { isLesionEncError, voxelToWorldMm } from '@lesionenc/base';

import { DISEASE_PRESETS, RECONSTRUCTION_KERNELS } from './config';
import { type ChestPhantom, createChestPhantom, reconstructChestPhantom } from './phantom';
import { TISSUE, TISSUE_HU, type TissueName } from './tissues';

const SMALL = { matrix: 128, slices: 64 } as const;
/** Share of a tissue's noise-free voxels that must lie in its documented range. */
const IN_RANGE_SHARE = 0.9;
/** Fewest interior voxels for a class to be checked on the reconstructed volume. */
const MIN_INTERIOR_VOXELS = 50;
/** Relative tolerance of the measured noise level against the kernel's. */
const NOISE_TOLERANCE = 0.2;
/** Volumes are sums of voxels; they may differ from the recount by rounding only, ml. */
const VOLUME_TOLERANCE_ML = 1e-6;

const mild = createChestPhantom({ ...SMALL, seed: 1 });
const severe = createChestPhantom({ ...SMALL, seed: 2, disease: DISEASE_PRESETS.severe });
const effusion = createChestPhantom({ ...SMALL, seed: 3, disease: DISEASE_PRESETS.effusion });
const mediastinal = createChestPhantom({
  ...SMALL,
  seed: 2,
  disease: DISEASE_PRESETS.severe,
  reconstruction: 'mediastinal',
});
const phantoms = { mild, severe, effusion } as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Voxels whose 4 in-plane neighbours (at `reach` voxels) have the same tissue. */
function interiorVoxels(phantom: ChestPhantom, tissue: number, reach: number): number[] {
  const [slices, rows, columns] = phantom.volume.geometry.shape;
  const t = phantom.tissues.data;
  const out: number[] = [];
  for (let k = 0; k < slices; k++) {
    for (let i = reach; i < rows - reach; i++) {
      for (let j = reach; j < columns - reach; j++) {
        const v = (k * rows + i) * columns + j;
        if (
          t[v] === tissue &&
          t[v - reach] === tissue &&
          t[v + reach] === tissue &&
          t[v - reach * columns] === tissue &&
          t[v + reach * columns] === tissue
        ) {
          out.push(v);
        }
      }
    }
  }
  return out;
}

describe('createChestPhantom', () => {
  it('is deterministic from the seed, and the seed matters', () => {
    const again = createChestPhantom({ ...SMALL, seed: 1 });
    expect(Buffer.from(again.volume.data.buffer).equals(Buffer.from(mild.volume.data.buffer))).toBe(
      true,
    );
    expect(Buffer.from(again.lesions.data).equals(Buffer.from(mild.lesions.data))).toBe(true);
    expect(Buffer.from(again.lungs.data).equals(Buffer.from(mild.lungs.data))).toBe(true);
    const other = createChestPhantom({ ...SMALL, seed: 9 });
    expect(Buffer.from(other.lesions.data).equals(Buffer.from(mild.lesions.data))).toBe(false);
  });

  it('keeps the anatomy when only the noise seed changes', () => {
    const renoised = createChestPhantom({ ...SMALL, seed: 1, noiseSeed: 77 });
    expect(Buffer.from(renoised.tissues.data).equals(Buffer.from(mild.tissues.data))).toBe(true);
    expect(
      Buffer.from(renoised.volume.data.buffer).equals(Buffer.from(mild.volume.data.buffer)),
    ).toBe(false);
  });

  it('has LPS geometry with the right lung on the patient right (-x, low columns)', () => {
    const g = mild.volume.geometry;
    expect(g.shape).toEqual([64, 128, 128]);
    expect(g.spacingMm[0]).toBeCloseTo(320 / 64, 9);
    expect(g.spacingMm[1]).toBeCloseTo(360 / 128, 9);
    const [, rows, columns] = g.shape;
    const sumX = [0, 0, 0];
    const count = [0, 0, 0];
    mild.lungs.data.forEach((label, v) => {
      if (label === 0) return;
      const j = v % columns;
      const i = Math.floor(v / columns) % rows;
      const k = Math.floor(v / (rows * columns));
      sumX[label] = (sumX[label] as number) + (voxelToWorldMm(g, [k, i, j])[0] as number);
      count[label] = (count[label] as number) + 1;
    });
    expect((sumX[1] as number) / (count[1] as number)).toBeLessThan(-40);
    expect((sumX[2] as number) / (count[2] as number)).toBeGreaterThan(40);
  });

  it.each(Object.entries(phantoms))(
    'draws every tissue of the %s case within its documented HU range',
    (_name, phantom) => {
      const byTissue = new Map<number, number[]>();
      phantom.tissues.data.forEach((t, v) => {
        let list = byTissue.get(t);
        if (list === undefined) byTissue.set(t, (list = []));
        list.push(phantom.ideal.data[v] as number);
      });
      for (const name of Object.keys(TISSUE) as TissueName[]) {
        const values = byTissue.get(TISSUE[name]);
        if (values === undefined) continue;
        const { minHu, maxHu } = TISSUE_HU[name];
        const inside = values.filter((x) => x >= minHu && x <= maxHu).length;
        expect(inside / values.length, name).toBeGreaterThanOrEqual(IN_RANGE_SHARE);
        const m = median(values);
        expect(m, name).toBeGreaterThanOrEqual(minHu);
        expect(m, name).toBeLessThanOrEqual(maxHu);
      }
    },
  );

  it('draws every documented tissue class in at least one of the cases above', () => {
    const drawn = new Set<number>();
    for (const phantom of Object.values(phantoms)) {
      phantom.tissues.data.forEach((t) => drawn.add(t));
    }
    const missing = (Object.keys(TISSUE) as TissueName[]).filter((n) => !drawn.has(TISSUE[n]));
    expect(missing).toEqual([]);
    const documented = new Set<number>(Object.values(TISSUE));
    expect([...drawn].filter((t) => !documented.has(t))).toEqual([]);
  });

  it('reconstructs the interior of every tissue at its documented HU (mediastinal kernel)', () => {
    let checked = 0;
    for (const name of Object.keys(TISSUE) as TissueName[]) {
      const voxels = interiorVoxels(mediastinal, TISSUE[name], 2);
      if (voxels.length < MIN_INTERIOR_VOXELS) continue;
      checked++;
      const m = median(voxels.map((v) => mediastinal.volume.data[v] as number));
      const { minHu, maxHu } = TISSUE_HU[name];
      expect(m, name).toBeGreaterThanOrEqual(minHu);
      expect(m, name).toBeLessThanOrEqual(maxHu);
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it.each([
    ['lung', 45],
    ['mediastinal', 12],
  ] as const)('gives the %s kernel its noise level (about %i HU)', (reconstruction, noiseHu) => {
    expect(RECONSTRUCTION_KERNELS[reconstruction].noiseHu).toBe(noiseHu);
    const volume = reconstructChestPhantom(mild, reconstruction, { noiseSeed: 5 });
    const voxels = interiorVoxels(mild, TISSUE.abdomen, 4);
    expect(voxels.length).toBeGreaterThan(1000);
    const values = voxels.map((v) => volume.data[v] as number);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    expect(Math.abs(sd - noiseHu) / noiseHu).toBeLessThan(NOISE_TOLERANCE);
  });

  it.each(Object.entries(phantoms))('has masks that agree with the voxels (%s)', (_n, phantom) => {
    const { lungs, lesions, tissues } = phantom;
    const volume = reconstructChestPhantom(phantom, 'mediastinal', { noiseSeed: 8 });
    const columns = volume.geometry.shape[2];
    const lungTissues = new Set<number>([
      TISSUE.lung,
      TISSUE.pulmonaryVessel,
      TISSUE.airway,
      TISSUE.airwayWall,
      TISSUE.groundGlass,
      TISSUE.consolidation,
    ]);
    const throughLesion = new Set<number>([
      TISSUE.pulmonaryVessel,
      TISSUE.airway,
      TISSUE.airwayWall,
    ]);
    const hu: number[][] = [[], [], [], []];
    const violations = new Map<string, number>();
    const fail = (what: string) => violations.set(what, (violations.get(what) ?? 0) + 1);
    for (let v = 0; v < lungs.data.length; v++) {
      const lung = lungs.data[v] as number;
      const lesion = lesions.data[v] as number;
      const tissue = tissues.data[v] as number;
      // Lung labels: only lung tissues, right lung at low columns; lesions 1-2 inside the lungs.
      if (lung !== 0) {
        if (!lungTissues.has(tissue)) fail('lung label on a non-lung tissue');
        if ((lung === 1) !== v % columns < columns / 2) fail('lung side');
      } else if (
        tissue === TISSUE.lung ||
        tissue === TISSUE.groundGlass ||
        tissue === TISSUE.consolidation
      ) {
        fail('lung tissue outside the lung label');
      }
      if ((lesion === 1 || lesion === 2) && lung === 0) fail('lesion outside the lungs');
      // Ground-glass and consolidation labels cover their own tissue and what runs through a
      // lesion (vessels, airways), never plain lung, the other lesion class or extrapulmonary tissue.
      if (lesion === 1 || lesion === 2) {
        const own = lesion === 1 ? TISSUE.groundGlass : TISSUE.consolidation;
        if (tissue !== own && !throughLesion.has(tissue)) {
          fail(`lesion ${lesion} on tissue ${tissue}`);
        }
      }
      // Effusion lies outside the lungs, and only there is tissue effusion.
      if ((lesion === 3) !== (tissue === TISSUE.effusion)) fail('effusion label vs tissue');
      if (lesion === 3 && lung !== 0) fail('effusion inside the lung label');
      if (tissue === TISSUE.groundGlass && lesion !== 1) fail('ground-glass tissue unlabelled');
      if (tissue === TISSUE.consolidation && lesion !== 2) fail('consolidation tissue unlabelled');
      // HU is compared inside each mask: the voxel and its 4 in-plane neighbours share the label.
      const d = lesions.data;
      const interior =
        v % columns > 0 &&
        v % columns < columns - 1 &&
        d[v - 1] === lesion &&
        d[v + 1] === lesion &&
        d[v - columns] === lesion &&
        d[v + columns] === lesion;
      if (!interior) continue;
      if (lung !== 0 && lesion === 0 && tissue === TISSUE.lung) {
        (hu[0] as number[]).push(volume.data[v] as number);
      } else if (lesion > 0) (hu[lesion] as number[]).push(volume.data[v] as number);
    }
    expect(Object.fromEntries(violations)).toEqual({});
    expect(median(hu[0] as number[])).toBeLessThan(TISSUE_HU.lung.maxHu);
    expect(median(hu[0] as number[])).toBeGreaterThan(TISSUE_HU.lung.minHu);
    const ranges = [null, TISSUE_HU.groundGlass, TISSUE_HU.consolidation, TISSUE_HU.effusion];
    for (let label = 1; label <= 3; label++) {
      const values = hu[label] as number[];
      if (values.length < MIN_INTERIOR_VOXELS) continue;
      const range = ranges[label] as { minHu: number; maxHu: number };
      expect(median(values), `label ${label}`).toBeGreaterThanOrEqual(range.minHu);
      expect(median(values), `label ${label}`).toBeLessThanOrEqual(range.maxHu);
    }
  });

  it('reports truth that recounts from the label maps', () => {
    for (const phantom of [mild, severe, effusion]) {
      const counts = new Map<string, number>();
      const columns = phantom.volume.geometry.shape[2];
      phantom.lesions.data.forEach((lesion, v) => {
        const lung = phantom.lungs.data[v] as number;
        const side = lesion === 3 ? (v % columns < columns / 2 ? 1 : 2) : lung;
        const key = `${lesion}:${side}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      });
      const ml = (lesion: number, side: number) =>
        (counts.get(`${lesion}:${side}`) ?? 0) * phantom.truth.voxelVolumeMl;
      const t = phantom.truth;
      const rightLung = ml(0, 1) + ml(1, 1) + ml(2, 1);
      expect(Math.abs(t.rightLungMl - rightLung)).toBeLessThan(VOLUME_TOLERANCE_ML);
      expect(Math.abs(t.groundGlass.leftMl - ml(1, 2))).toBeLessThan(VOLUME_TOLERANCE_ML);
      expect(Math.abs(t.consolidation.rightMl - ml(2, 1))).toBeLessThan(VOLUME_TOLERANCE_ML);
      expect(Math.abs(t.pleuralEffusion.volumeMl - ml(3, 1) - ml(3, 2))).toBeLessThan(
        VOLUME_TOLERANCE_ML,
      );
      expect(t.lesion.percentOfLung).toBeCloseTo(
        (100 * (ml(1, 1) + ml(1, 2) + ml(2, 1) + ml(2, 2))) / t.lungMl,
        9,
      );
    }
  });

  it('follows the disease pattern: burden, consolidation share, effusion, laterality', () => {
    expect(mild.truth.lesion.percentOfLung).toBeGreaterThan(
      0.4 * DISEASE_PRESETS.mild.burdenPercent,
    );
    expect(mild.truth.lesion.percentOfLung).toBeLessThan(1.5 * DISEASE_PRESETS.mild.burdenPercent);
    expect(severe.truth.lesion.percentOfLung).toBeGreaterThan(
      0.4 * DISEASE_PRESETS.severe.burdenPercent,
    );
    expect(severe.truth.consolidationShare).toBeGreaterThan(mild.truth.consolidationShare);
    expect(severe.truth.crazyPavingMl).toBeGreaterThan(0);
    expect(mild.truth.pleuralEffusion.volumeMl).toBe(0);
    expect(severe.truth.pleuralEffusion.rightMl).toBeGreaterThan(0);
    expect(severe.truth.pleuralEffusion.leftMl).toBe(0);
    expect(effusion.truth.pleuralEffusion.volumeMl).toBeGreaterThan(100);
    const right = createChestPhantom({
      ...SMALL,
      seed: 4,
      disease: { ...DISEASE_PRESETS.mild, laterality: 'right' },
    });
    expect(right.truth.lesion.rightMl).toBeGreaterThan(0);
    expect(right.truth.lesion.leftMl).toBe(0);
    const healthy = createChestPhantom({ ...SMALL, seed: 4, disease: DISEASE_PRESETS.none });
    expect(healthy.truth.lesion.volumeMl).toBe(0);
    expect(healthy.truth.lungMl).toBeGreaterThan(2500);
    expect(healthy.truth.lungMl).toBeLessThan(6500);
  });

  it('effusion compresses the lung: the same seed has less lung with fluid', () => {
    const dry = createChestPhantom({
      ...SMALL,
      seed: 3,
      disease: { ...DISEASE_PRESETS.effusion, effusion: { rightMm: 0, leftMm: 0 } },
    });
    const lost = dry.truth.lungMl - effusion.truth.lungMl;
    expect(lost).toBeGreaterThan(0.8 * effusion.truth.pleuralEffusion.volumeMl);
  });

  it('rejects bad configurations with INVALID_ARGUMENT', () => {
    for (const bad of [
      { matrix: 32 },
      { matrix: 100.5 },
      { slices: 0 },
      { seed: 1.5 },
      { fieldOfViewMm: Number.NaN },
      { disease: { burdenPercent: -1 } },
      { reconstruction: 'bone' as 'lung' },
    ]) {
      try {
        createChestPhantom(bad);
        expect.unreachable(`accepted ${JSON.stringify(bad)}`);
      } catch (error) {
        expect(isLesionEncError(error, 'INVALID_ARGUMENT')).toBe(true);
        expect((error as Error).message).toMatch(/^phantom .*: expected/);
      }
    }
  });
});
