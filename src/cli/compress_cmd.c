/* compress_cmd.c: `ganforge compress`: prune a trained inception teacher to a MAC budget and distil
   the student (CAT, Jin et al. 2021; docs/compress.md). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ganforge/ganforge.h"

int gf_cli_compress(int argc, char **argv);

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

static const char *COMPRESS_HELP =
    "usage: ganforge compress TEACHER_RUN --macs N --out RUN [options]\n"
    "       ganforge compress --resume RUN\n"
    "\n"
    "CAT (Jin et al. 2021): prunes the A -> B generator of a cyclegan / pix2pix run whose generators have\n"
    "inception blocks (model.g_block=inception, e.g. 'ganforge train cat-teacher128') to a budget of\n"
    "multiply-adds, keeping the channels with the largest normalisation scales, then trains the student\n"
    "with its GAN loss, L1 to the teacher's output and kernel alignment with the teacher's activations\n"
    "(the teacher only runs forward). The run folder is a normal one: config.txt, log.csv, samples/\n"
    "(input | teacher | student), report.html, checkpoints/, compress.txt (MACs, parameters, widths,\n"
    "agreement with the teacher on DIR/testA), compare.png, and cyclegan.safetensors with the student\n"
    "as G_A: 'ganforge translate RUN --direction AtoB ...' and 'ganforge info RUN' work on it.\n"
    "\n"
    "options:\n"
    "  --macs N           the student's budget in multiply-adds per image at data.crop_size: 2.6G, 280M,\n"
    "                     4e8, or a share of the teacher's: 10%\n"
    "  --out DIR          run folder (default runs/compress)\n"
    "  --data DIR         training images (default: the teacher's data.path)\n"
    "  --epochs N         N/2 epochs at train.lr, then N/2 of linear decay (default: the teacher's schedule)\n"
    "  --batch N          minibatch (default 4: kernel alignment needs at least 2)\n"
    "  --seed N           seed of every random stream\n"
    "  --set KEY=VALUE    any config key, as for train (compress.lambda_distill, compress.lambda_recon,\n"
    "                     compress.init=pruned|scratch, compress.min_channels, ...)\n"
    "  --config FILE      read section.key = value lines\n"
    "  --resume RUN       continue a compress run exactly where it stopped\n"
    "  --quiet            no progress output\n";

static volatile int g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static int die(int status, const char *hint) {
  const char *msg = gf_last_error();
  fprintf(stderr, "ganforge: error: %s\n", msg[0] ? msg : gf_strerror(status));
  if (hint) fprintf(stderr, "hint: %s\n", hint);
  return status == GF_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

static int usage(const char *fmt, const char *arg) {
  fprintf(stderr, "ganforge: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nhint: run 'ganforge compress --help'\n");
  return EXIT_USAGE;
}

typedef struct prog { int tty, quiet; double last; } prog;

static int on_progress(const gf_progress *p, void *user) {
  prog *ps = user;
  if (ps->quiet) return 0;
  double eta = p->it_per_s > 0 ? (double)(p->steps_total - p->step) / p->it_per_s : 0;
  if (ps->tty) {
    if (p->seconds - ps->last < 0.1 && p->step != p->steps_total) return 0;
    ps->last = p->seconds;
    fprintf(stderr, "\repoch %d/%d  step %ld/%ld  %.2f it/s  ETA %02d:%02d:%02d  loss_D %.4f  loss_G %.4f  KA %.3f ", p->epoch,
            p->epochs, p->step, p->steps_total, p->it_per_s, (int)(eta / 3600), (int)eta / 60 % 60, (int)eta % 60, p->loss_d,
            p->loss_g, p->d_real);
    fflush(stderr);
  } else if (p->step % 50 == 0 || p->step == p->steps_total) {
    fprintf(stderr, "epoch %d/%d step %ld/%ld it/s %.2f eta_s %.0f loss_D %.4f loss_G %.4f ka %.3f\n", p->epoch, p->epochs,
            p->step, p->steps_total, p->it_per_s, eta, p->loss_d, p->loss_g, p->d_real);
  }
  return 0;
}

/* "2.6G", "280M", "4e8", "10%" (of the teacher's MACs at its crop size) -> multiply-adds. */
static int parse_macs(const char *s, const gf_config *tcfg, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || !(v > 0) || !isfinite(v)) return -1;
  double mul = 1;
  if (*end == 'G' || *end == 'g') mul = 1e9, end++;
  else if (*end == 'M' || *end == 'm') mul = 1e6, end++;
  else if (*end == 'K' || *end == 'k') mul = 1e3, end++;
  else if (*end == '%') {
    long long macs;
    long params;
    if (gf_generator_cost(tcfg, tcfg->data_crop_size, tcfg->data_crop_size, &macs, &params) < 0) return -1;
    mul = (double)macs / 100.0;
    end++;
  }
  if (*end) return -1;
  *out = v * mul;
  return 0;
}

int gf_cli_compress(int argc, char **argv) {
  const char *teacher = NULL, *out = NULL, *resume = NULL, *macs = NULL;
  int quiet = 0, rc;
  for (int k = 1; k < argc; k++)
    if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) { fputs(COMPRESS_HELP, stdout); return 0; }
  int i = 1;
  if (i < argc && argv[i][0] != '-') teacher = argv[i++];
  for (int k = i; k + 1 < argc; k++)
    if (!strcmp(argv[k], "--resume")) resume = argv[k + 1];
  gf_config cfg, tcfg;
  char ckpt[2048], outbuf[2048], tpath[2048];
  if (resume) {
    if (teacher) return usage("give either TEACHER_RUN or --resume, not both%s", "");
    if ((rc = gf_checkpoint_config(resume, &cfg, ckpt, sizeof ckpt)) < 0)
      return die(rc, "--resume takes a compress run folder (with checkpoints/latest.safetensors)");
    if (!cfg.compress_teacher[0] || !cfg.model_g_channels[0])
      return usage("%s is not a compress run (no compress.teacher / model.g_channels in its checkpoint): resume it with "
                   "'ganforge train --resume'", resume);
    snprintf(outbuf, sizeof outbuf, "%s", ckpt);
    char *slash = strrchr(outbuf, '/');
    if (slash) *slash = 0;
    else snprintf(outbuf, sizeof outbuf, ".");
    size_t L = strlen(outbuf);
    if (L >= 11 && !strcmp(outbuf + L - 11, "checkpoints")) {
      if (L == 11) snprintf(outbuf, sizeof outbuf, ".");
      else outbuf[L - 12] = 0;
    }
    out = outbuf;
    tcfg = cfg;
  } else {
    if (!teacher) return usage("missing TEACHER_RUN%s", "");
    if ((rc = gf_compress_teacher(teacher, tpath, sizeof tpath, &tcfg)) < 0) return die(rc, NULL);
    cfg = tcfg;
    /* the teacher's run settings that do not carry over to the student's */
    cfg.train_max_steps = 0;
    if (cfg.train_batch < 2) cfg.train_batch = 4;
    if (strlen(teacher) >= sizeof cfg.compress_teacher) return usage("teacher path '%s' is too long", teacher);
    snprintf(cfg.compress_teacher, sizeof cfg.compress_teacher, "%s", teacher);
  }
  for (; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    const char *key = NULL;
    if (!strcmp(a, "--data")) key = "data.path";
    else if (!strcmp(a, "--epochs")) key = "train.epochs";
    else if (!strcmp(a, "--batch")) key = "train.batch";
    else if (!strcmp(a, "--seed")) key = "train.seed";
    else if (!strcmp(a, "--device")) key = "train.device";
    if (key) {
      if (!v) return usage("%s needs a value", a);
      if ((rc = gf_config_set(&cfg, key, v)) < 0) {
        fprintf(stderr, "ganforge: error: %s: %s\nhint: run 'ganforge compress --help'\n", a, gf_last_error());
        return EXIT_USAGE;
      }
      if (!strcmp(key, "train.epochs")) {
        cfg.train_n_epochs = (cfg.train_epochs + 1) / 2;
        cfg.train_n_epochs_decay = cfg.train_epochs / 2;
      }
      i++;
    } else if (!strcmp(a, "--macs")) {
      if (!v) return usage("%s needs a value", a);
      if (resume) return usage("--macs is fixed when a run starts: it cannot change on --resume%s", "");
      macs = v;
      i++;
    } else if (!strcmp(a, "--out")) {
      if (!v) return usage("%s needs a value", a);
      if (resume) return usage("--resume continues in the run's own folder: no --out%s", "");
      out = v;
      i++;
    } else if (!strcmp(a, "--set")) {
      if (!v) return usage("%s needs KEY=VALUE", a);
      if ((rc = gf_config_set_kv(&cfg, v)) < 0) return die(rc, "run 'ganforge train --help-keys' to list the keys");
      i++;
    } else if (!strcmp(a, "--config")) {
      if (!v) return usage("%s needs a file", a);
      if ((rc = gf_config_load(&cfg, v)) < 0) return die(rc, NULL);
      i++;
    } else if (!strcmp(a, "--resume")) {
      i++;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      quiet = 1;
    } else {
      return usage("unknown option '%s'", a);
    }
  }
  if (!resume) {
    if (!macs) return usage("missing --macs N (the student's multiply-adds per image, e.g. 2.6G or 10%%)%s", "");
    if (parse_macs(macs, &tcfg, &cfg.compress_macs) < 0)
      return usage("--macs '%s' is not a positive number of multiply-adds (2.6G, 280M, 4e8, or 10%% of the teacher's)", macs);
  }
  if ((rc = gf_config_validate(&cfg)) < 0) return die(rc, "run 'ganforge train --help-keys' to list the keys and their values");
  if (!out) out = "runs/compress";
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  prog ps = {isatty(2), quiet, -1};
  gf_train_opts opts = {out, on_progress, &ps, &g_stop, resume ? ckpt : NULL};
  if (!quiet)
    fprintf(stderr, "ganforge: %s %s into %s\n", resume ? "resuming the distillation" : "compressing teacher",
            resume ? ckpt : teacher, out);
  rc = gf_compress(&cfg, &opts);
  if (ps.tty && !quiet) fputc('\n', stderr);
  if (rc < 0) return die(rc, NULL);
  if (g_stop) {
    if (!quiet) fprintf(stderr, "ganforge: stopped by signal; checkpoint saved: resume with 'ganforge compress --resume %s'\n", out);
    return 130;
  }
  if (!quiet) {
    const int pix = !strcmp(tcfg.model_arch, "pix2pix");
    fprintf(stderr, "ganforge: done: %s/compress.txt, %s/samples/, %s/%s.safetensors (the student as %s: ganforge translate %s "
            "--direction AtoB ...)\n", out, out, out, pix ? "pix2pix" : "cyclegan", pix ? "G" : "G_A", out);
  }
  return 0;
}
