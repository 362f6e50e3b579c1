// Node file wrapper for overlay PNGs: written atomically.
import type { CtVolume, LabelMap } from '@lesionenc/base';

import { writeFileAtomic } from './internal/node-fs';
import { type OverlayOptions, encodeOverlayPng } from './overlay';

/**
 * Writes an overlay PNG (a CT slice with coloured label outlines and a legend), atomically.
 *
 * @param path - The target `.png` file.
 * @param volume - The CT.
 * @param labels - Labels on its grid.
 * @param options - Slice, window, fill and legend.
 * @throws {@link LesionEncError} as `renderOverlay`, and `INVALID_ARGUMENT` when the path cannot be
 * written.
 */
export async function writeOverlayPng(
  path: string,
  volume: CtVolume,
  labels: LabelMap,
  options: OverlayOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await encodeOverlayPng(volume, labels, options));
}
