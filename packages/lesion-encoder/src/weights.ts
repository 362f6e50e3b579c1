// Weights by layer name: loading tensorflowjs_converter output of Keras / segmentation_models
// checkpoints, and saving or restoring the package's own weights (float32 or float16).
import { LesionEncError, createLogger } from '@lesionenc/base';
import * as tfc from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

const log = createLogger('lesionenc.lesion-encoder.weights');

/** One weight of a tfjs weights manifest (the `weights` entries of `model.json`). */
export type WeightSpec = tfc.io.WeightsManifestEntry;

/** A tfjs weights manifest group: shard files and the weights they hold, in order. */
export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** What {@link applyNamedWeights} did. */
export interface WeightLoadReport {
  /** Target weights (`layer/weight`) that received a value. */
  loaded: string[];
  /** Target weights without a source of the same name: they keep their initialisation. */
  missing: string[];
  /** Source weights no target layer has. */
  unused: string[];
  /** Same name, different shape: left untouched. */
  mismatched: { name: string; expectedShape: number[]; sourceShape: number[] }[];
}

/** Options of {@link applyNamedWeights}. */
export interface ApplyWeightsOptions {
  /** Throw when any target weight is missing or mismatched. @defaultValue `false` */
  strict?: boolean;
}

/**
 * Reduces a weight name to `layer/weight`: converters prefix nested model names
 * (`efficientnetb0/block1a_dwconv/depthwise_kernel:0`) and TensorFlow appends `:0`.
 *
 * @param name - A weight name as stored.
 * @returns The last two path components without the output index.
 */
export function canonicalWeightName(name: string): string {
  const parts = name.replace(/:\d+$/, '').split('/');
  return parts.slice(-2).join('/');
}

function targetWeights(model: tfl.LayersModel): { name: string; variable: tfl.LayerVariable }[] {
  const result: { name: string; variable: tfl.LayerVariable }[] = [];
  for (const layer of model.layers) {
    for (const variable of layer.weights) {
      const short = variable.originalName.split('/').pop() ?? variable.originalName;
      result.push({ name: `${layer.name}/${short.replace(/_\d+$/, '')}`, variable });
    }
  }
  return result;
}

// A 1-channel stem takes a 3-channel kernel summed over its input channels: grey replicated to
// RGB gives the same response.
function adaptStemKernel(source: tfc.Tensor, expected: number[]): tfc.Tensor | undefined {
  if (
    source.rank === 4 &&
    expected.length === 4 &&
    expected[2] === 1 &&
    source.shape[2] === 3 &&
    source.shape[0] === expected[0] &&
    source.shape[1] === expected[1] &&
    source.shape[3] === expected[3]
  ) {
    return tfc.sum(source, 2, true);
  }
  return undefined;
}

/**
 * Assigns weights to a model by `layer/weight` name. Source tensors are not disposed (the caller
 * owns them).
 *
 * @param model - The model whose variables are written.
 * @param weights - Source tensors by name (any prefix; see {@link canonicalWeightName}).
 * @param options - Strictness.
 * @returns Which weights were loaded, missing, unused and mismatched.
 * @throws {@link LesionEncError} `MODEL_FORMAT` in strict mode when a weight is missing or
 * mismatched.
 */
export function applyNamedWeights(
  model: tfl.LayersModel,
  weights: tfc.NamedTensorMap,
  options: ApplyWeightsOptions = {},
): WeightLoadReport {
  const sources = new Map<string, tfc.Tensor>();
  for (const [name, tensor] of Object.entries(weights))
    sources.set(canonicalWeightName(name), tensor);

  const report: WeightLoadReport = { loaded: [], missing: [], unused: [], mismatched: [] };
  const used = new Set<string>();
  for (const { name, variable } of targetWeights(model)) {
    const source = sources.get(name);
    if (source === undefined) {
      report.missing.push(name);
      continue;
    }
    used.add(name);
    const expected = variable.shape as number[];
    if (tfc.util.arraysEqual(source.shape, expected)) {
      variable.write(source);
      report.loaded.push(name);
      continue;
    }
    const adapted = name.startsWith('stem_conv/') ? adaptStemKernel(source, expected) : undefined;
    if (adapted === undefined) {
      report.mismatched.push({ name, expectedShape: expected, sourceShape: [...source.shape] });
      continue;
    }
    variable.write(adapted);
    adapted.dispose();
    report.loaded.push(name);
  }
  for (const name of sources.keys()) if (!used.has(name)) report.unused.push(name);

  log.info(
    `weights: ${report.loaded.length} loaded, ${report.missing.length} missing, ` +
      `${report.mismatched.length} mismatched, ${report.unused.length} unused`,
  );
  if (options.strict === true && (report.missing.length > 0 || report.mismatched.length > 0)) {
    const first = report.mismatched[0];
    throw new LesionEncError(
      'MODEL_FORMAT',
      `weights: expected every layer of ${model.name} to have a matching weight, got ` +
        `${report.missing.length} missing (first ${report.missing[0] ?? 'none'}) and ` +
        `${report.mismatched.length} mismatched` +
        (first === undefined
          ? ''
          : ` (first ${first.name}: expected [${first.expectedShape.join(', ')}], got [${first.sourceShape.join(', ')}])`),
      { details: { missing: report.missing, mismatched: report.mismatched } },
    );
  }
  return report;
}

/**
 * Decodes the weights of a tfjs `model.json` (as written by `tensorflowjs_converter
 * --input_format keras`) from its manifest and shard bytes. The caller owns and disposes the
 * returned tensors.
 *
 * @param manifest - The `weightsManifest` array of the `model.json`.
 * @param readShard - Returns the bytes of one shard file named in the manifest.
 * @returns Tensors by stored name.
 * @throws {@link LesionEncError} `MODEL_FORMAT` when the manifest is malformed or the shard bytes
 * are too short.
 */
export async function decodeWeightsManifest(
  manifest: unknown,
  readShard: (path: string) => Promise<Uint8Array>,
): Promise<tfc.NamedTensorMap> {
  if (!Array.isArray(manifest)) {
    throw new LesionEncError(
      'MODEL_FORMAT',
      `weightsManifest: expected an array of groups, got ${typeof manifest}`,
    );
  }
  const result: tfc.NamedTensorMap = {};
  for (const group of manifest as WeightsGroup[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new LesionEncError(
        'MODEL_FORMAT',
        'weightsManifest group: expected {paths: string[], weights: []}, got another shape',
      );
    }
    const shards = await Promise.all(group.paths.map((path) => readShard(path)));
    const total = shards.reduce((sum, shard) => sum + shard.byteLength, 0);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const shard of shards) {
      joined.set(shard, offset);
      offset += shard.byteLength;
    }
    let decoded: tfc.NamedTensorMap;
    try {
      decoded = tfc.io.decodeWeights(joined.buffer, group.weights);
    } catch (error) {
      throw new LesionEncError(
        'MODEL_FORMAT',
        `weights shards ${group.paths.join(', ')}: expected data for ${group.weights.length} weights, got ${total} bytes that do not decode`,
        { cause: error },
      );
    }
    Object.assign(result, decoded);
  }
  return result;
}

/** Encoding of saved weights. */
export type WeightPrecision = 'float32' | 'float16';

/** The package's own serialised weights: a manifest and one buffer. */
export interface EncodedWeights {
  specs: WeightSpec[];
  data: Uint8Array;
}

// IEEE 754 binary16 from binary32, round to nearest even, with subnormals, inf and NaN.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (remainder > midpoint || (remainder === midpoint && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/**
 * Serialises every weight of a model by `layer/weight` name.
 *
 * @param model - The model to read.
 * @param precision - `float16` halves the size (about 1e-3 relative error per weight).
 * @returns Manifest entries and bytes, decodable with {@link decodeEncodedWeights}.
 */
export async function encodeModelWeights(
  model: tfl.LayersModel,
  precision: WeightPrecision = 'float32',
): Promise<EncodedWeights> {
  const specs: WeightSpec[] = [];
  const chunks: Uint8Array[] = [];
  for (const { name, variable } of targetWeights(model)) {
    const values = (await variable.read().data()) as Float32Array;
    if (precision === 'float16') {
      const halves = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) halves[i] = toFloat16Bits(values[i] ?? 0);
      chunks.push(new Uint8Array(halves.buffer));
      specs.push({
        name,
        shape: [...variable.shape] as number[],
        dtype: 'float32',
        quantization: { dtype: 'float16' },
      });
    } else {
      chunks.push(
        new Uint8Array(
          values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
        ),
      );
      specs.push({ name, shape: [...variable.shape] as number[], dtype: 'float32' });
    }
  }
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { specs, data };
}

/**
 * Decodes {@link EncodedWeights}. The caller owns and disposes the tensors.
 *
 * @param encoded - Manifest entries and bytes.
 * @returns Tensors by `layer/weight` name.
 * @throws {@link LesionEncError} `MODEL_FORMAT` when the bytes do not match the manifest.
 */
export function decodeEncodedWeights(encoded: EncodedWeights): tfc.NamedTensorMap {
  const copy = encoded.data.slice();
  try {
    return tfc.io.decodeWeights(copy.buffer, encoded.specs);
  } catch (error) {
    throw new LesionEncError(
      'MODEL_FORMAT',
      `weights: expected bytes for ${encoded.specs.length} weights, got ${encoded.data.byteLength} bytes that do not decode`,
      { cause: error },
    );
  }
}
