/* test_double_backward.c: the second-order passes (gf__net_backward_input + gf__net_double_backward)
   of every layer a critic uses (Linear, Conv2d, ReLU, LeakyReLU, Tanh, Sigmoid, Maxout, Reshape,
   each also spectrally normalised where it has weights; the conditional layers of a D: one-hot
   label concatenation (cGAN, MLP and DCGAN input planes) and the projection head, plain and
   spectrally normalised (weight and class embedding)), checked in double precision: for a
   random seed s and direction v, J(theta) = <v, d(sum s . net(x))/dx> is computed by central
   differences of an independent double forward along v in input space, and its parameter
   gradient by central differences of J in each parameter (mixed second differences); ganforge's
   float32 result must agree. Also: the input gradient against first differences, the second pass
   accumulates (two calls give twice the gradients), and a net with BatchNorm is refused with one
   line naming the layer. */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "nn/nn.h"

static const gf__ops *O;

static uint64_t rs_state = 0x5eed1234abcdULL;
static double rs_unif(void) {
  uint64_t z = (rs_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}
static double rs_normal(void) {
  double u1 = rs_unif() + 1e-300, u2 = rs_unif();
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
static double fl(double v) { return (double)(float)v; }

/* ---------------- independent double-precision forward ---------------- */
typedef struct ref {
  const gf__net *net;
  int N;
  const double *U[GF_MAX_LAYERS], *V[GF_MAX_LAYERS]; /* SN: u, v the float forward used */
  const double *EU[GF_MAX_LAYERS], *EV[GF_MAX_LAYERS]; /* SN projection: the embedding's u, v */
  double *buf[2];
} ref;

/* The labels of the conditional cases' rows (class indices; repeated classes, one class unused). */
static const float LABELS[8] = {2, 0, 2, 1, 0, 2, 1, 2};

/* M [rows, n / rows] / (u . M v), newly allocated. */
static double *sn_div(const double *M, long n, long rows, const double *u, const double *vv) {
  long K = n / rows;
  double sigma = 0;
  for (long i = 0; i < rows; i++) {
    double t = 0;
    for (long k = 0; k < K; k++) t += M[i * K + k] * vv[k];
    sigma += u[i] * t;
  }
  double *out = malloc(sizeof(double) * (size_t)n);
  for (long k = 0; k < n; k++) out[k] = M[k] / sigma;
  return out;
}

static void ref_layer(const gf__layer *l, const double *x, double *y, const double *P, int N, const double *u,
                      const double *vv, const double *eu, const double *ev) {
  long in = gf__layer_in_size(l), out = gf__layer_out_size(l);
  const double *W = l->w_n ? P + l->w_off : NULL, *E = l->e_n ? P + l->e_off : NULL;
  double *Wsn = NULL, *Esn = NULL;
  if (l->sn) W = Wsn = sn_div(W, l->w_n, l->out_c, u, vv); /* W / (u . W v) */
  if (l->sn && E) E = Esn = sn_div(E, l->e_n, l->nclass, eu, ev);
  switch (l->kind) {
  case GF_LAYER_ONEHOT: {
    long S = (long)l->in_h * l->in_w, CS = l->in_c * S;
    for (int n = 0; n < N; n++)
      for (long j = 0; j < out; j++)
        y[n * out + j] = j < CS ? x[n * in + j] : (j - CS) / S == (long)LABELS[n] ? 1.0 : 0.0;
    break;
  }
  case GF_LAYER_PROJ:
    for (int n = 0; n < N; n++) {
      double acc = P[l->b_off];
      for (long i = 0; i < in; i++) acc += (W[i] + E[(long)LABELS[n] * in + i]) * x[n * in + i];
      y[n] = acc;
    }
    break;
  case GF_LAYER_LINEAR:
    for (int n = 0; n < N; n++)
      for (long o = 0; o < out; o++) {
        double acc = l->b_n ? P[l->b_off + o] : 0.0;
        for (long i = 0; i < in; i++) acc += W[o * in + i] * x[n * in + i];
        y[n * out + o] = acc;
      }
    break;
  case GF_LAYER_CONV: {
    const gf__conv_geom *g = &l->geom;
    int C = g->C, H = g->H, Wd = g->W, OC = l->out_c, OH = g->OH, OW = g->OW;
    for (int n = 0; n < N; n++)
      for (int o = 0; o < OC; o++)
        for (int oy = 0; oy < OH; oy++)
          for (int ox = 0; ox < OW; ox++) {
            double acc = l->b_n ? P[l->b_off + o] : 0.0;
            for (int c = 0; c < C; c++)
              for (int i = 0; i < g->kh; i++)
                for (int j = 0; j < g->kw; j++) {
                  int iy = oy * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= Wd) continue;
                  acc += W[((o * C + c) * g->kh + i) * g->kw + j] * x[((long)(n * C + c) * H + iy) * Wd + ix];
                }
            y[((long)(n * OC + o) * OH + oy) * OW + ox] = acc;
          }
    break;
  }
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
  case GF_LAYER_MAXOUT:
    for (int n = 0; n < N; n++)
      for (long u2 = 0; u2 < out; u2++) {
        double m = -INFINITY;
        for (int j = 0; j < l->pieces; j++) m = fmax(m, x[n * in + u2 * l->pieces + j]);
        y[n * out + u2] = m;
      }
    break;
  default: memcpy(y, x, sizeof(double) * (size_t)N * in); break; /* reshape */
  }
  free(Wsn);
  free(Esn);
}

/* F = sum(s . net(x)) in double. */
static double ref_F(ref *r, const double *x, const double *P, const double *s) {
  const gf__net *net = r->net;
  const double *cur = x;
  int k = 0;
  for (int i = 0; i < net->n; i++) {
    ref_layer(&net->layers[i], cur, r->buf[k], P, r->N, r->U[i], r->V[i], r->EU[i], r->EV[i]);
    cur = r->buf[k];
    k ^= 1;
  }
  double F = 0;
  long nout = (long)r->N * gf__net_out_size(net);
  for (long i = 0; i < nout; i++) F += s[i] * cur[i];
  return F;
}

/* J = <v, dF/dx> by central differences along v (exact up to rounding for piecewise-linear nets). */
static double ref_J(ref *r, const double *x, const double *v, const double *P, const double *s, long nin) {
  const double h = 1e-5;
  double *xx = calloc((size_t)nin + 1, sizeof(double));
  if (!xx) return NAN;
  for (long i = 0; i < nin; i++) xx[i] = x[i] + h * v[i];
  double fp = ref_F(r, xx, P, s);
  for (long i = 0; i < nin; i++) xx[i] = x[i] - h * v[i];
  double fm = ref_F(r, xx, P, s);
  free(xx);
  return (fp - fm) / (2 * h);
}

static double worst = 0;

/* Compares float g with double ref: norm-relative <= 1e-3 and per element <= 1e-3 |ref| + 1e-4 max|ref|. */
static void compare(const char *what, const float *g, const double *want, long n) {
  double num = 0, den = 0, mx = 0;
  for (long i = 0; i < n; i++) {
    num += (g[i] - want[i]) * (g[i] - want[i]);
    den += want[i] * want[i];
    mx = fmax(mx, fabs(want[i]));
  }
  double rel = den > 0 ? sqrt(num / den) : sqrt(num);
  worst = fmax(worst, rel);
  CHECK(rel <= 1e-3, "%s: norm-relative error %.3g", what, rel);
  CHECK(mx > 1e-6, "%s: the reference gradient vanishes (max %.3g): the case checks nothing", what, mx);
  long bad = -1;
  for (long i = 0; i < n && bad < 0; i++)
    if (fabs(g[i] - want[i]) > 1e-3 * fabs(want[i]) + 1e-4 * mx) bad = i;
  CHECK(bad < 0, "%s: element %ld: %.9g vs %.9g", what, bad, bad >= 0 ? g[bad] : 0.0, bad >= 0 ? want[bad] : 0.0);
}

/* Runs one case on a finalized net with input shape from the net, batch N. */
static void run_case(const char *what, gf__net *net, int N) {
  long nin = (long)N * gf__net_in_size(net), nout = (long)N * gf__net_out_size(net), np = net->nparam;
  gf__rng init;
  gf__rng_init(&init, 7, GF_STREAM_INIT);
  gf__net_init_params(net, &init, 0.0f);
  /* parameters of moderate size, exactly representable in float */
  float *pf = malloc(sizeof(float) * (size_t)np);
  double *P = malloc(sizeof(double) * (size_t)np);
  for (long k = 0; k < np; k++) pf[k] = (float)(P[k] = fl(0.5 * rs_normal()));
  O->to_device(net->params, pf, sizeof(float) * (size_t)np);
  double *x = malloc(sizeof(double) * (size_t)nin), *v = malloc(sizeof(double) * (size_t)nin);
  double *s = malloc(sizeof(double) * (size_t)nout);
  float *xf = malloc(sizeof(float) * (size_t)nin), *vf = malloc(sizeof(float) * (size_t)nin);
  float *sf = malloc(sizeof(float) * (size_t)nout);
  for (long i = 0; i < nin; i++) { xf[i] = (float)(x[i] = fl(rs_normal())); vf[i] = (float)(v[i] = fl(rs_normal())); }
  for (long i = 0; i < nout; i++) sf[i] = (float)(s[i] = fl(0.5 + rs_unif()));
  gf__ctx ctx;
  gf__ctx2 c2;
  CHECK(gf__ctx_create(&ctx, net, N) == 0, "%s: ctx: %s", what, gf_last_error());
  float *labd = O->alloc(sizeof(float) * 8);
  O->to_device(labd, LABELS, sizeof LABELS);
  if (net->nclass) ctx.labels = labd;
  CHECK(gf__ctx2_create(&c2, net, N) == 0, "%s: ctx2: %s", what, gf_last_error());
  float *xd = O->alloc(sizeof(float) * (size_t)nin), *vd = O->alloc(sizeof(float) * (size_t)nin);
  float *gd = O->alloc(sizeof(float) * (size_t)nin);
  O->to_device(xd, xf, sizeof(float) * (size_t)nin);
  O->to_device(vd, vf, sizeof(float) * (size_t)nin);
  gf__net_forward(net, &ctx, xd, N, 1, NULL); /* SN layers take their power iteration here */
  O->to_device(gf__ctx_dout(net, &ctx), sf, sizeof(float) * (size_t)nout);
  O->fill(gd, 0.0f, (size_t)nin);
  gf__net_backward_input(net, &ctx, &c2, gd);
  gf__net_zero_grad(net);
  gf__net_double_backward(net, &ctx, &c2, vd);
  float *g = malloc(sizeof(float) * (size_t)np), *gx = malloc(sizeof(float) * (size_t)nin);
  O->to_host(g, net->grads, sizeof(float) * (size_t)np);
  O->to_host(gx, gd, sizeof(float) * (size_t)nin);

  /* the reference, with the u, v the forward used */
  ref r = {0};
  r.net = net;
  r.N = N;
  long maxsz = nin;
  for (int i = 0; i < net->n; i++) maxsz = (long)fmax(maxsz, (double)N * gf__layer_out_size(&net->layers[i]));
  r.buf[0] = malloc(sizeof(double) * (size_t)maxsz);
  r.buf[1] = malloc(sizeof(double) * (size_t)maxsz);
  double *uv = malloc(sizeof(double) * (size_t)(net->nbuf + 1));
  float *bf = malloc(sizeof(float) * (size_t)(net->nbuf + 1));
  O->to_host(bf, net->buffers, sizeof(float) * (size_t)net->nbuf);
  for (long k = 0; k < net->nbuf; k++) uv[k] = bf[k];
  for (int i = 0; i < net->n; i++)
    if (net->layers[i].sn) {
      const gf__layer *l = &net->layers[i];
      r.U[i] = uv + l->u_off;
      r.V[i] = uv + l->v_off;
      if (l->e_n) { r.EU[i] = uv + l->eu_off; r.EV[i] = uv + l->ev_off; }
    }

  /* first order: dF/dx */
  double *fdx = malloc(sizeof(double) * (size_t)nin), *xx = malloc(sizeof(double) * (size_t)nin);
  memcpy(xx, x, sizeof(double) * (size_t)nin);
  for (long i = 0; i < nin; i++) {
    const double h = 1e-6;
    xx[i] = x[i] + h;
    double fp = ref_F(&r, xx, P, s);
    xx[i] = x[i] - h;
    double fm = ref_F(&r, xx, P, s);
    xx[i] = x[i];
    fdx[i] = (fp - fm) / (2 * h);
  }
  char label[256];
  snprintf(label, sizeof label, "%s: input gradient", what);
  compare(label, gx, fdx, nin);
  /* second order: dJ/dtheta */
  double *fdp = calloc((size_t)np + 1, sizeof(double));
  for (long k = 0; fdp && k < np; k++) {
    const double h = 1e-5;
    double p0 = P[k];
    P[k] = p0 + h;
    double jp = ref_J(&r, x, v, P, s, nin);
    P[k] = p0 - h;
    double jm = ref_J(&r, x, v, P, s, nin);
    P[k] = p0;
    fdp[k] = (jp - jm) / (2 * h);
  }
  snprintf(label, sizeof label, "%s: d<v, grad_x>/dtheta", what);
  compare(label, g, fdp, np);
  for (int i = 0; i < net->n; i++) { /* every weight tensor gets a non-zero second-order gradient */
    const gf__layer *l = &net->layers[i];
    if (!l->w_n) continue;
    double m = 0;
    for (long k = 0; k < l->w_n; k++) m = fmax(m, fabs(fdp[l->w_off + k]));
    CHECK(m > 1e-6, "%s: layer %d's weight has no second-order gradient to check", what, i);
    m = 0;
    for (long k = 0; k < l->e_n; k++) m = fmax(m, fabs(fdp[l->e_off + k]));
    CHECK(!l->e_n || m > 1e-6, "%s: layer %d's class embedding has no second-order gradient to check", what, i);
  }
  /* the second pass accumulates */
  gf__net_double_backward(net, &ctx, &c2, vd);
  float *g2 = malloc(sizeof(float) * (size_t)np);
  O->to_host(g2, net->grads, sizeof(float) * (size_t)np);
  long bad = 0;
  for (long k = 0; k < np; k++) bad += fabsf(g2[k] - 2 * g[k]) > 1e-5f * (fabsf(g[k]) + 1e-3f);
  CHECK(bad == 0, "%s: two second-order passes are not twice one (%ld elements)", what, bad);
  free(g2); free(fdp); free(fdx); free(xx); free(uv); free(bf); free(r.buf[0]); free(r.buf[1]);
  free(g); free(gx); free(pf); free(P); free(x); free(v); free(s); free(xf); free(vf); free(sf);
  O->free(xd); O->free(vd); O->free(gd); O->free(labd);
  gf__ctx_destroy(&ctx);
  gf__ctx2_destroy(&c2);
  gf__net_free(net);
}

#define T(call) CHECK((call) == 0, "%s: %s", #call, gf_last_error())

static void mlp(const char *what, gf__act a1, gf__act a2, int sn) {
  gf__net net;
  gf__net_init(&net, O, "D", 6, 1, 1);
  T(gf__net_add_linear(&net, 8, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_act(&net, a1, 0.2f));
  T(gf__net_add_linear(&net, 5, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_act(&net, a2, 0.1f));
  T(gf__net_add_linear(&net, 1, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_finalize(&net));
  run_case(what, &net, 3);
}

static void maxout(int sn) {
  /* PacGAN's critic shape: packed 2-d points (pack 3: 6 inputs), maxout units */
  gf__net net;
  gf__net_init(&net, O, "D", 6, 1, 1);
  T(gf__net_add_linear(&net, 12, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_maxout(&net, 3));
  T(gf__net_add_linear(&net, 10, 1));
  T(gf__net_add_maxout(&net, 5));
  T(gf__net_add_linear(&net, 1, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_finalize(&net));
  run_case(sn ? "Linear(SN)-Maxout-Linear-Maxout-Linear(SN), packed input" : "Linear-Maxout-Linear-Maxout-Linear, packed input",
           &net, 4);
}

static void conv(int sn, gf__act mid) {
  gf__net net;
  gf__net_init(&net, O, "D", 2, 6, 6);
  T(gf__net_add_conv2d(&net, 3, 3, 3, 1, 1, 1, 1, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_act(&net, GF_ACT_LEAKY_RELU, 0.2f));
  T(gf__net_add_conv2d(&net, 4, 4, 4, 2, 2, 1, 1, 1));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_act(&net, mid, 0.2f));
  T(gf__net_add_conv2d(&net, 1, 3, 3, 1, 1, 0, 0, 0));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_reshape(&net, 1, 1, 1));
  T(gf__net_finalize(&net));
  char what[160];
  snprintf(what, sizeof what, "Conv%s-LReLU-Conv s2-%s-Conv-Reshape", sn ? "(SN)" : "", mid == GF_ACT_TANH ? "Tanh" : "LReLU");
  run_case(what, &net, 2);
}

static void dcgan28(void) {
  /* the wgan-gp-mnist critic at ndf 2: conv 4x4 s2 - lrelu - conv 4x4 s2 (bias) - lrelu - conv 7x7 - flatten */
  gf__net net;
  gf__net_init(&net, O, "D", 1, 28, 28);
  T(gf__net_add_conv2d(&net, 2, 4, 4, 2, 2, 1, 1, 0));
  T(gf__net_add_act(&net, GF_ACT_LEAKY_RELU, 0.2f));
  T(gf__net_add_conv2d(&net, 3, 4, 4, 2, 2, 1, 1, 1));
  T(gf__net_add_act(&net, GF_ACT_LEAKY_RELU, 0.2f));
  T(gf__net_add_conv2d(&net, 1, 7, 7, 1, 1, 0, 0, 0));
  T(gf__net_add_reshape(&net, 1, 1, 1));
  T(gf__net_finalize(&net));
  run_case("dcgan28 critic (ndf 2)", &net, 2);
}

/* cGAN's D: the one-hot label appended to the flattened input (MLP) or as K input planes (DCGAN). */
static void concat_mlp(void) {
  gf__net net;
  gf__net_init(&net, O, "D", 2, 2, 2);
  T(gf__net_add_reshape(&net, 8, 1, 1));
  T(gf__net_add_onehot(&net, 4));
  T(gf__net_add_linear(&net, 7, 1));
  T(gf__net_add_act(&net, GF_ACT_LEAKY_RELU, 0.2f));
  T(gf__net_add_linear(&net, 5, 1));
  T(gf__net_add_act(&net, GF_ACT_TANH, 0.0f));
  T(gf__net_add_linear(&net, 1, 1));
  T(gf__net_finalize(&net));
  run_case("Reshape-OneHot(4)-Linear-LReLU-Linear-Tanh-Linear (cGAN MLP)", &net, 4);
}

static void concat_conv(int sn) {
  gf__net net;
  gf__net_init(&net, O, "D", 2, 6, 6);
  T(gf__net_add_onehot(&net, 3));
  T(gf__net_add_conv2d(&net, 3, 4, 4, 2, 2, 1, 1, 0));
  if (sn) T(gf__net_spectral_last(&net));
  T(gf__net_add_act(&net, GF_ACT_LEAKY_RELU, 0.2f));
  T(gf__net_add_conv2d(&net, 4, 3, 3, 1, 1, 1, 1, 1));
  T(gf__net_add_act(&net, GF_ACT_SIGMOID, 0.0f));
  T(gf__net_add_conv2d(&net, 1, 3, 3, 1, 1, 0, 0, 0));
  T(gf__net_add_reshape(&net, 1, 1, 1));
  T(gf__net_finalize(&net));
  run_case(sn ? "OneHot(3) planes-Conv(SN)-LReLU-Conv-Sigmoid-Conv-Reshape (cDCGAN concat)"
              : "OneHot(3) planes-Conv-LReLU-Conv-Sigmoid-Conv-Reshape (cDCGAN concat)", &net, 3);
}

/* The projection discriminator's head after an MLP or a conv trunk (flattened), with SN throughout;
   top: a Tanh after the head (not a built D: it exercises the head's forward tangent and its
   terms in a non-zero output-gradient tangent). */
static void projection_top(int conv, int sn, gf__act mid, int top) {
  gf__net net;
  if (conv) {
    gf__net_init(&net, O, "D", 1, 6, 6);
    T(gf__net_add_conv2d(&net, 3, 4, 4, 2, 2, 1, 1, 1));
    if (sn) T(gf__net_spectral_last(&net));
    T(gf__net_add_act(&net, mid, 0.2f));
    T(gf__net_add_reshape(&net, 27, 1, 1));
  } else {
    gf__net_init(&net, O, "D", 6, 1, 1);
    T(gf__net_add_linear(&net, 8, 1));
    if (sn) T(gf__net_spectral_last(&net));
    T(gf__net_add_act(&net, GF_ACT_LEAKY_RELU, 0.2f));
    T(gf__net_add_linear(&net, 5, 1));
    if (sn) T(gf__net_spectral_last(&net));
    T(gf__net_add_act(&net, mid, 0.1f));
  }
  T(gf__net_add_proj(&net, 4));
  if (sn) T(gf__net_spectral_last(&net));
  if (top) T(gf__net_add_act(&net, GF_ACT_TANH, 0.0f));
  T(gf__net_finalize(&net));
  char what[160];
  snprintf(what, sizeof what, "%s-%s-Projection(4)%s%s", conv ? "Conv-act-Reshape" : "Linear-LReLU-Linear",
           mid == GF_ACT_TANH ? "Tanh" : "LReLU", top ? "-Tanh" : "", sn ? " (SN on every weight and the embedding)" : "");
  run_case(what, &net, 4);
}

static void projection(int conv, int sn, gf__act mid) { projection_top(conv, sn, mid, 0); }

static void refusals(void) {
  gf__net net;
  gf__net_init(&net, O, "D", 4, 1, 1);
  gf__net_add_linear(&net, 4, 1);
  gf__net_add_batchnorm(&net, 1, 1e-5f, 0.1f);
  gf__net_add_act(&net, GF_ACT_RELU, 0);
  gf__net_add_linear(&net, 1, 1);
  gf__net_finalize(&net);
  int rc = gf__net_second_order_check(&net, "train.loss=wgan-gp");
  CHECK(rc == GF_EUSAGE, "BatchNorm in D: rc %d", rc);
  CHECK(strstr(gf_last_error(), "D.net.1 (BatchNorm)") && strstr(gf_last_error(), "train.loss=wgan-gp") &&
            !strchr(gf_last_error(), '\n'),
        "message: %s", gf_last_error());
  gf__ctx2 c2;
  CHECK(gf__ctx2_create(&c2, &net, 2) == GF_EUSAGE, "ctx2 of a net with BatchNorm");
  gf__net_free(&net);
  gf__net_init(&net, O, "D", 4, 1, 1);
  gf__net_add_dropout(&net, 0.5f);
  gf__net_add_linear(&net, 1, 1);
  gf__net_finalize(&net);
  CHECK(gf__net_second_order_check(&net, "train.r1_gamma") == GF_EUSAGE && strstr(gf_last_error(), "D.net.0 (Dropout)"),
        "dropout: %s", gf_last_error());
  gf__net_free(&net);
  gf__net_init(&net, O, "D", 4, 1, 1);
  gf__net_add_linear(&net, 4, 1);
  gf__net_add_cbn(&net, 3, 1e-5f, 0.1f);
  gf__net_add_proj(&net, 3);
  gf__net_finalize(&net);
  CHECK(gf__net_second_order_check(&net, "train.r1_gamma") == GF_EUSAGE &&
            strstr(gf_last_error(), "D.net.1 (conditional BatchNorm)"),
        "conditional BatchNorm: %s", gf_last_error());
  gf__net_free(&net);
}

int main(void) {
  O = gf__ops_cpu();
  mlp("Linear-LReLU-Linear-ReLU-Linear", GF_ACT_LEAKY_RELU, GF_ACT_RELU, 0);
  mlp("Linear-Tanh-Linear-Sigmoid-Linear (curvature)", GF_ACT_TANH, GF_ACT_SIGMOID, 0);
  mlp("Linear(SN)-LReLU-Linear(SN)-Tanh-Linear(SN)", GF_ACT_LEAKY_RELU, GF_ACT_TANH, 1);
  maxout(0);
  maxout(1);
  conv(0, GF_ACT_LEAKY_RELU);
  conv(0, GF_ACT_TANH);
  conv(1, GF_ACT_TANH);
  dcgan28();
  concat_mlp();
  concat_conv(0);
  concat_conv(1);
  projection(0, 0, GF_ACT_LEAKY_RELU);
  projection(0, 0, GF_ACT_TANH);
  projection(0, 1, GF_ACT_TANH);
  projection(1, 0, GF_ACT_LEAKY_RELU);
  projection(1, 1, GF_ACT_TANH);
  projection_top(0, 0, GF_ACT_LEAKY_RELU, 1);
  projection_top(0, 1, GF_ACT_TANH, 1);
  refusals();
  printf("worst norm-relative error %.3g\n", worst);
  return gf_t_done();
}
