/* main.c: the `ganforge` command-line tool: train, sample, interpolate, presets, bench, data. */
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "ganforge/ganforge.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

int gf_cli_eval(int argc, char **argv); /* eval_cmd.c */
int gf_cli_compress(int argc, char **argv); /* compress_cmd.c */
int gf_cli_export(int argc, char **argv); /* export_cmd.c */
int gf_cli_translate_npy(const char *run, const char *direction, const char *in, const char *out);

static int die(int status, const char *hint) {
  const char *msg = gf_last_error();
  if (gf_dist_size() > 1 && strncmp(msg, "rank ", 5))
    fprintf(stderr, "ganforge: rank %d: error: %s\n", gf_dist_rank(), msg[0] ? msg : gf_strerror(status));
  else fprintf(stderr, "ganforge: error: %s\n", msg[0] ? msg : gf_strerror(status));
  if (hint) fprintf(stderr, "hint: %s\n", hint);
  return status == GF_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "ganforge: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nhint: run 'ganforge %s --help'\n", cmd);
  return EXIT_USAGE;
}

/* Strict integer parse for flags. */
static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  if (!s || !*s) return -1;
  long v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static volatile int g_stop = 0;
/* In a data-parallel job the launcher ends every rank with SIGTERM when one fails or the job is
   cancelled: each rank says so once (write(2) is async-signal-safe), then stops. */
static char g_sig_msg[256];
static size_t g_sig_len;
static void on_signal(int sig) {
  if (g_sig_len && !g_stop) {
    ssize_t w = write(2, g_sig_msg, g_sig_len);
    (void)w;
  }
  (void)sig;
  g_stop = 1;
}

typedef struct progress_state {
  int tty, quiet;
  long every;
  double last;
} progress_state;

static int on_progress(const gf_progress *p, void *user) {
  progress_state *ps = user;
  if (ps->quiet) return 0;
  double eta = p->it_per_s > 0 ? (double)(p->steps_total - p->step) / p->it_per_s : 0;
  if (isnan(p->loss_g) && isnan(p->d_fake)) { /* a classifier run: loss and training accuracy */
    if (ps->tty) {
      if (p->seconds - ps->last < 0.1 && p->step != p->steps_total) return 0;
      ps->last = p->seconds;
      fprintf(stderr, "\repoch %d/%d  step %ld/%ld  %.1f it/s  ETA %02d:%02d  loss %.4f  train acc %.4f ", p->epoch,
              p->epochs, p->step, p->steps_total, p->it_per_s, (int)(eta / 60), (int)eta % 60, p->loss_d, p->d_real);
      fflush(stderr);
    } else if (p->step % ps->every == 0 || p->step == p->steps_total) {
      fprintf(stderr, "epoch %d/%d step %ld/%ld it/s %.1f eta_s %.0f loss %.4f train_acc %.4f\n", p->epoch, p->epochs,
              p->step, p->steps_total, p->it_per_s, eta, p->loss_d, p->d_real);
    }
    return 0;
  }
  if (ps->tty) {
    if (p->seconds - ps->last < 0.1 && p->step != p->steps_total) return 0;
    ps->last = p->seconds;
    fprintf(stderr, "\repoch %d/%d  step %ld/%ld  %.1f it/s  ETA %02d:%02d  loss_D %.4f  loss_G %.4f  D(x) %.3f  D(G(z)) %.3f ",
            p->epoch, p->epochs, p->step, p->steps_total, p->it_per_s, (int)(eta / 60), (int)eta % 60, p->loss_d,
            p->loss_g, p->d_real, p->d_fake);
    fflush(stderr);
  } else if (p->step % ps->every == 0 || p->step == p->steps_total) {
    fprintf(stderr, "epoch %d/%d step %ld/%ld it/s %.1f eta_s %.0f loss_D %.4f loss_G %.4f D(x) %.3f D(G(z)) %.3f\n",
            p->epoch, p->epochs, p->step, p->steps_total, p->it_per_s, eta, p->loss_d, p->loss_g, p->d_real, p->d_fake);
  }
  return 0;
}

static const char *TRAIN_HELP =
    "usage: ganforge train [PRESET] [options]\n"
    "\n"
    "Trains a GAN. PRESET defaults to demo-shapes (built-in data, no download).\n"
    "Run 'ganforge presets' for the list.\n"
    "\n"
    "options:\n"
    "  --data PATH        dataset folder or file (also $GANFORGE_DATA, the cache, download)\n"
    "  --out DIR          run folder (default runs/PRESET)\n"
    "  --epochs N         passes over the data (train.epochs; cyclegan/pix2pix: N/2 at the full rate\n"
    "                     then N/2 of linear decay, i.e. train.n_epochs and train.n_epochs_decay)\n"
    "  --batch N          minibatch size (train.batch)\n"
    "  --seed N           seed of every random stream (train.seed)\n"
    "  --device D         cpu | cuda | cuda:N (train.device)\n"
    "  --precision P      fp32 | bf16: bf16 runs GEMMs and convolutions in bfloat16 with float32 accumulation\n"
    "                     and float32 master weights (CUDA; train.precision)\n"
    "  --config FILE      read section.key = value lines\n"
    "  --set KEY=VALUE    override any config key (repeatable)\n"
    "  --resume RUN       continue a run folder (or a checkpoint file) exactly where it stopped\n"
    "  --quiet, -q        no progress output\n"
    "  --help-keys        list every config key with its default\n"
    "\n"
    "The run folder gets config.txt, log.csv, samples/epoch_NNN.png, checkpoints/, generator.safetensors,\n"
    "report.html and progress.gif. SIGINT/SIGTERM save a checkpoint and exit.\n"
    "Under mpirun (mpirun -np N ganforge train ...) every rank trains on its share of each batch\n"
    "(train.batch is the global batch) and rank 0 writes the run folder; see train.sync_bn and\n"
    "train.dist_timeout, and the README's \"Training on several processes and machines\".\n";

static int cmd_train(int argc, char **argv) {
  gf_config cfg;
  const char *preset = "demo-shapes", *out = NULL, *resume = NULL;
  char ckpt[2048], outbuf[2048];
  int quiet = 0, i = 1;
  if (i < argc && argv[i][0] != '-') preset = argv[i++];
  for (int k = 1; k + 1 < argc; k++)
    if (!strcmp(argv[k], "--resume")) resume = argv[k + 1];
  for (int k = 1; k < argc; k++)
    if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) { fputs(TRAIN_HELP, stdout); return 0; }
    else if (!strcmp(argv[k], "--help-keys")) {
      gf_config_defaults(&cfg);
      for (int j = 0; j < gf_config_nkeys(); j++) {
        char v[200];
        gf_config_get(&cfg, gf_config_key_name(j), v, sizeof v);
        printf("%-28s %-7s default %-16s %s\n", gf_config_key_name(j), gf_config_key_type(j), v, gf_config_key_help(j));
      }
      return 0;
    }
  int rc;
  if (resume) {
    if (i > 1) return usage_error("train", "give either a PRESET or --resume, not both%s", "");
    if ((rc = gf_checkpoint_config(resume, &cfg, ckpt, sizeof ckpt)) < 0)
      return die(rc, "--resume takes a run folder (with checkpoints/latest.safetensors) or a checkpoint file");
    /* the run folder: RUN for RUN/checkpoints/x.safetensors, else the file's folder */
    snprintf(outbuf, sizeof outbuf, "%s", ckpt);
    char *slash = strrchr(outbuf, '/');
    if (slash) *slash = 0; else snprintf(outbuf, sizeof outbuf, ".");
    size_t L = strlen(outbuf);
    if (L >= 11 && !strcmp(outbuf + L - 11, "checkpoints")) {
      outbuf[L - 11] = 0;
      if (L == 11) snprintf(outbuf, sizeof outbuf, ".");
      else if (outbuf[L - 12] == '/') outbuf[L - 12] = 0;
    }
    out = outbuf;
    preset = "resumed run";
  } else if ((rc = gf_preset_apply(&cfg, preset)) < 0) {
    return die(rc, "run 'ganforge presets' to list the presets");
  }
  for (; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    const char *key = NULL;
    if (!strcmp(a, "--data")) key = "data.path";
    else if (!strcmp(a, "--epochs")) key = "train.epochs";
    else if (!strcmp(a, "--batch")) key = "train.batch";
    else if (!strcmp(a, "--seed")) key = "train.seed";
    else if (!strcmp(a, "--device")) key = "train.device";
    else if (!strcmp(a, "--precision")) key = "train.precision";
    if (key) {
      if (!v) return usage_error("train", "%s needs a value", a);
      if (strcmp(key, "data.path") && strcmp(key, "train.device") && strcmp(key, "train.precision")) {
        long x;
        if (parse_int(v, -2147483647L, 2147483647L, &x)) {
          fprintf(stderr, "ganforge: error: %s '%s' is not an integer\nhint: run 'ganforge train --help'\n", a, v);
          return EXIT_USAGE;
        }
      }
      if ((rc = gf_config_set(&cfg, key, v)) < 0) return die(rc, NULL);
      if (!strcmp(key, "train.epochs") && cfg.train_epochs >= 0 &&
          (!strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix"))) {
        /* image-to-image schedules: half the epochs at the full rate, half decaying to 0 */
        cfg.train_n_epochs = (cfg.train_epochs + 1) / 2;
        cfg.train_n_epochs_decay = cfg.train_epochs / 2;
      }
      i++;
    } else if (!strcmp(a, "--out")) {
      if (!v) return usage_error("train", "%s needs a value", a);
      out = v;
      i++;
    } else if (!strcmp(a, "--set")) {
      if (!v) return usage_error("train", "%s needs KEY=VALUE", a);
      if ((rc = gf_config_set_kv(&cfg, v)) < 0) return die(rc, "run 'ganforge train --help-keys' to list the keys");
      i++;
    } else if (!strcmp(a, "--config")) {
      if (!v) return usage_error("train", "%s needs a file", a);
      if ((rc = gf_config_load(&cfg, v)) < 0) return die(rc, NULL);
      i++;
    } else if (!strcmp(a, "--resume")) {
      i++;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      quiet = 1;
    } else {
      return usage_error("train", "unknown option '%s'", a);
    }
  }
  if ((rc = gf_config_validate(&cfg)) < 0) {
    /* name the flag when a flag set the key */
    const char *m = gf_last_error();
    const char *flag = strstr(m, "train.epochs") ? "--epochs" : strstr(m, "train.batch") ? "--batch" : NULL;
    if (flag) {
      fprintf(stderr, "ganforge: error: %s: %s\nhint: run 'ganforge train --help'\n", flag, m);
      return EXIT_USAGE;
    }
    return die(rc, "run 'ganforge train --help-keys' to list the keys and their values");
  }
  if (!out) {
    snprintf(outbuf, sizeof outbuf, "runs/%s", preset);
    out = outbuf;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL); /* mpirun forwards it to every rank: a clean stop of a job */
  int rank = gf_dist_rank(), ranks = gf_dist_size();
  if (rank != 0) quiet = 1; /* rank 0 speaks for the job */
  if (ranks > 1)
    g_sig_len = (size_t)snprintf(g_sig_msg, sizeof g_sig_msg,
                                 "ganforge: rank %d: stopping on a signal (the launcher ends the job when a rank fails "
                                 "or is cancelled); checkpoints are written atomically: the last one in %s/checkpoints "
                                 "stays loadable\n", rank, out);
  if (g_sig_len >= sizeof g_sig_msg) g_sig_len = sizeof g_sig_msg - 1;
  /* the device first: without it, one line says why and nothing is written */
  char dev[64]; /* in a data-parallel job: this rank's GPU (cuda -> cuda:LOCAL_RANK) */
  if ((rc = gf_dist_device(cfg.train_device, dev, sizeof dev)) < 0 || (rc = gf_device_open(dev)) < 0) return die(rc, NULL);
  progress_state ps = {isatty(2), quiet, 100, -1};
  gf_train_opts opts = {out, on_progress, &ps, &g_stop, resume ? ckpt : NULL};
  if (!quiet) fprintf(stderr, "ganforge: %s %s on %s into %s\n", resume ? "resuming" : "training", resume ? ckpt : preset,
                      cfg.data_name, out);
  if (!quiet && ranks > 1) {
    /* train.threads, when set, wins over the per-rank default in OMP_NUM_THREADS (gf_train applies it) */
    char tn[16];
    const char *t = getenv("OMP_NUM_THREADS");
    if (cfg.train_threads > 0) snprintf(tn, sizeof tn, "%d", cfg.train_threads), t = tn;
    fprintf(stderr, "ganforge: data-parallel: %s, %s OpenMP thread(s) per rank, global batch %d (%d per rank), "
            "BatchNorm statistics %s\n", gf_dist_info(), t ? t : "default", cfg.train_batch, cfg.train_batch / ranks,
            cfg.train_sync_bn ? "over all ranks (train.sync_bn=1)" : "per rank (train.sync_bn=0)");
  }
  double t0 = 0;
  (void)t0;
  rc = gf_train(&cfg, &opts);
  if (ps.tty && !quiet) fputc('\n', stderr);
  if (rc < 0) {
    const char *hint = NULL;
    if (rc == GF_ENOENT || rc == GF_ENET)
      hint = "pass --data DIR, set GANFORGE_DATA, or run 'ganforge data fetch NAME' where there is network";
    return die(rc, hint);
  }
  if (g_stop) {
    if (!quiet) fprintf(stderr, "ganforge: stopped by signal; checkpoint saved: resume with 'ganforge train --resume %s'\n", out);
    return 130;
  }
  if (!quiet) {
    if (!strcmp(cfg.model_arch, "classifier")) {
      char line[256] = "", last[256] = "", p[2200];
      snprintf(p, sizeof p, "%s/accuracy.csv", out);
      FILE *f = fopen(p, "r");
      while (f && fgets(line, sizeof line, f)) snprintf(last, sizeof last, "%s", line);
      if (f) fclose(f);
      int ep = 0;
      double acc = 0;
      if (sscanf(last, "%d,%lf", &ep, &acc) == 2)
        fprintf(stderr, "ganforge: done: test accuracy %.2f%% after epoch %d; %s/classifier.safetensors, %s/accuracy.csv\n",
                100 * acc, ep, out, out);
      else
        fprintf(stderr, "ganforge: done: %s/classifier.safetensors\n", out);
    } else if (!strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix"))
      fprintf(stderr, "ganforge: done: %s/samples/, %s/log.csv, %s/%s.safetensors\n", out, out, out, cfg.model_arch);
    else
      fprintf(stderr, "ganforge: done: %s/report.html, %s/samples/, %s/generator.safetensors\n", out, out, out);
  }
  return 0;
}

static const char *SAMPLE_HELP =
    "usage: ganforge sample RUN [-n N] [-o|--out OUT.png|OUT.npy] [--npy OUT.npy] [--seed N] [--nrow N]\n"
    "                       [--upscale K] [--noise-out Z.npy] [--class K]\n"
    "\n"
    "Draws N samples (default 64) from a run folder, generator file or checkpoint.\n"
    "PNG: a grid (1-D sets: histogram, 2-D sets: scatter). NPY: raw float32 [N, C, H, W] for\n"
    "evaluation tools. --noise-out saves the latent vectors [N, nz] used.\n"
    "Conditional runs (model.cond): --class K draws class K only; without it a PNG holds one row\n"
    "per class and in an NPY sample i is of class i mod (number of classes).\n";

static const char *INTERP_HELP =
    "usage: ganforge interpolate RUN [--steps N] [--rows N] [-o|--out OUT.png] [--seed N] [--upscale K]\n"
    "\n"
    "Linear walks between random latent points: one row of N steps (default 10) per walk.\n";

static int cmd_sample_like(int argc, char **argv, int interp) {
  const char *cmd = interp ? "interpolate" : "sample";
  const char *run = NULL, *out = interp ? "interp.png" : "samples.png", *noise_out = NULL;
  long n = 64, seed = 1, nrow = 0, upscale = 1, steps = 10, rows = 8, klass = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long *target = NULL, lo = 1, hi = 100000;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(interp ? INTERP_HELP : SAMPLE_HELP, stdout); return 0; }
    if (!strcmp(a, "-n") && !interp) target = &n;
    else if (!strcmp(a, "--seed")) { target = &seed; lo = 0; hi = 2147483647L; }
    else if (!strcmp(a, "--nrow") && !interp) target = &nrow;
    else if (!strcmp(a, "--class") && !interp) { target = &klass; lo = 0; hi = 65535; }
    else if (!strcmp(a, "--upscale")) { target = &upscale; hi = 32; }
    else if (!strcmp(a, "--steps") && interp) { target = &steps; lo = 2; hi = 256; }
    else if (!strcmp(a, "--rows") && interp) { target = &rows; hi = 256; }
    else if ((!strcmp(a, "--npy") || !strcmp(a, "--noise-out")) && !interp) {
      if (!v) return usage_error(cmd, "%s needs a file name", a);
      if (!strcmp(a, "--npy")) {
        size_t L = strlen(v);
        if (L < 4 || strcmp(v + L - 4, ".npy")) return usage_error(cmd, "--npy %s: the file name must end in .npy", v);
        out = v;
      } else noise_out = v;
      i++;
      continue;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
      if (!v) return usage_error(cmd, "%s needs a file name", a);
      out = v;
      i++;
      continue;
    } else if (a[0] == '-') return usage_error(cmd, "unknown option '%s'", a);
    else if (!run) { run = a; continue; }
    else return usage_error(cmd, "unexpected argument '%s'", a);
    if (!v || parse_int(v, lo, hi, target)) {
      fprintf(stderr, "ganforge: error: %s needs an integer between %ld and %ld\nhint: run 'ganforge %s --help'\n", a, lo, hi, cmd);
      return EXIT_USAGE;
    }
    i++;
  }
  if (!run) return usage_error(cmd, "missing RUN (a run folder or generator file)%s", "");
  int rc = interp ? gf_interpolate(run, (int)rows, (int)steps, (uint64_t)seed, (int)upscale, out)
                  : gf_sample_class(run, (int)n, (uint64_t)seed, (int)nrow, (int)upscale, out, noise_out, (int)klass);
  if (rc < 0) return die(rc, NULL);
  printf("%s\n", out);
  return 0;
}

static int cmd_info(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help")) {
    puts("usage: ganforge info CHECKPOINT|RUN\n\nPrints architecture, parameter counts, step, epoch, config and file size.");
    return argc < 2 ? EXIT_USAGE : 0;
  }
  static char buf[65536];
  int rc = gf_info(argv[1], buf, sizeof buf);
  if (rc < 0) return die(rc, NULL);
  fputs(buf, stdout);
  return 0;
}

static const char *TRANSLATE_HELP =
    "usage: ganforge translate CHECKPOINT_OR_RUN --direction AtoB|BtoA INPUT... -o|--out OUTDIR\n"
    "\n"
    "Translates images (files, or folders searched recursively) with a trained cyclegan / pix2pix\n"
    "generator at their full resolution (ResNet: sides multiple of 4; U-Net: of 2^downsamplings),\n"
    "writing OUTDIR/<name>.png. AtoB uses G_A, BtoA G_B (pix2pix: its G, AtoB only).\n"
    "A float32 .npy batch [n, 3, h, w] in [-1, 1] as the one INPUT is translated into -o OUT.npy.\n";

static int cmd_translate(int argc, char **argv) {
  const char *ckpt = NULL, *dir = "AtoB", *out = NULL;
  const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  int n = 0;
  if (!inputs) return EXIT_RUNTIME;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(TRANSLATE_HELP, stdout); free(inputs); return 0; }
    if (!strcmp(a, "--direction") || !strcmp(a, "-o") || !strcmp(a, "--out")) {
      if (!v) { free(inputs); return usage_error("translate", "%s needs a value", a); }
      if (a[1] == '-' && a[2] == 'd') dir = v;
      else out = v;
      i++;
    } else if (a[0] == '-') {
      free(inputs);
      return usage_error("translate", "unknown option '%s'", a);
    } else if (!ckpt) ckpt = a;
    else inputs[n++] = a;
  }
  if (!ckpt || !n || !out) {
    free(inputs);
    return usage_error("translate", "%s", !ckpt ? "missing CHECKPOINT_OR_RUN" : !n ? "missing INPUT images" : "missing -o OUTDIR");
  }
  size_t L = strlen(inputs[0]);
  if (n == 1 && L > 4 && !strcmp(inputs[0] + L - 4, ".npy")) {
    int r = gf_cli_translate_npy(ckpt, dir, inputs[0], out);
    free(inputs);
    return r;
  }
  int rc = gf_translate(ckpt, dir, inputs, n, out);
  free(inputs);
  if (rc < 0) return die(rc, NULL);
  return 0;
}

/* presets [--keys K1,K2,...]: the list, or per preset its name and the values of the given keys
   (tab separated, e.g. the data each preset reads for tools/gpu/check.sh). */
static int cmd_presets(int argc, char **argv) {
  if (argc == 1) {
    for (int i = 0; i < gf_preset_count(); i++) printf("%-23s %s\n", gf_preset_name(i), gf_preset_help(i));
    return 0;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    puts("usage: ganforge presets [--keys KEY,KEY,...]\n\n"
         "Lists the presets; with --keys, one line per preset: its name, then KEY=VALUE for each key\n"
         "(tab separated), e.g. --keys data.name,model.arch.");
    return 0;
  }
  if (argc != 3 || strcmp(argv[1], "--keys"))
    return usage_error("presets", "usage: ganforge presets [--keys KEY,KEY,...]%s", "");
  gf_config cfg;
  char keys[1024], val[1024];
  gf_config_defaults(&cfg);
  snprintf(keys, sizeof keys, "%s", argv[2]);
  char *sv = NULL;
  for (char *k = strtok_r(keys, ",", &sv); k; k = strtok_r(NULL, ",", &sv)) /* every key known before any output */
    if (gf_config_get(&cfg, k, val, sizeof val) < 0) return die(GF_EUSAGE, "ganforge train --help-keys lists the keys");
  for (int i = 0; i < gf_preset_count(); i++) {
    int rc = gf_preset_apply(&cfg, gf_preset_name(i));
    if (rc < 0) return die(rc, NULL);
    printf("%s", gf_preset_name(i));
    snprintf(keys, sizeof keys, "%s", argv[2]);
    char *save = NULL;
    for (char *k = strtok_r(keys, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
      if ((rc = gf_config_get(&cfg, k, val, sizeof val)) < 0) return die(rc, "ganforge train --help-keys lists the keys");
      printf("\t%s=%s", k, val);
    }
    printf("\n");
  }
  return 0;
}

static int cmd_bench(int argc, char **argv) {
  const char *preset = "mlp-mnist";
  gf_config cfg;
  long batch = 0, steps = 50, warmup = 5;
  int i = 1, profile = 0;
  if (i < argc && !strcmp(argv[i], "--help")) {
    puts("usage: ganforge bench [PRESET] [--batch N] [--steps N] [--warmup N] [--device D] [--precision fp32|bf16]\n"
         "                      [--set K=V ...] [--profile]\n"
         "       ganforge bench --sgemm [--device D]   (the float32 matrix-multiply peak, 2048^3)\n\n"
         "Times the training step (k D-steps + 1 G-step) on random data after a warm-up and prints\n"
         "ms_per_step=... img_per_s=... gflops=...\n\n"
         "--profile  then runs the same steps again with the backend synchronised around every layer\n"
         "           pass and prints where the step's time goes: per layer of every network, ms per\n"
         "           step forward, backward and (gradient penalties) second-order, and the time\n"
         "           outside the layers (losses, optimizer updates). On a GPU the synchronisations\n"
         "           (and CUDA Graph replay off) make the profiled step slower than the timed one.");
    return 0;
  }
  if (i < argc && !strcmp(argv[i], "--sgemm")) {
    const char *dev = (i + 2 < argc && !strcmp(argv[i + 1], "--device")) ? argv[i + 2] : "cpu";
    double gf;
    int rc = gf_bench_sgemm(dev, 2048, 5, &gf);
    if (rc < 0) return die(rc, NULL);
    printf("sgemm device=%s n=2048 gflops=%.1f\n", dev, gf);
    return 0;
  }
  if (i < argc && argv[i][0] != '-') preset = argv[i++];
  int rc = gf_preset_apply(&cfg, preset);
  if (rc < 0) return die(rc, "run 'ganforge presets'");
  for (; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long *t = NULL;
    if (!strcmp(a, "--batch")) t = &batch;
    else if (!strcmp(a, "--steps")) t = &steps;
    else if (!strcmp(a, "--warmup")) t = &warmup;
    else if (!strcmp(a, "--device") && v) { if ((rc = gf_config_set(&cfg, "train.device", v)) < 0) return die(rc, NULL); i++; continue; }
    else if (!strcmp(a, "--precision") && v) { if ((rc = gf_config_set(&cfg, "train.precision", v)) < 0) return die(rc, NULL); i++; continue; }
    else if (!strcmp(a, "--set") && v) { if ((rc = gf_config_set_kv(&cfg, v)) < 0) return die(rc, NULL); i++; continue; }
    else if (!strcmp(a, "--profile")) { profile = 1; continue; }
    else return usage_error("bench", "unknown option '%s'", a);
    if (!v || parse_int(v, t == &warmup ? 0 : 1, 1000000, t)) return usage_error("bench", "%s needs a positive integer", a);
    i++;
  }
  if (batch) cfg.train_batch = (int)batch;
  char dev[64];
  if ((rc = gf_dist_device(cfg.train_device, dev, sizeof dev)) < 0 || (rc = gf_device_open(dev)) < 0) return die(rc, NULL);
  double ms, gflop;
  rc = gf_bench(&cfg, (int)warmup, (int)steps, &ms, &gflop);
  if (rc < 0) return die(rc, NULL);
  int rank0 = gf_dist_rank() == 0; /* rank 0 reports the job's step (the slowest rank's time) */
  if (rank0) {
    if (gf_dist_size() > 1) printf("ranks=%d ", gf_dist_size());
    printf("preset=%s device=%s batch=%d ms_per_step=%.3f img_per_s=%.1f gflop_per_step=%.3f gflops=%.1f\n", preset,
           cfg.train_device, cfg.train_batch, ms, cfg.train_batch * 1e3 / ms, gflop, gflop / (ms * 1e-3));
    fflush(stdout);
  }
  if (!profile) return 0;
  unsigned cap = 1u << 20; /* every rank takes the profiled steps (their collectives); rank 0 prints */
  char *report = malloc(cap);
  if (!report) return die(GF_ENOMEM, "out of memory for the profile");
  double pms;
  rc = gf_bench_profile(&cfg, (int)warmup, (int)steps, &pms, report, cap);
  if (rc < 0) {
    free(report);
    return die(rc, NULL);
  }
  if (rank0)
    printf("\nprofile of %s on %s, batch %d%s (profiled step %.3f ms, %.2fx the timed one)\n%s", preset, cfg.train_device,
           cfg.train_batch, gf_dist_size() > 1 ? ", rank 0's layers" : "", pms, pms / ms, report);
  free(report);
  return 0;
}

static int cmd_data(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help")) {
    printf("usage: ganforge data fetch NAME [--dir DIR]\n       ganforge data list\n\n"
           "Downloads a dataset with SHA-256 verification into DIR (default: the cache,\n"
           "${XDG_CACHE_HOME:-~/.cache}/ganforge/NAME). $GANFORGE_MIRROR replaces the download host.\n");
    return argc < 2 ? EXIT_USAGE : 0;
  }
  if (!strcmp(argv[1], "list")) {
    for (const char *const *n = gf__data_known(); *n; n++) puts(*n);
    return 0;
  }
  if (strcmp(argv[1], "fetch")) return usage_error("data", "unknown subcommand '%s'", argv[1]);
  if (argc < 3) return usage_error("data", "missing dataset NAME%s", "");
  const char *dir = NULL;
  char buf[2048];
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else return usage_error("data", "unknown option '%s'", argv[i]);
  }
  if (!dir) {
    const char *cache = getenv("GANFORGE_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (cache) snprintf(buf, sizeof buf, "%s/%s", cache, argv[2]);
    else if (xdg) snprintf(buf, sizeof buf, "%s/ganforge/%s", xdg, argv[2]);
    else snprintf(buf, sizeof buf, "%s/.cache/ganforge/%s", home ? home : ".", argv[2]);
    dir = buf;
  }
  int rc = gf__data_fetch(argv[2], dir);
  if (rc < 0) return die(rc, rc == GF_ENET ? "check the network or set GANFORGE_MIRROR; or copy the files into the folder yourself" : NULL);
  printf("%s\n", dir);
  return 0;
}

static const char *MAIN_HELP =
    "ganforge " GANFORGE_VERSION ": train Generative Adversarial Networks (C11; CPU, and NVIDIA GPUs: --device cuda)\n"
    "\n"
    "usage: ganforge COMMAND [options]   (ganforge COMMAND --help for details)\n"
    "\n"
    "commands:\n"
    "  train [PRESET]       train a GAN (default: demo-shapes, a DCGAN on built-in data)\n"
    "  sample RUN           draw samples from a trained run\n"
    "  interpolate RUN      latent-space walks from a trained run\n"
    "  info CHECKPOINT      describe a checkpoint or run\n"
    "  translate RUN ...    image-to-image translation with a cyclegan / pix2pix run\n"
    "  compress TEACHER     prune + distil an inception cyclegan / pix2pix generator (CAT)\n"
    "  export RUN           the generator as ONNX (--format onnx) or standalone C (--format c)\n"
    "  presets [--keys K]   list the presets (--keys K1,K2: each one's values of those config keys)\n"
    "  bench [PRESET]       time the training step\n"
    "  eval RUN|NPY|DIR     score samples: --metric parzen | modes | fid-SET | kid-SET | pr-SET |\n"
    "                       score-SET | cacc-SET | stacked-modes (SET: mnist | fashion-mnist | shapes)\n"
    "  data fetch NAME      download a dataset (checksummed); data list: the names\n"
    "  version              print the version\n";

int main(int argc, char **argv) {
  /* OpenMP threads that spin at barriers steal the CPU from the threads doing the work when other
     processes share the cores (measured 3-6x slower DCGAN steps with the default spin policy on a
     busy 2-core machine; sleeping costs some microseconds per parallel region). libgomp reads its
     settings when it is loaded,
     so set OMP_WAIT_POLICY=passive and run again (once; an explicit setting is kept). */
  int again = 0;
  if (!getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    again = 1;
  }
  /* A rank of a data-parallel job (mpirun) shares the host with the job's other ranks: without
     OMP_NUM_THREADS it takes the CPUs the launcher bound it to, or its share of the host's. */
  int threads = gf_dist_omp_threads();
  if (threads > 0 && !getenv("OMP_NUM_THREADS")) {
    char t[16];
    snprintf(t, sizeof t, "%d", threads);
    setenv("OMP_NUM_THREADS", t, 1);
    again = 1;
  }
  if (again) execv("/proc/self/exe", argv); /* returns only on failure: carry on as we are */
  if (argc < 2) {
    fputs(MAIN_HELP, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { fputs(MAIN_HELP, stdout); return 0; }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    const char *info = gf_backend_info("cpu");
    printf("ganforge %s\n%s\n%s\n", GANFORGE_VERSION, info ? info : "", gf_cuda_info());
    return 0;
  }
  if (!strcmp(cmd, "train") || !strcmp(cmd, "bench")) {
    /* under mpirun / srun: one rank of a data-parallel job (nothing happens otherwise) */
    int rc = gf_dist_init(&argc, &argv);
    if (rc < 0) return die(rc, NULL);
    int code = !strcmp(cmd, "train") ? cmd_train(argc - 1, argv + 1) : cmd_bench(argc - 1, argv + 1);
    /* a rank that failed ends the whole job (the others would wait for it) */
    gf_dist_finalize(code != 0 && code != 130);
    return code;
  }
  if (!strcmp(cmd, "sample")) return cmd_sample_like(argc - 1, argv + 1, 0);
  if (!strcmp(cmd, "interpolate")) return cmd_sample_like(argc - 1, argv + 1, 1);
  if (!strcmp(cmd, "presets")) return cmd_presets(argc - 1, argv + 1);
  if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
  if (!strcmp(cmd, "translate")) return cmd_translate(argc - 1, argv + 1);
  if (!strcmp(cmd, "compress")) return gf_cli_compress(argc - 1, argv + 1);
  if (!strcmp(cmd, "data")) return cmd_data(argc - 1, argv + 1);
  if (!strcmp(cmd, "eval")) return gf_cli_eval(argc - 1, argv + 1);
  if (!strcmp(cmd, "export")) return gf_cli_export(argc - 1, argv + 1);
  fprintf(stderr, "ganforge: error: unknown command '%s'\nhint: run 'ganforge --help'\n", cmd);
  return EXIT_USAGE;
}
