/* kern_loss.h: per-element / per-row bodies of the losses (GAN losses with constant targets,
   L1 / MSE against a tensor, softmax cross-entropy), shared by src/cpu and src/cuda. The sums
   over elements are each backend's own (in double). */
#ifndef GF_KERN_LOSS_H
#define GF_KERN_LOSS_H

#include <math.h>

#include "core/hd.h"
#include "core/ops.h"

/* softplus(x) = log(1 + e^x), computed without overflow. */
static inline GF_HD double gf__k_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static inline GF_HD double gf__k_sigmoid_d(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

/* Loss l, its derivative g and the output p the kind reports of one logit v: the probability
   sigmoid(v) for the probability kinds, v itself for the critic kinds (WGAN_*, HINGE_*). Kinks
   take PyTorch's one-sided choice (relu'(0) = 0). */
static inline GF_HD void gf__k_gan_loss(gf__gan_loss kind, double v, double *l, double *g, double *p) {
  switch (kind) {
  case GF_LOSS_WGAN_REAL:  *l = -v; *g = -1.0; *p = v; return;
  case GF_LOSS_WGAN_FAKE:  *l = v;  *g = 1.0;  *p = v; return;
  case GF_LOSS_HINGE_REAL: *l = v < 1.0 ? 1.0 - v : 0.0;  *g = v < 1.0 ? -1.0 : 0.0; *p = v; return;
  case GF_LOSS_HINGE_FAKE: *l = v > -1.0 ? 1.0 + v : 0.0; *g = v > -1.0 ? 1.0 : 0.0; *p = v; return;
  default: break;
  }
  double s = gf__k_sigmoid_d(v);
  *p = s;
  switch (kind) {
  case GF_LOSS_BCE_ONE:   *l = gf__k_softplus(-v); *g = s - 1.0; break;
  case GF_LOSS_BCE_ZERO:  *l = gf__k_softplus(v);  *g = s; break;
  case GF_LOSS_MINIMAX_G: *l = -gf__k_softplus(v); *g = -s; break;
  case GF_LOSS_KL_G:      *l = -v;                 *g = -1.0; break;
  case GF_LOSS_MSE_ONE:   *l = (v - 1) * (v - 1);  *g = 2 * (v - 1); break;
  case GF_LOSS_MSE_ZERO:  *l = v * v;              *g = 2 * v; break;
  default:                *l = 0; *g = 0; break;
  }
}
/* The gradient added to dx for a loss averaged over n elements, scaled: scale * g / n. */
static inline GF_HD float gf__k_gan_grad(double g, double scale, double inv_n) { return (float)(scale * g * inv_n); }

/* |x - t| (returned) and its scaled gradient gs * sign(x - t) in *dx. */
static inline GF_HD float gf__k_l1(float x, float t, float gs, float *dx) {
  float d = x - t;
  *dx = d > 0 ? gs : (d < 0 ? -gs : 0.0f);
  return fabsf(d);
}
/* (x - t)^2 (returned, in double) and its gradient gs * (x - t) in *dx (gs = 2 scale / n). */
static inline GF_HD double gf__k_mse(float x, float t, float gs, float *dx) {
  float d = x - t;
  *dx = gs * d;
  return (double)d * d;
}

/* Softmax cross-entropy of one row of C logits against class t: returns the loss (double),
   *correct = arg-max == t; prob (may be NULL) gets the softmax, dx (may be NULL) += gs (p - 1[c = t]). */
static inline GF_HD double gf__k_xent_row(const float *x, int C, int t, float gs, float *prob, float *dx, int *correct) {
  int best = 0;
  float mx = x[0];
  for (int c = 1; c < C; c++)
    if (x[c] > mx) mx = x[c], best = c;
  double z = 0;
  for (int c = 0; c < C; c++) z += exp((double)(x[c] - mx));
  double lz = log(z);
  *correct = best == t;
  for (int c = 0; c < C; c++) {
    float p = (float)exp((double)(x[c] - mx) - lz);
    if (prob) prob[c] = p;
    if (dx) dx[c] += gs * (p - (c == t ? 1.0f : 0.0f));
  }
  return lz - (double)(x[t] - mx);
}

#endif
