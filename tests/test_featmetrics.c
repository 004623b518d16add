/* test_featmetrics.c: the classifier-space metrics on cases with known answers (FID of a set with
   itself is 0 and equals the closed form under shifts and scalings; KID is ~0 for one distribution
   and grows with a shift; precision/recall of identical, disjoint and half-covered sets;
   classifier score of one-hot predictions; label histograms), the Jacobi eigensolver, and a
   small classifier trained end to end on the shapes set. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/dataset.h"
#include "eval/featmetrics.h"
#include "eval/npyio.h"
#include "ganforge/ganforge.h"
#include "models/classifier.h"

static float *gauss(int n, int d, uint64_t seed, const float *scale) {
  gf__rng r;
  gf__rng_init(&r, seed, 99);
  float *x = malloc(sizeof(float) * (size_t)n * d);
  gf__rng_normal(&r, x, (long)n * d, 0, 1);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) x[(size_t)i * d + j] *= scale ? scale[j] : 1.0f;
  return x;
}

static void test_eig(void) {
  const int d = 12;
  double a[144], a0[144], w[12], v[144];
  gf__rng r;
  gf__rng_init(&r, 5, 1);
  for (int i = 0; i < d; i++)
    for (int j = 0; j <= i; j++) {
      double x = gf__rng_float(&r) - 0.5;
      a[i * d + j] = a[j * d + i] = x;
    }
  memcpy(a0, a, sizeof a);
  CHECK(gf__sym_eig(a, d, w, v) == 0, "sym_eig");
  double err = 0, orth = 0;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double s = 0, o = 0;
      for (int k = 0; k < d; k++) s += v[i * d + k] * w[k] * v[j * d + k], o += v[k * d + i] * v[k * d + j];
      err = fmax(err, fabs(s - a0[i * d + j]));
      orth = fmax(orth, fabs(o - (i == j)));
    }
  CHECK(err < 1e-12, "V diag(w) V^T differs from A by %g", err);
  CHECK(orth < 1e-12, "V is not orthonormal (%g)", orth);
}

static void test_fid(void) {
  const int n = 3000, d = 16;
  float sc[16];
  for (int j = 0; j < d; j++) sc[j] = 0.5f + 0.1f * j;
  float *x = gauss(n, d, 1, sc), *y = malloc(sizeof(float) * (size_t)n * d);
  double f = -1;
  CHECK(gf__fid(x, n, x, n, d, &f) == 0 && fabs(f) < 1e-6, "FID of a set with itself: %g", f);
  /* a shift by s: FID = |s|^2 exactly (same covariance) */
  double s2 = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) y[(size_t)i * d + j] = x[(size_t)i * d + j] + 0.25f * (float)(j % 3);
  for (int j = 0; j < d; j++) s2 += (0.25 * (j % 3)) * (0.25 * (j % 3));
  CHECK(gf__fid(x, n, y, n, d, &f) == 0, "fid shift");
  CHECK_CLOSE(f, s2, 1e-4, 1e-5, "FID under a shift = |shift|^2");
  /* y = 2x + 1: covariance 4 S, FID = |mean(x) + 1|^2 + tr S + 4 tr S - 2 tr sqrt(4 S^2) = |mu + 1|^2 + tr S */
  double mu[16] = {0}, trs = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) mu[j] += x[(size_t)i * d + j] / (double)n;
  for (int j = 0; j < d; j++) {
    double v = 0;
    for (int i = 0; i < n; i++) v += (x[(size_t)i * d + j] - mu[j]) * (x[(size_t)i * d + j] - mu[j]);
    trs += v / (n - 1);
  }
  double want = trs;
  for (int j = 0; j < d; j++) want += (mu[j] + 1) * (mu[j] + 1);
  for (size_t i = 0; i < (size_t)n * d; i++) y[i] = 2 * x[i] + 1;
  CHECK(gf__fid(x, n, y, n, d, &f) == 0, "fid scale");
  CHECK_CLOSE(f, want, 1e-4, 1e-5, "FID of 2x+1 against x = |mu+1|^2 + tr S");
  /* grows with the shift */
  double prev = 0;
  for (int k = 1; k <= 3; k++) {
    for (size_t i = 0; i < (size_t)n * d; i++) y[i] = x[i] + 0.5f * k;
    CHECK(gf__fid(x, n, y, n, d, &f) == 0 && f > prev, "FID grows with the shift (%g after %g)", f, prev);
    prev = f;
  }
  CHECK(gf__fid(x, 1, x, 1, d, &f) < 0 && gf_last_error()[0], "FID of one sample is refused with a message");
  free(x); free(y);
}

static void test_kid(void) {
  const int n = 2000, d = 8;
  float *x = gauss(n, d, 2, NULL), *x2 = gauss(n, d, 3, NULL), *y = malloc(sizeof(float) * (size_t)n * d);
  double m, sd, prev;
  CHECK(gf__kid(x, n, x2, n, d, 20, 500, 1, &m, &sd) == 0, "kid");
  CHECK(fabs(m) < 3 * sd + 1e-3, "KID of two samples of one Gaussian is ~0: %g +- %g", m, sd);
  prev = m;
  for (int k = 1; k <= 3; k++) {
    for (size_t i = 0; i < (size_t)n * d; i++) y[i] = x2[i] + 0.3f * k;
    CHECK(gf__kid(x, n, y, n, d, 20, 500, 1, &m, &sd) == 0 && m > prev + 2 * sd, "KID grows with the shift: %g after %g", m, prev);
    prev = m;
  }
  double m2, sd2;
  CHECK(gf__kid(x, n, y, n, d, 20, 500, 1, &m2, &sd2) == 0 && m2 == m && sd2 == sd, "KID is deterministic for a seed");
  free(x); free(x2); free(y);
}

static void test_pr(void) {
  const int n = 600, d = 4;
  float *x = gauss(n, d, 4, NULL), *y = malloc(sizeof(float) * (size_t)n * d);
  double p, r;
  CHECK(gf__prec_recall(x, n, x, n, d, 3, &p, &r) == 0 && p == 1 && r == 1, "identical sets: precision %g recall %g", p, r);
  for (size_t i = 0; i < (size_t)n * d; i++) y[i] = x[i] + 100;
  CHECK(gf__prec_recall(x, n, y, n, d, 3, &p, &r) == 0 && p == 0 && r == 0, "disjoint sets: precision %g recall %g", p, r);
  /* half of the generated set is real points, half far away: precision 0.5; recall stays high */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) y[(size_t)i * d + j] = x[(size_t)i * d + j] + (i % 2 ? 100.0f : 0.0f);
  CHECK(gf__prec_recall(x, n, y, n, d, 3, &p, &r) == 0 && fabs(p - 0.5) < 1e-12, "half covered: precision %g", p);
  CHECK(r > 0.5 && r < 1.0, "half covered: recall %g in (0.5, 1)", r);
  free(x); free(y);
}

static void test_score_hist(void) {
  const int n = 1000, C = 10;
  float *p = calloc((size_t)n * C, sizeof(float));
  for (int i = 0; i < n; i++) p[(size_t)i * C + i % C] = 1;
  double m, sd;
  CHECK(gf__class_score(p, n, C, 10, &m, &sd) == 0, "score");
  CHECK_CLOSE(m, 10.0, 1e-9, 0, "confident, balanced predictions score C");
  for (int i = 0; i < n * C; i++) p[i] = 0;
  for (int i = 0; i < n; i++) p[(size_t)i * C + 3] = 1;
  CHECK(gf__class_score(p, n, C, 10, &m, &sd) == 0, "score");
  CHECK_CLOSE(m, 1.0, 1e-9, 0, "one class only scores 1");
  for (int i = 0; i < n * C; i++) p[i] = 0.1f;
  CHECK(gf__class_score(p, n, C, 10, &m, &sd) == 0, "score");
  CHECK_CLOSE(m, 1.0, 1e-6, 0, "uniform predictions score 1");
  free(p);
  int lab[4000], modes;
  double kl;
  for (int i = 0; i < 4000; i++) lab[i] = i % 1000;
  CHECK(gf__label_hist(lab, 4000, 1000, &modes, &kl) == 0 && modes == 1000 && fabs(kl) < 1e-12, "uniform: %d modes, KL %g", modes, kl);
  for (int i = 0; i < 4000; i++) lab[i] = i % 10;
  CHECK(gf__label_hist(lab, 4000, 1000, &modes, &kl) == 0 && modes == 10, "10 modes: %d", modes);
  CHECK_CLOSE(kl, log(100.0), 1e-12, 0, "KL of 10 equal modes of 1000 = log 100");
}

/* a small classifier on shapes: trains, saves, reopens, classifies well; features have the
   documented width */
static void test_classifier(void) {
  const char *dir = gf_t_tmpdir("featmetrics_cls");
  gf_config c;
  gf_preset_apply(&c, "classifier-shapes");
  gf_config_set_kv(&c, "data.n=2048");
  gf_config_set_kv(&c, "data.size=16");
  gf_config_set_kv(&c, "model.ndf=16");
  gf_config_set_kv(&c, "train.batch=64");
  gf_config_set_kv(&c, "train.epochs=6");
  /* a decaying rate settles the last epochs: at a constant 1e-3 this small run's final test
     accuracy swings between 0.85 and 0.99 with the last bits of the convolutions' rounding */
  gf_config_set_kv(&c, "train.lr_decay=1.004");
  gf_train_opts o = {dir, NULL, NULL, NULL, NULL};
  int rc = gf_train(&c, &o);
  CHECK(rc == 0, "train classifier-shapes: %s", gf_last_error());
  if (rc) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/classifier.safetensors", dir);
  gf__classifier m;
  rc = gf__classifier_open(&m, dir, gf__ops_cpu(), 100);
  CHECK(rc == 0, "open: %s", gf_last_error());
  if (rc) return;
  CHECK(m.nclass == 3 && m.c == 1 && m.h == 16, "shape %d classes %dx%d", m.nclass, m.c, m.h);
  CHECK(m.test_accuracy > 0.9, "test accuracy %.3f recorded", m.test_accuracy);
  gf__dataset ds;
  gf__shapes_make(&ds, 300, 16, 4242, GF_SCALE_TANH);
  float *prob = malloc(sizeof(float) * 300 * 3), *feat = malloc(sizeof(float) * 300 * GF_CLASSIFIER_FEAT);
  CHECK(gf__classifier_apply(&m, ds.x, 300, feat, prob) == 0, "apply");
  int ok = 0, nonneg = 1;
  for (int i = 0; i < 300; i++) {
    int best = 0;
    for (int k = 1; k < 3; k++)
      if (prob[i * 3 + k] > prob[i * 3 + best]) best = k;
    ok += best == ds.labels[i];
  }
  for (int i = 0; i < 300 * GF_CLASSIFIER_FEAT; i++) nonneg &= feat[i] >= 0;
  CHECK(ok > 270, "fresh shapes: %d of 300 right", ok);
  CHECK(nonneg, "features are post-ReLU");
  /* a generator file is not a classifier */
  gf__classifier bad;
  snprintf(path, sizeof path, "%s/config.txt", dir);
  CHECK(gf__classifier_open(&bad, path, gf__ops_cpu(), 10) < 0 && gf_last_error()[0], "a non-classifier file is refused");
  free(prob); free(feat);
  gf__dataset_free(&ds);
  gf__classifier_destroy(&m);
}

/* stacked-modes end to end: a small MNIST classifier, then real Stacked MNIST samples (nearly every
   triple, KL near the multinomial floor) against a collapsed set (one triple, KL = log 1000) */
static void test_stacked(void) {
  char mn[1024];
  snprintf(mn, sizeof mn, "%s/mnist", gf_t_data());
  FILE *probe = fopen(strcat(strcpy((char[1100]){0}, mn), "/train-labels-idx1-ubyte.gz"), "rb");
  if (!probe) { printf("skip: no MNIST in %s (stacked-modes test)\n", mn); return; }
  fclose(probe);
  const char *dir = gf_t_tmpdir("featmetrics_stk");
  char cls[1200], npy[1200], one[1200];
  snprintf(cls, sizeof cls, "%s/cls", dir);
  gf_config c;
  gf_preset_apply(&c, "classifier-mnist");
  gf_config_set(&c, "data.path", mn);
  gf_config_set_kv(&c, "data.limit=6400");
  gf_config_set_kv(&c, "model.ndf=8");
  gf_config_set_kv(&c, "train.batch=64");
  gf_config_set_kv(&c, "train.epochs=2");
  gf_train_opts o = {cls, NULL, NULL, NULL, NULL};
  int rc = gf_train(&c, &o);
  CHECK(rc == 0, "train a small MNIST classifier: %s", gf_last_error());
  if (rc) return;
  gf__dataset d;
  rc = gf__stacked_mnist_load(&d, mn, 0, GF_SCALE_TANH, 0, 0, 5000, 7);
  CHECK(rc == 0, "stacked-mnist test split: %s", gf_last_error());
  if (rc) return;
  long shape[4] = {d.n, 3, 28, 28};
  snprintf(npy, sizeof npy, "%s/real.npy", dir);
  snprintf(one, sizeof one, "%s/one.npy", dir);
  CHECK(gf__npy_write_f32(npy, d.x, shape, 4) == 0, "write real.npy");
  for (int i = 1; i < d.n; i++) memcpy(d.x + (size_t)i * 3 * 784, d.x, sizeof(float) * 3 * 784);
  CHECK(gf__npy_write_f32(one, d.x, shape, 4) == 0, "write one.npy");
  gf_eval_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.metric = "stacked-modes";
  eo.classifier = cls;
  eo.seed = 1;
  gf_eval_result r;
  rc = gf_eval(npy, &eo, &r);
  CHECK(rc == 0, "stacked-modes on real data: %s", gf_last_error());
  /* 5,000 draws over 1,000 equally likely triples hit ~993 of them; KL ~ 0.1 from sampling alone */
  CHECK(rc == 0 && r.stacked_modes >= 950, "real stacked data: %d modes of 1000", r.stacked_modes);
  CHECK(rc == 0 && r.stacked_kl < 0.3, "real stacked data: KL %.4f", r.stacked_kl);
  for (int k = 0; k < 3 && rc == 0; k++) {
    double sum = 0, lo = 1;
    for (int c = 0; c < 10; c++) sum += r.stacked_digits[k][c], lo = fmin(lo, r.stacked_digits[k][c]);
    CHECK(fabs(sum - 1) < 1e-9 && lo > 0.05, "real stacked data, channel %d: digit shares sum %.6f, smallest %.4f", k, sum, lo);
  }
  /* the marginals' KL is part of the joint's (KL = sum of channel KLs + the channels' dependence) */
  CHECK(rc == 0 && r.stacked_kl_channels >= 0 && r.stacked_kl_channels < r.stacked_kl, "real stacked data: channel KL %.4f of %.4f",
        r.stacked_kl_channels, r.stacked_kl);
  rc = gf_eval(one, &eo, &r);
  {
    int hits = 0;
    for (int k = 0; k < 3; k++)
      for (int c = 0; c < 10; c++) hits += r.stacked_digits[k][c] == 1.0 ? 1 : r.stacked_digits[k][c] == 0 ? 0 : 100;
    CHECK(rc == 0 && hits == 3, "one repeated sample: one digit per channel at 100%% (%d)", hits);
    CHECK(rc == 0 && fabs(r.stacked_kl_channels - log(1000.0)) < 1e-9, "one repeated sample: channel KL %.6f = 3 log 10",
          r.stacked_kl_channels);
  }
  CHECK(rc == 0 && r.stacked_modes == 1, "one repeated sample: %d modes", r.stacked_modes);
  CHECK(rc == 0 && fabs(r.stacked_kl - log(1000.0)) < 1e-9, "one repeated sample: KL %.6f = log 1000", r.stacked_kl);
  eo.metric = "fid-mnist";
  CHECK(gf_eval(one, &eo, &r) < 0 && strstr(gf_last_error(), "needs 784"), "3-channel samples for fid-mnist: %s", gf_last_error());
  gf__dataset_free(&d);
}

int main(void) {
  double t[8];
  t[0] = gf__now();
  test_eig();
  test_fid();
  test_kid();
  test_pr();
  test_score_hist();
  t[1] = gf__now();
  test_classifier();
  t[2] = gf__now();
  test_stacked();
  t[3] = gf__now();
  printf("times: metrics %.1f s, shapes classifier %.1f s, stacked-modes %.1f s\n", t[1] - t[0], t[2] - t[1], t[3] - t[2]);
  return gf_t_done();
}
