/* kern_critic.h: per-element / per-row math of the critic ops (scalar maps, interpolates, gradient
   penalties, second-order activation terms, RMSprop, clipping), shared by the CPU and CUDA
   backends. */
#ifndef GF_KERN_KERN_CRITIC_H
#define GF_KERN_KERN_CRITIC_H

#include <math.h>
#include <stddef.h>

#include "core/hd.h"
#include "core/ops.h"

/* y = f(x, s) of ops.scalar_op. */
static inline GF_HD float gf__k_sop(gf__sop kind, float x, float s, float a) {
  switch (kind) {
  case GF_SOP_ADD: return x + a * s;
  case GF_SOP_MUL: return x * s;
  case GF_SOP_DIV: return x / s;
  case GF_SOP_RNORM: {
    float n = sqrtf(s);
    return x / (n > a ? n : a);
  }
  }
  return x;
}

/* b + t (a - b): a point on the segment from b (t = 0) to a (t = 1). */
static inline GF_HD float gf__k_lerp(float a, float b, float t) { return b + t * (a - b); }

/* A gradient penalty over N rows with weight w, for one row g whose squared norm is sq: returns
   the row's share of the penalty; *c receives the factor of dP/dg = c g and *norm |g|. PyTorch's
   norm backward gives 0 at |g| = 0, so does this. The backends sum sq over the row themselves. */
static inline GF_HD double gf__k_penalty_row(gf__penalty kind, double sq, int N, float w, double *c, double *norm) {
  double nrm = sqrt(sq);
  *norm = nrm;
  if (kind == GF_PEN_GP) {
    *c = nrm > 0 ? 2.0 * w / N * (nrm - 1.0) / nrm : 0.0;
    return (double)w / N * (nrm - 1.0) * (nrm - 1.0);
  }
  *c = (double)w / N;
  return 0.5 * (double)w / N * sq;
}

/* f''(x) rx dy of an activation, with f'' written from its output y. */
static inline GF_HD float gf__k_act_curv(gf__act kind, float y, float dy, float rx) {
  switch (kind) {
  case GF_ACT_TANH: return -2.0f * y * (1.0f - y * y) * rx * dy;
  case GF_ACT_SIGMOID: return y * (1.0f - y) * (1.0f - 2.0f * y) * rx * dy;
  default: return 0.0f; /* relu / leaky relu: piecewise linear */
  }
}

/* One RMSprop update of p with gradient g and square average v (PyTorch's formula). */
static inline GF_HD void gf__k_rmsprop(float *p, float g, float *v, float lr, float alpha, float eps, float wd) {
  float gi = g + wd * *p;
  float vi = alpha * *v + (1.0f - alpha) * gi * gi;
  *v = vi;
  *p -= lr * gi / (sqrtf(vi) + eps);
}

static inline GF_HD float gf__k_clamp(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

#endif
