// Cohort simulator: patients with latent disease parameters, labels from written rules, scans per hospital.
import { LesionEncError, type Random, createRandom, describeValue } from '@lesionenc/base';

import type {
  AnatomyConfig,
  ChestPhantomConfig,
  DiseaseConfig,
  Laterality,
  Reconstruction,
} from './config';
import { DEFAULT_CHEST_PHANTOM } from './config';

/** The two hospitals of the train-on-one, test-on-the-other protocol. */
export type HospitalName = 'A' | 'B';

/** How a hospital scans: its scanner settings and reconstruction habits. */
export interface HospitalProfile {
  readonly fieldOfViewMm: number;
  readonly sliceSpacingMm: number;
  readonly sliceThicknessMm: number;
  readonly scanLengthMm: number;
  /** Multiplies the reconstruction kernel's noise (dose, scanner make). */
  readonly noiseScale: number;
  /** Probability that a scan is the lung (sharp) reconstruction rather than the mediastinal one. */
  readonly lungReconstructionShare: number;
  /** Probabilities of 1, 2 and 3 scans per patient; they sum to 1. */
  readonly scansPerPatient: readonly [number, number, number];
}

/**
 * The hospitals' scanner settings. A: thick 5 mm slices, 340 mm field of view, standard dose,
 * mostly lung reconstructions, about 1.9 scans per patient. B: thin 2.5 mm slices of 3 mm
 * thickness, 380 mm field of view, 40 % more noise, mostly mediastinal reconstructions, about 1.65
 * scans per patient.
 */
export const HOSPITAL_PROFILES: Readonly<Record<HospitalName, HospitalProfile>> = Object.freeze({
  A: Object.freeze({
    fieldOfViewMm: 340,
    sliceSpacingMm: 5,
    sliceThicknessMm: 5,
    scanLengthMm: 320,
    noiseScale: 1,
    lungReconstructionShare: 0.65,
    scansPerPatient: Object.freeze([0.3, 0.5, 0.2]) as readonly [number, number, number],
  }),
  B: Object.freeze({
    fieldOfViewMm: 380,
    sliceSpacingMm: 2.5,
    sliceThicknessMm: 3,
    scanLengthMm: 320,
    noiseScale: 1.4,
    lungReconstructionShare: 0.4,
    scansPerPatient: Object.freeze([0.5, 0.35, 0.15]) as readonly [number, number, number],
  }),
});

/** What a cohort is made from. */
export interface CohortConfig {
  readonly seed: number;
  readonly patients: number;
  readonly hospital: HospitalName;
  /** In-plane matrix of every scan. */
  readonly matrix: number;
  /** Share of patients who are severe. */
  readonly severePrevalence: number;
  /** Share of all patients who are mild and convert to severe within 7 days. */
  readonly converterPrevalence: number;
  /** The hospital's scanner settings; defaults to {@link HOSPITAL_PROFILES} of `hospital`. */
  readonly profile: HospitalProfile | null;
}

/** A cohort of 100 patients of hospital A at 128 x 128, 7 % severe and 7 % converters. */
export const DEFAULT_COHORT: CohortConfig = Object.freeze({
  seed: 0,
  patients: 100,
  hospital: 'A',
  matrix: 128,
  severePrevalence: 0.07,
  converterPrevalence: 0.07,
  profile: null,
} satisfies CohortConfig);

/** The standard-normal latent variables of one patient (see the package README for the rules). */
export interface PatientLatent {
  /** Lesion burden. */
  readonly burden: number;
  /** Consolidation share. */
  readonly consolidation: number;
  /** Crazy paving. */
  readonly crazyPaving: number;
  /** Lesion texture heterogeneity. */
  readonly texture: number;
  /** Peripheral multifocal spread. */
  readonly spread: number;
  /** The severity score S and the progression score C the labels are thresholded from. */
  readonly severityScore: number;
  readonly progressionScore: number;
}

/** One scan of a cohort. */
export interface CohortScan {
  /** For example `A-P007-S2`. */
  readonly scanId: string;
  readonly patientId: string;
  /** Scans of the same acquisition share anatomy and lesions (and masks); they differ in noise and kernel. */
  readonly acquisition: number;
  readonly reconstruction: Reconstruction;
  /** The full configuration that draws it. */
  readonly phantom: ChestPhantomConfig;
}

/** One patient of a cohort, with labels. */
export interface CohortPatient {
  /** For example `A-P007`. */
  readonly patientId: string;
  readonly hospital: HospitalName;
  readonly latent: PatientLatent;
  /** Severity label: 1 severe, 0 mild. */
  readonly severe: boolean;
  /** Progression label: a mild patient who turns severe within 7 days. Always false when severe. */
  readonly converter: boolean;
  readonly disease: DiseaseConfig;
  readonly anatomy: AnatomyConfig;
  readonly scans: readonly CohortScan[];
}

/** A simulated cohort: patients, their scans, and the configuration. */
export interface Cohort {
  readonly config: CohortConfig;
  readonly profile: HospitalProfile;
  readonly patients: readonly CohortPatient[];
  /** All scans, patient by patient. */
  readonly scans: readonly CohortScan[];
}

/** Weights of the severity score S on (burden, consolidation, noise). */
export const SEVERITY_WEIGHTS = Object.freeze({ burden: 0.8, consolidation: 0.45, noise: 0.4 });
/** Weights of the progression score C on (crazy paving, texture, spread, burden, noise). */
export const PROGRESSION_WEIGHTS = Object.freeze({
  crazyPaving: 0.6,
  texture: 0.5,
  spread: 0.5,
  burden: 0.1,
  noise: 0.35,
});

/**
 * Inverse of the standard normal distribution function (Acklam's rational approximation,
 * relative error below 1.2e-9).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    throw new LesionEncError('INVALID_ARGUMENT', `normal quantile: expected p in (0, 1), got ${p}`);
  }
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (coef: number[], x: number) => coef.reduce((acc, k) => acc * x + k, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const clamp = (x: number, low: number, high: number) => Math.min(high, Math.max(low, x));

function check(ok: boolean, what: string, expected: string, got: unknown): void {
  if (!ok) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `cohort ${what}: expected ${expected}, got ${describeValue(got)}`,
    );
  }
}

/**
 * Merges a partial cohort configuration onto {@link DEFAULT_COHORT} and checks it.
 *
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` naming the first bad field.
 */
export function resolveCohortConfig(init: Partial<CohortConfig> = {}): CohortConfig {
  const config: CohortConfig = Object.freeze({ ...DEFAULT_COHORT, ...init });
  check(Number.isInteger(config.seed), 'seed', 'an integer', config.seed);
  check(
    Number.isInteger(config.patients) && config.patients >= 1 && config.patients <= 100000,
    'patients',
    'an integer in [1, 100000]',
    config.patients,
  );
  check(
    config.hospital === 'A' || config.hospital === 'B',
    'hospital',
    "'A' or 'B'",
    config.hospital,
  );
  check(
    Number.isInteger(config.matrix) && config.matrix >= 64 && config.matrix <= 512,
    'matrix',
    'an integer in [64, 512]',
    config.matrix,
  );
  check(
    config.severePrevalence > 0 && config.severePrevalence < 0.5,
    'severePrevalence',
    'a share in (0, 0.5)',
    config.severePrevalence,
  );
  check(
    config.converterPrevalence > 0 &&
      config.converterPrevalence < 1 - config.severePrevalence - 0.05,
    'converterPrevalence',
    `a share in (0, ${(0.95 - config.severePrevalence).toFixed(2)})`,
    config.converterPrevalence,
  );
  const p = config.profile;
  if (p !== null) {
    const sum = p.scansPerPatient[0] + p.scansPerPatient[1] + p.scansPerPatient[2];
    check(
      p.scansPerPatient.every((x) => x >= 0) && Math.abs(sum - 1) < 1e-6,
      'profile.scansPerPatient',
      'three probabilities summing to 1',
      [...p.scansPerPatient],
    );
    check(
      p.lungReconstructionShare >= 0 && p.lungReconstructionShare <= 1,
      'profile.lungReconstructionShare',
      'a share in [0, 1]',
      p.lungReconstructionShare,
    );
  }
  return config;
}

/**
 * The severity and progression thresholds that give the configured prevalences: S and C are
 * centred normals with known variance, so their quantiles set the thresholds exactly (C's
 * threshold treats C as independent of S, which holds up to their 0.08 correlation).
 */
export function labelThresholds(
  config: Pick<CohortConfig, 'severePrevalence' | 'converterPrevalence'>,
): {
  severity: number;
  progression: number;
} {
  const s = SEVERITY_WEIGHTS;
  const c = PROGRESSION_WEIGHTS;
  const sdS = Math.hypot(s.burden, s.consolidation, s.noise);
  const sdC = Math.hypot(c.crazyPaving, c.texture, c.spread, c.burden, c.noise);
  return {
    severity: normalQuantile(1 - config.severePrevalence) * sdS,
    progression:
      normalQuantile(1 - config.converterPrevalence / (1 - config.severePrevalence)) * sdC,
  };
}

/**
 * Draws one patient's latent variables and turns them into a disease pattern, an anatomy and
 * labels, following the rules in the package README exactly.
 */
function drawPatient(
  random: Random,
  thresholds: { severity: number; progression: number },
): Omit<CohortPatient, 'patientId' | 'hospital' | 'scans'> {
  const zB = random.normal();
  const zC = random.normal();
  const zP = random.normal();
  const zT = random.normal();
  const zS = random.normal();
  const e1 = random.normal();
  const e2 = random.normal();
  const e3 = random.normal();
  const s = SEVERITY_WEIGHTS;
  const c = PROGRESSION_WEIGHTS;
  const severityScore = s.burden * zB + s.consolidation * zC + s.noise * e1;
  const progressionScore =
    c.crazyPaving * zP + c.texture * zT + c.spread * zS + c.burden * zB + c.noise * e2;
  const severe = severityScore > thresholds.severity;
  const converter = !severe && progressionScore > thresholds.progression;

  // Effusion follows severity: present when S + 0.6 e3 > 1.6, on one or both sides.
  const effusionPresent = severityScore + 0.6 * e3 > 1.6;
  const effusionSides = random.next();
  const effusionMm = random.uniform(8, 30);
  const effusion = {
    rightMm: effusionPresent && effusionSides < 0.7 ? effusionMm : 0,
    leftMm: effusionPresent && effusionSides >= 0.4 ? effusionMm * random.uniform(0.6, 1) : 0,
  };
  const lateralityDraw = random.next();
  const laterality: Laterality =
    lateralityDraw < 0.8 ? 'bilateral' : lateralityDraw < 0.9 ? 'right' : 'left';
  const disease: DiseaseConfig = Object.freeze({
    burdenPercent: clamp(3 * Math.exp(zB), 0.3, 60),
    consolidationShare: logistic(-1.4 + 0.9 * zC),
    crazyPavingFraction: logistic(-1.6 + 1.5 * zP),
    textureHu: 15 + 70 * logistic(1.2 * zT),
    lesionCount: clamp(Math.round(4 * Math.exp(0.55 * zS)), 1, 30),
    peripheralFraction: logistic(0.6 + 1.3 * zS),
    lowerLobeBias: random.uniform(0.3, 0.8),
    laterality,
    elongation: random.uniform(1.2, 2),
    lobulation: random.uniform(0.25, 0.5),
    effusion: Object.freeze(effusion),
  });
  const anatomy: AnatomyConfig = Object.freeze({
    bodyScale: clamp(random.normal(1, 0.06), 0.85, 1.15),
    fatScale: clamp(Math.exp(random.normal(0, 0.3)), 0.4, 2.5),
    lungHu: random.uniform(-870, -830),
    vesselTreesPerLung: DEFAULT_CHEST_PHANTOM.anatomy.vesselTreesPerLung,
  });
  const latent: PatientLatent = Object.freeze({
    burden: zB,
    consolidation: zC,
    crazyPaving: zP,
    texture: zT,
    spread: zS,
    severityScore,
    progressionScore,
  });
  return { latent, severe, converter, disease, anatomy };
}

/**
 * Simulates a cohort: per patient, latent disease parameters, the severity and progression
 * labels they imply, and 1-3 scans with the hospital's settings. Nothing is rendered here;
 * {@link writeCohort} draws and writes the scans. Deterministic from the seed; patient i's
 * draws come from the fork `patient-i`, so patient 7 is the same in a cohort of 10 or 1000.
 *
 * @param init - Any part of {@link CohortConfig}.
 * @returns The cohort.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad configuration.
 */
export function simulateCohort(init: Partial<CohortConfig> = {}): Cohort {
  const config = resolveCohortConfig(init);
  const profile = config.profile ?? HOSPITAL_PROFILES[config.hospital];
  const thresholds = labelThresholds(config);
  const root = createRandom(config.seed).fork(`hospital-${config.hospital}`);
  const slices = Math.max(1, Math.round(profile.scanLengthMm / profile.sliceSpacingMm));
  const patients: CohortPatient[] = [];
  const scans: CohortScan[] = [];
  for (let p = 0; p < config.patients; p++) {
    const random = root.fork(`patient-${p}`);
    const drawn = drawPatient(random.fork('disease'), thresholds);
    const patientId = `${config.hospital}-P${String(p + 1).padStart(3, '0')}`;
    const scanRandom = random.fork('scans');
    const u = scanRandom.next();
    const count =
      u < profile.scansPerPatient[0]
        ? 1
        : u < profile.scansPerPatient[0] + profile.scansPerPatient[1]
          ? 2
          : 3;

    // Scans 1 and 2 are the two reconstructions of one acquisition (a single scan picks its
    // kernel from the hospital's mix); scan 3 is a repeat acquisition with a kernel from the mix.
    const first: Reconstruction =
      scanRandom.next() < profile.lungReconstructionShare ? 'lung' : 'mediastinal';
    const kinds: Reconstruction[] = [first];
    if (count >= 2) kinds.push(first === 'lung' ? 'mediastinal' : 'lung');
    if (count >= 3)
      kinds.push(scanRandom.next() < profile.lungReconstructionShare ? 'lung' : 'mediastinal');
    const patientSeed = scanRandom.nextInt(2 ** 31);
    const repeatShiftMm = scanRandom.uniform(-10, 10);
    const patientScans = kinds.map((reconstruction, s): CohortScan => {
      const acquisition = s < 2 ? 0 : 1;
      const phantom: ChestPhantomConfig = Object.freeze({
        ...DEFAULT_CHEST_PHANTOM,
        seed: patientSeed,
        noiseSeed: patientSeed + 1 + s,
        matrix: config.matrix,
        slices,
        fieldOfViewMm: profile.fieldOfViewMm,
        scanLengthMm: profile.scanLengthMm,
        sliceSpacingMm: profile.sliceSpacingMm,
        sliceThicknessMm: profile.sliceThicknessMm,
        scanCentreMm: acquisition === 0 ? 0 : repeatShiftMm,
        reconstruction,
        noiseScale: profile.noiseScale,
        anatomy: drawn.anatomy,
        disease: drawn.disease,
      });
      return Object.freeze({
        scanId: `${patientId}-S${s + 1}`,
        patientId,
        acquisition,
        reconstruction,
        phantom,
      });
    });
    scans.push(...patientScans);
    patients.push(
      Object.freeze({
        ...drawn,
        patientId,
        hospital: config.hospital,
        scans: Object.freeze(patientScans),
      }),
    );
  }
  return Object.freeze({
    config,
    profile,
    patients: Object.freeze(patients),
    scans: Object.freeze(scans),
  });
}
