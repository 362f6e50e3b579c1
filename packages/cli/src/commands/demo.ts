// `lesionenc demo`: runs what the framework can do so far on built-in data, and says what is next.
import { parseArgs } from 'node:util';

import { type BackendName, createGeometry, initBackend, voxelToWorldMm } from '@lesionenc/core';
import * as tf from '@tensorflow/tfjs-core';

import type { CliIo } from '../index';

/** The stages of the complete pipeline (ARCHITECTURE: the data flow of one scan). */
const PIPELINE_STAGES: readonly { stage: string; ready: boolean }[] = [
  { stage: 'synthetic chest CT with known lesions (phantom)', ready: false },
  { stage: 'pre-processing: HU window, normalisation, CLAHE, gamma', ready: false },
  { stage: 'lung segmentation and slice selection (>= 3 mm2 of lung)', ready: false },
  { stage: 'lesion encoder: lesion masks and one feature vector per slice', ready: false },
  { stage: 'ICA to 64 components', ready: false },
  { stage: 'severity and progression classifiers', ready: false },
  { stage: 'metrics and report', ready: false },
];

export async function runDemo(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { backend: { type: 'string', default: 'auto' } } });
  const backend = await initBackend({ backend: values.backend as BackendName });
  io.out(
    `LesionEncoder demo on the ${backend.name} backend${backend.simd === true ? ' (SIMD)' : ''}`,
  );

  // A 64-slice axial grid like a thin-slice chest CT, to show the geometry conventions.
  const geometry = createGeometry({
    shape: [64, 256, 256],
    spacingMm: [5, 1.4, 1.4],
    originMm: [-179.3, -179.3, -320],
  });
  const far = voxelToWorldMm(geometry, [63, 255, 255]);
  io.out(
    `volume grid [slices, rows, columns] = [${geometry.shape.join(', ')}], spacing ` +
      `${geometry.spacingMm.join(' x ')} mm; last voxel at LPS (${far.map((v) => v.toFixed(1)).join(', ')}) mm`,
  );

  // One encoder-sized convolution, to show the backend works and how fast.
  const image = tf.randomNormal([1, 256, 256, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, 3, 32], 0, 0.1, 'float32', 1) as tf.Tensor4D;
  try {
    tf.conv2d(image, filter, 2, 'same').dispose();
    const started = performance.now();
    const out = tf.conv2d(image, filter, 2, 'same');
    await out.data();
    out.dispose();
    io.out(
      `stem convolution 256x256x3 -> 128x128x32: ${(performance.now() - started).toFixed(1)} ms`,
    );
  } finally {
    image.dispose();
    filter.dispose();
  }

  io.out('\nPipeline stages:');
  for (const { stage, ready } of PIPELINE_STAGES) io.out(`  [${ready ? 'x' : ' '}] ${stage}`);
  io.out(
    '\nWhen every stage is in place this demo assesses a synthetic chest CT end to end: lung and\n' +
      'lesion masks, lesion volumes per class, and severity and progression probabilities.',
  );
  return 0;
}
