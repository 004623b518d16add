/* kern_elem.h: per-element bodies of the element-wise ops (activations, bias, axpy / scale,
   optimizers, maxout, gather, non-finite test), shared by src/cpu loops and src/cuda kernels. */
#ifndef GF_KERN_ELEM_H
#define GF_KERN_ELEM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/hd.h"
#include "core/ops.h"

/* ---- activations: y = f(x); the backward returns f'(x) dy from x or y ---- */
/* branch-free selects so that the CPU loops vectorize */
static inline GF_HD float gf__k_relu(float v) { return v > 0.0f ? v : 0.0f; }
static inline GF_HD float gf__k_lrelu(float v, float alpha) { return v * (v > 0.0f ? 1.0f : alpha); }
/* tanh without a libm call, so that the CPU loops vectorize (glibc's tanhf is a scalar call, ~25 ns
   an element): in double, an odd Taylor series below |x| = 1/4, else 1 - 2 / (e^2|x| + 1) with
   e^t = 2^k e^r (k = round(t / ln 2), |r| <= ln 2 / 2, Taylor to r^9: relative error < 1e-11), so
   the float result is the correctly rounded tanh but for ties within 1e-11 (tests/test_kern.c
   compares it with tanh() in double over a sweep of floats). NaN stays NaN; |x| >= 9.5 gives +-1. */
static inline GF_HD float gf__k_tanh(float v) {
  double x = (double)v, a = fabs(x), x2 = x * x;
  double series = x * (1.0 + x2 * (-1.0 / 3 + x2 * (2.0 / 15 + x2 * (-17.0 / 315 + x2 * (62.0 / 2835 +
                      x2 * (-1382.0 / 155925 + x2 * (21844.0 / 6081075)))))));
  double t = 2.0 * (a < 9.5 ? a : 9.5);                    /* tanh(9.5) is 1 in float */
  const double shift = 6755399441055744.0;                  /* 1.5 * 2^52: adding it rounds to an integer */
  double kf = t * 1.4426950408889634 + shift;               /* k + shift, k = round(t / ln 2) in 0 .. 28 */
  double k = kf - shift;
  double r = (t - k * 0.6931471803691238) - k * 1.9082149292705877e-10; /* ln 2 in two parts */
  double er = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 +
                   r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880)))))))));
  uint64_t kb, sb;
  memcpy(&kb, &kf, sizeof kb);
  sb = (kb - (uint64_t)0x4338000000000000ull + 1023u) << 52; /* 2^k */
  double two_k;
  memcpy(&two_k, &sb, sizeof two_k);
  double big = 1.0 - 2.0 / (er * two_k + 1.0);
  double y = a < 0.25 ? series : (x < 0 ? -big : big);
  return v != v ? v : (float)y;
}
static inline GF_HD float gf__k_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }
static inline GF_HD float gf__k_relu_bwd(float dy, float x) { return dy * (x > 0.0f ? 1.0f : 0.0f); }
static inline GF_HD float gf__k_lrelu_bwd(float dy, float x, float alpha) { return dy * (x > 0.0f ? 1.0f : alpha); }
static inline GF_HD float gf__k_tanh_bwd(float dy, float y) { return dy * (1.0f - y * y); }
static inline GF_HD float gf__k_sigmoid_bwd(float dy, float y) { return dy * y * (1.0f - y); }

/* ---- linear algebra helpers ---- */
static inline GF_HD float gf__k_axpy(float y, float a, float x) { return y + a * x; }
static inline GF_HD float gf__k_scale(float x, float a) { return x * a; }
static inline GF_HD float gf__k_bias(float y, float b) { return y + b; }
static inline GF_HD float gf__k_mul_acc(float dx, float dy, float m) { return dx + dy * m; }

/* ---- optimizers (element i of a flat arena) ----
   PyTorch's Adam: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), L2 weight decay on g;
   lr_bc1 = lr / bc1, rbc2 = 1 / sqrt(bc2). */
static inline GF_HD void gf__k_adam(float *p, const float *g, float *m, float *v, size_t i, float lr_bc1, float rbc2,
                                    float b1, float b2, float eps, float wd) {
  float gi = g[i] + wd * p[i];
  float mi = b1 * m[i] + (1.0f - b1) * gi;
  float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] -= lr_bc1 * mi / (sqrtf(vi) * rbc2 + eps);
}

/* classical momentum (pylearn2): v = mom v - lr (g + wd p); p += v */
static inline GF_HD void gf__k_sgd(float *p, const float *g, float *v, size_t i, float lr, float mom, float wd) {
  v[i] = mom * v[i] - lr * (g[i] + wd * p[i]);
  p[i] += v[i];
}

/* ---- maxout over one unit's k pieces: returns the max, *arg the first index of it ---- */
static inline GF_HD float gf__k_maxout(const float *p, int k, int *arg) {
  int best = 0;
  for (int j = 1; j < k; j++)
    if (p[j] > p[best]) best = j;
  *arg = best;
  return p[best];
}

/* ---- batch gather: the offset in src of value (r, x) of row i of dst, taken from row idx of
   src mirrored left-right when idx has GF_GATHER_FLIP (core/ops.h; rows of w values, dim each) ---- */
static inline GF_HD size_t gf__k_gather_src(int32_t idx, int r, int x, int w, size_t dim) {
  size_t row = (size_t)(idx & ~GF_GATHER_FLIP) * dim + (size_t)r * (size_t)w;
  return row + (size_t)((idx & GF_GATHER_FLIP) ? w - 1 - x : x);
}

/* Element e of a batch gather dst [n, rows * w]: its offset in src. */
static inline GF_HD size_t gf__k_gather_elem(const int32_t *idx, size_t e, int rows, int w) {
  const size_t dim = (size_t)rows * w, k = e % dim;
  return gf__k_gather_src(idx[e / dim], (int)(k / (size_t)w), (int)(k % (size_t)w), w, dim);
}

/* Layouts (N, C, S): the channel of flat element i, and the k-th of the N*S elements of channel c. */
static inline GF_HD int gf__k_chan_of(size_t i, int C, int S) { return (int)(i / (size_t)S % (size_t)C); }
static inline GF_HD size_t gf__k_chan_elem(size_t k, int c, int C, int S) {
  return (k / (size_t)S * (size_t)C + (size_t)c) * (size_t)S + k % (size_t)S;
}

static inline GF_HD int gf__k_nonfinite(float v) { return !isfinite(v); }

#endif
