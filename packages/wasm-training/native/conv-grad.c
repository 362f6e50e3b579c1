// Filter gradient of a depthwise 2D convolution (NHWC, float32) for the wasm backend, where
// tfjs 4.22 has no kernel for it.
//
//   dw[ky][kx][c][m] = sum over b, oy, ox of
//       x[b][oy * strideH + ky * dilationH - padTop][ox * strideW + kx * dilationW - padLeft][c]
//       * dy[b][oy][ox][c * multiplier + m]
//
// where input positions outside the image count as zero. For each output row and each filter
// tap the sum over the row's columns runs in SIMD registers, four channels per vector, and is
// then added to the result: the float32 sums are at most one row long before they reach the
// accumulator, which keeps rounding error near that of a double-precision reference.

#include <wasm_simd128.h>

typedef struct {
  int lo;
  int hi;
} range_t;

// Output columns (or rows) whose input index o * stride + offset lies in [0, size).
static range_t valid_outputs(int outSize, int stride, int offset, int size) {
  range_t r;
  int lo = 0;
  if (offset < 0) lo = (-offset + stride - 1) / stride;
  int hi = outSize;
  // Largest o with o * stride + offset <= size - 1.
  int last = size - 1 - offset;
  if (last < 0) {
    hi = 0;
  } else if (last / stride + 1 < hi) {
    hi = last / stride + 1;
  }
  r.lo = lo;
  r.hi = hi < lo ? lo : hi;
  return r;
}

__attribute__((export_name("depthwise_filter_grad"))) void depthwise_filter_grad(
    const float *x, const float *dy, float *dw, int batch, int inH, int inW, int channels,
    int outH, int outW, int multiplier, int kh, int kw, int strideH, int strideW, int dilationH,
    int dilationW, int padTop, int padLeft) {
  const int outChannels = channels * multiplier;
  const int taps = kh * kw;
  for (int i = 0; i < taps * outChannels; i++) dw[i] = 0.0f;

  for (int b = 0; b < batch; b++) {
    for (int oy = 0; oy < outH; oy++) {
      const float *dyRow = dy + ((long)(b * outH + oy) * outW) * outChannels;
      for (int ky = 0; ky < kh; ky++) {
        const int iy = oy * strideH + ky * dilationH - padTop;
        if (iy < 0 || iy >= inH) continue;
        const float *xRow = x + ((long)(b * inH + iy) * inW) * channels;
        for (int kx = 0; kx < kw; kx++) {
          const int offset = kx * dilationW - padLeft;
          const range_t cols = valid_outputs(outW, strideW, offset, inW);
          if (cols.hi <= cols.lo) continue;
          float *acc = dw + (ky * kw + kx) * outChannels;
          const int xStep = strideW * channels;

          if (multiplier != 1) {
            for (int c = 0; c < channels; c++) {
              for (int m = 0; m < multiplier; m++) {
                float s = 0.0f;
                const float *xp = xRow + (long)(cols.lo * strideW + offset) * channels + c;
                const float *dp = dyRow + (long)cols.lo * outChannels + c * multiplier + m;
                for (int ox = cols.lo; ox < cols.hi; ox++) {
                  s += *xp * *dp;
                  xp += xStep;
                  dp += outChannels;
                }
                acc[c * multiplier + m] += s;
              }
            }
            continue;
          }

          int c = 0;
          // Sixteen channels at a time: four independent vector sums.
          for (; c + 16 <= channels; c += 16) {
            v128_t s0 = wasm_f32x4_splat(0.0f);
            v128_t s1 = s0;
            v128_t s2 = s0;
            v128_t s3 = s0;
            const float *xp = xRow + (long)(cols.lo * strideW + offset) * channels + c;
            const float *dp = dyRow + (long)cols.lo * channels + c;
            for (int ox = cols.lo; ox < cols.hi; ox++) {
              s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(dp)));
              s1 = wasm_f32x4_add(s1,
                                  wasm_f32x4_mul(wasm_v128_load(xp + 4), wasm_v128_load(dp + 4)));
              s2 = wasm_f32x4_add(s2,
                                  wasm_f32x4_mul(wasm_v128_load(xp + 8), wasm_v128_load(dp + 8)));
              s3 = wasm_f32x4_add(
                  s3, wasm_f32x4_mul(wasm_v128_load(xp + 12), wasm_v128_load(dp + 12)));
              xp += xStep;
              dp += channels;
            }
            wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), s0));
            wasm_v128_store(acc + c + 4, wasm_f32x4_add(wasm_v128_load(acc + c + 4), s1));
            wasm_v128_store(acc + c + 8, wasm_f32x4_add(wasm_v128_load(acc + c + 8), s2));
            wasm_v128_store(acc + c + 12, wasm_f32x4_add(wasm_v128_load(acc + c + 12), s3));
          }
          for (; c + 4 <= channels; c += 4) {
            v128_t s = wasm_f32x4_splat(0.0f);
            const float *xp = xRow + (long)(cols.lo * strideW + offset) * channels + c;
            const float *dp = dyRow + (long)cols.lo * channels + c;
            for (int ox = cols.lo; ox < cols.hi; ox++) {
              s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(dp)));
              xp += xStep;
              dp += channels;
            }
            wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), s));
          }
          for (; c < channels; c++) {
            float s = 0.0f;
            const float *xp = xRow + (long)(cols.lo * strideW + offset) * channels + c;
            const float *dp = dyRow + (long)cols.lo * channels + c;
            for (int ox = cols.lo; ox < cols.hi; ox++) {
              s += *xp * *dp;
              xp += xStep;
              dp += channels;
            }
            acc[c] += s;
          }
        }
      }
    }
  }
}
