// Extracts the strided input windows a convolution reads for each filter tap, the building block
// of the filter gradients.
import * as tf from '@tensorflow/tfjs-core';

import { zeroPaddedWindow } from './bridge';

/** Geometry of the spatial axes of a convolution, as the taps see it. */
export interface TapGeometry {
  /** The two spatial axes of the tensor the taps are cut from. */
  axes: readonly [number, number];
  outSize: readonly [number, number];
  filterSize: readonly [number, number];
  strides: readonly [number, number];
  dilations: readonly [number, number];
  /** Rows and columns of padding added before the input (top, left). */
  padBefore: readonly [number, number];
  /** The value read outside the input. @defaultValue 0 */
  padValue?: number;
}

/**
 * Returns a function giving, for filter tap `(i, j)`, the input values it multiplies:
 * `x[.., ho * strideH + i * dilationH - padTop, wo * strideW + j * dilationW - padLeft, ..]` for
 * every output position, shaped like `x` with the spatial axes replaced by the output size.
 * With strides above 1 the input is split once into its stride phases, so each tap is a plain
 * slice. Every tensor it creates lives in the caller's tidy scope.
 */
export function createTapReader(
  x: tf.Tensor,
  geometry: TapGeometry,
): (i: number, j: number) => tf.Tensor {
  const { axes, outSize, filterSize, strides, dilations, padBefore, padValue = 0 } = geometry;
  const lastAxes = axes[0] === x.rank - 2 && axes[1] === x.rank - 1;
  const strided = strides[0] > 1 || strides[1] > 1;
  // With the spatial axes last, the window is cut to whole stride blocks so one transpose can
  // split it into all its phases (the strided slice of tfjs-wasm is an order of magnitude slower).
  const blocks = (n: number, stride: number) => (lastAxes ? Math.ceil(n / stride) * stride : n);
  const needed: [number, number] = [
    blocks((outSize[0] - 1) * strides[0] + (filterSize[0] - 1) * dilations[0] + 1, strides[0]),
    blocks((outSize[1] - 1) * strides[1] + (filterSize[1] - 1) * dilations[1] + 1, strides[1]),
  ];
  const window = zeroPaddedWindow(x, axes, [-padBefore[0], -padBefore[1]], needed, padValue);

  // Cut every stride phase the taps use now, in the caller's scope: a tap may run in a tidy of
  // its own, which must not dispose a phase other taps still read.
  const phases = new Map<string, tf.Tensor>();
  let split: tf.Tensor | undefined;
  for (let i = 0; i < filterSize[0]; i++) {
    for (let j = 0; j < filterSize[1]; j++) {
      const p = (i * dilations[0]) % strides[0];
      const q = (j * dilations[1]) % strides[1];
      const key = `${p},${q}`;
      if (phases.has(key)) continue;
      if (!strided) {
        phases.set(key, window);
        continue;
      }
      if (lastAxes) {
        const lead = window.shape.slice(0, -2);
        const rowsPerPhase = needed[0] / strides[0];
        const columnsPerPhase = needed[1] / strides[1];
        const leading = lead.reduce((a, b) => a * b, 1) * rowsPerPhase;
        split ??= tf.transpose(
          tf.reshape(window, [leading, strides[0], columnsPerPhase, strides[1]]),
          [1, 3, 0, 2],
        );
        const one = tf.slice(split, [p, q, 0, 0], [1, 1, leading, columnsPerPhase]);
        phases.set(key, tf.reshape(one, [...lead, rowsPerPhase, columnsPerPhase]));
        continue;
      }
      const begin = new Array<number>(x.rank).fill(0);
      const step = new Array<number>(x.rank).fill(1);
      begin[axes[0]] = p;
      begin[axes[1]] = q;
      step[axes[0]] = strides[0];
      step[axes[1]] = strides[1];
      phases.set(key, tf.stridedSlice(window, begin, window.shape.slice(), step));
    }
  }
  const phase = (p: number, q: number): tf.Tensor => phases.get(`${p},${q}`)!;

  return (i, j) => {
    const row = i * dilations[0];
    const column = j * dilations[1];
    const source = phase(row % strides[0], column % strides[1]);
    const begin = new Array<number>(x.rank).fill(0);
    const size = source.shape.slice();
    begin[axes[0]] = Math.floor(row / strides[0]);
    begin[axes[1]] = Math.floor(column / strides[1]);
    size[axes[0]] = outSize[0];
    size[axes[1]] = outSize[1];
    return tf.slice(source, begin, size);
  };
}
