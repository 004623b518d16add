/* test_infer_cond.c: conditional generators through the inference API: info.classes; samples of
   one class equal to gf_sample_class's (`ganforge sample --class K --seed S`) and, without a class,
   to gf_sample's (class i mod K); explicit per-sample labels through any max_batch; bad labels and
   classes refused with a message; gf_export writes a conditional generator with its class-label input
   (ONNX "label", gen_forward's label; their outputs are compared in test_export.sh).
   For a label-as-input MLP and a DCGAN with conditional BatchNorm (projection D). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/npyio.h"
#include "ganforge/export.h"
#include "ganforge/ganforge.h"
#include "ganforge/infer.h"
#include "harness.h"

#define N 10

static double maxdiff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

/* gf_sample_class's samples of run (class klass, -1: i mod K) for seed into a fresh array. */
static float *reference(const char *dir, const char *run, uint64_t seed, int klass, long dim) {
  char npy[2200];
  snprintf(npy, sizeof npy, "%s/ref.npy", dir);
  CHECK(gf_sample_class(run, N, seed, 0, 1, npy, NULL, klass) == 0, "gf_sample_class %d: %s", klass, gf_last_error());
  gf__npy a;
  memset(&a, 0, sizeof a);
  int ok = gf__npy_read_f32(npy, &a) == 0 && a.count == (size_t)N * dim;
  CHECK(ok, "reference npy of class %d", klass);
  float *x = malloc(sizeof(float) * (size_t)N * dim);
  if (ok) memcpy(x, a.data, sizeof(float) * (size_t)N * dim);
  else memset(x, 0, sizeof(float) * (size_t)N * dim);
  gf__npy_free(&a);
  return x;
}

static void case_run(const char *name, const char *preset, const char *const *sets) {
  const char *dir = gf_t_tmpdir(name);
  char run[2048];
  snprintf(run, sizeof run, "%s/run", dir);
  gf_config cfg;
  gf_preset_apply(&cfg, preset);
  for (int i = 0; sets[i]; i++) gf_t_set(&cfg, sets[i]);
  gf_t_set(&cfg, "train.report=0");
  gf_train_opts o = {.out_dir = run};
  int rc = gf_train(&cfg, &o);
  CHECK(rc == 0, "%s: gf_train: %s", name, gf_last_error());
  if (rc < 0) return;
  gf_generator *g = NULL, *g3 = NULL;
  gf_generator_opts small = {.max_batch = 3};
  CHECK(gf_generator_open(run, NULL, &g) == 0, "%s: open: %s", name, gf_last_error());
  CHECK(gf_generator_open(run, &small, &g3) == 0, "%s: open max_batch 3: %s", name, gf_last_error());
  if (!g || !g3) return;
  gf_generator_info info;
  CHECK(gf_generator_info_get(g, &info) == 0 && info.classes == 3, "%s: info.classes %d (3 shapes)", name, info.classes);
  const int K = 3;
  long dim = (long)info.c * info.h * info.w;
  size_t nd = (size_t)N * dim;
  float *z = malloc(sizeof(float) * N * info.nz), *x = malloc(sizeof(float) * nd), *y = malloc(sizeof(float) * nd);
  float *per[3];

  /* one class: as `ganforge sample --class k --seed 7`; the same latents for every class */
  for (int k = 0; k < K; k++) {
    float *ref = reference(dir, run, 7, k, dim);
    per[k] = malloc(sizeof(float) * nd);
    CHECK(gf_generator_sample_class(g, 7, N, k, per[k], z) == 0, "%s: sample class %d: %s", name, k, gf_last_error());
    CHECK(maxdiff(per[k], ref, nd) <= 1e-6, "%s: class %d vs gf_sample_class: %g", name, k, maxdiff(per[k], ref, nd));
    free(ref);
  }
  CHECK(maxdiff(per[0], per[1], nd) > 1e-5, "%s: the class changes the samples (class 0 vs 1: %g)", name,
        maxdiff(per[0], per[1], nd));
  /* no class: sample i in class i mod K, as gf_sample (`sample -o x.npy`) */
  float *ref = reference(dir, run, 7, -1, dim);
  CHECK(gf_generator_sample(g, 7, N, x, NULL) == 0, "%s: sample: %s", name, gf_last_error());
  CHECK(maxdiff(x, ref, nd) <= 1e-6, "%s: sample vs gf_sample: %g", name, maxdiff(x, ref, nd));
  CHECK(gf_generator_generate(g3, z, N, y) == 0, "%s: generate: %s", name, gf_last_error());
  CHECK(maxdiff(y, ref, nd) <= 1e-6, "%s: generate (i mod K) in chunks of 3 vs gf_sample: %g", name, maxdiff(y, ref, nd));
  free(ref);
  /* per-sample labels in chunks of 3: row i is its class's sample of the same latent */
  int32_t lab[N];
  for (int i = 0; i < N; i++) lab[i] = (2 * i + 1) % K;
  CHECK(gf_generator_generate_labeled(g3, z, lab, N, y) == 0, "%s: generate_labeled: %s", name, gf_last_error());
  double worst = 0;
  for (int i = 0; i < N; i++) {
    double d = maxdiff(y + (size_t)i * dim, per[lab[i]] + (size_t)i * dim, (size_t)dim);
    if (d > worst) worst = d;
  }
  CHECK(worst <= 1e-6, "%s: labelled rows vs their class's samples: %g", name, worst);

  /* refusals: a status and a message, nothing written */
  lab[4] = K;
  CHECK(gf_generator_generate_labeled(g, z, lab, N, y) == GF_EINVAL && strstr(gf_last_error(), "labels[4] = 3") &&
            strstr(gf_last_error(), "classes are 0..2"),
        "%s: label 3 of 3 classes: %s", name, gf_last_error());
  lab[4] = -1;
  CHECK(gf_generator_generate_labeled(g, z, lab, N, y) == GF_EINVAL && strstr(gf_last_error(), "labels[4] = -1"),
        "%s: label -1: %s", name, gf_last_error());
  CHECK(gf_generator_sample_class(g, 7, N, K, y, NULL) == GF_EUSAGE && strstr(gf_last_error(), "classes are 0..2"),
        "%s: class 3 of 3: %s", name, gf_last_error());
  /* the exports: a second input, the class label */
  char out[2200], hdr[2300];
  static const char *const fmts[] = {"onnx", "c"};
  for (int f = 0; f < 2; f++) {
    snprintf(out, sizeof out, "%s/export_%s", dir, fmts[f]);
    gf_export_opts eo = {.format = fmts[f]};
    CHECK(gf_export(run, out, &eo) == 0, "%s: export %s: %s", name, fmts[f], gf_last_error());
    snprintf(hdr, sizeof hdr, f ? "%s/gen.h" : "%s", out);
    FILE *fh = fopen(hdr, "rb");
    static char text[1 << 20];
    size_t got = fh ? fread(text, 1, sizeof text - 1, fh) : 0;
    if (fh) fclose(fh);
    text[got] = 0;
    if (f == 0) { /* the graph's inputs: "z", then "label" (int64) */
      int has_label = 0;
      for (size_t i = 0; i + 5 <= got && !has_label; i++) has_label = !memcmp(text + i, "label", 5);
      CHECK(got > 0 && has_label, "%s: %s has no input label", name, hdr);
    } else {
      CHECK(strstr(text, "#define GEN_CLASSES 3 ") && strstr(text, "int gen_forward(const float *z, int label, float *out, float *work);"),
            "%s: %s: no GEN_CLASSES 3 / gen_forward with a label", name, hdr);
    }
  }
  for (int k = 0; k < K; k++) free(per[k]);
  free(z);
  free(x);
  free(y);
  gf_generator_close(g);
  gf_generator_close(g3);
}

int main(void) {
  static const char *const mlp[] = {"model.cond=concat", "data.n=256", "train.epochs=1", "model.g_hidden=32,48",
                                    "model.d_hidden=32", "model.g_norm=bn", NULL};
  static const char *const dcgan[] = {"model.cond=projection", "data.n=64", "train.epochs=1", "data.size=16",
                                      "model.size=16", "model.ngf=8", "model.ndf=8", "model.nz=16",
                                      "train.batch=16", NULL};
  case_run("infer_cond_mlp", "mlp-shapes", mlp);
  case_run("infer_cond_dcgan", "dcgan-shapes", dcgan);
  return gf_t_done();
}
