/* cpu_conv.c: CPU convolution helpers: im2col / col2im (the lowering that turns a convolution
   into one sgemm), axis swaps between [N, C, S] and [C, N*S], and reflection padding. */
#include <string.h>

#include "cpu/cpu_internal.h"

#define PAR_MIN 32768

void gf__cpu_im2col(float *col, const float *x, int N, const gf__conv_geom *g) {
  const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
  const int ph = g->ph, pw = g->pw, OH = g->OH, OW = g->OW;
  const long P = (long)OH * OW, ld = (long)N * P;
  const long rows = (long)C * kh * kw;
  #pragma omp parallel for collapse(2) if (rows * ld > PAR_MIN) schedule(static)
  for (long r = 0; r < rows; r++)
    for (int n = 0; n < N; n++) {
      const int c = (int)(r / (kh * kw)), i = (int)(r / kw % kh), j = (int)(r % kw);
      const float *xp = x + ((size_t)n * C + c) * H * W;
      float *dst = col + (size_t)r * ld + (size_t)n * P;
      /* the valid output columns of this kernel tap: 0 <= ox*sw - pw + j < W */
      int ox0 = 0, ox1 = OW;
      while (ox0 < OW && ox0 * sw - pw + j < 0) ox0++;
      while (ox1 > ox0 && (ox1 - 1) * sw - pw + j >= W) ox1--;
      for (int oy = 0; oy < OH; oy++) {
        float *d = dst + (size_t)oy * OW;
        int iy = oy * sh - ph + i;
        if (iy < 0 || iy >= H) {
          memset(d, 0, sizeof(float) * (size_t)OW);
          continue;
        }
        const float *row = xp + (size_t)iy * W;
        for (int ox = 0; ox < ox0; ox++) d[ox] = 0.0f;
        if (sw == 1) {
          if (ox1 > ox0) memcpy(d + ox0, row + ox0 - pw + j, sizeof(float) * (size_t)(ox1 - ox0));
        } else if (sw == 2) {
          const float *s = row + ox0 * 2 - pw + j;
          for (int ox = ox0; ox < ox1; ox++, s += 2) d[ox] = *s;
        } else {
          for (int ox = ox0; ox < ox1; ox++) d[ox] = row[ox * sw - pw + j];
        }
        for (int ox = ox1; ox < OW; ox++) d[ox] = 0.0f;
      }
    }
}

void gf__cpu_col2im(float *x, const float *col, int N, const gf__conv_geom *g) {
  const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
  const int ph = g->ph, pw = g->pw, OH = g->OH, OW = g->OW;
  const long P = (long)OH * OW, ld = (long)N * P;
  /* every (n, c) plane is written by its own rows of col only: no races */
  #pragma omp parallel for collapse(2) if ((long)C * kh * kw * ld > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float *xp = x + ((size_t)n * C + c) * H * W;
      for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
          const float *src = col + ((size_t)(c * kh + i) * kw + j) * ld + (size_t)n * P;
          int ox0 = 0, ox1 = OW;
          while (ox0 < OW && ox0 * sw - pw + j < 0) ox0++;
          while (ox1 > ox0 && (ox1 - 1) * sw - pw + j >= W) ox1--;
          for (int oy = 0; oy < OH; oy++) {
            int iy = oy * sh - ph + i;
            if (iy < 0 || iy >= H) continue;
            float *row = xp + (size_t)iy * W;
            const float *s = src + (size_t)oy * OW;
            if (sw == 1) {
              float *d = row - pw + j;
              for (int ox = ox0; ox < ox1; ox++) d[ox] += s[ox];
            } else if (sw == 2) {
              float *d = row + ox0 * 2 - pw + j;
              for (int ox = ox0; ox < ox1; ox++, d += 2) *d += s[ox];
            } else {
              for (int ox = ox0; ox < ox1; ox++) row[ox * sw - pw + j] += s[ox];
            }
          }
        }
    }
}

void gf__cpu_swap01(float *dst, const float *src, int A, int B, int S, float beta) {
  #pragma omp parallel for collapse(2) if ((long)A * B * S > PAR_MIN) schedule(static)
  for (int a = 0; a < A; a++)
    for (int b = 0; b < B; b++) {
      const float *s = src + ((size_t)a * B + b) * S;
      float *d = dst + ((size_t)b * A + a) * S;
      if (beta == 0.0f) memcpy(d, s, sizeof(float) * (size_t)S);
      else for (int k = 0; k < S; k++) d[k] += s[k];
    }
}

/* Source index of padded coordinate p (in [-before, n + after)) under reflection. */
static inline int reflect(int p, int n) {
  if (p < 0) return -p;
  if (p >= n) return 2 * (n - 1) - p;
  return p;
}

void gf__cpu_reflect_pad_fwd(float *y, const float *x, int NC, int H, int W, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  #pragma omp parallel for if ((long)NC * OH * OW > PAR_MIN) schedule(static)
  for (int p = 0; p < NC; p++) {
    const float *xp = x + (size_t)p * H * W;
    float *yp = y + (size_t)p * OH * OW;
    for (int oy = 0; oy < OH; oy++) {
      const float *row = xp + (size_t)reflect(oy - t, H) * W;
      float *d = yp + (size_t)oy * OW;
      for (int ox = 0; ox < l; ox++) d[ox] = row[reflect(ox - l, W)];
      memcpy(d + l, row, sizeof(float) * (size_t)W);
      for (int ox = l + W; ox < OW; ox++) d[ox] = row[reflect(ox - l, W)];
    }
  }
}

void gf__cpu_reflect_pad_bwd(float *dx, const float *dy, int NC, int H, int W, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  #pragma omp parallel for if ((long)NC * OH * OW > PAR_MIN) schedule(static)
  for (int p = 0; p < NC; p++) {
    float *xp = dx + (size_t)p * H * W;
    const float *yp = dy + (size_t)p * OH * OW;
    for (int oy = 0; oy < OH; oy++) {
      float *row = xp + (size_t)reflect(oy - t, H) * W;
      const float *s = yp + (size_t)oy * OW;
      for (int ox = 0; ox < OW; ox++) row[reflect(ox - l, W)] += s[ox];
    }
  }
}
