/* kern_norm.h: the per-channel and per-element parts of batch / instance normalisation (the
   reductions over N*S are each backend's own), shared by src/cpu and src/cuda. */
#ifndef GF_KERN_NORM_H
#define GF_KERN_NORM_H

#include <math.h>

#include "core/hd.h"

/* Channel c from its sums over M = N*S values: s1 = sum x, s2 = sum (x - mean)^2. Writes mean and
   rstd = 1 / sqrt(var + eps) and, when run_mean is not NULL, the running statistics (unbiased
   variance, PyTorch's momentum convention). */
static inline GF_HD void gf__k_norm_stats(float *mean, float *rstd, float *run_mean, float *run_var, int c, double s1,
                                          double s2, double M, float eps, float momentum) {
  double mu = s1 / M, var = s2 / M;
  mean[c] = (float)mu;
  rstd[c] = (float)(1.0 / sqrt(var + eps));
  if (run_mean) {
    run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mu);
    double unbiased = M > 1 ? s2 / (M - 1) : var;
    run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
  }
}

/* rstd of the running variance (eval mode). */
static inline GF_HD float gf__k_norm_eval_rstd(float run_var, float eps) { return 1.0f / sqrtf(run_var + eps); }

/* y = x * g + b folds normalisation and affine: g = gamma rstd, b = beta - mean g. */
static inline GF_HD void gf__k_norm_coef(const float *gamma, const float *beta, float mean, float rstd, int c, float *g,
                                         float *b) {
  *g = gamma ? gamma[c] * rstd : rstd;
  *b = (beta ? beta[c] : 0.0f) - mean * *g;
}
static inline GF_HD float gf__k_norm_apply(float x, float g, float b) { return x * g + b; }

/* Backward of one element from its channel's sums sdy = sum dy and sdyx = sum dy * xhat over M:
   dx = gamma rstd (dy - sdy/M - xhat sdyx/M); gr = gamma rstd, a = sdy/M, b = sdyx/M. */
static inline GF_HD void gf__k_norm_bwd_coef(const float *gamma, float rstd, int c, double sdy, double sdyx, double M,
                                             float *gr, float *a, float *b) {
  *gr = (gamma ? gamma[c] : 1.0f) * rstd;
  *a = (float)(sdy / M);
  *b = (float)(sdyx / M);
}
static inline GF_HD float gf__k_norm_bwd(float dy, float x, float mean, float rstd, float gr, float a, float b) {
  return gr * (dy - a - (x - mean) * rstd * b);
}

/* The same for vectors (S = 1, BatchNorm1d), where the channel sums are few: the difference in
   double, as the CPU backend has always computed it (g = gamma or 1). */
static inline GF_HD float gf__k_norm_bwd_vec(float dy, float x, float mean, float rstd, float g, double sdy, double sdyx,
                                             double M) {
  float xh = (x - mean) * rstd;
  return g * rstd * (float)(dy - sdy / M - xh * sdyx / M);
}

#endif
