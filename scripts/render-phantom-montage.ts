// Renders docs/phantom-montage.png: slices of synthetic chest CTs (mild, severe, converter, effusion).
// Run: npm run build -w @lesionenc/base -w @lesionenc/phantom && npx tsx scripts/render-phantom-montage.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  type ChestPhantom,
  DISEASE_PRESETS,
  createChestPhantom,
  reconstructChestPhantom,
} from '@lesionenc/phantom';
import { encode } from 'fast-png';

const MATRIX = 256;
const SLICES = 128;
const GAP = 4;

/** Lesion overlay colours: ground-glass, consolidation, effusion. */
const OVERLAY: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [240, 228, 66],
  [213, 94, 0],
  [0, 114, 178],
];

const CASES = [
  { name: 'mild', seed: 11, disease: DISEASE_PRESETS.mild },
  { name: 'severe', seed: 12, disease: DISEASE_PRESETS.severe },
  {
    name: 'converter',
    seed: 13,
    disease: {
      ...DISEASE_PRESETS.mild,
      burdenPercent: 5,
      crazyPavingFraction: 0.9,
      textureHu: 75,
      lesionCount: 12,
      peripheralFraction: 0.95,
    },
  },
  { name: 'effusion', seed: 14, disease: DISEASE_PRESETS.effusion },
] as const;

type Rgb = Uint8Array;

function windowed(hu: number, centreHu: number, widthHu: number): number {
  const g = ((hu - (centreHu - widthHu / 2)) / widthHu) * 255;
  return g < 0 ? 0 : g > 255 ? 255 : Math.round(g);
}

/** One axial slice in a window, optionally with the lesion labels blended over it. */
function axialPanel(
  phantom: ChestPhantom,
  voxels: ArrayLike<number>,
  slice: number,
  centreHu: number,
  widthHu: number,
  overlay: boolean,
): Rgb {
  const size = MATRIX * MATRIX;
  const out = new Uint8Array(size * 3);
  for (let p = 0; p < size; p++) {
    const g = windowed(voxels[slice * size + p] as number, centreHu, widthHu);
    let rgb: readonly number[] = [g, g, g];
    const label = phantom.lesions.data[slice * size + p] as number;
    if (overlay && label > 0) {
      const c = OVERLAY[label] as readonly number[];
      rgb = rgb.map((v, q) => Math.round(0.45 * v + 0.55 * (c[q] as number)));
    }
    out.set(rgb, 3 * p);
  }
  return out;
}

/** A coronal reformat through the given row, slices flipped so the head is up, stretched to square. */
function coronalPanel(phantom: ChestPhantom, row: number): Rgb {
  const out = new Uint8Array(MATRIX * MATRIX * 3);
  const data = phantom.volume.data;
  for (let y = 0; y < MATRIX; y++) {
    const k = Math.min(SLICES - 1, Math.floor(((MATRIX - 1 - y) * SLICES) / MATRIX));
    for (let x = 0; x < MATRIX; x++) {
      const g = windowed(data[(k * MATRIX + row) * MATRIX + x] as number, -600, 1500);
      out.set([g, g, g], 3 * (y * MATRIX + x));
    }
  }
  return out;
}

function sliceWithMostLesion(phantom: ChestPhantom): number {
  const size = MATRIX * MATRIX;
  let best = SLICES >> 1;
  let bestCount = -1;
  for (let k = 0; k < SLICES; k++) {
    let count = 0;
    for (let p = 0; p < size; p++) if ((phantom.lesions.data[k * size + p] as number) > 0) count++;
    if (count > bestCount) {
      bestCount = count;
      best = k;
    }
  }
  return best;
}

const columns = 5;
const width = columns * MATRIX + (columns + 1) * GAP;
const height = CASES.length * MATRIX + (CASES.length + 1) * GAP;
const image = new Uint8Array(width * height * 3).fill(255);

CASES.forEach((c, r) => {
  const phantom = createChestPhantom({
    seed: c.seed,
    matrix: MATRIX,
    slices: SLICES,
    disease: c.disease,
  });
  const mediastinal = reconstructChestPhantom(phantom, 'mediastinal');
  const lesionSlice = sliceWithMostLesion(phantom);
  const upperSlice = Math.round(SLICES * 0.72);
  const panels = [
    axialPanel(phantom, phantom.volume.data, upperSlice, -600, 1500, false),
    axialPanel(phantom, phantom.volume.data, lesionSlice, -600, 1500, false),
    axialPanel(phantom, phantom.volume.data, lesionSlice, -600, 1500, true),
    axialPanel(phantom, mediastinal.data, lesionSlice, 40, 400, false),
    coronalPanel(phantom, Math.round(MATRIX * 0.55)),
  ];
  panels.forEach((panel, q) => {
    const left = GAP + q * (MATRIX + GAP);
    const top = GAP + r * (MATRIX + GAP);
    for (let y = 0; y < MATRIX; y++) {
      image.set(
        panel.subarray(y * MATRIX * 3, (y + 1) * MATRIX * 3),
        ((top + y) * width + left) * 3,
      );
    }
  });
  const t = phantom.truth;
  process.stdout.write(
    `${c.name}: lesion ${t.lesion.percentOfLung.toFixed(1)} % of lung, consolidation share ` +
      `${t.consolidationShare.toFixed(2)}, crazy paving ${t.crazyPavingMl.toFixed(0)} ml, ` +
      `effusion ${t.pleuralEffusion.volumeMl.toFixed(0)} ml\n`,
  );
});

const target = fileURLToPath(new URL('../docs/phantom-montage.png', import.meta.url));
writeFileSync(target, encode({ width, height, data: image, channels: 3, depth: 8 }));
process.stdout.write(`wrote ${target} (${width} x ${height})\n`);
