// Assess a chest CT scan: `node index.mjs scan.nii.gz` (or a DICOM folder); without an argument,
// a synthetic scan with known lesions. Needs `npm run build` at the repository root first.
import {
  DISEASE_PRESETS,
  createChestPhantom,
  createLesionEncoder,
  initBackend,
  readVolume,
} from '@lesionenc/core';

await initBackend(); // wasm under Node, webgl in a browser
const path = process.argv[2];
const volume = path
  ? (await readVolume(path)).volume
  : createChestPhantom({ seed: 1, matrix: 128, slices: 48, disease: DISEASE_PRESETS.severe })
      .volume;

const encoder = await createLesionEncoder({ workers: 2 }); // the shipped lesion encoder
const result = await encoder.assess(volume);
await encoder.dispose();

const v = result.volumetrics;
console.log(`lungs ${v.lungVolumeMl.toFixed(0)} ml, kept ${result.keptSlices.length} slices`);
console.log(`ground-glass ${v.groundGlass.percentOfLung.toFixed(1)} % of lung`);
console.log(`consolidation ${v.consolidation.percentOfLung.toFixed(1)} % of lung`);
console.log(`features [${result.keptSlices.length}, ${result.featureSize}]`, result.notes);
