/* test_train.c: end-to-end training through the public API (gf_train, gf_sample): determinism,
   ring8 mode coverage, MNIST pictures and log, and the non-finite-loss stop. */
#include "harness.h"

#include "core/util.h"
#include "data/dataset.h"
#include "eval/modes.h"
#include "ganforge/ganforge.h"
#include "io/image.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ring8 settings for (b) and the diverging setting for (d): see the comments there. */
#define RING8_SETTINGS "data.n=20000", "model.g_hidden=128,128,128", "model.d_hidden=128,128", \
    "train.batch=256", "train.lr=1e-3", "train.max_steps=1500", \
    "model.pack=1", "train.ema=0", "train.lr_decay=1"
#define NAN_SETTING "train.lr=1000"

static char tmp[2048];

static const char *tpath(const char *name) {
  static char buf[4][2300];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
  return buf[k];
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Preset + "key=value" overrides (NULL-terminated); returns 0 or fails the test. */
static int make_cfg(gf_config *cfg, const char *preset, const char *const *kv) {
  int rc = gf_preset_apply(cfg, preset);
  CHECK(rc == 0, "preset %s: %s", preset, gf_last_error());
  for (int i = 0; rc == 0 && kv && kv[i]; i++) {
    rc = gf_config_set_kv(cfg, kv[i]);
    CHECK(rc == 0, "%s: %s", kv[i], gf_last_error());
  }
  return rc;
}

static int train(const gf_config *cfg, const char *dir) {
  gf_train_opts o = {.out_dir = dir};
  double t0 = gf__now();
  int rc = gf_train(cfg, &o);
  fprintf(stderr, "  trained %s into %s: rc %d (%s) in %.1f s\n", cfg->data_name, dir, rc, gf_err_name(rc),
          gf__now() - t0);
  return rc;
}

static int read_all(const char *path, char **buf, size_t *len) {
  int rc = gf__read_file(path, buf, len);
  CHECK(rc == 0, "read %s: %s", path, gf_last_error());
  return rc;
}

/* Every tensor of a safetensors file; calls fn(name, data, count, user) with an aligned copy. */
typedef void (*tensor_fn)(const char *name, const float *x, size_t n, void *user);
static int for_each_tensor(const char *path, tensor_fn fn, void *user) {
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == 0, "open %s: %s", path, gf_last_error());
  if (rc < 0) return rc;
  for (int i = 0; i < f.n; i++) {
    const char *name = gf__st_name(&f, i);
    const uint8_t *data;
    int ndim;
    int64_t shape[GF_ST_MAXDIM];
    rc = gf__st_get(&f, name, &data, &ndim, shape);
    CHECK(rc == 0, "%s: tensor %s: %s", path, name, gf_last_error());
    if (rc < 0) break;
    size_t n = 1;
    for (int k = 0; k < ndim; k++) n *= (size_t)shape[k];
    float *x = malloc(sizeof(float) * (n ? n : 1));
    if (n) memcpy(x, data, sizeof(float) * n);
    fn(name, x, n, user);
    free(x);
  }
  gf__st_close(&f);
  return rc;
}

/* ---- (a) determinism ---------------------------------------------------------------------- */

typedef struct tensors {
  int n;
  char names[64][96];
  float *data[64];
  size_t count[64];
} tensors;

static void collect(const char *name, const float *x, size_t n, void *user) {
  tensors *t = user;
  if (t->n >= 64) return;
  snprintf(t->names[t->n], sizeof t->names[t->n], "%s", name);
  t->data[t->n] = malloc(sizeof(float) * (n ? n : 1));
  memcpy(t->data[t->n], x, sizeof(float) * n);
  t->count[t->n] = n;
  t->n++;
}

static void tensors_free(tensors *t) {
  for (int i = 0; i < t->n; i++) free(t->data[i]);
  t->n = 0;
}

static void test_determinism(void) {
  fprintf(stderr, "(a) determinism: gauss1d, 100 generator steps, seeds 7, 7, 8\n");
  const char *kv[] = {"data.n=4096", "train.max_steps=100", "train.grid=500", NULL};
  gf_config cfg;
  if (make_cfg(&cfg, "gauss1d", kv)) return;
  cfg.train_seed = 7;
  int r1 = train(&cfg, tpath("det1"));
  int r2 = train(&cfg, tpath("det2"));
  cfg.train_seed = 8;
  int r3 = train(&cfg, tpath("det3"));
  CHECK(r1 == 0 && r2 == 0 && r3 == 0, "train: %d %d %d", r1, r2, r3);
  char *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  if (read_all(tpath("det1/generator.safetensors"), &a, &la) == 0 &&
      read_all(tpath("det2/generator.safetensors"), &b, &lb) == 0) {
    CHECK(la == lb && la > 0 && memcmp(a, b, la) == 0, "same seed: generator.safetensors differ (%zu vs %zu bytes)",
          la, lb);
  }
  free(a);
  free(b);
  /* the log records the same losses too (the seconds column aside) */
  if (read_all(tpath("det1/log.csv"), &a, &la) == 0 && read_all(tpath("det2/log.csv"), &b, &lb) == 0) {
    int rows = 0, same = 1;
    char *sa, *sb;
    char *la_ = strtok_r(a, "\n", &sa), *lb_ = strtok_r(b, "\n", &sb);
    for (; la_ && lb_; la_ = strtok_r(NULL, "\n", &sa), lb_ = strtok_r(NULL, "\n", &sb), rows++) {
      char *ca = strrchr(la_, ','), *cb = strrchr(lb_, ',');
      if (ca) *ca = 0;
      if (cb) *cb = 0;
      if (strcmp(la_, lb_)) same = 0;
    }
    CHECK(same && !la_ && !lb_ && rows == 101, "same seed: log.csv losses differ (rows %d)", rows);
  }
  free(a);
  free(b);
  /* a different seed: the same tensors (names, shapes) with different values. The metadata differs
     anyway (it holds the config with the seed), so compare the tensors, not the bytes. */
  tensors t1 = {0}, t3 = {0};
  for_each_tensor(tpath("det1/generator.safetensors"), collect, &t1);
  for_each_tensor(tpath("det3/generator.safetensors"), collect, &t3);
  CHECK(t1.n > 0 && t1.n == t3.n, "tensor counts %d vs %d", t1.n, t3.n);
  int differ = 0, same_layout = t1.n == t3.n;
  for (int i = 0; same_layout && i < t1.n; i++) {
    if (strcmp(t1.names[i], t3.names[i]) || t1.count[i] != t3.count[i]) { same_layout = 0; break; }
    if (memcmp(t1.data[i], t3.data[i], sizeof(float) * t1.count[i])) differ++;
  }
  CHECK(same_layout, "seed 7 and 8 files hold different tensors");
  CHECK(differ > 0, "seed 7 and seed 8 give identical weights");
  tensors_free(&t1);
  tensors_free(&t3);
}

/* ---- (b) ring8 mode coverage -------------------------------------------------------------- */

/* Reads a float32 .npy written by gf_sample: returns the data, the shape into shape[4]. */
static float *read_npy(const char *path, int shape[4]) {
  char *buf = NULL;
  size_t len = 0;
  if (read_all(path, &buf, &len)) return NULL;
  float *x = NULL;
  CHECK(len >= 10 && !memcmp(buf, "\x93NUMPY\x01\x00", 8), "%s: not an .npy v1.0 file", path);
  if (len < 10 || memcmp(buf, "\x93NUMPY\x01\x00", 8)) goto out;
  size_t hl = (size_t)(uint8_t)buf[8] | (size_t)(uint8_t)buf[9] << 8;
  CHECK((10 + hl) % 64 == 0, "%s: header not padded to 64 bytes (%zu)", path, 10 + hl);
  CHECK(10 + hl <= len && buf[10 + hl - 1] == '\n', "%s: header does not end in newline", path);
  if (10 + hl > len) goto out;
  char hdr[512];
  snprintf(hdr, sizeof hdr, "%.*s", (int)(hl < 511 ? hl : 511), buf + 10);
  CHECK(strstr(hdr, "'descr': '<f4'") && strstr(hdr, "'fortran_order': False"), "%s: header %s", path, hdr);
  const char *sh = strstr(hdr, "'shape': (");
  CHECK(sh && sscanf(sh, "'shape': (%d, %d, %d, %d)", &shape[0], &shape[1], &shape[2], &shape[3]) == 4,
        "%s: shape in %s", path, hdr);
  if (!sh) goto out;
  size_t count = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
  CHECK(len == 10 + hl + 4 * count, "%s: %zu bytes for %zu floats", path, len, count);
  if (len != 10 + hl + 4 * count) goto out;
  x = malloc(4 * count);
  memcpy(x, buf + 10 + hl, 4 * count);
out:
  free(buf);
  return x;
}

/* One ring8 run of the settings below from `seed`; its mode counts into *res. 0, or -1 on a failure
   (already reported). */
static int ring8_run(int seed, gf__modes_result *res) {
  char sk[32];
  snprintf(sk, sizeof sk, "train.seed=%d", seed);
  const char *kv[] = {RING8_SETTINGS, "train.grid=500", sk, NULL};
  gf_config cfg;
  if (make_cfg(&cfg, "ring8", kv)) return -1;
#ifdef _OPENMP
  /* 128-wide layers are too small to gain from threads; on a busy 2-core machine two OpenMP
     threads made this run 10x slower (340 s against 30 s). The result is the same either way. */
  int threads = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  double t0 = gf__now();
  int rc = train(&cfg, tpath("ring8"));
  double secs = gf__now() - t0;
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  CHECK(rc == 0, "ring8 training: %s", gf_last_error());
  if (rc) return -1;
  rc = gf_sample(tpath("ring8"), 2500, 12345, 0, 1, tpath("ring8.npy"), NULL);
  CHECK(rc == 0, "gf_sample npy: %s", gf_last_error());
  int shape[4] = {0};
  float *x = rc ? NULL : read_npy(tpath("ring8.npy"), shape);
  if (!x) return -1;
  CHECK(shape[0] == 2500 && shape[1] == 2 && shape[2] == 1 && shape[3] == 1, "shape (%d, %d, %d, %d)", shape[0],
        shape[1], shape[2], shape[3]);
  gf__dataset ds;
  memset(&ds, 0, sizeof ds);
  rc = gf__synth_ring8(&ds, 8, 1);
  CHECK(rc == 0 && ds.nmodes == 8 && ds.mode_sigma > 0, "ring8 modes: %s", gf_last_error());
  int counts[8] = {0};
  if (rc == 0) rc = gf__modes_eval_counts(x, 2500, 2, ds.modes, ds.nmodes, ds.mode_sigma, res, counts);
  CHECK(rc == 0, "modes: %s", gf_last_error());
  fprintf(stderr, "  ring8 seed %d after %d steps (%.1f s): %d/8 modes, %.1f%% high quality, KL %.3f; counts", seed,
          cfg.train_max_steps, secs, res->captured, 100 * res->frac_hq, res->kl);
  for (int j = 0; j < 8; j++) fprintf(stderr, " %d", counts[j]);
  fprintf(stderr, "\n");
  gf__dataset_free(&ds);
  free(x);
  return rc ? -1 : 0;
}

static void test_ring8(void) {
  /* PacGAN's setup (G 4x400 ReLU+BN, D 3x200 maxout-5, Adam 1e-4, batch 100, 20 epochs of 100k points;
     the preset now adds packing, lr decay and the generator EMA, switched off below)
     takes far longer than a unit test may (about 10-15 min on 2 cores), and at lr 1e-4 it covers only
     3 modes after 1,000 steps. These settings keep its family (z 2-d normal, ReLU+BN generator,
     maxout-5 D, Adam beta1 0.8) with G 3x128, D 2x128, batch 256, lr 1e-3, 1,500 steps on 20k points.
     The outcome depends on the seed, as expected of a plain GAN (PacGAN reports 6.3 modes on average
     after 400 epochs), and on the machine: a run is deterministic on one machine (1 or 2 threads),
     but the BLAS kernels of another CPU round differently and the GAN's dynamics magnify that.
     Seeds 1-4 gave 6, 7, 8, 6 modes on an AVX-512 machine and 8, 7, 5-6, 8 on an AVX2 one (AMD EPYC),
     so two seeds run here: the better must cover 7 of the 8 modes with some high-quality samples,
     the worse at least 4 (a broken training path covers 1-3). */
  fprintf(stderr, "(b) ring8: short training, mode coverage on 2,500 samples (seeds 3 and 4)\n");
  gf__modes_result r3, r4;
  memset(&r3, 0, sizeof r3);
  memset(&r4, 0, sizeof r4);
  if (ring8_run(3, &r3) || ring8_run(4, &r4)) return;
  const gf__modes_result *best = r3.captured >= r4.captured ? &r3 : &r4, *worst = best == &r3 ? &r4 : &r3;
  CHECK(best->captured >= 7, "ring8: the better of seeds 3 and 4 captured only %d of 8 modes", best->captured);
  CHECK(best->frac_hq > 0.05, "ring8: high quality fraction %.3f", best->frac_hq);
  CHECK(worst->captured >= 4, "ring8: the worse of seeds 3 and 4 captured only %d of 8 modes", worst->captured);
}

/* ---- (c) MNIST: picture and log ----------------------------------------------------------- */

static int finite_field(const char *s, double *v) {
  char *end;
  *v = strtod(s, &end);
  return end != s && (*end == 0 || *end == ',') && isfinite(*v);
}

/* Checks a run's samples/epoch_001.png: the 5x5 grid of 28x28 MNIST samples. */
static void check_mnist_picture(const char *png) {
  /* grid of train.grid = 25 images, train.nrow = 5 per row, 28x28 zoomed 2x (write_picture in
     train.c zooms images <= 32 px by 2), padding 2 (grid.c): 5 * (28 * 2 + 2) + 2 = 292 a side */
  const int up = 2, pad = 2, cols = 5, rows = 5;
  int ew = cols * (28 * up + pad) + pad, eh = rows * (28 * up + pad) + pad;
  uint8_t *pix = NULL;
  int w = 0, h = 0, ch = 0;
  int rc = gf__png_read(png, &pix, &w, &h, &ch);
  CHECK(rc == 0, "%s: %s", png, gf_last_error());
  CHECK(w == ew && h == eh && ch == 1, "%s is %dx%dx%d, expected %dx%dx1", png, w, h, ch, ew, eh);
  if (rc == 0 && w == ew && h == eh) {
    /* padding is mid grey; the samples are not all one value */
    CHECK(pix[0] == 128 && pix[(size_t)eh * ew - 1] == 128, "padding %d %d", pix[0], pix[(size_t)eh * ew - 1]);
    int lo = 255, hi = 0;
    for (int y = pad; y < pad + 28 * up; y++)
      for (int x = pad; x < pad + 28 * up; x++) {
        int v = pix[(size_t)y * ew + x];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
    CHECK(hi > lo, "first sample is flat (%d)", lo);
  }
  free(pix);
}

/* log.csv: the header, then one row per generator step 1..steps, 7 finite numbers each. */
static void check_log(const char *path, int steps) {
  char *buf = NULL;
  size_t len = 0;
  if (read_all(path, &buf, &len)) return;
  char *save = NULL, *line = strtok_r(buf, "\n", &save);
  CHECK(line && !strcmp(line, "step,epoch,loss_D,loss_G,D_x,D_G_z,seconds"), "header '%s'", line ? line : "");
  int nrows = 0, bad = 0, last_step = 0;
  for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    nrows++;
    int fields = 0;
    double v[7];
    const char *p = line;
    while (fields < 7) {
      if (!finite_field(p, &v[fields])) break;
      fields++;
      p = strchr(p, ',');
      if (!p) break;
      p++;
    }
    if (fields != 7 || p) {
      if (!bad) fprintf(stderr, "  bad log row: %s\n", line);
      bad++;
      continue;
    }
    if ((int)v[0] != last_step + 1 || v[1] != 1 || v[2] < 0 || v[4] < 0 || v[4] > 1 || v[5] < 0 || v[5] > 1) {
      if (!bad) fprintf(stderr, "  unexpected log row: %s\n", line);
      bad++;
    }
    last_step = (int)v[0];
  }
  CHECK(nrows == steps && bad == 0, "%s: %d rows (expected %d), %d bad", path, nrows, steps, bad);
  free(buf);
}

static void test_mnist(void) {
  char data[2200];
  snprintf(data, sizeof data, "%s/mnist", gf_t_data());
  if (!exists(data)) {
    CHECK(0, "%s missing: set GF_TEST_DATA", data);
    return;
  }
  char kvpath[2300];
  snprintf(kvpath, sizeof kvpath, "data.path=%s", data);
  /* one complete (tiny) epoch: 640 images at batch 32 = 20 steps */
  fprintf(stderr, "(c) mlp-mnist on %s: one epoch of 640 images (20 steps)\n", data);
  const char *kv[] = {kvpath, "data.download=0", "data.limit=640", "train.epochs=1", NULL};
  gf_config cfg;
  if (make_cfg(&cfg, "mlp-mnist", kv)) return;
  int rc = train(&cfg, tpath("mnist"));
  CHECK(rc == 0, "mlp-mnist: %s", gf_last_error());
  if (rc == 0) {
    check_mnist_picture(tpath("mnist/samples/epoch_001.png"));
    CHECK(!exists(tpath("mnist/samples/epoch_002.png")), "a second epoch picture was written");
    CHECK(exists(tpath("mnist/generator.safetensors")) && exists(tpath("mnist/config.txt")), "run files missing");
    check_log(tpath("mnist/log.csv"), 20);
  }
  /* a fraction of an epoch: 2,000 images (62 steps per epoch), stopped by train.max_steps = 20.
     The run is finished, so its picture must exist too. */
  fprintf(stderr, "(c) mlp-mnist: 20 steps of a 62-step epoch (train.max_steps)\n");
  const char *kv2[] = {kvpath, "data.download=0", "data.limit=2000", "train.max_steps=20", NULL};
  if (make_cfg(&cfg, "mlp-mnist", kv2)) return;
  rc = train(&cfg, tpath("mnist_part"));
  CHECK(rc == 0, "mlp-mnist: %s", gf_last_error());
  if (rc) return;
  CHECK(exists(tpath("mnist_part/samples/epoch_001.png")),
        "no samples/epoch_001.png after a run stopped by train.max_steps inside epoch 1");
  if (exists(tpath("mnist_part/samples/epoch_001.png"))) check_mnist_picture(tpath("mnist_part/samples/epoch_001.png"));
  CHECK(exists(tpath("mnist_part/generator.safetensors")), "no generator.safetensors");
  check_log(tpath("mnist_part/log.csv"), 20);
}

/* ---- (d) non-finite loss ------------------------------------------------------------------ */

typedef struct finite_count {
  size_t n, bad;
} finite_count;

static void count_finite(const char *name, const float *x, size_t n, void *user) {
  finite_count *fc = user;
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += !isfinite(x[i]);
  if (bad) fprintf(stderr, "  tensor %s: %zu of %zu values not finite\n", name, bad, n);
  fc->n += n;
  fc->bad += bad;
}

/* Trains gauss1d with `setting` until a loss is not finite; checks the status, the message and
   that whatever generator.safetensors is left holds finite weights only. */
static void nan_case(const char *name, const char *const *setting, int expect_file) {
  const char *kv[8] = {"data.n=4096", "train.max_steps=200", "train.grid=500"};
  int k = 3;
  for (int i = 0; setting[i] && k < 7; i++) kv[k++] = setting[i];
  kv[k] = NULL;
  gf_config cfg;
  if (make_cfg(&cfg, "gauss1d", kv)) return;
  int rc = train(&cfg, tpath(name));
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", gf_last_error());
  fprintf(stderr, "  message: %s\n", msg);
  CHECK(rc == GF_ENUMERIC, "%s: rc %d (%s), expected GF_ENUMERIC: %s", name, rc, gf_err_name(rc), msg);
  CHECK(strstr(msg, "loss_") && (strstr(msg, "nan") || strstr(msg, "inf")), "%s: message does not name the loss: %s",
        name, msg);
  char file[2300];
  snprintf(file, sizeof file, "%s/generator.safetensors", tpath(name));
  int have = exists(file);
  if (expect_file) CHECK(have, "%s: no generator.safetensors after the non-finite stop", name);
  /* the message must say where the weights are, and only when they are there */
  CHECK(have == (strstr(msg, "generator.safetensors") != NULL), "%s: file %s, message: %s", name,
        have ? "exists" : "missing", msg);
  if (!have) return;
  finite_count fc = {0, 0};
  if (for_each_tensor(file, count_finite, &fc) == 0)
    CHECK(fc.n > 0 && fc.bad == 0, "%s: saved weights: %zu of %zu values not finite", name, fc.bad, fc.n);
  /* the saved file is loadable and samples finite values */
  char npy[2300];
  snprintf(npy, sizeof npy, "%s.npy", tpath(name));
  rc = gf_sample(tpath(name), 64, 1, 0, 1, npy, NULL);
  CHECK(rc == 0, "%s: sampling the saved weights: %s", name, gf_last_error());
  int shape[4];
  float *x = rc ? NULL : read_npy(npy, shape);
  if (x) {
    int bad = 0;
    for (int i = 0; i < 64; i++) bad += !isfinite(x[i]);
    CHECK(bad == 0, "%s: %d of 64 samples from the saved weights are not finite", name, bad);
  }
  free(x);
}

static void test_nan(void) {
  /* plain SGD at lr 1000 blows up within a few steps, before any weights were saved: no
     generator file may appear, and the message says so. */
  fprintf(stderr, "(d) diverging runs stop with GF_ENUMERIC\n  train.optimizer=sgd train.lr=1000:\n");
  const char *s1[] = {"train.optimizer=sgd", NAN_SETTING, NULL};
  nan_case("nan_sgd", s1, 0);

  /* a healthy epoch first, then a resume that diverges: the epoch's generator.safetensors and
     checkpoint must be left exactly as they were (the last good weights). */
  fprintf(stderr, "  healthy epoch, then resumed with train.lr=1000 (sgd):\n");
  gf_config cfg;
  const char *kv[] = {"data.n=4096", "train.epochs=1", "train.grid=500", NULL};
  if (make_cfg(&cfg, "gauss1d", kv)) return;
  const char *dir = tpath("nan_resume");
  int rc = train(&cfg, dir);
  CHECK(rc == 0, "healthy epoch: %s", gf_last_error());
  char gen[2300], ck[2300], ckpath[2300];
  snprintf(gen, sizeof gen, "%s/generator.safetensors", dir);
  snprintf(ck, sizeof ck, "%s/checkpoints/latest.safetensors", dir);
  char *before = NULL, *after = NULL, *ck_before = NULL, *ck_after = NULL;
  size_t nb = 0, na = 0, cb = 0, ca = 0;
  CHECK(gf__read_file(gen, &before, &nb) == 0 && gf__read_file(ck, &ck_before, &cb) == 0, "no weights after the healthy epoch");
  gf_config rcfg;
  CHECK(gf_checkpoint_config(dir, &rcfg, ckpath, sizeof ckpath) == 0, "%s", gf_last_error());
  gf_config_set(&rcfg, "train.epochs", "3");
  gf_config_set(&rcfg, "train.optimizer", "sgd");
  gf_config_set(&rcfg, "train.lr", "1000");
  gf_train_opts o = {.out_dir = dir, .resume = ckpath};
  rc = gf_train(&rcfg, &o);
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", gf_last_error());
  fprintf(stderr, "  message: %s\n", msg);
  CHECK(rc == GF_ENUMERIC, "diverging resume: rc %d (%s): %s", rc, gf_err_name(rc), msg);
  CHECK(strstr(msg, "latest.safetensors") && strstr(msg, "generator.safetensors"), "message does not say where the weights are: %s", msg);
  CHECK(gf__read_file(gen, &after, &na) == 0 && gf__read_file(ck, &ck_after, &ca) == 0, "weights gone after the failure");
  CHECK(before && after && na == nb && !memcmp(before, after, nb), "generator.safetensors changed after the non-finite stop");
  CHECK(ck_before && ck_after && ca == cb && !memcmp(ck_before, ck_after, cb), "latest checkpoint changed after the non-finite stop");
  free(before); free(after); free(ck_before); free(ck_after);

  /* learning rates beyond what a float step can hold are refused up front */
  const char *kv2[] = {"train.lr=1e300", NULL};
  if (make_cfg(&cfg, "gauss1d", kv2) == 0) {
    rc = gf_config_validate(&cfg);
    CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "train.lr") != NULL, "train.lr=1e300: rc %d, %s", rc, gf_last_error());
  }
}

/* ---- (e) every preset is a valid configuration -------------------------------------------- */

static void test_presets_valid(void) {
  fprintf(stderr, "(e) every preset passes gf_config_validate\n");
  CHECK(gf_preset_count() >= 12, "%d presets", gf_preset_count());
  for (int i = 0; i < gf_preset_count(); i++) {
    gf_config cfg;
    int rc = gf_preset_apply(&cfg, gf_preset_name(i));
    CHECK(rc == 0, "preset %s: %s", gf_preset_name(i), gf_last_error());
    if (rc == 0) {
      rc = gf_config_validate(&cfg);
      CHECK(rc == 0, "preset %s does not validate: %s", gf_preset_name(i), gf_last_error());
    }
  }
}

int main(int argc, char **argv) {
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("train"));
  const char *only = argc > 1 ? argv[1] : NULL; /* run some parts: any of "abcde" */
  if (!only || strchr(only, 'a')) test_determinism();
  if (!only || strchr(only, 'b')) test_ring8();
  if (!only || strchr(only, 'c')) test_mnist();
  if (!only || strchr(only, 'd')) test_nan();
  if (!only || strchr(only, 'e')) test_presets_valid();
  return gf_t_done();
}
