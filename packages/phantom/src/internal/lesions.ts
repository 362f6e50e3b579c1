// Lesions: drawn from a disease pattern, then rasterised into the lungs with their exact labels.
import { type Random, createRandom } from '@lesionenc/base';

import type { DiseaseConfig, LesionSpec } from '../config';
import { TISSUE, TISSUE_HU } from '../tissues';
import type { AnatomyVolumes, PhantomGrid } from './anatomy';

/** Lesions within this distance of the inner chest wall count as peripheral (subpleural), mm. */
export const PERIPHERAL_WALL_DISTANCE_MM = 20;
/** Central lesions are at least this far from the chest wall, mm. */
const CENTRAL_WALL_DISTANCE_MM = 28;
/** Clipping by the lung boundary and overlaps lose volume; lesions are drawn this much larger. */
const CLIPPING_ALLOWANCE = 1.2;
const CRAZY_PAVING_SPACING_MM = 7;
const CRAZY_PAVING_LINE = 0.16;
const CRAZY_PAVING_RISE_HU = 260;

type Vec3 = [number, number, number];
type Tuple12 = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

/**
 * Draws lesion specifications from a disease pattern: sizes share the intended burden, centres
 * are sampled from lung voxels with the pattern's side, periphery and craniocaudal preferences.
 */
export function drawLesionSpecs(
  grid: PhantomGrid,
  volumes: AnatomyVolumes,
  disease: DiseaseConfig,
  random: Random,
): LesionSpec[] {
  if (disease.lesionCount <= 0 || disease.burdenPercent <= 0) return [];
  const { lungs, wallDistanceMm } = volumes;

  // Lung voxels of the involved sides, and their craniocaudal extent.
  // Bit 1 marks the right lung, bit 2 the left (the lung label values).
  const sideMask = disease.laterality === 'right' ? 2 : disease.laterality === 'left' ? 4 : 6;
  let count = 0;
  for (let v = 0; v < lungs.length; v++)
    if (((1 << (lungs[v] as number)) & sideMask) !== 0) count++;
  if (count === 0) return [];
  const candidates = new Int32Array(count);
  let kMin = grid.slices;
  let kMax = -1;
  const sliceSize = grid.rows * grid.columns;
  for (let v = 0, c = 0; v < lungs.length; v++) {
    if (((1 << (lungs[v] as number)) & sideMask) !== 0) {
      candidates[c++] = v;
      const k = Math.floor(v / sliceSize);
      if (k < kMin) kMin = k;
      if (k > kMax) kMax = k;
    }
  }
  const voxelMm3 = grid.pixelMm * grid.pixelMm * grid.sliceSpacingMm;
  const lesionMm3 = (disease.burdenPercent / 100) * count * voxelMm3 * CLIPPING_ALLOWANCE;

  // Volume shares: log-normal weights, so a few foci are larger than the rest.
  const weights = Array.from({ length: disease.lesionCount }, () =>
    Math.exp(random.normal(0, 0.5)),
  );
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const specs: LesionSpec[] = [];
  for (let l = 0; l < disease.lesionCount; l++) {
    const volumeMm3 = (lesionMm3 * (weights[l] as number)) / weightSum;
    const peripheral = random.next() < disease.peripheralFraction;
    let chosen = candidates[random.nextInt(count)] as number;
    for (let attempt = 0; attempt < 400; attempt++) {
      const v = candidates[random.nextInt(count)] as number;
      const wall = wallDistanceMm[v] as number;
      if (peripheral ? wall > PERIPHERAL_WALL_DISTANCE_MM : wall < CENTRAL_WALL_DISTANCE_MM) {
        continue;
      }
      // Lower-lobe predominance: accept low slices more often.
      const height = kMax > kMin ? (Math.floor(v / sliceSize) - kMin) / (kMax - kMin) : 0.5;
      if (random.next() > (1 - height) ** (3 * disease.lowerLobeBias)) continue;
      chosen = v;
      break;
    }
    const k = Math.floor(chosen / sliceSize);
    const i = Math.floor(chosen / grid.columns) % grid.rows;
    const j = chosen % grid.columns;
    const centre: Vec3 = [
      grid.x0 + j * grid.pixelMm,
      grid.y0 + i * grid.pixelMm,
      grid.z0 + k * grid.sliceSpacingMm,
    ];

    const radius = Math.cbrt((3 * volumeMm3) / (4 * Math.PI));
    const elongation = 1 + (disease.elongation - 1) * random.uniform(0.5, 1.5);
    const e = Math.sqrt(Math.max(1, elongation));
    const core = disease.consolidationShare * random.uniform(0.6, 1.4);
    specs.push({
      centreMm: centre,
      radiiMm: [radius * e, radius, radius / e],
      consolidationFraction: Math.min(1, Math.max(0, core)),
      crazyPaving: random.next() < disease.crazyPavingFraction,
      groundGlassHu: random.uniform(-650, -450),
      consolidationHu: random.uniform(-30, 30),
      textureHu: disease.textureHu,
      lobulation: disease.lobulation,
      seed: random.nextInt(2 ** 31),
    });
  }
  return specs;
}

/** A random rotation matrix (rows are the lesion's local axes in LPS). */
function randomRotation(random: Random): number[] {
  const a = normaliseVec([random.normal(), random.normal(), random.normal()]);
  let b = [random.normal(), random.normal(), random.normal()] as Vec3;
  const dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  b = normaliseVec([b[0] - dot * a[0], b[1] - dot * a[1], b[2] - dot * a[2]]);
  const c: Vec3 = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  return [...a, ...b, ...c];
}

function normaliseVec(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** Three random plane waves (wave vector and phase) for outlines and textures. */
function randomWaves(random: Random, wavenumber: number): Float64Array {
  const waves = new Float64Array(12);
  for (let w = 0; w < 3; w++) {
    const d = normaliseVec([random.normal(), random.normal(), random.normal()]);
    const kk = wavenumber * random.uniform(0.7, 1.3);
    waves[4 * w] = d[0] * kk;
    waves[4 * w + 1] = d[1] * kk;
    waves[4 * w + 2] = d[2] * kk;
    waves[4 * w + 3] = random.uniform(0, 2 * Math.PI);
  }
  return waves;
}

/** Result of drawing lesions: voxels of crazy paving (ground-glass with reticulation). */
export interface LesionDrawing {
  readonly crazyPavingVoxels: number;
}

/**
 * Rasterises lesions into the lung: ground-glass raises the parenchyma's HU (vessels stay
 * brighter and show through), consolidation replaces it (airway lumens inside stay air, giving
 * air bronchograms). Labels: 1 ground-glass, 2 consolidation; only lung voxels are touched.
 */
export function drawLesions(
  grid: PhantomGrid,
  volumes: AnatomyVolumes,
  specs: readonly LesionSpec[],
  lesionLabels: Uint8Array,
  crazyPavingMask: Uint8Array,
): LesionDrawing {
  const { hu, tissues, lungs } = volumes;
  const ggRange = TISSUE_HU.groundGlass;
  const coRange = TISSUE_HU.consolidation;
  let crazyPavingVoxels = 0;
  for (const spec of specs) {
    const random = createRandom(spec.seed);
    const rot = randomRotation(random);
    const outline = randomWaves(random, 2.6);
    const [o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11] = outline as unknown as Tuple12;
    const texture = randomWaves(random, (2 * Math.PI) / 14);
    const septa = randomRotation(random);
    const [ra, rb, rc] = spec.radiiMm;
    const ia = 1 / ra;
    const ib = 1 / rb;
    const ic = 1 / rc;
    const coreScale = spec.consolidationFraction > 0 ? Math.cbrt(spec.consolidationFraction) : 0;
    const invCore2 = coreScale > 0 ? 1 / (coreScale * coreScale) : 0;
    const lob = spec.lobulation;
    const reach = Math.max(ra, rb, rc) * (1 + lob) + 1;
    const [cx, cy, cz] = spec.centreMm;

    // Air bronchograms: two lumens through the consolidated core, along its long axis.
    const bronchusR = Math.max(0.9, 0.12 * Math.min(ra, rb, rc) * coreScale);
    const hasBronchogram = coreScale * Math.min(ra, rb, rc) > 5;
    const axis: Vec3 = [rot[0] as number, rot[1] as number, rot[2] as number];
    const side: Vec3 = [rot[3] as number, rot[4] as number, rot[5] as number];
    const span = 0.8 * ra * coreScale;
    const b0: Vec3 = [cx - axis[0] * span, cy - axis[1] * span, cz - axis[2] * span];
    const b1: Vec3 = [cx + axis[0] * span, cy + axis[1] * span, cz + axis[2] * span];
    const b2: Vec3 = [
      cx + (axis[0] + side[0]) * span * 0.5,
      cy + (axis[1] + side[1]) * span * 0.5,
      cz + (axis[2] + side[2]) * span * 0.5,
    ];

    const kLow = Math.max(0, Math.floor((cz - reach - grid.z0) / grid.sliceSpacingMm));
    const kHigh = Math.min(
      grid.slices - 1,
      Math.ceil((cz + reach - grid.z0) / grid.sliceSpacingMm),
    );
    const iLow = Math.max(0, Math.floor((cy - reach - grid.y0) / grid.pixelMm));
    const iHigh = Math.min(grid.rows - 1, Math.ceil((cy + reach - grid.y0) / grid.pixelMm));
    const jLow = Math.max(0, Math.floor((cx - reach - grid.x0) / grid.pixelMm));
    const jHigh = Math.min(grid.columns - 1, Math.ceil((cx + reach - grid.x0) / grid.pixelMm));
    for (let k = kLow; k <= kHigh; k++) {
      const pz = grid.z0 + k * grid.sliceSpacingMm;
      const dz = pz - cz;
      for (let i = iLow; i <= iHigh; i++) {
        const py = grid.y0 + i * grid.pixelMm;
        const dy = py - cy;
        const rowBase = (k * grid.rows + i) * grid.columns;
        for (let j = jLow; j <= jHigh; j++) {
          const v = rowBase + j;
          if (lungs[v] === 0) continue;
          const px = grid.x0 + j * grid.pixelMm;
          const dx = px - cx;
          const u =
            ((rot[0] as number) * dx + (rot[1] as number) * dy + (rot[2] as number) * dz) * ia;
          const w =
            ((rot[3] as number) * dx + (rot[4] as number) * dy + (rot[5] as number) * dz) * ib;
          const t =
            ((rot[6] as number) * dx + (rot[7] as number) * dy + (rot[8] as number) * dz) * ic;
          const r2 = u * u + w * w + t * t;
          if (r2 > (1 + lob) * (1 + lob) + 0.5) continue;
          // The outline's bumps matter only near the surface; deep inside the lesion they cannot
          // change the outcome, so the sines are skipped there.
          const needBumps = r2 > 0.6 - lob || (invCore2 > 0 && Math.abs(r2 * invCore2 - 1) < lob);
          const bumps = needBumps
            ? (Math.sin(o0 * u + o1 * w + o2 * t + o3) +
                Math.sin(o4 * u + o5 * w + o6 * t + o7) +
                Math.sin(o8 * u + o9 * w + o10 * t + o11)) /
              3
            : 0;
          const f = r2 - 1 + lob * bumps;
          if (f >= 0) continue;
          const tex =
            (Math.sin(
              (texture[0] as number) * px +
                (texture[1] as number) * py +
                (texture[2] as number) * pz +
                (texture[3] as number),
            ) +
              Math.sin(
                (texture[4] as number) * px +
                  (texture[5] as number) * py +
                  (texture[6] as number) * pz +
                  (texture[7] as number),
              ) +
              Math.sin(
                (texture[8] as number) * px +
                  (texture[9] as number) * py +
                  (texture[10] as number) * pz +
                  (texture[11] as number),
              )) *
            (spec.textureHu / 2);
          const tissue = tissues[v] as number;
          const isCore = invCore2 > 0 && r2 * invCore2 - 1 + 0.5 * lob * bumps < 0;
          if (isCore) {
            lesionLabels[v] = 2;
            if (tissue === TISSUE.airway) continue;
            if (hasBronchogram) {
              const d = Math.min(
                pointSegment(px, py, pz, b0, b1),
                pointSegment(px, py, pz, [cx, cy, cz], b2),
              );
              if (d < bronchusR) {
                tissues[v] = TISSUE.airway;
                hu[v] = -950;
                continue;
              }
            }
            const value = clamp(spec.consolidationHu + 0.3 * tex, coRange.minHu, coRange.maxHu);
            tissues[v] = TISSUE.consolidation;
            hu[v] = value;
            continue;
          }
          if ((lesionLabels[v] as number) < 1) lesionLabels[v] = 1;
          if (tissue === TISSUE.airway || tissue === TISSUE.consolidation) continue;
          // Hazy rim: the opacity fades over the outer part of the lesion.
          const strength = clamp(-f / 0.35, 0, 1);
          let target = spec.groundGlassHu + tex;
          if (spec.crazyPaving) {
            const sx =
              ((septa[0] as number) * px + (septa[1] as number) * py + (septa[2] as number) * pz) /
              CRAZY_PAVING_SPACING_MM;
            const sy =
              ((septa[3] as number) * px + (septa[4] as number) * py + (septa[5] as number) * pz) /
              CRAZY_PAVING_SPACING_MM;
            const sz =
              ((septa[6] as number) * px + (septa[7] as number) * py + (septa[8] as number) * pz) /
              CRAZY_PAVING_SPACING_MM;
            const line = Math.min(distToInteger(sx), distToInteger(sy), distToInteger(sz));
            if (line < CRAZY_PAVING_LINE) target += CRAZY_PAVING_RISE_HU;
            if (crazyPavingMask[v] === 0) {
              crazyPavingMask[v] = 1;
              crazyPavingVoxels++;
            }
          }
          target = clamp(target, ggRange.minHu + 40, ggRange.maxHu);
          const base = hu[v] as number;
          const lungBase = tissue === TISSUE.lung ? base : -850;
          const value = lungBase + (target - lungBase) * (0.55 + 0.45 * strength);
          if (value > base) hu[v] = clamp(value, ggRange.minHu, ggRange.maxHu);
          if (tissue === TISSUE.lung) tissues[v] = TISSUE.groundGlass;
        }
      }
    }
  }
  return { crazyPavingVoxels };
}

function distToInteger(x: number): number {
  const f = x - Math.floor(x);
  return f < 0.5 ? f : 1 - f;
}

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

function pointSegment(x: number, y: number, z: number, a: Vec3, b: Vec3): number {
  const abx = b[0] - a[0];
  const aby = b[1] - a[1];
  const abz = b[2] - a[2];
  const apx = x - a[0];
  const apy = y - a[1];
  const apz = z - a[2];
  const len2 = abx * abx + aby * aby + abz * abz || 1;
  const t = clamp((apx * abx + apy * aby + apz * abz) / len2, 0, 1);
  const dx = apx - t * abx;
  const dy = apy - t * aby;
  const dz = apz - t * abz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}
