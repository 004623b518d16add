/* test_ema.c: the generator weight average (train.ema). (a) gf__ema_decay: the warm-up
   (1 + t) / (10 + t) and the cap. (b) After each of several real D + G steps of a tiny ring8 GAN
   with BatchNorm, the average equals avg = d avg + (1 - d) p recomputed on the host from the
   weights after every G update (d from the step count). (c) gf__gan_ema_enter puts the average in
   G, recomputes the first BatchNorm layer's running mean as the mean of that layer's input over the
   2048 recalibration samples (checked against a host computation from the stream's noise), is
   deterministic, and gf__gan_ema_leave puts the live weights and statistics back bit for bit; the
   training trajectory does not depend on the average (same live weights with and without it).
   (d) A run with train.ema: generator.safetensors and `sample` from the checkpoint give the
   averaged generator (the same tensors), not the live one; resume is bitwise exact (n1 + resume +
   n2 steps equal n1 + n2 straight steps, ema.G.* included); a checkpoint written without the
   average resumes with train.ema > 0 (the average starts at the loaded weights). (e) Bad values
   of train.ema are refused with a message naming the key. */
#include "harness.h"

#include "core/ops.h"
#include "core/rng.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/gan.h"
#include "models/weights.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gf__ops *O;
static char tmp[2048];

/* a ring8 GAN (G Linear-BN-ReLU x2, D maxout) small enough to check on the host */
static gf_config tiny_cfg(double ema) {
  gf_config c;
  gf_preset_apply(&c, "ring8");
  gf_t_set(&c, "model.g_hidden=16,16");
  gf_t_set(&c, "model.d_hidden=8,8");
  gf_t_set(&c, "model.d_pieces=2");
  gf_t_set(&c, "train.batch=20");
  gf_t_set(&c, "data.n=200");
  gf_t_set(&c, "train.grid=16");
  gf_t_set(&c, "train.lr=1e-3");
  c.train_ema = ema;
  return c;
}

static void fill_batch(float *x, int n, uint64_t k) {
  gf__rng r;
  gf__rng_init(&r, 100 + k, GF_STREAM_EVAL);
  gf__rng_uniform(&r, x, (long)n * 2, -1, 1);
}

static void test_decay(void) {
  CHECK_CLOSE(gf__ema_decay(0.999, 0), 0.1, 0, 1e-15, "decay at t = 0");
  CHECK_CLOSE(gf__ema_decay(0.999, 1), 2.0 / 11.0, 0, 1e-15, "decay at t = 1");
  CHECK_CLOSE(gf__ema_decay(0.999, 100), 101.0 / 110.0, 0, 1e-15, "decay at t = 100");
  CHECK_CLOSE(gf__ema_decay(0.999, 8991), 0.999, 0, 1e-15, "decay at t = 8991 (warm-up reaches the cap)");
  CHECK_CLOSE(gf__ema_decay(0.999, 1000000), 0.999, 0, 1e-15, "decay capped");
  CHECK_CLOSE(gf__ema_decay(0.5, 3), 4.0 / 13.0, 0, 1e-15, "warm-up below a small cap");
  CHECK_CLOSE(gf__ema_decay(0.5, 100), 0.5, 0, 1e-15, "small cap");
}

/* (b) + (c) */
static void test_update_and_swap(void) {
  gf_config c = tiny_cfg(0.9);
  gf__gan gan, plain;
  if (gf__gan_create(&gan, &c, O, 2, 1, 1, c.train_batch, NULL) < 0) { CHECK(0, "create: %s", gf_last_error()); return; }
  gf_config c0 = c;
  c0.train_ema = 0;
  if (gf__gan_create(&plain, &c0, O, 2, 1, 1, c.train_batch, NULL) < 0) {
    CHECK(0, "create: %s", gf_last_error());
    gf__gan_destroy(&gan);
    return;
  }
  long np = gan.G.nparam, nb = gan.G.nbuf;
  CHECK(gan.g_ema && !plain.g_ema, "train.ema 0.9 allocates the average, 0 does not");
  CHECK(nb > 0, "the test generator has BatchNorm statistics");
  double *avg = malloc(sizeof(double) * (size_t)np);
  float *p = gf_t_host_copy(O, gan.G.params, np);
  for (long i = 0; i < np; i++) avg[i] = p[i];
  free(p);
  float *x = malloc(sizeof(float) * (size_t)c.train_batch * 2);
  double worst = 0;
  int steps = 6;
  for (int s = 1; s <= steps; s++) {
    fill_batch(x, c.train_batch, (uint64_t)s);
    O->to_device(gan.xr, x, sizeof(float) * (size_t)c.train_batch * 2);
    O->to_device(plain.xr, x, sizeof(float) * (size_t)c.train_batch * 2);
    CHECK(gf__gan_d_step(&gan, gan.xr) == 0 && gf__gan_g_step(&gan) == 0, "step %d: %s", s, gf_last_error());
    CHECK(gf__gan_d_step(&plain, plain.xr) == 0 && gf__gan_g_step(&plain) == 0, "plain step %d", s);
    double d = gf__ema_decay(0.9, (long)s);
    float *live = gf_t_host_copy(O, gan.G.params, np), *got = gf_t_host_copy(O, gan.g_ema, np);
    double maxa = 0, moved = 0;
    for (long i = 0; i < np; i++) {
      avg[i] = d * avg[i] + (1 - d) * live[i];
      maxa = fmax(maxa, fabs(avg[i]));
      moved = fmax(moved, fabs(avg[i] - live[i]));
      worst = fmax(worst, fabs((double)got[i] - avg[i]));
    }
    CHECK(worst <= 1e-6 * maxa, "step %d: average differs from d avg + (1 - d) p by %.3g (max |avg| %.3g)", s, worst,
          maxa);
    CHECK(moved > 1e-6, "step %d: the average equals the live weights (nothing averaged)", s);
    free(live);
    free(got);
  }
  /* the average never feeds back into training */
  float *a = gf_t_host_copy(O, gan.G.params, np), *b = gf_t_host_copy(O, plain.G.params, np);
  CHECK(!memcmp(a, b, sizeof(float) * (size_t)np), "live G weights depend on train.ema");
  free(b);
  float *bufs = gf_t_host_copy(O, gan.G.buffers, nb);

  /* (c) swap in: params = average, BN statistics recomputed */
  CHECK(gf__gan_ema_enter(&gan) == 0, "ema_enter: %s", gf_last_error());
  CHECK(gf__gan_ema_enter(&gan) < 0, "a second ema_enter is refused");
  float *in = gf_t_host_copy(O, gan.G.params, np), *e = gf_t_host_copy(O, gan.g_ema, np);
  CHECK(!memcmp(in, e, sizeof(float) * (size_t)np), "after ema_enter G holds the average");
  float *rb = gf_t_host_copy(O, gan.G.buffers, nb), *eb = gf_t_host_copy(O, gan.ema_buf, nb);
  CHECK(!memcmp(rb, eb, sizeof(float) * (size_t)nb), "ema_buf holds the recomputed statistics");
  CHECK(memcmp(rb, bufs, sizeof(float) * (size_t)nb) != 0, "BN statistics were not recomputed");
  /* first BN (layer 1) after Linear 2 -> 16 (layer 0): its running mean is the mean of z W^T + b
     over the recalibration noise */
  const gf__layer *L0 = &gan.G.layers[0], *L1 = &gan.G.layers[1];
  CHECK(L0->kind == GF_LAYER_LINEAR && L1->kind == GF_LAYER_BATCHNORM && L0->out_c == 16, "layout");
  int B = c.train_batch, K = (GF_EMA_BN_SAMPLES + B - 1) / B, H = 16;
  gf__rng r;
  gf__rng_init(&r, (uint64_t)c.train_seed, GF_STREAM_EMA_BN);
  float *z = malloc(sizeof(float) * (size_t)B * 2);
  double mean[16] = {0};
  for (int k = 0; k < K; k++) {
    gf__gan_noise(&gan, &r, z, B);
    for (int n = 0; n < B; n++)
      for (int j = 0; j < H; j++)
        mean[j] += (double)e[L0->b_off + j] + (double)z[2 * n] * e[L0->w_off + 2 * j] +
                   (double)z[2 * n + 1] * e[L0->w_off + 2 * j + 1];
  }
  double err = 0, scale = 0;
  for (int j = 0; j < H; j++) {
    mean[j] /= (double)K * B;
    err = fmax(err, fabs(mean[j] - rb[L1->rm_off + j]));
    scale = fmax(scale, fabs(mean[j]));
  }
  CHECK(err <= 1e-5 * (1 + scale), "recomputed BN running mean off by %.3g (max |mean| %.3g, %d batches)", err, scale, K);
  gf__gan_ema_leave(&gan);
  float *back = gf_t_host_copy(O, gan.G.params, np), *bb = gf_t_host_copy(O, gan.G.buffers, nb);
  CHECK(!memcmp(back, a, sizeof(float) * (size_t)np), "ema_leave restores the live weights bit for bit");
  CHECK(!memcmp(bb, bufs, sizeof(float) * (size_t)nb), "ema_leave restores the live BN statistics bit for bit");
  /* deterministic */
  CHECK(gf__gan_ema_enter(&gan) == 0, "second ema_enter");
  float *rb2 = gf_t_host_copy(O, gan.G.buffers, nb);
  CHECK(!memcmp(rb2, rb, sizeof(float) * (size_t)nb), "recomputed statistics differ between two calls");
  gf__gan_ema_leave(&gan);
  free(rb2);
  free(back); free(bb); free(z); free(in); free(e); free(rb); free(eb); free(a); free(bufs); free(x); free(avg);
  gf__gan_destroy(&gan);
  gf__gan_destroy(&plain);
}

static int train(const gf_config *cfg, const char *out, const char *resume) {
  gf_train_opts o;
  memset(&o, 0, sizeof o);
  o.out_dir = out;
  o.resume = resume;
  return gf_train(cfg, &o);
}

/* every tensor of two safetensors files byte-equal; returns how many were compared */
static int same_tensors(const char *what, const char *fa_path, const char *fb_path) {
  gf__st_file fa, fb;
  if (gf__st_open(&fa, fa_path) < 0) { CHECK(0, "%s: %s", what, gf_last_error()); return 0; }
  if (gf__st_open(&fb, fb_path) < 0) { CHECK(0, "%s: %s", what, gf_last_error()); gf__st_close(&fa); return 0; }
  CHECK(fa.n == fb.n, "%s: %d vs %d tensors", what, fa.n, fb.n);
  int n = 0;
  for (int i = 0; i < fa.n; i++) {
    const char *name = gf__st_name(&fa, i);
    int same = gf_t_st_same(&fa, &fb, name);
    if (same < 0) {
      CHECK(0, "%s: tensor %s missing", what, name);
      continue;
    }
    CHECK(same, "%s: tensor %s differs", what, name);
    n++;
  }
  gf__st_close(&fa);
  gf__st_close(&fb);
  return n;
}

/* G's parameters and buffers as the sampler opens them from a run or file */
static int open_g(const char *path, gf__net *G) {
  gf_config c;
  int ch, h, w;
  return gf__generator_open(path, O, &c, G, &ch, &h, &w);
}

static void test_runs(void) {
  gf_config c = tiny_cfg(0.99);
  gf_t_set(&c, "train.epochs=3");
  gf_t_set(&c, "train.report=0");
  gf_t_set(&c, "train.checkpoint_every=4");
  /* straight 17 steps (10 per epoch: into epoch 2) vs 7 + resume + 10 */
  char straight[2200], split[2200], ck[2300];
  snprintf(straight, sizeof straight, "%s/straight", tmp);
  snprintf(split, sizeof split, "%s/split", tmp);
  c.train_max_steps = 17;
  CHECK(train(&c, straight, NULL) == 0, "straight run: %s", gf_last_error());
  c.train_max_steps = 7;
  CHECK(train(&c, split, NULL) == 0, "first part: %s", gf_last_error());
  snprintf(ck, sizeof ck, "%s/checkpoints/latest.safetensors", split);
  c.train_max_steps = 17;
  CHECK(train(&c, split, ck) == 0, "resumed part: %s", gf_last_error());
  char a[2300], b[2300];
  snprintf(a, sizeof a, "%s/generator.safetensors", straight);
  snprintf(b, sizeof b, "%s/generator.safetensors", split);
  CHECK(gf_t_same_file(a, b), "generator.safetensors after 7 + resume + 10 steps differs from 17 straight steps");
  snprintf(a, sizeof a, "%s/checkpoints/latest.safetensors", straight);
  snprintf(b, sizeof b, "%s/checkpoints/latest.safetensors", split);
  int n = same_tensors("resume with train.ema", a, b);
  gf__st_file f;
  if (gf__st_open(&f, a) == 0) {
    int have = 0;
    for (int i = 0; i < f.n; i++) have += !strcmp(gf__st_name(&f, i), "ema.G.params") || !strcmp(gf__st_name(&f, i), "ema.G.buffers");
    CHECK(have == 2, "checkpoint holds ema.G.params and ema.G.buffers (%d found of %d tensors)", have, n);
    gf__st_close(&f);
  }

  /* generator.safetensors and the checkpoint open as the same (averaged) generator, unlike the
     live weights in the checkpoint's G.* tensors */
  gf__net g1, g2;
  snprintf(b, sizeof b, "%s/generator.safetensors", straight);
  int r1 = open_g(b, &g1), r2 = open_g(a, &g2);
  CHECK(r1 == 0 && r2 == 0, "open generators: %s", gf_last_error());
  if (r1 == 0 && r2 == 0) {
    CHECK(g1.nparam == g2.nparam && !memcmp(g1.params, g2.params, sizeof(float) * (size_t)g1.nparam),
          "checkpoint and generator.safetensors give different generator weights");
    CHECK(g1.nbuf == g2.nbuf && !memcmp(g1.buffers, g2.buffers, sizeof(float) * (size_t)g1.nbuf),
          "checkpoint and generator.safetensors give different BN statistics");
    gf__gan live;
    gf_config lc;
    gf__data_pos pos;
    if (gf__checkpoint_read_config(a, &lc) == 0 && gf__gan_create(&live, &lc, O, 2, 1, 1, lc.train_batch, NULL) == 0) {
      CHECK(gf__checkpoint_load(a, &live, &pos) == 0, "load: %s", gf_last_error());
      CHECK(memcmp(live.G.params, g1.params, sizeof(float) * (size_t)g1.nparam) != 0,
            "generator.safetensors holds the live weights, not the average");
      CHECK(!memcmp(live.g_ema, g1.params, sizeof(float) * (size_t)g1.nparam), "loaded average differs from the file's");
      gf__gan_destroy(&live);
    } else {
      CHECK(0, "rebuild from checkpoint: %s", gf_last_error());
    }
  }
  if (r1 == 0) gf__net_free(&g1);
  if (r2 == 0) gf__net_free(&g2);

  /* a checkpoint without the average resumes with train.ema: the average starts at the loaded
     weights (so after 0 further steps generator == live weights); and one with it resumes
     with train.ema = 0 */
  gf_config p = tiny_cfg(0);
  gf_t_set(&p, "train.epochs=3");
  gf_t_set(&p, "train.report=0");
  char plain[2200];
  snprintf(plain, sizeof plain, "%s/plain", tmp);
  p.train_max_steps = 5;
  CHECK(train(&p, plain, NULL) == 0, "plain run: %s", gf_last_error());
  snprintf(ck, sizeof ck, "%s/checkpoints/latest.safetensors", plain);
  gf__gan g;
  gf__data_pos pos;
  gf_config q = p;
  q.train_ema = 0.999;
  if (gf__gan_create(&g, &q, O, 2, 1, 1, q.train_batch, NULL) == 0) {
    CHECK(gf__checkpoint_load(ck, &g, &pos) == 0, "plain checkpoint into an ema model: %s", gf_last_error());
    CHECK(!memcmp(g.g_ema, g.G.params, sizeof(float) * (size_t)g.G.nparam), "average does not start at the loaded weights");
    gf__gan_destroy(&g);
  }
  q.train_max_steps = 9;
  CHECK(train(&q, plain, ck) == 0, "resume a plain run with train.ema: %s", gf_last_error());
  snprintf(ck, sizeof ck, "%s/checkpoints/latest.safetensors", straight);
  gf_config z = c;
  z.train_ema = 0;
  if (gf__gan_create(&g, &z, O, 2, 1, 1, z.train_batch, NULL) == 0) {
    CHECK(gf__checkpoint_load(ck, &g, &pos) == 0, "ema checkpoint into a model without: %s", gf_last_error());
    gf__gan_destroy(&g);
  }
}

static void test_config(void) {
  gf_config c;
  gf_preset_apply(&c, "ring8");
  CHECK(gf_config_set(&c, "train.ema", "0.999") == 0 && gf_config_validate(&c) == 0, "train.ema=0.999 accepted");
  const char *bad[] = {"1", "1.5", "-0.1"};
  for (int i = 0; i < 3; i++) {
    gf_preset_apply(&c, "ring8");
    int rc = gf_config_set(&c, "train.ema", bad[i]);
    if (rc == 0) rc = gf_config_validate(&c);
    CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "train.ema"), "train.ema=%s: rc %d, '%s'", bad[i], rc, gf_last_error());
  }
  gf_preset_apply(&c, "cyclegan");
  gf_config_set(&c, "train.ema", "0.9");
  int rc = gf_config_validate(&c);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "train.ema"), "cyclegan + train.ema: rc %d '%s'", rc, gf_last_error());
}

int main(void) {
  O = gf__ops_cpu();
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("ema"));
  test_decay();
  test_update_and_swap();
  test_runs();
  test_config();
  return gf_t_done();
}
