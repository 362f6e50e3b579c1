// The analytic chest: body wall, bones, mediastinum, diaphragm, lungs and effusion, drawn slice by slice.
import type { AnatomyConfig, EffusionConfig } from '../config';
import { TISSUE } from '../tissues';

/** The voxel grid the anatomy is drawn on; x runs with columns, y with rows, z with slices. */
export interface PhantomGrid {
  readonly slices: number;
  readonly rows: number;
  readonly columns: number;
  /** In-plane pixel size, mm. */
  readonly pixelMm: number;
  /** Distance between slice centres, mm. */
  readonly sliceSpacingMm: number;
  /** LPS position of voxel (0, 0, 0), mm. */
  readonly x0: number;
  readonly y0: number;
  readonly z0: number;
}

/** Everything the later steps need from the anatomy pass. */
export interface AnatomyVolumes {
  /** Tissue value per voxel ({@link TISSUE}). */
  readonly tissues: Uint8Array;
  /** Noise-free HU per voxel. */
  readonly hu: Float32Array;
  /** Lung label per voxel: 1 right, 2 left (lung parenchyma; effusion excluded). */
  readonly lungs: Uint8Array;
  /** For lung voxels: distance to the inner chest wall, mm, capped at 255. */
  readonly wallDistanceMm: Uint8Array;
  /** LPS centres of the two hila (right, left), mm, where vessel and airway trees start. */
  readonly hilaMm: readonly [readonly [number, number, number], readonly [number, number, number]];
}

/** LPS z of landmarks, mm (0 is mid-chest). */
export const LANDMARKS_Z_MM = Object.freeze({
  lungApex: 128,
  neckStart: 138,
  carina: 45,
  aorticArch: 75,
  rightHilum: 22,
  leftHilum: 14,
  rightDome: -55,
  leftDome: -65,
  heartCentre: -30,
});

const RIB_PERIOD_MM = 26;
const RIB_DUTY = 0.36;
const DIAPHRAGM_MM = 4;
const APEX_TAPER_MM = 110;

function clamp(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

/**
 * Draws the anatomy on the grid: tissue, noise-free HU, lung labels and wall distance.
 * Every voxel is classified by analytic tests in patient millimetres; the ordering of the tests
 * is the priority of the structures (spine, then chest wall layers, airways, vessels, heart,
 * diaphragm, mediastinum, and what is left inside the ribs is lung or pleural fluid).
 */
export function drawAnatomy(
  grid: PhantomGrid,
  anatomy: AnatomyConfig,
  effusion: EffusionConfig,
  jitter: {
    readonly heartShiftMm: number;
    readonly domeShiftMm: number;
    readonly ribPhase: number;
  },
): AnatomyVolumes {
  const { slices, rows, columns, pixelMm, sliceSpacingMm, x0, y0, z0 } = grid;
  const n = slices * rows * columns;
  const tissues = new Uint8Array(n);
  const hu = new Float32Array(n).fill(-1000);
  const lungs = new Uint8Array(n);
  const wallDistanceMm = new Uint8Array(n);
  const s = anatomy.bodyScale;
  const fatScale = anatomy.fatScale;
  const lungHu = anatomy.lungHu;
  const L = LANDMARKS_Z_MM;

  // Fixed in-plane landmarks (scaled with the body), mm.
  const spineY = 55 * s;
  const spineR = 19 * s;
  const canalY = spineY + spineR + 8 * s;
  const canalR = 7.5 * s;
  const laminaR = 13 * s;
  const tracheaY = 15 * s;
  const tracheaR = 9 * s;
  const oesophagusX = 5 * s;
  const oesophagusY = 31 * s;
  const oesophagusR = 7 * s;
  const aortaR = 13 * s;
  const descAortaX = 24 * s;
  const descAortaY = 38 * s;
  const ascAortaX = 6 * s;
  const ascAortaY = -22 * s;
  const svcX = -24 * s;
  const svcY = -14 * s;
  const svcR = 10 * s;
  const heartX = 18 * s + jitter.heartShiftMm;
  const heartY = -25 * s;
  const heartZ = L.heartCentre;
  const heartA = 62 * s;
  const heartB = 50 * s;
  const heartC = 52;
  const rightHilum = [-48 * s, 15 * s, L.rightHilum] as const;
  const leftHilum = [48 * s, 20 * s, L.leftHilum] as const;
  const carina = [0, tracheaY, L.carina] as const;

  for (let k = 0; k < slices; k++) {
    const z = z0 + k * sliceSpacingMm;

    // Body outline of this slice: chest, narrowing to the neck above the lung apices.
    const neck = clamp((z - L.neckStart) / 20, 0, 1);
    // The thorax narrows from the lung bases towards the apices.
    const upper = clamp((z + 20) / 160, 0, 1);
    const halfWidth = (165 - 35 * upper) * s * (1 - neck) + 68 * s * neck;
    const halfAnt = (105 - 5 * upper) * s * (1 - neck) + 58 * s * neck;
    const halfPost = 112 * s * (1 - neck) + 62 * s * neck;
    const inChest = neck < 1;

    // Heart cross-section (an ellipsoid sitting on the left dome).
    const heartE = 1 - ((z - heartZ) / heartC) ** 2;
    const heartSa = heartE > 0 ? heartA * Math.sqrt(heartE) : 0;
    const heartSb = heartE > 0 ? heartB * Math.sqrt(heartE) : 0;
    const heartTop = heartZ + heartC;

    // Which tubes cross this slice.
    const hasTrachea = z >= L.carina;
    const hasBronchi = z < L.carina + 8 && z > L.leftHilum - 10;
    const hasAscAorta = z > heartTop - 15 && z <= L.aorticArch;
    const hasArch = Math.abs(z - L.aorticArch) <= aortaR + 1;
    const hasDescAorta = z <= L.aorticArch;
    const hasSvc = z > 5 && z < 115;
    const hasOesophagus = z < L.neckStart + 40 && z > -90;
    const hasSternum = z > -45 && z < 85;
    const hasRibs = z > -125 && z < L.lungApex + 5;
    const apexF = clamp((L.lungApex - z) / APEX_TAPER_MM, 0, 1);
    const apexG = Math.sqrt(1 - (1 - apexF) * (1 - apexF));
    const apexActive = z > L.lungApex - APEX_TAPER_MM;
    const effusionZ = clamp((z + 120) / 190, 0, 1);
    const effusionRightMm = effusion.rightMm * (1 - 0.8 * effusionZ);
    const effusionLeftMm = effusion.leftMm * (1 - 0.8 * effusionZ);
    const sternumY = -halfAnt + 9 * s + 10 * fatScale;

    for (let i = 0; i < rows; i++) {
      const y = y0 + i * pixelMm;
      const rowBase = (k * rows + i) * columns;
      const halfDepth = y < 0 ? halfAnt : halfPost;
      const yn = y / halfDepth;
      const dependent = clamp((y + 60 * s) / (150 * s), 0, 1);
      const lungRowHu = lungHu + 45 * dependent;
      const mediastinumHalfWidth = (20 + 12 * clamp(-y / (60 * s), 0, 1)) * s;

      for (let j = 0; j < columns; j++) {
        const x = x0 + j * pixelMm;
        const v = rowBase + j;
        const xn = x / halfWidth;
        const rho2 = xn * xn + yn * yn;
        if (rho2 >= 1) continue;
        const rho = Math.sqrt(rho2);
        const r = Math.sqrt(x * x + y * y);
        const depth = rho > 1e-6 ? r * (1 / rho - 1) : 1e6;
        const sinT = r > 1e-6 ? y / r : 0;
        const ax = x < 0 ? -x : x;

        let tissue: number = TISSUE.muscle;
        let value = 45;

        // Layers of the chest wall, by depth below the skin along the ray from the centre.
        const fatT = fatScale * (10 + 6 * (sinT > 0 ? sinT : 0)) * s;
        const pectoral = -sinT > 0 ? -sinT * clamp((z + 20) / 60, 0, 1) : 0;
        const muscleT = (9 + 12 * pectoral) * s;
        const ribTop = 1.5 + fatT + muscleT;
        const wall = ribTop + 8 * s + 1;

        // The spine and its muscles come first: they cut through every layer behind it.
        const dxs = x;
        const dys = y - spineY;
        const dSpine2 = dxs * dxs + dys * dys;
        const dyc = y - canalY;
        const dCanal = Math.sqrt(x * x + dyc * dyc);
        if (dSpine2 < spineR * spineR) {
          const dSpine = Math.sqrt(dSpine2);
          const disc = ((z + 400) / 28) % 1 < 0.17;
          tissue = disc ? TISSUE.muscle : TISSUE.bone;
          value = disc ? 50 : dSpine > spineR - 2.5 ? 750 : 260;
        } else if (dCanal < canalR) {
          tissue = TISSUE.spinalCanal;
          value = 20;
        } else if (dCanal < laminaR && y > canalY - 4 * s) {
          tissue = TISSUE.bone;
          value = dCanal > laminaR - 2 ? 700 : 320;
        } else if (ax < 4 * s && y > canalY && y < canalY + 24 * s && depth > 1.5 + fatT) {
          tissue = TISSUE.bone;
          value = ax > 2.5 * s ? 700 : 350;
        } else if (depth < 1.5) {
          tissue = TISSUE.muscle;
          value = 40;
        } else if (depth < 1.5 + fatT) {
          tissue = TISSUE.fat;
          value = -100;
        } else if (ax < 50 * s && y > spineY + 4 * s && inChest) {
          tissue = TISSUE.muscle;
          value = 48;
        } else if (
          hasSternum &&
          ax < 16 * s &&
          (x / (16 * s)) ** 2 + ((y - sternumY) / (7 * s)) ** 2 < 1
        ) {
          tissue = TISSUE.bone;
          const q = (x / (16 * s)) ** 2 + ((y - sternumY) / (7 * s)) ** 2;
          value = q > 0.6 ? 700 : 300;
        } else if (depth < ribTop) {
          tissue = TISSUE.muscle;
          value = 45;
        } else if (depth < wall - 1 || !inChest) {
          // Ribs slope down towards the front; their cross-sections show as arcs in the band.
          const phase = ((z + 38 * (1 - sinT) + jitter.ribPhase + 1000) / RIB_PERIOD_MM) % 1;
          if (hasRibs && inChest && phase < RIB_DUTY && sinT > -0.88) {
            tissue = TISSUE.bone;
            const edge = Math.min(phase, RIB_DUTY - phase) * RIB_PERIOD_MM;
            const radial = Math.min(depth - ribTop, wall - 1 - depth);
            value = edge < 1.6 || radial < 1.6 ? 720 : 280;
          } else {
            tissue = TISSUE.muscle;
            value = 45;
          }
        } else if (depth < wall) {
          tissue = TISSUE.muscle;
          value = 45;
        } else {
          // Inside the ribs: airways, great vessels, heart, diaphragm, mediastinum, lung.
          let done = false;
          if (hasTrachea) {
            const dt = Math.sqrt(x * x + (y - tracheaY) ** 2);
            if (dt < tracheaR + 2 * s) {
              tissue = dt < tracheaR ? TISSUE.airway : TISSUE.airwayWall;
              value = dt < tracheaR ? -1000 : 20;
              done = true;
            }
          }
          if (!done && hasBronchi) {
            const dr = segmentDistance(x, y, z, carina, rightHilum);
            const dl = segmentDistance(x, y, z, carina, leftHilum);
            const lumenR = 6.5 * s;
            const lumenL = 5.5 * s;
            if (dr < lumenR + 1.5 || dl < lumenL + 1.5) {
              const lumen = dr < lumenR || dl < lumenL;
              tissue = lumen ? TISSUE.airway : TISSUE.airwayWall;
              value = lumen ? -1000 : 20;
              done = true;
            }
          }
          if (!done && hasOesophagus) {
            const de = (x - oesophagusX) ** 2 + (y - oesophagusY) ** 2;
            if (de < oesophagusR * oesophagusR) {
              tissue = TISSUE.muscle;
              value = 40;
              done = true;
            }
          }
          if (!done) {
            let inVessel = false;
            if (hasDescAorta) {
              inVessel ||= (x - descAortaX) ** 2 + (y - descAortaY) ** 2 < aortaR * aortaR;
            }
            if (hasAscAorta) {
              inVessel ||= (x - ascAortaX) ** 2 + (y - ascAortaY) ** 2 < aortaR * aortaR;
            }
            if (hasArch) {
              const t = clamp((y - ascAortaY) / (descAortaY - ascAortaY), 0, 1);
              const cx = ascAortaX + t * (descAortaX - ascAortaX);
              const cy = ascAortaY + t * (descAortaY - ascAortaY);
              const dz = z - L.aorticArch;
              inVessel ||= (x - cx) ** 2 + (y - cy) ** 2 + dz * dz < aortaR * aortaR;
            }
            if (hasSvc) inVessel ||= (x - svcX) ** 2 + (y - svcY) ** 2 < svcR * svcR;
            if (inVessel) {
              tissue = TISSUE.greatVessel;
              value = 42;
              done = true;
            }
          }
          if (!done && heartSa > 0) {
            const q = ((x - heartX) / heartSa) ** 2 + ((y - heartY) / heartSb) ** 2;
            if (q < 1) {
              tissue = TISSUE.heart;
              value = 40;
              done = true;
            } else if (q < (1 + 5 / heartSa) ** 2) {
              tissue = TISSUE.fat;
              value = -95;
              done = true;
            }
          }
          if (!done) {
            // Diaphragm domes: the right one higher, both falling to the costophrenic recesses.
            const right = x < 0;
            const peak = (right ? L.rightDome : L.leftDome) + jitter.domeShiftMm;
            const qx = (ax - 70 * s) / (85 * s);
            const qy = y / (90 * s);
            const q2 = Math.min(qx * qx + qy * qy, 1.3);
            const domeZ = peak - 48 * q2 - 15 * clamp(y / (100 * s), 0, 1);
            if (z < domeZ) {
              tissue = TISSUE.abdomen;
              value = 55;
              done = true;
            } else if (z < domeZ + DIAPHRAGM_MM) {
              tissue = TISSUE.muscle;
              value = 45;
              done = true;
            } else if (ax < mediastinumHalfWidth || (ax < 32 * s && y > 25 * s)) {
              tissue = TISSUE.fat;
              value = -100;
              done = true;
            } else if (apexActive) {
              const ex = (ax - 62 * s) / (82 * s * apexG + 1e-6);
              const ey = (y - 15 * s) / (80 * s * apexG + 1e-6);
              if (ex * ex + ey * ey >= 1) {
                tissue = TISSUE.muscle;
                value = 45;
                done = true;
              }
            }
            if (!done) {
              // Lung, unless dependent pleural fluid fills this part of the hemithorax.
              const wallDistance = depth - wall;
              const effusionMm = right ? effusionRightMm : effusionLeftMm;
              const posterior = clamp(sinT + 0.3, 0, 1.3) / 1.3;
              const fluid =
                effusionMm > 0 &&
                (wallDistance < effusionMm * posterior ||
                  (sinT > 0 && z - domeZ - DIAPHRAGM_MM < 0.6 * effusionMm * posterior));
              if (fluid) {
                tissue = TISSUE.effusion;
                value = 10 + 10 * dependent;
              } else {
                tissue = TISSUE.lung;
                value = lungRowHu;
                lungs[v] = right ? 1 : 2;
                wallDistanceMm[v] = wallDistance > 255 ? 255 : wallDistance;
              }
            }
          }
        }
        tissues[v] = tissue;
        hu[v] = value;
      }
    }
  }
  return { tissues, hu, lungs, wallDistanceMm, hilaMm: [rightHilum, leftHilum] };
}

/** Distance from a point to a segment in 3-D, mm. */
export function segmentDistance(
  x: number,
  y: number,
  z: number,
  a: readonly [number, number, number],
  b: readonly [number, number, number],
): number {
  const abx = b[0] - a[0];
  const aby = b[1] - a[1];
  const abz = b[2] - a[2];
  const apx = x - a[0];
  const apy = y - a[1];
  const apz = z - a[2];
  const len2 = abx * abx + aby * aby + abz * abz;
  const t = len2 > 0 ? clamp((apx * abx + apy * aby + apz * abz) / len2, 0, 1) : 0;
  const dx = apx - t * abx;
  const dy = apy - t * aby;
  const dz = apz - t * abz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}
