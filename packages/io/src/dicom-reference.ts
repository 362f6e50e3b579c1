// What a volume read from a DICOM series remembers of its source, so that derived objects (a
// DICOM SEG) can join the same study and point back at the images they were made from.
import type { CtVolume } from '@lesionenc/base';

import type { DicomImageHeader } from './dicom';

/** One source image, as a derived object references it (PS3.3 C.12.2, Common Instance Reference). */
export interface DicomInstanceReference {
  readonly SOPClassUID: string | undefined;
  readonly SOPInstanceUID: string | undefined;
}

/**
 * The source series of a volume: the patient and study attributes a derived object copies, and
 * its images. Attributes keep their DICOM keyword spelling and are as read (undefined when the
 * files lacked them); writers check what they need.
 */
export interface DicomSeriesReference {
  readonly StudyInstanceUID: string | undefined;
  readonly SeriesInstanceUID: string | undefined;
  readonly FrameOfReferenceUID: string | undefined;
  readonly SpecificCharacterSet: string | undefined;
  readonly PatientName: string | undefined;
  readonly PatientID: string | undefined;
  readonly PatientBirthDate: string | undefined;
  readonly PatientSex: string | undefined;
  readonly StudyDate: string | undefined;
  readonly StudyTime: string | undefined;
  readonly StudyID: string | undefined;
  readonly AccessionNumber: string | undefined;
  readonly ReferringPhysicianName: string | undefined;
  /** Every image of the series that went into the volume, in the order of the stack. */
  readonly instances: readonly DicomInstanceReference[];
  /**
   * For each slice of the volume (`[slices, rows, columns]` order), the image it is; undefined
   * when the volume's slices are not the series' images (a sagittal or coronal series, turned
   * into the canonical axial layout).
   */
  readonly slices: readonly DicomInstanceReference[] | undefined;
}

/** The metadata key under which the series reader stores a {@link DicomSeriesReference}. */
export const DICOM_REFERENCE_METADATA_KEY = 'dicomReference';

/**
 * Builds the reference of a series from its headers.
 *
 * @param ordered - Headers in stack order.
 * @param sliceOrder - For each canonical slice, the index in `ordered`; undefined when slices are
 * not images.
 * @returns The frozen reference.
 */
export function buildDicomSeriesReference(
  ordered: readonly DicomImageHeader[],
  sliceOrder: readonly number[] | undefined,
): DicomSeriesReference {
  const first = ordered[0]!;
  const instances = Object.freeze(
    ordered.map((h) =>
      Object.freeze({ SOPClassUID: h.SOPClassUID, SOPInstanceUID: h.SOPInstanceUID }),
    ),
  );
  return Object.freeze({
    StudyInstanceUID: first.StudyInstanceUID,
    SeriesInstanceUID: first.SeriesInstanceUID,
    FrameOfReferenceUID: first.FrameOfReferenceUID,
    SpecificCharacterSet: first.SpecificCharacterSet,
    PatientName: first.PatientName,
    PatientID: first.PatientID,
    PatientBirthDate: first.PatientBirthDate,
    PatientSex: first.PatientSex,
    StudyDate: first.StudyDate,
    StudyTime: first.StudyTime,
    StudyID: first.StudyID,
    AccessionNumber: first.AccessionNumber,
    ReferringPhysicianName: first.ReferringPhysicianName,
    instances,
    slices:
      sliceOrder === undefined ? undefined : Object.freeze(sliceOrder.map((n) => instances[n]!)),
  });
}

/**
 * The DICOM source of a volume read by `readDicomSeries` (or `readVolume` on a DICOM folder).
 *
 * @param volume - Any CT volume.
 * @returns The reference, or undefined when the volume did not come from a DICOM series.
 * @example
 * ```ts
 * const { volume } = await readVolume('/data/patient-001');
 * const reference = dicomSeriesReferenceOf(volume); // undefined for NIfTI input
 * ```
 */
export function dicomSeriesReferenceOf(volume: CtVolume): DicomSeriesReference | undefined {
  const value = volume.metadata[DICOM_REFERENCE_METADATA_KEY];
  if (value === null || typeof value !== 'object') return undefined;
  const reference = value as Partial<DicomSeriesReference>;
  return Array.isArray(reference.instances) ? (value as DicomSeriesReference) : undefined;
}
