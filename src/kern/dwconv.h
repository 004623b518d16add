/* dwconv.h: per-element bodies of depth-wise convolution (forward, input and weight gradients),
   shared by the CPU loops (src/cpu/cpu_dwconv.c) and the CUDA kernels. Planes are single
   channels; zero padding (ph, pw) and stride (sh, sw) as in gf__conv_geom. */
#ifndef GF_KERN_DWCONV_H
#define GF_KERN_DWCONV_H

#include "core/hd.h"

/* y at (oy, ox) of one output plane: sum_{i,j} wk[i, j] x[oy*sh - ph + i, ox*sw - pw + j]
   (x: one input plane [H, W]; wk: that channel's kernel [kh, kw]). */
static inline GF_HD float gf__kern_dw_fwd(const float *x, const float *wk, int oy, int ox, int H, int W, int kh, int kw,
                                          int sh, int sw, int ph, int pw) {
  float acc = 0.0f;
  const int iy0 = oy * sh - ph, ix0 = ox * sw - pw;
  for (int i = 0; i < kh; i++) {
    const int iy = iy0 + i;
    if (iy < 0 || iy >= H) continue;
    for (int j = 0; j < kw; j++) {
      const int ix = ix0 + j;
      if (ix >= 0 && ix < W) acc += wk[i * kw + j] * x[iy * W + ix];
    }
  }
  return acc;
}

/* Input gradient at (iy, ix) from one output plane's gradient dy [OH, OW]: the sum over the taps
   (i, j) with (iy + ph - i) / sh, (ix + pw - j) / sw whole and inside the output. */
static inline GF_HD float gf__kern_dw_bwd_data(const float *dy, const float *wk, int iy, int ix, int OH, int OW, int kh,
                                               int kw, int sh, int sw, int ph, int pw) {
  float acc = 0.0f;
  for (int i = 0; i < kh; i++) {
    const int ty = iy + ph - i;
    if (ty < 0 || ty % sh) continue;
    const int oy = ty / sh;
    if (oy >= OH) continue;
    for (int j = 0; j < kw; j++) {
      const int tx = ix + pw - j;
      if (tx < 0 || tx % sw) continue;
      const int ox = tx / sw;
      if (ox < OW) acc += wk[i * kw + j] * dy[oy * OW + ox];
    }
  }
  return acc;
}

/* Weight gradient of tap (i, j) from one (input plane, output-gradient plane) pair:
   sum_{oy, ox} dy[oy, ox] x[oy*sh - ph + i, ox*sw - pw + j]. */
static inline GF_HD float gf__kern_dw_bwd_w(const float *x, const float *dy, int i, int j, int H, int W, int OH, int OW,
                                            int sh, int sw, int ph, int pw) {
  float acc = 0.0f;
  for (int oy = 0; oy < OH; oy++) {
    const int iy = oy * sh - ph + i;
    if (iy < 0 || iy >= H) continue;
    for (int ox = 0; ox < OW; ox++) {
      const int ix = ox * sw - pw + j;
      if (ix >= 0 && ix < W) acc += dy[oy * OW + ox] * x[iy * W + ix];
    }
  }
  return acc;
}

#endif
