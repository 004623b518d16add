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
#include "data/images.h"
#include "eval/featmetrics.h"
#include "eval/modes.h"
#include "eval/npyio.h"
#include "eval/parzen.h"
#include "ganforge/ganforge.h"
#include "models/classifier.h"
#include "models/gan.h"
#include "models/weights.h"

#define PARZEN_SAMPLES 10000
#define PARZEN_VAL_OFFSET 50000
#define PARZEN_VAL 1000
#define PARZEN_TEST 10000
#define PARZEN_GRID 10
#define MODES_SAMPLES 2500
#define FEAT_SAMPLES 10000
#define STACKED_SAMPLES 26000
#define KID_SUBSETS 100
#define KID_SUBSET 1000
#define PR_K 3
#define SCORE_SPLITS 10

/* The samples to score, with what is known of where they came from. */
typedef struct samples {
  float *x;          /* [n, dim] */
  int n, dim;
  int from_run;
  gf_config cfg;     /* the run's config (from_run) */
  int nclass;        /* a conditional run's classes (sample i is of class i mod nclass), else 0 */
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
  s->nclass = gan.G.nclass; /* gf__gan_sample gives sample i the class i mod K */
  s->n = n;
  s->dim = (int)gan.dim;
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_SAMPLE);
  float *z = malloc(sizeof(float) * (size_t)n * gan.nz);
  s->x = malloc(sizeof(float) * (size_t)n * gan.dim);
  int rc = 0;
  if (!z || !s->x) rc = gf__fail(GF_ENOMEM, "out of memory for %d samples", n);
  else {
    rc = gf__gan_noise_host(&gan, &r, z, n);
    if (rc == 0) rc = gf__gan_sample_host(&gan, z, n, s->x);
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

/* Reads a folder of images (PNG etc., recursive) as samples of shape (nc, size, size), pixels in
   [-1, 1]; when nc / size are 0, 1 channel and 28 px. */
static int samples_from_folder(const char *dir, int want, int dflt, int nc, int size, samples *s) {
  gf__dataset ds;
  memset(&ds, 0, sizeof ds);
  GF_TRY(gf__imagefolder_load(&ds, dir, "samples", nc ? nc : 1, size ? size : 28, GF_SCALE_TANH, 0, 0, NULL));
  s->rows = ds.n;
  s->dim = (int)gf__dataset_dim(&ds);
  if (want > ds.n) {
    gf__dataset_free(&ds);
    return gf__fail(GF_EUSAGE, "-n %d: %s holds only %d images", want, dir, (int)s->rows);
  }
  s->n = want ? want : (int)GF_MIN(s->rows, (long)dflt);
  s->x = ds.x;
  ds.x = NULL;
  gf__dataset_free(&ds);
  return 0;
}

/* cacc-SET: sample i is of class i mod K. Conditional accuracy (the classifier's arg-max equals
   the class), per class, and per class the FID of its samples' features against the features of
   the test images of that class. */
static int score_classes(const gf__classifier *cl, const samples *s, const float *fg, const float *prob,
                         const gf__dataset *real, const float *fr, gf_eval_result *res) {
  const int D = GF_CLASSIFIER_FEAT, K = cl->nclass;
  if (K > 10 || !real->labels) return gf__fail(GF_EINVAL, "cacc: the classifier's set needs labels and at most 10 classes");
  res->nclass = K;
  int nf = s->n, nr = real->n, hit = 0;
  float *a = malloc(sizeof(float) * (size_t)nf * D), *b = malloc(sizeof(float) * (size_t)nr * D);
  int rc = a && b ? 0 : gf__fail(GF_ENOMEM, "out of memory");
  for (int i = 0; i < nf; i++) {
    const float *p = prob + (size_t)i * K;
    int best = 0;
    for (int c = 1; c < K; c++)
      if (p[c] > p[best]) best = c;
    hit += best == i % K;
    res->cacc_class[i % K] += best == i % K;
  }
  res->cacc = (double)hit / nf;
  res->fid_class_mean = 0;
  for (int k = 0; k < K && rc == 0; k++) {
    int ng = 0, nk = 0;
    for (int i = k; i < nf; i += K) memcpy(a + (size_t)ng++ * D, fg + (size_t)i * D, sizeof(float) * D);
    for (int i = 0; i < nr; i++)
      if (real->labels[i] == k) memcpy(b + (size_t)nk++ * D, fr + (size_t)i * D, sizeof(float) * D);
    res->cacc_class[k] = ng ? res->cacc_class[k] / ng : 0;
    if (ng < 2 || nk < 2) rc = gf__fail(GF_EUSAGE, "cacc: class %d has %d samples and %d test images (at least 2 each; "
                                        "score at least %d samples)", k, ng, nk, 2 * K);
    else rc = gf__fid(b, nk, a, ng, D, &res->fid_class[k]);
    res->fid_class_mean += res->fid_class[k] / K;
  }
  free(a);
  free(b);
  return rc;
}

/* The classifier-space metrics: fid-/kid-/pr-/score-/cacc-SET and stacked-modes. */
static int score_features(const char *input, const gf_eval_opts *o, samples *s, const char *metric, const char *set,
                          gf_eval_result *res) {
  const char *cpath = o->classifier ? o->classifier : getenv("GANFORGE_CLASSIFIER");
  if (!cpath || !cpath[0])
    return gf__fail(GF_EUSAGE, "%s needs ganforge's own classifier: train one with 'ganforge train classifier-%s' and "
                    "pass --classifier RUN (or set $GANFORGE_CLASSIFIER)", metric, set);
  int stacked = !strcmp(metric, "stacked-modes");
  gf__classifier cl;
  GF_TRY(gf__classifier_open(&cl, cpath, gf__ops_cpu(), 500));
  char cset[160];
  snprintf(cset, sizeof cset, "%s", cl.cfg.data_name);
  snprintf(res->feature_set, sizeof res->feature_set, "%.23s", cset);
  res->classifier_acc = cl.test_accuracy;
  long cdim = (long)cl.c * cl.h * cl.w;
  int rc = 0;
  if (strcmp(cset, set))
    rc = gf__fail(GF_EUSAGE, "%s: the classifier %s was trained on '%s'; %s needs one trained on '%s'", metric, cpath,
                  cset, metric, set);
  else if (s->dim != (stacked ? 3 : 1) * cdim)
    rc = gf__fail(GF_EUSAGE, "%s: each sample has %d values; %s needs %ld (%s%dx%dx%d images)", input, s->dim, metric,
                  (stacked ? 3 : 1) * cdim, stacked ? "3 stacked " : "", cl.c, cl.h, cl.w);
  else if (!strncmp(metric, "cacc-", 5) && s->from_run && s->nclass != cl.nclass)
    rc = gf__fail(GF_EUSAGE, "%s: %s; cacc-%s needs a conditional model of the classifier's %d classes (model.cond)",
                  input, s->nclass ? "its classes differ from the classifier's" : "not a conditional model (model.cond=none)",
                  set, cl.nclass);
  if (rc < 0) { gf__classifier_destroy(&cl); return rc; }
  /* the classifier takes pixels in [-1, 1] */
  size_t total = (size_t)s->n * s->dim;
  float lo = INFINITY;
  for (size_t i = 0; i < total && rc == 0; i++) {
    if (!isfinite(s->x[i])) rc = gf__fail(GF_ENUMERIC, "%s: sample %zu holds a non-finite value", input, i / (size_t)s->dim);
    lo = s->x[i] < lo ? s->x[i] : lo;
  }
  int unit;
  if (s->from_run) unit = !strcmp(s->cfg.model_g_out, "sigmoid");
  else if (o->range) unit = !strcmp(o->range, "unit");
  else unit = lo >= 0 && strcmp(res->source, "folder");
  if (unit)
    for (size_t i = 0; i < total; i++) s->x[i] = 2.0f * s->x[i] - 1.0f;
  res->mapped_tanh = unit;
  float *feat = NULL, *prob = NULL;
  int *lab = NULL;
  gf__dataset real;
  memset(&real, 0, sizeof real);
  if (rc == 0 && stacked) {
    /* each channel is one digit: classify the three, mode = 100 r + 10 g + b */
    float *ch = malloc(sizeof(float) * (size_t)s->n * cdim);
    prob = malloc(sizeof(float) * (size_t)s->n * cl.nclass);
    lab = calloc((size_t)s->n, sizeof(int));
    if (!ch || !prob || !lab) rc = gf__fail(GF_ENOMEM, "out of memory");
    for (int k = 0; k < 3 && rc == 0; k++) {
      for (int i = 0; i < s->n; i++) memcpy(ch + (size_t)i * cdim, s->x + (size_t)i * s->dim + k * cdim, sizeof(float) * cdim);
      rc = gf__classifier_apply(&cl, ch, s->n, NULL, prob);
      for (int i = 0; i < s->n && rc == 0; i++) {
        const float *p = prob + (size_t)i * cl.nclass;
        int best = 0;
        for (int c = 1; c < cl.nclass; c++)
          if (p[c] > p[best]) best = c;
        lab[i] = lab[i] * 10 + best;
        res->stacked_digits[k][best] += 1; /* a count until the end */
      }
    }
    free(ch);
    res->stacked_kl_channels = 0;
    for (int k = 0; k < 3; k++)
      for (int d = 0; d < 10; d++)
        if ((res->stacked_digits[k][d] /= s->n) > 0)
          res->stacked_kl_channels += res->stacked_digits[k][d] * log(10 * res->stacked_digits[k][d]);
    if (rc == 0) rc = gf__label_hist(lab, s->n, 1000, &res->stacked_modes, &res->stacked_kl);
    goto done;
  }
  /* real features: the classifier set's test images */
  if (rc == 0) {
    gf_config t;
    gf__classifier_test_config(&cl.cfg, &t);
    if (strcmp(t.data_name, "shapes")) {
      if (o->data) snprintf(t.data_path, sizeof t.data_path, "%s", o->data);
      else if (s->from_run && s->cfg.data_path[0] && !strcmp(s->cfg.data_name, set))
        snprintf(t.data_path, sizeof t.data_path, "%s", s->cfg.data_path);
    }
    snprintf(t.model_g_out, sizeof t.model_g_out, "tanh");
    rc = gf__dataset_from_config(&t, &real);
    if (rc == 0 && gf__dataset_dim(&real) != cdim) rc = gf__fail(GF_EFORMAT, "%s test images are not %dx%dx%d", set, cl.c, cl.h, cl.w);
  }
  res->n_real = real.n;
  int nf = s->n, nr = real.n;
  if (rc == 0) {
    feat = malloc(sizeof(float) * (size_t)(nf + nr) * GF_CLASSIFIER_FEAT);
    prob = malloc(sizeof(float) * (size_t)nf * cl.nclass);
    if (!feat || !prob) rc = gf__fail(GF_ENOMEM, "out of memory");
  }
  float *fg = feat, *fr = feat ? feat + (size_t)nf * GF_CLASSIFIER_FEAT : NULL;
  if (rc == 0) rc = gf__classifier_apply(&cl, s->x, nf, fg, prob);
  if (rc == 0) rc = gf__classifier_apply(&cl, real.x, nr, fr, NULL);
  if (rc == 0) {
    const int D = GF_CLASSIFIER_FEAT;
    if (!strncmp(metric, "cacc-", 5)) rc = score_classes(&cl, s, fg, prob, &real, fr, res);
    else if (!strncmp(metric, "fid-", 4)) rc = gf__fid(fr, nr, fg, nf, D, &res->fid);
    else if (!strncmp(metric, "kid-", 4))
      rc = gf__kid(fr, nr, fg, nf, D, KID_SUBSETS, KID_SUBSET, o->seed, &res->kid, &res->kid_std);
    else if (!strncmp(metric, "pr-", 3)) rc = gf__prec_recall(fr, nr, fg, nf, D, PR_K, &res->precision, &res->recall);
    else rc = gf__class_score(prob, nf, cl.nclass, SCORE_SPLITS, &res->cscore, &res->cscore_std);
  }
done:
  free(feat);
  free(prob);
  free(lab);
  gf__dataset_free(&real);
  gf__classifier_destroy(&cl);
  return rc;
}

/* Every metric name, from one table: the plain metrics, then prefix x feature set. */
static const char *const plain_metrics[] = {"parzen", "modes", "stacked-modes"};
static const char *const feat_prefixes[] = {"fid-", "kid-", "pr-", "score-", "cacc-"};
static const char *const feat_sets[] = {"mnist", "fashion-mnist", "shapes"};
#define N_PLAIN ((int)(sizeof plain_metrics / sizeof plain_metrics[0]))
#define N_PREFIX ((int)(sizeof feat_prefixes / sizeof feat_prefixes[0]))
#define N_SETS ((int)(sizeof feat_sets / sizeof feat_sets[0]))

/* "fid-mnist" -> "mnist" etc.; NULL when metric is not a classifier-space one. */
static const char *feature_set_of(const char *metric) {
  if (!strcmp(metric, "stacked-modes")) return "mnist";
  for (int i = 0; i < N_PREFIX; i++) {
    size_t l = strlen(feat_prefixes[i]);
    if (!strncmp(metric, feat_prefixes[i], l)) {
      for (int k = 0; k < N_SETS; k++)
        if (!strcmp(metric + l, feat_sets[k])) return feat_sets[k];
      return NULL;
    }
  }
  return NULL;
}

int gf_eval_metric_known(const char *metric) {
  if (!metric) return 0;
  for (int i = 0; i < N_PLAIN; i++)
    if (!strcmp(metric, plain_metrics[i])) return 1;
  return feature_set_of(metric) != NULL;
}

int gf_eval_metric_count(void) { return N_PLAIN + N_PREFIX * N_SETS; }

const char *gf_eval_metric_name(int i) {
  static _Thread_local char buf[32];
  if (i < 0 || i >= gf_eval_metric_count()) return NULL;
  if (i < N_PLAIN) return plain_metrics[i];
  i -= N_PLAIN;
  snprintf(buf, sizeof buf, "%s%s", feat_prefixes[i / N_SETS], feat_sets[i % N_SETS]);
  return buf;
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
  const char *fset = feature_set_of(metric);
  if (!parzen && !modes && !fset)
    return gf__fail(GF_EUSAGE, "--metric %s: unknown metric (parzen | modes | fid-SET | kid-SET | pr-SET | score-SET | "
                    "cacc-SET | stacked-modes; SET = mnist | fashion-mnist | shapes)", metric[0] ? metric : "''");
  if (o->n < 0 || o->n > 1000000) return gf__fail(GF_EUSAGE, "-n %d: must be between 1 and 1000000", o->n);
  snprintf(res->metric, sizeof res->metric, "%.23s", metric);
  int dflt = parzen ? PARZEN_SAMPLES : modes ? MODES_SAMPLES : !strcmp(metric, "stacked-modes") ? STACKED_SAMPLES : FEAT_SAMPLES;

  struct stat st;
  if (stat(input, &st) != 0)
    return gf__fail(GF_ENOENT, "%s: no such run folder, generator/checkpoint file or .npy file", input);
  samples s;
  memset(&s, 0, sizeof s);
  int rc;
  char gpath[2200];
  snprintf(gpath, sizeof gpath, "%s/generator.safetensors", input);
  struct stat gst;
  if (S_ISDIR(st.st_mode) && stat(gpath, &gst) != 0) {
    /* a folder without a generator: a folder of sample images */
    snprintf(res->source, sizeof res->source, "folder");
    int nc = !strcmp(metric, "stacked-modes") ? 3 : 1, size = 28;
    if (fset && strcmp(metric, "stacked-modes") && !strcmp(fset, "shapes")) size = 0; /* the classifier's size below */
    if (!fset)
      return gf__fail(GF_ENOENT, "%s: not found: the folder is not a run, and a folder of images can be scored with the "
                      "classifier-space metrics only", gpath);
    if (size == 0) {
      gf__classifier cl;
      const char *cp = o->classifier ? o->classifier : getenv("GANFORGE_CLASSIFIER");
      if (!cp) return gf__fail(GF_EUSAGE, "%s needs --classifier RUN", metric);
      GF_TRY(gf__classifier_open(&cl, cp, gf__ops_cpu(), 1));
      size = cl.h;
      gf__classifier_destroy(&cl);
    }
    rc = samples_from_folder(input, o->n, dflt, nc, size, &s);
  } else if (!S_ISDIR(st.st_mode) && ends_with(input, ".npy")) {
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
    rc = parzen ? score_parzen(input, o, &s, res) : modes ? score_modes(input, o, &s, res)
                                                          : score_features(input, o, &s, metric, fset, res);
  }
  free(s.x);
  res->seconds = gf__now() - t0;
  return rc;
}
