/* kern/cond.h: the bodies of the conditional-GAN ops (one-hot concat, class-conditional affine,
   projection, column-block copy), one element / row / channel each, shared by the CPU and CUDA
   backends (src/cpu/cpu_cond.c loops over them). */
#ifndef GF_KERN_COND_H
#define GF_KERN_COND_H

#include "core/hd.h"

/* Class of row n: labels hold class indices as floats; a value outside [0, K) is clamped (the
   loaders check labels, this only keeps a bad one from reading outside a table). */
static inline GF_HD int gf__k_label(const float *labels, long n, int K) {
  float v = labels[n];
  int k = v > 0.0f ? (int)v : 0;
  return k < K ? k : K - 1;
}

/* onehot_cat: channel C + k of row n is 1 where k is the row's class, else 0. */
static inline GF_HD float gf__k_onehot_plane(const float *labels, long n, int K, int k) {
  return k == gf__k_label(labels, n, K) ? 1.0f : 0.0f;
}

/* onehot_cat_fwd, element i of y [N, C + K, S]. */
static inline GF_HD void gf__k_onehot_cat_fwd(float *y, const float *x, const float *labels, int C, int S, int K,
                                              long i) {
  long per = (long)(C + K) * S, n = i / per, r = i - n * per, c = r / S, s = r - c * S;
  if (c < C) y[i] = x[(n * C + c) * S + s];
  else y[i] = gf__k_onehot_plane(labels, n, K, (int)(c - C));
}

/* onehot_cat_bwd, element i of dx [N, C, S]. */
static inline GF_HD void gf__k_onehot_cat_bwd(float *dx, const float *dy, int C, int S, int K, long i) {
  long per = (long)C * S, n = i / per, r = i - n * per;
  dx[i] += dy[n * (long)(C + K) * S + r];
}

/* cond_affine: row (n, c) of [N, C, S] is scaled and shifted by its class's gamma[t], beta[t],
   t = label(n) C + c (the CPU takes a row at a time, the GPU an element). */
static inline GF_HD long gf__k_cond_affine_row(const float *labels, int C, int K, long n, long c) {
  return (long)gf__k_label(labels, n, K) * C + c;
}
static inline GF_HD float gf__k_cond_affine(float x, float g, float b) { return x * g + b; }
static inline GF_HD float gf__k_cond_affine_dx(float dy, float g) { return dy * g; } /* added to dx */

/* cond_affine_fwd, element i of y [N, C, S]. */
static inline GF_HD void gf__k_cond_affine_fwd(float *y, const float *x, const float *gamma, const float *beta,
                                               const float *labels, int C, int S, int K, long i) {
  long n = i / ((long)C * S), c = (i / S) % C, t = gf__k_cond_affine_row(labels, C, K, n, c);
  y[i] = gf__k_cond_affine(x[i], gamma[t], beta[t]);
}

/* cond_affine_bwd, input gradient: element i of dx [N, C, S]. */
static inline GF_HD void gf__k_cond_affine_bwd_x(float *dx, const float *dy, const float *gamma, const float *labels,
                                                 int C, int S, int K, long i) {
  long n = i / ((long)C * S), c = (i / S) % C;
  dx[i] += gf__k_cond_affine_dx(dy[i], gamma[gf__k_cond_affine_row(labels, C, K, n, c)]);
}

/* cond_affine_bwd, parameter gradients of channel c (rows in order: deterministic). */
static inline GF_HD void gf__k_cond_affine_bwd_p(float *dgamma, float *dbeta, const float *dy, const float *x,
                                                 const float *labels, int N, int C, int S, int K, int c) {
  for (long n = 0; n < N; n++) {
    const float *g = dy + (n * C + c) * S, *v = x + (n * C + c) * S;
    float sg = 0.0f, sb = 0.0f;
    for (long s = 0; s < S; s++) {
      sg += g[s] * v[s];
      sb += g[s];
    }
    long t = (long)gf__k_label(labels, n, K) * C + c;
    if (dgamma) dgamma[t] += sg;
    if (dbeta) dbeta[t] += sb;
  }
}

/* proj_fwd, row n: out[n] += <h[n], table[label]>. */
static inline GF_HD void gf__k_proj_fwd(float *out, const float *h, const float *table, const float *labels, int F,
                                        int K, long n) {
  const float *hn = h + n * F, *e = table + (long)gf__k_label(labels, n, K) * F;
  float acc = 0.0f;
  for (long f = 0; f < F; f++) acc += hn[f] * e[f];
  out[n] += acc;
}

/* proj_bwd, input gradient: element i of dh [N, F]. */
static inline GF_HD void gf__k_proj_bwd_h(float *dh, const float *dout, const float *table, const float *labels, int F,
                                          int K, long i) {
  long n = i / F, f = i - n * F;
  dh[i] += dout[n] * table[(long)gf__k_label(labels, n, K) * F + f];
}

/* proj_bwd, table gradient of column f (rows in order). */
static inline GF_HD void gf__k_proj_bwd_table(float *dtable, const float *dout, const float *h, const float *labels,
                                              int N, int F, int K, long f) {
  for (long n = 0; n < N; n++) dtable[(long)gf__k_label(labels, n, K) * F + f] += dout[n] * h[n * F + f];
}

/* copy2d, element i of the rows x cols block. */
static inline GF_HD void gf__k_copy2d(float *dst, int ldd, const float *src, int lds, int cols, long i) {
  long r = i / cols, c = i - r * cols;
  dst[r * ldd + c] = src[r * lds + c];
}

#endif
