/* cuda_ops.cu: the CUDA ops table: device memory, one stream, cuBLAS GEMMs, kernels that launch
   the shared op bodies of src/kern (the CPU backend runs the same bodies), block reductions with
   CUB, and the command executor that records a training step once as a CUDA Graph and replays it
   (decisions by core/stepgraph.c). Convolutions: cuda_conv.cu (cuDNN). */
#include <cub/block/block_reduce.cuh>
#include <cuda_bf16.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda/cuda_internal.h"
#include "kern/dwconv.h"
#include "kern/kern_conv.h"
#include "kern/kern_elem.h"
#include "kern/kern_ka.h"
#include "kern/kern_loss.h"
#include "kern/kern_norm.h"
#include "kern/kern_rng.h"
#include "kern/norm_sync.h"

gf_cuda gf_cu;

#define TPB 256      /* threads per block of the element-wise kernels */
#define RED 512      /* threads of the reduction kernels */

/* ================================ kernels ================================================= */

#define GRID_LOOP(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ void k_fill(float *x, float v, size_t n) { GRID_LOOP(i, n) x[i] = v; }
__global__ void k_copy(float *d, const float *s, size_t n) { GRID_LOOP(i, n) d[i] = s[i]; }
__global__ void k_axpy(float *y, float a, const float *x, size_t n) { GRID_LOOP(i, n) y[i] = gf__k_axpy(y[i], a, x[i]); }
__global__ void k_scale(float *x, float a, size_t n) { GRID_LOOP(i, n) x[i] = gf__k_scale(x[i], a); }
__global__ void k_bias_fwd(float *y, const float *b, size_t n, int C, int S) {
  GRID_LOOP(i, n) y[i] = gf__k_bias(y[i], b[gf__k_chan_of(i, C, S)]);
}

/* db[c] += sum over n, s of dy[n, c, s]: one block per channel */
__global__ void k_bias_bwd(float *db, const float *dy, int N, int C, int S) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  const int c = blockIdx.x;
  const size_t M = (size_t)N * S;
  double acc = 0;
  for (size_t k = threadIdx.x; k < M; k += RED) acc += dy[gf__k_chan_elem(k, c, C, S)];
  double t = R(tmp).Sum(acc);
  if (threadIdx.x == 0) db[c] += (float)t;
}

template <int K> __global__ void k_act_fwd(float *y, const float *x, size_t n, float alpha) {
  GRID_LOOP(i, n) {
    float v = x[i];
    y[i] = K == GF_ACT_RELU ? gf__k_relu(v) : K == GF_ACT_LEAKY_RELU ? gf__k_lrelu(v, alpha) : K == GF_ACT_TANH ? gf__k_tanh(v) : gf__k_sigmoid(v);
  }
}
template <int K>
__global__ void k_act_bwd(float *dx, const float *x, const float *y, const float *dy, size_t n, float alpha) {
  GRID_LOOP(i, n) {
    float g = K == GF_ACT_RELU ? gf__k_relu_bwd(dy[i], x[i])
              : K == GF_ACT_LEAKY_RELU ? gf__k_lrelu_bwd(dy[i], x[i], alpha)
              : K == GF_ACT_TANH ? gf__k_tanh_bwd(dy[i], y[i]) : gf__k_sigmoid_bwd(dy[i], y[i]);
    dx[i] += g;
  }
}

/* Per-channel statistics over N*S (two passes in double, as the CPU): one block per channel. */
__global__ void k_norm_stats(float *mean, float *rstd, float *rm, float *rv, const float *x, int N, int C, int S, float eps,
                             float mom) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  __shared__ double mu_s;
  const int c = blockIdx.x;
  const size_t M = (size_t)N * S;
  double s1 = 0;
  for (size_t k = threadIdx.x; k < M; k += RED) s1 += x[gf__k_chan_elem(k, c, C, S)];
  double t1 = R(tmp).Sum(s1);
  if (threadIdx.x == 0) mu_s = t1 / (double)M;
  __syncthreads();
  const double mu = mu_s;
  double s2 = 0;
  for (size_t k = threadIdx.x; k < M; k += RED) {
    double d = x[gf__k_chan_elem(k, c, C, S)] - mu;
    s2 += d * d;
  }
  double t2 = R(tmp).Sum(s2);
  if (threadIdx.x == 0) gf__k_norm_stats(mean, rstd, rm, rv, c, t1, t2, (double)M, eps, mom);
}

__global__ void k_norm_apply(float *y, const float *x, const float *mean, const float *rstd, const float *gamma,
                             const float *beta, size_t n, int C, int S) {
  GRID_LOOP(i, n) {
    int c = gf__k_chan_of(i, C, S);
    float g, b;
    gf__k_norm_coef(gamma, beta, mean[c], rstd[c], c, &g, &b);
    y[i] = gf__k_norm_apply(x[i], g, b);
  }
}

__global__ void k_norm_eval(float *y, const float *x, const float *gamma, const float *beta, const float *rm,
                            const float *rv, size_t n, int C, int S, float eps) {
  GRID_LOOP(i, n) {
    int c = gf__k_chan_of(i, C, S);
    float g, b;
    gf__k_norm_coef(gamma, beta, rm[c], gf__k_norm_eval_rstd(rv[c], eps), c, &g, &b);
    y[i] = gf__k_norm_apply(x[i], g, b);
  }
}

/* Channel sums of the backward (sdy, sdyx) into sums [2C]; dgamma += sdyx, dbeta += sdy. */
__global__ void k_norm_bwd_sums(double *sums, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *mean, const float *rstd, int N, int C, int S) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  const int c = blockIdx.x;
  const size_t M = (size_t)N * S;
  const float mu = mean[c], rs = rstd[c];
  double a = 0, b = 0;
  for (size_t k = threadIdx.x; k < M; k += RED) {
    size_t i = gf__k_chan_elem(k, c, C, S);
    a += dy[i];
    b += dy[i] * (x[i] - mu) * rs;
  }
  double sdy = R(tmp).Sum(a);
  __syncthreads();
  double sdyx = R(tmp).Sum(b);
  if (threadIdx.x == 0) {
    sums[2 * c] = sdy;
    sums[2 * c + 1] = sdyx;
    if (dgamma) dgamma[c] += (float)sdyx;
    if (dbeta) dbeta[c] += (float)sdy;
  }
}

__global__ void k_norm_bwd_apply(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                                 const float *gamma, const double *sums, size_t n, int N, int C, int S) {
  const double M = (double)N * S;
  GRID_LOOP(i, n) {
    int c = gf__k_chan_of(i, C, S);
    if (S == 1) { /* the vector body, as the CPU's S = 1 path */
      dx[i] += gf__k_norm_bwd_vec(dy[i], x[i], mean[c], rstd[c], gamma ? gamma[c] : 1.0f, sums[2 * c], sums[2 * c + 1], M);
    } else {
      float g, a, b;
      gf__k_norm_bwd_coef(gamma, rstd[c], c, sums[2 * c], sums[2 * c + 1], M, &g, &a, &b);
      dx[i] += gf__k_norm_bwd(dy[i], x[i], mean[c], rstd[c], g, a, b);
    }
  }
}

/* BatchNorm over the ranks of a data-parallel job (train.sync_bn): this rank's per-channel sums
   (the caller sums them across the ranks between the ops), in double as the CPU: one block per
   channel; then the per-channel finish and the element-wise passes over the reduced statistics. */
__global__ void k_norm_sums(float *sums, const float *x, const float *mean, int N, int C, int S) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  const int c = blockIdx.x, has_mean = mean != NULL;
  const size_t M = (size_t)N * S;
  const float mu = has_mean ? mean[c] : 0.0f;
  double acc = 0;
  for (size_t k = threadIdx.x; k < M; k += RED) acc += gf__k_norm_sum_term(x[gf__k_chan_elem(k, c, C, S)], has_mean, mu);
  double t = R(tmp).Sum(acc);
  if (threadIdx.x == 0) sums[c] = (float)t;
}

__global__ void k_norm_sync_finish(const float *mean, float *rstd, float *rm, float *rv, int C, double count, float eps,
                                   float mom) {
  GRID_LOOP(c, (size_t)C) gf__k_norm_sync_finish(mean, rstd, rm, rv, count, eps, mom, (int)c);
}

/* sums[c] = sum dy, sums[C + c] = sum dy xhat of channel c (this rank's dbeta, dgamma) */
__global__ void k_norm_sync_bwd_sums(float *sums, const float *dy, const float *x, const float *mean, const float *rstd,
                                     int N, int C, int S) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  const int c = blockIdx.x;
  const size_t M = (size_t)N * S;
  const float mu = mean[c], rs = rstd[c];
  double a = 0, b = 0;
  for (size_t k = threadIdx.x; k < M; k += RED) {
    size_t i = gf__k_chan_elem(k, c, C, S);
    a += dy[i];
    b += gf__k_norm_dy_xhat(dy[i], x[i], mu, rs);
  }
  double sdy = R(tmp).Sum(a);
  __syncthreads();
  double sdyx = R(tmp).Sum(b);
  if (threadIdx.x == 0) {
    sums[c] = (float)sdy;
    sums[C + c] = (float)sdyx;
  }
}

/* dx += gamma rstd (dy - sum dy / count - xhat sum dy xhat / count) with the sums of all ranks */
__global__ void k_norm_sync_bwd(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                                const float *gamma, const float *sums, double count, size_t n, int C, int S) {
  GRID_LOOP(i, n) {
    int c = gf__k_chan_of(i, C, S);
    float g, a, b;
    gf__k_norm_bwd_coef(gamma, rstd[c], c, sums[c], sums[C + c], count, &g, &a, &b);
    dx[i] += gf__k_norm_bwd(dy[i], x[i], mean[c], rstd[c], g, a, b);
  }
}

__global__ void k_maxout_fwd(float *y, float *argmax, const float *x, size_t nu, int k) {
  GRID_LOOP(i, nu) {
    int best;
    y[i] = gf__k_maxout(x + i * k, k, &best);
    argmax[i] = (float)best;
  }
}
__global__ void k_maxout_bwd(float *dx, const float *dy, const float *argmax, size_t nu, int k) {
  GRID_LOOP(i, nu) dx[i * k + (size_t)argmax[i]] += dy[i];
}

__global__ void k_dropout(float *y, float *mask, const float *x, size_t n, float p, float keep, uint64_t key,
                          uint64_t stream, uint64_t counter) {
  GRID_LOOP(b, (n + 3) / 4) gf__k_dropout_block(y, mask, x, n, p, keep, key, stream, counter, b);
}
__global__ void k_mul_bwd(float *dx, const float *dy, const float *m, size_t n) {
  GRID_LOOP(i, n) dx[i] = gf__k_mul_acc(dx[i], dy[i], m[i]);
}

/* Single-block reductions: a loss over n elements and its gradient. */
__global__ void k_gan_loss(int kind, float *stats, float *dx, const float *x, size_t n, float scale) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  const double inv = 1.0 / (double)n;
  double loss = 0, prob = 0;
  for (size_t i = threadIdx.x; i < n; i += RED) {
    double l, g, s;
    gf__k_gan_loss((gf__gan_loss)kind, x[i], &l, &g, &s);
    loss += l;
    prob += s;
    if (dx) dx[i] += gf__k_gan_grad(g, scale, inv);
  }
  double L = R(tmp).Sum(loss);
  __syncthreads();
  double P = R(tmp).Sum(prob);
  if (threadIdx.x == 0) {
    stats[0] += (float)(L * inv);
    stats[1] += (float)(P * inv);
  }
}

__global__ void k_l1(float *out, float *dx, const float *x, const float *t, size_t n, float gs) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  double acc = 0;
  for (size_t i = threadIdx.x; i < n; i += RED) {
    float g;
    acc += gf__k_l1(x[i], t[i], gs, &g);
    if (dx) dx[i] += g;
  }
  double a = R(tmp).Sum(acc);
  if (threadIdx.x == 0) *out += (float)(a * (1.0 / (double)n)); /* as the CPU: sum times 1/n */
}

__global__ void k_mse(float *out, float *dx, const float *x, const float *t, size_t n, float gs) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  double acc = 0;
  for (size_t i = threadIdx.x; i < n; i += RED) {
    float g;
    acc += gf__k_mse(x[i], t[i], gs, &g);
    if (dx) dx[i] += g;
  }
  double a = R(tmp).Sum(acc);
  if (threadIdx.x == 0) *out += (float)(a * (1.0 / (double)n)); /* as the CPU: sum times 1/n */
}

__global__ void k_xent(float *stats, float *dx, float *prob, const float *x, const float *y, int N, int C, float gs) {
  typedef cub::BlockReduce<double, RED> R;
  typedef cub::BlockReduce<int, RED> RI;
  __shared__ typename R::TempStorage tmp;
  __shared__ typename RI::TempStorage tmpi;
  double acc = 0;
  int correct = 0;
  for (int i = threadIdx.x; i < N; i += RED) {
    int ok;
    acc += gf__k_xent_row(x + (size_t)i * C, C, (int)y[i], gs, prob ? prob + (size_t)i * C : NULL,
                          dx ? dx + (size_t)i * C : NULL, &ok);
    correct += ok;
  }
  double a = R(tmp).Sum(acc);
  int k = RI(tmpi).Sum(correct);
  if (threadIdx.x == 0) {
    stats[0] += (float)(a / N);
    stats[1] += (float)k;
  }
}

__global__ void k_adam(float *p, const float *g, float *m, float *v, size_t n, float lr_bc1, float rbc2, float b1, float b2,
                       float eps, float wd) {
  GRID_LOOP(i, n) gf__k_adam(p, g, m, v, i, lr_bc1, rbc2, b1, b2, eps, wd);
}
__global__ void k_sgd(float *p, const float *g, float *v, size_t n, float lr, float mom, float wd) {
  GRID_LOOP(i, n) gf__k_sgd(p, g, v, i, lr, mom, wd);
}

__global__ void k_nonfinite(float *count, const float *x, size_t n) {
  typedef cub::BlockReduce<unsigned long long, RED> R;
  __shared__ typename R::TempStorage tmp;
  unsigned long long bad = 0;
  for (size_t i = threadIdx.x; i < n; i += RED) bad += (unsigned long long)gf__k_nonfinite(x[i]);
  unsigned long long t = R(tmp).Sum(bad);
  if (threadIdx.x == 0) count[0] += (float)t;
}

__global__ void k_gather(float *dst, const float *src, const int32_t *idx, int n, int rows, int w) {
  GRID_LOOP(e, (size_t)n * rows * w) dst[e] = src[gf__k_gather_elem(idx, e, rows, w)];
}

__global__ void k_rand_normal(float *x, size_t n, float mean, float sd, uint64_t key, uint64_t stream, uint64_t counter) {
  GRID_LOOP(b, (n + 3) / 4) gf__k_normal_block(x, n, mean, sd, key, stream, counter, b);
}
__global__ void k_rand_uniform(float *x, size_t n, float lo, float hi, uint64_t key, uint64_t stream, uint64_t counter) {
  GRID_LOOP(b, (n + 3) / 4) gf__k_uniform_block(x, n, lo, hi, key, stream, counter, b);
}

/* im2col: one thread per col element [C*kh*kw, N*rn*OW] */
__global__ void k_im2col(float *col, const float *x, int N, gf__conv_geom g, int r0, int rn) {
  const size_t total = (size_t)g.C * g.kh * g.kw * N * rn * g.OW;
  GRID_LOOP(e, total) col[e] = gf__k_im2col_elem(x, &g, N, r0, rn, e);
}
/* col2im (accumulating): one thread per input element [N, C, H, W] */
__global__ void k_col2im(float *x, const float *col, int N, gf__conv_geom g, int r0, int rn) {
  const size_t total = (size_t)N * g.C * g.H * g.W;
  GRID_LOOP(e, total) x[e] += gf__k_col2im_elem(col, &g, N, r0, rn, e);
}
/* dst [B, A, S] = src [A, B, S] (+ dst when accumulating) */
__global__ void k_swap01(float *dst, const float *src, int A, int B, int S, int acc) {
  const size_t total = (size_t)A * B * S;
  GRID_LOOP(e, total) {
    float v = src[gf__k_swap01_src(e, A, B, S)];
    dst[e] = acc ? dst[e] + v : v;
  }
}
__global__ void k_refl_fwd(float *y, const float *x, int NC, int H, int W, int t, int l, int OH, int OW) {
  const size_t total = (size_t)NC * OH * OW;
  GRID_LOOP(e, total) y[e] = x[gf__k_reflect_src(e, H, W, t, l, OH, OW)];
}
__global__ void k_refl_bwd(float *dx, const float *dy, int NC, int H, int W, int t, int l, int OH, int OW) {
  const size_t total = (size_t)NC * H * W;
  GRID_LOOP(e, total) dx[e] += gf__k_reflect_bwd_elem(dy, e, H, W, t, l, OH, OW);
}

/* Depth-wise convolutions (groups = C, OC = m C) over the bodies of src/kern/dwconv.h.
   Forward: one thread per output element. */
__global__ void k_dw_fwd(float *y, const float *x, const float *w, int N, int OC, gf__conv_geom g) {
  const int m = OC / g.C;
  const size_t P = (size_t)g.OH * g.OW, total = (size_t)N * OC * P;
  GRID_LOOP(e, total) {
    const size_t no = e / P;
    const int p = (int)(e % P), o = (int)(no % OC);
    const size_t n = no / OC;
    y[e] = gf__kern_dw_fwd(x + (n * g.C + o / m) * g.H * g.W, w + (size_t)o * g.kh * g.kw, p / g.OW, p % g.OW, g.H, g.W,
                           g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
  }
}
/* Input gradient (accumulating): one thread per input element, over the m outputs of its channel. */
__global__ void k_dw_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, gf__conv_geom g) {
  const int m = OC / g.C;
  const size_t HW = (size_t)g.H * g.W, total = (size_t)N * g.C * HW;
  GRID_LOOP(e, total) {
    const size_t nc = e / HW;
    const int p = (int)(e % HW), c = (int)(nc % g.C);
    const size_t n = nc / g.C;
    float acc = 0.0f;
    for (int q = 0; q < m; q++) {
      const int o = c * m + q;
      acc += gf__kern_dw_bwd_data(dy + (n * OC + o) * g.OH * g.OW, w + (size_t)o * g.kh * g.kw, p / g.W, p % g.W, g.OH,
                                  g.OW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
    }
    dx[e] += acc;
  }
}
/* Weight gradient (accumulating): one block per (output channel, tap); each thread takes output
   rows (n, oy) as one-row planes (the body with the padding shifted by oy * sh), summed in double. */
__global__ void k_dw_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, gf__conv_geom g) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  const int taps = g.kh * g.kw, o = blockIdx.x / taps, t = blockIdx.x % taps, m = OC / g.C;
  const size_t rows = (size_t)N * g.OH;
  double acc = 0;
  for (size_t r = threadIdx.x; r < rows; r += RED) {
    const size_t n = r / g.OH;
    const int oy = (int)(r % g.OH);
    acc += gf__kern_dw_bwd_w(x + (n * g.C + o / m) * g.H * g.W, dy + ((n * OC + o) * g.OH + oy) * g.OW, t / g.kw, t % g.kw,
                             g.H, g.W, 1, g.OW, g.sh, g.sw, g.ph - oy * g.sh, g.pw);
  }
  double s = R(tmp).Sum(acc);
  if (threadIdx.x == 0) dw[blockIdx.x] += (float)s;
}

/* Kernel alignment of two Gram matrices [B, B] (one block): the three sums, then the coefficients. */
__global__ void k_ka_coef(float *stats, float *coef, const float *gx, const float *gy, size_t BB, float scale) {
  typedef cub::BlockReduce<double, RED> R;
  __shared__ typename R::TempStorage tmp;
  __shared__ double sums[3];
  double xy = 0, xx = 0, yy = 0;
  for (size_t k = threadIdx.x; k < BB; k += RED) gf__k_ka_terms(gx, gy, k, &xy, &xx, &yy);
  double a = R(tmp).Sum(xy);
  __syncthreads();
  double b = R(tmp).Sum(xx);
  __syncthreads();
  double c = R(tmp).Sum(yy);
  if (threadIdx.x == 0) {
    sums[0] = a;
    sums[1] = b;
    sums[2] = c;
    stats[0] += (float)gf__k_ka_value(a, b, c);
  }
  __syncthreads();
  for (size_t k = threadIdx.x; k < BB; k += RED) coef[k] = gf__k_ka_coef(gx[k], gy[k], sums[0], sums[1], sums[2], scale);
}

/* ================================ executor ================================================ */

void gf_cuda_error(const char *what, const char *msg) {
  if (!gf_cu.err[0]) {
    snprintf(gf_cu.err, sizeof gf_cu.err, "%s: CUDA error in %s: %s", gf_cu.name, what, msg);
    fprintf(stderr, "ganforge: %s\n", gf_cu.err);
  }
}

static const char *blas_msg(cublasStatus_t s) {
  switch (s) {
  case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
  case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed";
  case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
  case CUBLAS_STATUS_ARCH_MISMATCH: return "architecture mismatch";
  case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
  case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
  default: return "error";
  }
}

static void exec_gemm(const gf_gemm_args &a) {
  /* row-major C [M, N] = op(A) op(B) is column-major C^T [N, M] = op(B)^T op(A)^T */
  cublasComputeType_t ct = gf_cu.opts.bf16 ? CUBLAS_COMPUTE_32F_FAST_16BF
                           : gf_cu.opts.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  cublasStatus_t s = gf_blas.gemm_ex(gf_cu.blas, a.tb ? CUBLAS_OP_T : CUBLAS_OP_N, a.ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                     a.N, a.M, a.K, &a.alpha, a.B, CUDA_R_32F, a.ldb, a.A, CUDA_R_32F, a.lda, &a.beta,
                                     a.C, CUDA_R_32F, a.ldc, ct, CUBLAS_GEMM_DEFAULT);
  if (s != CUBLAS_STATUS_SUCCESS) gf_cuda_error("cublasGemmEx", blas_msg(s));
}

static void exec(gf_cmd &c) {
  switch (c.kind) {
  case CMD_KERNEL: {
    void *ptr[GF_CMD_MAX_ARGS];
    for (int i = 0; i < c.nargs; i++) ptr[i] = c.args + c.off[i];
    GF_CU(cudaLaunchKernel(c.func, dim3(c.grid), dim3(c.block), ptr, 0, gf_cu.stream));
    break;
  }
  case CMD_GEMM: exec_gemm(c.gemm); break;
  case CMD_CONV: gf_cuda_conv_exec(c.conv); break;
  case CMD_H2D: GF_CU(cudaMemcpyAsync(c.dst, c.src, c.bytes, cudaMemcpyHostToDevice, gf_cu.stream)); break;
  }
}

/* What must not change for a recorded command to be replayed with new arguments: our kernels
   keep their function and launch shape (arguments are patched); library calls and copies keep
   everything. */
static uint64_t cmd_key(const gf_cmd &c) {
  uint64_t h = GF_SG_HASH0;
  switch (c.kind) {
  case CMD_KERNEL:
    h = gf__sg_hash(h, &c.func, sizeof c.func);
    h = gf__sg_hash(h, &c.grid, sizeof c.grid);
    h = gf__sg_hash(h, &c.block, sizeof c.block);
    return gf__sg_hash(h, &c.nargs, sizeof c.nargs);
  case CMD_GEMM: return gf__sg_hash(h, &c.gemm, sizeof c.gemm);
  case CMD_CONV: return gf__sg_hash(h, &c.conv, sizeof c.conv);
  default:
    h = gf__sg_hash(h, &c.dst, sizeof c.dst);
    h = gf__sg_hash(h, &c.src, sizeof c.src); /* the staging area (a recorded copy reads from it) */
    h = gf__sg_hash(h, &c.bytes, sizeof c.bytes);
    return gf__sg_hash(h, &c.stage_off, sizeof c.stage_off);
  }
}

static void flush_pending(void) {
  for (gf_cmd &c : gf_cu.pending) exec(c);
  gf_cu.pending.clear();
}

void gf_cuda_submit(gf_cmd &c) {
  switch (gf__sg_op(&gf_cu.sg, c.op, cmd_key(c))) {
  case GF_SG_DEFER: gf_cu.pending.push_back(c); break;
  case GF_SG_FLUSH: flush_pending(); exec(c); break;
  default: exec(c); break;
  }
}

static int deferring(void) {
  return gf_cu.sg.in_step && !gf_cu.sg.flushed && (gf_cu.sg.mode == GF_SG_RECORD || gf_cu.sg.mode == GF_SG_REPLAY);
}

/* Before a host call that waits for the device or changes memory: a step's deferred commands run first. */
static void barrier(const char *what) {
  if (gf__sg_barrier(&gf_cu.sg, what) == GF_SG_FLUSH) flush_pending();
}

static void free_retired(void) {
  for (void *p : gf_cu.retired) cudaFree(p);
  gf_cu.retired.clear();
  for (void *p : gf_cu.retired_host) cudaFreeHost(p);
  gf_cu.retired_host.clear();
}

int gf_cuda_reserve(void **p, size_t *cap, size_t bytes) {
  if (bytes <= *cap && *p) return 0;
  size_t want = bytes + bytes / 4 + 256;
  void *q = NULL;
  if (cudaMalloc(&q, want) != cudaSuccess) {
    cudaGetLastError();
    return -1;
  }
  if (*p) gf_cu.retired.push_back(*p); /* queued commands may still read it: freed after the step */
  *p = q;
  *cap = want;
  return 0;
}

static void graph_drop(void) {
  if (gf_cu.exec) cudaGraphExecDestroy(gf_cu.exec);
  if (gf_cu.graph) cudaGraphDestroy(gf_cu.graph);
  gf_cu.exec = NULL;
  gf_cu.graph = NULL;
  gf_cu.recorded.clear();
}

static void graph_off(const char *why) {
  gf__sg_fail(&gf_cu.sg, why);
  graph_drop();
  if (!gf_cu.graph_note_shown) {
    fprintf(stderr, "ganforge: %s: CUDA Graph replay off (%s); every op is launched\n", gf_cu.name, why);
    gf_cu.graph_note_shown = 1;
  }
}

/* Captures the deferred commands as the step's graph, instantiates and launches it. On failure the
   commands run eagerly and graphs go off with the reason. */
static void capture_and_launch(void) {
  graph_drop();
  char why[300] = "";
  cudaGraph_t g = NULL;
  cudaError_t e = cudaStreamBeginCapture(gf_cu.stream, cudaStreamCaptureModeThreadLocal);
  if (e != cudaSuccess) snprintf(why, sizeof why, "cudaStreamBeginCapture: %s", cudaGetErrorString(e));
  for (size_t i = 0; !why[0] && i < gf_cu.pending.size(); i++) {
    gf_cmd &c = gf_cu.pending[i];
    exec(c);
    c.node = NULL;
    if (c.kind != CMD_KERNEL) continue;
    cudaStreamCaptureStatus st;
    const cudaGraphNode_t *deps = NULL;
    size_t nd = 0;
    e = cudaStreamGetCaptureInfo(gf_cu.stream, &st, NULL, NULL, &deps, NULL, &nd);
    if (e != cudaSuccess || st != cudaStreamCaptureStatusActive || nd != 1)
      snprintf(why, sizeof why, "capture of op %zu: %s", i + 1, e != cudaSuccess ? cudaGetErrorString(e) : "no single node");
    else c.node = deps[0];
  }
  e = cudaStreamEndCapture(gf_cu.stream, &g);
  if (!why[0] && e != cudaSuccess) snprintf(why, sizeof why, "cudaStreamEndCapture: %s", cudaGetErrorString(e));
  if (!why[0] && gf_cu.err[0]) snprintf(why, sizeof why, "an op failed while capturing");
  if (!why[0]) {
    e = cudaGraphInstantiate(&gf_cu.exec, g, 0);
    if (e != cudaSuccess) snprintf(why, sizeof why, "cudaGraphInstantiate: %s", cudaGetErrorString(e));
  }
  if (why[0]) {
    cudaGetLastError();
    if (g) cudaGraphDestroy(g);
    gf_cu.exec = NULL;
    graph_off(why);
    flush_pending(); /* nothing of the capture ran: run the step now */
    return;
  }
  gf_cu.graph = g;
  GF_CU(cudaGraphLaunch(gf_cu.exec, gf_cu.stream));
  GF_CU(cudaEventRecord(gf_cu.launched, gf_cu.stream));
  gf_cu.recorded.swap(gf_cu.pending);
  gf_cu.pending.clear();
}

/* Replays the recorded graph with this step's arguments (only changed kernel nodes are patched). */
static void replay(void) {
  for (size_t i = 0; i < gf_cu.pending.size(); i++) {
    gf_cmd &now = gf_cu.pending[i], &rec = gf_cu.recorded[i];
    if (now.kind != CMD_KERNEL || (now.used == rec.used && !memcmp(now.args, rec.args, now.used))) continue;
    void *ptr[GF_CMD_MAX_ARGS];
    for (int k = 0; k < now.nargs; k++) ptr[k] = now.args + now.off[k];
    cudaKernelNodeParams p = {};
    p.func = (void *)now.func;
    p.gridDim = dim3(now.grid);
    p.blockDim = dim3(now.block);
    p.kernelParams = ptr;
    cudaError_t e = cudaGraphExecKernelNodeSetParams(gf_cu.exec, rec.node, &p);
    if (e != cudaSuccess) {
      char why[200];
      snprintf(why, sizeof why, "cudaGraphExecKernelNodeSetParams: %s", cudaGetErrorString(e));
      cudaGetLastError();
      graph_off(why);
      flush_pending();
      return;
    }
    cudaGraphNode_t node = rec.node;
    rec = now;
    rec.node = node;
  }
  GF_CU(cudaGraphLaunch(gf_cu.exec, gf_cu.stream));
  GF_CU(cudaEventRecord(gf_cu.launched, gf_cu.stream));
  gf_cu.pending.clear();
}

/* ================================ the ops ================================================= */

static void *cu_alloc(size_t bytes) {
  barrier("alloc");
  void *p = NULL;
  if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
    cudaGetLastError();
    return NULL;
  }
  /* on the backend's stream (non-blocking: the legacy default stream would not order it) */
  if (cudaMemsetAsync(p, 0, bytes ? bytes : 1, gf_cu.stream) != cudaSuccess) {
    cudaGetLastError();
    cudaFree(p);
    return NULL;
  }
  return p;
}

static void cu_free(void *p) {
  if (!p) return;
  barrier("free");
  GF_CU(cudaFree(p));
}

static void cu_sync(void) {
  barrier("sync");
  GF_CU(cudaStreamSynchronize(gf_cu.stream));
  if (!gf_cu.sg.in_step) free_retired();
}

static void cu_to_device(void *dst, const void *src, size_t bytes) {
  if (!bytes) return;
  gf_cmd c;
  memset(&c, 0, sizeof c);
  c.kind = CMD_H2D;
  c.op = OP_H2D;
  c.dst = dst;
  c.bytes = bytes;
  c.stage_off = 0;
  c.src = src;
  if (deferring()) {
    /* the data is copied now into pinned staging (the host buffer may change before the step
       runs); the previous step's graph must be done reading the staging area first */
    if (gf_cu.stage_used == 0) GF_CU(cudaEventSynchronize(gf_cu.launched));
    size_t off = (gf_cu.stage_used + 255) / 256 * 256;
    if (off + bytes > gf_cu.stage_cap) {
      size_t want = (off + bytes) * 2;
      unsigned char *q = NULL;
      if (cudaHostAlloc((void **)&q, want, cudaHostAllocDefault) != cudaSuccess) {
        cudaGetLastError();
        barrier("to_device (no pinned memory)");
        GF_CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, gf_cu.stream));
        return;
      }
      if (gf_cu.stage) {
        memcpy(q, gf_cu.stage, gf_cu.stage_used); /* deferred copies of this step point into it */
        for (gf_cmd &p : gf_cu.pending)
          if (p.kind == CMD_H2D) p.src = q + p.stage_off;
        gf_cu.retired_host.push_back(gf_cu.stage);
      }
      gf_cu.stage = q;
      gf_cu.stage_cap = want;
    }
    memcpy(gf_cu.stage + off, src, bytes);
    c.stage_off = off;
    c.src = gf_cu.stage + off;
    gf_cu.stage_used = off + bytes;
  }
  gf_cuda_submit(c);
}

static void cu_to_host(void *dst, const void *src, size_t bytes) {
  barrier("to_host");
  if (!bytes) return;
  GF_CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, gf_cu.stream));
  GF_CU(cudaStreamSynchronize(gf_cu.stream));
  if (!gf_cu.sg.in_step) free_retired();
}

static void cu_copy(float *d, const float *s, size_t n) {
  if (n) gf_cuda_launch(OP_COPY, k_copy, gf_cuda_blocks(n, TPB), TPB, d, s, n);
}
static void cu_fill(float *x, float v, size_t n) {
  if (n) gf_cuda_launch(OP_FILL, k_fill, gf_cuda_blocks(n, TPB), TPB, x, v, n);
}

static const void *cu_upload_const(const void *host, size_t bytes) {
  size_t fr = 0, tot = 0;
  if (cudaMemGetInfo(&fr, &tot) != cudaSuccess || bytes > fr / 2) {
    cudaGetLastError();
    return NULL; /* does not fit: the trainer prefetches on the host */
  }
  void *p = cu_alloc(bytes);
  if (!p) return NULL;
  if (cudaMemcpyAsync(p, host, bytes, cudaMemcpyHostToDevice, gf_cu.stream) != cudaSuccess ||
      cudaStreamSynchronize(gf_cu.stream) != cudaSuccess) {
    cudaGetLastError();
    cudaFree(p);
    return NULL;
  }
  return p;
}
static void cu_release_const(const void *p) { cu_free((void *)p); }

static void cu_step_begin(void) {
  if (gf_cu.sg.in_step) gf__sg_end(&gf_cu.sg); /* an unbalanced begin: close the previous step */
  flush_pending();
  if (gf_cu.retired.size() || gf_cu.retired_host.size()) {
    GF_CU(cudaStreamSynchronize(gf_cu.stream));
    free_retired();
  }
  gf_cu.stage_used = 0;
  gf__sg_begin(&gf_cu.sg);
}

static void cu_step_end(void) {
  switch (gf__sg_end(&gf_cu.sg)) {
  case GF_SG_CAPTURE: capture_and_launch(); break;
  case GF_SG_LAUNCH:
    if (gf_cu.exec && gf_cu.recorded.size() == gf_cu.pending.size()) replay();
    else flush_pending();
    break;
  default: flush_pending(); break;
  }
  if (gf_cu.sg.off && gf_cu.sg.enabled && !gf_cu.graph_note_shown) { /* gave up: say why, once */
    graph_drop();
    fprintf(stderr, "ganforge: %s: CUDA Graph replay off (%s); every op is launched\n", gf_cu.name, gf_cu.sg.reason);
    gf_cu.graph_note_shown = 1;
  }
}

static int cu_configure(const gf__backend_opts *o) {
  barrier("configure");
  if (o->bf16 && o->tf32) return gf__fail(GF_EUSAGE, "train.tf32=1 and train.precision=bf16 exclude each other");
  gf_cu.opts = *o;
  /* a new run: its own eager warm-up step (kernels load, cuDNN searches) before a recording */
  graph_drop();
  gf__sg_free(&gf_cu.sg);
  gf__sg_init(&gf_cu.sg, o->graph);
  gf_cu.graph_note_shown = 0;
  cudnnSetStream(gf_cu.dnn, gf_cu.stream);
  return 0;
}

static int cu_check(void) {
  if (gf_cu.err[0]) return gf__fail(GF_ENODEV, "%s", gf_cu.err);
  return 0;
}

static void cu_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  gf_cmd c;
  memset(&c, 0, sizeof c); /* the key hashes the arguments' bytes, padding included */
  c.kind = CMD_GEMM;
  c.op = OP_GEMM;
  gf_gemm_args &a = c.gemm;
  a.ta = ta; a.tb = tb; a.M = M; a.N = N; a.K = K; a.alpha = alpha; a.A = A; a.lda = lda;
  a.B = B; a.ldb = ldb; a.beta = beta; a.C = C; a.ldc = ldc;
  gf_cuda_submit(c);
}

static void cu_axpy(float *y, float a, const float *x, size_t n) {
  if (n) gf_cuda_launch(OP_AXPY, k_axpy, gf_cuda_blocks(n, TPB), TPB, y, a, x, n);
}
static void cu_scale(float *x, float a, size_t n) {
  if (n) gf_cuda_launch(OP_SCALE, k_scale, gf_cuda_blocks(n, TPB), TPB, x, a, n);
}
static void cu_bias_fwd(float *y, const float *b, int N, int C, int S) {
  size_t n = (size_t)N * C * S;
  if (n) gf_cuda_launch(OP_BIAS_FWD, k_bias_fwd, gf_cuda_blocks(n, TPB), TPB, y, b, n, C, S);
}
static void cu_bias_bwd(float *db, const float *dy, int N, int C, int S) {
  if (N > 0 && C > 0 && S > 0) gf_cuda_launch(OP_BIAS_BWD, k_bias_bwd, (unsigned)C, RED, db, dy, N, C, S);
}

static void cu_act_fwd(gf__act k, float *y, const float *x, size_t n, float alpha) {
  if (!n) return;
  unsigned g = gf_cuda_blocks(n, TPB);
  switch (k) {
  case GF_ACT_RELU: gf_cuda_launch(OP_ACT_FWD, k_act_fwd<GF_ACT_RELU>, g, TPB, y, x, n, alpha); break;
  case GF_ACT_LEAKY_RELU: gf_cuda_launch(OP_ACT_FWD, k_act_fwd<GF_ACT_LEAKY_RELU>, g, TPB, y, x, n, alpha); break;
  case GF_ACT_TANH: gf_cuda_launch(OP_ACT_FWD, k_act_fwd<GF_ACT_TANH>, g, TPB, y, x, n, alpha); break;
  case GF_ACT_SIGMOID: gf_cuda_launch(OP_ACT_FWD, k_act_fwd<GF_ACT_SIGMOID>, g, TPB, y, x, n, alpha); break;
  }
}
static void cu_act_bwd(gf__act k, float *dx, const float *x, const float *y, const float *dy, size_t n, float alpha) {
  if (!n) return;
  unsigned g = gf_cuda_blocks(n, TPB);
  switch (k) {
  case GF_ACT_RELU: gf_cuda_launch(OP_ACT_BWD, k_act_bwd<GF_ACT_RELU>, g, TPB, dx, x, y, dy, n, alpha); break;
  case GF_ACT_LEAKY_RELU: gf_cuda_launch(OP_ACT_BWD, k_act_bwd<GF_ACT_LEAKY_RELU>, g, TPB, dx, x, y, dy, n, alpha); break;
  case GF_ACT_TANH: gf_cuda_launch(OP_ACT_BWD, k_act_bwd<GF_ACT_TANH>, g, TPB, dx, x, y, dy, n, alpha); break;
  case GF_ACT_SIGMOID: gf_cuda_launch(OP_ACT_BWD, k_act_bwd<GF_ACT_SIGMOID>, g, TPB, dx, x, y, dy, n, alpha); break;
  }
}

static void cu_norm_fwd_train(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                              float *rm, float *rv, int N, int C, int S, float eps, float mom) {
  size_t n = (size_t)N * C * S;
  if (!n) return;
  gf_cuda_launch(OP_NORM_STATS, k_norm_stats, (unsigned)C, RED, mean, rstd, rm, rv, x, N, C, S, eps, mom);
  gf_cuda_launch(OP_NORM_APPLY, k_norm_apply, gf_cuda_blocks(n, TPB), TPB, y, x, (const float *)mean,
                 (const float *)rstd, gamma, beta, n, C, S);
}
static void cu_norm_fwd_eval(float *y, const float *x, const float *gamma, const float *beta, const float *rm,
                             const float *rv, int N, int C, int S, float eps) {
  size_t n = (size_t)N * C * S;
  if (n) gf_cuda_launch(OP_NORM_EVAL, k_norm_eval, gf_cuda_blocks(n, TPB), TPB, y, x, gamma, beta, rm, rv, n, C, S, eps);
}
static void cu_norm_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *gamma, int N, int C, int S) {
  size_t n = (size_t)N * C * S;
  if (!n) return;
  if (gf_cuda_reserve((void **)&gf_cu.sums, &gf_cu.sums_cap, sizeof(double) * 2 * (size_t)C) < 0) {
    gf_cuda_error("norm_bwd", "out of device memory for the channel sums");
    return;
  }
  gf_cuda_launch(OP_NORM_BWD_SUMS, k_norm_bwd_sums, (unsigned)C, RED, gf_cu.sums, dgamma, dbeta, dy, x, mean, rstd, N, C, S);
  if (dx)
    gf_cuda_launch(OP_NORM_BWD_APPLY, k_norm_bwd_apply, gf_cuda_blocks(n, TPB), TPB, dx, dy, x, mean, rstd, gamma,
                   (const double *)gf_cu.sums, n, N, C, S);
}

static void cu_norm_sums(float *sums, const float *x, const float *mean, int N, int C, int S) {
  if (C > 0) gf_cuda_launch(OP_NORM_SUMS, k_norm_sums, (unsigned)C, RED, sums, x, mean, N, C, S);
}
static void cu_norm_fwd_sync(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                             float *rm, float *rv, int N, int C, int S, double count, float eps, float mom) {
  if (C <= 0) return;
  gf_cuda_launch(OP_NORM_SYNC_FINISH, k_norm_sync_finish, gf_cuda_blocks((size_t)C, TPB), TPB, (const float *)mean, rstd,
                 rm, rv, C, count, eps, mom);
  size_t n = (size_t)N * C * S;
  if (n)
    gf_cuda_launch(OP_NORM_APPLY, k_norm_apply, gf_cuda_blocks(n, TPB), TPB, y, x, (const float *)mean,
                   (const float *)rstd, gamma, beta, n, C, S);
}
static void cu_norm_bwd_sums(float *sums, const float *dy, const float *x, const float *mean, const float *rstd, int N,
                             int C, int S) {
  if (C > 0) gf_cuda_launch(OP_NORM_SYNC_BWD_SUMS, k_norm_sync_bwd_sums, (unsigned)C, RED, sums, dy, x, mean, rstd, N, C, S);
}
static void cu_norm_bwd_sync(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                             const float *gamma, const float *sums, double count, int N, int C, int S) {
  size_t n = (size_t)N * C * S;
  if (n)
    gf_cuda_launch(OP_NORM_SYNC_BWD, k_norm_sync_bwd, gf_cuda_blocks(n, TPB), TPB, dx, dy, x, mean, rstd, gamma, sums,
                   count, n, C, S);
}

static void cu_maxout_fwd(float *y, float *argmax, const float *x, int N, int units, int k) {
  size_t nu = (size_t)N * units;
  if (nu) gf_cuda_launch(OP_MAXOUT_FWD, k_maxout_fwd, gf_cuda_blocks(nu, TPB), TPB, y, argmax, x, nu, k);
}
static void cu_maxout_bwd(float *dx, const float *dy, const float *argmax, int N, int units, int k) {
  size_t nu = (size_t)N * units;
  if (nu) gf_cuda_launch(OP_MAXOUT_BWD, k_maxout_bwd, gf_cuda_blocks(nu, TPB), TPB, dx, dy, argmax, nu, k);
}
static void cu_dropout_fwd(float *y, float *mask, const float *x, size_t n, float p, uint64_t key, uint64_t stream,
                           uint64_t counter) {
  if (n)
    gf_cuda_launch(OP_DROPOUT, k_dropout, gf_cuda_blocks((n + 3) / 4, TPB), TPB, y, mask, x, n, p, 1.0f / (1.0f - p), key,
                   stream, counter);
}
static void cu_mul_bwd(float *dx, const float *dy, const float *m, size_t n) {
  if (n) gf_cuda_launch(OP_MUL_BWD, k_mul_bwd, gf_cuda_blocks(n, TPB), TPB, dx, dy, m, n);
}

static void cu_gan_loss(gf__gan_loss kind, float *stats, float *dx, const float *x, size_t n, float scale) {
  if (n) gf_cuda_launch(OP_GAN_LOSS, k_gan_loss, 1, RED, (int)kind, stats, dx, x, n, scale);
}
static void cu_l1(float *out, float *dx, const float *x, const float *t, size_t n, float scale) {
  if (n) gf_cuda_launch(OP_L1, k_l1, 1, RED, out, dx, x, t, n, (float)(scale * (1.0 / (double)n)));
}
static void cu_mse(float *out, float *dx, const float *x, const float *t, size_t n, float scale) {
  if (n) gf_cuda_launch(OP_MSE, k_mse, 1, RED, out, dx, x, t, n, (float)(2.0 * scale * (1.0 / (double)n)));
}
static void cu_xent(float *stats, float *dx, float *prob, const float *x, const float *y, int N, int C, float scale) {
  if (N > 0) gf_cuda_launch(OP_XENT, k_xent, 1, RED, stats, dx, prob, x, y, N, C, scale / (float)N);
}

static void cu_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                    float bc1, float bc2, float wd) {
  if (n)
    gf_cuda_launch(OP_ADAM, k_adam, gf_cuda_blocks(n, TPB), TPB, p, g, m, v, n, lr / bc1, 1.0f / sqrtf(bc2), b1, b2, eps, wd);
}
static void cu_sgd(float *p, const float *g, float *v, size_t n, float lr, float mom, float wd) {
  if (n) gf_cuda_launch(OP_SGD, k_sgd, gf_cuda_blocks(n, TPB), TPB, p, g, v, n, lr, mom, wd);
}

static void cu_im2col(float *col, const float *x, int N, const gf__conv_geom *g) {
  int r0 = g->rn ? g->r0 : 0, rn = g->rn ? g->rn : g->OH;
  size_t total = (size_t)g->C * g->kh * g->kw * N * rn * g->OW;
  if (total) gf_cuda_launch(OP_IM2COL, k_im2col, gf_cuda_blocks(total, TPB), TPB, col, x, N, *g, r0, rn);
}
static void cu_col2im(float *x, const float *col, int N, const gf__conv_geom *g) {
  int r0 = g->rn ? g->r0 : 0, rn = g->rn ? g->rn : g->OH;
  size_t total = (size_t)N * g->C * g->H * g->W;
  if (total) gf_cuda_launch(OP_COL2IM, k_col2im, gf_cuda_blocks(total, TPB), TPB, x, col, N, *g, r0, rn);
}
static void cu_swap01(float *dst, const float *src, int A, int B, int S, float beta) {
  size_t total = (size_t)A * B * S;
  if (total) gf_cuda_launch(OP_SWAP01, k_swap01, gf_cuda_blocks(total, TPB), TPB, dst, src, A, B, S, beta != 0.0f ? 1 : 0);
}
static void cu_refl_fwd(float *y, const float *x, int NC, int H, int W, int t, int b, int l, int r) {
  int OH = H + t + b, OW = W + l + r;
  size_t total = (size_t)NC * OH * OW;
  if (total) gf_cuda_launch(OP_REFL_FWD, k_refl_fwd, gf_cuda_blocks(total, TPB), TPB, y, x, NC, H, W, t, l, OH, OW);
}
static void cu_refl_bwd(float *dx, const float *dy, int NC, int H, int W, int t, int b, int l, int r) {
  int OH = H + t + b, OW = W + l + r;
  size_t total = (size_t)NC * H * W;
  if (total) gf_cuda_launch(OP_REFL_BWD, k_refl_bwd, gf_cuda_blocks(total, TPB), TPB, dx, dy, NC, H, W, t, l, OH, OW);
}

static void cu_dw_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g) {
  size_t total = (size_t)N * OC * g->OH * g->OW;
  if (total) gf_cuda_launch(OP_DW_FWD, k_dw_fwd, gf_cuda_blocks(total, TPB), TPB, y, x, w, N, OC, *g);
}
static void cu_dw_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g) {
  size_t total = (size_t)N * g->C * g->H * g->W;
  if (total) gf_cuda_launch(OP_DW_BWD_DATA, k_dw_bwd_data, gf_cuda_blocks(total, TPB), TPB, dx, dy, w, N, OC, *g);
}
static void cu_dw_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g) {
  if (N > 0 && OC > 0 && g->kh * g->kw > 0)
    gf_cuda_launch(OP_DW_BWD_W, k_dw_bwd_w, (unsigned)(OC * g->kh * g->kw), RED, dw, x, dy, N, OC, *g);
}
static void cu_ka_coef(float *stats, float *coef, const float *gx, const float *gy, int B, float scale) {
  if (B > 0) gf_cuda_launch(OP_KA_COEF, k_ka_coef, 1, RED, stats, coef, gx, gy, (size_t)B * B, scale);
}

static void cu_nonfinite(float *count, const float *x, size_t n) {
  if (n) gf_cuda_launch(OP_NONFINITE, k_nonfinite, 1, RED, count, x, n);
}
static void cu_gather(float *dst, const float *src, const int32_t *idx, int n, int rows, int w) {
  size_t total = (size_t)n * rows * w;
  if (total) gf_cuda_launch(OP_GATHER, k_gather, gf_cuda_blocks(total, TPB), TPB, dst, src, idx, n, rows, w);
}
static void cu_rand_normal(float *x, size_t n, float mean, float sd, uint64_t seed, uint64_t stream, uint64_t counter) {
  if (n)
    gf_cuda_launch(OP_RAND_NORMAL, k_rand_normal, gf_cuda_blocks((n + 3) / 4, TPB), TPB, x, n, mean, sd,
                   gf__k_stream_key(seed, stream), stream, counter);
}
static void cu_rand_uniform(float *x, size_t n, float lo, float hi, uint64_t seed, uint64_t stream, uint64_t counter) {
  if (n)
    gf_cuda_launch(OP_RAND_UNIFORM, k_rand_uniform, gf_cuda_blocks((n + 3) / 4, TPB), TPB, x, n, lo, hi,
                   gf__k_stream_key(seed, stream), stream, counter);
}

/* ================================ the table and opening =================================== */

#ifndef GF_CUDA_ARCHS
#define GF_CUDA_ARCHS "?"
#endif
static char conv_name[64];

static gf__ops cuda_ops_table;

static void build_table(void) {
  gf__ops &t = cuda_ops_table;
  memset(&t, 0, sizeof t);
  t.name = gf_cu.name;
  t.alloc = cu_alloc; t.free = cu_free; t.to_device = cu_to_device; t.to_host = cu_to_host;
  t.copy = cu_copy; t.fill = cu_fill; t.sync = cu_sync;
  t.upload_const = cu_upload_const; t.release_const = cu_release_const;
  t.step_begin = cu_step_begin; t.step_end = cu_step_end; t.configure = cu_configure; t.check = cu_check;
  t.gemm = cu_gemm; t.axpy = cu_axpy; t.scale = cu_scale;
  t.bias_fwd = cu_bias_fwd; t.bias_bwd = cu_bias_bwd; t.act_fwd = cu_act_fwd; t.act_bwd = cu_act_bwd;
  t.norm_fwd_train = cu_norm_fwd_train; t.norm_fwd_eval = cu_norm_fwd_eval; t.norm_bwd = cu_norm_bwd;
  t.norm_sums = cu_norm_sums; t.norm_fwd_sync = cu_norm_fwd_sync; t.norm_bwd_sums = cu_norm_bwd_sums;
  t.norm_bwd_sync = cu_norm_bwd_sync;
  t.maxout_fwd = cu_maxout_fwd; t.maxout_bwd = cu_maxout_bwd; t.dropout_fwd = cu_dropout_fwd; t.mul_bwd = cu_mul_bwd;
  t.gan_loss = cu_gan_loss; t.l1_loss = cu_l1; t.mse_loss = cu_mse; t.xent_loss = cu_xent;
  t.adam = cu_adam; t.sgd = cu_sgd;
  t.im2col = cu_im2col; t.col2im = cu_col2im; t.swap01 = cu_swap01;
  /* Winograd, polyphase Winograd and the direct kernels are CPU-only: cuDNN takes whole passes;
     depth-wise convolutions (grouped layers are not handed to conv_lib) run our dwconv.h kernels */
  t.dw_fwd = cu_dw_fwd; t.dw_bwd_data = cu_dw_bwd_data; t.dw_bwd_w = cu_dw_bwd_w;
  t.ka_coef = cu_ka_coef;
  snprintf(conv_name, sizeof conv_name, "cuDNN %d.%d.%d", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
  t.conv_lib = gf_cuda_conv_lib; t.conv_lib_name = conv_name; t.conv_lib_all = 1;
  t.reflect_pad_fwd = cu_refl_fwd; t.reflect_pad_bwd = cu_refl_bwd;
  t.count_nonfinite = cu_nonfinite; t.gather = cu_gather;
  t.rand_normal = cu_rand_normal; t.rand_uniform = cu_rand_uniform;
  gf_cuda_cond_ops(t);
  gf_cuda_critic_table(&t);
}

#define GF_BLAS_WS (32u << 20) /* cuBLAS workspace: set once, so GEMMs allocate nothing in a captured graph */

extern "C" int gf__ops_cuda_open(int index, const gf__ops **out) {
  *out = NULL;
  if (gf_cu.open) {
    if (index != gf_cu.index) return gf__cuda_open_error(GF_CUDA_OTHER_OPEN, index, 0, gf_cu.index, NULL);
    *out = &cuda_ops_table;
    return 0;
  }
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice || e != cudaSuccess || count == 0) {
    const char *msg = cudaGetErrorString(e);
    cudaGetLastError();
    if (e == cudaErrorInsufficientDriver) return gf__cuda_open_error(GF_CUDA_NO_DRIVER, index, 0, 0, msg);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0))
      return gf__cuda_open_error(GF_CUDA_NO_DEVICE, index, 0, 0, e == cudaSuccess ? NULL : msg);
    return gf__cuda_open_error(GF_CUDA_INIT_FAILED, index, 0, 0, msg);
  }
  if (index >= count) return gf__cuda_open_error(GF_CUDA_BAD_INDEX, index, count, 0, NULL);
  char why[200] = "";
  cudaDeviceProp prop;
  if ((e = cudaSetDevice(index)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, index)) != cudaSuccess ||
      (e = cudaStreamCreateWithFlags(&gf_cu.stream, cudaStreamNonBlocking)) != cudaSuccess ||
      (e = cudaEventCreateWithFlags(&gf_cu.launched, cudaEventDisableTiming)) != cudaSuccess ||
      (e = cudaMalloc(&gf_cu.blas_ws, GF_BLAS_WS)) != cudaSuccess)
    snprintf(why, sizeof why, "%s", cudaGetErrorString(e));
  if (!why[0]) gf__cuda_blas_load(why, sizeof why);
  if (!why[0] && gf_blas.create(&gf_cu.blas) != CUBLAS_STATUS_SUCCESS) snprintf(why, sizeof why, "cublasCreate failed");
  if (!why[0] && (gf_blas.set_stream(gf_cu.blas, gf_cu.stream) != CUBLAS_STATUS_SUCCESS ||
                  gf_blas.set_workspace(gf_cu.blas, gf_cu.blas_ws, GF_BLAS_WS) != CUBLAS_STATUS_SUCCESS))
    snprintf(why, sizeof why, "cuBLAS stream / workspace set-up failed");
  cudnnStatus_t ds = CUDNN_STATUS_SUCCESS;
  if (!why[0] && (ds = cudnnCreate(&gf_cu.dnn)) != CUDNN_STATUS_SUCCESS)
    snprintf(why, sizeof why, "cudnnCreate: %s", cudnnGetErrorString(ds));
  if (!why[0]) cudnnSetStream(gf_cu.dnn, gf_cu.stream);
  if (why[0]) {
    cudaGetLastError();
    return gf__cuda_open_error(GF_CUDA_INIT_FAILED, index, count, 0, why);
  }
  gf_cu.open = 1;
  gf_cu.index = index;
  snprintf(gf_cu.name, sizeof gf_cu.name, "cuda:%d (%s, sm_%d%d)", index, prop.name, prop.major, prop.minor);
  gf_cu.opts = gf__backend_opts{0, 0, 1};
  gf__sg_init(&gf_cu.sg, 1);
  build_table();
  *out = &cuda_ops_table;
  return 0;
}

extern "C" void *gf__cuda_stream(const gf__ops *ops) {
  if (!gf_cu.open || ops != &cuda_ops_table) return NULL;
  barrier("a collective");
  return (void *)gf_cu.stream;
}

extern "C" const char *gf_cuda_info(void) {
  static char buf[200];
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  cudaGetLastError();
  snprintf(buf, sizeof buf, "cuda: built with CUDA %d.%d (runtime %d.%d), cuBLAS, cuDNN %d.%d.%d, kernels for %s",
           CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10, rt / 1000, rt % 1000 / 10, CUDNN_MAJOR, CUDNN_MINOR,
           CUDNN_PATCHLEVEL, GF_CUDA_ARCHS);
  return buf;
}
