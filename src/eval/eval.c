/* eval.c: gf_eval, the public evaluation entry point: draws samples from a run (or reads a .npy)
   and scores them with the Parzen-window log-likelihood (Goodfellow et al. 2014) or the mode
   coverage of ring8 / grid25 (VEEGAN / PacGAN). The protocols are in shared/REFERENCE.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/dataset.h"
#include "eval/modes.h"
#include "eval/npyio.h"
#include "eval/parzen.h"
#include "ganforge/ganforge.h"
#include "models/gan.h"
#include "models/weights.h"

#define PARZEN_SAMPLES 10000
#define PARZEN_VAL_OFFSET 50000
#define PARZEN_VAL 1000
#define PARZEN_TEST 10000
#define PARZEN_GRID 10
#define MODES_SAMPLES 2500

/* The samples to score, with what is known of where they came from. */
typedef struct samples {
  float *x;          /* [n, dim] */
  int n, dim;
  int from_run;
  gf_config cfg;     /* the run's config (from_run) */
  long rows;         /* rows available in a .npy */
} samples;

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

static void add_note(gf_eval_result *res, const char *text) {
  size_t l = strlen(res->note);
  snprintf(res->note + l, sizeof res->note - l, "%s%s", l ? "; " : "", text);
}

/* Draws n samples from a run folder / generator / checkpoint, as gf_sample does (same seed, same
   stream, same samples). */
static int samples_from_run(const char *run, int n, uint64_t seed, samples *s) {
  gf__gan gan;
  memset(&gan, 0, sizeof gan);
  const gf__ops *ops = gf__ops_cpu();
  int c, h, w;
  GF_TRY(gf__generator_open(run, ops, &s->cfg, &gan.G, &c, &h, &w));
  gan.cfg = s->cfg;
  gan.ops = ops;
  gan.nz = s->cfg.model_nz;
  gan.dim = (long)c * h * w;
  s->from_run = 1;
  s->n = n;
  s->dim = (int)gan.dim;
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_SAMPLE);
  float *z = malloc(sizeof(float) * (size_t)n * gan.nz);
  s->x = malloc(sizeof(float) * (size_t)n * gan.dim);
  int rc = 0;
  if (!z || !s->x) rc = gf__fail(GF_ENOMEM, "out of memory for %d samples", n);
  else {
    gf__gan_noise(&gan, &r, z, n);
    rc = gf__gan_sample(&gan, z, n, s->x);
  }
  free(z);
  gf__net_free(&gan.G);
  return rc;
}

/* Reads a .npy [rows, ...]: one sample per row, the rest of the shape flattened. Keeps the first
   `want` rows (all when want is 0 and there are at most `dflt`, else the first `dflt`). */
static int samples_from_npy(const char *path, int want, int dflt, samples *s) {
  gf__npy a;
  GF_TRY(gf__npy_read_f32(path, &a));
  int rc = 0;
  if (a.ndim < 1) rc = gf__fail(GF_EFORMAT, "%s: .npy holds a scalar; expected samples [n, ...]", path);
  else if (a.shape[0] < 1) rc = gf__fail(GF_EFORMAT, "%s: .npy holds no samples (shape[0] = 0)", path);
  else if (a.count / (size_t)a.shape[0] < 1) rc = gf__fail(GF_EFORMAT, "%s: .npy samples are empty", path);
  else if (a.shape[0] > 10000000L || a.count / (size_t)a.shape[0] > 100000000UL)
    rc = gf__fail(GF_EFORMAT, "%s: .npy array is too large", path);
  if (rc < 0) { gf__npy_free(&a); return rc; }
  s->rows = a.shape[0];
  s->dim = (int)(a.count / (size_t)a.shape[0]);
  if (want > s->rows) {
    gf__npy_free(&a);
    return gf__fail(GF_EUSAGE, "-n %d: %s holds only %ld samples", want, path, s->rows);
  }
  s->n = want ? want : (int)GF_MIN(s->rows, (long)dflt);
  s->x = a.data; /* the first n rows are used */
  return 0;
}

static int score_parzen(const char *input, const gf_eval_opts *o, samples *s, gf_eval_result *res) {
  char msg[400];
  if (s->dim != 784)
    return gf__fail(GF_EUSAGE, "%s: each sample has %d value(s); the parzen metric needs 784 (28x28 MNIST images)",
                    input, s->dim);
  const char *set = "mnist";
  if (s->from_run) {
    if (!strcmp(s->cfg.data_name, "fashion-mnist")) set = "fashion-mnist";
    else if (strcmp(s->cfg.data_name, "mnist"))
      return gf__fail(GF_EUSAGE, "%s: the run was trained on '%s'; the parzen metric is defined on MNIST", input,
                      s->cfg.data_name);
  }
  if (strcmp(set, "mnist")) add_note(res, "fashion-mnist run: scored on the Fashion-MNIST test set with the MNIST protocol");
  size_t total = (size_t)s->n * s->dim;
  /* the value range: [0,1] per the protocol; tanh generators ([-1,1]) are mapped */
  int tanh_range;
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < total; i++) {
    if (!isfinite(s->x[i])) return gf__fail(GF_ENUMERIC, "%s: sample %zu holds a non-finite value", input, i / (size_t)s->dim);
    lo = s->x[i] < lo ? s->x[i] : lo;
    hi = s->x[i] > hi ? s->x[i] : hi;
  }
  if (s->from_run) {
    tanh_range = !strcmp(s->cfg.model_g_out, "tanh");
    if (!strcmp(s->cfg.model_g_out, "linear")) add_note(res, "linear generator output: taken as pixels in [0,1]");
  } else if (o->range && !strcmp(o->range, "tanh")) tanh_range = 1;
  else if (o->range && !strcmp(o->range, "unit")) tanh_range = 0;
  else if (o->range) return gf__fail(GF_EUSAGE, "--range %s: must be unit or tanh", o->range);
  else tanh_range = lo < 0;
  const float tol = 1e-3f;
  if (!s->from_run && (tanh_range ? (lo < -1 - tol || hi > 1 + tol) : (lo < -tol || hi > 1 + tol)))
    return gf__fail(GF_EUSAGE, "%s: sample values span [%g, %g]; the parzen metric needs pixels in [0,1] "
                    "(or [-1,1] from a tanh generator, see --range)", input, lo, hi);
  if (tanh_range)
    for (size_t i = 0; i < total; i++) s->x[i] = (s->x[i] + 1.0f) * 0.5f;
  res->mapped_tanh = tanh_range;

  char dir[2048];
  const char *explicit_dir = o->data ? o->data : (s->from_run && s->cfg.data_path[0] ? s->cfg.data_path : NULL);
  GF_TRY(gf__data_locate(set, explicit_dir, 1, dir, sizeof dir));
  gf__dataset val, test;
  memset(&val, 0, sizeof val);
  memset(&test, 0, sizeof test);
  int rc = gf__mnist_load(&val, dir, 1, GF_SCALE_UNIT, PARZEN_VAL_OFFSET, PARZEN_VAL);
  if (rc == 0) rc = gf__mnist_load(&test, dir, 0, GF_SCALE_UNIT, 0, 0);
  if (rc == 0 && (val.c * val.h * val.w != 784 || test.c * test.h * test.w != 784))
    rc = gf__fail(GF_EFORMAT, "%s: the images are not 28x28", dir);
  if (rc == 0 && val.n != PARZEN_VAL) {
    snprintf(msg, sizeof msg, "only %d validation images (protocol: %d)", val.n, PARZEN_VAL);
    add_note(res, msg);
  }
  if (rc == 0 && test.n != PARZEN_TEST) {
    snprintf(msg, sizeof msg, "%d test images (protocol: %d)", test.n, PARZEN_TEST);
    add_note(res, msg);
  }
  if (rc == 0) {
    int prec = o->float32 ? GF_PARZEN_F32 : GF_PARZEN_F64, best = 0;
    res->ngrid = PARZEN_GRID;
    gf__parzen_grid(res->sigma_grid, PARZEN_GRID);
    rc = gf__parzen_select(s->x, s->n, val.x, val.n, 784, res->sigma_grid, PARZEN_GRID, prec, &best, res->val_ll);
    double *ll = rc == 0 ? malloc(sizeof(double) * (size_t)test.n) : NULL;
    if (rc == 0 && !ll) rc = gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0) {
      res->sigma = res->sigma_grid[best];
      rc = gf__parzen_ll(s->x, s->n, test.x, test.n, 784, &res->sigma, 1, prec, ll);
    }
    if (rc == 0) gf__parzen_mean_se(ll, test.n, &res->parzen_ll, &res->parzen_se);
    free(ll);
    res->n_val = val.n;
    res->n_test = test.n;
    if (rc == 0 && o->float32) add_note(res, "single-precision distances (--float32)");
  }
  gf__dataset_free(&val);
  gf__dataset_free(&test);
  return rc;
}

static int score_modes(const char *input, const gf_eval_opts *o, samples *s, gf_eval_result *res) {
  const char *set = o->modes;
  if (s->from_run) {
    const char *dn = s->cfg.data_name;
    if (strcmp(dn, "ring8") && strcmp(dn, "grid25"))
      return gf__fail(GF_EUSAGE, "%s: the run was trained on '%s'; the modes metric needs a ring8 or grid25 run", input, dn);
    if (set && strcmp(set, dn))
      return gf__fail(GF_EUSAGE, "--modes %s: the run was trained on '%s'", set, dn);
    set = dn;
  } else if (!set) {
    return gf__fail(GF_EUSAGE, "%s: --modes ring8|grid25 is needed to score a .npy with the modes metric", input);
  }
  if (strcmp(set, "ring8") && strcmp(set, "grid25"))
    return gf__fail(GF_EUSAGE, "--modes %s: must be ring8 or grid25", set);
  if (s->dim != 2)
    return gf__fail(GF_EUSAGE, "%s: each sample has %d value(s); the modes metric needs 2-D points", input, s->dim);
  gf__dataset ds;
  memset(&ds, 0, sizeof ds);
  GF_TRY(!strcmp(set, "ring8") ? gf__synth_ring8(&ds, 8, 1) : gf__synth_grid25(&ds, 25, 1));
  gf__modes_result m;
  int rc = gf__modes_eval(s->x, s->n, 2, ds.modes, ds.nmodes, ds.mode_sigma, &m);
  if (rc == 0) {
    snprintf(res->modes_set, sizeof res->modes_set, "%.15s", set);
    res->modes_captured = m.captured;
    res->modes_total = m.m;
    res->n_hq = m.n_hq;
    res->frac_hq = m.frac_hq;
    res->reverse_kl = m.kl;
  }
  gf__dataset_free(&ds);
  return rc;
}

int gf_eval(const char *input, const gf_eval_opts *o, gf_eval_result *res) {
  if (!input || !o || !res) return gf__fail(GF_EINVAL, "gf_eval: NULL argument");
  memset(res, 0, sizeof *res);
  double t0 = gf__now();
  const char *metric = o->metric ? o->metric : "";
  int parzen = !strcmp(metric, "parzen"), modes = !strcmp(metric, "modes");
  if (!parzen && !modes) return gf__fail(GF_EUSAGE, "--metric %s: unknown metric (parzen | modes)", metric[0] ? metric : "''");
  if (o->n < 0 || o->n > 1000000) return gf__fail(GF_EUSAGE, "-n %d: must be between 1 and 1000000", o->n);
  snprintf(res->metric, sizeof res->metric, "%.15s", metric);
  int dflt = parzen ? PARZEN_SAMPLES : MODES_SAMPLES;

  struct stat st;
  if (stat(input, &st) != 0)
    return gf__fail(GF_ENOENT, "%s: no such run folder, generator/checkpoint file or .npy file", input);
  samples s;
  memset(&s, 0, sizeof s);
  int rc;
  if (!S_ISDIR(st.st_mode) && ends_with(input, ".npy")) {
    snprintf(res->source, sizeof res->source, "npy");
    rc = samples_from_npy(input, o->n, dflt, &s);
  } else {
    snprintf(res->source, sizeof res->source, "run");
    if (o->n > 100000) return gf__fail(GF_EUSAGE, "-n %d: at most 100000 samples are drawn from a run", o->n);
    rc = samples_from_run(input, o->n ? o->n : dflt, o->seed, &s);
  }
  if (rc == 0) {
    res->n_samples = s.n;
    res->dim = s.dim;
    if (s.n != dflt) {
      char msg[160];
      snprintf(msg, sizeof msg, "%d samples (protocol: %d)", s.n, dflt);
      add_note(res, msg);
    }
    rc = parzen ? score_parzen(input, o, &s, res) : score_modes(input, o, &s, res);
  }
  free(s.x);
  res->seconds = gf__now() - t0;
  return rc;
}
