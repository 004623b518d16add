/* test_step_ops.c: every trainer's step through a counting wrapper of the CPU ops table (device
   "count"): inside step_begin .. step_end no alloc, free, to_host, sync, upload_const,
   release_const or configure; between two steps of an epoch exactly one to_host (the loss
   statistics); and the op sequence, with its sizes and library-call arguments, is the same step
   after step, so the step-graph bookkeeping (core/stepgraph.c) replays every step after the
   recording: MLP GAN, DCGAN (flips), CycleGAN (image pool with every kind of query), pix2pix, the
   classifier and `ganforge compress` (CAT distillation: teacher forward, depth-wise convolutions,
   kernel alignment). Also: the host-prefetch data path (upload_const refused) trains bitwise like
   the device gather. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/stepgraph.h"
#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/safetensors.h"

static const gf__ops *C; /* the CPU table underneath */
static char tmp[2048];     /* this test's scratch folder */

/* ---- counters ---- */
enum { K_ALLOC, K_FREE, K_TO_HOST, K_SYNC, K_UPLOAD, K_RELEASE, K_CONFIGURE, K_TO_DEVICE, K_FORBIDDEN = K_TO_DEVICE };
static const char *const kname[] = {"alloc", "free", "to_host", "sync", "upload_const", "release_const", "configure",
                                    "to_device"};
static struct {
  int in_step;
  long in_step_calls[8];        /* per kind, inside steps */
  long gap_to_host;             /* to_host calls since the last step_end */
  long gaps, gaps_not_one;      /* gaps between two steps; those without exactly one to_host */
  long to_device_max;           /* most to_device calls in one step */
  long to_device_step;
  long steps;
  int refuse_upload;            /* upload_const answers NULL (host-prefetch path) */
  gf__stepgraph sg;
} S;

static void count(int k) {
  if (S.in_step) S.in_step_calls[k]++;
  if (k == K_TO_HOST && !S.in_step) S.gap_to_host++;
  if (k == K_TO_DEVICE && S.in_step) S.to_device_step++;
  if (k < K_FORBIDDEN) gf__sg_barrier(&S.sg, kname[k]);
}

/* An op that queues work: kind + what must not change between steps for a replay. */
static void op(uint32_t kind, uint64_t key) { gf__sg_op(&S.sg, kind, key); }
#define H(x) gf__sg_hash(h, &(x), sizeof(x))

static void reset(int enabled) {
  gf__sg_free(&S.sg);
  int refuse = S.refuse_upload;
  memset(&S, 0, sizeof S);
  S.refuse_upload = refuse;
  gf__sg_init(&S.sg, enabled);
}

/* ---- the wrapper table ---- */
static void *w_alloc(size_t b) { count(K_ALLOC); return C->alloc(b); }
static void w_free(void *p) { count(K_FREE); C->free(p); }
static void w_to_device(void *d, const void *s, size_t b) {
  count(K_TO_DEVICE);
  uint64_t h = GF_SG_HASH0; h = H(d); h = H(b);
  op(1, h);
  C->to_device(d, s, b);
}
static void w_to_host(void *d, const void *s, size_t b) { count(K_TO_HOST); C->to_host(d, s, b); }
static void w_copy(float *d, const float *s, size_t n) { uint64_t h = GF_SG_HASH0; h = H(n); op(2, h); C->copy(d, s, n); }
static void w_fill(float *x, float v, size_t n) { uint64_t h = GF_SG_HASH0; h = H(n); op(3, h); C->fill(x, v, n); }
static void w_sync(void) { count(K_SYNC); C->sync(); }
static const void *w_upload(const void *p, size_t b) { count(K_UPLOAD); return S.refuse_upload ? NULL : C->upload_const(p, b); }
static void w_release(const void *p) { count(K_RELEASE); C->release_const(p); }
static void w_step_begin(void) {
  CHECK(!S.in_step, "step_begin inside a step");
  if (S.steps) {
    S.gaps++;
    if (S.gap_to_host != 1) S.gaps_not_one++;
  }
  S.in_step = 1;
  S.to_device_step = 0;
  gf__sg_begin(&S.sg);
  C->step_begin();
}
static void w_step_end(void) {
  CHECK(S.in_step, "step_end outside a step");
  S.in_step = 0;
  S.steps++;
  S.gap_to_host = 0;
  if (S.to_device_step > S.to_device_max) S.to_device_max = S.to_device_step;
  gf__sg_end(&S.sg);
  C->step_end();
}
static int w_configure(const gf__backend_opts *o) { count(K_CONFIGURE); return C->configure(o); }
static void w_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                   float beta, float *Cm, int ldc) {
  /* a library call: every argument is baked into a recorded graph */
  uint64_t h = GF_SG_HASH0;
  h = H(ta); h = H(tb); h = H(M); h = H(N); h = H(K); h = H(alpha); h = H(A); h = H(lda); h = H(B); h = H(ldb);
  h = H(beta); h = H(Cm); h = H(ldc);
  op(4, h);
  C->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
}
static void w_axpy(float *y, float a, const float *x, size_t n) { uint64_t h = GF_SG_HASH0; h = H(n); op(5, h); C->axpy(y, a, x, n); }
static void w_scale(float *x, float a, size_t n) { uint64_t h = GF_SG_HASH0; h = H(n); op(6, h); C->scale(x, a, n); }
static void w_bias_fwd(float *y, const float *b, int N, int Cc, int Sz) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(Cc); h = H(Sz); op(7, h); C->bias_fwd(y, b, N, Cc, Sz);
}
static void w_bias_bwd(float *db, const float *dy, int N, int Cc, int Sz) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(Cc); h = H(Sz); op(8, h); C->bias_bwd(db, dy, N, Cc, Sz);
}
static void w_act_fwd(gf__act k, float *y, const float *x, size_t n, float a) {
  uint64_t h = GF_SG_HASH0; h = H(k); h = H(n); op(9, h); C->act_fwd(k, y, x, n, a);
}
static void w_act_bwd(gf__act k, float *dx, const float *x, const float *y, const float *dy, size_t n, float a) {
  uint64_t h = GF_SG_HASH0; h = H(k); h = H(n); op(10, h); C->act_bwd(k, dx, x, y, dy, n, a);
}
static void w_norm_fwd_train(float *y, float *mean, float *rstd, const float *x, const float *g, const float *b, float *rm,
                             float *rv, int N, int Cc, int Sz, float eps, float mom) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(Cc); h = H(Sz); op(11, h);
  C->norm_fwd_train(y, mean, rstd, x, g, b, rm, rv, N, Cc, Sz, eps, mom);
}
static void w_norm_fwd_eval(float *y, const float *x, const float *g, const float *b, const float *rm, const float *rv, int N,
                            int Cc, int Sz, float eps) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(Cc); h = H(Sz); op(12, h); C->norm_fwd_eval(y, x, g, b, rm, rv, N, Cc, Sz, eps);
}
static void w_norm_bwd(float *dx, float *dg, float *db, const float *dy, const float *x, const float *m, const float *r,
                       const float *g, int N, int Cc, int Sz) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(Cc); h = H(Sz); op(13, h); C->norm_bwd(dx, dg, db, dy, x, m, r, g, N, Cc, Sz);
}
static void w_maxout_fwd(float *y, float *am, const float *x, int N, int u, int k) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(u); h = H(k); op(14, h); C->maxout_fwd(y, am, x, N, u, k);
}
static void w_maxout_bwd(float *dx, const float *dy, const float *am, int N, int u, int k) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(u); h = H(k); op(15, h); C->maxout_bwd(dx, dy, am, N, u, k);
}
static void w_dropout_fwd(float *y, float *mask, const float *x, size_t n, float p, uint64_t key, uint64_t st, uint64_t ctr) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(16, h); C->dropout_fwd(y, mask, x, n, p, key, st, ctr);
}
static void w_mul_bwd(float *dx, const float *dy, const float *m, size_t n) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(17, h); C->mul_bwd(dx, dy, m, n);
}
static void w_gan_loss(gf__gan_loss k, float *st, float *dx, const float *x, size_t n, float sc) {
  uint64_t h = GF_SG_HASH0; h = H(k); h = H(n); op(18, h); C->gan_loss(k, st, dx, x, n, sc);
}
static void w_l1(float *l, float *dx, const float *x, const float *t, size_t n, float sc) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(19, h); C->l1_loss(l, dx, x, t, n, sc);
}
static void w_mse(float *l, float *dx, const float *x, const float *t, size_t n, float sc) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(20, h); C->mse_loss(l, dx, x, t, n, sc);
}
static void w_xent(float *st, float *dx, float *p, const float *x, const float *y, int N, int Cc, float sc) {
  uint64_t h = GF_SG_HASH0; h = H(N); h = H(Cc); op(21, h); C->xent_loss(st, dx, p, x, y, N, Cc, sc);
}
static void w_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps, float bc1,
                   float bc2, float wd) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(22, h); C->adam(p, g, m, v, n, lr, b1, b2, eps, bc1, bc2, wd);
}
static void w_sgd(float *p, const float *g, float *v, size_t n, float lr, float mom, float wd) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(23, h); C->sgd(p, g, v, n, lr, mom, wd);
}
static uint64_t geom_hash(uint64_t h, int N, const gf__conv_geom *g) { h = H(N); return gf__sg_hash(h, g, sizeof *g); }
static void w_im2col(float *col, const float *x, int N, const gf__conv_geom *g) { op(24, geom_hash(GF_SG_HASH0, N, g)); C->im2col(col, x, N, g); }
static void w_col2im(float *x, const float *col, int N, const gf__conv_geom *g) { op(25, geom_hash(GF_SG_HASH0, N, g)); C->col2im(x, col, N, g); }
static void w_swap01(float *d, const float *s, int A, int B, int Sz, float beta) {
  uint64_t h = GF_SG_HASH0; h = H(A); h = H(B); h = H(Sz); op(26, h); C->swap01(d, s, A, B, Sz, beta);
}
static int w_conv_lib(int pass, float *out, const float *in0, const float *in1, int N, int OC, const gf__conv_geom *g,
                      float beta) {
  uint64_t h = geom_hash(GF_SG_HASH0, N, g);
  h = H(pass); h = H(out); h = H(in0); h = H(in1); h = H(OC); h = H(beta);
  op(27, h);
  return C->conv_lib(pass, out, in0, in1, N, OC, g, beta);
}
static void w_refl_fwd(float *y, const float *x, int NC, int Hh, int W, int t, int b, int l, int r) {
  uint64_t h = GF_SG_HASH0; h = H(NC); h = H(Hh); h = H(W); h = H(t); h = H(b); h = H(l); h = H(r); op(28, h);
  C->reflect_pad_fwd(y, x, NC, Hh, W, t, b, l, r);
}
static void w_refl_bwd(float *dx, const float *dy, int NC, int Hh, int W, int t, int b, int l, int r) {
  uint64_t h = GF_SG_HASH0; h = H(NC); h = H(Hh); h = H(W); h = H(t); h = H(b); h = H(l); h = H(r); op(29, h);
  C->reflect_pad_bwd(dx, dy, NC, Hh, W, t, b, l, r);
}
static void w_nonfinite(float *cnt, const float *x, size_t n) { uint64_t h = GF_SG_HASH0; h = H(n); op(30, h); C->count_nonfinite(cnt, x, n); }
static void w_gather(float *d, const float *s, const int32_t *idx, int n, int rows, int w) {
  uint64_t h = GF_SG_HASH0; h = H(n); h = H(rows); h = H(w); op(31, h); C->gather(d, s, idx, n, rows, w);
}
static void w_rand_normal(float *x, size_t n, float m, float sd, uint64_t seed, uint64_t st, uint64_t ctr) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(32, h); C->rand_normal(x, n, m, sd, seed, st, ctr);
}
static void w_rand_uniform(float *x, size_t n, float lo, float hi, uint64_t seed, uint64_t st, uint64_t ctr) {
  uint64_t h = GF_SG_HASH0; h = H(n); op(33, h); C->rand_uniform(x, n, lo, hi, seed, st, ctr);
}
static void w_dw_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g) {
  uint64_t h = geom_hash(GF_SG_HASH0, N, g); h = H(OC); op(34, h); C->dw_fwd(y, x, w, N, OC, g);
}
static void w_dw_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g) {
  uint64_t h = geom_hash(GF_SG_HASH0, N, g); h = H(OC); op(35, h); C->dw_bwd_data(dx, dy, w, N, OC, g);
}
static void w_dw_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g) {
  uint64_t h = geom_hash(GF_SG_HASH0, N, g); h = H(OC); op(36, h); C->dw_bwd_w(dw, x, dy, N, OC, g);
}
static void w_ka_coef(float *st, float *coef, const float *gx, const float *gy, int B, float sc) {
  uint64_t h = GF_SG_HASH0; h = H(B); op(37, h); C->ka_coef(st, coef, gx, gy, B, sc);
}
/* Winograd and direct kernels are CPU-only (NULL on CUDA): a backend without them lowers
   through im2col; the wrapper drops them so the model takes the paths CUDA takes. */

static gf__ops W;

static void make_table(void) {
  C = gf__ops_cpu();
  W = *C;
  W.name = "count";
  W.alloc = w_alloc; W.free = w_free; W.to_device = w_to_device; W.to_host = w_to_host; W.copy = w_copy; W.fill = w_fill;
  W.sync = w_sync; W.upload_const = w_upload; W.release_const = w_release; W.step_begin = w_step_begin;
  W.step_end = w_step_end; W.configure = w_configure; W.gemm = w_gemm; W.axpy = w_axpy; W.scale = w_scale;
  W.bias_fwd = w_bias_fwd; W.bias_bwd = w_bias_bwd; W.act_fwd = w_act_fwd; W.act_bwd = w_act_bwd;
  W.norm_fwd_train = w_norm_fwd_train; W.norm_fwd_eval = w_norm_fwd_eval; W.norm_bwd = w_norm_bwd;
  W.maxout_fwd = w_maxout_fwd; W.maxout_bwd = w_maxout_bwd; W.dropout_fwd = w_dropout_fwd; W.mul_bwd = w_mul_bwd;
  W.gan_loss = w_gan_loss; W.l1_loss = w_l1; W.mse_loss = w_mse; W.xent_loss = w_xent; W.adam = w_adam; W.sgd = w_sgd;
  W.im2col = w_im2col; W.col2im = w_col2im; W.swap01 = w_swap01;
  W.wino_fwd = NULL; W.wino_dw = NULL; W.pwino_fwd = NULL; W.pwino_bwd_data = NULL; W.pwino_dw = NULL;
  W.direct_fwd = NULL; W.direct_bwd_data = NULL; W.direct_bwd_w = NULL;
  if (C->conv_lib) W.conv_lib = w_conv_lib;
  W.reflect_pad_fwd = w_refl_fwd; W.reflect_pad_bwd = w_refl_bwd; W.count_nonfinite = w_nonfinite; W.gather = w_gather;
  W.rand_normal = w_rand_normal; W.rand_uniform = w_rand_uniform;
  W.dw_fwd = w_dw_fwd; W.dw_bwd_data = w_dw_bwd_data; W.dw_bwd_w = w_dw_bwd_w; W.ka_coef = w_ka_coef;
  gf__ops_override("count", &W);
}

/* Trains `preset` with settings on device "count" into $GF_TMP/step_ops/<name>, then checks the
   counts. min_steps: steps the run must take; epochs: epoch ends (pictures, weights) among them;
   aligned: every step has the same ops (0: train.d_steps does not divide the epoch's batches, so
   steps end inside epochs and shift: they run as they come, only the graph must stay on). */
/* The counts of the run just made (see run_case). */
static void check_counts(const char *name, long min_steps, int epochs, int aligned) {
  for (int k = 0; k < K_FORBIDDEN; k++)
    CHECK(S.in_step_calls[k] == 0, "%s: %ld %s call(s) inside training steps", name, S.in_step_calls[k], kname[k]);
  CHECK(S.steps >= min_steps, "%s: %ld steps, expected at least %ld", name, S.steps, min_steps);
  /* epoch ends (pictures, weights, checkpoints) read more than the statistics */
  CHECK(S.gaps_not_one <= epochs, "%s: %ld of %ld gaps between steps had not exactly one to_host", name, S.gaps_not_one,
        S.gaps);
  CHECK(S.to_device_max <= 2, "%s: up to %ld to_device calls in one step", name, S.to_device_max);
  /* one eager warm-up step, one recording, the rest replayed (epoch-end partial steps aside) */
  CHECK(!S.sg.off && S.sg.recordings >= 1 && S.sg.replays >= (aligned ? S.steps - 2 - 2 * (epochs - 1) : 1),
        "%s: step graph: %ld steps, %ld recordings, %ld replays, off %d (%s), last note: %s", name, S.steps,
        S.sg.recordings, S.sg.replays, S.sg.off, S.sg.reason, S.sg.note);
  printf("%-22s %4ld steps: %ld recording(s), %ld replays, %ld eager; to_host between steps: %ld gaps, %ld not 1; "
         "to_device per step <= %ld\n", name, S.steps, S.sg.recordings, S.sg.replays, S.sg.eager_steps, S.gaps,
         S.gaps_not_one, S.to_device_max);
}

static int run_case(const char *name, const char *preset, const char *const *kv, long min_steps, int epochs, int aligned) {
  gf_config cfg;
  if (gf_preset_apply(&cfg, preset) < 0) { CHECK(0, "%s: preset %s: %s", name, preset, gf_last_error()); return -1; }
  for (int i = 0; kv[i]; i++) gf_t_set(&cfg, kv[i]);
  gf_t_set(&cfg, "train.device=count");
  gf_t_set(&cfg, "train.report=0");
  char out[2300];
  snprintf(out, sizeof out, "%s/%s", tmp, name);
  reset(1);
  gf_train_opts o = {.out_dir = out};
  int rc = gf_train(&cfg, &o);
  CHECK(rc == 0, "%s: training: %s", name, gf_last_error());
  if (rc) return rc;
  check_counts(name, min_steps, epochs, aligned);
  return 0;
}

/* ganforge compress of a tiny inception teacher (trained on the CPU first) on device "count". */
static void compress_case(const char *h2z) {
  gf_config t;
  const char *kv[] = {h2z, "data.load_size=36", "data.crop_size=32", "model.ngf=8", "model.ndf=8", "model.n_blocks=3",
                      "data.limit=8", "train.max_steps=2", "train.report=0", "train.checkpoint_every=0", NULL};
  if (gf_preset_apply(&t, "cat-teacher128") < 0) { CHECK(0, "preset cat-teacher128: %s", gf_last_error()); return; }
  for (int i = 0; kv[i]; i++) gf_t_set(&t, kv[i]);
  char tdir[2300], out[2300];
  snprintf(tdir, sizeof tdir, "%s/cat-teacher", tmp);
  snprintf(out, sizeof out, "%s/compress", tmp);
  gf_train_opts o = {.out_dir = tdir};
  int rc = gf_train(&t, &o);
  CHECK(rc == 0, "cat teacher: %s", gf_last_error());
  if (rc) return;
  gf_config c = t;
  char kvt[2400];
  snprintf(kvt, sizeof kvt, "compress.teacher=%s", tdir);
  gf_t_set(&c, kvt);
  c.compress_macs = 0.4 * 1e9; /* well below the teacher's (checked by compress) */
  long long tm = 0;
  long tp = 0;
  if (gf_generator_cost(&t, 32, 32, &tm, &tp) == 0) c.compress_macs = 0.35 * (double)tm;
  gf_t_set(&c, "compress.min_channels=4");
  gf_t_set(&c, "train.batch=4");
  gf_t_set(&c, "train.max_steps=0");
  gf_t_set(&c, "train.n_epochs=3");
  gf_t_set(&c, "train.n_epochs_decay=0");
  gf_t_set(&c, "train.device=count");
  reset(1);
  gf_train_opts oc = {.out_dir = out};
  rc = gf_compress(&c, &oc);
  CHECK(rc == 0, "compress: %s", gf_last_error());
  if (rc == 0) check_counts("compress", 6, 3, 1);
}

/* The generator file of a run. */
static char *file_of(const char *name, const char *file) {
  static char p[2][2400];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s/%s", tmp, name, file);
  return p[k];
}

int main(void) {
  make_table();
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("step_ops"));
  char mnist[2048], h2z[2048];
  snprintf(mnist, sizeof mnist, "data.path=%s/mnist", gf_t_data());
  snprintf(h2z, sizeof h2z, "data.path=%s/horse2zebra", gf_t_data());
  (void)mnist;

  /* MLP GAN on shapes: 40 steps */
  const char *mlp[] = {"data.n=2560", "train.max_steps=40", "train.batch=32", "train.checkpoint_every=0", NULL};
  run_case("mlp", "mlp-shapes", mlp, 40, 1, 1);
  /* maxout + dropout + SGD with momentum (goodfellow's D) on shapes */
  const char *gf[] = {"data.name=shapes", "data.n=2560", "train.max_steps=30", "train.batch=32",
                      "train.checkpoint_every=0", NULL};
  run_case("maxout-dropout-sgd", "goodfellow-mnist", gf, 30, 1, 1);
  /* DCGAN with flips and generator EMA, 2 epochs of 10 batches */
  const char *dc[] = {"data.n=160", "train.batch=16", "train.epochs=2", "data.flip=1", "train.ema=0.9",
                      "model.ngf=8", "model.ndf=8", "train.checkpoint_every=0", NULL};
  run_case("dcgan", "dcgan-shapes", dc, 20, 2, 1);
  /* two D steps per G step, 3 epochs of 5 batches: steps end inside epochs and shift */
  const char *k2[] = {"data.n=80", "train.batch=16", "train.epochs=3", "train.d_steps=2", "model.ngf=8", "model.ndf=8",
                      "train.checkpoint_every=0", NULL};
  run_case("dcgan-d_steps2", "dcgan-shapes", k2, 6, 3, 0);
  /* RaGAN with DiffAugment: the relativistic G step augments the real batch and the fakes */
  const char *ra[] = {"data.n=80", "train.batch=16", "train.epochs=1", "train.loss=ragan",
                      "train.diffaug=color,translation,cutout", "model.ngf=8", "model.ndf=8",
                      "train.checkpoint_every=0", NULL};
  run_case("dcgan-ragan-diffaug", "dcgan-shapes", ra, 5, 1, 1);

  /* the host-prefetch path (no resident dataset) trains bit for bit like the device gather */
  S.refuse_upload = 1;
  run_case("dcgan-prefetch", "dcgan-shapes", dc, 20, 2, 1);
  S.refuse_upload = 0;
  CHECK(gf_t_same_file(file_of("dcgan", "generator.safetensors"), file_of("dcgan-prefetch", "generator.safetensors")),
        "the prefetched run's generator differs from the gathered run's");

  char dir[2300];
  snprintf(dir, sizeof dir, "%s/horse2zebra/trainA", gf_t_data());
  FILE *probe = fopen(dir, "r");
  if (probe) {
    fclose(probe);
    /* CycleGAN, pool of 2 (filling, then swap / keep draws), identity loss */
    const char *cy[] = {h2z, "data.load_size=36", "data.crop_size=32", "model.ngf=4", "model.ndf=4", "model.n_blocks=1",
                        "data.limit=12", "train.max_steps=12", "train.pool_size=2", "train.checkpoint_every=0", NULL};
    run_case("cyclegan", "cyclegan", cy, 12, 1, 1);
    /* pix2pix (U-Net with dropout, L1) on the same pictures as pairs */
    const char *p2[] = {h2z, "data.load_size=128", "data.crop_size=128", "model.netG=unet_128", "model.ngf=2",
                        "model.ndf=2", "model.dropout=1", "data.limit=6", "train.max_steps=6", "train.checkpoint_every=0",
                        NULL};
    run_case("pix2pix", "pix2pix", p2, 6, 1, 1);
    compress_case(h2z);
  } else {
    printf("horse2zebra not found under %s: CycleGAN case skipped\n", gf_t_data());
  }
  /* the classifier: 25 steps of shapes */
  const char *cl[] = {"data.n=800", "train.batch=32", "train.epochs=1", "model.ndf=4", NULL};
  run_case("classifier", "classifier-shapes", cl, 25, 1, 1);

  /* the bookkeeping sees a barrier: a to_host inside a recorded step */
  reset(1);
  float *buf = W.alloc(16);
  float host[4];
  for (int s = 0; s < 6; s++) {
    W.step_begin();
    W.fill(buf, 1.0f, 4);
    if (s >= 2) W.to_host(host, buf, sizeof host); /* illegal inside a step */
    W.step_end();
  }
  CHECK(S.sg.off && strstr(S.sg.reason, "to_host inside the step"), "to_host in steps: off %d, reason '%s'", S.sg.off,
        S.sg.reason);
  W.free(buf);
  gf__sg_free(&S.sg);
  return gf_t_done();
}
