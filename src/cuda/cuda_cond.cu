/* cuda_cond.cu: the CUDA launches of the conditional-GAN and DiffAugment ops: grid-stride kernels
   over the bodies in src/kern/cond.h and src/kern/diffaug.h (the CPU's cpu_cond.c loops over the
   same bodies, in the same per-row / per-channel order where they accumulate). */
#include "cuda/cuda_internal.h"
#include "kern/cond.h"
#include "kern/diffaug.h"

#define TPB 256

#define GRID_LOOP(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ void k_onehot_cat_fwd(float *y, const float *x, const float *labels, size_t n, int C, int S, int K) {
  GRID_LOOP(i, n) gf__k_onehot_cat_fwd(y, x, labels, C, S, K, (long)i);
}
__global__ void k_onehot_cat_bwd(float *dx, const float *dy, size_t n, int C, int S, int K) {
  GRID_LOOP(i, n) gf__k_onehot_cat_bwd(dx, dy, C, S, K, (long)i);
}
__global__ void k_cond_affine_fwd(float *y, const float *x, const float *gamma, const float *beta, const float *labels,
                                  size_t n, int C, int S, int K) {
  GRID_LOOP(i, n) gf__k_cond_affine_fwd(y, x, gamma, beta, labels, C, S, K, (long)i);
}
__global__ void k_cond_affine_bwd_x(float *dx, const float *dy, const float *gamma, const float *labels, size_t n, int C,
                                    int S, int K) {
  GRID_LOOP(i, n) gf__k_cond_affine_bwd_x(dx, dy, gamma, labels, C, S, K, (long)i);
}
/* one thread per channel: the rows in order, as the CPU (the classes' sums are deterministic) */
__global__ void k_cond_affine_bwd_p(float *dgamma, float *dbeta, const float *dy, const float *x, const float *labels,
                                    int N, int C, int S, int K) {
  GRID_LOOP(c, (size_t)C) gf__k_cond_affine_bwd_p(dgamma, dbeta, dy, x, labels, N, C, S, K, (int)c);
}
__global__ void k_proj_fwd(float *out, const float *h, const float *table, const float *labels, int N, int F, int K) {
  GRID_LOOP(r, (size_t)N) gf__k_proj_fwd(out, h, table, labels, F, K, (long)r);
}
__global__ void k_proj_bwd_h(float *dh, const float *dout, const float *table, const float *labels, size_t n, int F,
                             int K) {
  GRID_LOOP(i, n) gf__k_proj_bwd_h(dh, dout, table, labels, F, K, (long)i);
}
__global__ void k_proj_bwd_table(float *dtable, const float *dout, const float *h, const float *labels, int N, int F,
                                 int K) {
  GRID_LOOP(f, (size_t)F) gf__k_proj_bwd_table(dtable, dout, h, labels, N, F, K, (long)f);
}
__global__ void k_copy2d(float *dst, int ldd, const float *src, int lds, size_t n, int cols) {
  GRID_LOOP(i, n) gf__k_copy2d(dst, ldd, src, lds, cols, (long)i);
}
__global__ void k_diffaug_mean(float *mean, const float *x, long per, int N) {
  GRID_LOOP(s, (size_t)N) gf__k_diffaug_mean(mean, x, per, (long)s);
}
__global__ void k_diffaug_fwd(float *y, const float *x, const float *params, const float *mean, size_t n, int C, int H,
                              int W, int flags) {
  GRID_LOOP(i, n) gf__k_diffaug_fwd(y, x, params, mean, C, H, W, flags, (long)i);
}
__global__ void k_diffaug_gsum(float *gsum, const float *dy, const float *params, int N, int C, int H, int W, int flags) {
  GRID_LOOP(s, (size_t)N) gf__k_diffaug_gsum(gsum, dy, params, C, H, W, flags, (long)s);
}
__global__ void k_diffaug_bwd(float *dx, const float *dy, const float *params, const float *gsum, size_t n, int C, int H,
                              int W, int flags) {
  GRID_LOOP(i, n) gf__k_diffaug_bwd(dx, dy, params, gsum, C, H, W, flags, (long)i);
}

/* ================================ the ops ================================================= */

static void cu_onehot_cat_fwd(float *y, const float *x, const float *labels, int N, int C, int S, int K) {
  size_t n = (size_t)N * (C + K) * S;
  if (n) gf_cuda_launch(OP_ONEHOT_FWD, k_onehot_cat_fwd, gf_cuda_blocks(n, TPB), TPB, y, x, labels, n, C, S, K);
}
static void cu_onehot_cat_bwd(float *dx, const float *dy, int N, int C, int S, int K) {
  size_t n = (size_t)N * C * S;
  if (n) gf_cuda_launch(OP_ONEHOT_BWD, k_onehot_cat_bwd, gf_cuda_blocks(n, TPB), TPB, dx, dy, n, C, S, K);
}
static void cu_cond_affine_fwd(float *y, const float *x, const float *gamma, const float *beta, const float *labels, int N,
                               int C, int S, int K) {
  size_t n = (size_t)N * C * S;
  if (n)
    gf_cuda_launch(OP_COND_AFFINE_FWD, k_cond_affine_fwd, gf_cuda_blocks(n, TPB), TPB, y, x, gamma, beta, labels, n, C,
                   S, K);
}
static void cu_cond_affine_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
                               const float *labels, int N, int C, int S, int K) {
  size_t n = (size_t)N * C * S;
  if (!n) return;
  if (dx)
    gf_cuda_launch(OP_COND_AFFINE_BWD, k_cond_affine_bwd_x, gf_cuda_blocks(n, TPB), TPB, dx, dy, gamma, labels, n, C, S,
                   K);
  if (dgamma || dbeta)
    gf_cuda_launch(OP_COND_AFFINE_BWD, k_cond_affine_bwd_p, gf_cuda_blocks((size_t)C, 64), 64, dgamma, dbeta, dy, x,
                   labels, N, C, S, K);
}
static void cu_proj_fwd(float *out, const float *h, const float *table, const float *labels, int N, int F, int K) {
  if (N > 0) gf_cuda_launch(OP_PROJ_FWD, k_proj_fwd, gf_cuda_blocks((size_t)N, 64), 64, out, h, table, labels, N, F, K);
}
static void cu_proj_bwd(float *dh, float *dtable, const float *dout, const float *h, const float *table,
                        const float *labels, int N, int F, int K) {
  size_t n = (size_t)N * F;
  if (!n) return;
  if (dh) gf_cuda_launch(OP_PROJ_BWD, k_proj_bwd_h, gf_cuda_blocks(n, TPB), TPB, dh, dout, table, labels, n, F, K);
  if (dtable)
    gf_cuda_launch(OP_PROJ_BWD, k_proj_bwd_table, gf_cuda_blocks((size_t)F, 64), 64, dtable, dout, h, labels, N, F, K);
}
static void cu_copy2d(float *dst, int ldd, const float *src, int lds, int rows, int cols) {
  size_t n = (size_t)rows * cols;
  if (n) gf_cuda_launch(OP_COPY2D, k_copy2d, gf_cuda_blocks(n, TPB), TPB, dst, ldd, src, lds, n, cols);
}
static void cu_diffaug_fwd(float *y, float *mean, const float *x, const float *params, int N, int C, int H, int W,
                           int flags) {
  long per = (long)C * H * W;
  size_t n = (size_t)N * per;
  if (!n) return;
  if (flags & GF_DIFFAUG_COLOR)
    gf_cuda_launch(OP_DIFFAUG_FWD, k_diffaug_mean, gf_cuda_blocks((size_t)N, 64), 64, mean, x, per, N);
  gf_cuda_launch(OP_DIFFAUG_FWD, k_diffaug_fwd, gf_cuda_blocks(n, TPB), TPB, y, x, params, (const float *)mean, n, C, H, W,
                 flags);
}
static void cu_diffaug_bwd(float *dx, float *gsum, const float *dy, const float *params, int N, int C, int H, int W,
                           int flags) {
  size_t n = (size_t)N * C * H * W;
  if (!n) return;
  if (flags & GF_DIFFAUG_COLOR)
    gf_cuda_launch(OP_DIFFAUG_BWD, k_diffaug_gsum, gf_cuda_blocks((size_t)N, 64), 64, gsum, dy, params, N, C, H, W, flags);
  gf_cuda_launch(OP_DIFFAUG_BWD, k_diffaug_bwd, gf_cuda_blocks(n, TPB), TPB, dx, dy, params, (const float *)gsum, n, C, H,
                 W, flags);
}

void gf_cuda_cond_ops(gf__ops &t) {
  t.onehot_cat_fwd = cu_onehot_cat_fwd; t.onehot_cat_bwd = cu_onehot_cat_bwd;
  t.cond_affine_fwd = cu_cond_affine_fwd; t.cond_affine_bwd = cu_cond_affine_bwd;
  t.proj_fwd = cu_proj_fwd; t.proj_bwd = cu_proj_bwd; t.copy2d = cu_copy2d;
  t.diffaug_fwd = cu_diffaug_fwd; t.diffaug_bwd = cu_diffaug_bwd;
}
