/* test_profile.c: the per-layer profile of `ganforge bench --profile` (src/nn/profile.c): every
   layer pass is counted where it runs (forward, backward, the penalty's second order), the rows
   add up to the step, and the report names every layer of every network. */
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "harness.h"
#include "core/rng.h"
#include "nn/nn.h"

/* The number after `label` on the report line that starts with it (NAN when absent). */
static double line_value(const char *report, const char *label) {
  const char *p = report;
  size_t n = strlen(label);
  while (p && *p) {
    if (!strncmp(p, label, n)) {
      const char *q = p + n;
      while (*q == ' ') q++;
      return strtod(q, NULL);
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return NAN;
}

/* The fields of the report row of layer `name` (e.g. "D.net.0"); returns how many were read. */
static int row_fields(const char *report, const char *name, char fields[16][64]) {
  char key[80];
  snprintf(key, sizeof key, "\n%s ", name);
  const char *p = strstr(report, key);
  if (!p) return 0;
  p += strlen(key);
  const char *end = strchr(p, '\n');
  int k = 0;
  while (p < end && k < 16) {
    while (p < end && *p == ' ') p++;
    const char *s = p;
    while (p < end && *p != ' ') p++;
    if (p > s) snprintf(fields[k++], 64, "%.*s", (int)(p - s), s);
  }
  return k;
}

/* Rows of a hand-made net: one forward and one backward are one call each per layer. */
static void test_rows(void) {
  const gf__ops *o = gf__ops_cpu();
  gf__net net;
  gf__net_init(&net, o, "T", 3, 1, 1);
  gf__net_add_linear(&net, 4, 1);
  gf__net_add_act(&net, GF_ACT_TANH, 0.0f);
  gf__net_add_linear(&net, 2, 1);
  CHECK(gf__net_finalize(&net) == 0, "finalize: %s", gf_last_error());
  gf__rng r;
  gf__rng_init(&r, 1, GF_STREAM_INIT);
  gf__net_init_params(&net, &r, 0.0f);
  gf__ctx ctx;
  CHECK(gf__ctx_create(&ctx, &net, 5) == 0, "ctx");
  float *x = o->alloc(sizeof(float) * 15), *din = o->alloc(sizeof(float) * 15);
  o->fill(x, 0.5f, 15);
  gf__prof p;
  memset(&p, 0, sizeof p);
  p.ops = o;
  CHECK(gf__prof_attach(&p, &net) == 0 && net.prof == &p && p.n == 3, "attach: %d rows", p.n);
  gf__net_forward(&net, &ctx, x, 5, 1, NULL);
  gf__net_forward(&net, &ctx, x, 5, 1, NULL);
  o->fill(gf__ctx_dout(&net, &ctx), 1.0f, 10);
  gf__net_backward(&net, &ctx, din, GF_GRAD_OVERWRITE);
  for (int i = 0; i < 3; i++) {
    CHECK(p.rows[i].calls[GF_PROF_FWD] == 2 && p.rows[i].calls[GF_PROF_BWD] == 1 && p.rows[i].calls[GF_PROF_BWD2] == 0,
          "layer %d: %ld forward, %ld backward, %ld second-order calls", i, p.rows[i].calls[GF_PROF_FWD],
          p.rows[i].calls[GF_PROF_BWD], p.rows[i].calls[GF_PROF_BWD2]);
    CHECK(p.rows[i].sec[GF_PROF_FWD] >= 0 && p.rows[i].sec[GF_PROF_BWD] >= 0, "layer %d: negative time", i);
  }
  char buf[4096];
  gf__prof_report(&p, 1, 1.0, buf, sizeof buf);
  CHECK(strstr(buf, "\nT.net.0 ") && strstr(buf, "Linear(3 -> 4)") && strstr(buf, "\nT.net.2 "), "report:\n%s", buf);
  gf__prof_reset(&p);
  CHECK(p.rows[1].calls[GF_PROF_FWD] == 0 && p.rows[1].sec[GF_PROF_FWD] == 0, "reset");
  /* a report cut to a small buffer stays a terminated string */
  char small[40];
  gf__prof_report(&p, 1, 1.0, small, sizeof small);
  CHECK(strlen(small) < sizeof small, "cut report");
  gf__prof_detach_free(&p);
  CHECK(net.prof == NULL && p.rows == NULL, "detach");
  gf__net_forward(&net, &ctx, x, 5, 1, NULL); /* no profiler: runs as before */
  o->free(x);
  o->free(din);
  gf__ctx_destroy(&ctx);
  gf__net_free(&net);
}

/* The whole report of a preset: every layer of G and D, D's passes per step, the sums. */
static void test_bench(const char *preset, int batch, int d_runs, int second) {
  gf_config cfg;
  CHECK(gf_preset_apply(&cfg, preset) == 0, "%s", preset);
  cfg.train_batch = batch;
  unsigned cap = 1u << 16;
  char *rep = malloc(cap);
  double ms = 0;
  int rc = gf_bench_profile(&cfg, 1, 2, &ms, rep, cap);
  CHECK(rc == 0 && ms > 0, "%s: gf_bench_profile: %s", preset, rc ? gf_last_error() : "no time");
  if (rc) {
    free(rep);
    return;
  }
  char f[16][64];
  /* dcgan28: G has 8 layers, D 7 (wgan-gp's critic 6: no BatchNorm) */
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "G.net.%d", i);
    CHECK(row_fields(rep, name, f) >= 6, "%s: no row for %s:\n%s", preset, name, rep);
  }
  int nd = row_fields(rep, "D.net.2", f);
  CHECK(nd >= 6 && !strncmp(f[0], "Conv2d(64", 9), "%s: D.net.2 row: %d fields", preset, nd);
  /* the last two fields: forward passes per step (dcgan: real, fake, G's step; wgan-gp: 5 x (the
     [real; fake] pass + the penalty's pass) + G's step), and the forward's GFLOP/s */
  CHECK(nd > 1 && atoi(f[nd - 2]) == d_runs, "%s: D runs %s per step, expected %d", preset, nd > 1 ? f[nd - 2] : "?", d_runs);
  CHECK(nd > 1 && atof(f[nd - 1]) > 0.01, "%s: D.net.2's forward GFLOP/s '%s'", preset, nd ? f[nd - 1] : "?");
  int na = row_fields(rep, "D.net.1", f);
  CHECK(na > 1 && !strcmp(f[0], "LeakyReLU") && !strcmp(f[na - 1], "-"), "%s: an activation has no GFLOP/s", preset);
  CHECK(!!strstr(rep, "2nd-order") == second, "%s: second-order column %s", preset, second ? "missing" : "unexpected");
  double all = line_value(rep, "all layers"), rest = line_value(rep, "outside the layers (losses, penalties, optimizer updates, copies, all-reduce)"),
         step = line_value(rep, "the step, profiled");
  CHECK(all > 0 && rest == rest && fabs(all + rest - step) < 0.002 + 1e-6 * step && fabs(step - ms) < 0.0015,
        "%s: layers %.3f + rest %.3f vs step %.3f (ms %.3f)", preset, all, rest, step, ms);
  CHECK(all > 0.5 * step, "%s: the layers take only %.3f of %.3f ms", preset, all, step);
  free(rep);
}

int main(void) {
  test_rows();
  test_bench("dcgan-mnist", 8, 3, 0);
  test_bench("wgan-gp-mnist", 8, 11, 1);
  gf_config cfg;
  gf_preset_apply(&cfg, "dcgan-mnist");
  double ms;
  char one[1];
  CHECK(gf_bench_profile(&cfg, 0, 1, &ms, one, 1) == GF_EINVAL, "a 1-byte report buffer is refused");
  return gf_t_done();
}
