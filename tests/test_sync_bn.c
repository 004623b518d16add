/* test_sync_bn.c: BatchNorm over the ranks of a data-parallel job (train.sync_bn), without MPI: two
   threads play two ranks, each with its own copy of a net and half of a batch, and the contexts'
   reduce hook sums the per-channel statistics between them. Against one net on the whole batch:
   the outputs, the running statistics, the averaged parameter gradients and the input gradients
   (twice the reference's: a rank's loss is the mean over its half) agree to float rounding; the
   hook is called for every BatchNorm layer; a context without the hook keeps per-rank statistics
   (so the test would notice the hook being ignored). Also the ops' per-channel sums directly. */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "ganforge/error.h"
#include "core/rng.h"
#include "nn/nn.h"

#define B 8
#define MAXN 4096

static const gf__ops *O;

typedef struct world {
  pthread_barrier_t bar;
  float buf[2][MAXN];
  int calls[2];
} world;

typedef struct rank_arg {
  world *w;
  int rank, hook;
  gf__net *net;
  const float *x;    /* [B/2, in] host */
  const float *wout; /* [B/2, out] host: loss weights */
  float *y, *dx;     /* host results */
} rank_arg;

static int fake_reduce(void *u, float *x, size_t n) {
  rank_arg *a = u;
  world *w = a->w;
  if (n > MAXN) return -1;
  O->to_host(w->buf[a->rank], x, sizeof(float) * n);
  w->calls[a->rank]++;
  pthread_barrier_wait(&w->bar);
  float s[MAXN];
  for (size_t i = 0; i < n; i++) s[i] = w->buf[0][i] + w->buf[1][i];
  pthread_barrier_wait(&w->bar);
  O->to_device(x, s, sizeof(float) * n);
  return 2;
}

/* One training application: forward, loss sum(wout * y) / (B/2), backward with input gradient. */
static void *run_rank(void *u) {
  rank_arg *a = u;
  gf__net *net = a->net;
  int b = B / 2;
  long in = gf__net_in_size(net), out = gf__net_out_size(net);
  gf__ctx ctx;
  if (gf__ctx_create(&ctx, net, b) < 0) return NULL;
  if (a->hook) {
    ctx.reduce = fake_reduce;
    ctx.reduce_user = a;
  }
  float *xd = O->alloc(sizeof(float) * (size_t)b * in), *dxd = O->alloc(sizeof(float) * (size_t)b * in);
  O->to_device(xd, a->x, sizeof(float) * (size_t)b * in);
  const float *y = gf__net_forward(net, &ctx, xd, b, 1, NULL);
  O->to_host(a->y, y, sizeof(float) * (size_t)b * out);
  float *dl = malloc(sizeof(float) * (size_t)b * out);
  for (long i = 0; i < b * out; i++) dl[i] = a->wout[i] / b;
  O->to_device(gf__ctx_dout(net, &ctx), dl, sizeof(float) * (size_t)b * out);
  gf__net_backward(net, &ctx, dxd, GF_GRAD_OVERWRITE);
  O->to_host(a->dx, dxd, sizeof(float) * (size_t)b * in);
  free(dl);
  O->free(xd);
  O->free(dxd);
  gf__ctx_destroy(&ctx);
  return NULL;
}

static int build(gf__net *net, int conv) {
  if (conv) {
    gf__net_init(net, O, "C", 3, 6, 6);
    if (gf__net_add_conv2d(net, 5, 3, 3, 1, 1, 1, 1, 0) < 0) return -1;
    if (gf__net_add_batchnorm(net, 1, 1e-5f, 0.1f) < 0) return -1;
    if (gf__net_add_act(net, GF_ACT_LEAKY_RELU, 0.2f) < 0) return -1;
    if (gf__net_add_conv2d(net, 4, 4, 4, 2, 2, 1, 1, 0) < 0) return -1;
    if (gf__net_add_batchnorm(net, 1, 1e-5f, 0.1f) < 0) return -1;
    if (gf__net_add_act(net, GF_ACT_TANH, 0) < 0) return -1;
  } else {
    gf__net_init(net, O, "M", 7, 1, 1);
    if (gf__net_add_linear(net, 6, 1) < 0) return -1;
    if (gf__net_add_batchnorm(net, 1, 1e-5f, 0.1f) < 0) return -1;
    if (gf__net_add_act(net, GF_ACT_RELU, 0) < 0) return -1;
    if (gf__net_add_linear(net, 3, 1) < 0) return -1;
    if (gf__net_add_batchnorm(net, 0, 1e-5f, 0.1f) < 0) return -1;
  }
  return gf__net_finalize(net);
}

static double rel(const float *a, const float *b, long n, double scale_mul) {
  double d = 0, m = 0;
  for (long i = 0; i < n; i++) {
    double e = fabs(a[i] * scale_mul - b[i]);
    if (e > d) d = e;
    if (fabs(b[i]) > m) m = fabs(b[i]);
  }
  return m > 0 ? d / m : d;
}

static void test_net(int conv, int hook) {
  const char *what = conv ? "conv-BN2d net" : "linear-BN1d net";
  gf__net ref, r0, r1;
  if (build(&ref, conv) < 0 || build(&r0, conv) < 0 || build(&r1, conv) < 0) {
    CHECK(0, "%s: build: %s", what, gf_last_error());
    return;
  }
  gf__rng rng;
  gf__rng_init(&rng, 11, GF_STREAM_INIT);
  gf__net_init_params(&ref, &rng, 0.1f);
  O->copy(r0.params, ref.params, (size_t)ref.nparam);
  O->copy(r1.params, ref.params, (size_t)ref.nparam);
  long in = gf__net_in_size(&ref), out = gf__net_out_size(&ref);
  float *x = malloc(sizeof(float) * B * in), *wo = malloc(sizeof(float) * B * out);
  gf__rng_init(&rng, 12, GF_STREAM_EVAL);
  gf__rng_uniform(&rng, x, (long)B * in, -1, 2); /* a non-zero mean: the variance pass matters */
  gf__rng_uniform(&rng, wo, (long)B * out, -1, 1);
  /* the reference: the whole batch, loss mean over B */
  gf__ctx ctx;
  gf__ctx_create(&ctx, &ref, B);
  float *xd = O->alloc(sizeof(float) * B * in), *dxd = O->alloc(sizeof(float) * B * in);
  O->to_device(xd, x, sizeof(float) * B * in);
  const float *yd = gf__net_forward(&ref, &ctx, xd, B, 1, NULL);
  float *yref = gf_t_host_copy(O, yd, B * out);
  float *dl = malloc(sizeof(float) * B * out);
  for (long i = 0; i < B * out; i++) dl[i] = wo[i] / B;
  O->to_device(gf__ctx_dout(&ref, &ctx), dl, sizeof(float) * B * out);
  gf__net_backward(&ref, &ctx, dxd, GF_GRAD_OVERWRITE);
  float *dxref = gf_t_host_copy(O, dxd, B * in);
  /* two ranks, half the batch each */
  world w;
  memset(&w, 0, sizeof w);
  pthread_barrier_init(&w.bar, NULL, 2);
  float *y = malloc(sizeof(float) * B * out), *dx = malloc(sizeof(float) * B * in);
  rank_arg a[2];
  gf__net *nets[2] = {&r0, &r1};
  pthread_t th[2];
  for (int r = 0; r < 2; r++) {
    a[r] = (rank_arg){&w, r, hook, nets[r], x + (long)r * (B / 2) * in, wo + (long)r * (B / 2) * out,
                      y + (long)r * (B / 2) * out, dx + (long)r * (B / 2) * in};
    pthread_create(&th[r], NULL, run_rank, &a[r]);
  }
  for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
  int nbn = 0;
  for (int i = 0; i < ref.n; i++) nbn += ref.layers[i].kind == GF_LAYER_BATCHNORM;
  /* averaged parameter gradients, running statistics of each rank */
  float *g0 = gf_t_host_copy(O, r0.grads, ref.nparam), *g1 = gf_t_host_copy(O, r1.grads, ref.nparam);
  float *gref = gf_t_host_copy(O, ref.grads, ref.nparam);
  for (long i = 0; i < ref.nparam; i++) g0[i] = 0.5f * (g0[i] + g1[i]);
  float *b0 = gf_t_host_copy(O, r0.buffers, ref.nbuf), *b1 = gf_t_host_copy(O, r1.buffers, ref.nbuf);
  float *bref = gf_t_host_copy(O, ref.buffers, ref.nbuf);
  double ey = rel(y, yref, B * out, 1), edx = rel(dx, dxref, B * in, 0.5), eg = rel(g0, gref, ref.nparam, 1);
  double eb = fmax(rel(b0, bref, ref.nbuf, 1), rel(b1, bref, ref.nbuf, 1));
  if (hook) {
    CHECK(w.calls[0] == 3 * nbn && w.calls[1] == 3 * nbn, "%s: %d BatchNorm layers reduce twice forward and once "
          "backward: calls %d / %d", what, nbn, w.calls[0], w.calls[1]);
    CHECK(ey < 2e-6, "%s: outputs of the halves vs the whole batch: %.3g", what, ey);
    CHECK(edx < 2e-5, "%s: input gradients (halved) vs the whole batch: %.3g", what, edx);
    CHECK(eg < 2e-5, "%s: averaged parameter gradients vs the whole batch: %.3g", what, eg);
    CHECK(eb < 2e-6, "%s: running statistics vs the whole batch: %.3g", what, eb);
    printf("%s: relative differences y %.2g, dx %.2g, grads %.2g, running stats %.2g\n", what, ey, edx, eg, eb);
  } else {
    CHECK(w.calls[0] == 0, "%s: no hook, no reduce", what);
    CHECK(ey > 1e-3 && eb > 1e-4, "%s: per-rank statistics differ from the whole batch's (y %.3g, stats %.3g)", what,
          ey, eb);
  }
  pthread_barrier_destroy(&w.bar);
  free(x), free(wo), free(yref), free(dl), free(dxref), free(y), free(dx);
  free(g0), free(g1), free(gref), free(b0), free(b1), free(bref);
  O->free(xd);
  O->free(dxd);
  gf__ctx_destroy(&ctx);
  gf__net_free(&ref);
  gf__net_free(&r0);
  gf__net_free(&r1);
}

/* norm_sums / norm_bwd_sums against double sums */
static void test_sums(void) {
  int N = 3, C = 4, S = 5;
  long n = (long)N * C * S;
  float *x = malloc(sizeof(float) * n), *dy = malloc(sizeof(float) * n);
  gf__rng r;
  gf__rng_init(&r, 5, GF_STREAM_EVAL);
  gf__rng_uniform(&r, x, n, -1, 3);
  gf__rng_uniform(&r, dy, n, -1, 1);
  float mean[4] = {0.5f, 1, -0.25f, 0}, rstd[4] = {2, 0.5f, 1, 3}, s1[4], s2[4], sb[8];
  O->norm_sums(s1, x, NULL, N, C, S);
  O->norm_sums(s2, x, mean, N, C, S);
  O->norm_bwd_sums(sb, dy, x, mean, rstd, N, C, S);
  double worst = 0;
  for (int c = 0; c < C; c++) {
    double a = 0, b = 0, d = 0, e = 0;
    for (int i = 0; i < N; i++)
      for (int k = 0; k < S; k++) {
        double v = x[((long)i * C + c) * S + k], g = dy[((long)i * C + c) * S + k];
        a += v, b += (v - mean[c]) * (v - mean[c]), d += g, e += g * (v - mean[c]) * rstd[c];
      }
    worst = fmax(worst, fabs(s1[c] - a) / (1 + fabs(a)));
    worst = fmax(worst, fabs(s2[c] - b) / (1 + fabs(b)));
    worst = fmax(worst, fabs(sb[c] - d) / (1 + fabs(d)));
    worst = fmax(worst, fabs(sb[C + c] - e) / (1 + fabs(e)));
  }
  CHECK(worst < 1e-6, "per-channel sums against double sums: %.3g", worst);
  free(x);
  free(dy);
}

int main(void) {
  O = gf__ops_cpu();
  test_sums();
  for (int conv = 0; conv < 2; conv++) {
    test_net(conv, 1);
    test_net(conv, 0);
  }
  return gf_t_done();
}
