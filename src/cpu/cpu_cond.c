/* cpu_cond.c: the CPU launches of the conditional-GAN and DiffAugment ops: OpenMP loops over the
   bodies in src/kern/cond.h and src/kern/diffaug.h. */
#include <stddef.h>

#include "cpu/cpu_internal.h"
#include "kern/cond.h"
#include "kern/diffaug.h"

/* Loops go parallel only with enough work to pay for the threads (as cpu_ops.c). */
#define PAR_MIN 32768

/* One-hot concat a sample at a time: its C S input values are one block of y's row, then the K
   label planes (kern/cond.h's plane value) -- no division per element. */
void gf__cpu_onehot_cat_fwd(float *y, const float *x, const float *labels, int N, int C, int S, int K) {
  const long in = (long)C * S, out = (long)(C + K) * S;
  #pragma omp parallel for if ((long)N * out > PAR_MIN) schedule(static)
  for (long n = 0; n < N; n++) {
    float *yn = y + n * out;
    const float *xn = x + n * in;
    for (long i = 0; i < in; i++) yn[i] = xn[i];
    for (int k = 0; k < K; k++) {
      const float v = gf__k_onehot_plane(labels, n, K, k);
      float *p = yn + in + (long)k * S;
      for (long s = 0; s < S; s++) p[s] = v;
    }
  }
}

void gf__cpu_onehot_cat_bwd(float *dx, const float *dy, int N, int C, int S, int K) {
  const long in = (long)C * S, out = (long)(C + K) * S;
  #pragma omp parallel for if ((long)N * in > PAR_MIN) schedule(static)
  for (long n = 0; n < N; n++) {
    float *dxn = dx + n * in;
    const float *dyn = dy + n * out;
    for (long i = 0; i < in; i++) dxn[i] += dyn[i];
  }
}

/* The affine ops a row (n, c) at a time: its class's coefficients read once, then S elements of
   the same per-element math as the GPU's (kern/cond.h), vectorised. */
void gf__cpu_cond_affine_fwd(float *y, const float *x, const float *gamma, const float *beta, const float *labels, int N,
                             int C, int S, int K) {
  long rows = (long)N * C;
  #pragma omp parallel for if (rows * S > PAR_MIN) schedule(static)
  for (long r = 0; r < rows; r++) {
    long t = gf__k_cond_affine_row(labels, C, K, r / C, r % C);
    const float g = gamma[t], b = beta[t], *xr = x + r * S;
    float *yr = y + r * S;
    for (long s = 0; s < S; s++) yr[s] = gf__k_cond_affine(xr[s], g, b);
  }
}

void gf__cpu_cond_affine_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                             const float *labels, int N, int C, int S, int K) {
  long rows = (long)N * C;
  if (dx) {
    #pragma omp parallel for if (rows * S > PAR_MIN) schedule(static)
    for (long r = 0; r < rows; r++) {
      const float g = gamma[gf__k_cond_affine_row(labels, C, K, r / C, r % C)], *dyr = dy + r * S;
      float *dxr = dx + r * S;
      for (long s = 0; s < S; s++) dxr[s] += gf__k_cond_affine_dx(dyr[s], g);
    }
  }
  if (dgamma || dbeta) {
    #pragma omp parallel for if (rows * S > PAR_MIN) schedule(static)
    for (int c = 0; c < C; c++) gf__k_cond_affine_bwd_p(dgamma, dbeta, dy, x, labels, N, C, S, K, c);
  }
}

void gf__cpu_proj_fwd(float *out, const float *h, const float *table, const float *labels, int N, int F, int K) {
  #pragma omp parallel for if ((long)N * F > PAR_MIN) schedule(static)
  for (long n = 0; n < N; n++) gf__k_proj_fwd(out, h, table, labels, F, K, n);
}

void gf__cpu_proj_bwd(float *dh, float *dtable, const float *dout, const float *h, const float *table, const float *labels,
                      int N, int F, int K) {
  long n = (long)N * F;
  if (dh) {
    #pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (long i = 0; i < n; i++) gf__k_proj_bwd_h(dh, dout, table, labels, F, K, i);
  }
  if (dtable) {
    #pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (long f = 0; f < F; f++) gf__k_proj_bwd_table(dtable, dout, h, labels, N, F, K, f);
  }
}

void gf__cpu_copy2d(float *dst, int ldd, const float *src, int lds, int rows, int cols) {
  long n = (long)rows * cols;
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (long i = 0; i < n; i++) gf__k_copy2d(dst, ldd, src, lds, cols, i);
}

void gf__cpu_diffaug_fwd(float *y, float *mean, const float *x, const float *params, int N, int C, int H, int W,
                         int flags) {
  long per = (long)C * H * W, n = N * per;
  if (flags & GF_DIFFAUG_COLOR) {
    #pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (long s = 0; s < N; s++) gf__k_diffaug_mean(mean, x, per, s);
  }
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (long i = 0; i < n; i++) gf__k_diffaug_fwd(y, x, params, mean, C, H, W, flags, i);
}

void gf__cpu_diffaug_bwd(float *dx, float *gsum, const float *dy, const float *params, int N, int C, int H, int W,
                         int flags) {
  long per = (long)C * H * W, n = N * per;
  if (flags & GF_DIFFAUG_COLOR) {
    #pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (long s = 0; s < N; s++) gf__k_diffaug_gsum(gsum, dy, params, C, H, W, flags, s);
  }
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (long i = 0; i < n; i++) gf__k_diffaug_bwd(dx, dy, params, gsum, C, H, W, flags, i);
}
