/* test_gradcheck.c: finite-difference gradient checks, in double precision, of every layer kind
   and every loss. For each case an independent double-precision reference forward is written
   here; central differences of a random objective J = sum(w_r * y) taken on that reference are
   compared with ganforge's float32 backward (through gf__net_forward / gf__net_backward on a
   small net, or through the ops table for losses), for the input gradient and every parameter
   gradient. The float forward is checked against the reference forward as well. Inputs are
   drawn away from kinks (ReLU at 0, maxout ties, |x - t| = 0). Also: backward accumulates (two
   calls give twice the gradients), and a whole Linear-BN-ReLU-Linear-Tanh MLP end to end. */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "nn/nn.h"

/* Tolerances for float32 results against double references. */
#define NORM_RTOL 1e-3   /* ||g - g_fd|| / ||g_fd|| */
#define ELEM_RTOL 1e-3   /* per element: |g - fd| <= ELEM_RTOL |fd| + ELEM_ATOL max|fd| */
#define ELEM_ATOL 1e-4
#define FD_H 1e-5        /* central-difference step (double) */

static const gf__ops *O;

/* Worst norm-relative errors seen, per category (printed at the end). */
static double worst_fwd = 0, worst_dx = 0, worst_dp = 0, worst_loss = 0, worst_mlp = 0;

/* ---------------- a small independent random source (splitmix64) ---------------- */
static uint64_t rs_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rs_next(void) {
  uint64_t z = (rs_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double rs_unif(void) { return (double)(rs_next() >> 11) * (1.0 / 9007199254740992.0); }
static double rs_range(double lo, double hi) { return lo + (hi - lo) * rs_unif(); }
static double rs_normal(void) {
  double u1 = rs_unif() + 1e-300, u2 = rs_unif();
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
/* A value exactly representable in float (so the reference and ganforge see the same numbers). */
static double fl(double v) { return (double)(float)v; }

/* ---------------- comparison helpers ---------------- */
/* Compares float results `got` against double reference `want`; returns the norm-relative error.
   `floor` is an absolute magnitude below which a reference counts as zero (a tensor whose true
   gradient vanishes, like a bias feeding BatchNorm, is compared against the net's gradient scale). */
static double compare_floor(const char *what, const float *got, const double *want, long n, double norm_rtol,
                            double elem_rtol, double elem_atol, double floor) {
  double num = 0, den = 0, maxw = 0;
  for (long i = 0; i < n; i++) {
    double d = (double)got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
    if (fabs(want[i]) > maxw) maxw = fabs(want[i]);
  }
  den = sqrt(den);
  if (den < floor) den = floor;
  if (maxw < floor) maxw = floor;
  double rel = den > 0 ? sqrt(num) / den : sqrt(num);
  CHECK(rel <= norm_rtol, "%s: norm-relative error %.3g > %.3g", what, rel, norm_rtol);
  long bad = 0, first = -1;
  double atol = elem_atol * maxw + 1e-30;
  for (long i = 0; i < n; i++)
    if (!(fabs((double)got[i] - want[i]) <= elem_rtol * fabs(want[i]) + atol)) {
      if (first < 0) first = i;
      bad++;
    }
  CHECK(bad == 0, "%s: %ld of %ld elements off (first [%ld]: %.9g vs %.9g)", what, bad, n, first,
        first >= 0 ? (double)got[first] : 0.0, first >= 0 ? want[first] : 0.0);
  return rel;
}

static double compare(const char *what, const float *got, const double *want, long n, double norm_rtol,
                      double elem_rtol, double elem_atol) {
  return compare_floor(what, got, want, n, norm_rtol, elem_rtol, elem_atol, 0.0);
}

static double dmax(double a, double b) { return a > b ? a : b; }

static double norm2(const double *v, long n) {
  double s = 0;
  for (long i = 0; i < n; i++) s += v[i] * v[i];
  return sqrt(s);
}

/* ---------------- reference forward of a net, in double ---------------- */
/* Dropout masks for every dropout layer of a forward, reproduced from the Philox stream:
   block b of a layer with n outputs is philox(key, stream, counter + b); element 4b+j keeps
   when unit(u[j]) >= p, scaled by 1/(1-p). */
static void ref_dropout_mask(double *mask, size_t n, float p, gf__rng *r) {
  float keep = 1.0f / (1.0f - p);
  uint64_t key = gf__rng_key(r);
  for (size_t b = 0; b < (n + 3) / 4; b++) {
    uint32_t u[4];
    gf__philox4x32(key, r->stream, r->counter + b, u);
    for (size_t j = 0; j < 4 && 4 * b + j < n; j++)
      mask[4 * b + j] = ((float)(u[j] >> 8) * (1.0f / 16777216.0f)) >= p ? (double)keep : 0.0;
  }
  r->counter += (n + 3) / 4;
}

/* Applies layer l to x [N, in] giving y [N, out]; params indexed by the layer's arena slices. */
static void ref_layer(const gf__layer *l, const double *x, double *y, const double *P, int N, const double *mask) {
  long in = gf__layer_in_size(l), out = gf__layer_out_size(l);
  switch (l->kind) {
  case GF_LAYER_LINEAR:
    for (int n = 0; n < N; n++)
      for (long o = 0; o < out; o++) {
        double acc = l->b_n ? P[l->b_off + o] : 0.0;
        for (long i = 0; i < in; i++) acc += P[l->w_off + o * in + i] * x[n * in + i];
        y[n * out + o] = acc;
      }
    break;
  case GF_LAYER_ACT:
    for (long i = 0; i < (long)N * in; i++) {
      double v = x[i];
      switch (l->act) {
      case GF_ACT_RELU: y[i] = v > 0 ? v : 0; break;
      case GF_ACT_LEAKY_RELU: y[i] = v > 0 ? v : (double)l->alpha * v; break;
      case GF_ACT_TANH: y[i] = tanh(v); break;
      case GF_ACT_SIGMOID: y[i] = 1.0 / (1.0 + exp(-v)); break;
      }
    }
    break;
  case GF_LAYER_MAXOUT: {
    int k = l->pieces;
    for (int n = 0; n < N; n++)
      for (long u = 0; u < out; u++) {
        double m = -INFINITY;
        for (int j = 0; j < k; j++) m = fmax(m, x[n * in + u * k + j]);
        y[n * out + u] = m;
      }
    break;
  }
  case GF_LAYER_DROPOUT:
    for (long i = 0; i < (long)N * in; i++) y[i] = x[i] * (mask ? mask[i] : 1.0);
    break;
  case GF_LAYER_BATCHNORM: {
    int C = l->in_c;
    long S = (long)l->in_h * l->in_w;
    double M = (double)N * S;
    for (int c = 0; c < C; c++) {
      double mu = 0, var = 0;
      for (int n = 0; n < N; n++)
        for (long s = 0; s < S; s++) mu += x[((long)n * C + c) * S + s];
      mu /= M;
      for (int n = 0; n < N; n++)
        for (long s = 0; s < S; s++) {
          double d = x[((long)n * C + c) * S + s] - mu;
          var += d * d;
        }
      var /= M;
      double g = l->affine ? P[l->w_off + c] : 1.0, b = l->affine ? P[l->b_off + c] : 0.0;
      double r = 1.0 / sqrt(var + (double)l->eps);
      for (int n = 0; n < N; n++)
        for (long s = 0; s < S; s++) {
          long idx = ((long)n * C + c) * S + s;
          y[idx] = (x[idx] - mu) * r * g + b;
        }
    }
    break;
  }
  default: /* the convolution layers have their own reference in tests/test_conv_grad.c */
    break;
  }
}

/* Whole net: writes the output into y; `acts` (optional) receives every layer's output,
   concatenated; `masks` holds the dropout masks of the dropout layers, concatenated. */
typedef struct refnet {
  const gf__net *net;
  int N;
  double *masks;        /* per layer offset into masks (dropout layers) */
  long mask_off[GF_MAX_LAYERS];
  double *buf[2];
  long maxsz;
} refnet;

static void refnet_init(refnet *r, const gf__net *net, int N, const gf__rng *drop) {
  memset(r, 0, sizeof *r);
  r->net = net;
  r->N = N;
  long total = 0, maxsz = (long)N * gf__net_in_size(net);
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    long o = (long)N * gf__layer_out_size(l);
    if (o > maxsz) maxsz = o;
    r->mask_off[i] = -1;
    if (l->kind == GF_LAYER_DROPOUT) { r->mask_off[i] = total; total += o; }
  }
  r->masks = calloc((size_t)total + 1, sizeof(double));
  gf__rng d = drop ? *drop : (gf__rng){0, 0, 0};
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    if (l->kind != GF_LAYER_DROPOUT) continue;
    long o = (long)N * gf__layer_out_size(l);
    if (drop && l->alpha > 0) ref_dropout_mask(r->masks + r->mask_off[i], (size_t)o, l->alpha, &d);
    else for (long k = 0; k < o; k++) r->masks[r->mask_off[i] + k] = 1.0;
  }
  r->maxsz = maxsz;
  r->buf[0] = malloc(sizeof(double) * (size_t)maxsz);
  r->buf[1] = malloc(sizeof(double) * (size_t)maxsz);
}

static void refnet_free(refnet *r) {
  free(r->masks);
  free(r->buf[0]);
  free(r->buf[1]);
}

/* Forward; acts (optional) is an array of per-layer output buffers. */
static void refnet_forward(refnet *r, const double *x, const double *P, double *y, double **acts) {
  const gf__net *net = r->net;
  const double *cur = x;
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    double *dst = i == net->n - 1 ? y : (acts ? acts[i] : r->buf[i & 1]);
    ref_layer(l, cur, dst, P, r->N, r->mask_off[i] >= 0 ? r->masks + r->mask_off[i] : NULL);
    if (acts && i == net->n - 1) memcpy(acts[i], y, sizeof(double) * (size_t)r->N * gf__layer_out_size(l));
    cur = dst;
  }
}

static double objective(refnet *r, const double *x, const double *P, const double *wr, double *ytmp) {
  refnet_forward(r, x, P, ytmp, NULL);
  long m = (long)r->N * gf__net_out_size(r->net);
  double J = 0;
  for (long i = 0; i < m; i++) J += wr[i] * ytmp[i];
  return J;
}

/* ---------------- the gradient check of a built net ---------------- */
/* x [N, in] and P [nparam] are float-representable doubles. Runs ganforge forward (train mode,
   dropout from a copy of `drop` each time) and backward, compares with the reference forward and
   central differences. `what` names the case. Also checks backward accumulation. */
static void gradcheck_net(const char *what, gf__net *net, int N, const double *x, const double *P,
                          const gf__rng *drop, double *worst_dx_out, double *worst_dp_out) {
  long nin = (long)N * gf__net_in_size(net), nout = (long)N * gf__net_out_size(net), np = net->nparam;
  char label[256];
  /* ganforge side */
  float *xf = malloc(sizeof(float) * (size_t)nin), *pf = malloc(sizeof(float) * (size_t)(np + 1));
  for (long i = 0; i < nin; i++) xf[i] = (float)x[i];
  for (long i = 0; i < np; i++) pf[i] = (float)P[i];
  O->to_device(net->params, pf, sizeof(float) * (size_t)np);
  gf__ctx ctx;
  CHECK(gf__ctx_create(&ctx, net, N) == 0, "%s: ctx", what);
  float *xd = O->alloc(sizeof(float) * (size_t)nin), *din = O->alloc(sizeof(float) * (size_t)nin);
  O->to_device(xd, xf, sizeof(float) * (size_t)nin);
  gf__rng dcopy = drop ? *drop : (gf__rng){0, 0, 0};
  const float *yd = gf__net_forward(net, &ctx, xd, N, 1, drop ? &dcopy : NULL);
  float *yf = malloc(sizeof(float) * (size_t)nout);
  O->to_host(yf, yd, sizeof(float) * (size_t)nout);

  /* reference forward */
  refnet r;
  refnet_init(&r, net, N, drop);
  double *y = malloc(sizeof(double) * (size_t)nout);
  refnet_forward(&r, x, P, y, NULL);
  snprintf(label, sizeof label, "%s forward", what);
  worst_fwd = dmax(worst_fwd, compare(label, yf, y, nout, 1e-5, 1e-4, 1e-5));

  /* ganforge backward with dout = w_r */
  double *wr = malloc(sizeof(double) * (size_t)nout);
  float *wf = malloc(sizeof(float) * (size_t)nout);
  for (long i = 0; i < nout; i++) { wr[i] = fl(rs_range(-1, 1)); wf[i] = (float)wr[i]; }
  gf__ctx_zero_dout(net, &ctx);
  O->to_device(gf__ctx_dout(net, &ctx), wf, sizeof(float) * (size_t)nout);
  gf__net_zero_grad(net);
  O->fill(din, 0.0f, (size_t)nin);
  gf__net_backward(net, &ctx, din, 1);
  float *gx = malloc(sizeof(float) * (size_t)nin), *gp = malloc(sizeof(float) * (size_t)(np + 1));
  O->to_host(gx, din, sizeof(float) * (size_t)nin);
  O->to_host(gp, net->grads, sizeof(float) * (size_t)np);

  /* central differences on the reference */
  double *xx = malloc(sizeof(double) * (size_t)nin), *PP = malloc(sizeof(double) * (size_t)(np + 1));
  double *ytmp = malloc(sizeof(double) * (size_t)nout);
  double *fdx = calloc((size_t)nin + 1, sizeof(double)), *fdp = calloc((size_t)np + 1, sizeof(double));
  memcpy(xx, x, sizeof(double) * (size_t)nin);
  if (np) memcpy(PP, P, sizeof(double) * (size_t)np);
  for (long i = 0; i < nin; i++) {
    double h = FD_H * dmax(1.0, fabs(x[i]));
    xx[i] = x[i] + h;
    double jp = objective(&r, xx, P, wr, ytmp);
    xx[i] = x[i] - h;
    double jm = objective(&r, xx, P, wr, ytmp);
    xx[i] = x[i];
    fdx[i] = (jp - jm) / (2 * h);
  }
  for (long i = 0; i < np; i++) {
    double h = FD_H * dmax(1.0, fabs(P[i]));
    PP[i] = P[i] + h;
    double jp = objective(&r, x, PP, wr, ytmp);
    PP[i] = P[i] - h;
    double jm = objective(&r, x, PP, wr, ytmp);
    PP[i] = P[i];
    fdp[i] = (jp - jm) / (2 * h);
  }
  snprintf(label, sizeof label, "%s d/dx", what);
  double ex = compare(label, gx, fdx, nin, NORM_RTOL, ELEM_RTOL, ELEM_ATOL);
  if (worst_dx_out) *worst_dx_out = dmax(*worst_dx_out, ex);
  /* per-tensor parameter checks, so a bias error is not hidden behind a large weight gradient;
     a tensor whose true gradient is ~0 is measured against the whole gradient's scale */
  double floor = 1e-3 * sqrt(norm2(fdx, nin) * norm2(fdx, nin) + norm2(fdp, np) * norm2(fdp, np));
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    if (l->w_n) {
      snprintf(label, sizeof label, "%s layer %d d/dweight", what, i);
      double e = compare_floor(label, gp + l->w_off, fdp + l->w_off, l->w_n, NORM_RTOL, ELEM_RTOL, ELEM_ATOL, floor);
      if (worst_dp_out) *worst_dp_out = dmax(*worst_dp_out, e);
    }
    if (l->b_n) {
      snprintf(label, sizeof label, "%s layer %d d/dbias", what, i);
      double e = compare_floor(label, gp + l->b_off, fdp + l->b_off, l->b_n, NORM_RTOL, ELEM_RTOL, ELEM_ATOL, floor);
      if (worst_dp_out) *worst_dp_out = dmax(*worst_dp_out, e);
    }
  }

  /* accumulation: a second backward adds the same gradients again (params and input) */
  gf__net_backward(net, &ctx, din, 1);
  float *gx2 = malloc(sizeof(float) * (size_t)nin), *gp2 = malloc(sizeof(float) * (size_t)(np + 1));
  O->to_host(gx2, din, sizeof(float) * (size_t)nin);
  O->to_host(gp2, net->grads, sizeof(float) * (size_t)np);
  long bad = 0;
  double gmax = 0;
  for (long i = 0; i < nin; i++) gmax = dmax(gmax, fabsf(gx[i]));
  for (long i = 0; i < np; i++) gmax = dmax(gmax, fabsf(gp[i]));
  for (long i = 0; i < nin; i++)
    if (fabs((double)gx2[i] - 2.0 * gx[i]) > 1e-5 * fabs(gx[i]) + 1e-6 * gmax) bad++;
  for (long i = 0; i < np; i++)
    if (fabs((double)gp2[i] - 2.0 * gp[i]) > 1e-5 * fabs(gp[i]) + 1e-6 * gmax) bad++;
  CHECK(bad == 0, "%s: second backward did not accumulate to 2x (%ld elements off)", what, bad);

  /* forward is deterministic: a second forward with the same stream state gives the same output */
  dcopy = drop ? *drop : (gf__rng){0, 0, 0};
  yd = gf__net_forward(net, &ctx, xd, N, 1, drop ? &dcopy : NULL);
  float *yf2 = malloc(sizeof(float) * (size_t)nout);
  O->to_host(yf2, yd, sizeof(float) * (size_t)nout);
  CHECK(!memcmp(yf, yf2, sizeof(float) * (size_t)nout), "%s: forward not repeatable", what);

  free(yf); free(yf2); free(gx2); free(gp2);
  free(xx); free(PP); free(ytmp); free(fdx); free(fdp);
  free(gx); free(gp); free(wr); free(wf); free(y);
  refnet_free(&r);
  O->free(xd); O->free(din);
  gf__ctx_destroy(&ctx);
  free(xf); free(pf);
}

/* Random float-representable parameters for a net: linear weights/biases ~ U(-s, s), BN gamma
   around 1 and beta around 0. */
static void random_params(const gf__net *net, double *P) {
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    if (l->kind == GF_LAYER_BATCHNORM) {
      for (long k = 0; k < l->w_n; k++) P[l->w_off + k] = fl(rs_range(0.5, 1.5));
      for (long k = 0; k < l->b_n; k++) P[l->b_off + k] = fl(rs_range(-0.5, 0.5));
      continue;
    }
    double s = 1.0 / sqrt((double)gf__layer_in_size(l));
    for (long k = 0; k < l->w_n; k++) P[l->w_off + k] = fl(rs_range(-s, s));
    for (long k = 0; k < l->b_n; k++) P[l->b_off + k] = fl(rs_range(-s, s));
  }
}

/* ---------------- per-layer cases ---------------- */
typedef enum { X_ANY, X_AWAY_FROM_ZERO } xkind;

static double *random_input(long n, double scale, xkind k) {
  double *x = malloc(sizeof(double) * (size_t)(n + 1));
  for (long i = 0; i < n; i++) {
    double v;
    do v = rs_normal() * scale; while (k == X_AWAY_FROM_ZERO && fabs(v) < 0.02 * scale);
    x[i] = fl(v);
  }
  return x;
}

static void case_linear(int N, int c, int h, int w, int out, int bias) {
  char what[128];
  snprintf(what, sizeof what, "linear N%d in%dx%dx%d out%d bias%d", N, c, h, w, out, bias);
  gf__net net;
  gf__net_init(&net, O, "T", c, h, w);
  CHECK(gf__net_add_linear(&net, out, bias) == 0, "%s: build", what);
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  double *P = calloc((size_t)net.nparam + 1, sizeof(double));
  random_params(&net, P);
  double *x = random_input((long)N * c * h * w, 1.0, X_ANY);
  gradcheck_net(what, &net, N, x, P, NULL, &worst_dx, &worst_dp);
  free(x); free(P);
  gf__net_free(&net);
}

static void case_act(int N, int c, gf__act act, float alpha, const char *name) {
  char what[128];
  snprintf(what, sizeof what, "%s N%d C%d", name, N, c);
  gf__net net;
  gf__net_init(&net, O, "T", c, 1, 1);
  CHECK(gf__net_add_act(&net, act, alpha) == 0, "%s: build", what);
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  /* kinks at 0 for relu / leaky relu; wide range for tanh / sigmoid saturation */
  double *x = random_input((long)N * c, 2.0, (act == GF_ACT_RELU || act == GF_ACT_LEAKY_RELU) ? X_AWAY_FROM_ZERO : X_ANY);
  gradcheck_net(what, &net, N, x, NULL, NULL, &worst_dx, &worst_dp);
  free(x);
  gf__net_free(&net);
}

static void case_maxout(int N, int units, int k) {
  char what[128];
  snprintf(what, sizeof what, "maxout N%d units%d k%d", N, units, k);
  gf__net net;
  gf__net_init(&net, O, "T", units * k, 1, 1);
  CHECK(gf__net_add_maxout(&net, k) == 0, "%s: build", what);
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  long n = (long)N * units * k;
  double *x = random_input(n, 1.0, X_ANY);
  /* no near-ties within a group: every pair at least 0.02 apart */
  for (long g = 0; g < (long)N * units; g++) {
    int ok;
    do {
      ok = 1;
      for (int a = 0; a < k && ok; a++)
        for (int b = a + 1; b < k; b++)
          if (fabs(x[g * k + a] - x[g * k + b]) < 0.02) { ok = 0; break; }
      if (!ok)
        for (int a = 0; a < k; a++) x[g * k + a] = fl(rs_normal());
    } while (!ok);
  }
  gradcheck_net(what, &net, N, x, NULL, NULL, &worst_dx, &worst_dp);
  free(x);
  gf__net_free(&net);
}

static void case_dropout(int N, int c, float p) {
  char what[128];
  snprintf(what, sizeof what, "dropout p%.2f N%d C%d", p, N, c);
  gf__net net;
  gf__net_init(&net, O, "T", c, 1, 1);
  CHECK(gf__net_add_dropout(&net, p) == 0, "%s: build", what);
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  double *x = random_input((long)N * c, 1.0, X_ANY);
  gf__rng drop;
  gf__rng_init(&drop, 1234, GF_STREAM_DROPOUT);
  drop.counter = 77; /* a stream in mid-flight */
  gradcheck_net(what, &net, N, x, NULL, &drop, &worst_dx, &worst_dp);
  /* the mask drops about a fraction p and is not all-pass / all-drop */
  refnet r;
  refnet_init(&r, &net, N, &drop);
  long zeros = 0, n = (long)N * c;
  for (long i = 0; i < n; i++) zeros += r.masks[i] == 0.0;
  if (p > 0) CHECK(zeros > 0 && zeros < n, "%s: mask drops %ld of %ld", what, zeros, n);
  if (n >= 1000) CHECK(fabs((double)zeros / n - p) < 0.05, "%s: drop fraction %.3f vs p %.2f", what, (double)zeros / n, p);
  refnet_free(&r);
  free(x);
  gf__net_free(&net);
}

static void case_batchnorm(int N, int c, int h, int w, int affine) {
  char what[128];
  snprintf(what, sizeof what, "batchnorm N%d C%d S%dx%d affine%d", N, c, h, w, affine);
  gf__net net;
  gf__net_init(&net, O, "T", c, h, w);
  CHECK(gf__net_add_batchnorm(&net, affine, 1e-5f, 0.1f) == 0, "%s: build", what);
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  double *P = calloc((size_t)net.nparam + 1, sizeof(double));
  random_params(&net, P);
  long n = (long)N * c * h * w;
  double *x = random_input(n, 1.0, X_ANY);
  /* per-channel offsets so the mean is not ~0 */
  long S = (long)h * w;
  for (long i = 0; i < n; i++) x[i] = fl(x[i] * (1.0 + 0.5 * ((i / S) % c)) + 0.3 * ((i / S) % c) - 0.4);
  gradcheck_net(what, &net, N, x, P, NULL, &worst_dx, &worst_dp);
  /* running statistics after the (two) train forwards: momentum 0.1 from mean 0 / var 1,
     unbiased variance */
  const gf__layer *l = &net.layers[0];
  float *rm = malloc(sizeof(float) * (size_t)c), *rv = malloc(sizeof(float) * (size_t)c);
  O->to_host(rm, net.buffers + l->rm_off, sizeof(float) * (size_t)c);
  O->to_host(rv, net.buffers + l->rv_off, sizeof(float) * (size_t)c);
  double *wm = malloc(sizeof(double) * (size_t)c), *wv = malloc(sizeof(double) * (size_t)c);
  double M = (double)N * S;
  for (int ch = 0; ch < c; ch++) {
    double mu = 0, ss = 0;
    for (int k = 0; k < N; k++)
      for (long s = 0; s < S; s++) mu += x[((long)k * c + ch) * S + s];
    mu /= M;
    for (int k = 0; k < N; k++)
      for (long s = 0; s < S; s++) { double d = x[((long)k * c + ch) * S + s] - mu; ss += d * d; }
    double ub = M > 1 ? ss / (M - 1) : ss / M;
    double m1 = 0.1 * mu, v1 = 0.9 * 1.0 + 0.1 * ub;     /* after one forward */
    wm[ch] = 0.9 * m1 + 0.1 * mu;                          /* after two */
    wv[ch] = 0.9 * v1 + 0.1 * ub;
  }
  char label[160];
  snprintf(label, sizeof label, "%s running_mean", what);
  compare(label, rm, wm, c, 1e-5, 1e-5, 1e-6);
  snprintf(label, sizeof label, "%s running_var", what);
  compare(label, rv, wv, c, 1e-5, 1e-5, 1e-6);
  free(rm); free(rv); free(wm); free(wv);
  free(x); free(P);
  gf__net_free(&net);
}

/* ---------------- losses ---------------- */
static double softplus_d(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

static double gan_loss_ref(gf__gan_loss k, const double *x, long n) {
  double acc = 0;
  for (long i = 0; i < n; i++) {
    double v = x[i], s = sigmoid_d(v), l = 0;
    switch (k) {
    /* -log s = softplus(-v), -log(1 - s) = softplus(v), log(s / (1 - s)) = v: the stable forms,
       since 1 - s cancels in double for large v */
    case GF_LOSS_BCE_ONE: l = softplus_d(-v); break;
    case GF_LOSS_BCE_ZERO: l = softplus_d(v); break;
    case GF_LOSS_MINIMAX_G: l = -softplus_d(v); break;
    case GF_LOSS_KL_G: l = fabs(v) < 10 ? -log(s / (1 - s)) : -v; break;
    case GF_LOSS_MSE_ONE: l = (v - 1) * (v - 1); break;
    case GF_LOSS_MSE_ZERO: l = v * v; break;
    case GF_LOSS_WGAN_REAL: l = -v; break;
    case GF_LOSS_WGAN_FAKE: l = v; break;
    case GF_LOSS_HINGE_REAL: l = fmax(0.0, 1.0 - v); break;
    case GF_LOSS_HINGE_FAKE: l = fmax(0.0, 1.0 + v); break;
    }
    acc += l;
  }
  return acc / (double)n;
}

static void case_gan_loss(gf__gan_loss k, const char *name, long n, double spread, float scale) {
  char what[160];
  snprintf(what, sizeof what, "gan_loss %s n%ld spread%g scale%g", name, n, spread, scale);
  double *x = random_input(n, spread, X_ANY);
  int critic = k == GF_LOSS_WGAN_REAL || k == GF_LOSS_WGAN_FAKE || k == GF_LOSS_HINGE_REAL || k == GF_LOSS_HINGE_FAKE;
  for (long i = 0; (k == GF_LOSS_HINGE_REAL || k == GF_LOSS_HINGE_FAKE) && i < n; i++) /* away from the kinks at +-1 */
    while (fabs(fabs(x[i]) - 1.0) < 0.02 * spread) x[i] = fl(rs_normal() * spread);
  float *xf = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)n);
  float *pre = malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) { xf[i] = (float)x[i]; pre[i] = (float)rs_range(-0.01, 0.01); }
  float *xd = O->alloc(sizeof(float) * (size_t)n), *dd = O->alloc(sizeof(float) * (size_t)n);
  O->to_device(xd, xf, sizeof(float) * (size_t)n);
  O->to_device(dd, pre, sizeof(float) * (size_t)n);
  float stats[2] = {0, 0};
  O->gan_loss(k, stats, dd, xd, (size_t)n, scale);
  O->to_host(dx, dd, sizeof(float) * (size_t)n);
  /* reference value and probability */
  double L = gan_loss_ref(k, x, n), prob = 0;
  for (long i = 0; i < n; i++) prob += critic ? x[i] : sigmoid_d(x[i]); /* critic kinds report the mean value */
  prob /= (double)n;
  double e = fabs(stats[0] - L) / dmax(fabs(L), 1e-30);
  CHECK(e <= 1e-5 || fabs(stats[0] - L) <= 1e-7, "%s: loss %.9g vs %.9g", what, (double)stats[0], L);
  worst_loss = dmax(worst_loss, e);
  CHECK_CLOSE(stats[1], prob, 1e-5, 1e-7, what);
  /* gradient (accumulated onto `pre`) against central differences of the reference */
  double *fd = malloc(sizeof(double) * (size_t)n), *xx = malloc(sizeof(double) * (size_t)n);
  memcpy(xx, x, sizeof(double) * (size_t)n);
  for (long i = 0; i < n; i++) {
    double h = FD_H * dmax(1.0, fabs(x[i]));
    xx[i] = x[i] + h;
    double lp = gan_loss_ref(k, xx, n);
    xx[i] = x[i] - h;
    double lm = gan_loss_ref(k, xx, n);
    xx[i] = x[i];
    fd[i] = scale * (lp - lm) / (2 * h);
  }
  float *got = malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) got[i] = dx[i] - pre[i];
  char label[200];
  snprintf(label, sizeof label, "%s d/dx", what);
  worst_loss = dmax(worst_loss, compare(label, got, fd, n, NORM_RTOL, ELEM_RTOL, ELEM_ATOL));
  /* dx == NULL is allowed and gives the same statistics */
  float s2[2] = {0, 0};
  O->gan_loss(k, s2, NULL, xd, (size_t)n, scale);
  CHECK(s2[0] == stats[0] && s2[1] == stats[1], "%s: statistics differ without dx", what);
  free(got); free(fd); free(xx);
  O->free(xd); O->free(dd);
  free(x); free(xf); free(dx); free(pre);
}

/* Central differences of a scalar loss f(x) (double) against a backend's float gradient: the
   gradient written is dx - pre (what the op added); returns the norm-relative error. */
typedef double (*loss_fn)(const double *x, const void *u);
static double fd_check_loss(const char *what, loss_fn f, const void *u, const double *x, long n, float scale,
                            const float *dx, const float *pre) {
  double *fd = malloc(sizeof(double) * (size_t)n), *xx = malloc(sizeof(double) * (size_t)n);
  memcpy(xx, x, sizeof(double) * (size_t)n);
  for (long i = 0; i < n; i++) {
    double h = FD_H * dmax(1.0, fabs(x[i]));
    xx[i] = x[i] + h;
    double lp = f(xx, u);
    xx[i] = x[i] - h;
    double lm = f(xx, u);
    xx[i] = x[i];
    fd[i] = scale * (lp - lm) / (2 * h);
  }
  float *got = malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) got[i] = dx[i] - pre[i];
  char label[200];
  snprintf(label, sizeof label, "%s d/dx", what);
  double e = compare(label, got, fd, n, NORM_RTOL, ELEM_RTOL, ELEM_ATOL);
  free(got); free(fd); free(xx);
  return e;
}

/* l1 (which = 0) and mse (which = 1) against a tensor target */
static double tensor_loss_ref(int which, const double *x, const double *t, long n) {
  double acc = 0;
  for (long i = 0; i < n; i++) acc += which ? (x[i] - t[i]) * (x[i] - t[i]) : fabs(x[i] - t[i]);
  return acc / (double)n;
}

typedef struct tensor_loss_args { int which; const double *t; long n; } tensor_loss_args;
static double tensor_loss_fn(const double *x, const void *u) {
  const tensor_loss_args *a = u;
  return tensor_loss_ref(a->which, x, a->t, a->n);
}

static void case_tensor_loss(int which, long n, float scale) {
  char what[128];
  snprintf(what, sizeof what, "%s n%ld scale%g", which ? "mse_loss" : "l1_loss", n, scale);
  double *x = random_input(n, 1.0, X_ANY), *t = malloc(sizeof(double) * (size_t)n);
  for (long i = 0; i < n; i++) {
    double d;
    do d = rs_normal(); while (fabs(d) < 0.02); /* no kink of |x - t| */
    t[i] = fl(x[i] + d);
  }
  float *xf = malloc(sizeof(float) * (size_t)n), *tf = malloc(sizeof(float) * (size_t)n);
  float *pre = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) { xf[i] = (float)x[i]; tf[i] = (float)t[i]; pre[i] = (float)rs_range(-0.01, 0.01); }
  float *xd = O->alloc(sizeof(float) * (size_t)n), *td = O->alloc(sizeof(float) * (size_t)n);
  float *dd = O->alloc(sizeof(float) * (size_t)n);
  O->to_device(xd, xf, sizeof(float) * (size_t)n);
  O->to_device(td, tf, sizeof(float) * (size_t)n);
  O->to_device(dd, pre, sizeof(float) * (size_t)n);
  float loss = 0;
  if (which) O->mse_loss(&loss, dd, xd, td, (size_t)n, scale);
  else O->l1_loss(&loss, dd, xd, td, (size_t)n, scale);
  O->to_host(dx, dd, sizeof(float) * (size_t)n);
  double L = tensor_loss_ref(which, x, t, n);
  double e = fabs(loss - L) / L;
  CHECK(e <= 1e-5, "%s: loss %.9g vs %.9g", what, (double)loss, L);
  worst_loss = dmax(worst_loss, e);
  tensor_loss_args ta = {which, t, n};
  worst_loss = dmax(worst_loss, fd_check_loss(what, tensor_loss_fn, &ta, x, n, scale, dx, pre));
  float l2 = 0;
  if (which) O->mse_loss(&l2, NULL, xd, td, (size_t)n, scale);
  else O->l1_loss(&l2, NULL, xd, td, (size_t)n, scale);
  CHECK(l2 == loss, "%s: loss differs without dx (%g vs %g)", what, (double)l2, (double)loss);
  O->free(xd); O->free(td); O->free(dd);
  free(x); free(t); free(xf); free(tf); free(pre); free(dx);
}

/* softmax cross-entropy against class indices */
static double xent_ref(const double *x, const int *y, int N, int C) {
  double acc = 0;
  for (int i = 0; i < N; i++) {
    const double *xi = x + (size_t)i * C;
    double mx = xi[0], z = 0;
    for (int c = 1; c < C; c++) mx = fmax(mx, xi[c]);
    for (int c = 0; c < C; c++) z += exp(xi[c] - mx);
    acc += log(z) + mx - xi[y[i]];
  }
  return acc / N;
}

typedef struct xent_args { const int *y; int N, C; } xent_args;
static double xent_fn(const double *x, const void *u) {
  const xent_args *a = u;
  return xent_ref(x, a->y, a->N, a->C);
}

static void case_xent(int N, int C, float scale, double spread) {
  char what[128];
  snprintf(what, sizeof what, "xent_loss N%d C%d scale%g spread%g", N, C, scale, spread);
  long n = (long)N * C;
  double *x = random_input(n, spread, X_ANY);
  int *y = malloc(sizeof(int) * (size_t)N);
  float *yf = malloc(sizeof(float) * (size_t)N), *xf = malloc(sizeof(float) * (size_t)n);
  float *pre = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)n), *pr = malloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < N; i++) { y[i] = (int)(rs_next() % (uint64_t)C); yf[i] = (float)y[i]; }
  for (long i = 0; i < n; i++) { xf[i] = (float)x[i]; pre[i] = (float)rs_range(-0.01, 0.01); }
  float *xd = O->alloc(sizeof(float) * (size_t)n), *yd = O->alloc(sizeof(float) * (size_t)N);
  float *dd = O->alloc(sizeof(float) * (size_t)n), *pd = O->alloc(sizeof(float) * (size_t)n);
  O->to_device(xd, xf, sizeof(float) * (size_t)n);
  O->to_device(yd, yf, sizeof(float) * (size_t)N);
  O->to_device(dd, pre, sizeof(float) * (size_t)n);
  float stats[2] = {0, 0};
  O->xent_loss(stats, dd, pd, xd, yd, N, C, scale);
  O->to_host(dx, dd, sizeof(float) * (size_t)n);
  O->to_host(pr, pd, sizeof(float) * (size_t)n);
  double L = xent_ref(x, y, N, C);
  double e = fabs(stats[0] - L) / fmax(L, 1e-3);
  CHECK(e <= 1e-5, "%s: loss %.9g vs %.9g", what, (double)stats[0], L);
  worst_loss = dmax(worst_loss, e);
  int correct = 0;
  for (int i = 0; i < N; i++) {
    int best = 0;
    double z = 0, mx = x[(size_t)i * C];
    for (int c = 1; c < C; c++) {
      if (x[(size_t)i * C + c] > x[(size_t)i * C + best]) best = c;
      mx = fmax(mx, x[(size_t)i * C + c]);
    }
    correct += best == y[i];
    for (int c = 0; c < C; c++) z += exp(x[(size_t)i * C + c] - mx);
    for (int c = 0; c < C; c++) {
      double p = exp(x[(size_t)i * C + c] - mx) / z;
      CHECK(fabs(pr[(size_t)i * C + c] - p) <= 1e-6, "%s: softmax [%d,%d] %g vs %g", what, i, c, (double)pr[(size_t)i * C + c], p);
    }
  }
  CHECK(stats[1] == (float)correct, "%s: %g correct reported, %d true", what, (double)stats[1], correct);
  xent_args xa = {y, N, C};
  worst_loss = dmax(worst_loss, fd_check_loss(what, xent_fn, &xa, x, n, scale, dx, pre));
  O->free(xd); O->free(yd); O->free(dd); O->free(pd);
  free(x); free(y); free(yf); free(xf); free(pre); free(dx); free(pr);
}

/* ---------------- a whole MLP end to end ---------------- */
static void case_mlp(int N, int in, int hid, int out, int bn_affine) {
  char what[128];
  snprintf(what, sizeof what, "mlp N%d %d-%d-%d (Linear-BN%s-ReLU-Linear-Tanh)", N, in, hid, out,
           bn_affine ? "" : "(no affine)");
  gf__net net;
  gf__net_init(&net, O, "M", in, 1, 1);
  CHECK(gf__net_add_linear(&net, hid, 1) == 0, "%s: build", what);
  CHECK(gf__net_add_batchnorm(&net, bn_affine, 1e-5f, 0.1f) == 0, "%s: build", what);
  CHECK(gf__net_add_act(&net, GF_ACT_RELU, 0) == 0, "%s: build", what);
  CHECK(gf__net_add_linear(&net, out, 1) == 0, "%s: build", what);
  CHECK(gf__net_add_act(&net, GF_ACT_TANH, 0) == 0, "%s: build", what);
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  double *P = calloc((size_t)net.nparam + 1, sizeof(double));
  double *x = NULL;
  /* draw until no pre-ReLU value sits near the kink */
  refnet r;
  refnet_init(&r, &net, N, NULL);
  double *acts[GF_MAX_LAYERS];
  for (int i = 0; i < net.n; i++) acts[i] = malloc(sizeof(double) * (size_t)N * gf__layer_out_size(&net.layers[i]));
  double *y = malloc(sizeof(double) * (size_t)N * out);
  int tries = 0;
  for (;; tries++) {
    random_params(&net, P);
    free(x);
    x = random_input((long)N * in, 1.0, X_ANY);
    refnet_forward(&r, x, P, y, acts);
    double m = INFINITY;
    for (long i = 0; i < (long)N * hid; i++) m = fmin(m, fabs(acts[1][i]));
    if (m > 1e-3) break;
  }
  CHECK(tries < 1000, "%s: no kink-free draw", what);
  double wdx = 0, wdp = 0;
  gradcheck_net(what, &net, N, x, P, NULL, &wdx, &wdp);
  worst_mlp = dmax(worst_mlp, dmax(wdx, wdp));
  for (int i = 0; i < net.n; i++) free(acts[i]);
  free(y);
  refnet_free(&r);
  free(x); free(P);
  gf__net_free(&net);
}

int main(void) {
  O = gf__ops_cpu();

  /* softmax cross-entropy (classifier): small and large logits (stability), 2..1000 classes */
  case_xent(4, 10, 1.0f, 1.0);
  case_xent(7, 3, 0.5f, 3.0);
  case_xent(3, 2, 1.0f, 30.0);
  case_xent(2, 1000, 1.0f, 2.0);

  /* Linear, with and without bias; vector and (C,H,W) inputs (flattened) */
  case_linear(1, 1, 1, 1, 1, 1);
  case_linear(4, 5, 1, 1, 3, 1);
  case_linear(4, 5, 1, 1, 3, 0);
  case_linear(3, 2, 3, 3, 7, 1);
  case_linear(9, 33, 1, 1, 17, 1);
  case_linear(9, 33, 1, 1, 17, 0);

  /* activations */
  for (int s = 0; s < 2; s++) {
    int N = s ? 7 : 2, C = s ? 13 : 5;
    case_act(N, C, GF_ACT_RELU, 0, "relu");
    case_act(N, C, GF_ACT_LEAKY_RELU, 0.2f, "lrelu0.2");
    case_act(N, C, GF_ACT_LEAKY_RELU, 0.01f, "lrelu0.01");
    case_act(N, C, GF_ACT_TANH, 0, "tanh");
    case_act(N, C, GF_ACT_SIGMOID, 0, "sigmoid");
  }

  /* maxout */
  case_maxout(3, 4, 2);
  case_maxout(5, 3, 3);
  case_maxout(4, 6, 5);
  case_maxout(1, 1, 5);

  /* dropout with a fixed mask (same stream state each forward) */
  case_dropout(4, 9, 0.5f);
  case_dropout(3, 11, 0.2f);
  case_dropout(2, 5, 0.0f);
  case_dropout(20, 64, 0.3f);

  /* BatchNorm over (N, C, S): S = 1 and S > 1, affine and not, train mode */
  for (int affine = 0; affine < 2; affine++) {
    case_batchnorm(4, 3, 1, 1, affine);
    case_batchnorm(7, 6, 1, 1, affine);
    case_batchnorm(3, 2, 2, 3, affine);
    case_batchnorm(2, 4, 4, 4, affine);
    case_batchnorm(1, 3, 3, 3, affine);  /* statistics over S alone */
  }
  case_batchnorm(3, 600, 1, 1, 1);       /* C > 512: heap path of the statistics */
  case_batchnorm(3, 1100, 1, 1, 1);      /* C > 1024: heap path of the S == 1 backward */
  /* (N = 2 with S = 1 is degenerate: x_hat = +-1 and the input gradient vanishes up to eps) */

  /* losses */
  static const struct { gf__gan_loss k; const char *name; } gl[] = {
    {GF_LOSS_BCE_ONE, "BCE_ONE"}, {GF_LOSS_BCE_ZERO, "BCE_ZERO"}, {GF_LOSS_MINIMAX_G, "MINIMAX_G"},
    {GF_LOSS_KL_G, "KL_G"}, {GF_LOSS_MSE_ONE, "MSE_ONE"}, {GF_LOSS_MSE_ZERO, "MSE_ZERO"},
    {GF_LOSS_WGAN_REAL, "WGAN_REAL"}, {GF_LOSS_WGAN_FAKE, "WGAN_FAKE"}, {GF_LOSS_HINGE_REAL, "HINGE_REAL"},
    {GF_LOSS_HINGE_FAKE, "HINGE_FAKE"}};
  for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++) {
    case_gan_loss(gl[i].k, gl[i].name, 1, 1.0, 1.0f);
    case_gan_loss(gl[i].k, gl[i].name, 8, 2.0, 1.0f);
    case_gan_loss(gl[i].k, gl[i].name, 37, 6.0, 0.5f);   /* well into the saturated tails */
    case_gan_loss(gl[i].k, gl[i].name, 64, 25.0, 2.0f);  /* |x| up to ~80: no overflow */
  }
  case_tensor_loss(0, 1, 1.0f);
  case_tensor_loss(0, 50, 0.5f);
  case_tensor_loss(1, 1, 1.0f);
  case_tensor_loss(1, 50, 3.0f);

  /* a whole network end to end */
  case_mlp(6, 5, 8, 4, 1);
  case_mlp(10, 12, 16, 7, 1);
  case_mlp(5, 4, 6, 3, 0);

  printf("max norm-relative errors: forward %.3g, d/dx %.3g, d/dparams %.3g, losses %.3g, mlp %.3g\n",
         worst_fwd, worst_dx, worst_dp, worst_loss, worst_mlp);
  return gf_t_done();
}
