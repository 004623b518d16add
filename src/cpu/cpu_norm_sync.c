/* cpu_norm_sync.c: the CPU launches of BatchNorm over the ranks of a data-parallel job (ops
   norm_sums, norm_fwd_sync, norm_bwd_sums, norm_bwd_sync): OpenMP over channels, double sums in a
   fixed order per channel, bodies from src/kern/norm_sync.h. */
#include "cpu/cpu_internal.h"
#include "kern/kern_norm.h"
#include "kern/norm_sync.h"

#define PAR_MIN 32768

void gf__cpu_norm_sums(float *sums, const float *x, const float *mean, int N, int C, int S) {
  int has_mean = mean != NULL;
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int c = 0; c < C; c++) {
    double s1 = 0;
    float m = has_mean ? mean[c] : 0.0f;
    for (int n = 0; n < N; n++) {
      const float *p = x + ((size_t)n * C + c) * S;
      #pragma omp simd reduction(+ : s1)
      for (int k = 0; k < S; k++) s1 += gf__k_norm_sum_term(p[k], has_mean, m);
    }
    sums[c] = (float)s1;
  }
}

void gf__cpu_norm_fwd_sync(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                           float *run_mean, float *run_var, int N, int C, int S, double count, float eps,
                           float momentum) {
  for (int c = 0; c < C; c++) gf__k_norm_sync_finish(mean, rstd, run_mean, run_var, count, eps, momentum, c);
  gf__cpu_norm_apply(y, x, mean, rstd, gamma, beta, N, C, S);
}

void gf__cpu_norm_bwd_sums(float *sums, const float *dy, const float *x, const float *mean, const float *rstd, int N,
                           int C, int S) {
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int c = 0; c < C; c++) {
    double sdy = 0, sdyx = 0;
    float mu = mean[c], rs = rstd[c];
    for (int n = 0; n < N; n++) {
      const float *dp = dy + ((size_t)n * C + c) * S, *xp = x + ((size_t)n * C + c) * S;
      #pragma omp simd reduction(+ : sdy, sdyx)
      for (int s = 0; s < S; s++) {
        sdy += dp[s];
        sdyx += gf__k_norm_dy_xhat(dp[s], xp[s], mu, rs);
      }
    }
    sums[c] = (float)sdy;
    sums[C + c] = (float)sdyx;
  }
}

void gf__cpu_norm_bwd_sync(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                           const float *gamma, const float *sums, double count, int N, int C, int S) {
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int c = 0; c < C; c++) {
    float mu = mean[c], rs = rstd[c], g, a, b;
    gf__k_norm_bwd_coef(gamma, rs, c, sums[c], sums[C + c], count, &g, &a, &b);
    for (int n = 0; n < N; n++) {
      const float *dp = dy + ((size_t)n * C + c) * S, *xp = x + ((size_t)n * C + c) * S;
      float *dxp = dx + ((size_t)n * C + c) * S;
      #pragma omp simd
      for (int s = 0; s < S; s++) dxp[s] += gf__k_norm_bwd(dp[s], xp[s], mu, rs, g, a, b);
    }
  }
}
