// Branching, tapering vessel and airway trees grown from the hila and drawn into the lungs.
import type { Random } from '@lesionenc/base';

import { TISSUE } from '../tissues';
import type { AnatomyVolumes, PhantomGrid } from './anatomy';

/** One straight, tapering piece of a tree. */
export interface TreeSegment {
  readonly start: readonly [number, number, number];
  readonly end: readonly [number, number, number];
  readonly startRadiusMm: number;
  readonly endRadiusMm: number;
}

type Vec3 = [number, number, number];

const VESSEL_HU = 40;
const AIRWAY_WALL_HU = 20;
const AIRWAY_HU = -1000;
/** Voxels at least this full of vessel are tissue `pulmonaryVessel`. */
const VESSEL_TISSUE_FILL = 0.9;

function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

function isLungAt(grid: PhantomGrid, volumes: AnatomyVolumes, p: readonly number[]): boolean {
  const k = Math.round(((p[2] as number) - grid.z0) / grid.sliceSpacingMm);
  const i = Math.round(((p[1] as number) - grid.y0) / grid.pixelMm);
  const j = Math.round(((p[0] as number) - grid.x0) / grid.pixelMm);
  if (k < 0 || k >= grid.slices || i < 0 || i >= grid.rows || j < 0 || j >= grid.columns) {
    return false;
  }
  return volumes.lungs[(k * grid.rows + i) * grid.columns + j] !== 0;
}

/**
 * Grows trees from a hilum: each segment splits in two, the children turning away from each
 * other and bending towards the lung periphery, radius and length shrinking by level, until
 * the radius falls below `minRadiusMm` or a segment would leave the lung.
 */
export function growTree(
  grid: PhantomGrid,
  volumes: AnatomyVolumes,
  random: Random,
  root: { start: Vec3; direction: Vec3; radiusMm: number; lengthMm: number },
  minRadiusMm: number,
): TreeSegment[] {
  const segments: TreeSegment[] = [];
  const hilum = root.start;
  const stack: { start: Vec3; direction: Vec3; radius: number; length: number }[] = [
    {
      start: root.start,
      direction: normalise(root.direction),
      radius: root.radiusMm,
      length: root.lengthMm,
    },
  ];
  while (stack.length > 0 && segments.length < 20000) {
    const node = stack.pop() as (typeof stack)[number];
    const taper = 0.93;
    const endRadius = node.radius * taper;
    let length = node.length;
    let end: Vec3 = [0, 0, 0];
    let inside = false;
    // Shorten a segment that would leave the lung; stop the branch if even a short one does.
    for (let attempt = 0; attempt < 3 && !inside; attempt++) {
      end = [
        node.start[0] + node.direction[0] * length,
        node.start[1] + node.direction[1] * length,
        node.start[2] + node.direction[2] * length,
      ];
      inside = isLungAt(grid, volumes, end);
      if (!inside) length *= 0.5;
    }
    if (!inside) continue;
    segments.push({ start: node.start, end, startRadiusMm: node.radius, endRadiusMm: endRadius });
    const childRadius = endRadius * random.uniform(0.8, 0.9);
    if (childRadius < minRadiusMm) continue;

    // Two children turn apart around a random axis perpendicular to the parent.
    const d = node.direction;
    const helper: Vec3 = Math.abs(d[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0];
    const u = normalise([
      d[1] * helper[2] - d[2] * helper[1],
      d[2] * helper[0] - d[0] * helper[2],
      d[0] * helper[1] - d[1] * helper[0],
    ]);
    const w: Vec3 = [
      d[1] * u[2] - d[2] * u[1],
      d[2] * u[0] - d[0] * u[2],
      d[0] * u[1] - d[1] * u[0],
    ];
    const spin = random.uniform(0, 2 * Math.PI);
    const px = Math.cos(spin);
    const py = Math.sin(spin);
    const perpendicular: Vec3 = [
      u[0] * px + w[0] * py,
      u[1] * px + w[1] * py,
      u[2] * px + w[2] * py,
    ];
    const outward = normalise([end[0] - hilum[0], end[1] - hilum[1], end[2] - hilum[2]]);
    for (const sign of [1, -1]) {
      const angle = random.uniform(0.35, 0.7);
      const c = Math.cos(angle);
      const sn = Math.sin(angle) * sign;
      const direction = normalise([
        d[0] * c + perpendicular[0] * sn + 0.35 * outward[0],
        d[1] * c + perpendicular[1] * sn + 0.35 * outward[1],
        d[2] * c + perpendicular[2] * sn + 0.35 * outward[2],
      ]);
      stack.push({
        start: end,
        direction,
        radius: childRadius,
        length: Math.max(node.length * random.uniform(0.74, 0.86), childRadius * 5),
      });
    }
  }
  return segments;
}

/**
 * Visits every voxel near a segment and hands it the distance to the axis and the local radius.
 * Only voxels inside the lungs are visited.
 */
function forEachNearVoxel(
  grid: PhantomGrid,
  volumes: AnatomyVolumes,
  segment: TreeSegment,
  marginMm: number,
  visit: (voxel: number, distanceMm: number, radiusMm: number) => void,
): void {
  const { start: a, end: b } = segment;
  const reach = Math.max(segment.startRadiusMm, segment.endRadiusMm) + marginMm;
  const kLow = Math.max(
    0,
    Math.floor((Math.min(a[2], b[2]) - reach - grid.z0) / grid.sliceSpacingMm),
  );
  const kHigh = Math.min(
    grid.slices - 1,
    Math.ceil((Math.max(a[2], b[2]) + reach - grid.z0) / grid.sliceSpacingMm),
  );
  const iLow = Math.max(0, Math.floor((Math.min(a[1], b[1]) - reach - grid.y0) / grid.pixelMm));
  const iHigh = Math.min(
    grid.rows - 1,
    Math.ceil((Math.max(a[1], b[1]) + reach - grid.y0) / grid.pixelMm),
  );
  const jLow = Math.max(0, Math.floor((Math.min(a[0], b[0]) - reach - grid.x0) / grid.pixelMm));
  const jHigh = Math.min(
    grid.columns - 1,
    Math.ceil((Math.max(a[0], b[0]) + reach - grid.x0) / grid.pixelMm),
  );
  const abx = b[0] - a[0];
  const aby = b[1] - a[1];
  const abz = b[2] - a[2];
  const len2 = abx * abx + aby * aby + abz * abz || 1;
  const r0 = segment.startRadiusMm;
  const dr = segment.endRadiusMm - r0;
  const lungs = volumes.lungs;
  for (let k = kLow; k <= kHigh; k++) {
    const apz = grid.z0 + k * grid.sliceSpacingMm - a[2];
    for (let i = iLow; i <= iHigh; i++) {
      const apy = grid.y0 + i * grid.pixelMm - a[1];
      const rowBase = (k * grid.rows + i) * grid.columns;
      for (let j = jLow; j <= jHigh; j++) {
        const v = rowBase + j;
        if (lungs[v] === 0) continue;
        const apx = grid.x0 + j * grid.pixelMm - a[0];
        let t = (apx * abx + apy * aby + apz * abz) / len2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const dx = apx - t * abx;
        const dy = apy - t * aby;
        const dz = apz - t * abz;
        const distance = Math.sqrt(dx * dx + dy * dy + dz * dz);
        const radius = r0 + t * dr;
        if (distance < radius + marginMm) visit(v, distance, radius);
      }
    }
  }
}

/**
 * Draws vessels into the lungs with partial-volume filling: a voxel's HU moves from lung
 * towards blood by the fraction of it the vessel covers, so vessels thinner than a voxel fade
 * instead of vanishing or turning into full voxels.
 */
export function drawVessels(
  grid: PhantomGrid,
  volumes: AnatomyVolumes,
  segments: readonly TreeSegment[],
): void {
  const { hu, tissues } = volumes;
  const h = grid.pixelMm;
  for (const segment of segments) {
    forEachNearVoxel(grid, volumes, segment, h, (v, distance, radius) => {
      const tissue = tissues[v];
      if (tissue !== TISSUE.lung && tissue !== TISSUE.pulmonaryVessel) return;
      let fill = (radius - distance) / h + 0.5;
      fill = fill < 0 ? 0 : fill > 1 ? 1 : fill;
      if (radius < h / 2) fill *= (2 * radius) / h;
      if (fill <= 0) return;
      const base = hu[v] as number;
      const value = base + fill * (VESSEL_HU - base);
      if (value > base) hu[v] = value;
      if (fill >= VESSEL_TISSUE_FILL) tissues[v] = TISSUE.pulmonaryVessel;
    });
  }
}

/** Draws airway walls, then lumens, into the lungs. Walls are drawn for bronchi of 1.2 mm and up. */
export function drawAirways(
  grid: PhantomGrid,
  volumes: AnatomyVolumes,
  segments: readonly TreeSegment[],
): void {
  const { hu, tissues } = volumes;
  for (const segment of segments) {
    const wallMm = 0.2 * segment.startRadiusMm + 0.4;
    if (segment.startRadiusMm >= 1.2) {
      forEachNearVoxel(grid, volumes, segment, wallMm, (v, distance, radius) => {
        if (distance >= radius && tissues[v] === TISSUE.lung) {
          tissues[v] = TISSUE.airwayWall;
          hu[v] = AIRWAY_WALL_HU;
        }
      });
    }
  }
  for (const segment of segments) {
    forEachNearVoxel(grid, volumes, segment, 0, (v, distance, radius) => {
      if (distance < radius) {
        tissues[v] = TISSUE.airway;
        hu[v] = AIRWAY_HU;
      }
    });
  }
}
