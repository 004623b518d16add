/* ref_ops.c: a double-precision reference of every gf__ops op, written naively from the contract
   in src/core/ops.h (not from src/cpu): inputs are read as double, every sum is taken in double,
   each output element is rounded to float once. Host memory; slow on purpose (plain loops). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ganforge/error.h"
#include "kit.h"

/* ---- random streams: Philox4x32-10 (Salmon et al. 2011) and SplitMix64 (Steele et al. 2014) ---- */

static uint32_t mulhi32(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }

void gf_kit_philox(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]) {
  /* counter words x0..x3 = ctr_lo (low, high), ctr_hi (low, high); key words k0, k1 = key (low, high) */
  uint32_t x[4] = {(uint32_t)ctr_lo, (uint32_t)(ctr_lo >> 32), (uint32_t)ctr_hi, (uint32_t)(ctr_hi >> 32)};
  uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
  for (int round = 0; round < 10; round++) {
    if (round) {
      k[0] += 0x9E3779B9u; /* golden ratio */
      k[1] += 0xBB67AE85u; /* sqrt(3) - 1 */
    }
    const uint32_t a = 0xD2511F53u, b = 0xCD9E8D57u;
    uint32_t y0 = mulhi32(b, x[2]) ^ x[1] ^ k[0], y1 = b * x[2];
    uint32_t y2 = mulhi32(a, x[0]) ^ x[3] ^ k[1], y3 = a * x[0];
    x[0] = y0; x[1] = y1; x[2] = y2; x[3] = y3;
  }
  memcpy(out, x, sizeof x);
}

uint64_t gf_kit_splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int gf_kit_rng_selftest(void) {
  /* Random123's kat_vectors for philox4x32 10 (counter words, key words -> output words) and the
     first SplitMix64 output from state 0. */
  static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
     0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
     0x24126ea1}};
  for (int i = 0; i < 3; i++) {
    const uint32_t *v = kat[i];
    uint32_t o[4];
    gf_kit_philox(((uint64_t)v[5] << 32) | v[4], ((uint64_t)v[3] << 32) | v[2], ((uint64_t)v[1] << 32) | v[0], o);
    if (o[0] != v[6] || o[1] != v[7] || o[2] != v[8] || o[3] != v[9]) return -1;
  }
  return gf_kit_splitmix(0) == 0xe220a8397b1dcdafull ? 0 : -1;
}

/* The documented mapping of the streams (src/core/rng.h): a 32-bit word to [0, 1) by its top 24
   bits; the key of stream (seed, stream) = splitmix(seed ^ splitmix(stream)). */
static double unit24(uint32_t u) { return (double)(u >> 8) / 16777216.0; }

/* ---- memory ---- */

static void *r_alloc(size_t bytes) { return calloc(1, bytes ? bytes : 1); }
static void r_free(void *p) { free(p); }
static void r_memcpy(void *dst, const void *src, size_t bytes) { if (bytes) memmove(dst, src, bytes); }
static void r_copy(float *dst, const float *src, size_t n) { if (n) memmove(dst, src, n * sizeof(float)); }
static void r_fill(float *x, float v, size_t n) { for (size_t i = 0; i < n; i++) x[i] = v; }
static void r_sync(void) {}

/* ---- linear algebra ---- */

static void r_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                   float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int k = 0; k < K; k++) {
        double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        s += a * b;
      }
      double c = beta == 0.0f ? 0.0 : (double)beta * C[(size_t)i * ldc + j]; /* beta 0: C is not read */
      C[(size_t)i * ldc + j] = (float)(alpha * s + c);
    }
}

static void r_axpy(float *y, float a, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = (float)((double)y[i] + (double)a * x[i]);
}
static void r_scale(float *x, float a, size_t n) { for (size_t i = 0; i < n; i++) x[i] = (float)((double)x[i] * a); }

static void r_bias_fwd(float *y, const float *b, int N, int C, int S) {
  for (size_t i = 0; i < (size_t)N * C * S; i++) y[i] = (float)((double)y[i] + b[i / S % C]);
}

static void r_bias_bwd(float *db, const float *dy, int N, int C, int S) {
  for (int c = 0; c < C; c++) {
    double s = db[c];
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) s += dy[((size_t)n * C + c) * S + k];
    db[c] = (float)s;
  }
}

/* ---- activations ---- */

static double act(gf__act kind, double x, double alpha) {
  switch (kind) {
  case GF_ACT_RELU: return x > 0 ? x : 0;
  case GF_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
  case GF_ACT_TANH: return tanh(x);
  case GF_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
  }
  return 0;
}

static void r_act_fwd(gf__act kind, float *y, const float *x, size_t n, float alpha) {
  for (size_t i = 0; i < n; i++) y[i] = (float)act(kind, x[i], alpha); /* y may alias x */
}

/* f'(x) from x (ReLU family: 0 at x = 0) or from the saved output y (tanh, sigmoid) */
static void r_act_bwd(gf__act kind, float *dx, const float *x, const float *y, const float *dy, size_t n,
                      float alpha) {
  for (size_t i = 0; i < n; i++) {
    double d = 0, yi = y[i];
    switch (kind) {
    case GF_ACT_RELU: d = x[i] > 0 ? 1 : 0; break;
    case GF_ACT_LEAKY_RELU: d = x[i] > 0 ? 1 : alpha; break;
    case GF_ACT_TANH: d = 1 - yi * yi; break;
    case GF_ACT_SIGMOID: d = yi * (1 - yi); break;
    }
    dx[i] = (float)((double)dx[i] + (double)dy[i] * d);
  }
}

/* ---- normalisation over (N, C, S), statistics per channel over N*S ---- */

static double chan_mean(const float *x, int N, int C, int S, int c) {
  double s = 0;
  for (int n = 0; n < N; n++)
    for (int k = 0; k < S; k++) s += x[((size_t)n * C + c) * S + k];
  return s / ((double)N * S);
}

static double chan_ssd(const float *x, int N, int C, int S, int c, double mu) {
  double s = 0;
  for (int n = 0; n < N; n++)
    for (int k = 0; k < S; k++) {
      double d = x[((size_t)n * C + c) * S + k] - mu;
      s += d * d;
    }
  return s;
}

static void r_norm_fwd_train(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                             float *run_mean, float *run_var, int N, int C, int S, float eps, float momentum) {
  const double M = (double)N * S;
  for (int c = 0; c < C; c++) {
    double mu = chan_mean(x, N, C, S, c), ssd = chan_ssd(x, N, C, S, c, mu), var = ssd / M;
    double rs = 1.0 / sqrt(var + eps), g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    mean[c] = (float)mu;
    rstd[c] = (float)rs;
    if (run_mean) {
      double unbiased = M > 1 ? ssd / (M - 1) : var;
      run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + (double)momentum * mu);
      run_var[c] = (float)((1.0 - momentum) * run_var[c] + (double)momentum * unbiased);
    }
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        size_t i = ((size_t)n * C + c) * S + k;
        y[i] = (float)((x[i] - mu) * rs * g + b);
      }
  }
}

static void r_norm_fwd_eval(float *y, const float *x, const float *gamma, const float *beta, const float *run_mean,
                            const float *run_var, int N, int C, int S, float eps) {
  for (size_t i = 0; i < (size_t)N * C * S; i++) {
    int c = (int)(i / S % C);
    double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    y[i] = (float)(((double)x[i] - run_mean[c]) / sqrt((double)run_var[c] + eps) * g + b);
  }
}

/* With xh = (x - mean) rstd: dgamma += sum dy xh, dbeta += sum dy,
   dx += gamma rstd (dy - mean(dy) - xh mean(dy xh)). */
static void r_norm_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                       const float *rstd, const float *gamma, int N, int C, int S) {
  const double M = (double)N * S;
  for (int c = 0; c < C; c++) {
    double sdy = 0, sdyx = 0, mu = mean[c], rs = rstd[c];
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        size_t i = ((size_t)n * C + c) * S + k;
        sdy += dy[i];
        sdyx += dy[i] * ((x[i] - mu) * rs);
      }
    if (dgamma) dgamma[c] = (float)((double)dgamma[c] + sdyx);
    if (dbeta) dbeta[c] = (float)((double)dbeta[c] + sdy);
    if (!dx) continue;
    double g = (gamma ? gamma[c] : 1.0) * rs;
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        size_t i = ((size_t)n * C + c) * S + k;
        double xh = (x[i] - mu) * rs;
        dx[i] = (float)((double)dx[i] + g * (dy[i] - sdy / M - xh * sdyx / M));
      }
  }
}

/* BatchNorm over the ranks of a data-parallel job (train.sync_bn): the per-channel sums one rank
   contributes, and the passes over the sums of all ranks (count values per channel). */
static void r_norm_sums(float *sums, const float *x, const float *mean, int N, int C, int S) {
  for (int c = 0; c < C; c++) {
    double s = 0, mu = mean ? mean[c] : 0.0;
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        double v = x[((size_t)n * C + c) * S + k];
        s += mean ? (v - mu) * (v - mu) : v;
      }
    sums[c] = (float)s;
  }
}

/* on entry mean = the global mean, rstd = the global sum of squared deviations */
static void r_norm_fwd_sync(float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
                            float *run_mean, float *run_var, int N, int C, int S, double count, float eps,
                            float momentum) {
  for (int c = 0; c < C; c++) {
    double mu = mean[c], ssd = rstd[c], var = ssd / count, rs = 1.0 / sqrt(var + eps);
    double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    rstd[c] = (float)rs;
    if (run_mean) {
      double unbiased = count > 1 ? ssd / (count - 1) : var;
      run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + (double)momentum * mu);
      run_var[c] = (float)((1.0 - momentum) * run_var[c] + (double)momentum * unbiased);
    }
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        size_t i = ((size_t)n * C + c) * S + k;
        y[i] = (float)((x[i] - mu) * rs * g + b);
      }
  }
}

/* sums[c] = sum dy, sums[C + c] = sum dy (x - mean) rstd */
static void r_norm_bwd_sums(float *sums, const float *dy, const float *x, const float *mean, const float *rstd, int N,
                            int C, int S) {
  for (int c = 0; c < C; c++) {
    double sdy = 0, sdyx = 0, mu = mean[c], rs = rstd[c];
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        size_t i = ((size_t)n * C + c) * S + k;
        sdy += dy[i];
        sdyx += dy[i] * ((x[i] - mu) * rs);
      }
    sums[c] = (float)sdy;
    sums[C + c] = (float)sdyx;
  }
}

/* dx += gamma rstd (dy - sums[c] / count - xhat sums[C + c] / count) */
static void r_norm_bwd_sync(float *dx, const float *dy, const float *x, const float *mean, const float *rstd,
                            const float *gamma, const float *sums, double count, int N, int C, int S) {
  for (size_t i = 0; i < (size_t)N * C * S; i++) {
    int c = (int)(i / S % C);
    double rs = rstd[c], g = (gamma ? gamma[c] : 1.0) * rs, xh = (x[i] - (double)mean[c]) * rs;
    dx[i] = (float)((double)dx[i] + g * (dy[i] - sums[c] / count - xh * sums[C + c] / count));
  }
}

/* ---- maxout, dropout ---- */

static void r_maxout_fwd(float *y, float *argmax, const float *x, int N, int units, int k) {
  for (size_t u = 0; u < (size_t)N * units; u++) {
    int best = 0; /* the first of equal maxima */
    for (int j = 1; j < k; j++)
      if (x[u * k + j] > x[u * k + best]) best = j;
    y[u] = x[u * k + best];
    argmax[u] = (float)best;
  }
}

static void r_maxout_bwd(float *dx, const float *dy, const float *argmax, int N, int units, int k) {
  for (size_t u = 0; u < (size_t)N * units; u++) {
    size_t i = u * k + (size_t)argmax[u];
    dx[i] = (float)((double)dx[i] + dy[u]);
  }
}

static void r_dropout_fwd(float *y, float *mask, const float *x, size_t n, float p, uint64_t key, uint64_t stream,
                          uint64_t counter) {
  const double keep = 1.0 / (1.0 - (double)p);
  for (size_t i = 0; i < n; i++) {
    uint32_t u[4];
    gf_kit_philox(key, stream, counter + i / 4, u);
    mask[i] = unit24(u[i % 4]) >= (double)p ? (float)(1.0f / (1.0f - p)) : 0.0f;
    (void)keep;
    y[i] = (float)((double)x[i] * mask[i]);
  }
}

static void r_mul_bwd(float *dx, const float *dy, const float *mask, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = (float)((double)dx[i] + (double)dy[i] * mask[i]);
}

/* ---- losses ---- */

static double log1pexp(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); } /* log(1 + e^v) */
static double sigm(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

#define STAT_PUT(s, i, v) ((s)[i] = (float)((double)(s)[i] + (v))) /* statistics accumulate (+=) */

static void r_gan_loss(gf__gan_loss kind, float *stats, float *dx, const float *x, size_t n, float scale) {
  double loss = 0, prob = 0;
  for (size_t i = 0; i < n; i++) {
    double v = x[i], l = 0, g = 0, s = sigm(v);
    switch (kind) {
    /* the critic kinds report the mean critic value instead of a probability */
    case GF_LOSS_WGAN_REAL: l = -v; g = -1; s = v; break;
    case GF_LOSS_WGAN_FAKE: l = v; g = 1; s = v; break;
    case GF_LOSS_HINGE_REAL: l = v < 1 ? 1 - v : 0; g = v < 1 ? -1 : 0; s = v; break;   /* max(0, 1 - v) */
    case GF_LOSS_HINGE_FAKE: l = v > -1 ? 1 + v : 0; g = v > -1 ? 1 : 0; s = v; break; /* max(0, 1 + v) */
    case GF_LOSS_BCE_ONE: l = log1pexp(-v); g = s - 1; break;     /* -log sigmoid(v) */
    case GF_LOSS_BCE_ZERO: l = log1pexp(v); g = s; break;         /* -log(1 - sigmoid(v)) */
    case GF_LOSS_MINIMAX_G: l = -log1pexp(v); g = -s; break;      /* log(1 - sigmoid(v)) */
    case GF_LOSS_KL_G: l = -v; g = -1; break;                     /* -log(D / (1 - D)) */
    case GF_LOSS_MSE_ONE: l = (v - 1) * (v - 1); g = 2 * (v - 1); break;
    case GF_LOSS_MSE_ZERO: l = v * v; g = 2 * v; break;
    }
    loss += l;
    prob += s;
    if (dx) dx[i] = (float)((double)dx[i] + (double)scale * g / (double)n);
  }
  STAT_PUT(stats, 0, loss / (double)n);
  STAT_PUT(stats, 1, prob / (double)n);
}

static void r_l1_loss(float *loss, float *dx, const float *x, const float *t, size_t n, float scale) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)x[i] - t[i];
    s += fabs(d);
    if (dx) dx[i] = (float)((double)dx[i] + (d > 0 ? 1 : d < 0 ? -1 : 0) * (double)scale / (double)n);
  }
  STAT_PUT(loss, 0, s / (double)n);
}

static void r_mse_loss(float *loss, float *dx, const float *x, const float *t, size_t n, float scale) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)x[i] - t[i];
    s += d * d;
    if (dx) dx[i] = (float)((double)dx[i] + 2.0 * scale * d / (double)n);
  }
  STAT_PUT(loss, 0, s / (double)n);
}

static void r_xent_loss(float *stats, float *dx, float *prob, const float *x, const float *y, int N, int C,
                        float scale) {
  double loss = 0, correct = 0;
  for (int i = 0; i < N; i++) {
    const float *xi = x + (size_t)i * C;
    int t = (int)y[i], best = 0;
    for (int c = 1; c < C; c++)
      if (xi[c] > xi[best]) best = c;
    double mx = xi[best], z = 0;
    for (int c = 0; c < C; c++) z += exp(xi[c] - mx);
    loss += log(z) - (xi[t] - mx);
    correct += best == t;
    for (int c = 0; c < C; c++) {
      double p = exp(xi[c] - mx) / z;
      if (prob) prob[(size_t)i * C + c] = (float)p;
      if (dx) dx[(size_t)i * C + c] = (float)((double)dx[(size_t)i * C + c] + (double)scale / N * (p - (c == t)));
    }
  }
  STAT_PUT(stats, 0, loss / N);
  STAT_PUT(stats, 1, correct);
}

/* ---- optimizers ---- */

/* PyTorch's Adam with L2 weight decay: g' = g + wd p; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
   p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps). */
static void r_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                   float bc1, float bc2, float wd) {
  for (size_t i = 0; i < n; i++) {
    double gi = (double)g[i] + (double)wd * p[i];
    double mi = (double)b1 * m[i] + (1.0 - b1) * gi, vi = (double)b2 * v[i] + (1.0 - b2) * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] - (double)lr / bc1 * mi / (sqrt(vi) / sqrt((double)bc2) + eps));
  }
}

/* classical momentum: v = mom v - lr (g + wd p); p += v */
static void r_sgd(float *p, const float *g, float *v, size_t n, float lr, float mom, float wd) {
  for (size_t i = 0; i < n; i++) {
    double vi = (double)mom * v[i] - (double)lr * ((double)g[i] + (double)wd * p[i]);
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] + vi);
  }
}

/* RMSprop as PyTorch's: g' = g + wd p; v = alpha v + (1 - alpha) g'^2; p -= lr g' / (sqrt(v) + eps) */
static void r_rmsprop(float *p, const float *g, float *v, size_t n, float lr, float alpha, float eps, float wd) {
  for (size_t i = 0; i < n; i++) {
    double gi = (double)g[i] + (double)wd * p[i];
    double vi = (double)alpha * v[i] + (1.0 - alpha) * gi * gi;
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] - (double)lr * gi / (sqrt(vi) + eps));
  }
}

static void r_clamp(float *x, float lo, float hi, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

/* ---- critic ops: device scalars, interpolates, gradient penalties, second-order terms ---- */

static void r_dot(float *out, const float *x, const float *y, size_t n, float scale) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * (y ? (double)y[i] : 1.0);
  out[0] = (float)((double)scale * s);
}

static void r_scalar_op(gf__sop kind, float *y, const float *x, const float *s, float a, size_t n) {
  double sv = s[0];
  for (size_t i = 0; i < n; i++) {
    double v = x[i], r = v;
    switch (kind) {
    case GF_SOP_ADD: r = v + (double)a * sv; break;
    case GF_SOP_MUL: r = v * sv; break;
    case GF_SOP_DIV: r = v / sv; break;
    case GF_SOP_RNORM: r = v / fmax(sqrt(sv), (double)a); break;
    }
    y[i] = (float)r; /* y may alias x */
  }
}

static void r_lerp_rows(float *y, const float *a, const float *b, const float *t, int N, size_t D) {
  for (int r = 0; r < N; r++)
    for (size_t j = 0; j < D; j++) {
      size_t k = (size_t)r * D + j;
      y[k] = (float)((double)b[k] + (double)t[r] * ((double)a[k] - b[k]));
    }
}

/* GP: P = (w / N) sum_r (|g_r| - 1)^2, dP/dg_r = 2 w / N (|g_r| - 1) g_r / |g_r| (0 at |g_r| = 0);
   R1: P = (w / 2N) sum_r |g_r|^2, dP/dg_r = w / N g_r */
static void r_grad_penalty(gf__penalty kind, float *stats, float *v, const float *g, int N, size_t D, float w) {
  double pen = 0, norms = 0;
  for (int r = 0; r < N; r++) {
    const float *gr = g + (size_t)r * D;
    double sq = 0;
    for (size_t j = 0; j < D; j++) sq += (double)gr[j] * gr[j];
    double nrm = sqrt(sq), c;
    if (kind == GF_PEN_GP) {
      pen += (double)w / N * (nrm - 1) * (nrm - 1);
      c = nrm > 0 ? 2.0 * w / N * (nrm - 1) / nrm : 0;
    } else {
      pen += 0.5 * w / N * sq;
      c = (double)w / N;
    }
    norms += nrm;
    for (size_t j = 0; j < D; j++) v[(size_t)r * D + j] = (float)(c * gr[j]);
  }
  STAT_PUT(stats, 0, pen);
  STAT_PUT(stats, 1, norms / N);
}

static void r_maxout_take(float *y, const float *x, const float *argmax, int N, int units, int k) {
  for (size_t i = 0; i < (size_t)N * units; i++) y[i] = x[i * k + (size_t)argmax[i]];
}

/* f''(x) from the output y: tanh'' = -2 y (1 - y^2), sigmoid'' = y (1 - y) (1 - 2y); 0 for the ReLU family */
static void r_act_curv(gf__act kind, float *rdx, const float *y, const float *dy, const float *rx, size_t n,
                       float alpha) {
  (void)alpha;
  for (size_t i = 0; i < n; i++) {
    double yi = y[i], d2 = 0;
    if (kind == GF_ACT_TANH) d2 = -2 * yi * (1 - yi * yi);
    else if (kind == GF_ACT_SIGMOID) d2 = yi * (1 - yi) * (1 - 2 * yi);
    else continue;
    rdx[i] = (float)((double)rdx[i] + d2 * rx[i] * dy[i]);
  }
}

/* ---- convolution helpers ---- */

static void r_im2col(float *col, const float *x, int N, const gf__conv_geom *g) {
  const int r0 = g->rn ? g->r0 : 0, RN = g->rn ? g->rn : g->OH;
  const size_t P = (size_t)RN * g->OW, ld = (size_t)N * P;
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++)
        for (int n = 0; n < N; n++)
          for (int oy = r0; oy < r0 + RN; oy++)
            for (int ox = 0; ox < g->OW; ox++) {
              int iy = oy * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
              float v = iy >= 0 && iy < g->H && ix >= 0 && ix < g->W ? x[(((size_t)n * g->C + c) * g->H + iy) * g->W + ix] : 0.0f;
              col[((size_t)(c * g->kh + i) * g->kw + j) * ld + n * P + (size_t)(oy - r0) * g->OW + ox] = v;
            }
}

static void r_col2im(float *x, const float *col, int N, const gf__conv_geom *g) {
  const int r0 = g->rn ? g->r0 : 0, RN = g->rn ? g->rn : g->OH;
  const size_t P = (size_t)RN * g->OW, ld = (size_t)N * P, plane = (size_t)g->H * g->W;
  double *acc = calloc((size_t)N * g->C * plane, sizeof(double));
  if (!acc) abort();
  for (size_t i = 0; i < (size_t)N * g->C * plane; i++) acc[i] = x[i];
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++)
        for (int n = 0; n < N; n++)
          for (int oy = r0; oy < r0 + RN; oy++)
            for (int ox = 0; ox < g->OW; ox++) {
              int iy = oy * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
              if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) continue;
              acc[((size_t)n * g->C + c) * plane + (size_t)iy * g->W + ix] +=
                col[((size_t)(c * g->kh + i) * g->kw + j) * ld + n * P + (size_t)(oy - r0) * g->OW + ox];
            }
  for (size_t i = 0; i < (size_t)N * g->C * plane; i++) x[i] = (float)acc[i];
  free(acc);
}

static void r_swap01(float *dst, const float *src, int A, int B, int S, float beta) {
  for (int a = 0; a < A; a++)
    for (int b = 0; b < B; b++)
      for (int s = 0; s < S; s++) {
        size_t d = ((size_t)b * A + a) * S + s;
        dst[d] = (float)((double)src[((size_t)a * B + b) * S + s] + (beta == 0.0f ? 0.0 : (double)beta * dst[d]));
      }
}

/* A direct convolution in double: out[N, OC, OH, OW] (beta 0: =, else beta * out +) of x [N, C, H, W]
   with weights wt(o, c, i, j) given by a stride pair (so / sc / si / sj) into w. */
typedef struct wview {
  const float *w;
  long so, sc, si, sj, base;
} wview;

static double wat(const wview *v, int o, int c, int i, int j) {
  return v->w[v->base + o * v->so + c * v->sc + i * v->si + j * v->sj];
}

static void conv_fwd(float *out, const float *x, const wview *w, int N, int OC, const gf__conv_geom *g, float beta) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++)
      for (int oy = 0; oy < g->OH; oy++)
        for (int ox = 0; ox < g->OW; ox++) {
          double s = 0;
          for (int c = 0; c < g->C; c++)
            for (int i = 0; i < g->kh; i++) {
              int iy = oy * g->sh - g->ph + i;
              if (iy < 0 || iy >= g->H) continue;
              for (int j = 0; j < g->kw; j++) {
                int ix = ox * g->sw - g->pw + j;
                if (ix < 0 || ix >= g->W) continue;
                s += x[(((size_t)n * g->C + c) * g->H + iy) * g->W + ix] * wat(w, o, c, i, j);
              }
            }
          size_t k = (((size_t)n * OC + o) * g->OH + oy) * g->OW + ox;
          out[k] = (float)(s + (beta == 0.0f ? 0.0 : (double)beta * out[k]));
        }
}

/* dx [N, C, H, W] (beta 0: =, else beta * dx +) = the input gradient of conv_fwd for dy [N, OC, OH, OW]. */
static void conv_bwd_data(float *dx, const float *dy, const wview *w, int N, int OC, const gf__conv_geom *g,
                          float beta) {
  const size_t plane = (size_t)g->H * g->W, total = (size_t)N * g->C * plane;
  double *acc = calloc(total, sizeof(double));
  if (!acc) abort();
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++)
      for (int oy = 0; oy < g->OH; oy++)
        for (int ox = 0; ox < g->OW; ox++) {
          double d = dy[(((size_t)n * OC + o) * g->OH + oy) * g->OW + ox];
          for (int c = 0; c < g->C; c++)
            for (int i = 0; i < g->kh; i++) {
              int iy = oy * g->sh - g->ph + i;
              if (iy < 0 || iy >= g->H) continue;
              for (int j = 0; j < g->kw; j++) {
                int ix = ox * g->sw - g->pw + j;
                if (ix < 0 || ix >= g->W) continue;
                acc[((size_t)n * g->C + c) * plane + (size_t)iy * g->W + ix] += d * wat(w, o, c, i, j);
              }
            }
        }
  for (size_t k = 0; k < total; k++) dx[k] = (float)(acc[k] + (beta == 0.0f ? 0.0 : (double)beta * dx[k]));
  free(acc);
}

/* dw [OC, C, kh, kw] (beta 0: =, else beta * dw +) = the weight gradient of conv_fwd. */
static void conv_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g, float beta) {
  for (int o = 0; o < OC; o++)
    for (int c = 0; c < g->C; c++)
      for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
          double s = 0;
          for (int n = 0; n < N; n++)
            for (int oy = 0; oy < g->OH; oy++) {
              int iy = oy * g->sh - g->ph + i;
              if (iy < 0 || iy >= g->H) continue;
              for (int ox = 0; ox < g->OW; ox++) {
                int ix = ox * g->sw - g->pw + j;
                if (ix < 0 || ix >= g->W) continue;
                s += (double)x[(((size_t)n * g->C + c) * g->H + iy) * g->W + ix] *
                     dy[(((size_t)n * OC + o) * g->OH + oy) * g->OW + ox];
              }
            }
          size_t k = (((size_t)o * g->C + c) * g->kh + i) * g->kw + j;
          dw[k] = (float)(s + (beta == 0.0f ? 0.0 : (double)beta * dw[k]));
        }
}

static gf__conv_geom geom(int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw) {
  gf__conv_geom g = {C, H, W, kh, kw, sh, sw, ph, pw, (H + 2 * ph - kh) / sh + 1, (W + 2 * pw - kw) / sw + 1, 0, 0};
  return g;
}

static wview plain_w(const float *w, int C, int kh, int kw) {
  wview v = {w, (long)C * kh * kw, (long)kh * kw, kw, 1, 0};
  return v;
}

/* Winograd F(4x4, 3x3) contract: a 3x3 stride-1 convolution with zero padding (ph, pw);
   flip: w is [IC, OC, 3, 3] used rotated by 180 degrees. */
static void r_wino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, int ph, int pw,
                       int flip, float beta, float *ws, int tb) {
  (void)ws, (void)tb;
  gf__conv_geom g = geom(IC, H, W, 3, 3, 1, 1, ph, pw);
  wview v = plain_w(w, IC, 3, 3);
  if (flip) { /* wt(o, c, i, j) = w[c, o, 2 - i, 2 - j] */
    v.so = 9; v.sc = (long)OC * 9; v.si = -3; v.sj = -1; v.base = 8;
  }
  conv_fwd(y, x, &v, N, OC, &g, beta);
}

static void r_wino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, int ph, int pw,
                      float *ws, int tb) {
  (void)ws, (void)tb;
  gf__conv_geom g = geom(IC, H, W, 3, 3, 1, 1, ph, pw);
  conv_bwd_w(dw, x, dy, N, OC, &g, 1.0f);
}

/* polyphase Winograd contract: 4x4 stride-2 padding-1 convolutions over even H x W */
static void r_pwino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, float beta,
                        float *ws, int tb) {
  (void)ws, (void)tb;
  gf__conv_geom g = geom(IC, H, W, 4, 4, 2, 2, 1, 1);
  wview v = plain_w(w, IC, 4, 4);
  conv_fwd(y, x, &v, N, OC, &g, beta);
}

static void r_pwino_bwd_data(float *dx, const float *dy, const float *w, int N, int IC, int H, int W, int OC,
                             float beta, float *ws, int tb) {
  (void)ws, (void)tb;
  gf__conv_geom g = geom(IC, H, W, 4, 4, 2, 2, 1, 1);
  wview v = plain_w(w, IC, 4, 4);
  conv_bwd_data(dx, dy, &v, N, OC, &g, beta);
}

static void r_pwino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, float *ws,
                       int tb) {
  (void)ws, (void)tb;
  gf__conv_geom g = geom(IC, H, W, 4, 4, 2, 2, 1, 1);
  conv_bwd_w(dw, x, dy, N, OC, &g, 1.0f);
}

/* direct stride-1 convolutions: forward written, the two gradients accumulated */
static void r_direct_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g) {
  wview v = plain_w(w, g->C, g->kh, g->kw);
  conv_fwd(y, x, &v, N, OC, g, 0.0f);
}

static void r_direct_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g) {
  wview v = plain_w(w, g->C, g->kh, g->kw);
  conv_bwd_data(dx, dy, &v, N, OC, g, 1.0f);
}

static void r_direct_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g) {
  conv_bwd_w(dw, x, dy, N, OC, g, 1.0f);
}

/* depth-wise convolutions (groups = C, OC = m C, output channel o reads input channel o / m):
   forward written, the two gradients accumulated, in double */
static double dw_tap(const float *x, const gf__conv_geom *g, int n, int c, int oy, int ox, int i, int j) {
  int iy = oy * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
  if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) return 0.0;
  return x[(((size_t)n * g->C + c) * g->H + iy) * g->W + ix];
}

static void r_dw_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g) {
  const int m = OC / g->C;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++)
      for (int oy = 0; oy < g->OH; oy++)
        for (int ox = 0; ox < g->OW; ox++) {
          double s = 0;
          for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) s += w[((size_t)o * g->kh + i) * g->kw + j] * dw_tap(x, g, n, o / m, oy, ox, i, j);
          y[(((size_t)n * OC + o) * g->OH + oy) * g->OW + ox] = (float)s;
        }
}

static void r_dw_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g) {
  const int m = OC / g->C;
  const size_t total = (size_t)N * g->C * g->H * g->W;
  double *acc = calloc(total, sizeof(double));
  if (!acc) abort();
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++)
      for (int oy = 0; oy < g->OH; oy++)
        for (int ox = 0; ox < g->OW; ox++) {
          const double d = dy[(((size_t)n * OC + o) * g->OH + oy) * g->OW + ox];
          for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
              int iy = oy * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
              if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) continue;
              acc[(((size_t)n * g->C + o / m) * g->H + iy) * g->W + ix] += d * w[((size_t)o * g->kh + i) * g->kw + j];
            }
        }
  for (size_t k = 0; k < total; k++) dx[k] = (float)(acc[k] + (double)dx[k]);
  free(acc);
}

static void r_dw_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g) {
  const int m = OC / g->C;
  for (int o = 0; o < OC; o++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) {
        double s = 0;
        for (int n = 0; n < N; n++)
          for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++)
              s += dy[(((size_t)n * OC + o) * g->OH + oy) * g->OW + ox] * dw_tap(x, g, n, o / m, oy, ox, i, j);
        size_t k = ((size_t)o * g->kh + i) * g->kw + j;
        dw[k] = (float)(s + (double)dw[k]);
      }
}

/* kernel alignment of two Gram matrices, in double */
static void r_ka_coef(float *stats, float *coef, const float *gx, const float *gy, int B, float scale) {
  const size_t BB = (size_t)B * B;
  double xy = 0, xx = 0, yy = 0;
  for (size_t k = 0; k < BB; k++) {
    xy += (double)gx[k] * gy[k];
    xx += (double)gx[k] * gx[k];
    yy += (double)gy[k] * gy[k];
  }
  const int ok = xx > 0 && yy > 0;
  const double nx = sqrt(xx), ny = sqrt(yy), ka = ok ? xy / (nx * ny) : 0.0;
  stats[0] = (float)((double)stats[0] + ka);
  for (size_t k = 0; k < BB; k++) coef[k] = ok ? (float)(2.0 * scale * (gy[k] / (nx * ny) - ka * gx[k] / xx)) : 0.0f;
}

static int r_conv_lib(int pass, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                      float beta) {
  if (g->rn && g->rn != g->OH) return -1; /* bands are the caller's lowering */
  wview v = plain_w(in1, g->C, g->kh, g->kw);
  switch (pass) {
  case GF_CONV_FWD: conv_fwd(out, in0, &v, N, OC, g, beta); return 0;
  case GF_CONV_BWD_DATA: conv_bwd_data(out, in0, &v, N, OC, g, beta); return 0;
  case GF_CONV_BWD_W: conv_bwd_w(out, in0, in1, N, OC, g, beta); return 0;
  }
  return -1;
}

/* ---- reflection padding ---- */

static int reflect(int p, int n) { return p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p; }

static void r_reflect_pad_fwd(float *y, const float *x, int NC, int H, int W, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  for (int p = 0; p < NC; p++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        y[((size_t)p * OH + oy) * OW + ox] = x[((size_t)p * H + reflect(oy - t, H)) * W + reflect(ox - l, W)];
}

static void r_reflect_pad_bwd(float *dx, const float *dy, int NC, int H, int W, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  double *acc = calloc((size_t)H * W, sizeof(double));
  if (!acc) abort();
  for (int p = 0; p < NC; p++) {
    for (int k = 0; k < H * W; k++) acc[k] = dx[(size_t)p * H * W + k];
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        acc[reflect(oy - t, H) * W + reflect(ox - l, W)] += dy[((size_t)p * OH + oy) * OW + ox];
    for (int k = 0; k < H * W; k++) dx[(size_t)p * H * W + k] = (float)acc[k];
  }
  free(acc);
}

/* ---- conditional GANs ---- */

/* Row n's class: its label (a class index stored as a float), clamped into [0, K). */
static int r_class(const float *labels, int n, int K) {
  double v = labels[n];
  return v < 0 ? 0 : v >= K ? K - 1 : (int)floor(v);
}

static void r_onehot_cat_fwd(float *y, const float *x, const float *labels, int N, int C, int S, int K) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C + K; c++)
      for (int s = 0; s < S; s++)
        y[((size_t)n * (C + K) + c) * S + s] = c < C ? x[((size_t)n * C + c) * S + s] : c - C == r_class(labels, n, K);
}

static void r_onehot_cat_bwd(float *dx, const float *dy, int N, int C, int S, int K) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (int s = 0; s < S; s++) {
        size_t i = ((size_t)n * C + c) * S + s;
        dx[i] = (float)((double)dx[i] + dy[((size_t)n * (C + K) + c) * S + s]);
      }
}

static void r_cond_affine_fwd(float *y, const float *x, const float *gamma, const float *beta, const float *labels,
                              int N, int C, int S, int K) {
  for (int n = 0; n < N; n++) {
    int k = r_class(labels, n, K);
    for (int c = 0; c < C; c++)
      for (int s = 0; s < S; s++) {
        size_t i = ((size_t)n * C + c) * S + s;
        y[i] = (float)((double)x[i] * gamma[(size_t)k * C + c] + beta[(size_t)k * C + c]);
      }
  }
}

static void r_cond_affine_bwd(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                              const float *gamma, const float *labels, int N, int C, int S, int K) {
  double *sg = calloc((size_t)K * C, sizeof(double)), *sb = calloc((size_t)K * C, sizeof(double));
  if (!sg || !sb) abort();
  for (int n = 0; n < N; n++) {
    int k = r_class(labels, n, K);
    for (int c = 0; c < C; c++)
      for (int s = 0; s < S; s++) {
        size_t i = ((size_t)n * C + c) * S + s;
        if (dx) dx[i] = (float)((double)dx[i] + (double)dy[i] * gamma[(size_t)k * C + c]);
        sg[(size_t)k * C + c] += (double)dy[i] * x[i];
        sb[(size_t)k * C + c] += dy[i];
      }
  }
  for (size_t t = 0; t < (size_t)K * C; t++) {
    if (dgamma) dgamma[t] = (float)((double)dgamma[t] + sg[t]);
    if (dbeta) dbeta[t] = (float)((double)dbeta[t] + sb[t]);
  }
  free(sg);
  free(sb);
}

static void r_proj_fwd(float *out, const float *h, const float *table, const float *labels, int N, int F, int K) {
  for (int n = 0; n < N; n++) {
    const float *e = table + (size_t)r_class(labels, n, K) * F;
    double acc = out[n];
    for (int f = 0; f < F; f++) acc += (double)h[(size_t)n * F + f] * e[f];
    out[n] = (float)acc;
  }
}

static void r_proj_bwd(float *dh, float *dtable, const float *dout, const float *h, const float *table,
                       const float *labels, int N, int F, int K) {
  double *acc = calloc((size_t)K * F, sizeof(double));
  if (!acc) abort();
  for (int n = 0; n < N; n++) {
    size_t k = (size_t)r_class(labels, n, K);
    for (int f = 0; f < F; f++) {
      size_t i = (size_t)n * F + f;
      if (dh) dh[i] = (float)((double)dh[i] + (double)dout[n] * table[k * F + f]);
      acc[k * F + f] += (double)dout[n] * h[i];
    }
  }
  if (dtable)
    for (size_t t = 0; t < (size_t)K * F; t++) dtable[t] = (float)((double)dtable[t] + acc[t]);
  free(acc);
}

static void r_copy2d(float *dst, int ldd, const float *src, int lds, int rows, int cols) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[(size_t)r * ldd + c] = src[(size_t)r * lds + c];
}

/* ---- DiffAugment, from ops.h's description (Zhao et al. 2020): colour (brightness x + u0 - 1/2,
   saturation (x - channel mean) 2 u1 + channel mean, contrast (x - image mean) (u2 + 1/2) +
   image mean), then translation by floor(u * (2 s + 1)) - s, s = round(side / 8), with zero fill,
   then cutout of a round(side / 2) square at floor(u * (side + 1 - cut % 2)) - cut / 2. ---- */

typedef struct r_aug {
  double b, fs, fc;
  int tx, ty, r0, r1, c0, c1;
} r_aug;

static int r_pick(double u, int n) {
  int k = (int)floor(u * n);
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

static r_aug r_aug_of(const float *p, int H, int W, int flags) {
  r_aug a = {(double)p[0] - 0.5, 2.0 * p[1], (double)p[2] + 0.5, 0, 0, 0, 0, 0, 0};
  if (flags & GF_DIFFAUG_TRANSLATION) {
    int sh = (int)floor(H / 8.0 + 0.5), sw = (int)floor(W / 8.0 + 0.5);
    a.tx = r_pick(p[3], 2 * sh + 1) - sh;
    a.ty = r_pick(p[4], 2 * sw + 1) - sw;
  }
  if (flags & GF_DIFFAUG_CUTOUT) {
    int ch = (int)floor(H / 2.0 + 0.5), cw = (int)floor(W / 2.0 + 0.5);
    a.r0 = r_pick(p[5], H + 1 - ch % 2) - ch / 2;
    a.c0 = r_pick(p[6], W + 1 - cw % 2) - cw / 2;
    a.r1 = a.r0 + ch;
    a.c1 = a.c0 + cw;
  }
  return a;
}

/* Where output pixel (i, j) reads from: 1 and (si, sj) inside the image and not cut, else 0. */
static int r_src(const r_aug *a, int H, int W, int i, int j, int *si, int *sj) {
  if (i >= a->r0 && i < a->r1 && j >= a->c0 && j < a->c1) return 0;
  *si = i + a->tx;
  *sj = j + a->ty;
  return *si >= 0 && *si < H && *sj >= 0 && *sj < W;
}

static void r_diffaug_fwd(float *y, float *mean, const float *x, const float *params, int N, int C, int H, int W,
                          int flags) {
  (void)mean;
  size_t HW = (size_t)H * W, per = (size_t)C * HW;
  double *v = malloc(sizeof(double) * per);
  if (!v) abort();
  for (int n = 0; n < N; n++) {
    const float *xn = x + n * per;
    r_aug a = r_aug_of(params + (size_t)n * GF_DIFFAUG_NPARAM, H, W, flags);
    for (size_t i = 0; i < per; i++) v[i] = xn[i];
    if (flags & GF_DIFFAUG_COLOR) {
      for (size_t i = 0; i < per; i++) v[i] += a.b;
      for (size_t q = 0; q < HW; q++) {
        double m = 0;
        for (int c = 0; c < C; c++) m += v[c * HW + q];
        m /= C;
        for (int c = 0; c < C; c++) v[c * HW + q] = (v[c * HW + q] - m) * a.fs + m;
      }
      double m = 0;
      for (size_t i = 0; i < per; i++) m += v[i];
      m /= (double)per;
      for (size_t i = 0; i < per; i++) v[i] = (v[i] - m) * a.fc + m;
    }
    for (int c = 0; c < C; c++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
          int si, sj;
          int in = r_src(&a, H, W, i, j, &si, &sj);
          y[n * per + c * HW + (size_t)i * W + j] = in ? (float)v[c * HW + (size_t)si * W + sj] : 0.0f;
        }
  }
  free(v);
}

/* The transpose: the gradient of each stage, last to first (cutout and translation route dy back
   to the pixels read; contrast and saturation are x -> f x + (1 - f) mean(x) over the image / the
   channels, their own transposes; brightness passes it through). */
static void r_diffaug_bwd(float *dx, float *gsum, const float *dy, const float *params, int N, int C, int H, int W,
                          int flags) {
  (void)gsum;
  size_t HW = (size_t)H * W, per = (size_t)C * HW;
  double *g = malloc(sizeof(double) * per);
  if (!g) abort();
  for (int n = 0; n < N; n++) {
    r_aug a = r_aug_of(params + (size_t)n * GF_DIFFAUG_NPARAM, H, W, flags);
    for (size_t i = 0; i < per; i++) g[i] = 0;
    for (int c = 0; c < C; c++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
          int si, sj;
          if (r_src(&a, H, W, i, j, &si, &sj))
            g[c * HW + (size_t)si * W + sj] += dy[n * per + c * HW + (size_t)i * W + j];
        }
    if (flags & GF_DIFFAUG_COLOR) {
      double m = 0;
      for (size_t i = 0; i < per; i++) m += g[i];
      m /= (double)per;
      for (size_t i = 0; i < per; i++) g[i] = a.fc * g[i] + (1 - a.fc) * m;
      for (size_t q = 0; q < HW; q++) {
        double mc = 0;
        for (int c = 0; c < C; c++) mc += g[c * HW + q];
        mc /= C;
        for (int c = 0; c < C; c++) g[c * HW + q] = a.fs * g[c * HW + q] + (1 - a.fs) * mc;
      }
    }
    for (size_t i = 0; i < per; i++) dx[n * per + i] = (float)((double)dx[n * per + i] + g[i]);
  }
  free(g);
}

/* ---- misc ---- */

static void r_count_nonfinite(float *count, const float *x, size_t n) {
  double k = 0;
  for (size_t i = 0; i < n; i++) k += !isfinite(x[i]);
  count[0] = (float)((double)count[0] + k);
}

/* Box-Muller on the words (a, b) of a block: u1 = (a + 1) / 2^32 in (0, 1], u2 = b / 2^32;
   z0 = sqrt(-2 ln u1) cos(2 pi u2), z1 = ... sin(...) (src/core/rng.c's documented transform). */
static void r_rand_normal(float *x, size_t n, float mean, float std, uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t key = gf_kit_splitmix(seed ^ gf_kit_splitmix(stream));
  for (size_t i = 0; i < n; i++) {
    uint32_t u[4];
    gf_kit_philox(key, stream, counter + i / 4, u);
    int j = (int)(i % 4), pair = j / 2 * 2;
    double u1 = ((double)u[pair] + 1.0) / 4294967296.0, u2 = (double)u[pair + 1] / 4294967296.0;
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * 3.14159265358979323846 * u2;
    x[i] = (float)((double)mean + (double)std * (j % 2 ? rad * sin(th) : rad * cos(th)));
  }
}

static void r_rand_uniform(float *x, size_t n, float lo, float hi, uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t key = gf_kit_splitmix(seed ^ gf_kit_splitmix(stream));
  for (size_t i = 0; i < n; i++) {
    uint32_t u[4];
    gf_kit_philox(key, stream, counter + i / 4, u);
    x[i] = (float)((double)lo + ((double)hi - lo) * unit24(u[i % 4]));
  }
}

/* ---- constants, step brackets, settings, gather ---- */

static const void *r_upload_const(const void *host, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (p && bytes) memcpy(p, host, bytes);
  return p;
}
static void r_release_const(const void *p) { free((void *)p); }
static void r_step(void) {}
/* The reference computes in double whatever the settings; TF32 and bf16 exclude each other. */
static int r_configure(const gf__backend_opts *o) {
  if (o->tf32 && o->bf16) return gf__fail(GF_EUSAGE, "train.tf32=1 and train.precision=bf16 exclude each other");
  return 0;
}
static int r_check(void) { return 0; }
static void r_gather(float *dst, const float *src, const int32_t *idx, int n, int rows, int w) {
  for (int i = 0; i < n; i++) {
    const float *s = src + (size_t)(idx[i] & ~GF_GATHER_FLIP) * rows * w;
    float *d = dst + (size_t)i * rows * w;
    for (int r = 0; r < rows; r++)
      for (int x = 0; x < w; x++) d[(size_t)r * w + x] = s[(size_t)r * w + (idx[i] & GF_GATHER_FLIP ? w - 1 - x : x)];
  }
}

static const gf__ops ref_ops = {
  .name = "double",
  .alloc = r_alloc, .free = r_free, .to_device = r_memcpy, .to_host = r_memcpy, .copy = r_copy, .fill = r_fill,
  .sync = r_sync,
  .upload_const = r_upload_const, .release_const = r_release_const, .step_begin = r_step, .step_end = r_step,
  .configure = r_configure, .check = r_check, .gather = r_gather, .conv_lib_all = 1,
  .gemm = r_gemm, .axpy = r_axpy, .scale = r_scale, .bias_fwd = r_bias_fwd, .bias_bwd = r_bias_bwd,
  .act_fwd = r_act_fwd, .act_bwd = r_act_bwd,
  .norm_fwd_train = r_norm_fwd_train, .norm_fwd_eval = r_norm_fwd_eval, .norm_bwd = r_norm_bwd,
  .norm_sums = r_norm_sums, .norm_fwd_sync = r_norm_fwd_sync, .norm_bwd_sums = r_norm_bwd_sums,
  .norm_bwd_sync = r_norm_bwd_sync,
  .maxout_fwd = r_maxout_fwd, .maxout_bwd = r_maxout_bwd, .dropout_fwd = r_dropout_fwd, .mul_bwd = r_mul_bwd,
  .gan_loss = r_gan_loss, .l1_loss = r_l1_loss, .mse_loss = r_mse_loss, .xent_loss = r_xent_loss,
  .dot = r_dot, .scalar_op = r_scalar_op, .lerp_rows = r_lerp_rows, .grad_penalty = r_grad_penalty,
  .maxout_take = r_maxout_take, .act_curv = r_act_curv,
  .adam = r_adam, .sgd = r_sgd, .rmsprop = r_rmsprop, .clamp = r_clamp,
  .im2col = r_im2col, .col2im = r_col2im, .swap01 = r_swap01,
  .wino_fwd = r_wino_fwd, .wino_dw = r_wino_dw,
  .pwino_fwd = r_pwino_fwd, .pwino_bwd_data = r_pwino_bwd_data, .pwino_dw = r_pwino_dw,
  .direct_fwd = r_direct_fwd, .direct_bwd_data = r_direct_bwd_data, .direct_bwd_w = r_direct_bwd_w,
  .dw_fwd = r_dw_fwd, .dw_bwd_data = r_dw_bwd_data, .dw_bwd_w = r_dw_bwd_w, .ka_coef = r_ka_coef,
  .conv_lib_name = "double-precision direct convolution", .conv_lib = r_conv_lib,
  .reflect_pad_fwd = r_reflect_pad_fwd, .reflect_pad_bwd = r_reflect_pad_bwd,
  .onehot_cat_fwd = r_onehot_cat_fwd, .onehot_cat_bwd = r_onehot_cat_bwd,
  .cond_affine_fwd = r_cond_affine_fwd, .cond_affine_bwd = r_cond_affine_bwd,
  .proj_fwd = r_proj_fwd, .proj_bwd = r_proj_bwd, .copy2d = r_copy2d,
  .diffaug_fwd = r_diffaug_fwd, .diffaug_bwd = r_diffaug_bwd,
  .count_nonfinite = r_count_nonfinite, .rand_normal = r_rand_normal, .rand_uniform = r_rand_uniform,
};

const gf__ops *gf_kit_ref_ops(void) { return &ref_ops; }
