// `lesionenc ica fit` and `transform` end to end on .npy files in a temporary directory.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRandom } from '@lesionenc/base';
import { icaModelFromJson } from '@lesionenc/ica';
import { readNpy, writeNpy } from '@lesionenc/io';
import { afterAll, describe, expect, it } from 'vitest';

import { capture } from '../testing/capture';
import { runIca } from './ica';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-ica-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** 3 Laplace-like sources mixed into 10 features. */
function mixture(rows: number, seed: number): Float64Array {
  const random = createRandom(seed);
  const mixing = Array.from({ length: 30 }, () => random.normal());
  const data = new Float64Array(rows * 10);
  for (let r = 0; r < rows; r++) {
    const s = [0, 1, 2].map(() => Math.log(random.next() + 1e-9) * (random.next() < 0.5 ? -1 : 1));
    for (let f = 0; f < 10; f++) {
      data[r * 10 + f] = s.reduce((sum, v, j) => sum + v * (mixing[f * 3 + j] as number), 0) + 5;
    }
  }
  return data;
}

describe('lesionenc ica', () => {
  it('fits on a 2-D matrix and transforms it', async () => {
    const x = join(directory, 'x.npy');
    const model = join(directory, 'ica.json');
    const sources = join(directory, 's.npy');
    await writeNpy(x, { data: mixture(400, 1), shape: [400, 10] });
    const fit = capture();
    expect(
      await runIca(
        ['fit', '--input', x, '--components', '3', '--seed', '2', '--fun', 'exp', '--out', model],
        fit.io,
      ),
    ).toBe(0);
    expect(fit.out.join('\n')).toMatch(/fitted 3 components on 400 x 10/);
    const loaded = icaModelFromJson(readFileSync(model, 'utf8'));
    expect(loaded.config.fun).toBe('exp');
    expect(loaded.config.seed).toBe(2);
    const transform = capture();
    expect(
      await runIca(['transform', '--model', model, '--input', x, '--out', sources], transform.io),
    ).toBe(0);
    const s = await readNpy(sources);
    expect(s.shape).toEqual([400, 3]);
    // Unit-variance sources of the training data.
    const column = Array.from({ length: 400 }, (_, r) => s.data[r * 3] as number);
    expect(column.reduce((sum, v) => sum + v * v, 0) / 400).toBeCloseTo(1, 6);
  });

  it('leaves padding out of the fit and zero in the output of 3-D sequences', async () => {
    const flat = mixture(60, 3);
    const padded = new Float32Array(4 * 20 * 10);
    const lengths = [20, 15, 10, 15];
    let next = 0;
    lengths.forEach((length, scan) => {
      for (let t = 0; t < length; t++) {
        padded.set(flat.subarray(next * 10, (next + 1) * 10), (scan * 20 + t) * 10);
        next++;
      }
    });
    const x = join(directory, 'seq.npy');
    const l = join(directory, 'lengths.npy');
    const model = join(directory, 'seq-ica.json');
    const out = join(directory, 'seq-s.npy');
    await writeNpy(x, { data: padded, shape: [4, 20, 10] });
    await writeNpy(l, { data: Int32Array.from(lengths), shape: [4] });
    const io = capture().io;
    expect(
      await runIca(['fit', '--input', x, '--lengths', l, '--components', '3', '--out', model], io),
    ).toBe(0);
    expect(
      await runIca(['transform', '--model', model, '--input', x, '--lengths', l, '--out', out], io),
    ).toBe(0);
    const s = await readNpy(out);
    expect(s.shape).toEqual([4, 20, 3]);
    // Scan 2 has 10 real slices: slice 9 is non-zero, slice 10 on is padding.
    expect(
      Array.from(s.data.subarray((2 * 20 + 9) * 3, (2 * 20 + 10) * 3)).some((v) => v !== 0),
    ).toBe(true);
    expect(Array.from(s.data.subarray((2 * 20 + 10) * 3, 3 * 20 * 3)).every((v) => v === 0)).toBe(
      true,
    );
  });

  it('reports library errors with exit code 1 and bad usage with 2', async () => {
    const bad = capture();
    expect(
      await runIca(
        ['transform', '--model', join(directory, 'nope.json'), '--input', 'x', '--out', 'y'],
        bad.io,
      ),
    ).toBe(1);
    const usage = capture();
    expect(await runIca(['fit', '--input', 'x.npy'], usage.io)).toBe(2);
    expect(usage.err.join('\n')).toContain('Usage');
    expect(await runIca(['frobnicate'], capture().io)).toBe(2);
  });
});
