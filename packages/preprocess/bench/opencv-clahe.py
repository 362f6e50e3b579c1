#!/usr/bin/python3
# Times OpenCV's CLAHE on the benchmark's slice (512x512, clip 2, 8x8 tiles), for comparison.
# Run with Debian's interpreter and python3-opencv: /usr/bin/python3 packages/preprocess/bench/opencv-clahe.py
import time

import cv2
import numpy as np

ROWS, COLUMNS = 512, 512
RUNS = 200


def chest_slice():
    """The same picture as clahe.bench.ts builds: body, two lungs and a fixed integer texture."""
    i, j = np.mgrid[0:ROWS, 0:COLUMNS]
    body = ((i - 256) / 200) ** 2 + ((j - 256) / 230) ** 2 < 1
    lungs = (((i - 250) / 140) ** 2 + ((np.abs(j - 256) - 110) / 80) ** 2) < 1
    value = np.where(body, 170, 10)
    value = np.where(lungs, 60, value)
    texture = (i * 7 + j * 13 + (i * j) % 17) % 23 - 11
    return np.clip(value + texture, 0, 255).astype(np.uint8)


def main():
    image = chest_slice()
    # OpenCV runs single-threaded here, as the TypeScript code does.
    cv2.setNumThreads(1)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    for _ in range(20):
        clahe.apply(image)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        clahe.apply(image)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"OpenCV {cv2.__version__} CLAHE 512x512 clip 2 tiles 8x8: median {times[RUNS // 2]:.3f} ms, "
          f"min {times[0]:.3f} ms over {RUNS} runs")


main()
