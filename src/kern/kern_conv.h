/* kern_conv.h: index math of the convolution helpers (im2col / col2im tap ranges, reflection
   padding), shared by src/cpu and src/cuda. */
#ifndef GF_KERN_CONV_H
#define GF_KERN_CONV_H

#include "core/hd.h"
#include "core/ops.h"

/* Valid output range [*lo, *hi) of one kernel tap t along an axis: 0 <= o*st - pad + t < n,
   o < on. */
static inline GF_HD void gf__k_tap_range(int t, int st, int pad, int n, int on, int *lo, int *hi) {
  int a = pad - t, l = a > 0 ? (a + st - 1) / st : 0;   /* first o with o*st >= pad - t */
  int b = n - 1 + pad - t, h = b >= 0 ? b / st + 1 : 0; /* one past the last o with o*st <= n-1+pad-t */
  if (h > on) h = on;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* im2col element: col[(c*kh+i)*kw+j, n*P + oy*OW + ox] (oy relative to the band start r0) is
   x[n, c, iy, ix] or 0 outside; returns the offset of that value in x [N, C, H, W], or -1. */
static inline GF_HD long gf__k_im2col_src(const gf__conv_geom *g, int r0, int n, int c, int i, int j, int oy, int ox) {
  int iy = (r0 + oy) * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
  if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) return -1;
  return (((long)n * g->C + c) * g->H + iy) * g->W + ix;
}

/* col2im of one input element x[n, c, iy, ix]: the sum of the col entries that im2col reads from
   it (band rows [r0, r0 + rn) of col [C*kh*kw, N*rn*OW]). */
static inline GF_HD float gf__k_col2im_sum(const float *col, const gf__conv_geom *g, int r0, int rn, int N, int n, int c,
                                           int iy, int ix) {
  const long P = (long)rn * g->OW, ld = (long)N * P;
  float acc = 0.0f;
  for (int i = 0; i < g->kh; i++) {
    int ty = iy + g->ph - i; /* = oy * sh */
    if (ty < 0 || ty % g->sh) continue;
    int oy = ty / g->sh - r0;
    if (oy < 0 || oy >= rn) continue;
    for (int j = 0; j < g->kw; j++) {
      int tx = ix + g->pw - j;
      if (tx < 0 || tx % g->sw) continue;
      int ox = tx / g->sw;
      if (ox >= g->OW) continue;
      acc += col[((long)(c * g->kh + i) * g->kw + j) * ld + (long)n * P + (long)oy * g->OW + ox];
    }
  }
  return acc;
}

/* im2col of col element e of col [C*kh*kw, N*rn*OW] (band rows [r0, r0 + rn)): its value. */
static inline GF_HD float gf__k_im2col_elem(const float *x, const gf__conv_geom *g, int N, int r0, int rn, size_t e) {
  const size_t P = (size_t)rn * g->OW, NP = (size_t)N * P;
  size_t r = e / NP, q = e % NP;
  int n = (int)(q / P), p = (int)(q % P);
  int c = (int)(r / ((size_t)g->kh * g->kw)), i = (int)(r / g->kw % g->kh), j = (int)(r % g->kw);
  long s = gf__k_im2col_src(g, r0, n, c, i, j, p / g->OW, p % g->OW);
  return s >= 0 ? x[s] : 0.0f;
}

/* col2im of input element e of x [N, C, H, W]: what it accumulates. */
static inline GF_HD float gf__k_col2im_elem(const float *col, const gf__conv_geom *g, int N, int r0, int rn, size_t e) {
  const size_t HW = (size_t)g->H * g->W;
  int n = (int)(e / ((size_t)g->C * HW)), c = (int)(e / HW % (size_t)g->C);
  int iy = (int)(e % HW / (size_t)g->W), ix = (int)(e % (size_t)g->W);
  return gf__k_col2im_sum(col, g, r0, rn, N, n, c, iy, ix);
}

/* Element e of dst [B, A, S] in the axis swap of src [A, B, S]: its offset in src. */
static inline GF_HD size_t gf__k_swap01_src(size_t e, int A, int B, int S) {
  size_t s = e % (size_t)S, ba = e / (size_t)S;
  size_t a = ba % (size_t)A, b = ba / (size_t)A;
  return (a * (size_t)B + b) * (size_t)S + s;
}

/* Source index of padded coordinate p (in [-before, n + after)) under reflection. */
static inline GF_HD int gf__k_reflect(int p, int n) {
  if (p < 0) return -p;
  if (p >= n) return 2 * (n - 1) - p;
  return p;
}

/* Reflection padding of NC planes H x W to OH x OW (top t, left l): the offset in x of element e
   of y. */
static inline GF_HD size_t gf__k_reflect_src(size_t e, int H, int W, int t, int l, int OH, int OW) {
  size_t p = e / ((size_t)OH * OW);
  int oy = (int)(e / (size_t)OW % (size_t)OH), ox = (int)(e % (size_t)OW);
  return (p * (size_t)H + (size_t)gf__k_reflect(oy - t, H)) * (size_t)W + (size_t)gf__k_reflect(ox - l, W);
}

/* Reflection-padding backward of one input element (plane coordinates iy, ix of H x W, padding
   t / l, padded size OH x OW): the sum of the padded positions that read it (at most 3 per axis:
   itself and its mirror images at both borders). */
static inline GF_HD float gf__k_reflect_bwd_sum(const float *dy, int H, int W, int t, int l, int OH, int OW, int iy,
                                               int ix) {
  int cy[3] = {iy + t, t - iy, t + 2 * (H - 1) - iy}, cx[3] = {ix + l, l - ix, l + 2 * (W - 1) - ix};
  float acc = 0.0f;
  for (int a = 0; a < 3; a++) {
    int oy = cy[a];
    if (oy < 0 || oy >= OH || (a && oy == cy[0]) || gf__k_reflect(oy - t, H) != iy) continue;
    for (int b = 0; b < 3; b++) {
      int ox = cx[b];
      if (ox < 0 || ox >= OW || (b && ox == cx[0]) || gf__k_reflect(ox - l, W) != ix) continue;
      acc += dy[(long)oy * OW + ox];
    }
  }
  return acc;
}

/* The backward for element e of dx [NC, H, W] from dy [NC, OH, OW]: what it accumulates. */
static inline GF_HD float gf__k_reflect_bwd_elem(const float *dy, size_t e, int H, int W, int t, int l, int OH, int OW) {
  size_t p = e / ((size_t)H * W);
  int iy = (int)(e / (size_t)W % (size_t)H), ix = (int)(e % (size_t)W);
  return gf__k_reflect_bwd_sum(dy + p * (size_t)OH * OW, H, W, t, l, OH, OW, iy, ix);
}

#endif
