// The bundled synthetic scan: a chest CT made in code by @lesionenc/phantom, small enough to run
// in seconds (the demo's scan: severe disease with pleural effusion). The page's worker and the
// browser test make it from this one definition.
import { type ChestPhantomInit, DISEASE_PRESETS } from '@lesionenc/core';

/** Seed, grid and disease of the bundled scan. */
export const SYNTHETIC_SCAN: Readonly<ChestPhantomInit> = Object.freeze({
  seed: 7,
  matrix: 128,
  slices: 48,
  disease: { ...DISEASE_PRESETS.severe, effusion: DISEASE_PRESETS.effusion.effusion },
});

/** How the page names the bundled scan. */
export const SYNTHETIC_SCAN_NAME = `synthetic chest CT, ${SYNTHETIC_SCAN.slices} x ${SYNTHETIC_SCAN.matrix} x ${SYNTHETIC_SCAN.matrix}, severe disease with effusion (seed ${SYNTHETIC_SCAN.seed})`;

/**
 * Bytes the lesion encoder's activations of one forward batch may take in the page: small
 * batches, so the progress bar moves slice by slice and the wasm heap stays small.
 */
export const VIEWER_MEMORY_BUDGET_BYTES = 64 * 2 ** 20;
