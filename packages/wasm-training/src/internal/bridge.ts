// Runs tfjs ops inside a kernel: wraps the kernel's inputs as tensors and hands back the result
// as a TensorInfo the engine adopts, so no intermediate outlives the call.
import * as tf from '@tensorflow/tfjs-core';

/** The part of a backend a composite kernel relies on: reference counting of data ids. */
interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

function hasIncRef(backend: unknown): backend is RefCountingBackend {
  return typeof (backend as Partial<RefCountingBackend>).incRef === 'function';
}

/**
 * Runs `body` on tensors that share the data of `inputs`, and returns its result as a TensorInfo
 * owned by the engine's caller. The input data is never freed: each wrapper holds its own
 * reference, released when the wrapper is disposed.
 */
export function runComposite(
  backend: unknown,
  inputs: readonly tf.TensorInfo[],
  body: (tensors: tf.Tensor[]) => tf.Tensor,
): tf.TensorInfo {
  if (!hasIncRef(backend)) {
    throw new Error(`composite kernel: expected a backend with incRef, got ${String(backend)}`);
  }
  const engine = tf.engine();
  const wrappers = inputs.map((info) => {
    backend.incRef(info.dataId);
    return engine.makeTensorFromTensorInfo(info, backend as tf.KernelBackend);
  });
  try {
    const result = tf.tidy(() => body(wrappers));
    // One more reference for the engine's output tensor, then drop ours.
    backend.incRef(result.dataId);
    const out: tf.TensorInfo = { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
    result.dispose();
    return out;
  } finally {
    for (const wrapper of wrappers) wrapper.dispose();
  }
}

/**
 * A window of rows and columns of an NHWC-like tensor, with zeros outside: rows
 * `top .. top + height - 1` along `axes[0]` and columns `left .. left + width - 1` along
 * `axes[1]`, where negative indices or indices past the end read as `padValue`.
 */
export function zeroPaddedWindow(
  x: tf.Tensor,
  axes: readonly [number, number],
  start: readonly [number, number],
  size: readonly [number, number],
  padValue = 0,
): tf.Tensor {
  const rank = x.rank;
  const begin = new Array<number>(rank).fill(0);
  const sliceSize = x.shape.slice();
  const pads: [number, number][] = x.shape.map(() => [0, 0]);
  let crop = false;
  let pad = false;
  for (let k = 0; k < 2; k++) {
    const axis = axes[k]!;
    const length = x.shape[axis]!;
    const first = start[k]!;
    const last = first + size[k]!; // exclusive
    const from = Math.max(first, 0);
    const to = Math.min(last, length);
    begin[axis] = from;
    sliceSize[axis] = Math.max(to - from, 0);
    if (from !== 0 || to !== length) crop = true;
    pads[axis] = [from - first, last - Math.max(to, from)];
    if (pads[axis][0] !== 0 || pads[axis][1] !== 0) pad = true;
  }
  let out = crop ? tf.slice(x, begin, sliceSize) : x;
  if (pad) out = tf.pad(out, pads, padValue);
  return out;
}
