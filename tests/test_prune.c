/* test_prune.c: multiply-adds counted from the layer list (resnet_9blocks at 256 px against the
   hand-computed 56.8 G of the papers' convention), and CAT's pruning: with chosen channels' norm
   scales and shifts zeroed (plus what makes removing them exact: the stream channels' rows of the
   branch outputs, the empty block's norm), the bisection finds exactly those channels, the student
   has the expected widths and computes the teacher's function; a budget is met; bad budgets are
   refused with one line each. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "harness.h"
#include "models/cyclegan.h"
#include "models/prune.h"

static void macs_resnet(void) {
  gf_config cfg;
  gf_preset_apply(&cfg, "cyclegan");
  gf__net G;
  CHECK(gf__build_i2i_generator(&G, &cfg, gf__ops_cpu(), "G_A", 3, 3, 256, 256) == 0, "build resnet_9blocks");
  /* conv 7x7 3->64 at 256^2, 3x3 s2 64->128 at 128^2, 128->256 at 64^2, 18 convs 3x3 256->256 at
     64^2, ConvTranspose 256->128 and 128->64 over their outputs (128^2, 256^2), 7x7 64->3 at 256^2,
     and every InstanceNorm's C * H * W */
  long long conv = 3LL * 64 * 49 * 65536 + 64LL * 128 * 9 * 16384 + 128LL * 256 * 9 * 4096 + 18 * (256LL * 256 * 9 * 4096) +
                   256LL * 128 * 9 * 16384 + 128LL * 64 * 9 * 65536 + 64LL * 3 * 49 * 65536;
  long long norms = 2 * (64LL * 65536 + 128LL * 16384) + 256LL * 4096 * 19;
  CHECK(conv == 56799264768LL, "hand count %lld", conv);
  CHECK(gf__net_macs(&G) == conv + norms, "resnet_9blocks at 256 px: %lld MACs, hand-computed %lld (56.8 G)", gf__net_macs(&G),
        conv + norms);
  gf__net_plan(&G);
  /* junyanz's resnet_9blocks: 11,378,179 parameters */
  CHECK(G.nparam == 11378179, "resnet_9blocks parameters %ld", G.nparam);
  /* CAT's horse2zebra teacher (ngf 64, kernels 1,3,5, branch width 256 / 6 = 42) at 256 px: 43.5 G
     and 8.15 M (shared/REFERENCE.md, counted from CAT's layer list) */
  gf_preset_apply(&cfg, "cat-teacher128");
  gf_t_set(&cfg, "model.ngf=64");
  long long m;
  long p;
  CHECK(gf_generator_cost(&cfg, 256, 256, &m, &p) == 0, "CAT teacher: %s", gf_last_error());
  CHECK(m == 43527405568LL && p == 8154255, "CAT's teacher at 256 px: %lld MACs, %ld parameters", m, p);
}

typedef struct teacher {
  gf_config cfg;
  gf__inc_spec spec;
  gf__inc_map map;
  gf__net *net;
} teacher;

static int build(teacher *t, int ngf, int nb, int hw) {
  gf_preset_apply(&t->cfg, "cat-teacher128");
  char kv[64];
  snprintf(kv, sizeof kv, "model.ngf=%d", ngf);
  gf_t_set(&t->cfg, kv);
  snprintf(kv, sizeof kv, "model.n_blocks=%d", nb);
  gf_t_set(&t->cfg, kv);
  t->net = calloc(1, sizeof *t->net);
  GF_TRY(gf__inc_spec_from_config(&t->spec, &t->cfg));
  gf__net_init(t->net, gf__ops_cpu(), "G_A", 3, hw, hw);
  GF_TRY(gf__build_inception(t->net, &t->cfg, &t->spec, 3, &t->map));
  GF_TRY(gf__net_finalize(t->net));
  /* weights N(0, 0.2), norm scales +-U(0.5, 1.5), shifts N(0, 0.3) */
  gf__rng r;
  gf__rng_init(&r, 5, 9);
  gf__net *n = t->net;
  gf__rng_normal(&r, n->params, n->nparam, 0, 0.2f);
  for (int i = 0; i < n->n; i++) {
    gf__layer *l = &n->layers[i];
    if (l->kind != GF_LAYER_INSTNORM) continue;
    for (int c = 0; c < l->in_c; c++) {
      float u = gf__rng_float(&r);
      n->params[l->w_off + c] = (gf__rng_float(&r) < 0.5f ? -1 : 1) * (0.5f + u);
      n->params[l->b_off + c] *= 1.5f;
    }
  }
  return 0;
}

static void zero_norm(gf__net *n, int li, int c) {
  n->params[n->layers[li].w_off + c] = 0;
  n->params[n->layers[li].b_off + c] = 0;
}

static void zero_out_channel(gf__net *n, int li, int c) { /* conv output channel c: weights and bias */
  const gf__layer *l = &n->layers[li];
  long per = l->w_n / l->out_c;
  memset(n->params + l->w_off + c * per, 0, sizeof(float) * (size_t)per);
  if (l->b_n) n->params[l->b_off + c] = 0;
}

static void forward(gf__net *n, const float *x, float *y, int B) {
  gf__ctx ctx;
  gf__ctx_create(&ctx, n, B);
  const float *o = gf__net_forward(n, &ctx, x, B, 1, NULL);
  memcpy(y, o, sizeof(float) * (size_t)B * gf__net_out_size(n));
  gf__ctx_destroy(&ctx);
}

static void zeroed_scales(void) {
  teacher t;
  CHECK(build(&t, 8, 3, 32) == 0, "teacher: %s", gf_last_error());
  gf__net *T = t.net;
  const gf__inc_map *m = &t.map;
  static const int ds0[] = {1, 5}, ds1[] = {0, 1, 2, 3}, str[] = {2, 7, 30}, us0[] = {0, 4, 9}, us1[] = {3, 6};
  for (int i = 0; i < 2; i++) zero_norm(T, m->ds_norm[0], ds0[i]);
  for (int i = 0; i < 4; i++) zero_norm(T, m->ds_norm[1], ds1[i]);
  for (int i = 0; i < 3; i++) { /* a stream channel: zero after the stem, and nothing added to it */
    zero_norm(T, m->ds_norm[2], str[i]);
    for (int b = 0; b < 3; b++) {
      for (int k = 0; k < 3; k++) {
        zero_out_channel(T, m->res[b][k].conv2, str[i]);
        zero_out_channel(T, m->dw[b][k].conv2, str[i]);
      }
      zero_norm(T, m->pw_norm[b], str[i]);
    }
  }
  zero_norm(T, m->res[0][1].norm1, 0); /* block 0: two channels of the 3x3 branch, one of the 5x5 depth-wise */
  zero_norm(T, m->res[0][1].norm1, 3);
  zero_norm(T, m->dw[0][2].norm1, 4);
  zero_norm(T, m->dw[0][2].norm_dw, 4);
  for (int k = 0; k < 3; k++) /* block 1: every branch (an empty block is the identity) */
    for (int c = 0; c < 5; c++) {
      zero_norm(T, m->res[1][k].norm1, c);
      zero_norm(T, m->dw[1][k].norm1, c);
      zero_norm(T, m->dw[1][k].norm_dw, c);
    }
  for (int c = 0; c < 32; c++) zero_norm(T, m->pw_norm[1], c);
  for (int c = 0; c < 5; c++) zero_norm(T, m->res[2][0].norm1, c); /* block 2: the 1x1 branch */
  for (int i = 0; i < 3; i++) zero_norm(T, m->us_norm[0], us0[i]);
  for (int i = 0; i < 2; i++) zero_norm(T, m->us_norm[1], us1[i]);

  gf__prune_plan plan;
  long long tm = gf__net_macs(T);
  int rc = gf__prune_search(&t.cfg, T, m, &t.spec, 32, 32, (double)tm - 1, 1, &plan);
  CHECK(rc == 0, "search: %s", gf_last_error());
  CHECK(plan.teacher_macs == tm, "teacher MACs %lld vs %lld", plan.teacher_macs, tm);
  char s[1024];
  gf__inc_spec_format(&plan.spec, s, sizeof s);
  CHECK(!strcmp(s, "6,12,29;5,3,5,5,5,4;0,0,0,0,0,0;0,5,5,5,5,5;13,6"), "pruned widths %s", s);
  CHECK(plan.threshold > 0 && plan.threshold < 0.5, "threshold %g", plan.threshold);
  /* the student, from its config, and the transfer */
  gf_config sc = t.cfg;
  char kv[1100];
  snprintf(kv, sizeof kv, "model.g_channels=%s", s);
  gf_t_set(&sc, kv);
  gf__inc_spec ss;
  CHECK(gf__inc_spec_from_config(&ss, &sc) == 0, "student spec: %s", gf_last_error());
  gf__net *S = calloc(1, sizeof *S);
  gf__inc_map sm;
  gf__net_init(S, gf__ops_cpu(), "G_A", 3, 32, 32);
  CHECK(gf__build_inception(S, &sc, &ss, 3, &sm) == 0 && gf__net_finalize(S) == 0, "student build");
  CHECK(gf__net_macs(S) == plan.student_macs && plan.student_macs < tm, "student MACs %lld (plan %lld, teacher %lld)",
        gf__net_macs(S), plan.student_macs, tm);
  CHECK(sm.pw_norm[1] < 0 && sm.block_end[1] == sm.block_end[0], "block 1 is the identity");
  rc = gf__prune_transfer(T, m, &t.spec, S, &sm, &plan, 1);
  CHECK(rc == 0, "transfer: %s", gf_last_error());
  const int B = 2;
  float *x = malloc(sizeof(float) * B * 3 * 32 * 32), *yt = malloc(sizeof(float) * B * 3 * 32 * 32),
        *ys = malloc(sizeof(float) * B * 3 * 32 * 32);
  gf__rng r;
  gf__rng_init(&r, 3, 3);
  gf__rng_uniform(&r, x, B * 3 * 32 * 32, -1, 1);
  forward(T, x, yt, B);
  forward(S, x, ys, B);
  double e = 0, my = 0;
  for (int k = 0; k < B * 3 * 32 * 32; k++) {
    e = fmax(e, fabs(yt[k] - ys[k]));
    my = fmax(my, fabs(yt[k]));
  }
  CHECK(e < 2e-5 && my > 0.1, "pruned student differs from the teacher by %.3g (max |y| %.3g)", e, my);
  /* the same student from the generic builder (what translate uses) has the same tensors */
  gf__net G;
  CHECK(gf__build_i2i_generator(&G, &sc, gf__ops_cpu(), "G_A", 3, 3, 32, 32) == 0 && G.n == S->n &&
            gf__net_macs(&G) == gf__net_macs(S), "the config alone rebuilds the student");
  free(x); free(yt); free(ys);
  gf__net_free(S); free(S);
  gf__net_free(T); free(T);
}

static void budget(void) {
  teacher t;
  CHECK(build(&t, 8, 3, 32) == 0, "teacher: %s", gf_last_error());
  gf__prune_plan plan;
  long long tm = gf__net_macs(t.net);
  int rc = gf__prune_search(&t.cfg, t.net, &t.map, &t.spec, 32, 32, 0.3 * (double)tm, 4, &plan);
  CHECK(rc == 0, "search: %s", gf_last_error());
  CHECK(plan.student_macs <= 0.3 * (double)tm && plan.student_macs > plan.min_macs, "student %lld for a budget of %.0f (min %lld)",
        plan.student_macs, 0.3 * (double)tm, plan.min_macs);
  CHECK(plan.student_macs > 0.25 * (double)tm, "the bisection lands near the budget: %lld of %lld", plan.student_macs, tm);
  CHECK(plan.spec.ds[0] >= 4 && plan.spec.us[1] >= 4, "down/up-sampling keep min_channels: %d %d", plan.spec.ds[0], plan.spec.us[1]);
  /* bad budgets: one line each */
  rc = gf__prune_search(&t.cfg, t.net, &t.map, &t.spec, 32, 32, (double)tm, 4, &plan);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "not below the teacher's") && !strchr(gf_last_error(), '\n'),
        "budget = teacher: %s", gf_last_error());
  rc = gf__prune_search(&t.cfg, t.net, &t.map, &t.spec, 32, 32, 0.5 * (double)plan.min_macs, 4, &plan);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "below the smallest student"), "budget too small: %s", gf_last_error());
  gf__net_free(t.net);
  free(t.net);
}

int main(void) {
  macs_resnet();
  zeroed_scales();
  budget();
  return gf_t_done();
}
