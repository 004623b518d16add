/* norm_sync.h: bodies of BatchNorm over the ranks of a data-parallel job (ops norm_sums,
   norm_fwd_sync, norm_bwd_sums, norm_bwd_sync), shared by the CPU and CUDA backends. The backend
   owns the per-channel reductions over (n, s); these are their per-element terms and the
   per-channel finish. The normalisation itself and dx are kern_norm.h's (gf__k_norm_coef /
   gf__k_norm_apply, gf__k_norm_bwd_coef / gf__k_norm_bwd) over the reduced statistics. */
#ifndef GF_KERN_NORM_SYNC_H
#define GF_KERN_NORM_SYNC_H

#include <math.h>

#include "core/hd.h"

/* term of norm_sums: x itself (has_mean 0) or its squared deviation from the mean, in double */
static inline GF_HD double gf__k_norm_sum_term(float x, int has_mean, float mean) {
  double d = has_mean ? (double)x - (double)mean : (double)x;
  return has_mean ? d * d : d;
}

/* term of norm_bwd_sums' second sum: dy * xhat with the normalised input xhat = (x - mean) rstd */
static inline GF_HD float gf__k_norm_dy_xhat(float dy, float x, float mean, float rstd) { return dy * ((x - mean) * rstd); }

/* channel c after the reduction: rstd[c] holds the global sum of squared deviations over count
   values on entry and 1 / sqrt(var + eps) on exit; running statistics as PyTorch (unbiased var) */
static inline GF_HD void gf__k_norm_sync_finish(const float *mean, float *rstd, float *run_mean, float *run_var,
                                                double count, float eps, float momentum, int c) {
  double m2 = rstd[c], var = m2 / count;
  rstd[c] = (float)(1.0 / sqrt(var + eps));
  if (run_mean) {
    run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * (double)mean[c]);
    double unbiased = count > 1 ? m2 / (count - 1) : var;
    run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
  }
}

#endif
