/* train.c: the training driver (data, epochs, k D-steps per G-step, log, pictures, weights),
   sampling and interpolation from a run, and the step benchmark. */
#include <glob.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/images.h"
#include "ganforge/ganforge.h"
#include "eval/npyio.h"
#include "io/image.h"
#include "io/report.h"
#include "io/tboard.h"
#include "models/checkpoint.h"
#include "models/classifier.h"
#include "models/cond.h"
#include "models/cyclegan.h"
#include "models/dist_train.h"
#include "models/gan.h"
#include "models/weights.h"

static gf__scale scale_of(const gf_config *cfg) {
  return !strcmp(cfg->model_g_out, "sigmoid") ? GF_SCALE_UNIT : GF_SCALE_TANH;
}

/* Loads the dataset a config names (looking it up / downloading as needed). */
static int load_dataset(const gf_config *cfg, gf__dataset *ds) {
  const char *name = cfg->data_name;
  uint64_t seed = (uint64_t)cfg->train_seed;
  int n = cfg->data_n;
  memset(ds, 0, sizeof *ds);
  if (!strcmp(name, "gauss1d")) return gf__synth_gauss1d(ds, n, (float)cfg->data_mu, (float)cfg->data_sigma, seed);
  if (!strcmp(name, "ring8")) return gf__synth_ring8(ds, n, seed);
  if (!strcmp(name, "grid25")) return gf__synth_grid25(ds, n, seed);
  if (!strcmp(name, "shapes")) return gf__shapes_make(ds, n, cfg->data_size, seed, scale_of(cfg));
  int fail_bad = !strcmp(cfg->data_on_bad_image, "fail");
  /* data.n sizes the generated sets (and stacked-mnist's triples); a set read from files has its
     own count: say so instead of ignoring the setting quietly (10000: the key's default) */
  if (cfg->data_n != 10000 && strcmp(name, "stacked-mnist"))
    fprintf(stderr, "warning: data.n=%d is ignored: data.name=%s reads its files (data.limit=N takes the first N)\n",
            cfg->data_n, name);
  if (!strcmp(name, "folder")) {
    if (!cfg->data_path[0]) return gf__fail(GF_EUSAGE, "data.name=folder needs the image folder: --data DIR (or data.path)");
    return gf__imagefolder_load(ds, cfg->data_path, "folder", cfg->model_nc, cfg->model_size, scale_of(cfg), fail_bad,
                                cfg->data_limit, NULL);
  }
  char dir[2048];
  if (!strcmp(name, "stacked-mnist")) {
    /* built from the MNIST files, found like the mnist set; data.offset / data.limit pick the digit pool */
    int rc = gf__data_locate("mnist", cfg->data_path[0] ? cfg->data_path : NULL, cfg->data_download, dir, sizeof dir);
    if (rc < 0) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", gf_last_error());
      return gf__fail(rc, "stacked-mnist is built from the MNIST files: %s", msg);
    }
    return gf__stacked_mnist_load(ds, dir, strcmp(cfg->data_split, "test") != 0, scale_of(cfg), cfg->data_offset,
                                  cfg->data_limit, n, seed);
  }
  if (!strcmp(name, "cifar10") && cfg->data_path[0]) {
    /* an explicit batch file or folder of batches (gf__cifar10_load checks it) */
    snprintf(dir, sizeof dir, "%s", cfg->data_path);
  } else {
    GF_TRY(gf__data_locate(name, cfg->data_path[0] ? cfg->data_path : NULL, cfg->data_download, dir, sizeof dir));
  }
  if (!strcmp(name, "faces"))
    return gf__imagefolder_load(ds, dir, "faces", cfg->model_nc, cfg->model_size, scale_of(cfg), fail_bad, cfg->data_limit,
                                NULL);
  if (!strcmp(name, "cifar10")) {
    int split = !strcmp(cfg->data_split, "test") ? 1 : !strcmp(cfg->data_split, "all") ? 2 : 0;
    return gf__cifar10_load(ds, dir, split, cfg->model_nc, cfg->model_size, scale_of(cfg), cfg->data_offset, cfg->data_limit);
  }
  if (!strcmp(name, "digits")) {
    char path[2200];
    int is_file = strstr(dir, ".tra") || strstr(dir, ".tes");
    if (is_file) snprintf(path, sizeof path, "%s", dir);
    else snprintf(path, sizeof path, "%s/%s", dir, !strcmp(cfg->data_split, "test") ? "optdigits.tes" : "optdigits.tra");
    return gf__digits_load(ds, path, scale_of(cfg), cfg->data_limit);
  }
  /* mnist / fashion-mnist */
  int train = strcmp(cfg->data_split, "test") != 0;
  return gf__mnist_load(ds, dir, train, scale_of(cfg), cfg->data_offset, cfg->data_limit);
}

typedef struct picture_ctx {
  float *z;        /* fixed noise, backend memory [n, nz] */
  float *host;     /* [n, dim] */
  float *labels;   /* [n] host: the class of every sample of a conditional run, else NULL */
  int n, cols;     /* samples, samples per row */
} picture_ctx;

/* The epoch pictures' fixed noise and, for a conditional image run, a class grid: one row per
   class (class 0 at the top), the same noise down every column. Up to 50 classes, else (and for
   2-D points) train.grid samples with class i mod K. */
static int picture_setup(gf__gan *gan, const gf__dataset *ds, picture_ctx *pc, gf__rng *r) {
  const gf_config *c = &gan->cfg;
  int K = gan->G.nclass, grid = K && K <= 50 && !ds->nmodes;
  pc->cols = c->train_nrow;
  pc->n = grid ? K * pc->cols : c->train_grid;
  pc->z = gan->ops->alloc(sizeof(float) * (size_t)pc->n * c->model_nz);
  pc->host = malloc(sizeof(float) * (size_t)pc->n * gan->dim);
  pc->labels = K ? malloc(sizeof(float) * (size_t)pc->n) : NULL;
  if (!pc->z || !pc->host || (K && !pc->labels)) return gf__fail(GF_ENOMEM, "out of memory");
  if (!grid) {
    gf__gan_noise(gan, r, pc->z, pc->n);
    if (K) gf__cond_labels_host(pc->labels, pc->n, K, -1, 0);
    return 0;
  }
  gf__gan_noise(gan, r, pc->z, pc->cols);
  for (int k = 1; k < K; k++)
    gan->ops->copy(pc->z + (size_t)k * pc->cols * c->model_nz, pc->z, (size_t)pc->cols * c->model_nz);
  gf__cond_labels_host(pc->labels, pc->n, K, -1, pc->cols);
  return 0;
}

static int write_picture(gf__gan *gan, const gf__dataset *ds, picture_ctx *pc, const char *path) {
  /* with train.ema the picture shows the averaged generator, as generator.safetensors holds it */
  GF_TRY(gf__gan_ema_enter(gan));
  int rc = gf__gan_sample_labeled(gan, pc->z, pc->labels, pc->n, pc->host);
  gf__gan_ema_leave(gan);
  GF_TRY(rc);
  const gf_config *c = &gan->cfg;
  if (ds->nmodes && ds->c == 1) {
    char title[96];
    snprintf(title, sizeof title, "gauss1d epoch %d", gan->epoch);
    return gf__plot_hist_png(path, pc->host, pc->n, ds->modes[0], ds->mode_sigma, title);
  }
  if (ds->nmodes && ds->c == 2) {
    char title[96];
    snprintf(title, sizeof title, "%s epoch %d", ds->name, gan->epoch);
    float lim = ds->nmodes == 8 ? 1.6f : 6.0f;
    return gf__plot_scatter_png(path, pc->host, pc->n, ds->modes, ds->nmodes, lim, title);
  }
  float lo = scale_of(c) == GF_SCALE_UNIT ? 0.0f : -1.0f;
  int up = ds->h <= 16 ? 4 : ds->h <= 32 ? 2 : 1;
  return gf__grid_write_png(path, pc->host, pc->n, ds->c, ds->h, ds->w, pc->cols, lo, 1.0f, up);
}

static int save_generator(gf__gan *gan, const char *dir) {
  char path[2200];
  snprintf(path, sizeof path, "%s/generator.safetensors", dir);
  gf__net *nets[1] = {&gan->G};
  char steps[32];
  snprintf(steps, sizeof steps, "%ld", gan->g_steps);
  const char *meta[] = {"g_steps", steps, "weights", "ema"};
  /* with train.ema the file holds the averaged weights and their BatchNorm statistics */
  GF_TRY(gf__gan_ema_enter(gan));
  int rc = gf__weights_save(path, nets, 1, &gan->cfg, meta, gan->g_ema ? 2 : 1);
  gf__gan_ema_leave(gan);
  return rc;
}

/* Writes checkpoints/step_N.safetensors, points latest at it (hard link, atomic rename) and
   removes step checkpoints beyond the last `keep`. */
typedef struct gan_ckpt {
  gf__gan *gan;
  const gf__data_pos *pos;
} gan_ckpt;

static int gan_ckpt_save(const char *path, void *u) {
  gan_ckpt *c = u;
  return gf__checkpoint_save(path, c->gan, c->pos);
}

static int save_checkpoint(gf__gan *gan, const gf__data_pos *pos, const char *dir, int keep) {
  gan_ckpt c = {gan, pos};
  return gf__checkpoint_save_step(dir, gan->g_steps, keep, gan_ckpt_save, &c);
}


/* log.csv read by column name, for the report charts. */
#define LOG_MAXCOL 16
typedef struct log_cols {
  int n, ncol;
  char name[LOG_MAXCOL][32];
  double *col[LOG_MAXCOL];
  double *mem;
} log_cols;

static const double *log_col(const log_cols *L, const char *name) {
  for (int c = 0; c < L->ncol; c++)
    if (!strcmp(L->name[c], name)) return L->col[c];
  return NULL;
}

static void log_read(const char *path, log_cols *L) {
  memset(L, 0, sizeof *L);
  char *text;
  size_t len;
  if (gf__read_file(path, &text, &len) < 0) return;
  int rows = 0;
  for (size_t i = 0; i < len; i++) rows += text[i] == '\n';
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  if (!line) { free(text); return; }
  /* header */
  char *hs = NULL;
  for (char *h = strtok_r(line, ",", &hs); h && L->ncol < LOG_MAXCOL; h = strtok_r(NULL, ",", &hs))
    snprintf(L->name[L->ncol++], sizeof L->name[0], "%s", h);
  L->mem = calloc((size_t)rows * L->ncol + 1, sizeof(double));
  if (!L->mem) { free(text); L->ncol = 0; return; }
  for (int c = 0; c < L->ncol; c++) L->col[c] = L->mem + (size_t)c * rows;
  for (line = strtok_r(NULL, "\n", &save); line && L->n < rows; line = strtok_r(NULL, "\n", &save)) {
    char *p = line;
    int c = 0;
    for (; c < L->ncol; c++) {
      char *end;
      L->col[c][L->n] = strtod(p, &end);
      if (end == p) break;
      p = *end == ',' ? end + 1 : end;
    }
    if (c == L->ncol) L->n++;
  }
  free(text);
}

static const char *const chart_colors[4] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"};

int gf__write_run_report(const char *dir, const gf_config *cfg, const char *title, int epoch, double secs,
                         const char *const *charts, const char *images_title) {
  char path[2200], pattern[2200], gif[2200];
  snprintf(path, sizeof path, "%s/log.csv", dir);
  log_cols L;
  log_read(path, &L);
  snprintf(pattern, sizeof pattern, "%s/samples/epoch_*.png", dir);
  glob_t g;
  memset(&g, 0, sizeof g);
  glob(pattern, 0, NULL, &g);
  int rc = 0;
  snprintf(gif, sizeof gif, "%s/progress.gif", dir);
  if (g.gl_pathc > 0) rc = gf__gif_from_pngs(gif, (const char *const *)g.gl_pathv, (int)g.gl_pathc, 50);
  char **caps = calloc(g.gl_pathc + 1, sizeof *caps);
  for (size_t i = 0; caps && i < g.gl_pathc; i++) {
    caps[i] = malloc(32);
    if (caps[i]) snprintf(caps[i], 32, "epoch %zu", i + 1);
  }
  char *cfg_text = gf_config_to_text(cfg);
  const double *step = log_col(&L, "step"), *sec = log_col(&L, "seconds");
  double last_step = L.n && step ? step[L.n - 1] : 0, last_sec = L.n && sec ? sec[L.n - 1] : secs;
  int epochs = cfg->train_epochs;
  if (!strcmp(cfg->model_arch, "cyclegan") || !strcmp(cfg->model_arch, "pix2pix"))
    epochs = cfg->train_n_epochs + cfg->train_n_epochs_decay;
  char summary[1024];
  snprintf(summary, sizeof summary,
           "<tr><td>epochs done</td><td>%d of %d</td></tr><tr><td>steps</td><td>%.0f</td></tr>"
           "<tr><td>training time</td><td>%.1f s</td></tr><tr><td>steps per second</td><td>%.2f</td></tr>"
           "<tr><td>batch</td><td>%d</td></tr><tr><td>data</td><td>%s</td></tr>",
           epoch, epochs, last_step, last_sec, last_sec > 0 ? last_step / last_sec : 0.0, cfg->train_batch,
           cfg->data_name);
  gf__report r;
  memset(&r, 0, sizeof r);
  r.title = title;
  r.config_text = cfg_text ? cfg_text : "";
  r.summary_html = summary;
  /* charts: "Title|col1,col2,..." over log.csv, or "Title@file.csv|col,..." over another CSV of
     the run folder (with its own step column; one such file per report) */
  char specs[6][256];
  log_cols L2;
  memset(&L2, 0, sizeof L2);
  char l2name[256] = "";
  for (int k = 0; charts && charts[k] && r.ncharts < 6; k++) {
    snprintf(specs[k], sizeof specs[k], "%s", charts[k]);
    char *bar = strchr(specs[k], '|');
    if (!bar) continue;
    *bar = 0;
    const log_cols *src = &L;
    char *at = strchr(specs[k], '@');
    if (at) {
      *at = 0;
      if (!l2name[0]) {
        snprintf(l2name, sizeof l2name, "%s", at + 1);
        snprintf(path, sizeof path, "%s/%s", dir, l2name);
        log_read(path, &L2);
      }
      if (strcmp(l2name, at + 1)) continue;
      src = &L2;
    }
    gf__chart *ch = &r.charts[r.ncharts];
    ch->title = specs[k];
    ch->x = log_col(src, "step");
    ch->n = ch->x ? src->n : 0;
    char *cs = NULL;
    for (char *col = strtok_r(bar + 1, ",", &cs); col && ch->ns < 4; col = strtok_r(NULL, ",", &cs)) {
      const double *y = log_col(src, col);
      if (!y) continue;
      ch->s[ch->ns] = (gf__series){col, chart_colors[ch->ns], y};
      ch->ns++;
    }
    if (ch->ns) r.ncharts++;
  }
  r.images = (const char *const *)g.gl_pathv;
  r.captions = (const char *const *)caps;
  r.nimages = (int)g.gl_pathc;
  r.images_title = images_title;
  r.gif_path = (rc == 0 && g.gl_pathc > 0) ? gif : NULL;
  if (rc == GF_ENOSYS) rc = 0;
  snprintf(path, sizeof path, "%s/report.html", dir);
  if (rc == 0) rc = gf__report_write(path, &r);
  for (size_t i = 0; caps && i < g.gl_pathc; i++) free(caps[i]);
  free(caps);
  free(cfg_text);
  free(L.mem);
  free(L2.mem);
  globfree(&g);
  return rc;
}

/* Column names of the metric's value and companion number in metrics.csv. */
static void metric_names(const char *m, char *vname, char *aname) {
  const char *v = m, *a = "aux";
  if (!strcmp(m, "parzen")) v = "parzen_ll", a = "parzen_se";
  else if (!strcmp(m, "modes")) v = "modes_captured", a = "high_quality";
  else if (!strncmp(m, "fid-", 4)) a = "n_samples";
  else if (!strncmp(m, "kid-", 4)) a = "kid_std";
  else if (!strncmp(m, "pr-", 3)) v = "precision", a = "recall";
  else if (!strncmp(m, "score-", 6)) a = "score_std";
  else if (!strncmp(m, "cacc-", 5)) v = "cacc", a = "fid_class_mean";
  else if (!strcmp(m, "stacked-modes")) v = "stacked_modes", a = "stacked_kl";
  snprintf(vname, 32, "%s", v);
  snprintf(aname, 32, "%s", a);
}

static int write_report(const char *dir, const gf_config *cfg, const char *title, int epoch, double secs) {
  /* the critic losses' columns (wasserstein, penalty) exist only in their runs' logs: a chart
     without any of its columns is left out */
  static const char *const charts[] = {"Losses|loss_D,loss_G", "Discriminator outputs|D_x,D_G_z",
                                       "Wasserstein estimate E[D(x)] - E[D(G(z))]|wasserstein",
                                       "Gradient penalty, and the mean norm of grad_x D|penalty,grad_norm", NULL};
  const char *images = strcmp(cfg->model_cond, "none") && gf__cond_classes(cfg) <= 50
                           ? "Class grid, every epoch: one row per class (class 0 at the top), fixed noise per column"
                           : "Fixed-noise samples, every epoch";
  if (!cfg->train_eval_metric[0])
    return gf__write_run_report(dir, cfg, title, epoch, secs, charts, images);
  char spec[256], vname[32], aname[32];
  metric_names(cfg->train_eval_metric, vname, aname);
  snprintf(spec, sizeof spec, "Metric %.40s every %d epoch(s), best kept as best.safetensors@metrics.csv|%s%s%s",
           cfg->train_eval_metric, cfg->train_eval_every, vname, strcmp(vname, "precision") ? "" : ",",
           strcmp(vname, "precision") ? "" : aname);
  const char *const with_metric[] = {charts[0], charts[1], charts[2], charts[3], spec, NULL};
  return gf__write_run_report(dir, cfg, title, epoch, secs, with_metric, images);
}

/* ---- metrics during training (train.eval_metric every train.eval_every epochs) -------------- */

typedef struct eval_state {
  int on;
  double best;          /* best score so far (higher is better; -inf: none) */
  int best_epoch;
} eval_state;

/* The metric's value, its companion number, and a score where higher is better. */
static void metric_numbers(const gf_eval_result *r, double *value, double *aux, double *score) {
  const char *m = r->metric;
  if (!strcmp(m, "parzen")) *value = r->parzen_ll, *aux = r->parzen_se, *score = r->parzen_ll;
  else if (!strcmp(m, "modes")) *value = r->modes_captured, *aux = r->frac_hq, *score = r->modes_captured + r->frac_hq;
  else if (!strncmp(m, "fid-", 4)) *value = r->fid, *aux = r->n_samples, *score = -r->fid;
  else if (!strncmp(m, "kid-", 4)) *value = r->kid, *aux = r->kid_std, *score = -r->kid;
  else if (!strncmp(m, "pr-", 3)) {
    *value = r->precision, *aux = r->recall;
    *score = r->precision + r->recall > 0 ? 2 * r->precision * r->recall / (r->precision + r->recall) : 0;
  } else if (!strncmp(m, "score-", 6)) *value = r->cscore, *aux = r->cscore_std, *score = r->cscore;
  else if (!strncmp(m, "cacc-", 5)) *value = r->cacc, *aux = r->fid_class_mean, *score = r->cacc;
  else *value = r->stacked_modes, *aux = r->stacked_kl, *score = r->stacked_modes - r->stacked_kl / 100.0;
}

/* Restores the best score of a resumed run from RUN/metrics.csv. */
static void eval_state_init(eval_state *es, const gf_config *cfg, const char *dir, int resume, long step) {
  memset(es, 0, sizeof *es);
  es->on = cfg->train_eval_metric[0] != 0;
  es->best = -INFINITY;
  if (!es->on || !resume) return;
  char path[2200];
  snprintf(path, sizeof path, "%s/metrics.csv", dir);
  log_cols L;
  log_read(path, &L);
  const double *sc = log_col(&L, "score"), *ep = log_col(&L, "epoch"), *st = log_col(&L, "step");
  for (int i = 0; sc && ep && st && i < L.n; i++)
    if (st[i] <= (double)step && sc[i] > es->best) es->best = sc[i], es->best_epoch = (int)ep[i];
  free(L.mem);
}

/* Scores RUN/generator.safetensors, appends to RUN/metrics.csv, and keeps the checkpoint just
   written as RUN/best.safetensors when it is the best so far. */
static int eval_during_training(eval_state *es, const gf_config *cfg, const char *dir, int epoch, long step, double secs,
                                gf__tb *tb) {
  gf_eval_opts o;
  memset(&o, 0, sizeof o);
  o.metric = cfg->train_eval_metric;
  o.n = cfg->train_eval_n;
  o.seed = 1;
  o.classifier = cfg->train_eval_classifier[0] ? cfg->train_eval_classifier : NULL;
  gf_eval_result r;
  char msg[600];
  int rc = gf_eval(dir, &o, &r);
  if (rc < 0) {
    snprintf(msg, sizeof msg, "%s", gf_last_error());
    return gf__fail(rc, "train.eval_metric %s at epoch %d: %s", o.metric, epoch, msg);
  }
  double value, aux, score;
  metric_numbers(&r, &value, &aux, &score);
  char path[2200], best[2200], latest[2200];
  snprintf(path, sizeof path, "%s/metrics.csv", dir);
  /* rewritten with the rows of earlier steps (a resumed run drops rows of an abandoned future) */
  char header[200], vname[32], aname[32];
  metric_names(o.metric, vname, aname);
  snprintf(header, sizeof header, "step,epoch,%s,%s,score,eval_seconds,seconds\n", vname, aname);
  FILE *f = gf__run_log_open(path, header, 1, step - 1);
  if (!f) return GF_EIO;
  fprintf(f, "%ld,%d,%.6g,%.6g,%.6g,%.2f,%.2f\n", step, epoch, value, aux, score, r.seconds, secs);
  rc = gf__log_flush(f, path);
  fclose(f);
  GF_TRY(rc);
  double tv[3] = {value, aux, score};
  char tnames[80];
  snprintf(tnames, sizeof tnames, "%s,%s,score", vname, aname);
  GF_TRY(gf__tb_scalars(tb, step, tnames, tv, 3));
  if (score > es->best) {
    es->best = score;
    es->best_epoch = epoch;
    snprintf(latest, sizeof latest, "%s/checkpoints/latest.safetensors", dir);
    snprintf(best, sizeof best, "%s/best.safetensors", dir);
    if (gf__link_replace(latest, best) != 0) {
      char *data;
      size_t len;
      GF_TRY(gf__read_file(latest, &data, &len));
      rc = gf__write_file_atomic(best, data, len);
      free(data);
      GF_TRY(rc);
    }
  }
  return 0;
}

/* The end of an epoch on the writing rank: a run stopped inside it at train.max_steps gets its
   picture (the step checkpoint holds its position); a complete epoch gets its picture, the
   generator, the checkpoint at the next epoch's start (which becomes *pos), the metric and the
   report. */
static int epoch_outputs(gf__gan *gan, const gf__dataset *ds, picture_ctx *pc, eval_state *es, const gf_config *cfg,
                         const char *out, const char *title, int epoch, int nb, uint64_t next_counter, double t0,
                         gf__data_pos *pos, gf__tb *tb) {
  char path[2200];
  snprintf(path, sizeof path, "%s/samples/epoch_%03d.png", out, epoch);
  if (pos->batch < nb) {
    /* stopped inside the epoch (the checkpoint written at the stop holds the position); a run that
       ends at train.max_steps still gets its picture */
    if (cfg->train_max_steps && gan->g_steps >= cfg->train_max_steps) {
      GF_TRY(write_picture(gan, ds, pc, path));
      GF_TRY(gf__tb_image_png(tb, gan->g_steps, "samples", path));
      if (es->on) GF_TRY(eval_during_training(es, cfg, out, epoch, gan->g_steps, gf__now() - t0, tb));
      if (cfg->train_report) return write_report(out, cfg, title, epoch, gf__now() - t0);
    }
    return 0;
  }
  /* epoch complete: its picture, weights, checkpoint at the start of the next epoch, report */
  GF_TRY(write_picture(gan, ds, pc, path));
  GF_TRY(gf__tb_image_png(tb, gan->g_steps, "samples", path));
  GF_TRY(save_generator(gan, out));
  gf__data_pos next = {epoch + 1, 0, next_counter, gf__now() - t0};
  GF_TRY(save_checkpoint(gan, &next, out, cfg->train_keep));
  *pos = next;
  if (es->on && (epoch % cfg->train_eval_every == 0 || epoch == cfg->train_epochs ||
                 (cfg->train_max_steps && gan->g_steps >= cfg->train_max_steps)))
    GF_TRY(eval_during_training(es, cfg, out, epoch, gan->g_steps, next.seconds, tb));
  if (cfg->train_report) GF_TRY(write_report(out, cfg, title, epoch, next.seconds));
  return 0;
}

int gf_checkpoint_config(const char *run, gf_config *cfg, char *ckpt_out, unsigned cap) {
  GF_TRY(gf__checkpoint_resolve(run, ckpt_out, cap));
  return gf__checkpoint_read_config(ckpt_out, cfg);
}

/* CPU threads for the rest of the process: train.threads when set (tiny models run fastest on one:
   a parallel region costs more than their layers' work); else $OMP_NUM_THREADS; else, for a rank of
   a data-parallel job, its share of the host (gf_dist_omp_threads: the CLI puts it in
   OMP_NUM_THREADS before OpenMP starts, this covers library callers); else every core. */
static void apply_threads(const gf_config *cfg) {
  int t = cfg->train_threads;
  if (t <= 0 && !getenv("OMP_NUM_THREADS")) t = gf_dist_omp_threads();
  if (t > 0) omp_set_num_threads(t);
}

int gf_train(const gf_config *cfg_in, const gf_train_opts *opts) {
  gf_config cfg = *cfg_in;
  GF_TRY(gf_config_validate(&cfg));
  apply_threads(&cfg);
  if (!strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix")) return gf__train_i2i(&cfg, opts);
  /* data-parallel (mpirun): every rank trains a replica on its rows of each global batch of
     train.batch; rank 0 alone writes the run folder */
  gf__dist *dist = gf__dist_world();
  int writer = gf__dist_rank(dist) == 0, row0, Bl;
  if (!strcmp(cfg.model_arch, "classifier")) {
    if (dist) return gf__fail(GF_EUSAGE, "the classifier trains in one process (run it without mpirun)");
    return gf__train_classifier(&cfg, opts);
  }
  GF_TRY(gf__critic_preflight(&cfg)); /* bad loss combinations: refused before the run folder exists */
  GF_TRY(gf__dist_split(dist, cfg.train_batch, cfg.model_pack, &row0, &Bl));
  const gf__ops *ops;
  GF_TRY(gf__dist_train_begin(dist, &cfg, &ops, opts ? opts->stop_flag : NULL));
  const char *out = opts && opts->out_dir ? opts->out_dir : "runs/latest";
  const char *resume = opts ? opts->resume : NULL;
  char path[2200];
  if (writer) GF_TRY(gf__run_dir_prepare(out));

  gf__dataset ds;
  int rc = load_dataset(&cfg, &ds);
  if (rc < 0) return rc;
  int B = cfg.train_batch;
  if (ds.n < B) {
    gf__fail_small_dataset(&cfg, &ds, B);
    gf__dataset_free(&ds);
    return GF_EUSAGE;
  }
  long dim = gf__dataset_dim(&ds);
  if ((rc = gf__cond_prepare(&cfg, &ds)) < 0) { /* model.cond: labels needed; model.n_classes from the set */
    gf__dataset_free(&ds);
    return rc;
  }
  float *marg = NULL;
  if (cfg.model_g_out_bias_marginals) {
    marg = calloc((size_t)dim, sizeof(float));
    if (marg) {
      for (int i = 0; i < ds.n; i++)
        for (long j = 0; j < dim; j++) marg[j] += ds.x[(size_t)i * dim + j];
      for (long j = 0; j < dim; j++) marg[j] /= (float)ds.n;
    }
  }
  gf__gan gan;
  rc = gf__gan_create(&gan, &cfg, ops, ds.c, ds.h, ds.w, Bl, marg);
  free(marg);
  if (rc < 0) { gf__dataset_free(&ds); return rc; }
  if ((rc = gf__gan_distribute(&gan, dist, B, row0, cfg.train_sync_bn)) < 0) {
    gf__gan_destroy(&gan);
    gf__dataset_free(&ds);
    return rc;
  }

  FILE *log = NULL;
  gf__tb *tb = NULL; /* train.tensorboard */
  gf__prefetch *pf = NULL;
  gf__batch_seq seq;
  memset(&seq, 0, sizeof seq);
  const float *xdev = NULL; /* the dataset in backend memory (NULL: batches prefetched on the host) */
  const float *ldev = NULL; /* model.cond: its labels in backend memory (with xdev) */
  float *lab_host = NULL;   /*   the labels as floats (host) */
  int32_t *idx_host = malloc(sizeof(int32_t) * (size_t)B), *idx_dev = ops->alloc(sizeof(int32_t) * (size_t)B);
  picture_ctx pc = {0};
  gf__data_pos pos = {1, 0, 0, 0.0};
  eval_state es;
  memset(&es, 0, sizeof es);
  if (cfg.train_eval_metric[0] && !gf_eval_metric_known(cfg.train_eval_metric)) {
    gf__gan_destroy(&gan);
    gf__dataset_free(&ds);
    return gf__fail(GF_EUSAGE, "train.eval_metric=%s: unknown metric (see 'ganforge eval --help')", cfg.train_eval_metric);
  }
  gf__rng r_sample;
  gf__rng_init(&r_sample, (uint64_t)cfg.train_seed, GF_STREAM_SAMPLE);
  if ((rc = picture_setup(&gan, &ds, &pc, &r_sample)) < 0) goto done;
  if (!idx_host || !idx_dev) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
  /* a job resumes from rank 0's reading of the checkpoint; fresh replicas start from rank 0's weights */
  if (writer && resume && (rc = gf__checkpoint_load(resume, &gan, &pos)) < 0) goto done;
  if ((rc = gf__gan_bcast_state(&gan, &pos, dist)) < 0) goto done;
  eval_state_init(&es, &cfg, out, resume != NULL, gan.g_steps);
  char logpath[2200];
  snprintf(logpath, sizeof logpath, "%s/log.csv", out);
  if (writer) {
    snprintf(path, sizeof path, "%s/config.txt", out);
    if ((rc = gf_config_save(&cfg, path)) < 0) goto done;
    char header[160];
    snprintf(header, sizeof header, "step,epoch,loss_D,loss_G,D_x,D_G_z,seconds%s\n", gf__critic_log_columns(&cfg));
    log = gf__run_log_open(logpath, header, resume != NULL, gan.g_steps);
    if (!log) { rc = GF_EIO; goto done; }
    if (cfg.train_tensorboard && (rc = gf__tb_open(&tb, out)) < 0) goto done;
  }
  /* batches (permutation of the data stream, flips) from the resumed position if any: gathered in
     backend memory from the resident dataset when it fits (the CPU uses the host copy as it is),
     else assembled on a host thread and uploaded; both give the same batches. A conditional
     run's labels take the same path: gathered from a resident copy with the same indices, or
     prefetched with the batch */
  gf__batch_info from = {pos.epoch, pos.batch, pos.data_counter, 0};
  xdev = ops->upload_const(ds.x, sizeof(float) * (size_t)ds.n * dim);
  if (xdev && gan.cond) {
    lab_host = malloc(sizeof(float) * (size_t)ds.n);
    if (!lab_host) { rc = gf__fail(GF_ENOMEM, "out of memory for the labels"); goto done; }
    for (int i = 0; i < ds.n; i++) lab_host[i] = (float)ds.labels[i];
    ldev = ops->upload_const(lab_host, sizeof(float) * (size_t)ds.n);
    if (!ldev) { /* then both from the host */
      ops->release_const(xdev);
      xdev = NULL;
    }
  }
  if (xdev) rc = gf__batch_seq_init(&seq, ds.n, B, cfg.train_epochs, (uint64_t)cfg.train_seed, cfg.data_flip,
                                    resume ? &from : NULL);
  else rc = gf__prefetch_start(&pf, &ds, B, cfg.train_epochs, (uint64_t)cfg.train_seed, cfg.data_flip,
                               resume ? &from : NULL);
  if (rc < 0) goto done;
  uint64_t next_counter = pos.data_counter;

  int nb = ds.n / B;
  long steps_total = (long)cfg.train_epochs * nb / cfg.train_d_steps;
  if (cfg.train_max_steps && cfg.train_max_steps < steps_total) steps_total = cfg.train_max_steps;
  double t0 = gf__now() - pos.seconds;
  int stop = 0, in_step = 0;
  char title[512];
  snprintf(title, sizeof title, "ganforge run %s (%s)", out, cfg.data_name);
  if (cfg.train_max_steps && gan.g_steps >= cfg.train_max_steps) stop = 1;
  for (int epoch = pos.epoch; epoch <= cfg.train_epochs && !stop; epoch++) {
    gan.epoch = epoch;
    int b0 = (epoch == pos.epoch) ? pos.batch : 0;
    pos.epoch = epoch;
    for (int b = b0; b < nb && !stop; b++) {
      /* one training step: train.d_steps batches and D steps, then the G step, then the one
         read-back of the loss statistics */
      if (!in_step) ops->step_begin();
      in_step = 1;
      gf__batch_info bi;
      if (xdev) {
        if (gf__batch_seq_next(&seq, idx_host, &bi) || bi.epoch != epoch || bi.batch != b) {
          rc = gf__fail(GF_EIO, "data batches out of step");
          break;
        }
        /* this rank's rows of the global batch */
        ops->to_device(idx_dev, idx_host + row0, sizeof(int32_t) * (size_t)Bl);
        ops->gather(gan.xr, xdev, idx_dev, Bl, ds.c * ds.h, ds.w);
        if (gan.cond) ops->gather(gan.cond->yr, ldev, idx_dev, Bl, 1, 1); /* their labels (a flip is a no-op) */
      } else {
        const float *xb = gf__prefetch_next(pf, &bi);
        if (!xb || bi.epoch != epoch || bi.batch != b) { rc = gf__fail(GF_EIO, "data prefetch out of step"); break; }
        ops->to_device(gan.xr, xb + (size_t)row0 * dim, sizeof(float) * (size_t)Bl * dim); /* this rank's rows */
        if (gan.cond) ops->to_device(gan.cond->yr, gf__prefetch_labels(pf) + row0, sizeof(float) * (size_t)Bl);
        gf__prefetch_release(pf);
      }
      pos.data_counter = bi.counter;
      next_counter = bi.counter_next;
      if ((rc = gf__gan_d_step(&gan, gan.xr)) < 0) break;
      pos.batch = b + 1;
      if (gan.d_steps % cfg.train_d_steps) continue;
      if ((rc = gf__gan_g_step(&gan)) < 0) break;
      ops->step_end();
      in_step = 0;
      if ((rc = gf__gan_stats(&gan)) < 0) break;
      double secs = gf__now() - t0;
      if (log && gan.g_steps % cfg.train_log_every == 0) {
        char extra[96];
        gf__critic_log_values(&gan, extra, sizeof extra);
        fprintf(log, "%ld,%d,%.6g,%.6g,%.6g,%.6g,%.4f%s\n", gan.g_steps, epoch, gan.loss_d, gan.loss_g, gan.d_real,
                gan.d_fake, secs, extra);
        double tv[9] = {gan.loss_d, gan.loss_g, gan.d_real, gan.d_fake, gan.og.lr, gan.od.lr};
        int ntv = 6 + gf__critic_values(&gan, tv + 6);
        char tbn[128];
        snprintf(tbn, sizeof tbn, "loss_D,loss_G,D_x,D_G_z,lr_G,lr_D%s", gf__critic_log_columns(&cfg));
        if ((rc = gf__tb_scalars(tb, gan.g_steps, tbn, tv, ntv)) < 0) break;
      }
      if (writer && opts && opts->progress) {
        gf_progress p = {epoch, cfg.train_epochs, gan.g_steps, steps_total, secs, gan.g_steps / (secs > 0 ? secs : 1e-9),
                         gan.loss_d, gan.loss_g, gan.d_real, gan.d_fake};
        if (opts->progress(&p, opts->user)) stop = 1;
      }
      if (opts && opts->stop_flag && *opts->stop_flag) stop = 1;
      if (dist && (rc = gf__dist_any(dist, stop, &stop)) < 0) break; /* every rank stops at the same step */
      if (cfg.train_max_steps && gan.g_steps >= cfg.train_max_steps) stop = 1;
      pos.seconds = secs;
      if (writer && (stop || (cfg.train_checkpoint_every && gan.g_steps % cfg.train_checkpoint_every == 0 && b + 1 < nb))) {
        gf__dist_solo(dist, 1);
        if ((rc = gf__log_flush(log, logpath)) == 0 && (rc = save_checkpoint(&gan, &pos, out, cfg.train_keep)) == 0 && stop)
          rc = save_generator(&gan, out);
        gf__dist_solo(dist, 0);
        if (rc < 0) break;
      }
    }
    if (in_step) { /* an epoch that ends between D steps of one G step (train.d_steps > 1) */
      ops->step_end();
      in_step = 0;
    }
    if (rc < 0) break;
    /* rank 0 alone: the log, pictures, weights, checkpoints, the metric and the report */
    if (!writer) {
      if (pos.batch < nb) break;
      pos = (gf__data_pos){epoch + 1, 0, next_counter, gf__now() - t0};
      resume = NULL;
      continue;
    }
    int inside = pos.batch < nb; /* stopped inside the epoch: the checkpoint above holds the position */
    gf__dist_solo(dist, 1);
    if ((rc = gf__log_flush(log, logpath)) == 0)
      rc = epoch_outputs(&gan, &ds, &pc, &es, &cfg, out, title, epoch, nb, next_counter, t0, &pos, tb);
    gf__dist_solo(dist, 0);
    if (rc < 0 || inside) break;
    resume = NULL;
  }
  if (rc == GF_ENUMERIC) {
    /* The update before the failing step produced the weights that gave a non-finite loss, so
       nothing in memory is trusted: the last checkpoint and the last epoch's generator stay as
       they are, and the message says where they are. */
    char msg[512], prev[2200], ck[2200];
    snprintf(msg, sizeof msg, "%s", gf_last_error());
    snprintf(prev, sizeof prev, "%s/generator.safetensors", out);
    snprintf(ck, sizeof ck, "%s/checkpoints/latest.safetensors", out);
    int have_g = access(prev, F_OK) == 0, have_ck = access(ck, F_OK) == 0;
    if (have_ck)
      gf__fail(GF_ENUMERIC, "%s; training stopped; the last good weights are in %s (resume from it with a smaller "
               "train.lr) and %s", msg, ck, have_g ? prev : "no generator file yet");
    else if (have_g)
      gf__fail(GF_ENUMERIC, "%s; training stopped; the last good weights are in %s", msg, prev);
    else
      gf__fail(GF_ENUMERIC, "%s; training stopped before any weights were saved (try a smaller train.lr)", msg);
  } else if (rc == 0 && gan.g_steps == 0 && writer) {
    rc = save_generator(&gan, out);
  }
  if (rc == 0 && log) rc = gf__log_flush(log, logpath);
  if (rc == 0 && tb) {
    rc = gf__tb_close(tb);
    tb = NULL;
  }
  /* a write that failed (disk full, folder no longer writable): say what is safe */
  if (rc == GF_EIO) rc = gf__fail_write_stop(out, gan.g_steps);
done:
  gf__prefetch_stop(pf);
  gf__batch_seq_free(&seq);
  if (xdev) ops->release_const(xdev);
  if (ldev) ops->release_const(ldev);
  free(lab_host);
  free(idx_host);
  if (idx_dev) ops->free(idx_dev);
  if (log) fclose(log);
  if (gf__tb_close(tb) < 0 && rc == 0) rc = GF_EIO;
  free(pc.host);
  free(pc.labels);
  if (pc.z) ops->free(pc.z);
  gf__gan_destroy(&gan);
  gf__dataset_free(&ds);
  return rc;
}

/* Opens a run's generator on the CPU and draws n samples from noise of `seed`. */
typedef struct sampler {
  gf_config cfg;
  gf__gan gan; /* only G, nz, dim, cfg, ops are used */
  int c, h, w;
} sampler;

static int sampler_open(sampler *s, const char *run) {
  memset(s, 0, sizeof *s);
  const gf__ops *ops = gf__ops_cpu();
  GF_TRY(gf__generator_open(run, ops, &s->cfg, &s->gan.G, &s->c, &s->h, &s->w));
  s->gan.cfg = s->cfg;
  s->gan.ops = ops;
  s->gan.nz = s->cfg.model_nz;
  s->gan.dim = (long)s->c * s->h * s->w;
  return 0;
}

static int write_samples(const sampler *s, const float *x, int n, int nrow, int upscale, const char *out) {
  size_t len = strlen(out);
  if (len > 4 && !strcmp(out + len - 4, ".npy")) {
    long shape[4] = {n, s->c, s->h, s->w};
    return gf__npy_write_f32(out, x, shape, 4);
  }
  if (len < 4 || strcmp(out + len - 4, ".png"))
    return gf__fail(GF_EUSAGE, "%s: output must end in .png or .npy", out);
  if (s->h == 1 && s->w == 1) {
    gf__dataset ds;
    memset(&ds, 0, sizeof ds);
    if (s->c == 1) return gf__plot_hist_png(out, x, n, (float)s->cfg.data_mu, (float)s->cfg.data_sigma, "samples");
    int rc = !strcmp(s->cfg.data_name, "ring8") ? gf__synth_ring8(&ds, 8, 1) : gf__synth_grid25(&ds, 25, 1);
    if (rc < 0) return rc;
    rc = gf__plot_scatter_png(out, x, n, ds.modes, ds.nmodes, ds.nmodes == 8 ? 1.6f : 6.0f, "samples");
    gf__dataset_free(&ds);
    return rc;
  }
  float lo = !strcmp(s->cfg.model_g_out, "sigmoid") ? 0.0f : -1.0f;
  return gf__grid_write_png(out, x, n, s->c, s->h, s->w, nrow, lo, 1.0f, upscale);
}

int gf_sample(const char *run, int n, uint64_t seed, int nrow, int upscale, const char *out, const char *noise_out) {
  return gf_sample_class(run, n, seed, nrow, upscale, out, noise_out, -1);
}

int gf_sample_class(const char *run, int n, uint64_t seed, int nrow, int upscale, const char *out, const char *noise_out,
                    int klass) {
  if (n < 1 || n > 100000) return gf__fail(GF_EUSAGE, "-n %d: must be between 1 and 100000", n);
  if (upscale < 1 || upscale > 32) return gf__fail(GF_EUSAGE, "--upscale %d: must be between 1 and 32", upscale);
  sampler s;
  GF_TRY(sampler_open(&s, run));
  int K = s.gan.G.nclass;
  if (klass >= 0 && (!K || klass >= K)) {
    gf__net_free(&s.gan.G);
    if (!K) return gf__fail(GF_EUSAGE, "--class %d: %s is not a conditional model (model.cond=none)", klass, run);
    return gf__fail(GF_EUSAGE, "--class %d: the model's classes are 0..%d", klass, K - 1);
  }
  /* a conditional model's PNG without --class: one row per class */
  size_t len = strlen(out);
  int png = len > 4 && !strcmp(out + len - 4, ".png"), rows_by_class = K && klass < 0 && png;
  if (nrow < 1) nrow = rows_by_class ? (n + K - 1) / K : (int)ceil(sqrt((double)n));
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_SAMPLE);
  float *z = malloc(sizeof(float) * (size_t)n * s.gan.nz);
  float *x = malloc(sizeof(float) * (size_t)n * s.gan.dim);
  float *y = K ? malloc(sizeof(float) * (size_t)n) : NULL;
  int rc;
  if (!z || !x || (K && !y)) rc = gf__fail(GF_ENOMEM, "out of memory");
  else {
    rc = gf__gan_noise_host(&s.gan, &r, z, n);
    if (rc == 0 && K) gf__cond_labels_host(y, n, K, klass, rows_by_class ? nrow : 0);
    if (rc == 0) rc = gf__gan_sample_host_labeled(&s.gan, z, y, n, x);
    if (rc == 0) rc = write_samples(&s, x, n, nrow, upscale, out);
    if (rc == 0 && noise_out) {
      long shape[2] = {n, s.gan.nz};
      rc = gf__npy_write_f32(noise_out, z, shape, 2);
    }
  }
  free(z);
  free(x);
  free(y);
  gf__net_free(&s.gan.G);
  return rc;
}

int gf_interpolate(const char *run, int rows, int steps, uint64_t seed, int upscale, const char *out) {
  if (steps < 2 || steps > 256) return gf__fail(GF_EUSAGE, "--steps %d: must be between 2 and 256", steps);
  if (rows < 1 || rows > 256) return gf__fail(GF_EUSAGE, "--rows %d: must be between 1 and 256", rows);
  sampler s;
  GF_TRY(sampler_open(&s, run));
  int nz = s.gan.nz, n = rows * steps;
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_SAMPLE);
  float *ends = malloc(sizeof(float) * 2 * (size_t)rows * nz);
  float *z = malloc(sizeof(float) * (size_t)n * nz);
  float *x = malloc(sizeof(float) * (size_t)n * s.gan.dim);
  int rc;
  if (!ends || !z || !x) rc = gf__fail(GF_ENOMEM, "out of memory");
  else {
    rc = gf__gan_noise_host(&s.gan, &r, ends, 2 * rows);
    for (int i = 0; i < rows && rc == 0; i++)
      for (int t = 0; t < steps; t++) {
        float a = (float)t / (float)(steps - 1);
        for (int k = 0; k < nz; k++)
          z[((size_t)i * steps + t) * nz + k] =
              (1 - a) * ends[(size_t)(2 * i) * nz + k] + a * ends[(size_t)(2 * i + 1) * nz + k];
      }
    float *y = s.gan.G.nclass ? malloc(sizeof(float) * (size_t)n) : NULL; /* conditional: walk i in class i mod K */
    if (y) gf__cond_labels_host(y, n, s.gan.G.nclass, -1, steps);
    if (rc == 0 && s.gan.G.nclass && !y) rc = gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0) rc = gf__gan_sample_host_labeled(&s.gan, z, y, n, x);
    free(y);
    if (rc == 0) rc = write_samples(&s, x, n, steps, upscale, out);
  }
  free(ends);
  free(z);
  free(x);
  gf__net_free(&s.gan.G);
  return rc;
}

int gf_bench_sgemm(const char *device, int n, int reps, double *gflops) {
  const gf__ops *ops;
  GF_TRY(gf__ops_get(device, &ops));
  if (n < 16 || n > 8192 || reps < 1) return gf__fail(GF_EUSAGE, "sgemm size %d / repetitions %d out of range", n, reps);
  size_t nn = (size_t)n * n;
  float *a = ops->alloc(sizeof(float) * nn), *b = ops->alloc(sizeof(float) * nn), *c = ops->alloc(sizeof(float) * nn);
  if (!a || !b || !c) {
    if (a) ops->free(a);
    if (b) ops->free(b);
    if (c) ops->free(c);
    return gf__fail(GF_ENOMEM, "out of memory for a %d^3 sgemm", n);
  }
  ops->rand_uniform(a, nn, -1, 1, 1, 1, 0);
  ops->rand_uniform(b, nn, -1, 1, 1, 2, 0);
  ops->gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
  ops->sync();
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = gf__now();
    ops->gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    ops->sync();
    double t = gf__now() - t0;
    if (t < best) best = t;
  }
  int rc = ops->check();
  *gflops = 2.0 * n * (double)n * n / best * 1e-9;
  ops->free(a);
  ops->free(b);
  ops->free(c);
  return rc;
}

static double net_flops(const gf__net *net) {
  double f = 0;
  for (int i = 0; i < net->n; i++) f += gf__layer_flops(&net->layers[i]);
  return f; /* per sample, one forward */
}

/* CycleGAN / pix2pix: the full step (both G, both D) on random images in [-1, 1]. */
static int bench_i2i(const gf_config *cfg, const gf__ops *ops, int Bl, int warmup, int steps, double *ms, double *gflop,
                     gf__prof *prof, char *report, unsigned cap) {
  GF_TRY(gf__i2i_memory_check(cfg, Bl, 1));
  gf__cyclegan *m = calloc(1, sizeof *m);
  if (!m) return gf__fail(GF_ENOMEM, "out of memory");
  int rc = gf__cyclegan_create(m, cfg, ops, Bl);
  if (rc < 0) { free(m); return rc; }
  gf__cyclegan_distribute(m, gf__dist_world(), cfg->train_sync_bn);
  size_t n = (size_t)m->B * m->dim;
  float *x = malloc(sizeof(float) * n);
  gf__rng r;
  gf__rng_init(&r, 7, GF_STREAM_EVAL);
  if (!x) rc = gf__fail(GF_ENOMEM, "out of memory");
  else {
    gf__rng_uniform(&r, x, (long)n, -1, 1);
    ops->to_device(m->real_A, x, sizeof(float) * n);
    gf__rng_uniform(&r, x, (long)n, -1, 1);
    ops->to_device(m->real_B, x, sizeof(float) * n);
  }
  if (prof && rc == 0) {
    gf__net *nets[4] = {&m->G_A, &m->D_A, &m->G_B, &m->D_B}; /* pix2pix: G_A and D_A only */
    for (int k = 0; k < (m->pix2pix ? 2 : 4) && rc == 0; k++) rc = gf__prof_attach(prof, nets[k]);
  }
  double t0 = 0;
  for (int i = 0; i < warmup + steps && rc == 0; i++) {
    if (i == warmup) {
      ops->sync();
      if (prof) gf__prof_reset(prof);
      t0 = gf__now();
    }
    ops->step_begin();
    rc = gf__cyclegan_step(m, m->real_A, m->real_B);
    ops->step_end();
    if (rc == 0) rc = gf__cyclegan_stats(m);
  }
  ops->sync();
  if (rc == 0) rc = ops->check();
  *ms = 1e3 * (gf__now() - t0) / steps;
  double fg = net_flops(&m->G_A), fd = net_flops(&m->D_A);
  /* CycleGAN: 6 G applications (forward + backward ~ 3x), D: 2 G-loss passes (forward + input
     gradient), 4 D-step passes (forward + weight and input gradients); pix2pix: 1 G, 3 D */
  int Bg = cfg->train_batch; /* the global step */
  *gflop = m->pix2pix ? (3 * fg + 8 * fd) * Bg * 1e-9 : (18 * fg + 6 * fd + 12 * fd) * Bg * 1e-9;
  if (prof) {
    if (rc == 0) gf__prof_report(prof, steps, *ms, report, cap);
    gf__prof_detach_free(prof);
  }
  free(x);
  gf__cyclegan_destroy(m);
  free(m);
  return rc;
}

/* gf_bench and gf_bench_profile: with prof, every layer pass of the nets is timed between two
   backend synchronisations (CUDA Graph replay off) and the table goes to report. */
static int bench_run(const gf_config *cfg_in, int warmup, int steps, double *ms, double *gflop, gf__prof *prof,
                     char *report, unsigned cap) {
  gf_config cfg = *cfg_in;
  if (prof) cfg.train_cuda_graph = 0; /* a synchronisation inside a recorded step would end the recording */
  GF_TRY(gf_config_validate(&cfg));
  apply_threads(&cfg);
  /* data-parallel (mpirun): the global step of train.batch over the ranks */
  gf__dist *dist = gf__dist_world();
  int row0, Bl, i2i = !strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix");
  GF_TRY(gf__dist_split(dist, cfg.train_batch, i2i ? 1 : cfg.model_pack, &row0, &Bl));
  const gf__ops *ops;
  GF_TRY(gf__dist_train_begin(dist, &cfg, &ops, NULL));
  if (prof) prof->ops = ops;
  if (i2i) {
    GF_TRY(bench_i2i(&cfg, ops, Bl, warmup, steps, ms, gflop, prof, report, cap));
    return dist ? gf__dist_allreduce_host(dist, ms, 1, GF_DIST_MAX, "the step times") : 0;
  }
  int c, h, w;
  gf__data_shape(&cfg, &c, &h, &w);
  int B = cfg.train_batch;
  gf__gan gan;
  GF_TRY(gf__gan_create(&gan, &cfg, ops, c, h, w, Bl, NULL));
  int rc = gf__gan_distribute(&gan, dist, B, row0, cfg.train_sync_bn);
  if (rc < 0) {
    gf__gan_destroy(&gan);
    return rc;
  }
  /* random data in [-1, 1]: the benchmark times the step, not the loader */
  gf__rng r;
  gf__rng_init(&r, 7, GF_STREAM_EVAL);
  float *xb = malloc(sizeof(float) * (size_t)Bl * gan.dim);
  if (!xb) { gf__gan_destroy(&gan); return gf__fail(GF_ENOMEM, "out of memory"); }
  gf__rng_uniform(&r, xb, (long)Bl * gan.dim, -1, 1);
  ops->to_device(gan.xr, xb, sizeof(float) * (size_t)Bl * gan.dim);
  if (gan.cond) { /* labels of the random batch: every class in turn */
    gf__cond_labels_host(xb, Bl, gan.cond->K, -1, 0);
    rc = gf__cond_set_real(&gan, xb);
  }
  free(xb);
  if (prof && rc == 0 && (rc = gf__prof_attach(prof, &gan.G)) == 0) rc = gf__prof_attach(prof, &gan.D);
  double t0 = 0;
  for (int i = 0; i < warmup + steps && rc == 0; i++) {
    if (i == warmup) {
      ops->sync();
      if (prof) gf__prof_reset(prof);
      t0 = gf__now();
    }
    /* as training runs it: one bracketed step, then the one read-back of its statistics */
    ops->step_begin();
    for (int k = 0; k < cfg.train_d_steps && rc == 0; k++) rc = gf__gan_d_step(&gan, gan.xr);
    if (rc == 0) rc = gf__gan_g_step(&gan);
    ops->step_end();
    if (rc == 0) rc = gf__gan_stats(&gan);
  }
  ops->sync();
  if (rc == 0) rc = ops->check();
  *ms = 1e3 * (gf__now() - t0) / steps;
  /* G forward + 2x backward; D: 3 forwards, backward with weights twice and once input-only. */
  double fg = net_flops(&gan.G), fd = net_flops(&gan.D);
  /* with model.pack, D runs on B / pack packs (fd is per pack) */
  *gflop = ((double)B * 3 * fg + (double)(B / gan.pack) * (3 * fd + 2 * fd + 2 * fd)) * 1e-9;
  if (prof) {
    if (rc == 0) gf__prof_report(prof, steps, *ms, report, cap);
    gf__prof_detach_free(prof);
  }
  gf__gan_destroy(&gan);
  if (rc == 0 && dist) rc = gf__dist_allreduce_host(dist, ms, 1, GF_DIST_MAX, "the step times");
  return rc;
}

int gf_bench(const gf_config *cfg, int warmup, int steps, double *ms, double *gflop) {
  return bench_run(cfg, warmup, steps, ms, gflop, NULL, NULL, 0);
}

int gf_bench_profile(const gf_config *cfg, int warmup, int steps, double *ms, char *report, unsigned cap) {
  if (!report || cap < 2) return gf__fail(GF_EINVAL, "gf_bench_profile: no room for the report");
  report[0] = 0;
  gf__prof prof;
  memset(&prof, 0, sizeof prof);
  double gflop;
  /* the backend is the one gf__dist_train_begin opens for cfg: the profiler syncs through it */
  return bench_run(cfg, warmup, steps, ms, &gflop, &prof, report, cap); /* it detaches what it attached */
}

/* The dataset a config names (used by the classifier trainer). */
int gf__dataset_from_config(const gf_config *cfg, gf__dataset *ds) { return load_dataset(cfg, ds); }

int gf__fail_small_dataset(const gf_config *cfg, const gf__dataset *ds, int batch) {
  const char *name = ds->name[0] ? ds->name : cfg->data_name;
  int synthetic = !strcmp(cfg->data_name, "shapes") || !strcmp(cfg->data_name, "gauss1d") ||
                  !strcmp(cfg->data_name, "ring8") || !strcmp(cfg->data_name, "grid25") ||
                  !strcmp(cfg->data_name, "stacked-mnist");
  int images = !strcmp(cfg->data_name, "folder") || !strcmp(cfg->data_name, "faces");
  char what[400], more[96];
  if (cfg->data_path[0] && !synthetic) snprintf(what, sizeof what, "%.300s (data.name=%s)", cfg->data_path, name);
  else snprintf(what, sizeof what, "dataset %s", name);
  if (cfg->data_limit > 0 && cfg->data_limit < batch) snprintf(more, sizeof more, "or raise data.limit (now %d)", cfg->data_limit);
  else if (synthetic) snprintf(more, sizeof more, "or raise data.n (now %d)", cfg->data_n);
  else snprintf(more, sizeof more, "or add %s", images ? "images" : "samples");
  int n = ds->n > 0 ? ds->n : 1;
  return gf__fail(GF_EUSAGE, "%s has %d %s%s, fewer than the batch size %d: pass --batch %d or smaller (train.batch), %s",
                  what, ds->n, images ? "image" : "sample", ds->n == 1 ? "" : "s", batch, n, more);
}
