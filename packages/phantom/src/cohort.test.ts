// Tests of the cohort simulator: label prevalences, scans per patient and hospital settings
// against the configuration within sampling error, determinism, and configuration checks.
import { describe, expect, it } from 'vitest';

import { isLesionEncError } from '@lesionenc/base';

import {
  type Cohort,
  type CohortConfig,
  type HospitalName,
  type HospitalProfile,
  DEFAULT_COHORT,
  HOSPITAL_PROFILES,
  PROGRESSION_WEIGHTS,
  SEVERITY_WEIGHTS,
  labelThresholds,
  normalQuantile,
  simulateCohort,
} from './cohort';
import { resolveChestPhantomConfig } from './phantom';

/** Patients per hospital for the statistical checks (simulating draws no voxels, so it is quick). */
const STAT_PATIENTS = 40000;
/** Observed shares must lie within this many standard errors of the configured ones. */
const SIGMAS = 4;
/**
 * How far the converter prevalence the thresholds give may be from the configured one, relative.
 * The progression threshold treats the scores S and C as independent; their 0.08 correlation
 * (shared burden) makes the true prevalence about 2 % lower.
 */
const CONVERTER_APPROXIMATION = 0.05;
/** Step of the numerical integrals of the normal density (in standard deviations). */
const INTEGRATION_STEP = 2e-3;
/** Patients whose generated phantom configurations are checked to resolve. */
const RESOLVED_PATIENTS = 500;

/** Standard error of a share `p` observed over `n` independent draws. */
function binomialSe(p: number, n: number): number {
  return Math.sqrt((p * (1 - p)) / n);
}

function share<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  return items.filter(predicate).length / items.length;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function covariance(x: readonly number[], y: readonly number[]): number {
  const mx = mean(x);
  const my = mean(y);
  return x.reduce((acc, xi, i) => acc + (xi - mx) * ((y[i] as number) - my), 0) / (x.length - 1);
}

const normalDensity = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/** Upper tail of the standard normal, P(Z > z), by the trapezoid rule out to z + 10. */
function normalTail(z: number): number {
  if (z < 0) return 1 - normalTail(-z);
  let sum = 0.5 * (normalDensity(z) + normalDensity(z + 10));
  const steps = Math.round(10 / INTEGRATION_STEP);
  for (let i = 1; i < steps; i++) sum += normalDensity(z + i * INTEGRATION_STEP);
  return sum * INTEGRATION_STEP;
}

/**
 * P(S <= a and C > b) for the centred normal scores S and C of the label rules, integrating over
 * S with C given S normal (their covariance comes only from the shared burden variable).
 */
function mildAndProgressingShare(a: number, b: number): number {
  const s = SEVERITY_WEIGHTS;
  const c = PROGRESSION_WEIGHTS;
  const sdS = Math.hypot(s.burden, s.consolidation, s.noise);
  const sdC = Math.hypot(c.crazyPaving, c.texture, c.spread, c.burden, c.noise);
  const rho = (s.burden * c.burden) / (sdS * sdC);
  const step = 0.01;
  let sum = 0;
  // Midpoint rule over z = S / sdS from -8 to a / sdS.
  for (let z = -8 + step / 2; z < a / sdS; z += step) {
    const conditionalMean = rho * z;
    const conditionalSd = Math.sqrt(1 - rho * rho);
    sum += normalDensity(z) * normalTail((b / sdC - conditionalMean) / conditionalSd) * step;
  }
  return sum;
}

const cohorts: Record<HospitalName, Cohort> = {
  A: simulateCohort({ seed: 3, patients: STAT_PATIENTS, hospital: 'A' }),
  B: simulateCohort({ seed: 3, patients: STAT_PATIENTS, hospital: 'B' }),
};

/** Probabilities of 1, 2 and 3 scans as a table of [count, probability]. */
function scanCountTable(profile: HospitalProfile): [number, number][] {
  return profile.scansPerPatient.map((p, i) => [i + 1, p]);
}

function expectedMeanScans(profile: HospitalProfile): number {
  return scanCountTable(profile).reduce((acc, [k, p]) => acc + k * p, 0);
}

function sdScans(profile: HospitalProfile): number {
  const m = expectedMeanScans(profile);
  return Math.sqrt(scanCountTable(profile).reduce((acc, [k, p]) => acc + p * (k - m) ** 2, 0));
}

describe('normalQuantile', () => {
  it.each([
    [0.5, 0],
    [0.975, 1.959963985],
    [0.01, -2.326347874],
    [0.999, 3.090232306],
    [1e-6, -4.753424309],
  ])('gives the quantile of %f', (p, z) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 7);
  });

  it.each([0, 1, -0.1, Number.NaN])('rejects p = %f with INVALID_ARGUMENT', (p) => {
    expect(() => normalQuantile(p)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error,
    );
  });
});

describe('labelThresholds', () => {
  it('sets the severity threshold at the configured prevalence of the severity score', () => {
    const { severity } = labelThresholds(DEFAULT_COHORT);
    const s = SEVERITY_WEIGHTS;
    const sdS = Math.hypot(s.burden, s.consolidation, s.noise);
    expect(normalTail(severity / sdS)).toBeCloseTo(DEFAULT_COHORT.severePrevalence, 6);
  });

  it.each([
    [0.07, 0.07],
    [0.2, 0.1],
    [0.05, 0.3],
  ])('gives about the configured converter prevalence (severe %f, converter %f)', (ps, pc) => {
    const { severity, progression } = labelThresholds({
      severePrevalence: ps,
      converterPrevalence: pc,
    });
    const implied = mildAndProgressingShare(severity, progression);
    expect(Math.abs(implied - pc) / pc).toBeLessThan(CONVERTER_APPROXIMATION);
  });
});

describe('simulateCohort', () => {
  it.each(['A', 'B'] as const)(
    'draws severe and converter patients at the configured rates (hospital %s)',
    (hospital) => {
      const { patients, config } = cohorts[hospital];
      const n = patients.length;
      const ps = config.severePrevalence;
      const severe = share(patients, (p) => p.severe);
      expect(Math.abs(severe - ps)).toBeLessThan(SIGMAS * binomialSe(ps, n));

      // Converters, among all patients and among the mild ones, against the rate the
      // thresholds imply under the rules (which is within CONVERTER_APPROXIMATION of the config).
      const { severity, progression } = labelThresholds(config);
      const implied = mildAndProgressingShare(severity, progression);
      const converters = share(patients, (p) => p.converter);
      expect(Math.abs(converters - implied)).toBeLessThan(SIGMAS * binomialSe(implied, n));
      const mild = patients.filter((p) => !p.severe);
      const impliedAmongMild = implied / (1 - ps);
      const convertersAmongMild = share(mild, (p) => p.converter);
      expect(Math.abs(convertersAmongMild - impliedAmongMild)).toBeLessThan(
        SIGMAS * binomialSe(impliedAmongMild, mild.length),
      );
      expect(Math.abs(converters - config.converterPrevalence)).toBeLessThan(
        CONVERTER_APPROXIMATION * config.converterPrevalence +
          SIGMAS * binomialSe(config.converterPrevalence, n),
      );
    },
  );

  it('follows other prevalences as configured', () => {
    const config = { seed: 4, patients: 20000, severePrevalence: 0.25, converterPrevalence: 0.15 };
    const { patients } = simulateCohort(config);
    const n = patients.length;
    expect(Math.abs(share(patients, (p) => p.severe) - 0.25)).toBeLessThan(
      SIGMAS * binomialSe(0.25, n),
    );
    const { severity, progression } = labelThresholds(config);
    const implied = mildAndProgressingShare(severity, progression);
    expect(Math.abs(share(patients, (p) => p.converter) - implied)).toBeLessThan(
      SIGMAS * binomialSe(implied, n),
    );
  });

  it('labels every patient by the written rules on the latent scores', () => {
    const { patients, config } = cohorts.A;
    const { severity, progression } = labelThresholds(config);
    for (const p of patients) {
      expect(p.severe).toBe(p.latent.severityScore > severity);
      expect(p.converter).toBe(!p.severe && p.latent.progressionScore > progression);
    }

    // The scores load on the latent variables with the documented weights (unit variances).
    const latent = patients.map((p) => p.latent);
    const n = latent.length;
    const severityScore = latent.map((l) => l.severityScore);
    const progressionScore = latent.map((l) => l.progressionScore);
    const sdS = Math.hypot(...Object.values(SEVERITY_WEIGHTS));
    const sdC = Math.hypot(...Object.values(PROGRESSION_WEIGHTS));
    const loadings: [number[], number[], number, number][] = [
      [severityScore, severityScore, sdS ** 2, Math.SQRT2 * sdS ** 2],
      [progressionScore, progressionScore, sdC ** 2, Math.SQRT2 * sdC ** 2],
      [severityScore, latent.map((l) => l.burden), SEVERITY_WEIGHTS.burden, sdS],
      [severityScore, latent.map((l) => l.consolidation), SEVERITY_WEIGHTS.consolidation, sdS],
      [progressionScore, latent.map((l) => l.crazyPaving), PROGRESSION_WEIGHTS.crazyPaving, sdC],
      [progressionScore, latent.map((l) => l.texture), PROGRESSION_WEIGHTS.texture, sdC],
      [progressionScore, latent.map((l) => l.spread), PROGRESSION_WEIGHTS.spread, sdC],
      [progressionScore, latent.map((l) => l.burden), PROGRESSION_WEIGHTS.burden, sdC],
    ];
    // The standard error of a sample covariance is at most sd(x) sd(y) sqrt(2 / n).
    for (const [x, y, expected, scale] of loadings) {
      expect(Math.abs(covariance(x, y) - expected)).toBeLessThan(
        (SIGMAS * scale * Math.SQRT2) / Math.sqrt(n),
      );
    }
  });

  it('turns the latent variables into the disease pattern, more burden for the severe', () => {
    const { patients } = cohorts.A;
    for (const p of patients.slice(0, RESOLVED_PATIENTS)) {
      const burden = Math.min(60, Math.max(0.3, 3 * Math.exp(p.latent.burden)));
      expect(p.disease.burdenPercent).toBeCloseTo(burden, 9);
      expect(p.disease.consolidationShare).toBeCloseTo(
        1 / (1 + Math.exp(1.4 - 0.9 * p.latent.consolidation)),
        9,
      );
      for (const scan of p.scans) {
        expect(() => resolveChestPhantomConfig(scan.phantom)).not.toThrow();
        expect(scan.phantom.disease).toBe(p.disease);
        expect(scan.phantom.anatomy).toBe(p.anatomy);
      }
    }
    const meanBurden = (list: typeof patients) => mean(list.map((p) => p.disease.burdenPercent));
    expect(meanBurden(patients.filter((p) => p.severe))).toBeGreaterThan(
      2 * meanBurden(patients.filter((p) => !p.severe)),
    );
    const effusion = (list: typeof patients) =>
      share(list, (p) => p.disease.effusion.rightMm + p.disease.effusion.leftMm > 0);
    expect(effusion(patients.filter((p) => p.severe))).toBeGreaterThan(
      3 * effusion(patients.filter((p) => !p.severe)),
    );
  });

  it.each(['A', 'B'] as const)(
    'gives 1, 2 or 3 scans per patient as configured (hospital %s)',
    (hospital) => {
      const { patients, profile, scans } = cohorts[hospital];
      const n = patients.length;
      expect(profile).toBe(HOSPITAL_PROFILES[hospital]);
      for (const [count, p] of scanCountTable(profile)) {
        const observed = share(patients, (patient) => patient.scans.length === count);
        expect(Math.abs(observed - p), `${count} scans`).toBeLessThan(SIGMAS * binomialSe(p, n));
      }
      const meanScans = scans.length / n;
      expect(Math.abs(meanScans - expectedMeanScans(profile))).toBeLessThan(
        (SIGMAS * sdScans(profile)) / Math.sqrt(n),
      );
      expect(scans).toEqual(patients.flatMap((p) => p.scans));
    },
  );

  it.each(['A', 'B'] as const)(
    'scans with the hospital settings, two reconstructions per acquisition (hospital %s)',
    (hospital) => {
      const { patients, profile, config } = cohorts[hospital];
      const slices = Math.round(profile.scanLengthMm / profile.sliceSpacingMm);
      // Counted rather than asserted one by one: there are about 70 000 scans.
      const violations = new Map<string, number>();
      const check = (ok: boolean, what: string) => {
        if (!ok) violations.set(what, (violations.get(what) ?? 0) + 1);
      };
      for (const patient of patients) {
        const [first, second, third] = patient.scans;
        for (const [s, scan] of patient.scans.entries()) {
          const c = scan.phantom;
          check(scan.scanId === `${patient.patientId}-S${s + 1}`, 'scan id');
          check(scan.patientId === patient.patientId, 'patient id');
          check(c.matrix === config.matrix, 'matrix');
          check(c.slices === slices, 'slices');
          check(c.fieldOfViewMm === profile.fieldOfViewMm, 'field of view');
          check(c.sliceSpacingMm === profile.sliceSpacingMm, 'slice spacing');
          check(c.sliceThicknessMm === profile.sliceThicknessMm, 'slice thickness');
          check(c.noiseScale === profile.noiseScale, 'noise scale');
          check(c.reconstruction === scan.reconstruction, 'reconstruction');
          check(c.seed === first?.phantom.seed, 'anatomy seed shared by the patient');
        }
        check(first?.acquisition === 0 && first.phantom.scanCentreMm === 0, 'scan 1');
        if (second !== undefined) {
          check(second.acquisition === 0, 'scan 2 acquisition');
          check(second.reconstruction !== first?.reconstruction, 'scan 2 other kernel');
          check(second.phantom.scanCentreMm === 0, 'scan 2 position');
          check(second.phantom.noiseSeed !== first?.phantom.noiseSeed, 'scan 2 noise');
        }
        if (third !== undefined) {
          check(third.acquisition === 1, 'scan 3 acquisition');
          check(Math.abs(third.phantom.scanCentreMm) <= 10, 'scan 3 position');
        }
      }
      expect(Object.fromEntries(violations)).toEqual({});
    },
  );

  it('differs between the hospitals as their profiles say', () => {
    const a = HOSPITAL_PROFILES.A;
    const b = HOSPITAL_PROFILES.B;
    expect(cohorts.A.scans[0]?.phantom.slices).toBe(64);
    expect(cohorts.B.scans[0]?.phantom.slices).toBe(128);

    // The kernel of each patient's first scan is drawn from the hospital's mix.
    const lungFirst = (hospital: HospitalName) =>
      share(cohorts[hospital].patients, (p) => p.scans[0]?.reconstruction === 'lung');
    const n = STAT_PATIENTS;
    for (const [hospital, profile] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const p = profile.lungReconstructionShare;
      expect(Math.abs(lungFirst(hospital) - p), hospital).toBeLessThan(SIGMAS * binomialSe(p, n));
    }
    const lungDifferenceSe = Math.hypot(
      binomialSe(a.lungReconstructionShare, n),
      binomialSe(b.lungReconstructionShare, n),
    );
    expect(
      Math.abs(
        lungFirst('A') - lungFirst('B') - (a.lungReconstructionShare - b.lungReconstructionShare),
      ),
    ).toBeLessThan(SIGMAS * lungDifferenceSe);

    // Scans per patient differ by the configured means.
    const meanDifference = (cohorts.A.scans.length - cohorts.B.scans.length) / n;
    const meanDifferenceSe = Math.hypot(sdScans(a), sdScans(b)) / Math.sqrt(n);
    expect(Math.abs(meanDifference - (expectedMeanScans(a) - expectedMeanScans(b)))).toBeLessThan(
      SIGMAS * meanDifferenceSe,
    );

    // The labels follow the same rules in both hospitals, and the patients are not shared.
    const severeDifference =
      share(cohorts.A.patients, (p) => p.severe) - share(cohorts.B.patients, (p) => p.severe);
    expect(Math.abs(severeDifference)).toBeLessThan(
      SIGMAS * Math.SQRT2 * binomialSe(DEFAULT_COHORT.severePrevalence, n),
    );
    expect(cohorts.A.patients[0]?.patientId).toBe('A-P001');
    expect(cohorts.B.patients[0]?.patientId).toBe('B-P001');
    expect(cohorts.B.patients[0]?.latent).not.toEqual(cohorts.A.patients[0]?.latent);
  });

  it('uses a given profile instead of the hospital default', () => {
    const profile: HospitalProfile = {
      ...HOSPITAL_PROFILES.A,
      fieldOfViewMm: 300,
      sliceSpacingMm: 8,
      noiseScale: 2,
      lungReconstructionShare: 1,
      scansPerPatient: [0, 0, 1],
    };
    const cohort = simulateCohort({ seed: 2, patients: 50, profile });
    expect(cohort.profile).toBe(profile);
    for (const patient of cohort.patients) {
      expect(patient.scans.map((s) => s.reconstruction)).toEqual(['lung', 'mediastinal', 'lung']);
      for (const scan of patient.scans) {
        expect(scan.phantom.fieldOfViewMm).toBe(300);
        expect(scan.phantom.slices).toBe(40);
        expect(scan.phantom.noiseScale).toBe(2);
      }
    }
    const single = simulateCohort({
      seed: 2,
      patients: 50,
      profile: { ...profile, lungReconstructionShare: 0, scansPerPatient: [1, 0, 0] },
    });
    expect(single.scans.map((s) => s.reconstruction)).toEqual(Array(50).fill('mediastinal'));
  });

  it('is deterministic from the seed, and the seed matters', () => {
    const config = { seed: 11, patients: 200, hospital: 'B' } as const;
    const first = simulateCohort(config);
    expect(simulateCohort(config)).toEqual(first);
    const other = simulateCohort({ ...config, seed: 12 });
    expect(other.patients.map((p) => p.latent)).not.toEqual(first.patients.map((p) => p.latent));
    expect(other.scans.map((s) => s.phantom.seed)).not.toEqual(
      first.scans.map((s) => s.phantom.seed),
    );
  });

  it('draws patient i the same in a small and a large cohort', () => {
    const small = simulateCohort({ seed: 5, patients: 10 });
    const large = simulateCohort({ seed: 5, patients: 300 });
    expect(large.patients.slice(0, 10)).toEqual(small.patients);
  });

  it('fills in the defaults: 100 patients of hospital A at 128 x 128', () => {
    const cohort = simulateCohort();
    expect(cohort.config).toEqual(DEFAULT_COHORT);
    expect(cohort.patients).toHaveLength(100);
    expect(cohort.scans.every((s) => s.phantom.matrix === 128)).toBe(true);
    expect(Object.isFrozen(DEFAULT_COHORT)).toBe(true);
    expect(Object.isFrozen(HOSPITAL_PROFILES.A.scansPerPatient)).toBe(true);
  });

  it('rejects bad configurations with INVALID_ARGUMENT naming the field', () => {
    const bad: [Partial<CohortConfig>, string][] = [
      [{ seed: 1.5 }, 'seed'],
      [{ patients: 0 }, 'patients'],
      [{ patients: 2.5 }, 'patients'],
      [{ hospital: 'C' as HospitalName }, 'hospital'],
      [{ matrix: 32 }, 'matrix'],
      [{ matrix: 600 }, 'matrix'],
      [{ severePrevalence: 0 }, 'severePrevalence'],
      [{ severePrevalence: 0.5 }, 'severePrevalence'],
      [{ severePrevalence: Number.NaN }, 'severePrevalence'],
      [{ converterPrevalence: 0 }, 'converterPrevalence'],
      [{ severePrevalence: 0.4, converterPrevalence: 0.56 }, 'converterPrevalence'],
      [
        { profile: { ...HOSPITAL_PROFILES.A, scansPerPatient: [0.5, 0.5, 0.5] } },
        'profile.scansPerPatient',
      ],
      [
        { profile: { ...HOSPITAL_PROFILES.A, scansPerPatient: [1.2, -0.2, 0] } },
        'profile.scansPerPatient',
      ],
      [
        { profile: { ...HOSPITAL_PROFILES.A, lungReconstructionShare: 1.5 } },
        'profile.lungReconstructionShare',
      ],
    ];
    for (const [init, field] of bad) {
      try {
        simulateCohort(init);
        expect.unreachable(`accepted ${JSON.stringify(init)}`);
      } catch (error) {
        expect(isLesionEncError(error, 'INVALID_ARGUMENT'), field).toBe(true);
        expect((error as Error).message).toMatch(new RegExp(`^cohort ${field}: expected`));
      }
    }
  });
});
