// Slice on the wasm backend without copying the whole input: tfjs-backend-wasm 4.22 reads every
// input of Slice back into a fresh JavaScript array (readSync) before copying the part it keeps,
// so cutting one row out of a large tensor costs a copy of all of it.
import * as tf from '@tensorflow/tfjs-core';

/** The part of the wasm backend this kernel uses. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

/**
 * A `Slice` kernel for the wasm backend that reads the input in place from the wasm heap: one
 * copy of the kept values (contiguous runs copied whole), and nothing else. Results are
 * identical to the original kernel. Strings fall back to the original.
 *
 * @param original - The backend's own Slice kernel, for string tensors.
 * @returns The kernel function.
 */
export function heapSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    const { begin, size } = args.attrs as unknown as { begin: number[]; size: number[] };
    const backend = args.backend as unknown as WasmHeapBackend;
    const parsed = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const start = parsed[0]!;
    const extent = parsed[1]!;
    const out = backend.makeOutput(extent, x.dtype);
    const total = tf.util.sizeFromShape(extent);
    if (total === 0) return out;

    // Views are taken after the output exists: allocating it may grow (and move) the heap.
    const source = backend.typedArrayFromHeap(x);
    const target = backend.typedArrayFromHeap(out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, start, extent)) {
      const offset = tf.slice_util.computeFlatOffset(start, strides);
      target.set(source.subarray(offset, offset + total));
      return out;
    }

    // Copy the innermost axis run by run, walking the outer axes like an odometer.
    const rank = extent.length;
    const run = extent[rank - 1]!;
    const counters = new Array<number>(rank - 1).fill(0);
    for (let written = 0; written < total; written += run) {
      let offset = start[rank - 1]!;
      for (let d = 0; d < rank - 1; d++) offset += (start[d]! + counters[d]!) * strides[d]!;
      target.set(source.subarray(offset, offset + run), written);
      for (let d = rank - 2; d >= 0; d--) {
        counters[d]! += 1;
        if (counters[d]! < extent[d]!) break;
        counters[d] = 0;
      }
    }
    return out;
  };
}
