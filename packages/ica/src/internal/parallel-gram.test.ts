// The threaded Gram matrix equals the single-threaded one up to summation order.
import { createRandom } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { gramOfColumns } from './linalg';
import { defaultThreadCount, gramOfColumnsParallel, sharedZeros } from './parallel-gram';

/** Different summation order: agreement to rounding of sums of ~1000 products. */
const TOLERANCE = 1e-9;

describe('gramOfColumnsParallel', () => {
  it.each([2, 3])('matches the single-threaded kernel on %i threads', (threads) => {
    const random = createRandom(threads);
    const x = sharedZeros(1001, 37, threads);
    expect(x.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (let i = 0; i < x.data.length; i++) x.data[i] = random.normal();
    const parallel = gramOfColumnsParallel(x, threads, 0);
    const single = gramOfColumns(x);
    let worst = 0;
    for (let i = 0; i < single.data.length; i++) {
      worst = Math.max(worst, Math.abs((parallel.data[i] as number) - (single.data[i] as number)));
    }
    expect(worst).toBeLessThan(TOLERANCE);
    // The symmetric lower triangle is filled in too.
    expect(parallel.data[5 * 37 + 2]).toBe(parallel.data[2 * 37 + 5]);
  });

  it.each([
    ['throws', "throw new Error('worker fault');"],
    ['never answers', 'for (;;) {}'],
  ])('takes over the share of a worker that %s, without waiting forever', (_, prelude) => {
    const random = createRandom(9);
    const x = sharedZeros(400, 11, 2);
    for (let i = 0; i < x.data.length; i++) x.data[i] = random.normal();
    const parallel = gramOfColumnsParallel(x, 2, 0, { workerPrelude: prelude, deadlineMs: 1500 });
    const single = gramOfColumns(x);
    let worst = 0;
    for (let i = 0; i < single.data.length; i++) {
      worst = Math.max(worst, Math.abs((parallel.data[i] as number) - (single.data[i] as number)));
    }
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('reports at least one thread', () => {
    expect(defaultThreadCount()).toBeGreaterThanOrEqual(1);
  });
});
