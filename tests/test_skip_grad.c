/* test_skip_grad.c: the skip-connection layers (residual begin/end, channel concat, branch tap / sum)
   and grouped / depth-wise convolutions inside small
   networks, against an independent double-precision interpreter of the same layer list: forward
   outputs, and ganforge's float32 backward (input and every parameter gradient) against central
   differences of the reference; shape checks and the PyTorch-style tensor names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ganforge/ganforge.h"
#include "harness.h"
#include "nn/nn.h"

/* Reference layer list: kind, and for conv: oc k s p bias (groups g, 0: 1); src for skips; R_INA: affine
   InstanceNorm; R_TAP: branch start from out[src]; R_ADD: x + out[src]. */
enum { R_CONV, R_TANH, R_LRELU, R_IN, R_RB, R_RE, R_CAT, R_PAD1, R_INA, R_TAP, R_ADD };
typedef struct rl { int kind, oc, k, s, p, bias, src, g; } rl;

typedef struct shape { int c, h, w; } shape;

typedef struct refnet {
  const rl *L;
  int n, N;
  shape in, out[40];
  long w_off[40], b_off[40];
} refnet;

static int refl(int p, int n) { return p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p; }

/* Forward in double; acts[i] = output of layer i ([N, c, h, w]). Returns the last output. */
static double *ref_forward(const refnet *r, const double *x, const double *P, double **acts) {
  const double *cur = x;
  shape s = r->in;
  int N = r->N;
  for (int i = 0; i < r->n; i++) {
    const rl *l = &r->L[i];
    shape o = r->out[i];
    double *y = acts[i];
    size_t ny = (size_t)N * o.c * o.h * o.w;
    switch (l->kind) {
    case R_CONV: {
      const double *w = P + r->w_off[i], *b = l->bias ? P + r->b_off[i] : NULL;
      const int G = l->g > 0 ? l->g : 1, Cg = s.c / G, OCg = o.c / G;
      for (int n = 0; n < N; n++) for (int oc = 0; oc < o.c; oc++) for (int oy = 0; oy < o.h; oy++) for (int ox = 0; ox < o.w; ox++) {
        double acc = b ? b[oc] : 0;
        for (int cg = 0; cg < Cg; cg++) for (int a = 0; a < l->k; a++) for (int bb = 0; bb < l->k; bb++) {
          int iy = oy * l->s - l->p + a, ix = ox * l->s - l->p + bb, c = oc / OCg * Cg + cg;
          if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
          acc += w[((oc * Cg + cg) * l->k + a) * l->k + bb] * cur[((n * s.c + c) * s.h + iy) * s.w + ix];
        }
        y[((n * o.c + oc) * o.h + oy) * o.w + ox] = acc;
      }
      break;
    }
    case R_TANH: for (size_t k = 0; k < ny; k++) y[k] = tanh(cur[k]); break;
    case R_LRELU: for (size_t k = 0; k < ny; k++) y[k] = cur[k] > 0 ? cur[k] : 0.2 * cur[k]; break;
    case R_IN:
    case R_INA: {
      int S = s.h * s.w;
      const double *ga = l->kind == R_INA ? P + r->w_off[i] : NULL, *be = l->kind == R_INA ? P + r->b_off[i] : NULL;
      for (int g = 0; g < N * s.c; g++) {
        double mu = 0, var = 0;
        for (int k = 0; k < S; k++) mu += cur[g * S + k];
        mu /= S;
        for (int k = 0; k < S; k++) var += (cur[g * S + k] - mu) * (cur[g * S + k] - mu);
        double rs = 1 / sqrt(var / S + 1e-5);
        for (int k = 0; k < S; k++)
          y[g * S + k] = ga ? (cur[g * S + k] - mu) * rs * ga[g % s.c] + be[g % s.c] : (cur[g * S + k] - mu) * rs;
      }
      break;
    }
    case R_PAD1:
      for (int g = 0; g < N * s.c; g++) for (int oy = 0; oy < o.h; oy++) for (int ox = 0; ox < o.w; ox++)
        y[(g * o.h + oy) * o.w + ox] = cur[(g * s.h + refl(oy - 1, s.h)) * s.w + refl(ox - 1, s.w)];
      break;
    case R_RB: memcpy(y, cur, sizeof(double) * ny); break;
    case R_RE:
    case R_ADD: for (size_t k = 0; k < ny; k++) y[k] = cur[k] + acts[l->src][k]; break;
    case R_TAP: memcpy(y, acts[l->src], sizeof(double) * ny); break;
    case R_CAT: {
      size_t ns = (size_t)r->out[l->src].c * o.h * o.w, nx = (size_t)s.c * s.h * s.w;
      for (int n = 0; n < N; n++) {
        memcpy(y + n * (ns + nx), acts[l->src] + n * ns, sizeof(double) * ns);
        memcpy(y + n * (ns + nx) + ns, cur + n * nx, sizeof(double) * nx);
      }
      break;
    }
    }
    cur = y;
    s = o;
  }
  return acts[r->n - 1];
}

static int build(gf__net *net, refnet *r, const rl *L, int n, int N, shape in) {
  gf__net_init(net, gf__ops_cpu(), "T", in.c, in.h, in.w);
  r->L = L; r->n = n; r->N = N; r->in = in;
  for (int i = 0; i < n; i++) {
    const rl *l = &L[i];
    int rc = 0;
    switch (l->kind) {
    case R_CONV: rc = gf__net_add_conv2d_grouped(net, l->oc, l->k, l->k, l->s, l->s, l->p, l->p, l->g > 0 ? l->g : 1, l->bias); break;
    case R_INA: rc = gf__net_add_instnorm(net, 1, 1e-5f); break;
    case R_TAP: rc = gf__net_add_tap(net, l->src); break;
    case R_ADD: rc = gf__net_add_add(net, l->src); break;
    case R_TANH: rc = gf__net_add_act(net, GF_ACT_TANH, 0); break;
    case R_LRELU: rc = gf__net_add_act(net, GF_ACT_LEAKY_RELU, 0.2f); break;
    case R_IN: rc = gf__net_add_instnorm(net, 0, 1e-5f); break;
    case R_PAD1: rc = gf__net_add_reflpad(net, 1, 1, 1, 1); break;
    case R_RB: rc = gf__net_add_res_begin(net); break;
    case R_RE: rc = gf__net_add_res_end(net); break;
    case R_CAT: rc = gf__net_add_concat(net, l->src); break;
    }
    if (rc < 0) return rc;
    const gf__layer *g = &net->layers[i];
    r->out[i] = (shape){g->out_c, g->out_h, g->out_w};
  }
  int rc = gf__net_finalize(net);
  for (int i = 0; i < n; i++) {
    r->w_off[i] = net->layers[i].w_off;
    r->b_off[i] = net->layers[i].b_off;
  }
  return rc;
}

/* A second loss term on an intermediate output (gf__ctx.ginj): sum(out[inj_layer] * inj_q). */
static int inj_layer = -1;
static const double *inj_q;
static size_t inj_n;

static double loss(const refnet *r, const double *x, const double *P, double **acts, const double *R, size_t ny) {
  const double *y = ref_forward(r, x, P, acts);
  double l = 0;
  for (size_t k = 0; k < ny; k++) l += y[k] * R[k];
  if (inj_layer >= 0)
    for (size_t k = 0; k < inj_n; k++) l += acts[inj_layer][k] * inj_q[k];
  return l;
}

static void check_fd(const char *what, const char *name, double *v, long nv, const float *g, const refnet *r,
                     const double *x, const double *P, double **acts, const double *R, size_t ny) {
  double h = 1e-5, maxg = 0;
  double *fd = malloc(sizeof(double) * (size_t)nv);
  for (long k = 0; k < nv; k++) {
    double v0 = v[k];
    v[k] = v0 + h;
    double lp = loss(r, x, P, acts, R, ny);
    v[k] = v0 - h;
    double lm = loss(r, x, P, acts, R, ny);
    v[k] = v0;
    fd[k] = (lp - lm) / (2 * h);
    maxg = fmax(maxg, fabs(fd[k]));
  }
  long bad = -1;
  for (long k = 0; k < nv && bad < 0; k++)
    if (fabs(g[k] - fd[k]) > 2e-4 * maxg + 1e-3 * fabs(fd[k]) + 1e-6) bad = k;
  CHECK(bad < 0, "%s %s gradient: element %ld: float32 %.8g vs finite differences %.8g (max |g| %.3g)", what, name, bad,
        bad >= 0 ? g[bad] : 0.0, bad >= 0 ? fd[bad] : 0.0, maxg);
  free(fd);
}

static void run(const char *what, const rl *L, int n, int N, shape in) {
  gf__net net;
  refnet r;
  int rc = build(&net, &r, L, n, N, in);
  CHECK(rc == 0, "%s: build: %s", what, gf_last_error());
  if (rc) return;
  shape o = r.out[n - 1];
  size_t nx = (size_t)N * in.c * in.h * in.w, ny = (size_t)N * o.c * o.h * o.w;
  gf__rng rng;
  gf__rng_init(&rng, 99, 7);
  float *xf = malloc(sizeof(float) * nx), *Rf = malloc(sizeof(float) * ny);
  gf__rng_normal(&rng, xf, (long)nx, 0, 1);
  gf__rng_normal(&rng, Rf, (long)ny, 0, 1);
  gf__rng_normal(&rng, net.params, net.nparam, 0, 0.4f);
  double *x = malloc(sizeof(double) * nx), *R = malloc(sizeof(double) * ny), *P = malloc(sizeof(double) * (size_t)(net.nparam + 1));
  for (size_t k = 0; k < nx; k++) x[k] = xf[k];
  for (size_t k = 0; k < ny; k++) R[k] = Rf[k];
  for (long k = 0; k < net.nparam; k++) P[k] = net.params[k];
  double *acts[40];
  for (int i = 0; i < n; i++) acts[i] = malloc(sizeof(double) * (size_t)N * r.out[i].c * r.out[i].h * r.out[i].w);

  gf__ctx ctx;
  CHECK(gf__ctx_create(&ctx, &net, N) == 0, "%s: ctx", what);
  /* the input buffer must survive: in-place layers never touch it */
  const float *yf = gf__net_forward(&net, &ctx, xf, N, 1, NULL);
  const double *y = ref_forward(&r, x, P, acts);
  double maxy = 0, maxe = 0;
  for (size_t k = 0; k < ny; k++) {
    maxy = fmax(maxy, fabs(y[k]));
    maxe = fmax(maxe, fabs(yf[k] - y[k]));
  }
  CHECK(maxe <= 1e-5 * maxy + 1e-5, "%s: forward max error %.3g (max |y| %.3g)", what, maxe, maxy);
  gf__net_zero_grad(&net);
  gf__ctx_zero_dout(&net, &ctx);
  memcpy(gf__ctx_dout(&net, &ctx), Rf, sizeof(float) * ny);
  float *dxf = calloc(nx, sizeof(float));
  gf__net_backward(&net, &ctx, dxf, 1);
  check_fd(what, "input", x, (long)nx, dxf, &r, x, P, acts, R, ny);
  char nm[64];
  for (int i = 0; i < n; i++) {
    if (r.w_off[i] >= 0) {
      snprintf(nm, sizeof nm, "layer %d weight", i);
      check_fd(what, nm, P + r.w_off[i], net.layers[i].w_n, net.grads + r.w_off[i], &r, x, P, acts, R, ny);
    }
    if (r.b_off[i] >= 0) {
      snprintf(nm, sizeof nm, "layer %d bias", i);
      check_fd(what, nm, P + r.b_off[i], net.layers[i].b_n, net.grads + r.b_off[i], &r, x, P, acts, R, ny);
    }
  }
  /* a second application in another context, then backward of both: gradients double */
  gf__ctx c2;
  CHECK(gf__ctx_create(&c2, &net, N) == 0, "%s: ctx2", what);
  float *g1 = malloc(sizeof(float) * (size_t)net.nparam);
  memcpy(g1, net.grads, sizeof(float) * (size_t)net.nparam);
  gf__net_zero_grad(&net);
  gf__net_forward(&net, &c2, xf, N, 1, NULL);
  gf__net_forward(&net, &ctx, xf, N, 1, NULL);
  memcpy(gf__ctx_dout(&net, &ctx), Rf, sizeof(float) * ny);
  memcpy(gf__ctx_dout(&net, &c2), Rf, sizeof(float) * ny);
  gf__net_backward(&net, &c2, NULL, 1);
  gf__net_backward(&net, &ctx, NULL, 1);
  double err = 0;
  for (long k = 0; k < net.nparam; k++) err = fmax(err, fabs(net.grads[k] - 2 * g1[k]) / (1e-3 + fabs(g1[k])));
  CHECK(err < 1e-3, "%s: two contexts: gradients do not add up (rel err %.3g)", what, err);
  free(g1);
  /* a loss on an intermediate output too (a distillation term): its gradient injected there */
  {
    const int k = n / 2;
    const size_t nk = (size_t)N * r.out[k].c * r.out[k].h * r.out[k].w;
    float *qf = malloc(sizeof(float) * nk);
    double *q = malloc(sizeof(double) * nk);
    gf__rng_normal(&rng, qf, (long)nk, 0, 1);
    for (size_t j = 0; j < nk; j++) q[j] = qf[j];
    gf__net_forward(&net, &ctx, xf, N, 1, NULL);
    memcpy(gf__ctx_dout(&net, &ctx), Rf, sizeof(float) * ny);
    ctx.ginj[k] = qf;
    memset(dxf, 0, sizeof(float) * nx);
    gf__net_backward(&net, &ctx, dxf, GF_GRAD_OVERWRITE);
    ctx.ginj[k] = NULL;
    inj_layer = k; inj_q = q; inj_n = nk;
    snprintf(nm, sizeof nm, "input (loss on layer %d too)", k);
    check_fd(what, nm, x, (long)nx, dxf, &r, x, P, acts, R, ny);
    for (int i = 0; i < k; i++)
      if (r.w_off[i] >= 0) {
        snprintf(nm, sizeof nm, "layer %d weight (loss on layer %d too)", i, k);
        check_fd(what, nm, P + r.w_off[i], net.layers[i].w_n, net.grads + r.w_off[i], &r, x, P, acts, R, ny);
        break;
      }
    inj_layer = -1;
    free(qf); free(q);
  }
  gf__ctx_destroy(&c2);
  gf__ctx_destroy(&ctx);
  gf__net_free(&net);
  for (int i = 0; i < n; i++) free(acts[i]);
  free(xf); free(Rf); free(x); free(R); free(P); free(dxf);
}

int main(void) {
  /* nested residual blocks, as the ResNet generator's ResBlocks (reflection pad, IN inside) */
  static const rl res[] = {
    {R_CONV, 3, 3, 1, 1, 1, 0, 0}, {R_RB, 0, 0, 0, 0, 0, 0, 0}, {R_PAD1, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 3, 3, 1, 0, 1, 0, 0},
    {R_IN, 0, 0, 0, 0, 0, 0, 0}, {R_TANH, 0, 0, 0, 0, 0, 0, 0}, {R_RB, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 3, 3, 1, 1, 0, 0, 0},
    {R_TANH, 0, 0, 0, 0, 0, 0, 0}, {R_RE, 0, 0, 0, 0, 0, 6, 0}, {R_RE, 0, 0, 0, 0, 0, 1, 0}, {R_RB, 0, 0, 0, 0, 0, 0, 0},
    {R_CONV, 3, 3, 1, 1, 1, 0, 0}, {R_RE, 0, 0, 0, 0, 0, 11, 0}, {R_TANH, 0, 0, 0, 0, 0, 0, 0},
  };
  run("residual (nested, consecutive)", res, (int)(sizeof res / sizeof res[0]), 2, (shape){2, 5, 4});
  /* U-Net style: the skip source is an activation applied in place to a conv output; a strided
     conv goes down, the concat joins an equal-size output; two nested concats */
  static const rl cat[] = {
    {R_CONV, 3, 3, 1, 1, 1, 0, 0}, {R_LRELU, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 4, 3, 1, 1, 0, 0, 0}, {R_TANH, 0, 0, 0, 0, 0, 0, 0},
    {R_CONV, 2, 3, 1, 1, 1, 0, 0}, {R_CAT, 0, 0, 0, 0, 0, 3, 0}, {R_TANH, 0, 0, 0, 0, 0, 0, 0}, {R_CAT, 0, 0, 0, 0, 0, 1, 0},
    {R_CONV, 2, 3, 2, 1, 1, 0, 0},
  };
  run("concat (nested, in-place source)", cat, (int)(sizeof cat / sizeof cat[0]), 2, (shape){2, 6, 5});
  static const rl cat0[] = {{R_TANH, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 2, 3, 1, 1, 1, 0, 0}, {R_CAT, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 1, 1, 1, 0, 1, 0, 0}};
  run("concat with the first layer", cat0, 4, 3, (shape){1, 4, 4});
  /* grouped convolutions: 2 groups; depth-wise with channel multiplier 2 and stride 2; depth-wise 5x5 */
  static const rl grp[] = {
    {R_CONV, 6, 3, 1, 1, 1, 0, 2}, {R_TANH, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 12, 3, 2, 1, 1, 0, 6},
    {R_LRELU, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 12, 5, 1, 2, 0, 0, 12}, {R_TANH, 0, 0, 0, 0, 0, 0, 0},
    {R_CONV, 3, 1, 1, 0, 1, 0, 3},
  };
  run("grouped and depth-wise convolutions", grp, (int)(sizeof grp / sizeof grp[0]), 2, (shape){4, 7, 6});
  /* an inception block (CAT): a plain branch, a depth-wise branch and a 1x1 branch of one input,
     summed, normalised, added to the input; affine InstanceNorms */
  static const rl inc[] = {
    {R_CONV, 4, 3, 1, 1, 1, 0, 0}, {R_RB, 0, 0, 0, 0, 0, 0, 0},
    {R_PAD1, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 3, 3, 1, 0, 1, 0, 0}, {R_INA, 0, 0, 0, 0, 0, 0, 0}, {R_LRELU, 0, 0, 0, 0, 0, 0, 0},
    {R_PAD1, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 4, 3, 1, 0, 1, 0, 0},
    {R_TAP, 0, 0, 0, 0, 0, 1, 0}, {R_CONV, 2, 1, 1, 0, 1, 0, 0}, {R_INA, 0, 0, 0, 0, 0, 0, 0}, {R_LRELU, 0, 0, 0, 0, 0, 0, 0},
    {R_PAD1, 0, 0, 0, 0, 0, 0, 0}, {R_CONV, 2, 3, 1, 0, 1, 0, 2}, {R_INA, 0, 0, 0, 0, 0, 0, 0}, {R_LRELU, 0, 0, 0, 0, 0, 0, 0},
    {R_CONV, 4, 1, 1, 0, 1, 0, 0}, {R_ADD, 0, 0, 0, 0, 0, 7, 0},
    {R_TAP, 0, 0, 0, 0, 0, 1, 0}, {R_CONV, 4, 1, 1, 0, 0, 0, 0}, {R_ADD, 0, 0, 0, 0, 0, 17, 0},
    {R_INA, 0, 0, 0, 0, 0, 0, 0}, {R_RE, 0, 0, 0, 0, 0, 1, 0}, {R_TANH, 0, 0, 0, 0, 0, 0, 0},
  };
  run("inception block (tap, sum, depth-wise)", inc, (int)(sizeof inc / sizeof inc[0]), 2, (shape){3, 5, 6});

  /* shape checks */
  gf__net net;
  gf__net_init(&net, gf__ops_cpu(), "S", 2, 8, 8);
  CHECK(gf__net_add_res_end(&net) < 0, "residual end without begin");
  CHECK(gf__net_add_concat(&net, 0) < 0, "concat without an earlier layer");
  CHECK(gf__net_add_res_begin(&net) == 0, "begin");
  CHECK(gf__net_add_conv2d(&net, 3, 3, 3, 1, 1, 1, 1, 1) == 0, "conv");
  CHECK(gf__net_add_res_end(&net) < 0, "residual with a channel change is refused");
  CHECK(gf__net_add_conv2d(&net, 2, 4, 4, 2, 2, 1, 1, 1) == 0, "conv s2");
  CHECK(gf__net_add_concat(&net, 1) < 0, "concat of 8x8 with 4x4 is refused");
  CHECK(gf__net_add_conv2d(&net, 2, 3, 3, 1, 1, 1, 1, 1) == 0, "conv s1");
  gf__net_name_last(&net, "net.%d.b.%d", 10, 1);
  CHECK(gf__net_add_concat(&net, 2) == 0, "concat 4x4 with 4x4");
  CHECK(net.layers[net.n - 1].out_c == 4, "concat channels %d", net.layers[net.n - 1].out_c);
  CHECK(gf__net_add_concat(&net, 2) < 0, "a second consumer of one source is refused");
  CHECK(gf__net_finalize(&net) == 0, "finalize");
  gf__tensor_ref refs[16];
  int m = gf__net_tensors(&net, refs, 16);
  CHECK(m == 6, "tensors %d", m);
  CHECK(m == 6 && !strcmp(refs[4].name, "S.net.10.b.1.weight"), "custom name %s", refs[4].name);
  CHECK(m == 6 && !strcmp(refs[0].name, "S.net.1.weight"), "default name %s", refs[0].name);
  gf__net_free(&net);
  /* branch checks */
  gf__net_init(&net, gf__ops_cpu(), "S", 4, 6, 6);
  CHECK(gf__net_add_conv2d_grouped(&net, 6, 3, 3, 1, 1, 1, 1, 4, 1) < 0, "6 outputs in 4 groups are refused");
  CHECK(gf__net_add_conv2d_grouped(&net, 4, 3, 3, 1, 1, 1, 1, 3, 1) < 0, "4 inputs in 3 groups are refused");
  CHECK(gf__net_add_tap(&net, 0) < 0, "a tap needs an earlier layer");
  CHECK(gf__net_add_conv2d_grouped(&net, 8, 3, 3, 1, 1, 1, 1, 4, 1) == 0, "depth-wise x2");
  CHECK(net.layers[0].w_n == 8 * 9, "depth-wise weight %ld", net.layers[0].w_n);
  CHECK(gf__net_add_conv2d(&net, 4, 1, 1, 1, 1, 0, 0, 1) == 0, "1x1");
  CHECK(gf__net_add_add(&net, 0) < 0, "a sum of 8 and 4 channels is refused");
  CHECK(gf__net_add_tap(&net, 0) == 0 && net.layers[2].out_c == 8, "tap takes its source's shape");
  CHECK(gf__net_finalize(&net) == 0, "finalize");
  m = gf__net_tensors(&net, refs, 16);
  CHECK(m == 4 && refs[0].shape[0] == 8 && refs[0].shape[1] == 1 && refs[0].shape[2] == 3, "depth-wise weight shape");
  gf__net_free(&net);
  return gf_t_done();
}
