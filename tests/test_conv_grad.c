/* test_conv_grad.c: Conv2d, ConvTranspose2d, InstanceNorm2d, ReflectionPad2d and BatchNorm2d
   against an independent double-precision reference: forward outputs, and ganforge's float32
   backward (input, weight and bias gradients) against central differences of the reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "cpu/cpu_internal.h"
#include "nn/nn.h"

enum { K_CONV, K_CONVT, K_IN, K_PAD, K_BN };

typedef struct spec {
  int kind, N, C, H, W;
  int OC, kh, kw, s, p, op, bias; /* conv / convT */
  int affine;                     /* norms */
  int pad[4];                     /* reflection pad */
  int chunk;                      /* 0: the layer's own plan */
  int rows;                       /* > 0: im2col bands of this many output rows (chunk 1) */
  int wino;                       /* > 0: Winograd F(4x4,3x3) with blocks of this many tiles */
  int direct;                     /* 1: the direct loops (stride 1, few output channels) */
  int lib;                        /* 1: whole passes by the backend's library (oneDNN) when it has one */
  int pwino;                      /* > 0: polyphase Winograd F(4x4,2x2) (4x4 stride 2 padding 1), tiles per block, */
  int pw_passes;                  /*   for these passes (0: all; the others by the library) */
} spec;

static int out_hw(const spec *t, int *OH, int *OW) {
  switch (t->kind) {
  case K_CONV: *OH = (t->H + 2 * t->p - t->kh) / t->s + 1; *OW = (t->W + 2 * t->p - t->kw) / t->s + 1; return t->OC;
  case K_CONVT: *OH = (t->H - 1) * t->s - 2 * t->p + t->kh + t->op; *OW = (t->W - 1) * t->s - 2 * t->p + t->kw + t->op; return t->OC;
  case K_PAD: *OH = t->H + t->pad[0] + t->pad[1]; *OW = t->W + t->pad[2] + t->pad[3]; return t->C;
  default: *OH = t->H; *OW = t->W; return t->C;
  }
}

static int refl(int p, int n) { return p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p; }

/* Double reference forward: y from x, w, b. */
static void ref_forward(const spec *t, double *y, const double *x, const double *w, const double *b) {
  int OH, OW, OC = out_hw(t, &OH, &OW);
  int N = t->N, C = t->C, H = t->H, W = t->W;
  size_t ny = (size_t)N * OC * OH * OW;
  memset(y, 0, sizeof(double) * ny);
  if (t->kind == K_CONV) {
    for (int n = 0; n < N; n++) for (int o = 0; o < OC; o++) for (int oy = 0; oy < OH; oy++) for (int ox = 0; ox < OW; ox++) {
      double acc = t->bias ? b[o] : 0;
      for (int c = 0; c < C; c++) for (int i = 0; i < t->kh; i++) for (int j = 0; j < t->kw; j++) {
        int iy = oy * t->s - t->p + i, ix = ox * t->s - t->p + j;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        acc += w[((o * C + c) * t->kh + i) * t->kw + j] * x[((n * C + c) * H + iy) * W + ix];
      }
      y[((n * OC + o) * OH + oy) * OW + ox] = acc;
    }
  } else if (t->kind == K_CONVT) {
    /* scatter definition: every input pixel adds W[c, o] to a kh x kw output window */
    for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) for (int iy = 0; iy < H; iy++) for (int ix = 0; ix < W; ix++)
      for (int o = 0; o < OC; o++) for (int i = 0; i < t->kh; i++) for (int j = 0; j < t->kw; j++) {
        int oy = iy * t->s - t->p + i, ox = ix * t->s - t->p + j;
        if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
        y[((n * OC + o) * OH + oy) * OW + ox] += x[((n * C + c) * H + iy) * W + ix] * w[((c * OC + o) * t->kh + i) * t->kw + j];
      }
    if (t->bias)
      for (int n = 0; n < N; n++) for (int o = 0; o < OC; o++) for (int k = 0; k < OH * OW; k++) y[(n * OC + o) * OH * OW + k] += b[o];
  } else if (t->kind == K_PAD) {
    for (int n = 0; n < N * C; n++) for (int oy = 0; oy < OH; oy++) for (int ox = 0; ox < OW; ox++)
      y[(n * OH + oy) * OW + ox] = x[(n * H + refl(oy - t->pad[0], H)) * W + refl(ox - t->pad[2], W)];
  } else {
    /* instance norm: groups (n, c); batch norm: groups c over all n */
    int S = H * W;
    int groups = t->kind == K_IN ? N * C : C;
    for (int gi = 0; gi < groups; gi++) {
      int c = t->kind == K_IN ? gi % C : gi;
      double sum = 0, sq = 0, cnt = 0;
      for (int n = 0; n < N; n++) {
        if (t->kind == K_IN && n != gi / C) continue;
        for (int k = 0; k < S; k++) { sum += x[(n * C + c) * S + k]; cnt++; }
      }
      double mu = sum / cnt;
      for (int n = 0; n < N; n++) {
        if (t->kind == K_IN && n != gi / C) continue;
        for (int k = 0; k < S; k++) { double d = x[(n * C + c) * S + k] - mu; sq += d * d; }
      }
      double rs = 1.0 / sqrt(sq / cnt + 1e-5);
      for (int n = 0; n < N; n++) {
        if (t->kind == K_IN && n != gi / C) continue;
        for (int k = 0; k < S; k++) {
          double v = (x[(n * C + c) * S + k] - mu) * rs;
          y[(n * C + c) * S + k] = t->affine ? v * w[c] + b[c] : v;
        }
      }
    }
  }
}

static double ref_loss(const spec *t, double *y, const double *x, const double *w, const double *b, const double *R, size_t ny) {
  ref_forward(t, y, x, w, b);
  double l = 0;
  for (size_t i = 0; i < ny; i++) l += y[i] * R[i];
  return l;
}

/* Central differences of L = sum(y * R) w.r.t. every element of v, compared with g (float). */
static void check_grad(const spec *t, const char *what, const char *name, double *v, long nv, const float *g,
                       double *y, double *x, double *w, double *b, const double *R, size_t ny) {
  double h = 1e-4, maxg = 0, worst = 0;
  double *fd = malloc(sizeof(double) * (size_t)nv);
  for (long k = 0; k < nv; k++) {
    double v0 = v[k];
    v[k] = v0 + h;
    double lp = ref_loss(t, y, x, w, b, R, ny);
    v[k] = v0 - h;
    double lm = ref_loss(t, y, x, w, b, R, ny);
    v[k] = v0;
    fd[k] = (lp - lm) / (2 * h);
    if (fabs(fd[k]) > maxg) maxg = fabs(fd[k]);
  }
  long bad = -1;
  for (long k = 0; k < nv; k++) {
    double err = fabs(g[k] - fd[k]), tol = 2e-4 * maxg + 1e-3 * fabs(fd[k]) + 1e-6;
    if (err / tol > worst) { worst = err / tol; if (err > tol) bad = k; }
  }
  CHECK(bad < 0, "%s %s gradient: element %ld: float32 %.8g vs finite differences %.8g (max |g| %.3g)", what, name, bad,
        bad >= 0 ? g[bad] : 0.0, bad >= 0 ? fd[bad] : 0.0, maxg);
  free(fd);
}

static void run(const spec *t, const char *what) {
  const gf__ops *o = gf__ops_cpu();
  gf__net net;
  gf__net_init(&net, o, "L", t->C, t->H, t->W);
  int rc = 0;
  switch (t->kind) {
  case K_CONV: rc = gf__net_add_conv2d(&net, t->OC, t->kh, t->kw, t->s, t->s, t->p, t->p, t->bias); break;
  case K_CONVT: rc = gf__net_add_convt2d(&net, t->OC, t->kh, t->kw, t->s, t->s, t->p, t->p, t->op, t->op, t->bias); break;
  case K_IN: rc = gf__net_add_instnorm(&net, t->affine, 1e-5f); break;
  case K_PAD: rc = gf__net_add_reflpad(&net, t->pad[0], t->pad[1], t->pad[2], t->pad[3]); break;
  case K_BN: rc = gf__net_add_batchnorm(&net, t->affine, 1e-5f, 0.1f); break;
  }
  CHECK(rc == 0, "%s: build", what);
  if (rc) return;
  if (t->chunk) net.layers[0].chunk = t->chunk;
  if (t->rows) { net.layers[0].chunk = 1; net.layers[0].rows = t->rows; }
  if (t->kind == K_CONV || t->kind == K_CONVT) net.layers[0].lib = t->lib && o->conv_lib;
  const long lib_before = gf__cpu_conv_lib_count();
  if (t->wino) net.layers[0].wino = t->wino;
  if (t->direct) { net.layers[0].direct = 1; net.layers[0].wino = 0; }
  if (t->pwino) {
    net.layers[0].pwino = t->pwino;
    net.layers[0].pwino_passes = t->pw_passes ? t->pw_passes : GF_PWINO_ALL;
    net.layers[0].wino = net.layers[0].rows = 0;
    net.layers[0].lib = t->pw_passes && o->conv_lib;
  }
  CHECK(gf__net_finalize(&net) == 0, "%s: finalize", what);
  int OH, OW, OC = out_hw(t, &OH, &OW);
  CHECK(net.layers[0].out_c == OC && net.layers[0].out_h == OH && net.layers[0].out_w == OW, "%s: output shape %dx%dx%d, want %dx%dx%d",
        what, net.layers[0].out_c, net.layers[0].out_h, net.layers[0].out_w, OC, OH, OW);
  size_t nx = (size_t)t->N * t->C * t->H * t->W, ny = (size_t)t->N * OC * OH * OW;
  gf__rng r;
  gf__rng_init(&r, 1234, 7);
  float *xf = malloc(sizeof(float) * nx), *Rf = malloc(sizeof(float) * ny);
  gf__rng_normal(&r, xf, (long)nx, 0.0f, 1.0f);
  gf__rng_normal(&r, Rf, (long)ny, 0.0f, 1.0f);
  gf__net_init_params(&net, &r, 0.0f);
  /* random affine parameters too (init gives 1 / 0) */
  if (net.nparam) gf__rng_normal(&r, net.params, net.nparam, 0.3f, 0.7f);
  float *wf = net.layers[0].w_n ? net.params + net.layers[0].w_off : NULL;
  float *bf = net.layers[0].b_n ? net.params + net.layers[0].b_off : NULL;
  double *x = malloc(sizeof(double) * nx), *R = malloc(sizeof(double) * ny), *y = malloc(sizeof(double) * ny);
  double *w = malloc(sizeof(double) * (size_t)(net.layers[0].w_n + 1)), *b = malloc(sizeof(double) * (size_t)(net.layers[0].b_n + 1));
  for (size_t i = 0; i < nx; i++) x[i] = xf[i];
  for (size_t i = 0; i < ny; i++) R[i] = Rf[i];
  for (long i = 0; i < net.layers[0].w_n; i++) w[i] = wf[i];
  for (long i = 0; i < net.layers[0].b_n; i++) b[i] = bf[i];

  gf__ctx ctx;
  CHECK(gf__ctx_create(&ctx, &net, t->N) == 0, "%s: ctx", what);
  const float *yf = gf__net_forward(&net, &ctx, xf, t->N, 1, NULL);
  ref_forward(t, y, x, w, b);
  double maxy = 0, maxe = 0;
  for (size_t i = 0; i < ny; i++) {
    if (fabs(y[i]) > maxy) maxy = fabs(y[i]);
    if (fabs(yf[i] - y[i]) > maxe) maxe = fabs(yf[i] - y[i]);
  }
  CHECK(maxe <= 1e-5 * maxy + 1e-6, "%s: forward max error %.3g (max |y| %.3g)", what, maxe, maxy);
  gf__net_zero_grad(&net);
  memcpy(gf__ctx_dout(&net, &ctx), Rf, sizeof(float) * ny);
  float *dxf = calloc(nx, sizeof(float));
  gf__net_backward(&net, &ctx, dxf, 1);
  check_grad(t, what, "input", x, (long)nx, dxf, y, x, w, b, R, ny);
  if (wf) check_grad(t, what, "weight", w, net.layers[0].w_n, net.grads + net.layers[0].w_off, y, x, w, b, R, ny);
  if (bf) check_grad(t, what, "bias", b, net.layers[0].b_n, net.grads + net.layers[0].b_off, y, x, w, b, R, ny);
  /* backward accumulates: a second pass doubles the input gradient */
  float *dx2 = malloc(sizeof(float) * nx);
  memcpy(dx2, dxf, sizeof(float) * nx);
  memcpy(gf__ctx_dout(&net, &ctx), Rf, sizeof(float) * ny);
  gf__net_backward(&net, &ctx, dx2, 0);
  double acc_err = 0;
  for (size_t i = 0; i < nx; i++) acc_err = fmax(acc_err, fabs(dx2[i] - 2 * dxf[i]));
  CHECK(acc_err < 1e-4, "%s: input gradient does not accumulate (err %.3g)", what, acc_err);
  /* forward, input + weight gradients, input gradient again: all by the library, none lowered
     (but the convolution forward passes of a 1x1 between few channels, which the library
     declines: a Conv2d's forward, a ConvTranspose2d's two input gradients) */
  /* and a ConvTranspose2d of a 1x1 input onto one kernel footprint, or a Conv2d whose kernel
     covers its whole unpadded input: a matrix product of ours */
  const int projection = (t->kind == K_CONVT && t->H == 1 && t->W == 1 && t->p == 0 && t->op == 0) ||
                         (t->kind == K_CONV && t->kh == t->H && t->kw == t->W && t->p == 0);
  /* (and the weight gradient of a convolution with one input channel, of a Conv2d from 1 channel or
     a ConvTranspose2d to 1: the lowering then takes that backward call's input gradient too) */
  const int one_in = t->kind == K_CONV ? t->C == 1 : t->OC == 1;
  const int declined = projection ? 4
                       : (t->kh == 1 && t->kw == 1 && t->s == 1 && t->p == 0 && (long)t->C * t->OC < GF_LIB_1X1_MIN_COC
                              ? (t->kind == K_CONV ? 1 : 2) : 0) + 2 * one_in;
  if (t->lib && !t->pwino) CHECK(gf__cpu_conv_lib_count() - lib_before == 4 - declined, "%s: %ld passes by the library, want %d",
                                 what, gf__cpu_conv_lib_count() - lib_before, 4 - declined);
  free(dx2); free(dxf);
  gf__ctx_destroy(&ctx);
  gf__net_free(&net);
  free(xf); free(Rf); free(x); free(R); free(y); free(w); free(b);
}

int main(void) {
  char what[160];
  unsetenv("GANFORGE_PWINO"); /* the planner's own choices are tested below */
  /* Conv2d: kernels 1,3,4,7; strides 1,2; paddings 0,1,2; bias on/off; non-square; chunking */
  static const int conv[][9] = {
    /* N C H W OC k s p bias */
    {2, 2, 5, 6, 3, 1, 1, 0, 1}, {2, 2, 5, 6, 3, 3, 1, 1, 0}, {2, 3, 8, 8, 2, 4, 2, 1, 0},
    {3, 2, 7, 9, 3, 4, 2, 2, 1}, {2, 1, 7, 7, 2, 7, 1, 0, 1}, {2, 2, 9, 8, 3, 7, 2, 2, 0},
    {2, 2, 6, 5, 2, 3, 2, 0, 1}, {1, 3, 4, 4, 4, 4, 1, 0, 0}, {3, 2, 6, 6, 2, 3, 1, 2, 1},
    /* kernels over the whole input, stride 2 too; one that covers only the rows */
    {3, 4, 5, 5, 1, 5, 2, 0, 1}, {2, 2, 4, 6, 2, 4, 1, 0, 0},
    /* one input channel (DCGAN's first D layer on grey images: its weight gradient is lowered) */
    {2, 1, 8, 8, 3, 4, 2, 1, 1},
  };
  /* plans: im2col with its own chunk, chunks of 2 samples, bands of 1 and 2 output rows; the
     backend's library (oneDNN) where built with it */
  static const int plan_chunk[] = {0, 2, 0, 0, 0}, plan_rows[] = {0, 0, 1, 2, 0}, plan_lib[] = {0, 0, 0, 0, 1};
  const int nplans = gf__ops_cpu()->conv_lib ? 5 : 4;
  if (nplans == 4) printf("note: built without oneDNN: its convolution path is not tested here\n");
  for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++)
    for (int v = 0; v < nplans; v++) {
      const int *c = conv[i], chunk = plan_chunk[v], rows = plan_rows[v];
      spec t = {.kind = K_CONV, .N = c[0], .C = c[1], .H = c[2], .W = c[3], .OC = c[4], .kh = c[5], .kw = c[5],
                .s = c[6], .p = c[7], .bias = c[8], .chunk = chunk, .rows = rows, .lib = plan_lib[v]};
      snprintf(what, sizeof what, "conv2d N%d C%d %dx%d OC%d k%d s%d p%d bias%d chunk%d rows%d lib%d", t.N, t.C, t.H, t.W, t.OC,
               t.kh, t.s, t.p, t.bias, chunk, rows, t.lib);
      run(&t, what);
    }
  /* 3x3 stride 1 by Winograd F(4x4, 3x3): odd and even sizes, paddings 0..2, blocks of tiles
     that split tile rows and images (3) or hold several (32), a tile row longer than one
     transform piece (64 tiles: width 262) */
  static const int wconv[][9] = {
    /* N C H W OC k s p bias */
    {2, 2, 5, 6, 3, 3, 1, 1, 0}, {3, 2, 6, 6, 2, 3, 1, 2, 1}, {2, 3, 9, 7, 4, 3, 1, 1, 1},
    {1, 2, 4, 5, 3, 3, 1, 0, 0}, {2, 4, 8, 8, 5, 3, 1, 0, 1}, {1, 3, 3, 3, 2, 3, 1, 2, 0},
    {1, 2, 5, 262, 2, 3, 1, 1, 0}, {2, 3, 13, 11, 3, 3, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof wconv / sizeof wconv[0]; i++)
    for (int tb = 3; tb <= 32; tb += 29) {
      const int *c = wconv[i];
      spec t = {.kind = K_CONV, .N = c[0], .C = c[1], .H = c[2], .W = c[3], .OC = c[4], .kh = c[5], .kw = c[5],
                .s = c[6], .p = c[7], .bias = c[8], .wino = tb};
      snprintf(what, sizeof what, "conv2d winograd N%d C%d %dx%d OC%d p%d bias%d tiles%d", t.N, t.C, t.H, t.W, t.OC, t.p, t.bias, tb);
      run(&t, what);
    }
  /* 4x4 stride 2 padding 1 by polyphase Winograd F(4x4, 2x2), Conv2d and ConvTranspose2d: output
     sides that are and are not multiples of the tile (8, 6 -> 3, 14 -> 7), non-square, bias on
     and off, blocks that split tile rows and images (3 tiles) or hold several (32), a tile row
     longer than one transform piece (width 520: 65 tiles) */
  static const int pconv[][7] = {
    /* N C H W OC bias (conv input / convT output sides) */
    {2, 2, 8, 8, 3, 0}, {3, 3, 6, 10, 2, 1}, {2, 2, 14, 14, 2, 0}, {1, 3, 16, 12, 4, 1}, {1, 2, 4, 520, 2, 0},
  };
  for (size_t i = 0; i < sizeof pconv / sizeof pconv[0]; i++)
    for (int tb = 3; tb <= 32; tb += 29)
      for (int kind = K_CONV; kind <= K_CONVT; kind++) {
        const int *c = pconv[i];
        spec t = {.kind = kind, .N = c[0], .C = c[1], .H = c[2], .W = c[3], .OC = c[4], .kh = 4, .kw = 4, .s = 2, .p = 1,
                  .bias = c[5], .pwino = tb};
        if (kind == K_CONVT) { t.H /= 2; t.W /= 2; } /* the transpose maps H/2 x W/2 back to H x W */
        snprintf(what, sizeof what, "%s polyphase winograd N%d C%d %dx%d OC%d bias%d tiles%d",
                 kind == K_CONV ? "conv2d" : "convt2d", t.N, t.C, t.H, t.W, t.OC, t.bias, tb);
        run(&t, what);
      }
  /* some passes by Winograd, the others by the library (as planned beside oneDNN), or lowered */
  for (int mask = 1; mask < 7; mask++)
    for (int kind = K_CONV; kind <= K_CONVT; kind++) {
      spec t = {.kind = kind, .N = 2, .C = 3, .H = 8, .W = 12, .OC = 2, .kh = 4, .kw = 4, .s = 2, .p = 1, .bias = 1,
                .pwino = 16, .pw_passes = mask};
      if (kind == K_CONVT) { t.H /= 2; t.W /= 2; }
      snprintf(what, sizeof what, "%s polyphase winograd passes %d + library", kind == K_CONV ? "conv2d" : "convt2d", mask);
      run(&t, what);
    }
  /* the planner picks it for DCGAN's layers (4x4 stride 2 padding 1, >= 32 channels, even sides):
     beside oneDNN for the forward and weight-gradient passes of grids of whole 4x4 tiles, without
     a library for every pass of every such layer */
  {
    const int lib = gf__ops_cpu()->conv_lib != NULL, two = 1 << GF_CONV_FWD | 1 << GF_CONV_BWD_W;
    const int plan[][6] = {/* conv? C H OC k passes */
                           {1, 32, 8, 32, 4, lib ? two : GF_PWINO_ALL}, {1, 32, 7, 32, 4, 0}, {1, 3, 8, 32, 4, 0},
                           {1, 32, 8, 32, 3, 0}, {1, 32, 12, 32, 4, lib ? 0 : GF_PWINO_ALL}, {0, 32, 4, 32, 4, lib ? two : GF_PWINO_ALL},
                           {0, 32, 4, 3, 4, 0}};
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
      gf__net pn;
      gf__net_init(&pn, gf__ops_cpu(), "P", plan[i][1], plan[i][2], plan[i][2]);
      int rc = plan[i][0] ? gf__net_add_conv2d(&pn, plan[i][3], plan[i][4], plan[i][4], 2, 2, 1, 1, 0)
                          : gf__net_add_convt2d(&pn, plan[i][3], plan[i][4], plan[i][4], 2, 2, 1, 1, 0, 0, 0);
      const int got = pn.layers[0].pwino > 0 ? pn.layers[0].pwino_passes : 0;
      CHECK(rc == 0 && got == plan[i][5], "plan %zu: %s C%d %dx%d OC%d k%d: polyphase winograd passes %d, want %d", i,
            plan[i][0] ? "conv" : "convt", plan[i][1], plan[i][2], plan[i][2], plan[i][3], plan[i][4], got, plan[i][5]);
      gf__net_free(&pn);
    }
    /* beside the library, a batch with few 4x4 output tiles goes to the library instead (pix2pix at
       batch 1), one with many to Winograd: the forward of a 32 -> 32 conv over 8x8 (one tile per
       image) at batch 1 and at batch 64 */
    if (lib) {
      gf__net pn;
      gf__net_init(&pn, gf__ops_cpu(), "P", 32, 8, 8);
      CHECK(gf__net_add_conv2d(&pn, 32, 4, 4, 2, 2, 1, 1, 0) == 0 && gf__net_finalize(&pn) == 0, "tiles: build");
      gf__ctx pc;
      CHECK(gf__ctx_create(&pc, &pn, 64) == 0, "tiles: context");
      float *px = gf__ops_cpu()->alloc(sizeof(float) * 64 * 32 * 8 * 8);
      long before = gf__cpu_conv_lib_count();
      gf__net_forward(&pn, &pc, px, 1, 1, NULL);
      long one = gf__cpu_conv_lib_count() - before;
      before = gf__cpu_conv_lib_count();
      gf__net_forward(&pn, &pc, px, 64, 1, NULL);
      long many = gf__cpu_conv_lib_count() - before;
      CHECK(pn.layers[0].pwino > 0 && one == 1 && many == 0,
            "tiles: forward passes by the library: %ld at batch 1 (want 1), %ld at batch 64 (want 0)", one, many);
      gf__ops_cpu()->free(px);
      gf__ctx_destroy(&pc);
      gf__net_free(&pn);
    }
  }
  /* direct loops: stride 1, 1-4 output channels, paddings 0..3, widths across a 256 block */
  static const int dconv[][9] = {
    /* N C H W OC k s p bias */
    {2, 3, 9, 8, 3, 7, 1, 0, 1}, {2, 2, 6, 7, 1, 4, 1, 1, 1}, {1, 4, 5, 5, 4, 3, 1, 2, 0},
    {2, 2, 7, 6, 2, 7, 1, 3, 0}, {1, 2, 3, 260, 3, 3, 1, 1, 1}, {2, 2, 5, 5, 2, 1, 1, 0, 0},
    {1, 6, 3, 40, 3, 7, 1, 3, 1}, /* input-gradient tiles of 4 + 2 channels between edge columns */
  };
  for (size_t i = 0; i < sizeof dconv / sizeof dconv[0]; i++) {
    const int *c = dconv[i];
    spec t = {.kind = K_CONV, .N = c[0], .C = c[1], .H = c[2], .W = c[3], .OC = c[4], .kh = c[5], .kw = c[5],
              .s = c[6], .p = c[7], .bias = c[8], .direct = 1};
    snprintf(what, sizeof what, "conv2d direct N%d C%d %dx%d OC%d k%d p%d bias%d", t.N, t.C, t.H, t.W, t.OC, t.kh, t.p, t.bias);
    run(&t, what);
  }
  /* ConvTranspose2d: also output_padding 0/1 (< stride) */
  static const int convt[][10] = {
    /* N C H W OC k s p op bias */
    {2, 2, 3, 4, 3, 1, 1, 0, 0, 1}, {2, 2, 4, 3, 3, 3, 1, 1, 0, 0}, {2, 3, 4, 4, 2, 4, 2, 1, 0, 0},
    {3, 2, 3, 3, 2, 4, 2, 2, 1, 1}, {2, 3, 1, 1, 4, 7, 1, 0, 0, 0}, {2, 2, 3, 3, 2, 3, 2, 1, 1, 1},
    {2, 4, 1, 1, 3, 4, 1, 0, 0, 1}, {3, 2, 4, 5, 2, 7, 2, 2, 1, 0}, {2, 2, 3, 3, 2, 3, 2, 0, 0, 0},
    /* 1x1 inputs: one matrix product when the output is one kernel footprint (stride 2 too); with
       output padding or padding it is not, and the general path runs */
    {3, 3, 1, 1, 2, 4, 2, 0, 0, 1}, {2, 3, 1, 1, 2, 4, 2, 0, 1, 0}, {2, 2, 1, 1, 2, 4, 1, 1, 0, 1},
    /* to one channel (DCGAN's last G layer on grey images) */
    {2, 3, 4, 4, 1, 4, 2, 1, 0, 1},
  };
  for (size_t i = 0; i < sizeof convt / sizeof convt[0]; i++)
    for (int v = 0; v < nplans; v++) {
      const int *c = convt[i], chunk = plan_chunk[v], rows = plan_rows[v];
      spec t = {.kind = K_CONVT, .N = c[0], .C = c[1], .H = c[2], .W = c[3], .OC = c[4], .kh = c[5], .kw = c[5],
                .s = c[6], .p = c[7], .op = c[8], .bias = c[9], .chunk = chunk, .rows = rows, .lib = plan_lib[v]};
      snprintf(what, sizeof what, "convt2d N%d C%d %dx%d OC%d k%d s%d p%d op%d bias%d chunk%d rows%d lib%d", t.N, t.C, t.H, t.W,
               t.OC, t.kh, t.s, t.p, t.op, t.bias, chunk, rows, t.lib);
      run(&t, what);
    }
  for (int affine = 0; affine <= 1; affine++) {
    spec t = {.kind = K_IN, .N = 3, .C = 2, .H = 4, .W = 5, .affine = affine};
    snprintf(what, sizeof what, "instancenorm2d affine%d", affine);
    run(&t, what);
    spec u = {.kind = K_BN, .N = 3, .C = 2, .H = 3, .W = 4, .affine = affine};
    snprintf(what, sizeof what, "batchnorm2d affine%d", affine);
    run(&u, what);
  }
  spec p1 = {.kind = K_PAD, .N = 2, .C = 2, .H = 4, .W = 5, .pad = {1, 1, 1, 1}};
  run(&p1, "reflectionpad2d 1");
  spec p2 = {.kind = K_PAD, .N = 1, .C = 2, .H = 5, .W = 4, .pad = {3, 2, 1, 3}};
  run(&p2, "reflectionpad2d (3,2,1,3)");
  /* bad geometry is refused with a message */
  gf__net net;
  gf__net_init(&net, gf__ops_cpu(), "L", 1, 3, 3);
  CHECK(gf__net_add_conv2d(&net, 2, 5, 5, 1, 1, 0, 0, 0) < 0, "5x5 kernel on 3x3 input");
  CHECK(gf__net_add_convt2d(&net, 2, 4, 4, 2, 2, 1, 1, 2, 2, 0) < 0, "output_padding >= stride");
  CHECK(gf__net_add_reflpad(&net, 3, 0, 0, 0) < 0, "reflection pad >= size");
  CHECK(net.n == 0, "failed adds leave no layer");
  return gf_t_done();
}
