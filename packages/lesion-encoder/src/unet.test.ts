// Tests of the EfficientNet U-Net: Keras layer names, compound scaling, output shapes, leaks.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { isLesionEncError } from '@lesionenc/base';
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildEfficientNetEncoder, roundFilters, roundRepeats } from './efficientnet';
import {
  FEATURE_OUTPUT_LAYER,
  MASK_OUTPUT_LAYER,
  UNET_SKIP_LAYERS,
  createLesionUnet,
} from './unet';

// Parameter counts of keras.applications.EfficientNetB0/B7(include_top=False), minus the 7
// statistics of its input Normalization layer, which this encoder leaves to pre-processing.
const KERAS_B0_NO_TOP_PARAMS = 4_049_571 - 7;
const KERAS_B7_NO_TOP_PARAMS = 64_097_687 - 7;
const SOFTMAX_SUM_TOLERANCE = 1e-4;

function encoderParams(variant: 'b0' | 'b7'): number {
  const input = tfl.input({ shape: [64, 64, 3] });
  const encoder = buildEfficientNetEncoder(input, { variant, dropConnectRate: 0.2, seed: 1 });
  const model = tfl.model({ inputs: input, outputs: encoder.top });
  const count = model.countParams();
  model.dispose();
  return count;
}

describe('compound scaling', () => {
  it('rounds channels like the reference (multiples of 8, never 10 % low)', () => {
    expect(roundFilters(32, 1.0)).toBe(32);
    expect(roundFilters(1280, 2.0)).toBe(2560);
    expect(roundFilters(40, 1.1)).toBe(48);
    expect(roundFilters(16, 1.1)).toBe(16);
    expect(roundRepeats(3, 3.1)).toBe(10);
    expect(roundRepeats(1, 1.1)).toBe(2);
  });

  it('builds encoders with the parameter counts of keras.applications', () => {
    tfc.setBackend('cpu');
    expect(encoderParams('b0')).toBe(KERAS_B0_NO_TOP_PARAMS);
    expect(encoderParams('b7')).toBe(KERAS_B7_NO_TOP_PARAMS);
  });
});

describe('createLesionUnet', () => {
  beforeAll(async () => {
    await tfc.setBackend('cpu');
  });

  it('names B0 layers as keras.applications and segmentation_models do', () => {
    const unet = createLesionUnet({ variant: 'b0', inputSizePx: [64, 64] });
    const names = unet.model.layers.map((layer) => layer.name);
    for (const name of [
      'stem_conv',
      'stem_bn',
      'stem_activation',
      'block1a_dwconv',
      'block1a_se_squeeze',
      'block1a_se_excite',
      'block1a_project_bn',
      'block2a_expand_conv',
      'block2a_expand_activation',
      'block2a_dwconv_pad',
      'block2b_add',
      'block6d_add',
      'block7a_project_bn',
      'top_conv',
      'top_bn',
      'top_activation',
      'decoder_stage0_upsampling',
      'decoder_stage0_concat',
      'decoder_stage0a_conv',
      'decoder_stage4b_relu',
      'final_conv',
      MASK_OUTPUT_LAYER,
      FEATURE_OUTPUT_LAYER,
    ]) {
      expect(names).toContain(name);
    }
    // block1a has no expansion (ratio 1); block7 has one block in B0; stage 4 has no skip.
    expect(names).not.toContain('block1a_expand_conv');
    expect(names).not.toContain('block7b_dwconv');
    expect(names).not.toContain('decoder_stage4_concat');
    expect(new Set(names).size).toBe(names.length);
    for (const skip of UNET_SKIP_LAYERS) expect(names).toContain(skip);
    expect(unet.featureSize).toBe(1280);
    unet.dispose();
  });

  it('gives B0 a mask at input resolution and a 1280 feature, from a 1-channel stem too', () => {
    for (const inputChannels of [3, 1] as const) {
      const unet = createLesionUnet({ variant: 'b0', inputSizePx: [64, 96], inputChannels });
      const input = tfc.randomUniform([2, 64, 96, inputChannels], 0, 1, 'float32', 3);
      const [mask, features] = unet.model.predict(input) as tfc.Tensor[];
      expect(mask?.shape).toEqual([2, 64, 96, 4]);
      expect(features?.shape).toEqual([2, 1280]);
      const sums = tfc.sum(mask!, -1);
      const deviation = tfc.max(tfc.abs(tfc.sub(sums, 1))).dataSync()[0];
      expect(deviation).toBeLessThan(SOFTMAX_SUM_TOLERANCE);
      tfc.dispose([input, mask!, features!, sums]);
      unet.dispose();
    }
  });

  it('builds B7 with 2560 features and the deeper block table', () => {
    const unet = createLesionUnet({
      variant: 'b7',
      inputSizePx: [32, 32],
      classes: ['bg', 'tumour'],
    });
    const names = unet.model.layers.map((layer) => layer.name);
    expect(names).toContain('block7d_add');
    expect(names).toContain('block6m_add');
    expect(names).not.toContain('block6n_dwconv');
    expect(names).toContain('block1d_add');
    expect(unet.model.outputs.map((output) => output.shape)).toEqual([
      [null, 32, 32, 2],
      [null, 2560],
    ]);
    expect(unet.featureSize).toBe(2560);
    unet.dispose();
  });

  it('accepts any multiple of 32 when the input size is left open', () => {
    const unet = createLesionUnet({ inputSizePx: null, classes: ['a', 'b', 'c'] });
    for (const [rows, columns] of [
      [32, 64],
      [96, 32],
    ] as const) {
      const input = tfc.zeros([1, rows, columns, 3]);
      const [mask, features] = unet.model.predict(input) as tfc.Tensor[];
      expect(mask?.shape).toEqual([1, rows, columns, 3]);
      expect(features?.shape).toEqual([1, 1280]);
      tfc.dispose([input, mask!, features!]);
    }
    unet.dispose();
  });

  it('rejects sizes that are not multiples of 32 and bad class lists', () => {
    const cases = [
      { inputSizePx: [100, 64] as [number, number] },
      { classes: ['only'] },
      { classes: ['a', 'a'] },
      { variant: 'b9' as 'b0' },
    ];
    for (const config of cases) {
      let caught: unknown;
      try {
        createLesionUnet(config);
      } catch (error) {
        caught = error;
      }
      expect(isLesionEncError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  describe.each(['cpu', 'wasm'])('on %s', (backend) => {
    beforeAll(async () => {
      await tfc.setBackend(backend);
    });
    afterAll(async () => {
      await tfc.setBackend('cpu');
    });

    it('does not leak tensors over repeated forward passes', () => {
      const unet = createLesionUnet({ inputSizePx: [64, 64] });
      const input = tfc.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 5);
      const run = () =>
        tfc.tidy(() => (unet.model.predict(input) as tfc.Tensor[]).map((t) => tfc.sum(t)));
      tfc.dispose(run());
      const before = tfc.memory().numTensors;
      for (let i = 0; i < 3; i++) tfc.dispose(run());
      expect(tfc.memory().numTensors).toBe(before);
      input.dispose();
      unet.dispose();
    });
  });
});
