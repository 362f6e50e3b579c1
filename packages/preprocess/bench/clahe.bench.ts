// CLAHE on one 512x512 8-bit slice (clip limit 2, 8x8 tiles), against OpenCV on the same picture.
// Reference: packages/preprocess/bench/opencv-clahe.py times OpenCV 4.6.0 (Debian python3-opencv).
import type { Benchmark } from '../../../scripts/bench-types';
import { type Clahe, createClahe } from '../src/clahe';

const ROWS = 512;
const COLUMNS = 512;

interface Context {
  clahe: Clahe;
  image: Uint8Array;
  out: Uint8Array;
}

/** The picture opencv-clahe.py builds: body, two lungs and a fixed integer texture. */
function createChestSlice(): Uint8Array {
  const image = new Uint8Array(ROWS * COLUMNS);
  for (let i = 0; i < ROWS; i++) {
    for (let j = 0; j < COLUMNS; j++) {
      const body = ((i - 256) / 200) ** 2 + ((j - 256) / 230) ** 2 < 1;
      const lungs = ((i - 250) / 140) ** 2 + ((Math.abs(j - 256) - 110) / 80) ** 2 < 1;
      const value = lungs ? 60 : body ? 170 : 10;
      const texture = ((i * 7 + j * 13 + ((i * j) % 17)) % 23) - 11;
      image[i * COLUMNS + j] = Math.min(255, Math.max(0, value + texture));
    }
  }
  return image;
}

const clahe512: Benchmark<Context> = {
  id: 'preprocess/clahe-512x512-clip2-8x8',
  title: 'CLAHE of one 512x512 8-bit slice, clip limit 2, 8x8 tiles',
  warmup: 20,
  runs: 200,
  setup: () => ({
    clahe: createClahe({ clipLimit: 2, tileGridSize: [8, 8] }),
    image: createChestSlice(),
    out: new Uint8Array(ROWS * COLUMNS),
  }),
  run: ({ clahe, image, out }) => {
    clahe.apply(image, ROWS, COLUMNS, out);
  },
  // Measured on the same machine and picture with opencv-clahe.py (median of 200 runs, one thread).
  extra: () => ({ 'OpenCV 4.6.0 ms': 0.82, 'goal ms (5x OpenCV)': 4.1 }),
  teardown: ({ clahe }) => clahe.dispose(),
};

export const benchmarks = [clahe512];
