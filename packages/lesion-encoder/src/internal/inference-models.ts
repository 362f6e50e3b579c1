// The models inference runs for a lesion U-Net: a copy with batch normalisation folded into the
// convolutions, and its feature branch. Made on first use and remade when the U-Net's weights
// have changed since (training assigns new tensors to its variables, which this notices).
import type * as tf from '@tensorflow/tfjs-core';
import {
  type LayersModel,
  type SymbolicTensor,
  model as layersModel,
} from '@tensorflow/tfjs-layers';

import { foldBatchNorm } from './fold-batch-norm';

/** The inference models of one U-Net. */
export interface InferenceModels {
  /** Mask and features, as the U-Net's own outputs. */
  full: LayersModel;
  /** The pooled features only, skipping the decoder. */
  features: LayersModel;
}

interface Entry extends InferenceModels {
  weightIds: readonly tf.DataId[];
  /** Whether `full` was made for the cache (and is freed with it) or is the model itself. */
  owned: boolean;
}

const cache = new WeakMap<LayersModel, Entry>();

function weightIds(model: LayersModel): tf.DataId[] {
  return model.weights.map((w) => (w.read() as tf.Tensor).dataId);
}

/**
 * The folded inference models of `model`, cached per model.
 *
 * @param model - The U-Net's model.
 * @param featureLayer - Name of the layer whose output is the feature vector.
 * @returns Models owned by the cache; released by {@link releaseInferenceModels}.
 */
export function inferenceModelsOf(model: LayersModel, featureLayer: string): InferenceModels {
  const ids = weightIds(model);
  const cached = cache.get(model);
  if (cached !== undefined && cached.weightIds.every((id, i) => id === ids[i])) return cached;
  if (cached?.owned === true) cached.full.dispose();
  const full = foldBatchNorm(model).model;
  const entry = { full, features: featureBranch(full, featureLayer), weightIds: ids, owned: true };
  cache.set(model, entry);
  return entry;
}

function featureBranch(full: LayersModel, featureLayer: string): LayersModel {
  return layersModel({
    inputs: full.inputs,
    outputs: full.getLayer(featureLayer).output as SymbolicTensor,
    name: `${full.name}_features`,
  });
}

/**
 * Records `model`, already folded, as its own inference model, so inference on it makes no copy.
 *
 * @param model - A model from {@link foldBatchNorm}.
 * @param featureLayer - Name of the layer whose output is the feature vector.
 */
export function adoptAsInferenceModel(model: LayersModel, featureLayer: string): void {
  cache.set(model, {
    full: model,
    features: featureBranch(model, featureLayer),
    weightIds: weightIds(model),
    owned: false,
  });
}

/**
 * Frees the inference models made for `model`, if any.
 *
 * @param model - The U-Net's model.
 */
export function releaseInferenceModels(model: LayersModel): void {
  const cached = cache.get(model);
  if (cached === undefined) return;
  cache.delete(model);
  if (cached.owned) cached.full.dispose();
}
