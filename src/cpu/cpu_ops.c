/* cpu_ops.c: the CPU backend: OpenBLAS sgemm for matrix products, OpenMP loops for the rest. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "core/util.h"
#include "cpu/cpu_internal.h"
#include "kern/kern_elem.h"
#include "kern/kern_loss.h"
#include "kern/kern_norm.h"
#include "kern/kern_rng.h"

/* Element-wise loops go parallel only when there is enough work to pay for the threads. */
#define PAR_MIN 32768


/* Splits [0, n) into one contiguous chunk per thread and runs fn on each. */
#define PAR_CHUNKS(n, body)                                                                     \
  do {                                                                                          \
    size_t n_ = (n);                                                                            \
    _Pragma("omp parallel if (n_ > PAR_MIN)") {                                                 \
      int t_ = omp_get_thread_num(), nt_ = omp_get_num_threads();                               \
      size_t lo = n_ * (size_t)t_ / (size_t)nt_, hi = n_ * (size_t)(t_ + 1) / (size_t)nt_;      \
      body;                                                                                     \
    }                                                                                           \
  } while (0)

static void *cpu_alloc(size_t bytes) { return gf__alloc_aligned(bytes); }
static void cpu_free(void *p) { free(p); }
static void cpu_to_device(void *dst, const void *src, size_t bytes) { if (bytes) memcpy(dst, src, bytes); }
static void cpu_to_host(void *dst, const void *src, size_t bytes) { if (bytes) memcpy(dst, src, bytes); }
static void cpu_copy(float *dst, const float *src, size_t n) { if (n) memmove(dst, src, n * sizeof(float)); }
static void cpu_sync(void) {}
static const void *cpu_upload_const(const void *host, size_t bytes) { (void)bytes; return host; }
static void cpu_release_const(const void *p) { (void)p; }
static void cpu_step_begin(void) {}
static void cpu_step_end(void) {}

static int cpu_check(void) { return 0; }

static int cpu_configure(const gf__backend_opts *o) {
  if (o->bf16) return gf__fail(GF_EUSAGE, "train.precision=bf16 needs a CUDA device (--device cuda): the CPU backend computes in float32");
  return 0; /* train.tf32 and train.cuda_graph do not apply to the CPU */
}

static void cpu_fill(float *x, float v, size_t n) {
  if (v == 0.0f) { memset(x, 0, n * sizeof(float)); return; }
  for (size_t i = 0; i < n; i++) x[i] = v; /* a fill has no math to share */
}

/* OpenBLAS threads any GEMM with M*N*K >= 2^18; below ~4M multiply-adds (~0.1 ms on one core)
   the thread hand-off costs more than it saves, and on a busy machine far more. */
#define GEMM_PAR_MIN 4194304.0

static void cpu_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
  if ((double)M * N * K < GEMM_PAR_MIN && omp_get_max_threads() > 1) {
    int nt = omp_get_max_threads();
    openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
    openblas_set_num_threads(nt);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
              alpha, A, lda, B, ldb, beta, C, ldc);
}

static void cpu_axpy(float *y, float a, const float *x, size_t n) {
  #pragma omp parallel for simd if (parallel: n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) y[i] = gf__k_axpy(y[i], a, x[i]);
}

static void cpu_scale(float *x, float a, size_t n) {
  #pragma omp parallel for simd if (parallel: n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) x[i] = gf__k_scale(x[i], a);
}

static void cpu_bias_fwd(float *y, const float *b, int N, int C, int S) {
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float *row = y + ((size_t)n * C + c) * S;
      float bc = b[c];
      #pragma omp simd
      for (int s = 0; s < S; s++) row[s] = gf__k_bias(row[s], bc);
    }
}

static void cpu_bias_bwd(float *db, const float *dy, int N, int C, int S) {
  if (S == 1) {
    for (int n = 0; n < N; n++) {
      const float *row = dy + (size_t)n * C;
      for (int c = 0; c < C; c++) db[c] += row[c];
    }
    return;
  }
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int c = 0; c < C; c++) {
    double acc = 0;
    for (int n = 0; n < N; n++) {
      const float *row = dy + ((size_t)n * C + c) * S;
      float part = 0;
      #pragma omp simd reduction(+ : part)
      for (int s = 0; s < S; s++) part += row[s];
      acc += part;
    }
    db[c] += (float)acc;
  }
}

/* y may alias x (activations run in place): no restrict here. */
GF_CLONES static void act_fwd_kernel(gf__act kind, float *y, const float *x, size_t lo, size_t hi, float alpha) {
  switch (kind) {
  /* branch-free bodies (a data-dependent branch is mispredicted half the time) so that they vectorize */
  case GF_ACT_RELU: for (size_t i = lo; i < hi; i++) y[i] = gf__k_relu(x[i]); break;
  case GF_ACT_LEAKY_RELU: for (size_t i = lo; i < hi; i++) y[i] = gf__k_lrelu(x[i], alpha); break;
  case GF_ACT_TANH: for (size_t i = lo; i < hi; i++) y[i] = gf__k_tanh(x[i]); break;
  case GF_ACT_SIGMOID: for (size_t i = lo; i < hi; i++) y[i] = gf__k_sigmoid(x[i]); break;
  }
}

static void cpu_act_fwd(gf__act kind, float *y, const float *x, size_t n, float alpha) {
  PAR_CHUNKS(n, act_fwd_kernel(kind, y, x, lo, hi, alpha));
}

GF_CLONES static void act_bwd_kernel(gf__act kind, float *restrict dx, const float *restrict x, const float *restrict y,
                                     const float *restrict dy, size_t lo, size_t hi, float alpha) {
  switch (kind) {
  case GF_ACT_RELU: for (size_t i = lo; i < hi; i++) dx[i] += gf__k_relu_bwd(dy[i], x[i]); break;
  case GF_ACT_LEAKY_RELU: for (size_t i = lo; i < hi; i++) dx[i] += gf__k_lrelu_bwd(dy[i], x[i], alpha); break;
  case GF_ACT_TANH: for (size_t i = lo; i < hi; i++) dx[i] += gf__k_tanh_bwd(dy[i], y[i]); break;
  case GF_ACT_SIGMOID: for (size_t i = lo; i < hi; i++) dx[i] += gf__k_sigmoid_bwd(dy[i], y[i]); break;
  }
}

static void cpu_act_bwd(gf__act kind, float *dx, const float *x, const float *y, const float *dy, size_t n,
                        float alpha) {
  PAR_CHUNKS(n, act_bwd_kernel(kind, dx, x, y, dy, lo, hi, alpha));
}

/* BatchNorm1d (S = 1: x [N, C], a channel's values a column apart) in blocks of VEC_BLOCK
   channels, one block per thread at a time: each block's sums run down the rows in row order (the
   same order, so the same results, whatever the threads), and its apply or input gradient follows
   while the block's columns are in the cache. */
#define VEC_BLOCK 128
#define VEC_BLOCKS(C) (((C) + VEC_BLOCK - 1) / VEC_BLOCK)
static inline int vec_width(int C, int c0) { return C - c0 < VEC_BLOCK ? C - c0 : VEC_BLOCK; }

static void norm_fwd_vec(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                         float *run_mean, float *run_var, int N, int C, float eps, float momentum) {
  #pragma omp parallel for if ((size_t)N * C > PAR_MIN) schedule(static)
  for (int blk = 0; blk < VEC_BLOCKS(C); blk++) {
    const int c0 = blk * VEC_BLOCK, w = vec_width(C, c0);
    double s1[VEC_BLOCK], s2[VEC_BLOCK], mu[VEC_BLOCK];
    float g[VEC_BLOCK], b[VEC_BLOCK];
    const double inv = 1.0 / N;
    for (int j = 0; j < w; j++) s1[j] = s2[j] = 0.0;
    for (int n = 0; n < N; n++) {
      const float *row = x + (size_t)n * C + c0;
      for (int j = 0; j < w; j++) s1[j] += row[j];
    }
    for (int j = 0; j < w; j++) mu[j] = s1[j] * inv;
    for (int n = 0; n < N; n++) {
      const float *row = x + (size_t)n * C + c0;
      for (int j = 0; j < w; j++) {
        double d = row[j] - mu[j];
        s2[j] += d * d;
      }
    }
    for (int j = 0; j < w; j++) {
      gf__k_norm_stats(mean, rstd, run_mean, run_var, c0 + j, s1[j], s2[j], (double)N, eps, momentum);
      gf__k_norm_coef(gamma, beta, mean[c0 + j], rstd[c0 + j], c0 + j, &g[j], &b[j]);
    }
    for (int n = 0; n < N; n++) {
      const float *row = x + (size_t)n * C + c0;
      float *out = y + (size_t)n * C + c0;
      for (int j = 0; j < w; j++) out[j] = gf__k_norm_apply(row[j], g[j], b[j]);
    }
  }
}

static void norm_bwd_vec(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                         const float *rstd, const float *gamma, int N, int C) {
  const double M = (double)N;
  #pragma omp parallel for if ((size_t)N * C > PAR_MIN) schedule(static)
  for (int blk = 0; blk < VEC_BLOCKS(C); blk++) {
    const int c0 = blk * VEC_BLOCK, w = vec_width(C, c0);
    double sdy[VEC_BLOCK], sdyx[VEC_BLOCK];
    const float *mu = mean + c0, *rs = rstd + c0;
    for (int j = 0; j < w; j++) sdy[j] = sdyx[j] = 0.0;
    for (int n = 0; n < N; n++) {
      const float *dr = dy + (size_t)n * C + c0, *xr = x + (size_t)n * C + c0;
      for (int j = 0; j < w; j++) {
        sdy[j] += dr[j];
        sdyx[j] += dr[j] * (xr[j] - mu[j]) * rs[j];
      }
    }
    for (int j = 0; j < w; j++) {
      if (dgamma) dgamma[c0 + j] += (float)sdyx[j];
      if (dbeta) dbeta[c0 + j] += (float)sdy[j];
    }
    if (!dx) continue;
    float g[VEC_BLOCK];
    for (int j = 0; j < w; j++) g[j] = gamma ? gamma[c0 + j] : 1.0f;
    for (int n = 0; n < N; n++) {
      const float *dr = dy + (size_t)n * C + c0, *xr = x + (size_t)n * C + c0;
      float *dxr = dx + (size_t)n * C + c0;
      for (int j = 0; j < w; j++) dxr[j] += gf__k_norm_bwd_vec(dr[j], xr[j], mu[j], rs[j], g[j], sdy[j], sdyx[j], M);
    }
  }
}

/* y = (x - mean) rstd gamma + beta; rstd NULL: from the running variance var (eval mode) */
static inline float chan_rstd(const float *rstd, const float *var, float eps, int c) {
  return rstd ? rstd[c] : gf__k_norm_eval_rstd(var[c], eps);
}

static void norm_apply(float *y, const float *x, const float *mean, const float *rstd, const float *var, float eps,
                       const float *gamma, const float *beta, int N, int C, int S) {
  if (S == 1) { /* the coefficients once per channel, the rows vectorised along the channels */
    #pragma omp parallel for if ((size_t)N * C > PAR_MIN) schedule(static)
    for (int blk = 0; blk < VEC_BLOCKS(C); blk++) {
      const int c0 = blk * VEC_BLOCK, w = vec_width(C, c0);
      float g[VEC_BLOCK], b[VEC_BLOCK];
      for (int j = 0; j < w; j++)
        gf__k_norm_coef(gamma, beta, mean[c0 + j], chan_rstd(rstd, var, eps, c0 + j), c0 + j, &g[j], &b[j]);
      for (int n = 0; n < N; n++) {
        const float *row = x + (size_t)n * C + c0;
        float *out = y + (size_t)n * C + c0;
        for (int j = 0; j < w; j++) out[j] = gf__k_norm_apply(row[j], g[j], b[j]);
      }
    }
    return;
  }
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float g, b;
      gf__k_norm_coef(gamma, beta, mean[c], chan_rstd(rstd, var, eps, c), c, &g, &b);
      const float *xp = x + ((size_t)n * C + c) * S;
      float *yp = y + ((size_t)n * C + c) * S;
      #pragma omp simd
      for (int s = 0; s < S; s++) yp[s] = gf__k_norm_apply(xp[s], g, b);
    }
}

void gf__cpu_norm_apply(float *y, const float *x, const float *mean, const float *rstd, const float *gamma,
                        const float *beta, int N, int C, int S) {
  norm_apply(y, x, mean, rstd, NULL, 0.0f, gamma, beta, N, C, S);
}

static void cpu_norm_fwd_train(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                               const float *beta, float *run_mean, float *run_var, int N, int C, int S,
                               float eps, float momentum) {
  double M = (double)N * S;
  if (S > 1) {
    /* per channel, no scratch arrays (InstanceNorm runs this with C = batch x channels); the apply
       follows the channel's two statistics passes while its values are still in the cache (a
       CycleGAN channel at 256 x 256 is 256 KB) */
    #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
    for (int c = 0; c < C; c++) {
      double s1 = 0, s2 = 0;
      for (int n = 0; n < N; n++) {
        const float *p = x + ((size_t)n * C + c) * S;
        #pragma omp simd reduction(+ : s1)
        for (int k = 0; k < S; k++) s1 += p[k];
      }
      double mu = s1 / M;
      for (int n = 0; n < N; n++) {
        const float *p = x + ((size_t)n * C + c) * S;
        #pragma omp simd reduction(+ : s2)
        for (int k = 0; k < S; k++) { double d = p[k] - mu; s2 += d * d; }
      }
      gf__k_norm_stats(mean, rstd, run_mean, run_var, c, s1, s2, M, eps, momentum);
      float g, b;
      gf__k_norm_coef(gamma, beta, mean[c], rstd[c], c, &g, &b);
      for (int n = 0; n < N; n++) {
        const float *xp = x + ((size_t)n * C + c) * S;
        float *yp = y + ((size_t)n * C + c) * S;
        #pragma omp simd
        for (int k = 0; k < S; k++) yp[k] = gf__k_norm_apply(xp[k], g, b);
      }
    }
    return;
  }
  norm_fwd_vec(y, mean, rstd, x, gamma, beta, run_mean, run_var, N, C, eps, momentum);
}

static void cpu_norm_fwd_eval(float *y, const float *x, const float *gamma, const float *beta,
                              const float *run_mean, const float *run_var, int N, int C, int S, float eps) {
  norm_apply(y, x, run_mean, NULL, run_var, eps, gamma, beta, N, C, S);
}

static void cpu_norm_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                         const float *mean, const float *rstd, const float *gamma, int N, int C, int S) {
  double M = (double)N * S;
  if (S == 1) {
    norm_bwd_vec(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, N, C);
    return;
  }
  #pragma omp parallel for if ((size_t)N * C * S > PAR_MIN) schedule(static)
  for (int c = 0; c < C; c++) {
    double sdy = 0, sdyx = 0;
    float mu = mean[c], rs = rstd[c];
    for (int n = 0; n < N; n++) {
      const float *dp = dy + ((size_t)n * C + c) * S, *xp = x + ((size_t)n * C + c) * S;
      #pragma omp simd reduction(+ : sdy, sdyx)
      for (int s = 0; s < S; s++) {
        sdy += dp[s];
        sdyx += dp[s] * (xp[s] - mu) * rs;
      }
    }
    if (dgamma) dgamma[c] += (float)sdyx;
    if (dbeta) dbeta[c] += (float)sdy;
    float g, a, b;
    gf__k_norm_bwd_coef(gamma, rs, c, sdy, sdyx, M, &g, &a, &b);
    for (int n = 0; dx && n < N; n++) {
      const float *dp = dy + ((size_t)n * C + c) * S, *xp = x + ((size_t)n * C + c) * S;
      float *dxp = dx + ((size_t)n * C + c) * S;
      #pragma omp simd
      for (int s = 0; s < S; s++) dxp[s] += gf__k_norm_bwd(dp[s], xp[s], mu, rs, g, a, b);
    }
  }
}

static void cpu_maxout_fwd(float *y, float *argmax, const float *x, int N, int units, int k) {
  #pragma omp parallel for if ((size_t)N * units * k > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int u = 0; u < units; u++) {
      int best;
      y[(size_t)n * units + u] = gf__k_maxout(x + ((size_t)n * units + u) * k, k, &best);
      argmax[(size_t)n * units + u] = (float)best;
    }
}

static void cpu_maxout_bwd(float *dx, const float *dy, const float *argmax, int N, int units, int k) {
  size_t total = (size_t)N * units;
  #pragma omp parallel for if (total > PAR_MIN) schedule(static)
  for (size_t i = 0; i < total; i++) dx[i * k + (size_t)argmax[i]] += dy[i];
}

static void cpu_dropout_fwd(float *y, float *mask, const float *x, size_t n, float p, uint64_t key,
                            uint64_t stream, uint64_t counter) {
  float keep = 1.0f / (1.0f - p);
  size_t nb = (n + 3) / 4;
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (size_t b = 0; b < nb; b++) gf__k_dropout_block(y, mask, x, n, p, keep, key, stream, counter, b);
}

static void cpu_mul_bwd(float *dx, const float *dy, const float *mask, size_t n) {
  #pragma omp parallel for simd if (parallel: n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) dx[i] = gf__k_mul_acc(dx[i], dy[i], mask[i]);
}

/* The losses accumulate into stats in backend memory (read back once per step by the caller). */
static void cpu_gan_loss(gf__gan_loss kind, float *stats, float *dx, const float *x, size_t n, float scale) {
  double loss = 0, out = 0, inv = 1.0 / (double)n;
  for (size_t i = 0; i < n; i++) {
    double l, g, p;
    gf__k_gan_loss(kind, x[i], &l, &g, &p);
    loss += l;
    out += p;
    if (dx) dx[i] += gf__k_gan_grad(g, scale, inv);
  }
  stats[0] += (float)(loss * inv);
  stats[1] += (float)(out * inv);
}

static void cpu_l1_loss(float *out, float *dx, const float *x, const float *t, size_t n, float scale) {
  double acc = 0, inv = 1.0 / (double)n;
  float gs = (float)(scale * inv), g;
  for (size_t i = 0; i < n; i++) {
    acc += gf__k_l1(x[i], t[i], gs, &g);
    if (dx) dx[i] += g;
  }
  *out += (float)(acc * inv);
}

static void cpu_mse_loss(float *out, float *dx, const float *x, const float *t, size_t n, float scale) {
  double acc = 0, inv = 1.0 / (double)n;
  float gs = (float)(2.0 * scale * inv), g;
  for (size_t i = 0; i < n; i++) {
    acc += gf__k_mse(x[i], t[i], gs, &g);
    if (dx) dx[i] += g;
  }
  *out += (float)(acc * inv);
}

static void cpu_xent_loss(float *stats, float *dx, float *prob, const float *x, const float *y, int N, int C,
                          float scale) {
  double acc = 0;
  int correct = 0;
  float gs = scale / (float)N;
  for (int i = 0; i < N; i++) {
    int ok;
    acc += gf__k_xent_row(x + (size_t)i * C, C, (int)y[i], gs, prob ? prob + (size_t)i * C : NULL,
                          dx ? dx + (size_t)i * C : NULL, &ok);
    correct += ok;
  }
  stats[0] += (float)(acc / N);
  stats[1] += (float)correct;
}

GF_CLONES static void adam_kernel(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                                  size_t lo, size_t hi, float lr_bc1, float rbc2, float b1, float b2, float eps, float wd) {
  for (size_t i = lo; i < hi; i++) gf__k_adam(p, g, m, v, i, lr_bc1, rbc2, b1, b2, eps, wd);
}

/* PyTorch's Adam: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), with L2 weight decay on g. */
static void cpu_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                     float eps, float bc1, float bc2, float wd) {
  float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2);
  PAR_CHUNKS(n, adam_kernel(p, g, m, v, lo, hi, step, rbc2, b1, b2, eps, wd));
}

GF_CLONES static void sgd_kernel(float *restrict p, const float *restrict g, float *restrict v, size_t lo, size_t hi,
                                 float lr, float mom, float wd) {
  for (size_t i = lo; i < hi; i++) gf__k_sgd(p, g, v, i, lr, mom, wd);
}

static void cpu_sgd(float *p, const float *g, float *v, size_t n, float lr, float mom, float wd) {
  PAR_CHUNKS(n, sgd_kernel(p, g, v, lo, hi, lr, mom, wd));
}

static void cpu_count_nonfinite(float *count, const float *x, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += (size_t)gf__k_nonfinite(x[i]);
  count[0] += (float)bad;
}

static void cpu_gather(float *dst, const float *src, const int32_t *idx, int n, int rows, int w) {
  const size_t dim = (size_t)rows * w;
  #pragma omp parallel for if ((size_t)n * dim > PAR_MIN) schedule(static)
  for (int i = 0; i < n; i++) {
    float *d = dst + (size_t)i * dim;
    if (!(idx[i] & GF_GATHER_FLIP)) { memcpy(d, src + gf__k_gather_src(idx[i], 0, 0, w, dim), sizeof(float) * dim); continue; }
    for (int r = 0; r < rows; r++)
      for (int x = 0; x < w; x++) d[(size_t)r * w + x] = src[gf__k_gather_src(idx[i], r, x, w, dim)];
  }
}

static void cpu_rand_normal(float *x, size_t n, float mean, float std, uint64_t seed, uint64_t stream,
                            uint64_t counter) {
  gf__rng r = {seed, stream, counter};
  gf__rng_normal(&r, x, (long)n, mean, std);
}

static void cpu_rand_uniform(float *x, size_t n, float lo, float hi, uint64_t seed, uint64_t stream,
                             uint64_t counter) {
  gf__rng r = {seed, stream, counter};
  gf__rng_uniform(&r, x, (long)n, lo, hi);
}

static const gf__ops cpu_ops = {
  .name = "cpu",
  .alloc = cpu_alloc, .free = cpu_free, .to_device = cpu_to_device, .to_host = cpu_to_host,
  .copy = cpu_copy, .fill = cpu_fill, .sync = cpu_sync,
  .upload_const = cpu_upload_const, .release_const = cpu_release_const,
  .step_begin = cpu_step_begin, .step_end = cpu_step_end, .configure = cpu_configure, .check = cpu_check,
  .gemm = cpu_gemm, .axpy = cpu_axpy, .scale = cpu_scale,
  .bias_fwd = cpu_bias_fwd, .bias_bwd = cpu_bias_bwd,
  .act_fwd = cpu_act_fwd, .act_bwd = cpu_act_bwd,
  .norm_fwd_train = cpu_norm_fwd_train, .norm_fwd_eval = cpu_norm_fwd_eval, .norm_bwd = cpu_norm_bwd,
    .norm_sums = gf__cpu_norm_sums, .norm_fwd_sync = gf__cpu_norm_fwd_sync, .norm_bwd_sums = gf__cpu_norm_bwd_sums,
    .norm_bwd_sync = gf__cpu_norm_bwd_sync,
  .maxout_fwd = cpu_maxout_fwd, .maxout_bwd = cpu_maxout_bwd,
  .dropout_fwd = cpu_dropout_fwd, .mul_bwd = cpu_mul_bwd,
  .gan_loss = cpu_gan_loss, .l1_loss = cpu_l1_loss, .mse_loss = cpu_mse_loss, .xent_loss = cpu_xent_loss,
  .dot = gf__cpu_dot, .scalar_op = gf__cpu_scalar_op, .lerp_rows = gf__cpu_lerp_rows,
  .grad_penalty = gf__cpu_grad_penalty, .maxout_take = gf__cpu_maxout_take, .act_curv = gf__cpu_act_curv,
  .adam = cpu_adam, .sgd = cpu_sgd, .rmsprop = gf__cpu_rmsprop, .clamp = gf__cpu_clamp,
  .im2col = gf__cpu_im2col, .col2im = gf__cpu_col2im, .swap01 = gf__cpu_swap01,
  .wino_fwd = gf__cpu_wino_fwd, .wino_dw = gf__cpu_wino_dw,
  .pwino_fwd = gf__cpu_pwino_fwd, .pwino_bwd_data = gf__cpu_pwino_bwd_data, .pwino_dw = gf__cpu_pwino_dw,
  .direct_fwd = gf__cpu_conv_direct_fwd, .direct_bwd_data = gf__cpu_conv_direct_bwd_data,
  .direct_bwd_w = gf__cpu_conv_direct_bwd_w,
  .dw_fwd = gf__cpu_dw_fwd, .dw_bwd_data = gf__cpu_dw_bwd_data, .dw_bwd_w = gf__cpu_dw_bwd_w,
  .ka_coef = gf__cpu_ka_coef,
#ifdef GF_HAVE_DNNL
  .conv_lib = gf__cpu_conv_lib, .conv_lib_name = GF_DNNL_NAME,
#endif
  .reflect_pad_fwd = gf__cpu_reflect_pad_fwd, .reflect_pad_bwd = gf__cpu_reflect_pad_bwd,
  .onehot_cat_fwd = gf__cpu_onehot_cat_fwd, .onehot_cat_bwd = gf__cpu_onehot_cat_bwd,
  .cond_affine_fwd = gf__cpu_cond_affine_fwd, .cond_affine_bwd = gf__cpu_cond_affine_bwd,
  .proj_fwd = gf__cpu_proj_fwd, .proj_bwd = gf__cpu_proj_bwd, .copy2d = gf__cpu_copy2d,
  .diffaug_fwd = gf__cpu_diffaug_fwd, .diffaug_bwd = gf__cpu_diffaug_bwd,
  .count_nonfinite = cpu_count_nonfinite, .gather = cpu_gather, .rand_normal = cpu_rand_normal, .rand_uniform = cpu_rand_uniform,
};

const gf__ops *gf__ops_cpu(void) { return &cpu_ops; }
