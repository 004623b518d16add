/* test_stacked_mnist.c: the `stacked-mnist` data set. Built from the shared MNIST training files:
   shape 3x28x28 and 1,000 classes; channel k of every sample is, value for value, the MNIST image
   gf__stacked_mnist_pick names, and a brute-force search of the MNIST pool finds that image with
   the digit the label says; labels are 100 R + 10 G + B; the same seed gives the same set, another
   seed another one, and sample i does not depend on n; tanh / unit scaling as MNIST; the default
   60,000 samples cover all 1,000 triples with per-channel digit frequencies as MNIST's; the config
   path (data.name, data.n = 0), an RGB sample grid, and the error cases. */
#include "harness.h"

#include "core/util.h"
#include "data/dataset.h"
#include "ganforge/ganforge.h"
#include "io/image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char mnist_dir[2048];

static void check_against_pool(const char *what, const gf__dataset *s, const gf__dataset *pool, uint64_t seed) {
  size_t plane = 28 * 28;
  long bad_pix = 0, bad_lab = 0, bad_range = 0;
  for (int i = 0; i < s->n; i++) {
    int idx[3];
    gf__stacked_mnist_pick(seed, i, pool->n, idx);
    int want = 0;
    for (int k = 0; k < 3; k++) {
      if (idx[k] < 0 || idx[k] >= pool->n) {
        CHECK(0, "%s: sample %d pick %d = %d out of range", what, i, k, idx[k]);
        return;
      }
      bad_pix += memcmp(s->x + ((size_t)i * 3 + (size_t)k) * plane, pool->x + (size_t)idx[k] * plane,
                        sizeof(float) * plane) != 0;
      want = 10 * want + pool->labels[idx[k]];
    }
    bad_lab += s->labels[i] != want;
    bad_range += s->labels[i] < 0 || s->labels[i] > 999;
  }
  CHECK(bad_pix == 0, "%s: %ld channels differ from the MNIST image they were drawn from", what, bad_pix);
  CHECK(bad_lab == 0, "%s: %ld labels are not 100 R + 10 G + B", what, bad_lab);
  CHECK(bad_range == 0, "%s: %ld labels outside 0..999", what, bad_range);
}

/* Independent of the pick function: find channel k of sample i among all MNIST images. */
static void brute_force(const gf__dataset *s, const gf__dataset *pool, int i) {
  size_t plane = 28 * 28;
  int digits[3] = {s->labels[i] / 100, s->labels[i] / 10 % 10, s->labels[i] % 10};
  for (int k = 0; k < 3; k++) {
    const float *ch = s->x + ((size_t)i * 3 + (size_t)k) * plane;
    int found = -1;
    for (int j = 0; j < pool->n && found < 0; j++)
      if (!memcmp(ch, pool->x + (size_t)j * plane, sizeof(float) * plane)) found = j;
    CHECK(found >= 0, "sample %d channel %d is no MNIST training image", i, k);
    if (found >= 0)
      CHECK(pool->labels[found] == digits[k], "sample %d channel %d is MNIST image %d, a %d, but the label %d says %d", i,
            k, found, pool->labels[found], s->labels[i], digits[k]);
  }
}

static void test_built(void) {
  gf__dataset pool, a, b, c, small;
  int rc = gf__mnist_load(&pool, mnist_dir, 1, GF_SCALE_TANH, 0, 0);
  CHECK(rc == 0, "mnist: %s", gf_last_error());
  if (rc) return;
  double t0 = gf__now();
  rc = gf__stacked_mnist_make(&a, &pool, 3000, 7);
  double dt = gf__now() - t0;
  CHECK(rc == 0, "make: %s", gf_last_error());
  if (rc) { gf__dataset_free(&pool); return; }
  printf("stacked-mnist: 3000 samples from %d digits in %.3f s\n", pool.n, dt);
  CHECK(a.n == 3000 && a.c == 3 && a.h == 28 && a.w == 28 && gf__dataset_dim(&a) == 2352,
        "shape: n %d, %dx%dx%d", a.n, a.c, a.h, a.w);
  CHECK(a.nclass == 1000 && a.labels && !strcmp(a.name, "stacked-mnist") && a.nmodes == 0,
        "nclass %d, name %s, nmodes %d", a.nclass, a.name, a.nmodes);
  check_against_pool("seed 7", &a, &pool, 7);
  for (int i = 0; i < 4; i++) brute_force(&a, &pool, i * 997);

  /* tanh scaling: exactly MNIST's values, reaching -1 and 1 */
  float lo = 1e9f, hi = -1e9f;
  for (long i = 0; i < (long)a.n * 2352; i++) {
    lo = a.x[i] < lo ? a.x[i] : lo;
    hi = a.x[i] > hi ? a.x[i] : hi;
  }
  CHECK(lo == -1.0f && hi == 1.0f, "tanh scale: values in [%g, %g]", (double)lo, (double)hi);

  /* determinism: same seed, same set; n does not change the first samples; another seed differs */
  rc = gf__stacked_mnist_make(&b, &pool, 3000, 7);
  CHECK(rc == 0 && !memcmp(a.x, b.x, sizeof(float) * 3000 * 2352) && !memcmp(a.labels, b.labels, sizeof(int) * 3000),
        "seed 7 twice gives different sets");
  rc = gf__stacked_mnist_make(&small, &pool, 50, 7);
  CHECK(rc == 0 && small.n == 50 && !memcmp(a.x, small.x, sizeof(float) * 50 * 2352) &&
            !memcmp(a.labels, small.labels, sizeof(int) * 50),
        "the first 50 of 3000 samples differ from a 50-sample set of the same seed");
  rc = gf__stacked_mnist_make(&c, &pool, 3000, 8);
  int same = 0;
  for (int i = 0; rc == 0 && i < 3000; i++) same += a.labels[i] == c.labels[i];
  CHECK(rc == 0 && same < 30, "seed 8: %d of 3000 labels equal seed 7's (chance: about 3)", same);
  check_against_pool("seed 8", &c, &pool, 8);
  gf__dataset_free(&b);
  gf__dataset_free(&c);
  gf__dataset_free(&small);
  gf__dataset_free(&a);

  /* n <= 0: the default 60,000; every one of the 1,000 triples appears, and each channel's
     digits are distributed as MNIST's labels */
  t0 = gf__now();
  rc = gf__stacked_mnist_make(&a, &pool, 0, 1);
  dt = gf__now() - t0;
  CHECK(rc == 0 && a.n == 60000, "default n: rc %d, n %d", rc, a.n);
  if (rc == 0) {
    printf("stacked-mnist: default %d samples in %.3f s\n", a.n, dt);
    int *seen = calloc(1000, sizeof(int));
    long cnt[3][10], ref[10];
    memset(cnt, 0, sizeof cnt);
    memset(ref, 0, sizeof ref);
    for (int j = 0; j < pool.n; j++) ref[pool.labels[j]]++;
    for (int i = 0; i < a.n; i++) {
      seen[a.labels[i]]++;
      cnt[0][a.labels[i] / 100]++;
      cnt[1][a.labels[i] / 10 % 10]++;
      cnt[2][a.labels[i] % 10]++;
    }
    int modes = 0, maxc = 0;
    for (int m = 0; m < 1000; m++) {
      modes += seen[m] > 0;
      maxc = seen[m] > maxc ? seen[m] : maxc;
    }
    CHECK(modes == 1000, "default set covers %d of the 1000 triples", modes);
    double worst = 0;
    for (int k = 0; k < 3; k++)
      for (int d = 0; d < 10; d++) {
        double p = (double)ref[d] / pool.n, e = p * a.n, z = fabs((double)cnt[k][d] - e) / sqrt(e * (1 - p));
        worst = z > worst ? z : worst;
      }
    CHECK(worst < 5, "per-channel digit counts deviate from MNIST's frequencies by %.1f sigma", worst);
    printf("stacked-mnist: %d modes, at most %d samples per triple, worst channel-digit deviation %.2f sigma\n", modes,
           maxc, worst);
    free(seen);
    gf__dataset_free(&a);
  }

  /* the RGB sample grid: pixel (x, y) of cell i is (R, G, B) = channels 0, 1, 2 */
  rc = gf__stacked_mnist_make(&a, &pool, 4, 3);
  uint8_t *pix = NULL;
  int W = 0, H = 0;
  if (rc == 0) rc = gf__grid_render(&pix, &W, &H, a.x, 4, 3, 28, 28, 2, 2, -1.0f, 1.0f, 1);
  CHECK(rc == 0 && W == 2 * 30 + 2 && H == 2 * 30 + 2, "grid: rc %d, %dx%d", rc, W, H);
  long bad = 0;
  for (int i = 0; rc == 0 && i < 4; i++)
    for (int y = 0; y < 28; y++)
      for (int x = 0; x < 28; x++)
        for (int k = 0; k < 3; k++) {
          float v = (a.x[((size_t)i * 3 + (size_t)k) * 784 + (size_t)y * 28 + (size_t)x] + 1.0f) * 127.5f;
          int px = 2 + (i % 2) * 30 + x, py = 2 + (i / 2) * 30 + y;
          int got = pix[((size_t)py * W + (size_t)px) * 3 + (size_t)k];
          bad += abs(got - (int)(v + 0.5f)) > 1;
        }
  CHECK(rc == 0 && bad == 0, "grid: %ld RGB values do not match the channels", bad);
  free(pix);
  gf__dataset_free(&a);

  /* errors: a pool that is not grey 10-class digits */
  gf__dataset bogus = pool;
  bogus.c = 3;
  rc = gf__stacked_mnist_make(&a, &bogus, 10, 1);
  CHECK(rc == GF_EINVAL && strstr(gf_last_error(), "stacked-mnist"), "RGB pool: rc %d: %s", rc, gf_last_error());
  bogus = pool;
  bogus.labels = NULL;
  rc = gf__stacked_mnist_make(&a, &bogus, 10, 1);
  CHECK(rc == GF_EINVAL, "unlabelled pool: rc %d: %s", rc, gf_last_error());
  gf__dataset_free(&pool);

  /* unit scaling, a digit pool restricted by offset / limit, and the test split */
  rc = gf__stacked_mnist_load(&a, mnist_dir, 1, GF_SCALE_UNIT, 100, 500, 200, 5);
  CHECK(rc == 0 && a.n == 200, "load unit: rc %d: %s", rc, gf_last_error());
  if (rc == 0) {
    rc = gf__mnist_load(&pool, mnist_dir, 1, GF_SCALE_UNIT, 100, 500);
    CHECK(rc == 0 && pool.n == 500, "pool: %s", gf_last_error());
    if (rc == 0) check_against_pool("unit scale, MNIST[100:600]", &a, &pool, 5);
    lo = 1e9f;
    hi = -1e9f;
    for (long i = 0; i < (long)a.n * 2352; i++) {
      lo = a.x[i] < lo ? a.x[i] : lo;
      hi = a.x[i] > hi ? a.x[i] : hi;
    }
    CHECK(lo == 0.0f && hi == 1.0f, "unit scale: values in [%g, %g]", (double)lo, (double)hi);
    gf__dataset_free(&pool);
    gf__dataset_free(&a);
  }
  rc = gf__stacked_mnist_load(&a, mnist_dir, 0, GF_SCALE_TANH, 0, 0, 100, 5);
  CHECK(rc == 0 && a.n == 100, "test split: rc %d: %s", rc, gf_last_error());
  if (rc == 0 && gf__mnist_load(&pool, mnist_dir, 0, GF_SCALE_TANH, 0, 0) == 0) {
    CHECK(pool.n == 10000, "test pool %d", pool.n);
    check_against_pool("test split", &a, &pool, 5);
    gf__dataset_free(&pool);
  }
  gf__dataset_free(&a);
  rc = gf__stacked_mnist_load(&a, "/nonexistent-dir", 1, GF_SCALE_TANH, 0, 0, 10, 1);
  CHECK(rc == GF_ENOENT && strstr(gf_last_error(), "train-images"), "missing MNIST: rc %d: %s", rc, gf_last_error());
}

static void test_config(void) {
  gf_config c;
  CHECK(gf_preset_apply(&c, "dcgan-stacked-mnist") == 0, "preset: %s", gf_last_error());
  CHECK(gf_config_validate(&c) == 0, "dcgan-stacked-mnist does not validate: %s", gf_last_error());
  CHECK(!strcmp(c.data_name, "stacked-mnist") && c.data_n == 60000 && c.model_nc == 3 && c.model_size == 28 &&
            !strcmp(c.model_arch, "dcgan") && c.model_pack == 1 && c.train_batch == 64 && c.train_lr == 2e-4 &&
            c.train_beta1 == 0.5 && c.train_epochs == 10,
        "dcgan-stacked-mnist settings");
  CHECK(gf_config_set(&c, "data.n", "0") == 0 && gf_config_validate(&c) == 0, "data.n=0 (default 60000): %s",
        gf_last_error());
  CHECK(gf_config_set(&c, "data.n", "-1") == 0 && gf_config_validate(&c) == GF_EUSAGE, "data.n=-1 accepted");
  CHECK(gf_config_set(&c, "data.name", "mnist") == 0 && gf_config_set(&c, "data.n", "0") == 0 &&
            gf_config_validate(&c) == GF_EUSAGE,
        "data.n=0 accepted for mnist");
  /* train 2 steps of a tiny model through the public API, --data pointing at the MNIST folder */
  gf_preset_apply(&c, "dcgan-stacked-mnist");
  const char *kv[] = {"data.n=256", "model.ngf=4", "model.ndf=4", "model.nz=8", "train.batch=16", "train.max_steps=2",
                      "train.grid=4", "train.nrow=2", "train.report=0", NULL};
  for (int i = 0; kv[i]; i++) gf_config_set_kv(&c, kv[i]);
  CHECK(gf_config_set(&c, "data.path", mnist_dir) == 0, "data.path: %s", gf_last_error());
  char out[2300];
  snprintf(out, sizeof out, "%s", gf_t_tmpdir("stacked_mnist"));
  gf_train_opts o = {.out_dir = out};
  int rc = gf_train(&c, &o);
  CHECK(rc == 0, "train: %s", gf_last_error());
  char png[2400];
  snprintf(png, sizeof png, "%s/samples/epoch_001.png", out);
  uint8_t *pix = NULL;
  int W = 0, H = 0, ch = 0;
  rc = gf__png_read(png, &pix, &W, &H, &ch);
  CHECK(rc == 0 && ch == 3 && W == 2 * (2 * 28 + 2) + 2, "picture %s: rc %d, %dx%d, %d channels", png, rc, W, H, ch);
  free(pix);
}

int main(void) {
  snprintf(mnist_dir, sizeof mnist_dir, "%s/mnist", gf_t_data());
  test_built();
  test_config();
  return gf_t_done();
}
