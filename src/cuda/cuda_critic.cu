/* cuda_critic.cu: CUDA launches of the critic ops (device-scalar reductions, scalar maps,
   interpolates, gradient penalties, maxout tangents, second-order activation terms, RMSprop,
   clipping) over the shared bodies of src/kern/kern_critic.h; reductions are single-block CUB
   reductions in double, as the losses' in cuda_ops.cu. */
#include <cub/block/block_reduce.cuh>

#include "cuda/cuda_internal.h"
#include "kern/kern_critic.h"

#define TPB 256 /* threads per block of the element-wise kernels */
#define RED 512 /* threads of the reduction kernels */

#define GRID_LOOP(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* out[0] = scale * sum x y (y NULL: sum x), one block. */
__global__ void k_dot(float *out, const float *x, const float *y, size_t n, float scale) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  double acc = 0;
  if (y)
    for (size_t i = threadIdx.x; i < n; i += RED) acc += (double)x[i] * y[i];
  else
    for (size_t i = threadIdx.x; i < n; i += RED) acc += x[i];
  double a = R(tmp).Sum(acc);
  if (threadIdx.x == 0) out[0] = (float)(scale * a);
}

__global__ void k_scalar_op(int kind, float *y, const float *x, const float *s, float a, size_t n) {
  float sv = s[0];
  GRID_LOOP(i, n) y[i] = gf__k_sop((gf__sop)kind, x[i], sv, a);
}

__global__ void k_lerp_rows(float *y, const float *a, const float *b, const float *t, size_t n, size_t D) {
  GRID_LOOP(i, n) y[i] = gf__k_lerp(a[i], b[i], t[i / D]);
}

/* One block walks the N rows in order: the row's squared norm by a block reduction, its share of
   the penalty and dP/dg = c g; thread 0 sums the shares (row order, as the CPU) into stats. */
__global__ void k_grad_penalty(int kind, float *stats, float *v, const float *g, int N, size_t D, float w) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  __shared__ double coef;
  double pen = 0, norms = 0;
  for (int r = 0; r < N; r++) {
    const float *gr = g + (size_t)r * D;
    float *vr = v + (size_t)r * D;
    double sq = 0;
    for (size_t j = threadIdx.x; j < D; j += RED) sq += (double)gr[j] * gr[j];
    double tot = R(tmp).Sum(sq);
    if (threadIdx.x == 0) {
      double c, nrm;
      pen += gf__k_penalty_row((gf__penalty)kind, tot, N, w, &c, &nrm);
      norms += nrm;
      coef = c;
    }
    __syncthreads();
    double c = coef;
    for (size_t j = threadIdx.x; j < D; j += RED) vr[j] = (float)(c * gr[j]);
    __syncthreads(); /* coef and the reduction's storage are reused by the next row */
  }
  if (threadIdx.x == 0) {
    stats[0] += (float)pen;
    stats[1] += (float)(norms / N);
  }
}

__global__ void k_maxout_take(float *y, const float *x, const float *argmax, size_t nu, int k) {
  GRID_LOOP(i, nu) y[i] = x[i * k + (size_t)argmax[i]];
}

__global__ void k_act_curv(int kind, float *rdx, const float *y, const float *dy, const float *rx, size_t n) {
  GRID_LOOP(i, n) rdx[i] += gf__k_act_curv((gf__act)kind, y[i], dy[i], rx[i]);
}

__global__ void k_rmsprop(float *p, const float *g, float *v, size_t n, float lr, float alpha, float eps, float wd) {
  GRID_LOOP(i, n) gf__k_rmsprop(p + i, g[i], v + i, lr, alpha, eps, wd);
}

__global__ void k_clamp(float *x, float lo, float hi, size_t n) { GRID_LOOP(i, n) x[i] = gf__k_clamp(x[i], lo, hi); }

static void cu_dot(float *out, const float *x, const float *y, size_t n, float scale) {
  gf_cuda_launch(OP_DOT, k_dot, 1, RED, out, x, y, n, scale); /* n = 0 writes 0, as the CPU */
}
static void cu_scalar_op(gf__sop kind, float *y, const float *x, const float *s, float a, size_t n) {
  if (n) gf_cuda_launch(OP_SCALAR_OP, k_scalar_op, gf_cuda_blocks(n, TPB), TPB, (int)kind, y, x, s, a, n);
}
static void cu_lerp_rows(float *y, const float *a, const float *b, const float *t, int N, size_t D) {
  size_t n = (size_t)N * D;
  if (n) gf_cuda_launch(OP_LERP_ROWS, k_lerp_rows, gf_cuda_blocks(n, TPB), TPB, y, a, b, t, n, D);
}
static void cu_grad_penalty(gf__penalty kind, float *stats, float *v, const float *g, int N, size_t D, float w) {
  if (N > 0) gf_cuda_launch(OP_GRAD_PENALTY, k_grad_penalty, 1, RED, (int)kind, stats, v, g, N, D, w);
}
static void cu_maxout_take(float *y, const float *x, const float *argmax, int N, int units, int k) {
  size_t nu = (size_t)N * units;
  if (nu) gf_cuda_launch(OP_MAXOUT_TAKE, k_maxout_take, gf_cuda_blocks(nu, TPB), TPB, y, x, argmax, nu, k);
}
static void cu_act_curv(gf__act kind, float *rdx, const float *y, const float *dy, const float *rx, size_t n,
                        float alpha) {
  (void)alpha;
  if (kind != GF_ACT_TANH && kind != GF_ACT_SIGMOID) return; /* piecewise linear: no second-order term */
  if (n) gf_cuda_launch(OP_ACT_CURV, k_act_curv, gf_cuda_blocks(n, TPB), TPB, (int)kind, rdx, y, dy, rx, n);
}
static void cu_rmsprop(float *p, const float *g, float *v, size_t n, float lr, float alpha, float eps, float wd) {
  if (n) gf_cuda_launch(OP_RMSPROP, k_rmsprop, gf_cuda_blocks(n, TPB), TPB, p, g, v, n, lr, alpha, eps, wd);
}
static void cu_clamp(float *x, float lo, float hi, size_t n) {
  if (n) gf_cuda_launch(OP_CLAMP, k_clamp, gf_cuda_blocks(n, TPB), TPB, x, lo, hi, n);
}

void gf_cuda_critic_table(gf__ops *t) {
  t->dot = cu_dot;
  t->scalar_op = cu_scalar_op;
  t->lerp_rows = cu_lerp_rows;
  t->grad_penalty = cu_grad_penalty;
  t->maxout_take = cu_maxout_take;
  t->act_curv = cu_act_curv;
  t->rmsprop = cu_rmsprop;
  t->clamp = cu_clamp;
}
