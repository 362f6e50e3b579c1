// Loads dicom-parser the same way under vitest, plain Node (ESM and CJS) and bundlers: the
// package is one webpack script whose functions sit on the namespace or on its default export.
import * as dicomParserModule from 'dicom-parser';

import { LesionEncError } from '@lesionenc/base';

/** The dicom-parser API. */
export type DicomParser = typeof dicomParserModule;

let resolved: DicomParser | undefined;

/** @returns The dicom-parser functions, whichever way the module system exposed them. */
export function dicomParser(): DicomParser {
  if (resolved !== undefined) return resolved;
  const candidates: unknown[] = [
    dicomParserModule,
    (dicomParserModule as { default?: unknown }).default,
  ];
  for (const candidate of candidates) {
    if (
      candidate !== null &&
      typeof candidate === 'object' &&
      typeof (candidate as DicomParser).parseDicom === 'function'
    ) {
      resolved = candidate as DicomParser;
      return resolved;
    }
  }
  throw new LesionEncError('INTERNAL', 'dicom-parser: expected a parseDicom function, got none');
}
