/* test_infer.c: the inference API (include/ganforge/infer.h): shapes, samples equal to
   gf_sample's for the same seed, any max_batch, separate handles in separate threads at once give
   the results of one thread, and misuse returns a status with a message. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/npyio.h"
#include "ganforge/ganforge.h"
#include "ganforge/infer.h"
#include "harness.h"

#define N 10
#define REPS 8

typedef struct job {
  gf_generator *g;
  const float *z;
  float *out;  /* [REPS][N * dim] */
  long dim;
  int rc;
} job;

static void *worker(void *arg) {
  job *j = arg;
  for (int r = 0; r < REPS && j->rc == 0; r++) j->rc = gf_generator_generate(j->g, j->z, N, j->out + (size_t)r * N * j->dim);
  return NULL;
}

static double maxdiff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

int main(void) {
  const char *dir = gf_t_tmpdir("infer");
  char run[2048], npy[2100];
  snprintf(run, sizeof run, "%s/run", dir);
  gf_config cfg;
  gf_preset_apply(&cfg, "mlp-shapes");
  gf_t_set(&cfg, "data.n=256");
  gf_t_set(&cfg, "train.epochs=1");
  gf_t_set(&cfg, "model.g_hidden=32,48");
  gf_t_set(&cfg, "model.d_hidden=32");
  gf_t_set(&cfg, "model.g_norm=bn");
  gf_t_set(&cfg, "train.report=0");
  gf_train_opts o = {.out_dir = run};
  int rc = gf_train(&cfg, &o);
  CHECK(rc == 0, "gf_train: %s", gf_last_error());
  if (rc < 0) return gf_t_done();

  gf_generator *g = NULL, *g3 = NULL, *h[2] = {NULL, NULL};
  CHECK(gf_generator_open(run, NULL, &g) == 0, "open: %s", gf_last_error());
  gf_generator_opts small = {.max_batch = 3};
  CHECK(gf_generator_open(run, &small, &g3) == 0, "open max_batch 3: %s", gf_last_error());
  if (!g || !g3) return gf_t_done();
  gf_generator_info info;
  CHECK(gf_generator_info_get(g, &info) == 0, "info");
  CHECK(!strcmp(info.arch, "mlp") && !info.translates && info.nz == cfg.model_nz && info.c == 1 &&
            info.h == cfg.data_size && info.w == cfg.data_size && info.classes == 0,
        "info: %s nz %d %dx%dx%d", info.arch, info.nz, info.c, info.h, info.w);
  long dim = (long)info.c * info.h * info.w;

  /* the same samples as `ganforge sample --seed 5` (gf_sample) */
  float *z = malloc(sizeof(float) * N * info.nz), *x = malloc(sizeof(float) * N * dim), *x3 = malloc(sizeof(float) * N * dim);
  snprintf(npy, sizeof npy, "%s/ref.npy", dir);
  CHECK(gf_sample(run, N, 5, 0, 1, npy, NULL) == 0, "gf_sample: %s", gf_last_error());
  gf__npy ref;
  CHECK(gf__npy_read_f32(npy, &ref) == 0 && ref.count == (size_t)N * dim, "reference npy");
  CHECK(gf_generator_sample(g, 5, N, x, z) == 0, "sample: %s", gf_last_error());
  if (ref.data) CHECK(maxdiff(x, ref.data, (size_t)N * dim) <= 1e-6, "sample vs gf_sample: %g", maxdiff(x, ref.data, (size_t)N * dim));
  CHECK(gf_generator_generate(g3, z, N, x3) == 0, "generate in chunks of 3: %s", gf_last_error());
  CHECK(maxdiff(x, x3, (size_t)N * dim) <= 1e-6, "chunks of 3 vs 10: %g", maxdiff(x, x3, (size_t)N * dim));

  /* two handles, two threads, at the same time: each gets what one thread alone gets */
  float *z2 = malloc(sizeof(float) * N * info.nz), *alone = malloc(sizeof(float) * N * dim);
  for (long i = 0; i < (long)N * info.nz; i++) z2[i] = z[(i * 7) % ((long)N * info.nz)] * 0.5f;
  CHECK(gf_generator_generate(g, z2, N, alone) == 0, "generate z2");
  job jobs[2];
  pthread_t th[2];
  for (int k = 0; k < 2; k++) {
    CHECK(gf_generator_open(run, NULL, &h[k]) == 0, "open %d", k);
    jobs[k] = (job){h[k], k ? z2 : z, malloc(sizeof(float) * REPS * N * dim), dim, 0};
  }
  for (int k = 0; k < 2; k++) pthread_create(&th[k], NULL, worker, &jobs[k]);
  for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
  for (int k = 0; k < 2; k++) {
    CHECK(jobs[k].rc == 0, "thread %d: %s", k, gf_last_error());
    double m = 0;
    for (int r = 0; r < REPS; r++) {
      double d = maxdiff(jobs[k].out + (size_t)r * N * dim, k ? alone : x, (size_t)N * dim);
      if (d > m) m = d;
    }
    CHECK(m == 0, "thread %d differs from one thread by %g", k, m);
    free(jobs[k].out);
    gf_generator_close(h[k]);
  }

  /* misuse: statuses and messages, no exit */
  gf_generator *bad = (gf_generator *)&dim;
  char missing[2100];
  snprintf(missing, sizeof missing, "%s/nothing", dir);
  CHECK(gf_generator_open(missing, NULL, &bad) == GF_ENOENT && bad == NULL && strstr(gf_last_error(), "nothing"),
        "missing: %s", gf_last_error());
  gf_generator_opts dirn = {.direction = "BtoA"};
  CHECK(gf_generator_open(run, &dirn, &bad) == GF_EUSAGE && strstr(gf_last_error(), "draws from latents"), "direction: %s",
        gf_last_error());
  CHECK(gf_generator_translate(g, x, 1, 28, 28, x3) == GF_EUSAGE && strstr(gf_last_error(), "translates no images"),
        "translate on a noise generator: %s", gf_last_error());
  CHECK(gf_generator_generate(g, NULL, 1, x) == GF_EINVAL, "NULL latents");
  const int32_t lab[1] = {0};
  CHECK(gf_generator_generate_labeled(g, z, lab, 1, x) == GF_EUSAGE && strstr(gf_last_error(), "not a conditional"),
        "labels for an unconditional generator: %s", gf_last_error());
  CHECK(gf_generator_sample_class(g, 5, 1, 0, x, NULL) == GF_EUSAGE && strstr(gf_last_error(), "not a conditional"),
        "a class of an unconditional generator: %s", gf_last_error());
  gf_generator_opts dev = {.device = "tpu"};
  CHECK(gf_generator_open(run, &dev, &bad) < 0 && gf_last_error()[0], "unknown device");

  gf__npy_free(&ref);
  free(z); free(z2); free(x); free(x3); free(alone);
  gf_generator_close(g);
  gf_generator_close(g3);
  gf_generator_close(NULL);
  return gf_t_done();
}
