/* cpu_dwconv.c: depth-wise convolutions on the CPU: OpenMP loops over planes calling the shared
   bodies of src/kern/dwconv.h (forward, input gradient, weight gradient). */
#include <stddef.h>

#include "cpu/cpu_internal.h"
#include "kern/dwconv.h"

#define DW_PAR_MIN 32768L /* multiply-adds below which one thread does the pass */

/* One output plane of a convolution with column stride 1, row by row: each tap (i, j) adds w *
   (a shifted input row) to the output row over the columns where it lies inside the input, so
   the loop over columns vectorises. Every output sums the taps in gf__kern_dw_fwd's order (i,
   then j, from 0, skipping those outside): the same bits. */
GF_CLONES static void dw_plane_sw1(float *restrict yp, const float *restrict xp, const float *restrict wk,
                                   const gf__conv_geom *g) {
  const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw, pw = g->pw;
  for (int oy = 0; oy < OH; oy++) {
    float *restrict yr = yp + (size_t)oy * OW;
    for (int ox = 0; ox < OW; ox++) yr[ox] = 0.0f;
    for (int i = 0; i < kh; i++) {
      const int iy = oy * g->sh - g->ph + i;
      if (iy < 0 || iy >= H) continue;
      for (int j = 0; j < kw; j++) {
        const int lo = pw - j > 0 ? pw - j : 0, hi = W + pw - j < OW ? W + pw - j : OW; /* 0 <= ox - pw + j < W */
        const float wv = wk[i * kw + j], *xr = xp + (size_t)iy * W - pw + j;
        for (int ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox];
      }
    }
  }
}

void gf__cpu_dw_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g) {
  const int C = g->C, m = OC / C, H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
  #pragma omp parallel for collapse(2) if ((long)N * OC * OH * OW * kh * kw > DW_PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      const float *xp = x + ((size_t)n * C + o / m) * H * W, *wk = w + (size_t)o * kh * kw;
      float *yp = y + ((size_t)n * OC + o) * OH * OW;
      if (g->sw == 1) {
        dw_plane_sw1(yp, xp, wk, g);
        continue;
      }
      for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++)
          yp[oy * OW + ox] = gf__kern_dw_fwd(xp, wk, oy, ox, H, W, kh, kw, g->sh, g->sw, g->ph, g->pw);
    }
}

void gf__cpu_dw_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g) {
  const int C = g->C, m = OC / C, H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
  #pragma omp parallel for collapse(2) if ((long)N * OC * H * W * kh * kw > DW_PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float *xp = dx + ((size_t)n * C + c) * H * W;
      for (int q = 0; q < m; q++) {
        const int o = c * m + q;
        const float *dp = dy + ((size_t)n * OC + o) * OH * OW, *wk = w + (size_t)o * kh * kw;
        for (int iy = 0; iy < H; iy++)
          for (int ix = 0; ix < W; ix++)
            xp[iy * W + ix] += gf__kern_dw_bwd_data(dp, wk, iy, ix, OH, OW, kh, kw, g->sh, g->sw, g->ph, g->pw);
      }
    }
}

void gf__cpu_dw_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g) {
  const int C = g->C, m = OC / C, H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
  #pragma omp parallel for if ((long)N * OC * OH * OW * kh * kw > DW_PAR_MIN) schedule(static)
  for (int o = 0; o < OC; o++)
    for (int t = 0; t < kh * kw; t++) {
      float acc = 0.0f;
      for (int n = 0; n < N; n++)
        acc += gf__kern_dw_bwd_w(x + ((size_t)n * C + o / m) * H * W, dy + ((size_t)n * OC + o) * OH * OW, t / kw, t % kw,
                                 H, W, OH, OW, g->sh, g->sw, g->ph, g->pw);
      dw[(size_t)o * kh * kw + t] += acc;
    }
}
