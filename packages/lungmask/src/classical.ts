// The weight-free lung segmentation: thresholds, body mask, airway removal, 3D components,
// left/right separation, hole filling and a pleural closing that keeps juxtapleural lesions.
import {
  type AxisTriple,
  type CtVolume,
  type LabelMap,
  type LongTaskOptions,
  LUNG_CLASSES,
  LesionEncError,
  createLabelMap,
  createLogger,
  createStageReporter,
  describeValue,
  throwIfAborted,
  voxelVolumeMm3,
} from '@lesionenc/base';
import {
  boundingBox2d,
  computeBodyMask,
  fillHoles2d,
  growLabels6,
  labelComponents2d,
  labelComponents3d,
  squaredDistanceToMask2d,
} from '@lesionenc/preprocess';

const log = createLogger('lesionenc.lungmask.classical');

// Voxel size of the grid the left/right search runs on, mm.
const SEPARATION_GRID_MM = 3;
// In-plane erosion radii tried, in order, until the lungs fall apart, mm.
const SEPARATION_RADII_MM: readonly number[] = [0, 2, 4, 6, 9, 12, 16, 20, 25];

/** Options of {@link segmentLungs}. */
export interface SegmentLungsOptions extends LongTaskOptions {
  /** Body voxels below this are air (lung, airways, gas). @defaultValue -350 */
  airThresholdHu?: number;
  /**
   * Largest in-plane area (mm²) of an air region near the midline that is taken for the trachea
   * or a main bronchus outside the lungs and removed.
   * @defaultValue 1200
   */
  maxAirwayAreaMm2?: number;
  /**
   * Whether to take back juxtapleural lesions: concavities of a lung's convex hull whose mouth
   * runs along the chest wall, and short craniocaudal gaps (see `maxCraniocaudalGapMm`).
   * @defaultValue true
   */
  juxtapleural?: boolean;
  /**
   * How much deeper under the skin than the lung's own costal surface a concavity's mouth may
   * lie and still count as chest wall, mm.
   * @defaultValue 25
   */
  chestWallMarginMm?: number;
  /**
   * Longest craniocaudal run of non-lung body voxels, mm, that is taken back as a lesion when the
   * same lung lies directly above and below it (a consolidation against the heart or the
   * paravertebral gutter, which the in-plane step cannot tell from the mediastinum). Applies
   * when `juxtapleural` is on; 0 turns it off.
   * @defaultValue 40
   */
  maxCraniocaudalGapMm?: number;
  /**
   * An air region of a slice is bowel or stomach gas, not lung, when more than
   * `gasDarkFraction` of its pixels are below `gasThresholdHu`: gas is nearly pure air, while lung
   * parenchyma averages about -850 HU.
   * @defaultValue -950
   */
  gasThresholdHu?: number;
  /** @defaultValue 0.6 */
  gasDarkFraction?: number;
  /** A second lung component is kept when it has at least this fraction of the largest. @defaultValue 0.05 */
  minSecondLungFraction?: number;
  /** Slices with less lung than this are not kept. @defaultValue 3 */
  minSliceAreaMm2?: number;
}

/** Defaults of {@link segmentLungs}. */
export const DEFAULT_SEGMENT_LUNGS: Readonly<
  Required<Omit<SegmentLungsOptions, keyof LongTaskOptions>>
> = Object.freeze({
  airThresholdHu: -350,
  maxAirwayAreaMm2: 1200,
  juxtapleural: true,
  chestWallMarginMm: 25,
  maxCraniocaudalGapMm: 40,
  gasThresholdHu: -950,
  gasDarkFraction: 0.6,
  minSecondLungFraction: 0.05,
  minSliceAreaMm2: 3,
});

/** The result of a lung segmentation. */
export interface LungSegmentation {
  /** 0 background, 1 right lung, 2 left lung, on the input's grid. */
  readonly labels: LabelMap;
  readonly rightLungVolumeMl: number;
  readonly leftLungVolumeMl: number;
  /** Lung area per slice, mm². */
  readonly sliceAreasMm2: Float64Array;
  /** Indices of the slices with at least `minSliceAreaMm2` of lung, ascending. */
  readonly keptSlices: readonly number[];
}

/**
 * Segments the lungs of a CT volume in HU without any trained weights.
 *
 * Steps: the body mask (lungmask's), air below `airThresholdHu` inside it, removal of air that
 * reaches the outside, removal of the trachea and main bronchi (small air regions near the
 * midline, slice by slice), 3D components (the largest, and a second one on the other side),
 * left/right separation (the mask is eroded in-plane until it falls apart into one part per
 * side, then every voxel goes to the nearer part, geodesically), per-slice hole filling (vessels,
 * enclosed lesions), and the concavities of each lung's convex hull whose mouth lies on the chest
 * wall (juxtapleural lesions), never the mediastinum, the heart notch or the liver dome, and
 * last the short craniocaudal runs of soft tissue with the same lung above and below (lesions
 * that merge in-plane with the mediastinum).
 *
 * @param volume - A CT volume in HU.
 * @param options - Thresholds, radii, progress and cancellation.
 * @returns Labels (1 right, 2 left), lung volumes and the kept slices.
 * @throws {@link LesionEncError} `INVALID_VOLUME` when the volume is not in HU,
 * `INVALID_ARGUMENT` for a bad option, `ABORTED` when the signal fires.
 * @example
 * ```ts
 * const { labels, rightLungVolumeMl, keptSlices } = segmentLungs(await readNifti('ct.nii.gz'));
 * ```
 */
export function segmentLungs(
  volume: CtVolume,
  options: SegmentLungsOptions = {},
): LungSegmentation {
  const settings = { ...DEFAULT_SEGMENT_LUNGS, ...options };
  checkOptions(volume, settings);
  const { signal, onProgress } = options;
  const stages = createStageReporter('lungmask', 6, onProgress);
  stages.start();

  const full = volume.geometry;
  const body = computeBodyMask(volume);
  throwIfAborted(signal, 'lungmask');
  stages.step('body mask');

  // Work on the in-plane box of the body only.
  const [slices, rows, columns] = full.shape;
  const projected = new Uint8Array(rows * columns);
  for (let k = 0; k < slices; k++) {
    const base = k * rows * columns;
    for (let n = 0; n < projected.length; n++) if (body.data[base + n] !== 0) projected[n] = 1;
  }
  const box = boundingBox2d(projected, rows, columns);
  const labelsFull = new Uint8Array(volume.data.length);
  if (box === undefined) {
    log.warn('no body found: the lung mask is empty');
    stages.done();
    return finish(labelsFull, volume, settings.minSliceAreaMm2);
  }
  const crop = {
    rows: box.rowEnd - box.rowStart,
    columns: box.columnEnd - box.columnStart,
  };
  const shape: AxisTriple = [slices, crop.rows, crop.columns];
  const hu = new Float32Array(slices * crop.rows * crop.columns);
  const inBody = new Uint8Array(hu.length);
  forEachCropRow(full.shape, box, (from, to) => {
    for (let j = 0; j < crop.columns; j++) {
      hu[to + j] = volume.data[from + j]!;
      inBody[to + j] = body.data[from + j]!;
    }
  });

  const air = new Uint8Array(hu.length);
  for (let n = 0; n < hu.length; n++) {
    air[n] = inBody[n] !== 0 && hu[n]! < settings.airThresholdHu ? 1 : 0;
  }
  removeOutsideAir(air, inBody, shape);
  const midline = bodyMidlines(inBody, shape);
  removeAirways(air, shape, full.spacingMm, midline, settings.maxAirwayAreaMm2);
  removeGasPockets(air, hu, shape, settings);
  throwIfAborted(signal, 'lungmask');
  stages.step('air and airways');

  const lungs = selectLungComponents(air, shape, midline, settings.minSecondLungFraction);
  throwIfAborted(signal, 'lungmask');
  stages.step('components');

  const sides = separateLungs(lungs, shape, full.spacingMm, midline);
  throwIfAborted(signal, 'lungmask');
  stages.step('left/right');

  const labels = labelSides(sides, full);
  fillHolesPerLabel(labels, shape);
  if (settings.juxtapleural) {
    addJuxtapleuralLesions(labels, inBody, shape, full.spacingMm, settings.chestWallMarginMm);
    fillHolesPerLabel(labels, shape);
  }
  const gapSlices = Math.floor(settings.maxCraniocaudalGapMm / full.spacingMm[0]);
  if (settings.juxtapleural && gapSlices > 0) {
    fillCraniocaudalGaps(labels, inBody, shape, gapSlices);
    fillHolesPerLabel(labels, shape);
  }
  throwIfAborted(signal, 'lungmask');
  stages.step('holes and pleura');

  forEachCropRow(full.shape, box, (from, to) => {
    labelsFull.set(labels.subarray(to, to + crop.columns), from);
  });
  const result = finish(labelsFull, volume, settings.minSliceAreaMm2);
  stages.done();
  return result;
}

function checkOptions(
  volume: CtVolume,
  settings: Required<Omit<SegmentLungsOptions, keyof LongTaskOptions>>,
): void {
  if (volume.unit !== 'HU') {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `lungmask: expected a volume in HU, got '${volume.unit}' intensities`,
    );
  }
  const positive = [
    'maxAirwayAreaMm2',
    'minSliceAreaMm2',
    'chestWallMarginMm',
    'maxCraniocaudalGapMm',
  ] as const;
  for (const key of positive) {
    if (!(settings[key] >= 0) || !Number.isFinite(settings[key])) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `lungmask ${key}: expected a finite number >= 0, got ${describeValue(settings[key])}`,
      );
    }
  }
  if (!Number.isFinite(settings.airThresholdHu)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `lungmask airThresholdHu: expected a finite number, got ${describeValue(settings.airThresholdHu)}`,
    );
  }
}

function forEachCropRow(
  shape: AxisTriple,
  box: { rowStart: number; rowEnd: number; columnStart: number; columnEnd: number },
  visit: (fullIndex: number, cropIndex: number) => void,
): void {
  const [slices, rows, columns] = shape;
  const cropRows = box.rowEnd - box.rowStart;
  const cropColumns = box.columnEnd - box.columnStart;
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < cropRows; i++) {
      visit(
        (k * rows + i + box.rowStart) * columns + box.columnStart,
        (k * cropRows + i) * cropColumns,
      );
    }
  }
}

/** Clears air pixels that connect, in their slice, to pixels outside the body. */
function removeOutsideAir(air: Uint8Array, inBody: Uint8Array, shape: AxisTriple): void {
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  const queue = new Int32Array(size);
  for (let k = 0; k < slices; k++) {
    const base = k * size;
    let tail = 0;
    for (let p = 0; p < size; p++) {
      if (air[base + p] === 0) continue;
      const i = Math.floor(p / columns);
      const j = p - i * columns;
      const touchesOutside =
        i === 0 ||
        j === 0 ||
        i === rows - 1 ||
        j === columns - 1 ||
        inBody[base + p - 1] === 0 ||
        inBody[base + p + 1] === 0 ||
        inBody[base + p - columns] === 0 ||
        inBody[base + p + columns] === 0;
      if (touchesOutside) {
        air[base + p] = 0;
        queue[tail++] = p;
      }
    }
    let head = 0;
    while (head < tail) {
      const p = queue[head++]!;
      const j = p % columns;
      let q = p - columns;
      if (p >= columns && air[base + q] !== 0) {
        air[base + q] = 0;
        queue[tail++] = q;
      }
      q = p + columns;
      if (q < size && air[base + q] !== 0) {
        air[base + q] = 0;
        queue[tail++] = q;
      }
      q = p - 1;
      if (j > 0 && air[base + q] !== 0) {
        air[base + q] = 0;
        queue[tail++] = q;
      }
      q = p + 1;
      if (j < columns - 1 && air[base + q] !== 0) {
        air[base + q] = 0;
        queue[tail++] = q;
      }
    }
  }
}

/** Per slice: the body's centre column and half-width (columns); NaN for slices without body. */
interface Midlines {
  readonly centre: Float64Array;
  readonly halfWidth: Float64Array;
}

function bodyMidlines(inBody: Uint8Array, shape: AxisTriple): Midlines {
  const [slices, rows, columns] = shape;
  const centre = new Float64Array(slices).fill(Number.NaN);
  const halfWidth = new Float64Array(slices).fill(Number.NaN);
  for (let k = 0; k < slices; k++) {
    const box = boundingBox2d(
      inBody.subarray(k * rows * columns, (k + 1) * rows * columns),
      rows,
      columns,
    );
    if (box === undefined) continue;
    centre[k] = (box.columnStart + box.columnEnd - 1) / 2;
    halfWidth[k] = (box.columnEnd - box.columnStart) / 2;
  }
  return { centre, halfWidth };
}

/**
 * Removes the trachea and the main bronchi while they run outside the lungs: in each slice, air
 * regions smaller than `maxAreaMm2` whose centre lies in the middle fifth of the body's width.
 */
function removeAirways(
  air: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  midline: Midlines,
  maxAreaMm2: number,
): void {
  const [, rows, columns] = shape;
  const size = rows * columns;
  const pixelMm2 = spacingMm[1] * spacingMm[2];
  const { labels, sizes } = labelComponents2d(air, shape, 4);
  const sumColumn = new Float64Array(sizes.length);
  const sliceOf = new Int32Array(sizes.length);
  for (let n = 0; n < labels.length; n++) {
    const id = labels[n]!;
    if (id === 0) continue;
    sumColumn[id - 1]! += n % columns;
    sliceOf[id - 1] = Math.floor(n / size);
  }
  const remove = new Uint8Array(sizes.length);
  for (let c = 0; c < sizes.length; c++) {
    const k = sliceOf[c]!;
    const centre = midline.centre[k]!;
    const half = midline.halfWidth[k]!;
    const meanColumn = sumColumn[c]! / sizes[c]!;
    if (sizes[c]! * pixelMm2 <= maxAreaMm2 && Math.abs(meanColumn - centre) < 0.2 * half) {
      remove[c] = 1;
    }
  }
  for (let n = 0; n < labels.length; n++) {
    const id = labels[n]!;
    if (id !== 0 && remove[id - 1] === 1) air[n] = 0;
  }
}

/** Removes, slice by slice, air regions that are almost all darker than lung parenchyma. */
function removeGasPockets(
  air: Uint8Array,
  hu: Float32Array,
  shape: AxisTriple,
  settings: Required<Omit<SegmentLungsOptions, keyof LongTaskOptions>>,
): void {
  const { labels, sizes } = labelComponents2d(air, shape, 4);
  const dark = new Float64Array(sizes.length);
  for (let n = 0; n < labels.length; n++) {
    const id = labels[n]!;
    if (id !== 0 && hu[n]! < settings.gasThresholdHu) dark[id - 1]! += 1;
  }
  for (let n = 0; n < labels.length; n++) {
    const id = labels[n]!;
    if (id !== 0 && dark[id - 1]! > settings.gasDarkFraction * sizes[id - 1]!) air[n] = 0;
  }
}

/** Fraction of a component's voxels on the image's right-hand half of the body (low columns). */
function lowColumnFraction(
  labels: Int32Array,
  id: number,
  shape: AxisTriple,
  midline: Midlines,
): number {
  const [, rows, columns] = shape;
  const size = rows * columns;
  let low = 0;
  let total = 0;
  for (let n = 0; n < labels.length; n++) {
    if (labels[n] !== id) continue;
    total += 1;
    if (n % columns < midline.centre[Math.floor(n / size)]!) low += 1;
  }
  return total === 0 ? 0.5 : low / total;
}

/** Keeps the largest air component, and a second on the other side when it is large enough. */
function selectLungComponents(
  air: Uint8Array,
  shape: AxisTriple,
  midline: Midlines,
  minSecondFraction: number,
): Uint8Array {
  const { labels, sizes } = labelComponents3d(air, shape, 6);
  const out = new Uint8Array(air.length);
  if (sizes.length === 0) return out;
  const order = sizes.map((_, c) => c).sort((a, b) => sizes[b]! - sizes[a]!);
  const first = order[0]!;
  const keep = new Set([first + 1]);
  const firstLow = lowColumnFraction(labels, first + 1, shape, midline);
  if (firstLow < 0.8 && firstLow > 0.2) {
    // Both lungs in one component (they touch, or the airways join them).
  } else {
    for (const c of order.slice(1)) {
      if (sizes[c]! < minSecondFraction * sizes[first]!) break;
      const low = lowColumnFraction(labels, c + 1, shape, midline);
      if (low > 0.5 !== firstLow > 0.5) {
        keep.add(c + 1);
        break;
      }
    }
  }
  for (let n = 0; n < labels.length; n++) if (keep.has(labels[n]!)) out[n] = 1;
  return out;
}

/**
 * Splits a lung mask into a low-column part (1) and a high-column part (2): the mask is eroded
 * in-plane by growing radii until its 3D components include one large part per side, and each
 * voxel then goes to the part it reaches first inside the mask. When no radius separates them,
 * each slice is split at the body's midline.
 */
function separateLungs(
  lungs: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  midline: Midlines,
): Uint8Array {
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  const sides = new Uint8Array(lungs.length);
  let total = 0;
  for (let n = 0; n < lungs.length; n++) total += lungs[n]!;
  if (total === 0) return sides;

  // The search for a separating radius runs on a grid of about 3 mm, which is plenty to find
  // one seed per lung; the split itself is made at full resolution.
  const fk = Math.max(1, Math.round(SEPARATION_GRID_MM / spacingMm[0]));
  const fi = Math.max(1, Math.round(SEPARATION_GRID_MM / spacingMm[1]));
  const fj = Math.max(1, Math.round(SEPARATION_GRID_MM / spacingMm[2]));
  const low: AxisTriple = [Math.ceil(slices / fk), Math.ceil(rows / fi), Math.ceil(columns / fj)];
  const lowSize = low[1] * low[2];
  const lowMask = new Uint8Array(low[0] * lowSize);
  for (let kk = 0; kk < low[0]; kk++) {
    const k = Math.min(slices - 1, kk * fk + (fk >> 1));
    for (let ii = 0; ii < low[1]; ii++) {
      const i = Math.min(rows - 1, ii * fi + (fi >> 1));
      for (let jj = 0; jj < low[2]; jj++) {
        const j = Math.min(columns - 1, jj * fj + (fj >> 1));
        lowMask[kk * lowSize + ii * low[2] + jj] = lungs[k * size + i * columns + j]!;
      }
    }
  }
  const lowSpacing: AxisTriple = [spacingMm[0] * fk, spacingMm[1] * fi, spacingMm[2] * fj];
  const lowMidline: Midlines = {
    centre: Float64Array.from({ length: low[0] }, (_, kk) => {
      const c = midline.centre[Math.min(slices - 1, kk * fk + (fk >> 1))]!;
      return (c - (fj >> 1)) / fj;
    }),
    halfWidth: new Float64Array(low[0]),
  };

  const background = new Uint8Array(lowSize);
  const depth2 = new Float32Array(lowMask.length);
  const slice2 = new Float32Array(lowSize);
  let lowTotal = 0;
  for (let kk = 0; kk < low[0]; kk++) {
    const base = kk * lowSize;
    for (let p = 0; p < lowSize; p++) {
      background[p] = lowMask[base + p] === 0 ? 1 : 0;
      lowTotal += lowMask[base + p]!;
    }
    squaredDistanceToMask2d(background, low[1], low[2], lowSpacing[1], lowSpacing[2], slice2);
    depth2.set(slice2, base);
  }

  const core = new Uint8Array(lowMask.length);
  for (const radiusMm of SEPARATION_RADII_MM) {
    const r2 = radiusMm * radiusMm;
    for (let n = 0; n < lowMask.length; n++) {
      core[n] = lowMask[n] !== 0 && depth2[n]! > r2 ? 1 : 0;
    }
    const { labels, sizes } = labelComponents3d(core, low, 6);
    const seeds = pickSideSeeds(labels, sizes, low, lowMidline, lowTotal);
    if (seeds === undefined) continue;
    for (let k = 0; k < slices; k++) {
      const kk = Math.floor(k / fk);
      for (let i = 0; i < rows; i++) {
        const row = kk * lowSize + Math.floor(i / fi) * low[2];
        const o = k * size + i * columns;
        for (let j = 0; j < columns; j++) {
          if (lungs[o + j] === 0) continue;
          const id = labels[row + Math.floor(j / fj)]!;
          if (id === seeds[0]) sides[o + j] = 1;
          else if (id === seeds[1]) sides[o + j] = 2;
        }
      }
    }
    growGeodesic(sides, lungs, shape);
    return sides;
  }

  log.debug('lungs did not separate by erosion; splitting at the body midline');
  for (let n = 0; n < lungs.length; n++) {
    if (lungs[n] === 0) continue;
    const k = Math.floor(n / size);
    sides[n] = n % columns < midline.centre[k]! ? 1 : 2;
  }
  return sides;
}

/** The ids of one large component per side, low columns first, or undefined. */
function pickSideSeeds(
  labels: Int32Array,
  sizes: readonly number[],
  shape: AxisTriple,
  midline: Midlines,
  total: number,
): [number, number] | undefined {
  const [, rows, columns] = shape;
  const size = rows * columns;
  const low = new Float64Array(sizes.length);
  for (let n = 0; n < labels.length; n++) {
    const id = labels[n]!;
    if (id !== 0 && n % columns < midline.centre[Math.floor(n / size)]!) low[id - 1]! += 1;
  }
  let bestLow = -1;
  let bestHigh = -1;
  for (let c = 0; c < sizes.length; c++) {
    const s = sizes[c]!;
    const lowFraction = low[c]! / s;
    if (lowFraction > 0.8 && (bestLow < 0 || s > sizes[bestLow]!)) bestLow = c;
    if (lowFraction < 0.2 && (bestHigh < 0 || s > sizes[bestHigh]!)) bestHigh = c;
  }
  // A component that straddles the midline and is bigger than both means not yet separated.
  const largest = sizes.reduce((m, s) => Math.max(m, s), 0);
  if (bestLow < 0 || bestHigh < 0) return undefined;
  const minPart = 0.03 * total;
  if (sizes[bestLow]! < minPart || sizes[bestHigh]! < minPart) return undefined;
  if (largest > sizes[bestLow]! && largest > sizes[bestHigh]!) return undefined;
  return [bestLow + 1, bestHigh + 1];
}

/** Multi-source breadth-first growth of labels 1 and 2 through the mask (6-connected). */
function growGeodesic(sides: Uint8Array, mask: Uint8Array, shape: AxisTriple): void {
  const queue = new Int32Array(mask.length);
  let count = 0;
  for (let n = 0; n < sides.length; n++) if (sides[n] !== 0) queue[count++] = n;
  growLabels6(sides, mask, shape, queue, count);
}

/** Turns low/high-column sides into right (1) / left (2) lung labels using the direction. */
function labelSides(sides: Uint8Array, geometry: CtVolume['geometry']): Uint8Array {
  // Direction column 2 is the columns axis in LPS; its x component says whether columns run
  // towards the patient's left (+x) or right.
  const columnsTowardsLeft = geometry.direction[2]! >= 0;
  const labels = new Uint8Array(sides.length);
  for (let n = 0; n < sides.length; n++) {
    const s = sides[n]!;
    if (s === 0) continue;
    labels[n] = columnsTowardsLeft ? s : 3 - s;
  }
  return labels;
}

function fillHolesPerLabel(labels: Uint8Array, shape: AxisTriple): void {
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  for (let k = 0; k < slices; k++) {
    const base = k * size;
    for (const value of [1, 2]) {
      let rowStart = rows;
      let rowEnd = -1;
      let columnStart = columns;
      let columnEnd = -1;
      for (let p = 0; p < size; p++) {
        if (labels[base + p] !== value) continue;
        const i = Math.floor(p / columns);
        const j = p - i * columns;
        if (i < rowStart) rowStart = i;
        rowEnd = i;
        if (j < columnStart) columnStart = j;
        if (j > columnEnd) columnEnd = j;
      }
      if (rowEnd < 0) continue;
      // Only the label's box can hold its holes.
      const h = rowEnd - rowStart + 1;
      const w = columnEnd - columnStart + 1;
      const single = new Uint8Array(h * w);
      for (let i = 0; i < h; i++) {
        const o = base + (i + rowStart) * columns + columnStart;
        for (let j = 0; j < w; j++) single[i * w + j] = labels[o + j] === value ? 1 : 0;
      }
      const filled = fillHoles2d(single, [1, h, w]);
      for (let i = 0; i < h; i++) {
        const o = base + (i + rowStart) * columns + columnStart;
        for (let j = 0; j < w; j++) {
          if (filled[i * w + j] === 1 && labels[o + j] === 0) labels[o + j] = value;
        }
      }
    }
  }
}

/**
 * Takes back juxtapleural lesions, slice by slice: the concavities of each lung's convex hull
 * whose mouth lies on the chest wall. A lesion against the pleura is a bright bay in the
 * thresholded lung, and the chord that closes it runs along the ribs, about as deep under the
 * skin as the rest of the lung's costal surface. The mediastinum, the heart notch, the
 * paravertebral gutter and the liver dome under a basal crescent are concavities too, but the
 * chords across them run deep inside the body, so they are left out; so is anything between the
 * two lungs in its row.
 */
function addJuxtapleuralLesions(
  labels: Uint8Array,
  inBody: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  marginMm: number,
): void {
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  const outside = new Uint8Array(size);
  const depth2 = new Float32Array(size);

  for (let k = 0; k < slices; k++) {
    const base = k * size;
    let any = false;
    for (let p = 0; p < size; p++) {
      outside[p] = inBody[base + p] === 0 ? 1 : 0;
      if (labels[base + p] !== 0) any = true;
    }
    if (!any) continue;
    squaredDistanceToMask2d(outside, rows, columns, spacingMm[1], spacingMm[2], depth2);
    const gap = mediastinalGap(labels, base, rows, columns);

    for (const value of [1, 2]) {
      const interval = hullRows(labels, base, rows, columns, value);
      if (interval === undefined) continue;
      addBaysOfOneLung(labels, inBody, depth2, base, rows, columns, value, interval, gap, marginMm);
    }
  }
}

/** The part of {@link addJuxtapleuralLesions} for one lung in one slice, on its hull's box. */
function addBaysOfOneLung(
  labels: Uint8Array,
  inBody: Uint8Array,
  depth2: Float32Array,
  base: number,
  rows: number,
  columns: number,
  value: number,
  interval: { start: Int32Array; end: Int32Array },
  gap: { start: Int32Array; end: Int32Array },
  marginMm: number,
): void {
  let rowStart = rows;
  let rowEnd = -1;
  let columnStart = columns;
  let columnEnd = -1;
  for (let i = 0; i < rows; i++) {
    if (interval.start[i]! > interval.end[i]!) continue;
    rowStart = Math.min(rowStart, i);
    rowEnd = Math.max(rowEnd, i);
    columnStart = Math.min(columnStart, interval.start[i]!);
    columnEnd = Math.max(columnEnd, interval.end[i]!);
  }
  if (rowEnd < 0) return;
  // A sub-image with a one-pixel frame outside the hull, so border tests need no bounds checks.
  const r0 = rowStart - 1;
  const c0 = columnStart - 1;
  const h = rowEnd - rowStart + 3;
  const w = columnEnd - columnStart + 3;
  const hull = new Uint8Array(h * w);
  for (let i = rowStart; i <= rowEnd; i++) {
    const o = (i - r0) * w - c0;
    for (let j = interval.start[i]!; j <= interval.end[i]!; j++) hull[o + j] = 1;
  }
  const onBorder = (q: number) =>
    hull[q - 1] === 0 || hull[q + 1] === 0 || hull[q - w] === 0 || hull[q + w] === 0;

  // The depth of the lung's own costal surface: lung pixels on the hull's border.
  const costal: number[] = [];
  const candidate = new Uint8Array(h * w);
  let lungPixels = 0;
  for (let i = 1; i < h - 1; i++) {
    for (let j = 1; j < w - 1; j++) {
      const q = i * w + j;
      if (hull[q] === 0) continue;
      const p = (i + r0) * columns + j + c0;
      const v = labels[base + p];
      if (v === value) {
        lungPixels += 1;
        if (onBorder(q)) costal.push(depth2[p]!);
      } else if (v === 0 && inBody[base + p] !== 0) {
        candidate[q] = 1;
      }
    }
  }
  if (costal.length === 0) return;
  const costalDepthMm = Math.sqrt(quantile(costal, 0.5));

  const bays = labelComponents2d(candidate, [1, h, w], 4);
  if (bays.sizes.length === 0) return;
  const mouths: number[][] = bays.sizes.map(() => []);
  for (let q = 0; q < h * w; q++) {
    const id = bays.labels[q]!;
    if (id === 0 || !onBorder(q)) continue;
    const i = Math.floor(q / w) + r0;
    mouths[id - 1]!.push(depth2[i * columns + (q % w) + c0]!);
  }
  // Nearly all of a bay's mouth must lie at chest-wall depth, and a bay is never larger than
  // the aerated lung beside it in the slice.
  const accept = mouths.map(
    (mouth, c) =>
      bays.sizes[c]! <= lungPixels &&
      (mouth.length === 0 || Math.sqrt(quantile(mouth, 0.9)) <= costalDepthMm + marginMm),
  );
  for (let q = 0; q < h * w; q++) {
    const id = bays.labels[q]!;
    if (id === 0 || accept[id - 1] !== true) continue;
    const i = Math.floor(q / w) + r0;
    const j = (q % w) + c0;
    if (j < gap.start[i]! || j >= gap.end[i]!) labels[base + i * columns + j] = value;
  }
}

/**
 * Fills, along each craniocaudal line, runs of at most `maxSlices` non-lung body voxels that have
 * the same lung directly above and below: a lesion inside a lung that merged, in its slices,
 * with the mediastinum or the chest wall. Voxels between the two lungs in their row are
 * mediastinum and stay out.
 */
function fillCraniocaudalGaps(
  labels: Uint8Array,
  inBody: Uint8Array,
  shape: AxisTriple,
  maxSlices: number,
): void {
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  const gapStart = new Int32Array(slices * rows);
  const gapEnd = new Int32Array(slices * rows);
  // Per pixel of the slice: the last slice that had lung there, and which lung.
  const lastSlice = new Int32Array(size).fill(-1);
  const lastValue = new Uint8Array(size);

  for (let k = 0; k < slices; k++) {
    // Slice k is final here: fills only reach slices above the current one.
    const gap = mediastinalGap(labels, k * size, rows, columns);
    gapStart.set(gap.start, k * rows);
    gapEnd.set(gap.end, k * rows);
    for (let p = 0; p < size; p++) {
      const n = k * size + p;
      const v = labels[n]!;
      if (v === 0) {
        if (inBody[n] === 0) lastValue[p] = 0;
        continue;
      }
      const run = k - lastSlice[p]! - 1;
      if (v === lastValue[p] && run > 0 && run <= maxSlices) {
        const i = Math.floor(p / columns);
        const j = p - i * columns;
        for (let g = lastSlice[p]! + 1; g < k; g++) {
          const r = g * rows + i;
          if (j < gapStart[r]! || j >= gapEnd[r]!) labels[g * size + p] = v;
        }
      }
      lastSlice[p] = k;
      lastValue[p] = v;
    }
  }
}

function quantile(values: number[], q: number): number {
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(values.length * q))]!;
}

/**
 * The convex hull of one label in one slice, as an inclusive column interval per row (empty rows
 * have start > end), or undefined when the label is absent.
 */
function hullRows(
  labels: Uint8Array,
  base: number,
  rows: number,
  columns: number,
  value: number,
): { start: Int32Array; end: Int32Array } | undefined {
  // The row extremes are enough: every other pixel lies between them.
  const points: [number, number][] = [];
  for (let i = 0; i < rows; i++) {
    let first = -1;
    let last = -1;
    for (let j = 0; j < columns; j++) {
      if (labels[base + i * columns + j] !== value) continue;
      if (first < 0) first = j;
      last = j;
    }
    if (first < 0) continue;
    points.push([first, i]);
    if (last !== first) points.push([last, i]);
  }
  if (points.length === 0) return undefined;
  const polygon = convexHull(points);
  const start = new Int32Array(rows).fill(columns);
  const end = new Int32Array(rows).fill(-1);
  const count = polygon.length;
  for (let e = 0; e < count; e++) {
    const [x0, y0] = polygon[e]!;
    const [x1, y1] = polygon[(e + 1) % count]!;
    const lo = Math.ceil(Math.min(y0, y1));
    const hi = Math.floor(Math.max(y0, y1));
    for (let i = lo; i <= hi; i++) {
      const x = y1 === y0 ? Math.min(x0, x1) : x0 + ((i - y0) * (x1 - x0)) / (y1 - y0);
      const x2 = y1 === y0 ? Math.max(x0, x1) : x;
      const left = Math.ceil(Math.min(x, x2) - 1e-9);
      const right = Math.floor(Math.max(x, x2) + 1e-9);
      if (left < start[i]!) start[i] = Math.max(0, left);
      if (right > end[i]!) end[i] = Math.min(columns - 1, right);
    }
  }
  for (const [x, y] of polygon) {
    if (x < start[y]!) start[y] = x;
    if (x > end[y]!) end[y] = x;
  }
  return { start, end };
}

/** Andrew's monotone chain; points are `[x, y]`, the hull comes back counter-clockwise. */
function convexHull(points: [number, number][]): [number, number][] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (sorted.length < 3) return sorted;
  const cross = (o: [number, number], a: [number, number], b: [number, number]) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) {
      lower.pop();
    }
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let n = sorted.length - 1; n >= 0; n--) {
    const p = sorted[n]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) {
      upper.pop();
    }
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/** Per row of one slice: the columns strictly between the two lungs, `[start, end)`. */
function mediastinalGap(
  labels: Uint8Array,
  base: number,
  rows: number,
  columns: number,
): { start: Int32Array; end: Int32Array } {
  // Per slice, the innermost column of each lung (over all rows) bounds the mediastinum.
  let lowInner = -1;
  let highInner = columns;
  let lowSeen = false;
  let highSeen = false;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const v = labels[base + i * columns + j]!;
      if (v === 0) continue;
      // Labels may be swapped relative to columns; the order is decided below.
      if (v === 1) lowSeen = true;
      if (v === 2) highSeen = true;
    }
  }
  const start = new Int32Array(rows);
  const end = new Int32Array(rows);
  if (!lowSeen || !highSeen) return { start, end };
  // Mean column per label tells which lung is on the low-column side.
  const sum = [0, 0, 0];
  const count = [0, 0, 0];
  for (let p = 0; p < rows * columns; p++) {
    const v = labels[base + p]!;
    if (v === 0) continue;
    sum[v]! += p % columns;
    count[v]! += 1;
  }
  const lowLabel = sum[1]! / count[1]! < sum[2]! / count[2]! ? 1 : 2;
  for (let i = 0; i < rows; i++) {
    lowInner = -1;
    highInner = columns;
    for (let j = 0; j < columns; j++) {
      const v = labels[base + i * columns + j]!;
      if (v === lowLabel) lowInner = j;
    }
    for (let j = columns - 1; j >= 0; j--) {
      const v = labels[base + i * columns + j]!;
      if (v !== 0 && v !== lowLabel) highInner = j;
    }
    start[i] = lowInner + 1;
    end[i] =
      lowInner >= 0 && highInner < columns && highInner > lowInner ? highInner : lowInner + 1;
  }
  return { start, end };
}

function finish(labels: Uint8Array, volume: CtVolume, minSliceAreaMm2: number): LungSegmentation {
  const g = volume.geometry;
  const [slices, rows, columns] = g.shape;
  const size = rows * columns;
  const pixelMm2 = g.spacingMm[1] * g.spacingMm[2];
  const counts = [0, 0, 0];
  const sliceAreasMm2 = new Float64Array(slices);
  const keptSlices: number[] = [];
  for (let k = 0; k < slices; k++) {
    let inSlice = 0;
    for (let p = 0; p < size; p++) {
      const v = labels[k * size + p]!;
      if (v === 0) continue;
      counts[v]! += 1;
      inSlice += 1;
    }
    sliceAreasMm2[k] = inSlice * pixelMm2;
    if (sliceAreasMm2[k]! >= minSliceAreaMm2 && inSlice > 0) keptSlices.push(k);
  }
  const mlPerVoxel = voxelVolumeMm3(g) / 1000;
  return {
    labels: createLabelMap(labels, g, LUNG_CLASSES),
    rightLungVolumeMl: counts[1]! * mlPerVoxel,
    leftLungVolumeMl: counts[2]! * mlPerVoxel,
    sliceAreasMm2,
    keptSlices,
  };
}
