/* test_parity.c: PyTorch parity of whole training iterations. The fixtures (written by
   tools/make_parity_fixtures.py, see tests/fixtures/README.md) hold a PyTorch twin's initial
   weights and BatchNorm buffers, the noise and real batches it was fed, its losses after every
   (D step + G step) iteration, and its final weights and buffers. Here ganforge's GAN is built
   from the same preset + overrides, loaded with the initial state, fed the same noise through
   gan->z_override, stepped with gf__gan_d_step / gf__gan_g_step, and compared:
   every loss / D(x) / D(G(z)) statistic and every final tensor within 1e-4 relative.
     parity_mlp.safetensors        mlp-mnist: Linear-ReLU-BN G (tanh), LeakyReLU D, BCE, Adam,
                                   the G step reusing the D step's fakes; plus eval-mode samples
     parity_goodfellow.safetensors goodfellow-mnist without dropout: maxout D, sigmoid G,
                                   minimax G loss, classical momentum SGD with lr decay,
                                   fresh noise for the G step */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/config.h"
#include "io/safetensors.h"
#include "models/gan.h"
#include "models/weights.h"
#include "nn/nn.h"

#define RTOL 1e-4
#define ATOL 1e-6
#define DELTA_RTOL 1e-3 /* the update final - initial, relative to its own norm */

/* worst relative error of a statistic; worst norm-relative error of a tensor; worst element
   difference as a fraction of its tolerance (ATOL + RTOL |want|) */
static double worst_delta = 0;
static double worst_loss = 0, worst_param = 0, worst_param_elem = 0, worst_sample = 0;

/* Reads a whole tensor (any shape) into a malloc'ed float array; NULL if absent. */
static float *load(const gf__st_file *f, const char *name, long *n_out) {
  const uint8_t *data;
  int nd;
  int64_t shape[GF_ST_MAXDIM];
  if (gf__st_get(f, name, &data, &nd, shape) < 0) return NULL;
  long n = 1;
  for (int i = 0; i < nd; i++) n *= (long)shape[i];
  float *out = malloc(sizeof(float) * (size_t)(n + 1));
  if (!out || gf__st_read_into(f, name, out, nd, shape) < 0) {
    free(out);
    return NULL;
  }
  if (n_out) *n_out = n;
  return out;
}

static double scalar(const gf__st_file *f, const char *name) {
  long n = 0;
  float *v = load(f, name, &n);
  CHECK(v && n == 1, "fixture tensor %s missing or not a scalar", name);
  double r = v && n == 1 ? v[0] : NAN;
  free(v);
  return r;
}

static void check_stat(const char *what, double got, double want) {
  double e = fabs(got - want) / fmax(fabs(want), 1e-12);
  worst_loss = fmax(worst_loss, e);
  if (getenv("GF_PARITY_VERBOSE")) printf("  %-48s ganforge %.9g torch %.9g rel %.3g\n", what, got, want, e);
  CHECK(fabs(got - want) <= ATOL + RTOL * fabs(want), "%s: ganforge %.9g vs torch %.9g (rel %.3g)", what, got,
        want, e);
}

/* Compares n floats: norm-relative error and per-element rtol/atol; returns the norm-relative error. */
static double check_tensor(const char *what, const float *got, const float *want, long n) {
  double num = 0, den = 0, worst = 0;
  long bad = 0, first = -1;
  for (long i = 0; i < n; i++) {
    double d = (double)got[i] - want[i];
    num += d * d;
    den += (double)want[i] * want[i];
    if (fabs(d) > ATOL + RTOL * fabs(want[i])) {
      if (first < 0) first = i;
      bad++;
    }
    worst = fmax(worst, fabs(d) / (ATOL + RTOL * fabs(want[i])));
  }
  double rel = den > 0 ? sqrt(num / den) : sqrt(num);
  if (getenv("GF_PARITY_VERBOSE")) printf("  %-48s n %7ld  norm-rel %.3g\n", what, n, rel);
  CHECK(rel <= RTOL, "%s: norm-relative error %.3g", what, rel);
  CHECK(bad == 0, "%s: %ld of %ld elements off (first [%ld]: ganforge %.9g vs torch %.9g)", what, bad, n, first,
        first >= 0 ? (double)got[first] : 0.0, first >= 0 ? (double)want[first] : 0.0);
  worst_param_elem = fmax(worst_param_elem, worst);
  return rel;
}

static void check_net_state(const gf__st_file *f, const gf__net *net, const char *prefix, const char *fx) {
  gf__tensor_ref refs[128];
  int m = gf__net_tensors(net, refs, 128);
  CHECK(m > 0 && m <= 128, "%s: %d tensors", fx, m);
  for (int i = 0; i < m && i < 128; i++) {
    char name[160], what[256];
    snprintf(name, sizeof name, "%.16s%.95s", prefix, refs[i].name);
    snprintf(what, sizeof what, "%s %s", fx, name);
    long n = 0;
    float *want = load(f, name, &n);
    CHECK(want && n == refs[i].n, "%s: missing or %ld elements (ganforge %ld)", what, n, refs[i].n);
    if (!want || n != refs[i].n) { free(want); continue; }
    float *got = malloc(sizeof(float) * (size_t)n);
    net->ops->to_host(got, refs[i].data, sizeof(float) * (size_t)n);
    worst_param = fmax(worst_param, check_tensor(what, got, want, n));
    /* the training update itself (final - initial), which the final values can hide when the
       steps are small against the weights */
    float *init = load(f, refs[i].name, NULL);
    if (init) {
      double num = 0, den = 0;
      for (long k = 0; k < n; k++) {
        double dg = (double)got[k] - init[k], dw = (double)want[k] - init[k];
        num += (dg - dw) * (dg - dw);
        den += dw * dw;
      }
      double rel = den > 0 ? sqrt(num / den) : sqrt(num);
      if (getenv("GF_PARITY_VERBOSE")) printf("  %-48s update norm %.3g  norm-rel %.3g\n", what, sqrt(den), rel);
      CHECK(rel <= DELTA_RTOL, "%s: update (final - initial) norm-relative error %.3g > %g", what, rel, DELTA_RTOL);
      worst_delta = fmax(worst_delta, rel);
      free(init);
    }
    free(got);
    free(want);
  }
}

/* Tensors that must have moved during training (guards against a fixture or a run that did
   nothing): the final state differs from the initial one. */
static void check_moved(const gf__st_file *f, const gf__net *net, const char *fx) {
  gf__tensor_ref refs[128];
  int m = gf__net_tensors(net, refs, 128);
  int moved = 0, total = 0;
  for (int i = 0; i < m && i < 128; i++) {
    if (refs[i].what) continue;
    char name[160];
    snprintf(name, sizeof name, "final.%.95s", refs[i].name);
    float *a = load(f, refs[i].name, NULL), *b = load(f, name, NULL);
    if (a && b && memcmp(a, b, sizeof(float) * (size_t)refs[i].n)) moved++;
    total++;
    free(a);
    free(b);
  }
  CHECK(moved == total && total > 0, "%s %s: only %d of %d parameter tensors changed in the reference run", fx,
        net->name, moved, total);
}

static void run_fixture(const char *file) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", gf_t_fixtures(), file);
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == 0, "%s: %s", path, gf_last_error());
  if (rc) return;
  const char *preset = gf__st_meta(&f, "preset"), *over = gf__st_meta(&f, "overrides");
  const char *iters_s = gf__st_meta(&f, "iters"), *batch_s = gf__st_meta(&f, "batch");
  CHECK(preset && over && iters_s && batch_s, "%s: metadata preset/overrides/iters/batch missing", file);
  if (!preset || !over || !iters_s || !batch_s) { gf__st_close(&f); return; }
  int iters = atoi(iters_s), B = atoi(batch_s);

  gf_config cfg;
  CHECK(gf_preset_apply(&cfg, preset) == 0, "%s: preset %s: %s", file, preset, gf_last_error());
  char buf[2048];
  snprintf(buf, sizeof buf, "%s", over);
  char *save = NULL;
  for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
    CHECK(gf_config_set_kv(&cfg, tok) == 0, "%s: override %s: %s", file, tok, gf_last_error());
  CHECK(gf_config_validate(&cfg) == 0, "%s: config: %s", file, gf_last_error());
  CHECK(cfg.train_batch == B, "%s: batch %d vs %d", file, cfg.train_batch, B);

  const gf__ops *o = gf__ops_cpu();
  gf__gan gan;
  rc = gf__gan_create(&gan, &cfg, o, 1, 28, 28, B, NULL);
  CHECK(rc == 0, "%s: gan_create: %s", file, gf_last_error());
  if (rc) { gf__st_close(&f); return; }
  /* the reference's initial weights and buffers (names and shapes must match the architecture) */
  rc = gf__weights_load_net(&f, &gan.G);
  CHECK(rc == 0, "%s: load G: %s", file, gf_last_error());
  rc = rc ? rc : gf__weights_load_net(&f, &gan.D);
  CHECK(rc == 0, "%s: load D: %s", file, gf_last_error());
  if (rc) { gf__gan_destroy(&gan); gf__st_close(&f); return; }
  check_moved(&f, &gan.G, file);
  check_moved(&f, &gan.D, file);

  long nz = (long)B * gan.nz, nx = (long)B * gan.dim;
  float *zdev = o->alloc(sizeof(float) * (size_t)nz);
  for (int t = 0; t < iters; t++) {
    char name[64], what[128];
    long n = 0;
    snprintf(name, sizeof name, "z_%d", t);
    float *z = load(&f, name, &n);
    CHECK(z && n == nz, "%s: %s missing or %ld elements", file, name, n);
    snprintf(name, sizeof name, "x_%d", t);
    float *x = load(&f, name, &n);
    CHECK(x && n == nx, "%s: %s missing or %ld elements", file, name, n);
    if (!z || !x) { free(z); free(x); break; }
    o->to_device(zdev, z, sizeof(float) * (size_t)nz);
    o->to_device(gan.xr, x, sizeof(float) * (size_t)nx);
    gan.z_override = zdev;
    rc = gf__gan_d_step(&gan, gan.xr);
    if (rc == 0) rc = gf__gan_stats(&gan);
    CHECK(rc == 0, "%s: d step %d: %s", file, t, gf_last_error());
    snprintf(what, sizeof what, "%s iter %d loss_d", file, t);
    snprintf(name, sizeof name, "loss_d_%d", t);
    check_stat(what, gan.loss_d, scalar(&f, name));
    snprintf(what, sizeof what, "%s iter %d d_real", file, t);
    snprintf(name, sizeof name, "d_real_%d", t);
    check_stat(what, gan.d_real, scalar(&f, name));
    snprintf(what, sizeof what, "%s iter %d d_fake", file, t);
    snprintf(name, sizeof name, "d_fake_%d", t);
    check_stat(what, gan.d_fake, scalar(&f, name));
    /* fresh-noise fixtures carry the G step's own noise */
    snprintf(name, sizeof name, "zg_%d", t);
    float *zg = load(&f, name, &n);
    if (zg) {
      CHECK(n == nz && cfg.train_g_fresh_noise, "%s: %s with %ld elements, g_fresh_noise %d", file, name, n,
            cfg.train_g_fresh_noise);
      if (n == nz) o->to_device(zdev, zg, sizeof(float) * (size_t)nz);
    } else {
      CHECK(!cfg.train_g_fresh_noise, "%s: g_fresh_noise=1 but no %s", file, name);
    }
    rc = gf__gan_g_step(&gan);
    if (rc == 0) rc = gf__gan_stats(&gan);
    CHECK(rc == 0, "%s: g step %d: %s", file, t, gf_last_error());
    snprintf(what, sizeof what, "%s iter %d loss_g", file, t);
    snprintf(name, sizeof name, "loss_g_%d", t);
    check_stat(what, gan.loss_g, scalar(&f, name));
    free(z); free(x); free(zg);
  }
  gan.z_override = NULL;
  CHECK(gan.d_steps == iters && gan.g_steps == iters, "%s: %ld D steps and %ld G steps, expected %d", file,
        gan.d_steps, gan.g_steps, iters);

  /* every parameter and BatchNorm buffer after the last iteration */
  check_net_state(&f, &gan.G, "final.", file);
  check_net_state(&f, &gan.D, "final.", file);

  /* eval-mode samples from the final G (running statistics) */
  long n = 0;
  float *zs = load(&f, "zs", &n), *want = load(&f, "sample", NULL);
  if (zs && want) {
    int ns = (int)(n / gan.nz);
    float *zsd = o->alloc(sizeof(float) * (size_t)n), *got = malloc(sizeof(float) * (size_t)ns * gan.dim);
    o->to_device(zsd, zs, sizeof(float) * (size_t)n);
    CHECK(gf__gan_sample(&gan, zsd, ns, got) == 0, "%s: sample: %s", file, gf_last_error());
    char what[128];
    snprintf(what, sizeof what, "%s eval-mode samples", file);
    worst_sample = fmax(worst_sample, check_tensor(what, got, want, (long)ns * gan.dim));
    o->free(zsd);
    free(got);
  }
  free(zs);
  free(want);
  o->free(zdev);
  gf__gan_destroy(&gan);
  gf__st_close(&f);
}

int main(void) {
  run_fixture("parity_mlp.safetensors");
  run_fixture("parity_goodfellow.safetensors");
  printf("max relative errors vs torch: statistics %.3g, final tensors and samples (norm) %.3g / %.3g, "
         "worst element at %.3g of its tolerance; updates (final - initial) %.3g\n", worst_loss, worst_param,
         worst_sample, worst_param_elem, worst_delta);
  return gf_t_done();
}
