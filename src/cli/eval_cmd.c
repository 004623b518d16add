/* eval_cmd.c: `ganforge eval`: score a run, generator/checkpoint or .npy of samples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ganforge/ganforge.h"

int gf_cli_eval(int argc, char **argv);

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

static const char *EVAL_HELP =
    "usage: ganforge eval RUN|GENERATOR|CHECKPOINT|SAMPLES.npy|IMAGE_DIR --metric NAME [options]\n"
    "\n"
    "Scores generated samples, drawn from a run (as 'ganforge sample' draws them: same --seed, same\n"
    "samples), read from a float32 .npy [n, ...] written by any tool, or from a folder of images.\n"
    "\n"
    "  --metric parzen   Parzen-window log-likelihood, Goodfellow et al. 2014 protocol: a Gaussian\n"
    "                    window on 10,000 samples (pixels in [0,1], d = 784; tanh output is mapped\n"
    "                    from [-1,1]), sigma chosen on logspace(-1, 0, 10) by the mean log-likelihood\n"
    "                    of the first 1,000 validation images (MNIST train[50000:60000]), reported as\n"
    "                    the mean over the 10,000 MNIST test images +- standard error (nats).\n"
    "  --metric modes    mode coverage of ring8 / grid25 (VEEGAN / PacGAN): 2,500 samples; modes\n"
    "                    captured, % high quality (within 3 sigma of a mode), reverse KL to uniform.\n"
    "\n"
    "  Classifier-space metrics (SET = mnist | fashion-mnist | shapes). They use the features (the\n"
    "  128-d layer before the output) of ganforge's own CNN classifier, trained with\n"
    "  'ganforge train classifier-SET' and given by --classifier: NOT Inception features, so the\n"
    "  numbers compare only with numbers from the same classifier. Real images: the SET test split.\n"
    "  --metric fid-SET  Frechet distance between the feature Gaussians (10,000 samples)\n"
    "  --metric kid-SET  kernel (MMD^2, cubic polynomial kernel) distance, 100 subsets of 1,000\n"
    "  --metric pr-SET   precision and recall of the k-NN (k = 3) feature manifolds\n"
    "  --metric score-SET  classifier score exp(E KL(p(y|x) || p(y))), 10 splits (Inception-Score\n"
    "                    construction; 10 is the maximum for 10 classes)\n"
    "  --metric cacc-SET conditional models (model.cond): 10,000 samples, sample i of class i mod K\n"
    "                    (a .npy must follow that order, as the sample command writes one): the\n"
    "                    share the classifier labels with their class (conditional accuracy), per\n"
    "                    class, and each class's FID against the test images of that class\n"
    "  --metric stacked-modes  Stacked MNIST: 26,000 3-channel samples, each channel classified by\n"
    "                    the MNIST classifier: modes hit of 1,000 and KL to uniform\n"
    "\n"
    "options:\n"
    "  --classifier RUN  classifier run folder or .safetensors (default: $GANFORGE_CLASSIFIER)\n"
    "  --data DIR        MNIST folder (parzen; default: the run's data.path, $GANFORGE_DATA, the cache)\n"
    "  -n N              samples to score (default: the protocol's 10000 / 2500)\n"
    "  --seed N          noise seed when sampling from a run (default 1)\n"
    "  --modes SET       ring8 | grid25: the mixture a .npy is scored against (modes)\n"
    "  --range R         unit | tanh: value range of a .npy (parzen; default: tanh when any value < 0)\n"
    "  --float32         single-precision distances (parzen; faster, ~1e-3 nats per point)\n"
    "  --verbose, -v     also print the validation log-likelihood of every sigma (stderr)\n"
    "  --list-metrics    print every metric name, one a line, and exit\n"
    "\n"
    "Output: one machine-readable line (parzen_ll=... parzen_se=... sigma=... or modes_captured=...)\n"
    "and one sentence. Exit status: 0 ok, 1 runtime error (missing or bad file), 2 usage error\n"
    "(unknown option or metric, samples of the wrong dimension for the metric).\n";

static int usage(const char *fmt, const char *arg) {
  fprintf(stderr, "ganforge: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nhint: run 'ganforge eval --help'\n");
  return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  if (!s || !*s) return -1;
  long v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int gf_cli_eval(int argc, char **argv) {
  gf_eval_opts o;
  memset(&o, 0, sizeof o);
  o.seed = 1;
  const char *input = NULL;
  int verbose = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(EVAL_HELP, stdout); return 0; }
    if (!strcmp(a, "--list-metrics")) {
      for (int k = 0; k < gf_eval_metric_count(); k++) puts(gf_eval_metric_name(k));
      return 0;
    }
    if (!strcmp(a, "--float32")) { o.float32 = 1; continue; }
    if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) { verbose = 1; continue; }
    const char **str = !strcmp(a, "--metric") ? &o.metric : !strcmp(a, "--data") ? &o.data
                     : !strcmp(a, "--modes") ? &o.modes : !strcmp(a, "--range") ? &o.range
                     : !strcmp(a, "--classifier") ? &o.classifier : NULL;
    if (str) {
      if (!v) return usage("%s needs a value", a);
      *str = v;
      i++;
      continue;
    }
    if (!strcmp(a, "-n") || !strcmp(a, "--seed")) {
      long x;
      int is_n = !strcmp(a, "-n");
      if (!v || parse_long(v, is_n ? 1 : 0, is_n ? 1000000 : 2147483647L, &x))
        return usage(is_n ? "%s needs an integer between 1 and 1000000" : "%s needs a non-negative integer", a);
      if (is_n) o.n = (int)x; else o.seed = (uint64_t)x;
      i++;
      continue;
    }
    if (a[0] == '-' && a[1]) return usage("unknown option '%s'", a);
    if (input) return usage("unexpected argument '%s' (one input only)", a);
    input = a;
  }
  if (!input) return usage("missing the input (a run folder, generator/checkpoint file or .npy)%s", "");
  if (!o.metric) return usage("missing --metric (parzen | modes | fid-mnist | kid-mnist | pr-mnist | score-mnist | cacc-mnist | stacked-modes ...)%s", "");
  if (!gf_eval_metric_known(o.metric))
    return usage("--metric %s: unknown metric (parzen | modes | fid-SET | kid-SET | pr-SET | score-SET | cacc-SET | stacked-modes; "
                 "SET = mnist | fashion-mnist | shapes)", o.metric);
  if (o.range && strcmp(o.range, "unit") && strcmp(o.range, "tanh")) return usage("--range %s: must be unit or tanh", o.range);
  if (o.modes && strcmp(o.modes, "ring8") && strcmp(o.modes, "grid25")) return usage("--modes %s: must be ring8 or grid25", o.modes);

  gf_eval_result r;
  int rc = gf_eval(input, &o, &r);
  if (rc < 0) {
    const char *msg = gf_last_error();
    fprintf(stderr, "ganforge: error: %s\n", msg[0] ? msg : gf_strerror(rc));
    return rc == GF_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
  }
  if (!strcmp(r.metric, "parzen")) {
    if (verbose)
      for (int k = 0; k < r.ngrid; k++)
        fprintf(stderr, "parzen_val sigma=%.6g val_ll=%.4f%s\n", r.sigma_grid[k], r.val_ll[k],
                r.sigma_grid[k] == r.sigma ? " (chosen)" : "");
    printf("parzen_ll=%.2f parzen_se=%.2f sigma=%.4f n_samples=%d n_val=%d n_test=%d source=%s seconds=%.1f\n",
           r.parzen_ll, r.parzen_se, r.sigma, r.n_samples, r.n_val, r.n_test, r.source, r.seconds);
    printf("Parzen-window log-likelihood of %d samples%s on the %d MNIST test images: %.2f +- %.2f nats "
           "(sigma %.4f chosen on logspace(-1, 0, 10) by the mean log-likelihood of the first %d validation "
           "images, MNIST train[50000:60000]; Goodfellow et al. 2014 protocol%s%s%s).\n",
           r.n_samples, r.mapped_tanh ? " (mapped from [-1,1] to [0,1])" : "", r.n_test, r.parzen_ll, r.parzen_se,
           r.sigma, r.n_val, r.note[0] ? ", except: " : " followed", r.note, "");
  } else if (!strcmp(r.metric, "modes")) {
    printf("modes_captured=%d modes_total=%d high_quality=%.4f reverse_kl=%.4f n_samples=%d set=%s source=%s seconds=%.1f\n",
           r.modes_captured, r.modes_total, r.frac_hq, r.reverse_kl, r.n_samples, r.modes_set, r.source, r.seconds);
    printf("%s: %d of %d modes captured, %.1f%% of %d samples high quality (within 3 sigma of a mode mean), "
           "reverse KL to uniform %.4f nats (VEEGAN/PacGAN protocol%s%s).\n",
           r.modes_set, r.modes_captured, r.modes_total, 100.0 * r.frac_hq, r.n_samples, r.reverse_kl,
           r.note[0] ? ", except: " : " followed", r.note);
  } else {
    char acc[48] = "unknown";
    if (r.classifier_acc >= 0) snprintf(acc, sizeof acc, "%.2f%%", 100 * r.classifier_acc);
    const char *m = r.metric;
    if (!strncmp(m, "cacc-", 5)) {
      printf("%s=%.4f fid_class_mean=%.4f n_samples=%d n_real=%d source=%s seconds=%.1f\n", m, r.cacc, r.fid_class_mean,
             r.n_samples, r.n_real, r.source, r.seconds);
      printf("Conditional accuracy %.2f%%: the share of %d samples (sample i of class i mod %d) that ganforge's %s "
             "classifier (test accuracy %s) labels with their class; per-class FID in its feature space, each class's "
             "samples against that class's test images, mean %.4f.\n", 100 * r.cacc, r.n_samples, r.nclass,
             r.feature_set, acc, r.fid_class_mean);
      for (int k = 0; k < r.nclass; k++)
        printf("  class %d: accuracy %.2f%%  fid %.4f\n", k, 100 * r.cacc_class[k], r.fid_class[k]);
    } else if (!strncmp(m, "fid-", 4)) {
      printf("%s=%.4f n_samples=%d n_real=%d source=%s seconds=%.1f\n", m, r.fid, r.n_samples, r.n_real, r.source, r.seconds);
      printf("Frechet distance %.4f between %d samples and the %d %s test images in the feature space of ganforge's %s "
             "classifier (test accuracy %s; not Inception FID).\n", r.fid, r.n_samples, r.n_real, r.feature_set,
             r.feature_set, acc);
    } else if (!strncmp(m, "kid-", 4)) {
      printf("%s=%.6f %s_std=%.6f n_samples=%d n_real=%d source=%s seconds=%.1f\n", m, r.kid, m, r.kid_std, r.n_samples,
             r.n_real, r.source, r.seconds);
      printf("Kernel distance (unbiased MMD^2, cubic kernel, 100 subsets of 1,000) %.6f +- %.6f between %d samples and the "
             "%d %s test images in ganforge's %s classifier space (test accuracy %s; not Inception KID).\n", r.kid,
             r.kid_std, r.n_samples, r.n_real, r.feature_set, r.feature_set, acc);
    } else if (!strncmp(m, "pr-", 3)) {
      printf("precision=%.4f recall=%.4f k=3 metric=%s n_samples=%d n_real=%d source=%s seconds=%.1f\n", r.precision,
             r.recall, m, r.n_samples, r.n_real, r.source, r.seconds);
      printf("Precision %.1f%% (samples on the real feature manifold), recall %.1f%% (real images on the sample "
             "manifold), k-NN k = 3, in ganforge's %s classifier space (test accuracy %s).\n", 100 * r.precision,
             100 * r.recall, r.feature_set, acc);
    } else if (!strncmp(m, "score-", 6)) {
      printf("%s=%.4f %s_std=%.4f n_samples=%d source=%s seconds=%.1f\n", m, r.cscore, m, r.cscore_std, r.n_samples,
             r.source, r.seconds);
      printf("Classifier score %.4f +- %.4f (10 splits; the Inception-Score construction with ganforge's %s classifier, "
             "test accuracy %s; not an Inception Score).\n", r.cscore, r.cscore_std, r.feature_set, acc);
    } else {
      printf("stacked_modes=%d stacked_kl=%.4f n_samples=%d source=%s seconds=%.1f\n", r.stacked_modes, r.stacked_kl,
             r.n_samples, r.source, r.seconds);
      printf("Stacked MNIST: %d of 1000 digit triples hit by %d samples, KL to uniform %.4f nats (each channel classified "
             "by ganforge's MNIST classifier, test accuracy %s; VEEGAN/PacGAN protocol%s%s).\n", r.stacked_modes,
             r.n_samples, r.stacked_kl, acc, r.note[0] ? ", except: " : " followed", r.note);
      printf("Digit shares (%%) per channel, 0-9 (the channels' own KL to uniform add up to %.4f of the %.4f):\n",
             r.stacked_kl_channels, r.stacked_kl);
      for (int k = 0; k < 3; k++) {
        printf("  %c:", "RGB"[k]);
        for (int d = 0; d < 10; d++) printf(" %5.2f", 100 * r.stacked_digits[k][d]);
        printf("\n");
      }
    }
    if (r.note[0] && strcmp(m, "stacked-modes")) printf("note: %s\n", r.note);
  }
  return 0;
}
