/* i2i_train.c: the CycleGAN / pix2pix epoch loop (memory plan, data, per-epoch pictures and
   weights) around gf__cyclegan_step, and `translate` with a trained generator. */
#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/images.h"
#include "ganforge/ganforge.h"
#include "io/image.h"
#include "io/imgload.h"
#include "io/safetensors.h"
#include "io/tboard.h"
#include "models/checkpoint.h"
#include "models/cyclegan.h"
#include "models/dist_train.h"
#include "models/weights.h"

static long long mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  long long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

int gf__i2i_memory_check(const gf_config *cfg, int B, int verbose) {
  size_t need;
  char report[512];
  GF_TRY(gf__cyclegan_memory(cfg, B, &need, report, sizeof report));
  long long avail = mem_available();
  if (verbose) fprintf(stderr, "ganforge: %s; available %.1f MiB\n", report, avail >= 0 ? avail / 1048576.0 : -1.0);
  if (avail >= 0 && (long long)need > avail)
    return gf__fail(GF_ENOMEM, "%s, but only %.1f MiB are available (MemAvailable): use a smaller data.crop_size, "
                    "model.ngf / model.ndf or train.batch", report, avail / 1048576.0);
  return 0;
}

static int save_weights(gf__cyclegan *m, const char *dir) {
  char path[2200], steps[32], epoch[32];
  snprintf(path, sizeof path, "%s/%s", dir, gf__i2i_weights_name(m->pix2pix));
  snprintf(steps, sizeof steps, "%ld", m->steps);
  snprintf(epoch, sizeof epoch, "%d", m->epoch);
  const char *meta[] = {"steps", steps, "epoch", epoch};
  gf__net *nets[4] = {&m->G_A, &m->D_A, &m->G_B, &m->D_B};
  return gf__weights_save(path, nets, m->pix2pix ? 2 : 4, &m->cfg, meta, 2);
}

/* ---- full-state checkpoints (exact resume), same format marker and rotation as GAN runs ---- */

typedef struct i2i_pos {
  int epoch, batch;            /* epoch in progress (1-based), next batch index */
  uint64_t data_epoch_counter; /* data stream before this epoch's permutation */
  double seconds;
} i2i_pos;

static int nnets(const gf__cyclegan *m) { return m->pix2pix ? 2 : 4; }
static void nets_of(gf__cyclegan *m, gf__net **n) { n[0] = &m->G_A; n[1] = &m->D_A; n[2] = &m->G_B; n[3] = &m->D_B; }

static void flat_tensors(gf__cyclegan *m, gf__flat_tensor *t, int *nt) {
  gf__net *n[4];
  nets_of(m, n);
  int k = gf__opt_flat_tensors(n, nnets(m), t);
  gf__image_pool *pools[2] = {&m->poolA, &m->poolB};
  for (int i = 0; i < 2; i++) {
    if (!pools[i]->images || !pools[i]->size) continue;
    snprintf(t[k].name, sizeof t[k].name, "pool.%c", 'A' + i);
    t[k].data = pools[i]->images; t[k].n = (long)pools[i]->n * pools[i]->dim; k++;
  }
  *nt = k;
}

typedef struct i2i_ckpt { gf__cyclegan *m; const i2i_pos *pos; } i2i_ckpt;

static int i2i_ckpt_save(const char *path, void *u) {
  i2i_ckpt *c = u;
  gf__cyclegan *m = c->m;
  gf__flat_tensor t[12];
  int nt;
  flat_tensors(m, t, &nt);
  char v[14][48];
  snprintf(v[0], 48, "%ld", m->steps);
  snprintf(v[1], 48, "%d", c->pos->epoch);
  snprintf(v[2], 48, "%d", c->pos->batch);
  snprintf(v[3], 48, "%" PRIu64, c->pos->data_epoch_counter);
  snprintf(v[4], 48, "%" PRIu64, m->r_data.counter);
  snprintf(v[5], 48, "%" PRIu64, m->r_drop.counter);
  snprintf(v[6], 48, "%d", m->poolA.n);
  snprintf(v[7], 48, "%" PRIu64, m->poolA.rng.counter);
  snprintf(v[8], 48, "%d", m->poolB.n);
  snprintf(v[9], 48, "%" PRIu64, m->poolB.rng.counter);
  snprintf(v[10], 48, "%ld", m->og.t);
  snprintf(v[11], 48, "%ld", m->od.t);
  snprintf(v[12], 48, "%.6f", c->pos->seconds);
  const char *meta[] = {"checkpoint", "ganforge-checkpoint-1", "steps", v[0], "epoch", v[1], "batch", v[2],
                        "rng.data_epoch_counter", v[3], "rng.data_counter", v[4], "rng.dropout_counter", v[5],
                        "pool.A.n", v[6], "pool.A.counter", v[7], "pool.B.n", v[8], "pool.B.counter", v[9],
                        "opt.G.step", v[10], "opt.D.step", v[11], "seconds", v[12]};
  gf__net *n[4];
  nets_of(m, n);
  return gf__weights_save_ex(path, n, nnets(m), t, nt, &m->cfg, meta, (int)(sizeof meta / sizeof meta[0]) / 2);
}

static int save_checkpoint(gf__cyclegan *m, const i2i_pos *pos, const char *dir) {
  i2i_ckpt c = {m, pos};
  return gf__checkpoint_save_step(dir, m->steps, m->cfg.train_keep, i2i_ckpt_save, &c);
}

static int load_checkpoint(gf__cyclegan *m, const char *path, i2i_pos *pos) {
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  int rc = 0;
  const char *fmt = gf__st_meta(&f, "checkpoint");
  if (gf__st_meta(&f, "run") && !strcmp(gf__st_meta(&f, "run"), "compress"))
    rc = gf__fail(GF_EUSAGE, "%s: a checkpoint of 'ganforge compress': continue it with 'ganforge compress --resume RUN'", path);
  else if (!fmt || strcmp(fmt, "ganforge-checkpoint-1") || !gf__st_meta(&f, "pool.A.n"))
    rc = gf__fail(GF_EFORMAT, "%s: not a ganforge %s training checkpoint", path, m->cfg.model_arch);
  gf__net *n[4];
  nets_of(m, n);
  for (int i = 0; i < nnets(m) && rc == 0; i++) rc = gf__weights_load_net(&f, n[i]);
  uint64_t u[12];
  static const char *const keys[] = {"steps", "epoch", "batch", "rng.data_epoch_counter", "rng.data_counter",
                                     "rng.dropout_counter", "pool.A.n", "pool.A.counter", "pool.B.n", "pool.B.counter",
                                     "opt.G.step", "opt.D.step"};
  for (int i = 0; i < 12 && rc == 0; i++) rc = gf__st_meta_u64(&f, keys[i], &u[i]);
  if (rc == 0 && (u[1] < 1 || (int)u[6] > m->poolA.size || (int)u[8] > m->poolB.size))
    rc = gf__fail(GF_EFORMAT, "%s: inconsistent checkpoint (epoch %" PRIu64 ", pools %" PRIu64 "/%" PRIu64 ")", path, u[1], u[6], u[8]);
  if (rc == 0) {
    m->steps = (long)u[0];
    pos->epoch = (int)u[1];
    pos->batch = (int)u[2];
    pos->data_epoch_counter = u[3];
    m->r_data.counter = u[4];
    m->r_drop.counter = u[5];
    m->poolA.n = (int)u[6];
    m->poolA.rng.counter = u[7];
    m->poolB.n = (int)u[8];
    m->poolB.rng.counter = u[9];
    m->og.t = (long)u[10];
    m->od.t = (long)u[11];
    const char *sec = gf__st_meta(&f, "seconds");
    pos->seconds = sec ? strtod(sec, NULL) : 0;
  }
  gf__flat_tensor t[12];
  int nt;
  flat_tensors(m, t, &nt);
  for (int i = 0; i < nt && rc == 0; i++) rc = gf__checkpoint_load_flat(&f, t[i].name, (float *)t[i].data, t[i].n, m->ops);
  gf__st_close(&f);
  return rc;
}

/* real A, fake B, rec A, real B, fake A, rec B per row (pix2pix: input, output, target). */
static int write_picture(gf__cyclegan *m, const float *A, const float *B, int k, float *host, const char *path) {
  const gf__ops *o = m->ops;
  size_t d = (size_t)m->dim;
  int cols = m->pix2pix ? 3 : 6;
  for (int i = 0; i < k; i++) {
    float *row = host + (size_t)i * cols * d;
    o->to_device(m->real_A, A + i * d, sizeof(float) * d);
    o->to_device(m->real_B, B + i * d, sizeof(float) * d);
    const float *fb = gf__net_forward(&m->G_A, &m->cA_fwd, m->real_A, 1, 1, NULL);
    memcpy(row, A + i * d, sizeof(float) * d);
    o->to_host(row + d, fb, sizeof(float) * d);
    if (m->pix2pix) {
      memcpy(row + 2 * d, B + i * d, sizeof(float) * d);
      continue;
    }
    const float *ra = gf__net_forward(&m->G_B, &m->cB_rec, fb, 1, 1, NULL);
    o->to_host(row + 2 * d, ra, sizeof(float) * d);
    memcpy(row + 3 * d, B + i * d, sizeof(float) * d);
    const float *fa = gf__net_forward(&m->G_B, &m->cB_fwd, m->real_B, 1, 1, NULL);
    o->to_host(row + 4 * d, fa, sizeof(float) * d);
    const float *rb = gf__net_forward(&m->G_A, &m->cA_rec, fa, 1, 1, NULL);
    o->to_host(row + 5 * d, rb, sizeof(float) * d);
  }
  return gf__grid_write_png(path, host, k * cols, 3, m->h, m->w, cols, -1.0f, 1.0f, 1);
}

/* The end of an epoch (or a stop inside it) on the writing rank, after the log's checked flush: its
   picture and weights, the checkpoint at the next epoch's start when the epoch is complete, and the
   report. */
static int i2i_epoch_outputs(gf__cyclegan *m, const gf_config *cfg, const char *out, int epoch, int nb, double t0,
                             const float *pa, const float *pb, int k, float *grid, const i2i_pos *pos, gf__tb *tb) {
  char path[2200];
  int pix = m->pix2pix;
  snprintf(path, sizeof path, "%s/samples/epoch_%03d.png", out, epoch);
  GF_TRY(write_picture(m, pa, pb, k, grid, path));
  GF_TRY(gf__tb_image_png(tb, m->steps, "samples", path));
  GF_TRY(save_weights(m, out));
  /* the epoch's end (or a stop exactly there): the next position is the next epoch's start */
  i2i_pos next = {epoch + 1, 0, m->r_data.counter, gf__now() - t0};
  if (pos->batch >= nb) GF_TRY(save_checkpoint(m, &next, out));
  if (!cfg->train_report) return 0;
  static const char *const cyc[] = {"Generator losses|loss_G_A,loss_G_B,loss_G",
                                    "Cycle and identity L1|loss_cycle_A,loss_cycle_B,loss_idt_A,loss_idt_B",
                                    "Discriminator losses|loss_D_A,loss_D_B", "Learning rate|lr", NULL};
  static const char *const p2p[] = {"Generator losses|loss_G,loss_G_GAN,loss_G_L1",
                                    "Discriminator losses|loss_D,loss_D_real,loss_D_fake", "Learning rate|lr", NULL};
  char title[2400];
  snprintf(title, sizeof title, "ganforge %s run %s", cfg->model_arch, out);
  return gf__write_run_report(out, cfg, title, epoch, gf__now() - t0, pix ? p2p : cyc,
                              pix ? "Every epoch: input A | generated B | real B"
                                  : "Every epoch: real A | fake B | reconstructed A, and real B | fake A | reconstructed B");
}

int gf__train_i2i(const gf_config *cfg_in, const gf_train_opts *opts) {
  gf_config cfg = *cfg_in;
  /* data-parallel (mpirun): rank r trains on images [row0, row0 + Bl) of each global batch of B
     (every rank assembles the whole batch from the same stream); rank 0 alone writes files */
  gf__dist *dist = gf__dist_world();
  int writer = gf__dist_rank(dist) == 0, row0, Bl;
  int pix = !strcmp(cfg.model_arch, "pix2pix"), B = cfg.train_batch;
  GF_TRY(gf__dist_split(dist, B, 1, &row0, &Bl));
  const gf__ops *ops;
  GF_TRY(gf__dist_train_begin(dist, &cfg, &ops, opts ? opts->stop_flag : NULL));
  if (!cfg.data_path[0]) return gf__fail(GF_EUSAGE, "%s needs the dataset folder: --data DIR", cfg.model_arch);
  GF_TRY(gf__i2i_check_size(&cfg, cfg.data_crop_size, cfg.data_crop_size));
  GF_TRY(gf__i2i_memory_check(&cfg, Bl, writer));
  const char *out = opts && opts->out_dir ? opts->out_dir : "runs/latest";
  char path[2200];
  if (writer) GF_TRY(gf__run_dir_prepare(out));
  gf__i2i_data data;
  GF_TRY(gf__i2i_load(&data, cfg.data_path, "train", pix, !strcmp(cfg.data_direction, "BtoA"), cfg.data_load_size,
                      cfg.data_crop_size, cfg.data_limit, !strcmp(cfg.data_on_bad_image, "fail")));
  if (writer)
    fprintf(stderr, "ganforge: %s data: %d A, %d B images at %d px, random %d px crops%s; protocol: junyanz "
          "defaults (shared/REFERENCE.md) except bilinear instead of bicubic resizing\n",
          cfg.model_arch, data.A.n, data.B.n, cfg.data_load_size, cfg.data_crop_size, cfg.data_flip ? " and flips" : "");
  int len = gf__i2i_epoch_len(&data), nb = len / B;
  if (nb < 1) {
    gf__i2i_free(&data);
    return gf__fail(GF_EUSAGE, "%s: %d training pair%s, fewer than the batch size %d: pass --batch %d or smaller (train.batch), "
                    "or add images", cfg.data_path, len, len == 1 ? "" : "s", B, len > 0 ? len : 1);
  }
  gf__cyclegan *m = calloc(1, sizeof *m);
  int rc = m ? gf__cyclegan_create(m, &cfg, ops, Bl) : gf__fail(GF_ENOMEM, "out of memory");
  if (rc < 0) { free(m); gf__i2i_free(&data); return rc; }
  gf__cyclegan_distribute(m, dist, cfg.train_sync_bn);
  size_t d = (size_t)m->dim;
  int k = 3 < data.A.n && 3 < data.B.n ? 3 : (data.A.n < data.B.n ? data.A.n : data.B.n);
  float *ha = malloc(sizeof(float) * d * B), *hb = malloc(sizeof(float) * d * B);
  float *pa = malloc(sizeof(float) * d * k), *pb = malloc(sizeof(float) * d * k);
  float *grid = malloc(sizeof(float) * d * k * 6);
  int *perm = malloc(sizeof(int) * (size_t)len);
  FILE *log = NULL;
  gf__tb *tb = NULL; /* train.tensorboard */
  if (!ha || !hb || !pa || !pb || !grid || !perm) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
  for (int i = 0; i < k; i++) gf__i2i_get(&data, i, i, NULL, 0, pa + i * d, pb + i * d);
  snprintf(path, sizeof path, "%s/config.txt", out);
  if (writer && (rc = gf_config_save(&cfg, path)) < 0) goto done;
  i2i_pos pos = {1, 0, 0, 0.0};
  const char *resume = opts ? opts->resume : NULL;
  if (writer && resume && (rc = load_checkpoint(m, resume, &pos)) < 0) goto done;
  if ((rc = gf__cyclegan_bcast_state(m, dist, &pos.epoch, &pos.batch, &pos.data_epoch_counter, &pos.seconds)) < 0)
    goto done;
  char logpath[2200];
  snprintf(logpath, sizeof logpath, "%s/log.csv", out);
  if (writer) log = gf__run_log_open(logpath,
                         pix ? "step,epoch,lr,loss_G,loss_G_GAN,loss_G_L1,loss_D,loss_D_real,loss_D_fake,seconds\n"
                             : "step,epoch,lr,loss_G,loss_G_A,loss_G_B,loss_cycle_A,loss_cycle_B,loss_idt_A,loss_idt_B,"
                               "loss_D_A,loss_D_B,seconds\n",
                         resume != NULL, m->steps);
  if (writer && !log) { rc = GF_EIO; goto done; }
  if (writer && cfg.train_tensorboard && (rc = gf__tb_open(&tb, out)) < 0) goto done;
  int epochs = cfg.train_n_epochs + cfg.train_n_epochs_decay;
  long total = (long)epochs * nb;
  if (cfg.train_max_steps && cfg.train_max_steps < total) total = cfg.train_max_steps;
  double t0 = gf__now() - pos.seconds;
  int stop = cfg.train_max_steps && m->steps >= cfg.train_max_steps;
  for (int epoch = pos.epoch; epoch <= epochs && !stop; epoch++) {
    gf__cyclegan_set_epoch(m, epoch);
    uint64_t mid = m->r_data.counter; /* a resumed epoch continues the stream where it stopped */
    int first = resume && epoch == pos.epoch;
    if (!first) pos.data_epoch_counter = m->r_data.counter;
    m->r_data.counter = pos.data_epoch_counter;
    gf__rng_perm(&m->r_data, perm, len);
    if (first) m->r_data.counter = mid;
    int s0 = first ? pos.batch : 0;
    pos.epoch = epoch;
    for (int s = s0; s < nb && !stop; s++) {
      for (int j = 0; j < B; j++) {
        int idx = perm[s * B + j];
        int ia = idx % data.A.n, ib = data.aligned ? ia : (int)gf__rng_below(&m->r_data, (uint32_t)data.B.n);
        gf__i2i_get(&data, ia, ib, &m->r_data, cfg.data_flip ? 2 : 1, ha + j * d, hb + j * d);
      }
      /* one training step (this rank's images uploaded), then the one read-back of its losses */
      ops->step_begin();
      ops->to_device(m->real_A, ha + row0 * d, sizeof(float) * d * Bl);
      ops->to_device(m->real_B, hb + row0 * d, sizeof(float) * d * Bl);
      rc = gf__cyclegan_step(m, m->real_A, m->real_B);
      ops->step_end();
      if (rc < 0 || (rc = gf__cyclegan_stats(m)) < 0) break;
      double secs = gf__now() - t0;
      if (log && m->steps % cfg.train_log_every == 0) {
        if (pix)
          fprintf(log, "%ld,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.3f\n", m->steps, epoch, m->og.lr, m->loss_G, m->loss_G_GAN,
                  m->loss_G_L1, m->loss_D_A, m->loss_D_real, m->loss_D_fake, secs);
        else
          fprintf(log, "%ld,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.3f\n", m->steps, epoch, m->og.lr, m->loss_G,
                  m->loss_G_A, m->loss_G_B, m->loss_cycle_A, m->loss_cycle_B, m->loss_idt_A, m->loss_idt_B, m->loss_D_A,
                  m->loss_D_B, secs);
        if ((rc = gf__log_flush(log, logpath)) < 0) break;
        double pv[7] = {m->og.lr, m->loss_G, m->loss_G_GAN, m->loss_G_L1, m->loss_D_A, m->loss_D_real, m->loss_D_fake};
        double cv[10] = {m->og.lr, m->loss_G, m->loss_G_A, m->loss_G_B, m->loss_cycle_A, m->loss_cycle_B, m->loss_idt_A,
                         m->loss_idt_B, m->loss_D_A, m->loss_D_B};
        rc = pix ? gf__tb_scalars(tb, m->steps, "lr,loss_G,loss_G_GAN,loss_G_L1,loss_D,loss_D_real,loss_D_fake", pv, 7)
                 : gf__tb_scalars(tb, m->steps, "lr,loss_G,loss_G_A,loss_G_B,loss_cycle_A,loss_cycle_B,loss_idt_A,"
                                  "loss_idt_B,loss_D_A,loss_D_B", cv, 10);
        if (rc < 0) break;
      }
      if (writer && opts && opts->progress) {
        gf_progress p = {epoch, epochs, m->steps, total, secs, m->steps / (secs > 0 ? secs : 1e-9), m->loss_D_A + m->loss_D_B,
                         m->loss_G, 0, 0};
        if (opts->progress(&p, opts->user)) stop = 1;
      }
      if (opts && opts->stop_flag && *opts->stop_flag) stop = 1;
      if (dist && (rc = gf__dist_any(dist, stop, &stop)) < 0) break; /* every rank stops at the same step */
      if (cfg.train_max_steps && m->steps >= cfg.train_max_steps) stop = 1;
      pos.batch = s + 1;
      pos.seconds = secs;
      if (writer &&
          ((stop && s + 1 < nb) || (cfg.train_checkpoint_every && m->steps % cfg.train_checkpoint_every == 0 && s + 1 < nb))) {
        if ((rc = gf__log_flush(log, logpath)) < 0) break;
        if ((rc = save_checkpoint(m, &pos, out)) < 0) break;
      }
    }
    if (rc < 0) break;
    if (!writer) continue; /* the log, pictures, weights, checkpoints and report are rank 0's */
    gf__dist_solo(dist, 1); /* write_picture runs the generators in training mode on rank 0 alone */
    if ((rc = gf__log_flush(log, logpath)) == 0)
      rc = i2i_epoch_outputs(m, &cfg, out, epoch, nb, t0, pa, pb, k, grid, &pos, tb);
    gf__dist_solo(dist, 0);
    if (rc < 0) break;
  }
  if (rc == 0 && m->steps == 0 && writer) rc = save_weights(m, out);
  if (rc == 0 && log) rc = gf__log_flush(log, logpath);
  if (rc == 0 && tb) {
    rc = gf__tb_close(tb);
    tb = NULL;
  }
  /* a write that failed (disk full, folder no longer writable): say what is safe */
  if (rc == GF_EIO) rc = gf__fail_write_stop(out, m->steps);
done:
  if (log) fclose(log);
  if (gf__tb_close(tb) < 0 && rc == 0) rc = GF_EIO;
  free(ha); free(hb); free(pa); free(pb); free(grid); free(perm);
  gf__cyclegan_destroy(m);
  free(m);
  gf__i2i_free(&data);
  return rc;
}

/* ---------------- translate ---------------- */

/* The generator planned for the last image size (rebuilt when the size changes), and timings. */
typedef struct tr_cache {
  int h, w;
  gf__net *G;
  gf__ctx ctx;
  float *x;     /* [3, h, w] the input, then the output (host) */
  float *xd;    /* [3, h, w] the input (backend memory) */
  uint8_t *o8;  /* [h, w, 3] the output */
  double fwd_s, all_s;
  int n;
} tr_cache;

static void cache_drop(tr_cache *c) {
  gf__ctx_destroy(&c->ctx);
  if (c->xd && c->G) c->G->ops->free(c->xd);
  c->xd = NULL;
  free(c->x);
  free(c->o8);
  c->x = NULL;
  c->o8 = NULL;
  if (c->G) gf__net_free(c->G);
  free(c->G);
  c->G = NULL;
  c->h = c->w = 0;
}

static int translate_one(const char *file, const gf_config *cfg, const gf__st_file *f, const char *net_name,
                         const char *outdir, tr_cache *c) {
  const double t0 = gf__now();
  uint8_t *pix = NULL;
  int w, h, ch;
  GF_TRY(gf__image_load(file, &pix, &w, &h, &ch));
  int rc = gf__i2i_check_size(cfg, h, w);
  if (rc < 0) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", gf_last_error());
    free(pix);
    return gf__fail(GF_EINVAL, "%s: %s (resize or crop it first)", file, msg);
  }
  const gf__ops *ops = gf__ops_cpu();
  size_t plane = (size_t)w * h;
  if (c->h != h || c->w != w) {
    cache_drop(c);
    c->G = calloc(1, sizeof *c->G);
    c->x = malloc(sizeof(float) * 3 * plane);
    c->o8 = malloc(3 * plane);
    rc = c->G && c->x && c->o8 ? 0 : gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0) rc = gf__build_i2i_generator(c->G, cfg, ops, net_name, 3, 3, h, w);
    if (rc == 0) rc = gf__weights_fit(f, c->G);
    if (rc == 0) rc = gf__net_finalize(c->G);
    if (rc == 0) rc = gf__weights_load_net(f, c->G);
    if (rc == 0) rc = gf__ctx_create(&c->ctx, c->G, 1);
    if (rc == 0 && !(c->xd = ops->alloc(sizeof(float) * 3 * plane))) rc = gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0) { c->h = h; c->w = w; }
    else cache_drop(c);
  }
  float *x = c->x;
  uint8_t *o8 = c->o8;
  if (rc == 0)
    for (size_t i = 0; i < plane; i++)
      for (int k = 0; k < 3; k++) x[k * plane + i] = pix[i * ch + (ch >= 3 ? k : 0)] * (2.0f / 255.0f) - 1.0f;
  free(pix);
  if (rc == 0) {
    const double t1 = gf__now();
    ops->to_device(c->xd, x, sizeof(float) * 3 * plane);
    ops->to_host(x, gf__net_forward(c->G, &c->ctx, c->xd, 1, 1, NULL), sizeof(float) * 3 * plane); /* x now holds y */
    c->fwd_s += gf__now() - t1;
    for (size_t i = 0; i < plane; i++)
      for (int k = 0; k < 3; k++) {
        float v = (x[k * plane + i] + 1.0f) * 127.5f;
        o8[i * 3 + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v));
      }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char stem[512], path[2200];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = 0;
    snprintf(path, sizeof path, "%s/%s.png", outdir, stem);
    rc = gf__png_write_level(path, o8, w, h, 3, 1); /* fast: a batch of outputs, not an archive */
    if (rc == 0) printf("%s\n", path);
  }
  c->all_s += gf__now() - t0;
  c->n += rc == 0;
  return rc;
}

int gf_translate(const char *ckpt, const char *direction, const char *const *inputs, int n, const char *outdir) {
  char path[2048];
  struct stat st;
  if (stat(ckpt, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such run folder or checkpoint", ckpt);
  if (S_ISDIR(st.st_mode)) {
    snprintf(path, sizeof path, "%s/cyclegan.safetensors", ckpt);
    if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/pix2pix.safetensors", ckpt);
  } else {
    snprintf(path, sizeof path, "%s", ckpt);
  }
  int btoa = !strcmp(direction, "BtoA");
  if (!btoa && strcmp(direction, "AtoB")) return gf__fail(GF_EUSAGE, "--direction must be AtoB or BtoA, not '%s'", direction);
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  gf_config cfg;
  gf_config_defaults(&cfg);
  const char *text = gf__st_meta(&f, "config");
  int rc = text ? gf__config_from_stored(&cfg, text, path, "metadata")
                : gf__fail(GF_EFORMAT, "%s: no ganforge config in the metadata", path);
  int pix = !strcmp(cfg.model_arch, "pix2pix");
  if (rc == 0 && !pix && strcmp(cfg.model_arch, "cyclegan"))
    rc = gf__fail(GF_EFORMAT, "%s: a %s model, not cyclegan / pix2pix", path, cfg.model_arch);
  if (rc == 0 && pix && btoa)
    rc = gf__fail(GF_EUSAGE, "%s: a pix2pix model translates one way only (as trained, data.direction=%s): use --direction AtoB",
                  path, cfg.data_direction);
  const char *net = pix ? "G" : btoa ? "G_B" : "G_A";
  const char *dirs = gf__st_meta(&f, "directions");
  if (rc == 0 && dirs && !strstr(dirs, direction))
    rc = gf__fail(GF_EUSAGE, "%s: this generator translates %s only (a compressed student: ganforge compress distils G_A)", path, dirs);
  if (rc == 0) rc = gf__mkdirs(outdir);
  int done = 0;
  tr_cache cache;
  memset(&cache, 0, sizeof cache);
  for (int i = 0; i < n && rc == 0; i++) {
    if (stat(inputs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      char **paths;
      int np;
      rc = gf__image_list(inputs[i], &paths, &np);
      for (int j = 0; j < np; j++) {
        if (rc == 0) rc = translate_one(paths[j], &cfg, &f, net, outdir, &cache);
        if (rc == 0) done++;
        free(paths[j]);
      }
      free(paths);
    } else {
      rc = translate_one(inputs[i], &cfg, &f, net, outdir, &cache);
      if (rc == 0) done++;
    }
  }
  gf__st_close(&f);
  if (rc == 0 && cache.n)
    fprintf(stderr, "ganforge: translated %d images: %.1f ms per image in the generator, %.1f ms per image in all "
            "(reading, converting, writing PNG)\n", cache.n, 1e3 * cache.fwd_s / cache.n, 1e3 * cache.all_s / cache.n);
  cache_drop(&cache);
  if (rc == 0 && done == 0) rc = gf__fail(GF_EUSAGE, "no input images");
  return rc;
}
