/* test_cond_grad.c: finite-difference gradient checks, in double precision, of the conditional
   layers (one-hot concat of vectors and of image planes, conditional BatchNorm over vectors and
   images, the projection head, plain and spectrally normalised: weight and class embedding over
   their sigma, u and v held fixed as PyTorch's gradient does), of ACGAN's loss head (source BCE + weighted class
   cross-entropy through ops.copy2d and ops.xent_loss) and of DiffAugment (every transform alone
   and together, extreme shifts and cut positions). For each case a double-precision reference
   forward written here is differenced (central, h = 1e-5) on J = sum(w * y) and compared with
   ganforge's float32 backward through gf__net_backward or the ops table; the float forward is
   compared with the reference too, a second backward must add the same gradients again, and
   conditional BatchNorm's running statistics and eval-mode forward are checked. */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "models/cond.h"
#include "models/gan.h"
#include "nn/nn.h"

#define NORM_RTOL 1e-3
#define ELEM_RTOL 1e-3
#define ELEM_ATOL 1e-4
#define FD_H 1e-5

static const gf__ops *O;

/* splitmix64: an independent random source */
static uint64_t rs = 0x2545f4914f6cdd1dULL;
static double unif(void) {
  uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}
static double fl(double v) { return (double)(float)v; } /* exactly representable in float */
static double range(double lo, double hi) { return fl(lo + (hi - lo) * unif()); }

/* |got - want| against the norm and per element; returns the norm-relative error. */
static double compare(const char *what, const float *got, const double *want, long n) {
  double num = 0, den = 0, maxw = 0;
  for (long i = 0; i < n; i++) {
    num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    den += want[i] * want[i];
    maxw = fmax(maxw, fabs(want[i]));
  }
  double rel = den > 0 ? sqrt(num / den) : sqrt(num);
  CHECK(rel <= NORM_RTOL, "%s: norm-relative error %.3g", what, rel);
  long bad = -1;
  for (long i = 0; i < n && bad < 0; i++)
    if (!(fabs((double)got[i] - want[i]) <= ELEM_RTOL * fabs(want[i]) + ELEM_ATOL * maxw + 1e-30)) bad = i;
  CHECK(bad < 0, "%s: element %ld: %.9g vs %.9g", what, bad, bad >= 0 ? (double)got[bad] : 0.0, bad >= 0 ? want[bad] : 0.0);
  return rel;
}

/* ---------------- reference forwards of the conditional layers, in double ---------------- */
typedef struct refcase {
  const gf__layer *l;
  int N;
  const float *lab;
  double eps;
  const double *uw, *vw, *ue, *ve; /* SN projection: u, v of the weight [1], [F] and the embedding [K], [F] after the
                                      forward's power iteration (constants of the gradient, as in PyTorch) */
} refcase;

/* sigma = u . (W v) for W [M, K] at P + off, u and v held fixed */
static double ref_sigma(const double *W, const double *u, const double *v, long M, long K) {
  double s = 0;
  for (long m = 0; m < M; m++)
    for (long k = 0; k < K; k++) s += u[m] * W[m * K + k] * v[k];
  return s;
}

/* y [ny] = A x / |A x| (eps 1e-12) for A [ny, nx] read at A[j * sj + i * si], in double */
static void unit_matvec(double *y, const double *A, const double *x, long ny, long nx, long sj, long si) {
  double n = 0;
  for (long j = 0; j < ny; j++) {
    y[j] = 0;
    for (long i = 0; i < nx; i++) y[j] += A[j * sj + i * si] * x[i];
    n += y[j] * y[j];
  }
  n = fmax(sqrt(n), 1e-12);
  for (long j = 0; j < ny; j++) y[j] /= n;
}

/* One power iteration on W [M, K] from u [M] (in place), v [K] out, in double */
static void ref_power(const double *W, double *u, double *v, long M, long K) {
  unit_matvec(v, W, u, K, M, 1, K); /* v = W^T u / |W^T u| */
  unit_matvec(u, W, v, M, K, K, 1); /* u = W v / |W v| */
}

static int lab_of(const refcase *r, int n) { return (int)r->lab[n]; }

static void ref_forward(const refcase *r, const double *x, const double *P, double *y) {
  const gf__layer *l = r->l;
  int N = r->N, C = l->in_c, S = l->in_h * l->in_w, K = l->nclass;
  switch (l->kind) {
  case GF_LAYER_ONEHOT:
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C + K; c++)
        for (int s = 0; s < S; s++)
          y[((long)n * (C + K) + c) * S + s] = c < C ? x[((long)n * C + c) * S + s] : (c - C == lab_of(r, n) ? 1.0 : 0.0);
    break;
  case GF_LAYER_CBN:
    for (int c = 0; c < C; c++) {
      double mu = 0, var = 0, M = (double)N * S;
      for (int n = 0; n < N; n++)
        for (int s = 0; s < S; s++) mu += x[((long)n * C + c) * S + s];
      mu /= M;
      for (int n = 0; n < N; n++)
        for (int s = 0; s < S; s++) var += (x[((long)n * C + c) * S + s] - mu) * (x[((long)n * C + c) * S + s] - mu);
      var /= M;
      double rstd = 1.0 / sqrt(var + r->eps);
      for (int n = 0; n < N; n++) {
        int k = lab_of(r, n);
        for (int s = 0; s < S; s++) {
          long i = ((long)n * C + c) * S + s;
          y[i] = (x[i] - mu) * rstd * P[l->w_off + (long)k * C + c] + P[l->b_off + (long)k * C + c];
        }
      }
    }
    break;
  case GF_LAYER_PROJ: {
    long F = gf__layer_in_size(l);
    /* SN: weight_orig / sigma and embed.weight_orig / sigma (SNGAN-projection) */
    double sw = l->sn ? ref_sigma(P + l->w_off, r->uw, r->vw, 1, F) : 1.0;
    double se = l->sn ? ref_sigma(P + l->e_off, r->ue, r->ve, K, F) : 1.0;
    for (int n = 0; n < N; n++) {
      double acc = P[l->b_off];
      for (long f = 0; f < F; f++)
        acc += (P[l->w_off + f] / sw + P[l->e_off + (long)lab_of(r, n) * F + f] / se) * x[n * F + f];
      y[n] = acc;
    }
    break;
  }
  default: break;
  }
}

static double ref_objective(const refcase *r, const double *x, const double *P, const double *w, double *y, long nout) {
  ref_forward(r, x, P, y);
  double J = 0;
  for (long i = 0; i < nout; i++) J += w[i] * y[i];
  return J;
}

/* Builds net = [one conditional layer] on (c, h, w) via add(), random input / params / labels,
   and checks forward, input and parameter gradients, and accumulation. */
static void check_layer(const char *what, gf__net *net, int N) {
  const gf__layer *l = &net->layers[0];
  long nin = (long)N * gf__net_in_size(net), nout = (long)N * gf__net_out_size(net), np = net->nparam;
  float *lab = malloc(sizeof(float) * (size_t)N);
  for (int n = 0; n < N; n++) lab[n] = (float)(n < l->nclass ? n % l->nclass : (int)(unif() * l->nclass));
  double *x = malloc(sizeof(double) * (size_t)nin), *P = calloc((size_t)np + 1, sizeof(double));
  for (long i = 0; i < nin; i++) x[i] = range(-2, 2);
  for (long i = 0; i < np; i++) P[i] = range(-0.5, 0.5);
  if (l->kind == GF_LAYER_CBN)
    for (long i = 0; i < l->w_n; i++) P[l->w_off + i] = range(0.5, 1.5);
  float *xf = malloc(sizeof(float) * (size_t)nin), *pf = malloc(sizeof(float) * (size_t)(np + 1));
  for (long i = 0; i < nin; i++) xf[i] = (float)x[i];
  for (long i = 0; i < np; i++) pf[i] = (float)P[i];
  O->to_device(net->params, pf, sizeof(float) * (size_t)np);
  /* SN projection: random unit u of the weight and of the embedding (CPU buffers are host memory);
     the forward's power iteration from them, in double */
  long F = gf__layer_in_size(l), K = l->nclass;
  double *suv = NULL;
  if (l->sn) {
    suv = calloc((size_t)(2 + 2 * F + K), sizeof(double));
    double *u[2] = {suv, suv + 1 + F}, *v[2] = {suv + 1, suv + 1 + F + K};
    long M[2] = {1, K}, off[2] = {l->u_off, l->eu_off};
    for (int t = 0; t < 2; t++) {
      double nrm = 0;
      for (long m = 0; m < M[t]; m++) {
        u[t][m] = range(-1, 1);
        nrm += u[t][m] * u[t][m];
      }
      for (long m = 0; m < M[t]; m++) net->buffers[off[t] + m] = (float)(u[t][m] /= sqrt(nrm));
      for (long m = 0; m < M[t]; m++) u[t][m] = net->buffers[off[t] + m];
    }
    ref_power(P + l->w_off, u[0], v[0], 1, F);
    ref_power(P + l->e_off, u[1], v[1], K, F);
  }
  gf__ctx ctx;
  CHECK(gf__ctx_create(&ctx, net, N) == 0, "%s: ctx", what);
  ctx.labels = lab; /* CPU backend memory is host memory */
  float *din = calloc((size_t)nin, sizeof(float));
  const float *yd = gf__net_forward(net, &ctx, xf, N, 1, NULL);
  refcase r = {l, N, lab, l->eps, NULL, NULL, NULL, NULL};
  if (l->sn) {
    r.uw = suv;
    r.vw = suv + 1;
    r.ue = suv + 1 + F;
    r.ve = suv + 1 + F + K;
    char lb[200];
    snprintf(lb, sizeof lb, "%s weight_u, weight_v, embed.weight_u, embed.weight_v after the power iteration", what);
    float *got = malloc(sizeof(float) * (size_t)(2 + 2 * F + K));
    memcpy(got, net->buffers + l->u_off, sizeof(float));
    memcpy(got + 1, net->buffers + l->v_off, sizeof(float) * (size_t)F);
    memcpy(got + 1 + F, net->buffers + l->eu_off, sizeof(float) * (size_t)K);
    memcpy(got + 1 + F + K, net->buffers + l->ev_off, sizeof(float) * (size_t)F);
    compare(lb, got, suv, 1 + 2 * F + K);
    free(got);
  }
  double *y = malloc(sizeof(double) * (size_t)nout), *w = malloc(sizeof(double) * (size_t)nout);
  float *wf = malloc(sizeof(float) * (size_t)nout);
  ref_forward(&r, x, P, y);
  char label[200];
  snprintf(label, sizeof label, "%s forward", what);
  compare(label, yd, y, nout);
  for (long i = 0; i < nout; i++) wf[i] = (float)(w[i] = range(-1, 1));
  memcpy(gf__ctx_dout(net, &ctx), wf, sizeof(float) * (size_t)nout);
  gf__net_zero_grad(net);
  gf__net_backward(net, &ctx, din, GF_GRAD_ACCUMULATE);
  double *fdx = malloc(sizeof(double) * (size_t)nin), *fdp = calloc((size_t)np + 1, sizeof(double));
  for (long i = 0; i < nin; i++) {
    double keep = x[i];
    x[i] = keep + FD_H;
    double jp = ref_objective(&r, x, P, w, y, nout);
    x[i] = keep - FD_H;
    double jm = ref_objective(&r, x, P, w, y, nout);
    x[i] = keep;
    fdx[i] = (jp - jm) / (2 * FD_H);
  }
  for (long i = 0; i < np; i++) {
    double keep = P[i];
    P[i] = keep + FD_H;
    double jp = ref_objective(&r, x, P, w, y, nout);
    P[i] = keep - FD_H;
    double jm = ref_objective(&r, x, P, w, y, nout);
    P[i] = keep;
    fdp[i] = (jp - jm) / (2 * FD_H);
  }
  snprintf(label, sizeof label, "%s d/dx", what);
  compare(label, din, fdx, nin);
  const char *names[3] = {"weight", "bias", "embed"};
  long offs[3] = {l->w_off, l->b_off, l->e_off}, ns[3] = {l->w_n, l->b_n, l->e_n};
  for (int t = 0; t < 3; t++) {
    if (!ns[t]) continue;
    snprintf(label, sizeof label, "%s d/d%s", what, names[t]);
    compare(label, net->grads + offs[t], fdp + offs[t], ns[t]);
  }
  /* backward accumulates: a second call doubles every gradient */
  float *g1 = malloc(sizeof(float) * (size_t)(nin + np + 1));
  memcpy(g1, din, sizeof(float) * (size_t)nin);
  memcpy(g1 + nin, net->grads, sizeof(float) * (size_t)np);
  gf__net_backward(net, &ctx, din, GF_GRAD_ACCUMULATE);
  long bad = 0;
  for (long i = 0; i < nin; i++) bad += fabsf(din[i] - 2 * g1[i]) > 1e-5f * fabsf(g1[i]) + 1e-7f;
  for (long i = 0; i < np; i++) bad += fabsf(net->grads[i] - 2 * g1[nin + i]) > 1e-5f * fabsf(g1[nin + i]) + 1e-7f;
  CHECK(bad == 0, "%s: a second backward did not double the gradients (%ld off)", what, bad);
  free(g1);
  free(lab); free(x); free(P); free(xf); free(pf); free(din); free(y); free(w); free(wf); free(fdx); free(fdp); free(suv);
  gf__ctx_destroy(&ctx);
}

static void case_onehot(int N, int C, int H, int W, int K) {
  char what[96];
  snprintf(what, sizeof what, "onehot N%d %dx%dx%d K%d", N, C, H, W, K);
  gf__net net;
  gf__net_init(&net, O, "T", C, H, W);
  CHECK(gf__net_add_onehot(&net, K) == 0 && gf__net_finalize(&net) == 0, "%s: build", what);
  CHECK(net.layers[0].out_c == C + K && net.nclass == K, "%s: shape", what);
  check_layer(what, &net, N);
  gf__net_free(&net);
}

static void case_cbn(int N, int C, int H, int W, int K) {
  char what[96];
  snprintf(what, sizeof what, "conditional BN N%d %dx%dx%d K%d", N, C, H, W, K);
  gf__net net;
  gf__net_init(&net, O, "T", C, H, W);
  CHECK(gf__net_add_cbn(&net, K, 1e-5f, 0.1f) == 0 && gf__net_finalize(&net) == 0, "%s: build", what);
  check_layer(what, &net, N);
  gf__net_free(&net);
}

static void case_proj(int N, int F, int K, int sn) {
  char what[96];
  snprintf(what, sizeof what, "projection%s N%d F%d K%d", sn ? " (spectral norm)" : "", N, F, K);
  gf__net net;
  gf__net_init(&net, O, "T", F, 1, 1);
  CHECK(gf__net_add_proj(&net, K) == 0 && (!sn || gf__net_spectral_last(&net) == 0) && gf__net_finalize(&net) == 0,
        "%s: build", what);
  check_layer(what, &net, N);
  gf__net_free(&net);
}

/* Conditional BN's running statistics (momentum 0.1, unbiased variance) and eval forward. */
static void cbn_running(void) {
  const int N = 6, C = 3, S = 5, K = 4;
  gf__net net;
  gf__net_init(&net, O, "T", C, 1, S);
  CHECK(gf__net_add_cbn(&net, K, 1e-5f, 0.1f) == 0 && gf__net_finalize(&net) == 0, "cbn build");
  const gf__layer *l = &net.layers[0];
  float x[90], lab[6] = {0, 1, 2, 3, 1, 2}, y[90];
  for (int i = 0; i < N * C * S; i++) x[i] = (float)range(-2, 3);
  for (long i = 0; i < net.nparam; i++) net.params[i] = (float)range(0.5, 1.5);
  gf__ctx ctx;
  gf__ctx_create(&ctx, &net, N);
  ctx.labels = lab;
  gf__net_forward(&net, &ctx, x, N, 1, NULL);
  double rm[3], rv[3];
  for (int c = 0; c < C; c++) {
    double mu = 0, ss = 0;
    for (int n = 0; n < N; n++)
      for (int s = 0; s < S; s++) mu += x[(n * C + c) * S + s];
    mu /= N * S;
    for (int n = 0; n < N; n++)
      for (int s = 0; s < S; s++) ss += (x[(n * C + c) * S + s] - mu) * (x[(n * C + c) * S + s] - mu);
    rm[c] = 0.1 * mu;
    rv[c] = 0.9 + 0.1 * ss / (N * S - 1);
  }
  compare("conditional BN running mean", net.buffers + l->rm_off, rm, C);
  compare("conditional BN running var", net.buffers + l->rv_off, rv, C);
  const float *yd = gf__net_forward(&net, &ctx, x, N, 0, NULL);
  memcpy(y, yd, sizeof y);
  double want[90];
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (int s = 0; s < S; s++) {
        int k = (int)lab[n], i = (n * C + c) * S + s;
        double h = (x[i] - net.buffers[l->rm_off + c]) / sqrt(net.buffers[l->rv_off + c] + 1e-5);
        want[i] = h * net.params[l->w_off + k * C + c] + net.params[l->b_off + k * C + c];
      }
  compare("conditional BN eval forward", y, want, N * C * S);
  gf__ctx_destroy(&ctx);
  gf__net_free(&net);
}

/* ---------------- ACGAN's loss head ---------------- */
static double softplus(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

static double acgan_ref(const double *l, const float *lab, int n, int K, int real, double w) {
  double L = 0, C = 0;
  for (int i = 0; i < n; i++) {
    const double *r = l + (long)i * (K + 1);
    L += real ? softplus(-r[0]) : softplus(r[0]);
    double mx = r[1];
    for (int k = 2; k <= K; k++) mx = fmax(mx, r[k]);
    double z = 0;
    for (int k = 1; k <= K; k++) z += exp(r[k] - mx);
    C += log(z) + mx - r[1 + (int)lab[i]];
  }
  return L / n + w * C / n;
}

static void case_acgan(int n, int K, int real, float w) {
  char what[96];
  snprintf(what, sizeof what, "acgan loss n%d K%d %s w%g", n, K, real ? "real" : "fake", w);
  gf__gan g;
  memset(&g, 0, sizeof g);
  gf__cond c;
  memset(&c, 0, sizeof c);
  g.ops = O;
  g.cond = &c;
  c.mode = GF_COND_ACGAN;
  c.K = K;
  c.aux_weight = w;
  long m = (long)n * (K + 1);
  c.col = malloc(sizeof(float) * (size_t)m);
  c.dcol = malloc(sizeof(float) * (size_t)m);
  float *lf = malloc(sizeof(float) * (size_t)m), *dl = calloc((size_t)m, sizeof(float)), lab[16];
  float st[2] = {0.5f, 0.0f}, xs[2] = {0.25f, 0.0f}; /* the statistics accumulate (ops.h): start non-zero */
  double *l = malloc(sizeof(double) * (size_t)m), *fd = malloc(sizeof(double) * (size_t)m);
  for (long i = 0; i < m; i++) lf[i] = (float)(l[i] = range(-3, 3));
  for (int i = 0; i < n; i++) lab[i] = (float)(i % K);
  gf__cond_acgan_loss(&g, real ? GF_LOSS_BCE_ONE : GF_LOSS_BCE_ZERO, st, xs, dl, lf, n, lab);
  /* the loss is the source term (stats) + w x the class term (xstats, unweighted) */
  double want = acgan_ref(l, lab, n, K, real, w);
  CHECK_CLOSE((double)(st[0] - 0.5f) + w * (double)(xs[0] - 0.25f), want, 1e-5, 1e-6, what);
  CHECK_CLOSE((double)(xs[0] - 0.25f), acgan_ref(l, lab, n, K, real, 1.0) - acgan_ref(l, lab, n, K, real, 0.0), 1e-5, 1e-6,
              what);
  for (long i = 0; i < m; i++) {
    double keep = l[i];
    l[i] = keep + FD_H;
    double jp = acgan_ref(l, lab, n, K, real, w);
    l[i] = keep - FD_H;
    double jm = acgan_ref(l, lab, n, K, real, w);
    l[i] = keep;
    fd[i] = (jp - jm) / (2 * FD_H);
  }
  char label[128];
  snprintf(label, sizeof label, "%s d/dlogits", what);
  compare(label, dl, fd, m);
  free(c.col); free(c.dcol); free(lf); free(dl); free(l); free(fd);
}

/* ---------------- DiffAugment ---------------- */
/* Reference: Zhao et al.'s transforms in double with the parameters mapped as src/kern/diffaug.h
   documents: brightness, saturation, contrast; translation with zero fill; cutout. */
static int pick(float u, int n) {
  int k = (int)(u * (float)n);
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

static void aug_ref(const double *x, const float *p, double *y, int N, int C, int H, int W, int flags) {
  long HW = (long)H * W, per = C * HW;
  double *t = malloc(sizeof(double) * (size_t)per);
  for (int n = 0; n < N; n++) {
    const double *xs = x + n * per;
    const float *q = p + n * 8;
    memcpy(t, xs, sizeof(double) * (size_t)per);
    if (flags & GF_DIFFAUG_COLOR) {
      double b = (double)(q[0] - 0.5f), fs = (double)(q[1] * 2.0f), fc = (double)(q[2] + 0.5f);
      for (long i = 0; i < per; i++) t[i] += b;
      for (long s = 0; s < HW; s++) {
        double m = 0;
        for (int c = 0; c < C; c++) m += t[c * HW + s];
        m /= C;
        for (int c = 0; c < C; c++) t[c * HW + s] = (t[c * HW + s] - m) * fs + m;
      }
      double m = 0;
      for (long i = 0; i < per; i++) m += t[i];
      m /= per;
      for (long i = 0; i < per; i++) t[i] = (t[i] - m) * fc + m;
    }
    int tx = 0, ty = 0, r0 = 0, r1 = 0, c0 = 0, c1 = 0;
    if (flags & GF_DIFFAUG_TRANSLATION) {
      int sh = (int)(H * 0.125 + 0.5), sw = (int)(W * 0.125 + 0.5);
      tx = pick(q[3], 2 * sh + 1) - sh;
      ty = pick(q[4], 2 * sw + 1) - sw;
    }
    if (flags & GF_DIFFAUG_CUTOUT) {
      int ch = (int)(H * 0.5 + 0.5), cw = (int)(W * 0.5 + 0.5);
      r0 = pick(q[5], H + 1 - ch % 2) - ch / 2, r1 = r0 + ch;
      c0 = pick(q[6], W + 1 - cw % 2) - cw / 2, c1 = c0 + cw;
    }
    for (int c = 0; c < C; c++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
          int si = i + tx, sj = j + ty, cut = i >= r0 && i < r1 && j >= c0 && j < c1;
          y[n * per + c * HW + (long)i * W + j] = cut || si < 0 || si >= H || sj < 0 || sj >= W ? 0.0 : t[c * HW + (long)si * W + sj];
        }
  }
  free(t);
}

static void case_diffaug(int N, int C, int H, int W, int flags, int extreme) {
  char what[96];
  snprintf(what, sizeof what, "diffaug N%d %dx%dx%d flags %d%s", N, C, H, W, flags, extreme ? " extreme" : "");
  long n = (long)N * C * H * W;
  double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n),
         *w = malloc(sizeof(double) * (size_t)n), *fd = malloc(sizeof(double) * (size_t)n);
  float *xf = malloc(sizeof(float) * (size_t)n), *yf = malloc(sizeof(float) * (size_t)n),
        *wf = malloc(sizeof(float) * (size_t)n), *dx = malloc(sizeof(float) * (size_t)n), p[8 * 8], work[8];
  for (long i = 0; i < n; i++) xf[i] = (float)(x[i] = range(-1, 1));
  for (int i = 0; i < N * 8; i++) p[i] = (float)unif();
  if (extreme)
    for (int s = 0; s < N; s++)
      for (int k = 3; k < 7; k++) p[s * 8 + k] = (s + k) % 2 ? 0.0f : 0.99999f;
  O->diffaug_fwd(yf, work, xf, p, N, C, H, W, flags);
  aug_ref(x, p, y, N, C, H, W, flags);
  char label[160];
  snprintf(label, sizeof label, "%s forward", what);
  compare(label, yf, y, n);
  for (long i = 0; i < n; i++) wf[i] = (float)(w[i] = range(-1, 1));
  for (long i = 0; i < n; i++) dx[i] = 0.25f; /* the backward accumulates onto this */
  O->diffaug_bwd(dx, work, wf, p, N, C, H, W, flags);
  for (long i = 0; i < n; i++) dx[i] -= 0.25f;
  for (long i = 0; i < n; i++) {
    double keep = x[i], jp = 0, jm = 0;
    x[i] = keep + FD_H;
    aug_ref(x, p, y, N, C, H, W, flags);
    for (long k = 0; k < n; k++) jp += w[k] * y[k];
    x[i] = keep - FD_H;
    aug_ref(x, p, y, N, C, H, W, flags);
    for (long k = 0; k < n; k++) jm += w[k] * y[k];
    x[i] = keep;
    fd[i] = (jp - jm) / (2 * FD_H);
  }
  snprintf(label, sizeof label, "%s d/dx", what);
  compare(label, dx, fd, n);
  free(x); free(y); free(w); free(fd); free(xf); free(yf); free(wf); free(dx);
}

int main(void) {
  O = gf__ops_cpu();
  case_onehot(5, 7, 1, 1, 4);    /* vectors (cGAN: z, MLP D input) */
  case_onehot(4, 2, 3, 5, 3);    /* image planes (DCGAN D) */
  case_cbn(6, 5, 1, 1, 3);       /* BatchNorm1d layout */
  case_cbn(7, 3, 4, 3, 4);       /* BatchNorm2d layout */
  case_proj(6, 9, 4, 0);
  case_proj(5, 24, 3, 0);
  case_proj(6, 9, 4, 1);         /* SNGAN-projection: weight and class embedding spectrally normalised */
  case_proj(5, 24, 3, 1);
  cbn_running();
  case_acgan(6, 4, 1, 1.0f);
  case_acgan(5, 10, 0, 0.5f);
  for (int f = 1; f <= 7; f++) case_diffaug(3, 3, 8, 9, f, 0);
  case_diffaug(4, 3, 8, 8, 7, 1);
  case_diffaug(2, 1, 11, 10, 7, 1);
  case_diffaug(3, 1, 16, 16, GF_DIFFAUG_COLOR | GF_DIFFAUG_CUTOUT, 0);
  return gf_t_done();
}
