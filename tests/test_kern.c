/* test_kern.c: the CUDA kernels' bodies, run on the CPU. Every kernel of src/cuda/cuda_ops.cu is a
   loop "for element e: body(e)" over a src/kern function; here the same functions run in a host
   loop and their results are compared with the CPU backend's ops (which have loops of their own
   around the same per-element math): im2col / col2im (bands, strides, padding), the axis swap,
   reflection padding both ways, the batch gather with flips, bias and channel maps, per-channel
   sums, batch / instance normalisation forward and backward (also over the ranks: train.sync_bn), Philox normals / uniforms / dropout,
   the losses, depth-wise convolutions (as the kernels split them: per output / input element, and
   the weight gradient by one-row planes), kernel alignment. What is left to a GPU is only the launch, the block reductions and the libraries. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "data/images.h"
#include "harness.h"
#include "kern/dwconv.h"
#include "kern/kern_conv.h"
#include "kern/kern_elem.h"
#include "kern/kern_ka.h"
#include "kern/kern_loss.h"
#include "kern/kern_norm.h"
#include "kern/kern_rng.h"
#include "kern/norm_sync.h"

static const gf__ops *O;
static gf__rng R;

static float *rnd(size_t n, float lo, float hi) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  gf__rng_uniform(&R, x, (long)n, lo, hi);
  return x;
}

/* max |a - b| / (atol + rtol |b|) over n: <= 1 passes */
static double worst(const float *a, const float *b, size_t n, double rtol, double atol) {
  double w = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
    if (!(e <= w)) w = e; /* NaN counts as a failure */
  }
  return w;
}
static int same(const float *a, const float *b, size_t n) { return !memcmp(a, b, sizeof(float) * n); }

static void conv_case(int N, int C, int H, int W, int kh, int kw, int s, int p, int band) {
  gf__conv_geom g = {C, H, W, kh, kw, s, s, p, p, (H + 2 * p - kh) / s + 1, (W + 2 * p - kw) / s + 1, 0, 0};
  int r0 = 0, rn = g.OH;
  if (band && g.OH > 2) {
    r0 = 1;
    rn = g.OH - 2;
    g.r0 = r0;
    g.rn = rn;
  }
  char what[160];
  snprintf(what, sizeof what, "N%d C%d %dx%d k%dx%d s%d p%d band %d+%d", N, C, H, W, kh, kw, s, p, r0, rn);
  size_t nx = (size_t)N * C * H * W, ncol = (size_t)C * kh * kw * N * rn * g.OW;
  float *x = rnd(nx, -1, 1), *col = malloc(sizeof(float) * ncol), *emu = malloc(sizeof(float) * ncol);
  O->im2col(col, x, N, &g);
  for (size_t e = 0; e < ncol; e++) emu[e] = gf__k_im2col_elem(x, &g, N, r0, rn, e);
  CHECK(same(col, emu, ncol), "im2col %s", what);
  /* col2im accumulates into x: the CPU adds tap by tap, the kernel adds one sum per element */
  float *c2 = rnd(ncol, -1, 1), *xa = malloc(sizeof(float) * nx), *xb = malloc(sizeof(float) * nx);
  memcpy(xa, x, sizeof(float) * nx);
  memcpy(xb, x, sizeof(float) * nx);
  O->col2im(xa, c2, N, &g);
  for (size_t e = 0; e < nx; e++) xb[e] += gf__k_col2im_elem(c2, &g, N, r0, rn, e);
  double w = worst(xb, xa, nx, 1e-6, 1e-6);
  CHECK(w <= 1, "col2im %s: worst %.3g", what, w);
  free(x); free(col); free(emu); free(c2); free(xa); free(xb);
}

static void swap_case(int A, int B, int S) {
  size_t n = (size_t)A * B * S;
  float *src = rnd(n, -1, 1), *d0 = rnd(n, -1, 1), *d1 = malloc(sizeof(float) * n);
  memcpy(d1, d0, sizeof(float) * n);
  for (int acc = 0; acc < 2; acc++) {
    O->swap01(d0, src, A, B, S, (float)acc);
    for (size_t e = 0; e < n; e++) d1[e] = acc ? d1[e] + src[gf__k_swap01_src(e, A, B, S)] : src[gf__k_swap01_src(e, A, B, S)];
    CHECK(same(d0, d1, n), "swap01 %dx%dx%d beta %d", A, B, S, acc);
  }
  free(src); free(d0); free(d1);
}

static void refl_case(int NC, int H, int W, int t, int b, int l, int r) {
  int OH = H + t + b, OW = W + l + r;
  size_t nx = (size_t)NC * H * W, ny = (size_t)NC * OH * OW;
  float *x = rnd(nx, -1, 1), *y = malloc(sizeof(float) * ny), *ye = malloc(sizeof(float) * ny);
  O->reflect_pad_fwd(y, x, NC, H, W, t, b, l, r);
  for (size_t e = 0; e < ny; e++) ye[e] = x[gf__k_reflect_src(e, H, W, t, l, OH, OW)];
  CHECK(same(y, ye, ny), "reflect_pad_fwd %dx%d (%d,%d,%d,%d)", H, W, t, b, l, r);
  float *dy = rnd(ny, -1, 1), *da = rnd(nx, -1, 1), *db = malloc(sizeof(float) * nx);
  memcpy(db, da, sizeof(float) * nx);
  O->reflect_pad_bwd(da, dy, NC, H, W, t, b, l, r);
  for (size_t e = 0; e < nx; e++) db[e] += gf__k_reflect_bwd_elem(dy, e, H, W, t, l, OH, OW);
  double w = worst(db, da, nx, 1e-6, 1e-6);
  CHECK(w <= 1, "reflect_pad_bwd %dx%d (%d,%d,%d,%d): worst %.3g", H, W, t, b, l, r, w);
  free(x); free(y); free(ye); free(dy); free(da); free(db);
}

static void gather_case(int n, int rows, int w, int B) {
  gf__dataset ds;
  memset(&ds, 0, sizeof ds);
  ds.n = n; ds.c = 1; ds.h = rows; ds.w = w;
  size_t dim = (size_t)rows * w;
  ds.x = rnd((size_t)n * dim, -1, 1);
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)B);
  for (int i = 0; i < B; i++) idx[i] = (int32_t)gf__rng_below(&R, (uint32_t)n) | (gf__rng_below(&R, 2) ? GF_GATHER_FLIP : 0);
  float *a = malloc(sizeof(float) * B * dim), *b = malloc(sizeof(float) * B * dim), *c = malloc(sizeof(float) * B * dim);
  O->gather(a, ds.x, idx, B, rows, w);
  gf__batch_gather_host(b, &ds, idx, B);
  for (size_t e = 0; e < (size_t)B * dim; e++) c[e] = ds.x[gf__k_gather_elem(idx, e, rows, w)];
  CHECK(same(a, b, B * dim) && same(a, c, B * dim), "gather %d rows of %dx%d", B, rows, w);
  /* a flipped row is the mirror image */
  int f = -1;
  for (int i = 0; i < B && f < 0; i++)
    if (idx[i] & GF_GATHER_FLIP) f = i;
  if (f >= 0) {
    const float *src = ds.x + (size_t)(idx[f] & ~GF_GATHER_FLIP) * dim;
    CHECK(a[(size_t)f * dim] == src[w - 1] && a[(size_t)f * dim + w - 1] == src[0], "flipped row %d", f);
  }
  free(ds.x); free(idx); free(a); free(b); free(c);
}

static void chan_case(int N, int C, int S) {
  size_t n = (size_t)N * C * S;
  float *y = rnd(n, -1, 1), *ye = malloc(sizeof(float) * n), *b = rnd((size_t)C, -1, 1);
  memcpy(ye, y, sizeof(float) * n);
  O->bias_fwd(y, b, N, C, S);
  for (size_t i = 0; i < n; i++) ye[i] = gf__k_bias(ye[i], b[gf__k_chan_of(i, C, S)]);
  CHECK(same(y, ye, n), "bias_fwd %dx%dx%d", N, C, S);
  float *db = rnd((size_t)C, -1, 1), *de = malloc(sizeof(float) * C);
  memcpy(de, db, sizeof(float) * C);
  O->bias_bwd(db, y, N, C, S);
  for (int c = 0; c < C; c++) {
    double acc = 0;
    for (size_t k = 0; k < (size_t)N * S; k++) acc += y[gf__k_chan_elem(k, c, C, S)];
    de[c] += (float)acc;
  }
  double w = worst(de, db, (size_t)C, 1e-5, 1e-5);
  CHECK(w <= 1, "bias_bwd %dx%dx%d: worst %.3g", N, C, S, w);
  free(y); free(ye); free(b); free(db); free(de);
}

/* k_norm_stats + k_norm_apply and k_norm_bwd_sums + k_norm_bwd_apply, with serial sums */
static void norm_case(int N, int C, int S, int affine) {
  size_t n = (size_t)N * C * S;
  double M = (double)N * S;
  float *x = rnd(n, -2, 3), *g = affine ? rnd((size_t)C, 0.5f, 1.5f) : NULL, *bt = affine ? rnd((size_t)C, -1, 1) : NULL;
  float *y = malloc(sizeof(float) * n), *ye = malloc(sizeof(float) * n);
  float *m = malloc(sizeof(float) * C), *rs = malloc(sizeof(float) * C), *me = malloc(sizeof(float) * C),
        *re = malloc(sizeof(float) * C);
  float *rm = rnd((size_t)C, -1, 1), *rv = rnd((size_t)C, 0.5f, 2), *rme = malloc(sizeof(float) * C),
        *rve = malloc(sizeof(float) * C);
  memcpy(rme, rm, sizeof(float) * C);
  memcpy(rve, rv, sizeof(float) * C);
  O->norm_fwd_train(y, m, rs, x, g, bt, rm, rv, N, C, S, 1e-5f, 0.1f);
  for (int c = 0; c < C; c++) {
    double s1 = 0, s2 = 0;
    for (size_t k = 0; k < (size_t)M; k++) s1 += x[gf__k_chan_elem(k, c, C, S)];
    for (size_t k = 0; k < (size_t)M; k++) {
      double d = x[gf__k_chan_elem(k, c, C, S)] - s1 / M;
      s2 += d * d;
    }
    gf__k_norm_stats(me, re, rme, rve, c, s1, s2, M, 1e-5f, 0.1f);
  }
  for (size_t i = 0; i < n; i++) {
    int c = gf__k_chan_of(i, C, S);
    float gg, bb;
    gf__k_norm_coef(g, bt, me[c], re[c], c, &gg, &bb);
    ye[i] = gf__k_norm_apply(x[i], gg, bb);
  }
  char what[96];
  snprintf(what, sizeof what, "norm %dx%dx%d affine %d", N, C, S, affine);
  double w = fmax(worst(ye, y, n, 1e-5, 1e-5), fmax(worst(me, m, C, 1e-6, 1e-6), worst(re, rs, C, 1e-6, 1e-6)));
  w = fmax(w, fmax(worst(rme, rm, C, 1e-6, 1e-6), worst(rve, rv, C, 1e-6, 1e-6)));
  CHECK(w <= 1, "%s forward: worst %.3g", what, w);
  /* backward from the CPU's saved statistics */
  float *dy = rnd(n, -1, 1), *dx = rnd(n, -1, 1), *dxe = malloc(sizeof(float) * n);
  float *dg = calloc((size_t)C, sizeof(float)), *dbb = calloc((size_t)C, sizeof(float));
  float *dge = calloc((size_t)C, sizeof(float)), *dbe = calloc((size_t)C, sizeof(float));
  memcpy(dxe, dx, sizeof(float) * n);
  O->norm_bwd(dx, affine ? dg : NULL, affine ? dbb : NULL, dy, x, m, rs, g, N, C, S);
  double *sums = malloc(sizeof(double) * 2 * C);
  for (int c = 0; c < C; c++) {
    double a = 0, b = 0;
    for (size_t k = 0; k < (size_t)M; k++) {
      size_t i = gf__k_chan_elem(k, c, C, S);
      a += dy[i];
      b += dy[i] * (x[i] - m[c]) * rs[c];
    }
    sums[2 * c] = a;
    sums[2 * c + 1] = b;
    dge[c] += (float)b;
    dbe[c] += (float)a;
  }
  for (size_t i = 0; i < n; i++) {
    int c = gf__k_chan_of(i, C, S);
    if (S == 1) {
      dxe[i] += gf__k_norm_bwd_vec(dy[i], x[i], m[c], rs[c], g ? g[c] : 1.0f, sums[2 * c], sums[2 * c + 1], M);
    } else {
      float gr, a, b;
      gf__k_norm_bwd_coef(g, rs[c], c, sums[2 * c], sums[2 * c + 1], M, &gr, &a, &b);
      dxe[i] += gf__k_norm_bwd(dy[i], x[i], m[c], rs[c], gr, a, b);
    }
  }
  w = worst(dxe, dx, n, 1e-4, 1e-5);
  if (affine) w = fmax(w, fmax(worst(dge, dg, C, 1e-5, 1e-5), worst(dbe, dbb, C, 1e-5, 1e-5)));
  CHECK(w <= 1, "%s backward: worst %.3g", what, w);
  /* eval */
  O->norm_fwd_eval(y, x, g, bt, rm, rv, N, C, S, 1e-5f);
  for (size_t i = 0; i < n; i++) {
    int c = gf__k_chan_of(i, C, S);
    float gg, bb;
    gf__k_norm_coef(g, bt, rm[c], gf__k_norm_eval_rstd(rv[c], 1e-5f), c, &gg, &bb);
    ye[i] = gf__k_norm_apply(x[i], gg, bb);
  }
  CHECK(same(y, ye, n), "%s eval", what);
  free(x); free(g); free(bt); free(y); free(ye); free(m); free(rs); free(me); free(re); free(rm); free(rv); free(rme);
  free(rve); free(dy); free(dx); free(dxe); free(dg); free(dbb); free(dge); free(dbe); free(sums);
}

/* k_norm_sums, k_norm_sync_finish + k_norm_apply, k_norm_sync_bwd_sums, k_norm_sync_bwd (BatchNorm
   over the ranks of a data-parallel job) with serial sums, as if `ranks` ranks held this batch */
static void norm_sync_case(int N, int C, int S, int affine, int ranks) {
  size_t n = (size_t)N * C * S, M = (size_t)N * S;
  double count = (double)ranks * N * S;
  float *x = rnd(n, -2, 3), *g = affine ? rnd((size_t)C, 0.5f, 1.5f) : NULL, *bt = affine ? rnd((size_t)C, -1, 1) : NULL;
  float *m = calloc((size_t)C, sizeof(float)), *me = calloc((size_t)C, sizeof(float)), *q = calloc((size_t)C, sizeof(float)),
        *qe = calloc((size_t)C, sizeof(float));
  char what[96];
  snprintf(what, sizeof what, "norm_sync %dx%dx%d affine %d ranks %d", N, C, S, affine, ranks);
  /* sums of x, then (as the trainer does with the reduced sums) the mean, then squared deviations */
  O->norm_sums(m, x, NULL, N, C, S);
  for (int c = 0; c < C; c++) {
    double a = 0;
    for (size_t k = 0; k < M; k++) a += gf__k_norm_sum_term(x[gf__k_chan_elem(k, c, C, S)], 0, 0.0f);
    me[c] = (float)a;
  }
  double w = worst(me, m, C, 1e-6, 1e-6);
  for (int c = 0; c < C; c++) m[c] = me[c] = (float)(me[c] * ranks / count);
  O->norm_sums(q, x, m, N, C, S);
  for (int c = 0; c < C; c++) {
    double a = 0;
    for (size_t k = 0; k < M; k++) a += gf__k_norm_sum_term(x[gf__k_chan_elem(k, c, C, S)], 1, m[c]);
    qe[c] = (float)(a * ranks); /* the other ranks' deviations alike */
    q[c] *= (float)ranks;
  }
  w = fmax(w, worst(qe, q, C, 1e-6, 1e-6));
  CHECK(w <= 1, "%s sums: worst %.3g", what, w);
  float *rm = rnd((size_t)C, -1, 1), *rv = rnd((size_t)C, 0.5f, 2), *rme = malloc(sizeof(float) * C),
        *rve = malloc(sizeof(float) * C), *y = malloc(sizeof(float) * n), *ye = malloc(sizeof(float) * n);
  memcpy(rme, rm, sizeof(float) * C);
  memcpy(rve, rv, sizeof(float) * C);
  memcpy(qe, q, sizeof(float) * C);
  O->norm_fwd_sync(y, m, q, x, g, bt, rm, rv, N, C, S, count, 1e-5f, 0.1f);
  for (int c = 0; c < C; c++) gf__k_norm_sync_finish(me, qe, rme, rve, count, 1e-5f, 0.1f, c);
  for (size_t i = 0; i < n; i++) {
    int c = gf__k_chan_of(i, C, S);
    float gg, bb;
    gf__k_norm_coef(g, bt, me[c], qe[c], c, &gg, &bb);
    ye[i] = gf__k_norm_apply(x[i], gg, bb);
  }
  CHECK(same(y, ye, n) && same(q, qe, C) && same(rm, rme, C) && same(rv, rve, C), "%s forward", what);
  /* backward: this rank's sums, then dx with the sums of all ranks (here: ranks times these) */
  float *dy = rnd(n, -1, 1), *dx = rnd(n, -1, 1), *dxe = malloc(sizeof(float) * n);
  float *sm = malloc(sizeof(float) * 2 * C), *sme = malloc(sizeof(float) * 2 * C);
  memcpy(dxe, dx, sizeof(float) * n);
  O->norm_bwd_sums(sm, dy, x, m, q, N, C, S);
  for (int c = 0; c < C; c++) {
    double a = 0, b = 0;
    for (size_t k = 0; k < M; k++) {
      size_t i = gf__k_chan_elem(k, c, C, S);
      a += dy[i];
      b += gf__k_norm_dy_xhat(dy[i], x[i], m[c], q[c]);
    }
    sme[c] = (float)a;
    sme[C + c] = (float)b;
  }
  CHECK(worst(sme, sm, 2 * (size_t)C, 1e-5, 1e-5) <= 1, "%s backward sums", what);
  for (int i = 0; i < 2 * C; i++) sm[i] *= (float)ranks;
  O->norm_bwd_sync(dx, dy, x, m, q, g, sm, count, N, C, S);
  for (size_t i = 0; i < n; i++) {
    int c = gf__k_chan_of(i, C, S);
    float gr, a, b;
    gf__k_norm_bwd_coef(g, q[c], c, sm[c], sm[C + c], count, &gr, &a, &b);
    dxe[i] += gf__k_norm_bwd(dy[i], x[i], m[c], q[c], gr, a, b);
  }
  CHECK(same(dx, dxe, n), "%s backward dx", what);
  free(x); free(g); free(bt); free(m); free(me); free(q); free(qe); free(rm); free(rv); free(rme); free(rve); free(y);
  free(ye); free(dy); free(dx); free(dxe); free(sm); free(sme);
}

static void rng_case(size_t n, uint64_t seed, uint64_t stream, uint64_t counter) {
  float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
  uint64_t key = gf__k_stream_key(seed, stream);
  O->rand_normal(a, n, 0.5f, 2.0f, seed, stream, counter);
  for (size_t bl = 0; bl < (n + 3) / 4; bl++) gf__k_normal_block(b, n, 0.5f, 2.0f, key, stream, counter, bl);
  CHECK(same(a, b, n), "normals n %zu", n);
  O->rand_uniform(a, n, -3.0f, 1.0f, seed, stream, counter);
  for (size_t bl = 0; bl < (n + 3) / 4; bl++) gf__k_uniform_block(b, n, -3.0f, 1.0f, key, stream, counter, bl);
  CHECK(same(a, b, n), "uniforms n %zu", n);
  gf__rng r = {seed, stream, counter};
  gf__rng_normal(&r, a, (long)n, 0.0f, 1.0f);
  for (size_t bl = 0; bl < (n + 3) / 4; bl++) gf__k_normal_block(b, n, 0.0f, 1.0f, key, stream, counter, bl);
  CHECK(same(a, b, n) && r.counter == counter + (n + 3) / 4, "the host stream is the device fill");
  float *x = rnd(n, -1, 1), *y = malloc(sizeof(float) * n), *m = malloc(sizeof(float) * n), *y2 = malloc(sizeof(float) * n),
        *m2 = malloc(sizeof(float) * n);
  O->dropout_fwd(y, m, x, n, 0.3f, key, stream, counter);
  for (size_t bl = 0; bl < (n + 3) / 4; bl++) gf__k_dropout_block(y2, m2, x, n, 0.3f, 1.0f / 0.7f, key, stream, counter, bl);
  CHECK(same(y, y2, n) && same(m, m2, n), "dropout n %zu", n);
  free(a); free(b); free(x); free(y); free(m); free(y2); free(m2);
}

static void loss_case(size_t n) {
  float *x = rnd(n, -6, 6), *t = rnd(n, -1, 1);
  for (int k = GF_LOSS_BCE_ONE; k <= GF_LOSS_MSE_ZERO; k++) {
    float st[2] = {0.25f, 0.5f}, se[2] = {0.25f, 0.5f};
    float *dx = rnd(n, -1, 1), *de = malloc(sizeof(float) * n);
    memcpy(de, dx, sizeof(float) * n);
    O->gan_loss((gf__gan_loss)k, st, dx, x, n, 0.7f);
    double L = 0, P = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
      double l, g, s;
      gf__k_gan_loss((gf__gan_loss)k, x[i], &l, &g, &s);
      L += l;
      P += s;
      de[i] += gf__k_gan_grad(g, 0.7f, inv);
    }
    se[0] += (float)(L * inv);
    se[1] += (float)(P * inv);
    CHECK(same(dx, de, n) && st[0] == se[0] && st[1] == se[1], "gan_loss %d n %zu accumulates", k, n);
    free(dx); free(de);
  }
  float l1 = 1.0f, l1e = 1.0f, gs = (float)(0.3 / (double)n);
  double acc = 0;
  float *dx = calloc(n, sizeof(float)), *de = calloc(n, sizeof(float));
  O->l1_loss(&l1, dx, x, t, n, 0.3f);
  for (size_t i = 0; i < n; i++) {
    float g;
    acc += gf__k_l1(x[i], t[i], gs, &g);
    de[i] += g;
  }
  l1e += (float)(acc / (double)n);
  CHECK(l1 == l1e && same(dx, de, n), "l1 n %zu", n);
  float nf = 2.0f;
  x[n / 2] = NAN;
  x[n - 1] = INFINITY;
  O->count_nonfinite(&nf, x, n);
  CHECK(nf == (n > 1 ? 4.0f : 3.0f), "count_nonfinite accumulates: %g", (double)nf);
  free(x); free(t); free(dx); free(de);
}

/* Depth-wise convolution of N x C x H x W into OC = m C channels: the CUDA kernels' loops (one
   output element, one input element over its m outputs, one (channel, tap) over one-row planes
   with the padding shifted by oy * sh) against the CPU backend's dw ops. */
static void dw_case(int N, int C, int m, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw) {
  const int OC = m * C;
  gf__conv_geom g = {C, H, W, kh, kw, sh, sw, ph, pw, (H + 2 * ph - kh) / sh + 1, (W + 2 * pw - kw) / sw + 1, 0, 0};
  char what[160];
  snprintf(what, sizeof what, "dw N%d C%d x%d %dx%d k%dx%d s%dx%d p%dx%d", N, C, m, H, W, kh, kw, sh, sw, ph, pw);
  const size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * kh * kw, P = (size_t)g.OH * g.OW, ny = (size_t)N * OC * P;
  float *x = rnd(nx, -1, 1), *w = rnd(nw, -1, 1), *dy = rnd(ny, -1, 1);
  float *y0 = malloc(sizeof(float) * ny), *y1 = malloc(sizeof(float) * ny);
  O->dw_fwd(y0, x, w, N, OC, &g);
  for (size_t e = 0; e < ny; e++) {
    const size_t no = e / P, n = no / OC;
    const int p = (int)(e % P), o = (int)(no % OC);
    y1[e] = gf__kern_dw_fwd(x + (n * C + o / m) * H * W, w + (size_t)o * kh * kw, p / g.OW, p % g.OW, H, W, kh, kw, sh, sw,
                            ph, pw);
  }
  CHECK(same(y0, y1, ny), "%s forward", what);
  float *dx0 = rnd(nx, -1, 1), *dx1 = malloc(sizeof(float) * nx);
  memcpy(dx1, dx0, sizeof(float) * nx);
  O->dw_bwd_data(dx0, dy, w, N, OC, &g);
  const size_t HW = (size_t)H * W;
  for (size_t e = 0; e < nx; e++) {
    const size_t nc = e / HW, n = nc / C;
    const int p = (int)(e % HW), c = (int)(nc % C);
    float acc = 0.0f;
    for (int q = 0; q < m; q++) {
      const int o = c * m + q;
      acc += gf__kern_dw_bwd_data(dy + (n * OC + o) * P, w + (size_t)o * kh * kw, p / W, p % W, g.OH, g.OW, kh, kw, sh, sw,
                                  ph, pw);
    }
    dx1[e] += acc;
  }
  double wd = worst(dx1, dx0, nx, 1e-5, 1e-5);
  CHECK(wd <= 1, "%s input gradient: worst %.3g", what, wd);
  float *dw0 = rnd(nw, -1, 1), *dw1 = malloc(sizeof(float) * nw);
  memcpy(dw1, dw0, sizeof(float) * nw);
  O->dw_bwd_w(dw0, x, dy, N, OC, &g);
  for (int o = 0; o < OC; o++)
    for (int t = 0; t < kh * kw; t++) {
      double acc = 0;
      for (size_t r = 0; r < (size_t)N * g.OH; r++) {
        const size_t n = r / g.OH;
        const int oy = (int)(r % g.OH);
        acc += gf__kern_dw_bwd_w(x + (n * C + o / m) * HW, dy + ((n * OC + o) * g.OH + oy) * g.OW, t / kw, t % kw, H, W, 1,
                                 g.OW, sh, sw, ph - oy * sh, pw);
      }
      dw1[(size_t)o * kh * kw + t] += (float)acc;
    }
  double ww = worst(dw1, dw0, nw, 1e-5, 1e-4);
  CHECK(ww <= 1, "%s weight gradient (one-row planes): worst %.3g", what, ww);
  free(x); free(w); free(dy); free(y0); free(y1); free(dx0); free(dx1); free(dw0); free(dw1);
}

/* The direct loops of stride-1 convolutions into 1-4 channels (ops.direct_fwd: whole tiles of
   columns in registers, edge columns one tap at a time) against the plain sum in their order
   (c, i, j from 0, taps outside the input skipped, multiply then add): the same bits. */
static void direct_case(int N, int C, int H, int W, int OC, int k, int p) {
  gf__conv_geom g = {C, H, W, k, k, 1, 1, p, p, H + 2 * p - k + 1, W + 2 * p - k + 1, 0, 0};
  const size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * k * k, P = (size_t)g.OH * g.OW, ny = (size_t)N * OC * P;
  float *x = rnd(nx, -1, 1), *w = rnd(nw, -1, 1), *y0 = malloc(sizeof(float) * ny), *y1 = malloc(sizeof(float) * ny);
  O->direct_fwd(y0, x, w, N, OC, &g);
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++)
      for (int oy = 0; oy < g.OH; oy++)
        for (int ox = 0; ox < g.OW; ox++) {
          float acc = 0.0f;
          for (int c = 0; c < C; c++)
            for (int i = 0; i < k; i++)
              for (int j = 0; j < k; j++) {
                const int iy = oy - p + i, ix = ox - p + j;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const float prod = w[(((size_t)o * C + c) * k + i) * k + j] * x[(((size_t)n * C + c) * H + iy) * W + ix];
                acc += prod;
              }
          y1[(((size_t)n * OC + o) * g.OH + oy) * g.OW + ox] = acc;
        }
  CHECK(same(y0, y1, ny), "direct_fwd N%d C%d %dx%d OC%d k%d p%d: not the plain sum's bits", N, C, H, W, OC, k, p);
  free(x); free(w); free(y0); free(y1);
}

/* Kernel alignment: the CUDA kernel's split (three sums, then per-element coefficients) against
   ops.ka_coef, which must also accumulate its value. */
static void ka_case(int B, int zero) {
  const size_t BB = (size_t)B * B;
  float *gx = rnd(BB, -1, 1), *gy = rnd(BB, -1, 1), *c0 = malloc(sizeof(float) * BB), *c1 = malloc(sizeof(float) * BB);
  if (zero) memset(gx, 0, sizeof(float) * BB);
  float st = 0.75f;
  O->ka_coef(&st, c0, gx, gy, B, -0.5f);
  double xy = 0, xx = 0, yy = 0;
  for (size_t k = 0; k < BB; k++) gf__k_ka_terms(gx, gy, k, &xy, &xx, &yy);
  for (size_t k = 0; k < BB; k++) c1[k] = gf__k_ka_coef(gx[k], gy[k], xy, xx, yy, -0.5f);
  const float se = 0.75f + (float)gf__k_ka_value(xy, xx, yy);
  CHECK(st == se && same(c0, c1, BB), "ka_coef B %d%s accumulates %g (expected %g)", B, zero ? " (zero gx)" : "",
        (double)st, (double)se);
  if (zero) CHECK(st == 0.75f, "ka_coef of a zero Gram matrix adds 0");
  free(gx); free(gy); free(c0); free(c1);
}

/* float ulps between a and b (same sign or zero) */
static double ulps(float a, float b) {
  if (a == b) return 0;
  return fabs((double)a - b) / fmax(nextafterf(fabsf(b), INFINITY) - fabsf(b), 1e-45);
}

/* gf__k_tanh (no libm call) against tanh() in double rounded to float, over every float magnitude
   from 2^-30 to 12 in steps of 61 bit patterns (both signs), the branch point 1/4, the edges and
   specials; and the CPU op's output (the vectorised loop) equal to the body's. */
static void tanh_case(void) {
  double worst_ulp = 0;
  long n = 0, off = 0;
  uint32_t lo, hi;
  float f = 0x1p-30f, g = 12.0f;
  memcpy(&lo, &f, 4);
  memcpy(&hi, &g, 4);
  for (uint32_t b = lo; b <= hi; b += 61) {
    float x;
    memcpy(&x, &b, 4);
    for (int s = 0; s < 2; s++, x = -x) {
      float want = (float)tanh((double)x), got = gf__k_tanh(x);
      double u = ulps(got, want);
      if (u > worst_ulp) worst_ulp = u;
      off += got != want;
      n++;
    }
  }
  CHECK(worst_ulp <= 1.0, "tanh: %.2f ulps from tanh() in double", worst_ulp);
  CHECK(off * 10000 < n, "tanh: %ld of %ld not the correctly rounded value", off, n);
  float edges[] = {0.25f, nextafterf(0.25f, 0), nextafterf(0.25f, 1), 9.5f, 9.0f, 20.0f, 1e30f, 0x1p-140f, 0.0f};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    for (int s = 0; s < 2; s++) {
      float x = s ? -edges[i] : edges[i], want = (float)tanh((double)x), got = gf__k_tanh(x);
      CHECK(got == want && signbit(got) == signbit(want), "tanh(%a) = %a, want %a", x, got, want);
    }
  CHECK(gf__k_tanh(INFINITY) == 1.0f && gf__k_tanh(-INFINITY) == -1.0f, "tanh(+-inf)");
  CHECK(isnan(gf__k_tanh(NAN)), "tanh(NaN) is not NaN");
  size_t m = 1003;
  float *x = rnd(m, -6, 6), *y = malloc(sizeof(float) * m);
  x[5] = NAN;
  O->act_fwd(GF_ACT_TANH, y, x, m, 0);
  int same_all = 1;
  for (size_t i = 0; i < m; i++) {
    float want = gf__k_tanh(x[i]);
    if (!(y[i] == want || (isnan(y[i]) && isnan(want)))) same_all = 0;
  }
  CHECK(same_all, "the CPU's tanh op differs from the shared body");
  printf("tanh: %ld floats, %ld (%.4f%%) not correctly rounded, worst %.2f ulp\n", n, off, 100.0 * off / n, worst_ulp);
  free(x);
  free(y);
}

int main(void) {
  O = gf__ops_cpu();
  gf__rng_init(&R, 2024, 99);
  /* convolutions of the model zoo: DCGAN 4x4 s2 p1, 7x7 ConvT, CycleGAN 7x7 / 3x3 s2, PatchGAN, odd sizes */
  conv_case(2, 3, 8, 8, 4, 4, 2, 1, 0);
  conv_case(3, 2, 7, 7, 7, 7, 1, 0, 0);
  conv_case(1, 3, 12, 10, 7, 7, 1, 3, 1);
  conv_case(2, 4, 9, 11, 3, 3, 2, 1, 0);
  conv_case(2, 2, 10, 10, 4, 4, 1, 1, 1);
  conv_case(1, 5, 6, 6, 1, 1, 1, 0, 0);
  swap_case(3, 5, 7);
  swap_case(16, 1, 49);
  refl_case(2, 5, 6, 3, 3, 3, 3);
  refl_case(3, 4, 4, 1, 1, 1, 1);
  refl_case(1, 7, 3, 2, 0, 1, 2);
  gather_case(50, 1, 784, 16);
  gather_case(30, 12, 9, 8);
  gather_case(20, 6, 1, 5);
  chan_case(4, 3, 5);
  chan_case(64, 1024, 1);
  chan_case(2, 7, 33);
  norm_case(64, 256, 1, 1);  /* BatchNorm1d */
  norm_case(100, 400, 1, 1); /* BatchNorm1d in channel blocks on the threads, a short last block */
  norm_case(7, 130, 1, 0);   /* ... serial, without affine parameters */
  norm_case(16, 8, 49, 1);   /* BatchNorm2d */
  norm_case(1, 12, 64, 0);   /* InstanceNorm as (1, B*C, S) */
  norm_sync_case(32, 64, 1, 1, 2);
  norm_sync_case(8, 16, 49, 0, 2);
  norm_sync_case(3, 5, 7, 1, 1);
  rng_case(1, 7, 2, 0);
  rng_case(103, 1, 4, 12345);
  rng_case(4096, 9, 1, 77);
  loss_case(1);
  loss_case(257);
  dw_case(2, 21, 1, 18, 18, 3, 3, 1, 1, 0, 0); /* CAT's depth-wise branch (reflection-padded input) */
  dw_case(1, 4, 2, 9, 8, 3, 3, 2, 2, 1, 1);
  dw_case(2, 3, 3, 7, 5, 5, 3, 3, 2, 2, 1);
  dw_case(3, 2, 1, 6, 11, 1, 1, 1, 1, 0, 0);
  dw_case(1, 3, 1, 9, 40, 5, 5, 1, 1, 2, 2);  /* column-stride-1 rows (vectorised) with padding */
  dw_case(2, 2, 2, 11, 37, 3, 5, 2, 1, 1, 3); /* row stride 2, column stride 1 */
  direct_case(2, 3, 9, 70, 3, 7, 0);  /* CycleGAN's last 7x7 (reflection-padded input): tiles and a tail */
  direct_case(1, 2, 5, 300, 1, 3, 1); /* two 256-column blocks, padded edges */
  direct_case(2, 4, 6, 40, 4, 5, 2);
  direct_case(1, 16, 4, 33, 2, 1, 0); /* 1x1 */
  direct_case(1, 2, 7, 17, 3, 3, 3);  /* padding wider than the kernel's reach: no whole tile */
  ka_case(4, 0);
  ka_case(1, 0);
  ka_case(3, 1);
  tanh_case();
  return gf_t_done();
}
