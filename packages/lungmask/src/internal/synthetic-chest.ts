// A small synthetic chest CT with known lung truth, for the lung mask's own tests: two lungs
// touching at the anterior junction, airways, vessels, lesions, an effusion and stomach gas.
import {
  type CtVolume,
  type VolumeGeometry,
  createCtVolume,
  createGeometry,
  createRandom,
} from '@lesionenc/base';

/** What the synthetic chest contains. */
export interface SyntheticChestOptions {
  /** `[slices, rows, columns]` @defaultValue `[20, 112, 128]` */
  shape?: readonly [number, number, number];
  /** @defaultValue `[5, 2.6, 2.6]` */
  spacingMm?: readonly [number, number, number];
  /** Adds a consolidation on the right lung's lateral pleura and one in the middle of the left. */
  consolidation?: boolean;
  /** Adds a posterior pleural effusion on the left (not lung in the truth). */
  effusion?: boolean;
  /** @defaultValue 1 */
  seed?: number;
}

/** The volume and its truth: 1 right lung (low columns), 2 left lung. */
export interface SyntheticChest {
  readonly volume: CtVolume;
  readonly truth: Uint8Array;
  readonly geometry: VolumeGeometry;
}

/** Builds a synthetic chest; see {@link SyntheticChestOptions}. */
export function createSyntheticChest(options: SyntheticChestOptions = {}): SyntheticChest {
  const [slices, rows, columns] = options.shape ?? [20, 112, 128];
  const spacingMm = options.spacingMm ?? [5, 2.6, 2.6];
  const random = createRandom(options.seed ?? 1);
  const geometry = createGeometry({ shape: [slices, rows, columns], spacingMm });
  const data = new Int16Array(slices * rows * columns);
  const truth = new Uint8Array(data.length);
  const vessels: { k: number; i: number; j: number; r: number }[] = [];
  for (let v = 0; v < slices * 12; v++) {
    vessels.push({
      k: Math.floor(random.next() * slices),
      i: rows * (0.3 + 0.4 * random.next()),
      j: columns * (0.15 + 0.7 * random.next()),
      r: 0.8 + 1.2 * random.next(),
    });
  }
  const cy = rows * 0.5;
  const cx = columns * 0.5;
  for (let k = 0; k < slices; k++) {
    // Lungs grow from the base (k = 1) to a maximum at 40 % and taper to the apex.
    const t = (k - 1) / (slices - 3);
    const scale =
      t < 0 || t > 1
        ? 0
        : t < 0.4
          ? Math.sqrt(0.35 + (0.65 * t) / 0.4)
          : Math.sqrt(1 - ((t - 0.4) / 0.6) ** 2 * 0.9);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) {
        const n = (k * rows + i) * columns + j;
        let hu = -1000;
        const by = (i - cy) / (rows * 0.4);
        const bx = (j - cx) / (columns * 0.46);
        const body = bx * bx + by * by;
        if (body < 1) hu = body > 0.8 ? -100 : 40;
        // The spine, posterior.
        if (((i - rows * 0.78) / (rows * 0.07)) ** 2 + ((j - cx) / (columns * 0.06)) ** 2 < 1)
          hu = 500;
        // Lungs: each an ellipse; the medial edges meet anteriorly (the junction).
        let lung = 0;
        for (const side of [1, 2]) {
          const lx = side === 1 ? columns * 0.3 : columns * 0.7;
          const ax = columns * 0.19 * scale;
          const ay = rows * 0.27 * scale;
          if (ax <= 0) continue;
          const dy = (i - rows * 0.48) / ay;
          const dx = (j - lx) / ax;
          if (dx * dx + dy * dy < 1) lung = side;
          // A tongue of each lung reaches the midline in front of the heart.
          if (
            Math.abs(i - rows * 0.3) < rows * 0.035 * scale &&
            Math.abs(j - cx) < columns * 0.2 &&
            (side === 1 ? j <= cx : j > cx) &&
            scale > 0.6
          ) {
            lung = side;
          }
        }
        if (lung !== 0) {
          hu = -850;
          truth[n] = lung;
        }
        data[n] = hu;
      }
    }
  }

  const at = (k: number, i: number, j: number) => (k * rows + i) * columns + j;
  const inside = (k: number, i: number, j: number) =>
    k >= 0 && k < slices && i >= 0 && i < rows && j >= 0 && j < columns;
  const paint = (
    ck: number,
    ci: number,
    cj: number,
    radiusMm: number,
    hu: number,
    onlyLung: boolean,
    truthValue?: number,
  ) => {
    const rk = Math.ceil(radiusMm / spacingMm[0]);
    const ri = Math.ceil(radiusMm / spacingMm[1]);
    const rj = Math.ceil(radiusMm / spacingMm[2]);
    for (let k = ck - rk; k <= ck + rk; k++)
      for (let i = Math.floor(ci - ri); i <= ci + ri; i++)
        for (let j = Math.floor(cj - rj); j <= cj + rj; j++) {
          if (!inside(k, i, j)) continue;
          const d =
            ((k - ck) * spacingMm[0]) ** 2 +
            ((i - ci) * spacingMm[1]) ** 2 +
            ((j - cj) * spacingMm[2]) ** 2;
          if (d > radiusMm * radiusMm) continue;
          const n = at(k, i, j);
          if (onlyLung && truth[n] === 0) continue;
          data[n] = hu;
          if (truthValue !== undefined) truth[n] = truthValue;
        }
  };
  for (const v of vessels) paint(v.k, v.i, v.j, v.r * spacingMm[1], 30, true);

  // Trachea in the upper third, main bronchi just below it.
  const carina = Math.round(slices * 0.62);
  for (let k = carina; k < slices; k++) paint(k, rows * 0.4, cx, 8, -1000, false);
  for (let s = 0; s <= 10; s++) {
    paint(carina - 1, rows * 0.42, cx - s * columns * 0.012, 5, -1000, false);
    paint(carina - 1, rows * 0.42, cx + s * columns * 0.012, 5, -1000, false);
  }
  // Stomach gas under the left lung base.
  paint(0, rows * 0.45, columns * 0.66, 22, -1000, false);

  if (options.consolidation === true) {
    const mid = Math.round(slices * 0.4);
    // Juxtapleural: a blob centred on the right lung's lateral border, half in the lung.
    const lateral = columns * 0.3 - columns * 0.19 * 0.98;
    paint(mid, rows * 0.5, lateral + 2, 28, 20, true);
    // Enclosed: in the middle of the left lung.
    paint(mid + 1, rows * 0.5, columns * 0.72, 18, 10, true);
  }
  if (options.effusion === true) {
    // Fluid in the dependent (posterior) part of the left pleural space: not lung.
    for (let k = 0; k < slices; k++)
      for (let i = Math.round(rows * 0.62); i < rows; i++)
        for (let j = Math.round(cx); j < columns; j++) {
          const n = at(k, i, j);
          if (truth[n] === 2) {
            truth[n] = 0;
            data[n] = 15;
          }
        }
  }
  // Scanner noise.
  for (let n = 0; n < data.length; n++) data[n] = Math.round(data[n]! + 25 * random.normal());
  return { volume: createCtVolume(data, geometry), truth, geometry };
}
