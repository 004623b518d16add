/* compress.c: `ganforge compress`: CAT (Jin et al. 2021) on a trained image-to-image run whose
   generators have inception blocks: one-step pruning of the teacher's A -> B generator to a MAC
   budget (prune.c), then distillation of the student with the GAN loss, L1 to the teacher's output
   (pix2pix teachers: to the target) and kernel alignment between teacher and student activations
   at CAT's four layers; the teacher only runs forward, in its own context. A normal run folder:
   config.txt, log.csv, samples/, report.html, checkpoints/ (exact resume), cyclegan.safetensors
   (or pix2pix.safetensors) with the student as G_A (G), loadable by `translate` like any run,
   teacher.safetensors (the teacher and the discriminator it started from), compress.txt. */
#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/images.h"
#include "ganforge/ganforge.h"
#include "io/image.h"
#include "io/imgload.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/cyclegan.h"
#include "models/prune.h"
#include "models/weights.h"

typedef struct gf__compress {
  char teacher_at[96];       /* the teacher file's steps / epoch metadata, for compress.txt */
  gf_config cfg;             /* the student's: the teacher's config, the run's overrides, model.g_channels */
  gf_config tcfg;            /* the teacher's, as trained */
  const gf__ops *ops;
  int pix2pix, B, c, h, w;
  long dim;
  gf__net *T, *S, *D;
  gf__inc_spec tspec, sspec;
  gf__inc_map tmap, smap;
  int tka[GF_KA_LAYERS], ska[GF_KA_LAYERS];
  gf__ctx cT, cS, cDf, cDr;
  float *real_A, *real_B, *cat_f, *cat_r, *dcat; /* [B, dim]; pix2pix: [B, 2 dim] */
  float *ka_ws, *ginj[GF_KA_LAYERS];
  float *stats;              /* [CS_N] backend: the step's losses (S_* below), zeroed and read once per step */
  gf__rng r_init, r_drop, r_data;
  gf__opt_state og, od;
  long steps;
  int epoch;
  float loss_G, loss_G_gan, loss_G_recon, loss_G_distill, loss_D, loss_D_real, loss_D_fake;
  double ka[GF_KA_LAYERS];
} gf__compress;

/* The step's statistics in backend memory (ops.gan_loss / l1_loss / ka_coef accumulate into them). */
enum { CS_DF, CS_DF_P, CS_DR, CS_DR_P, CS_GAN, CS_GAN_P, CS_L1, CS_KA0, CS_N = CS_KA0 + GF_KA_LAYERS };

/* ---------------- the teacher ---------------- */

int gf_compress_teacher(const char *run, char *path, unsigned cap, gf_config *tcfg) {
  struct stat st;
  if (stat(run, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such teacher run folder or weights file", run);
  if (S_ISDIR(st.st_mode)) {
    static const char *const names[] = {"cyclegan.safetensors", "pix2pix.safetensors", "checkpoints/latest.safetensors",
                                        "generator.safetensors", "classifier.safetensors"};
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++) {
      snprintf(path, cap, "%s/%s", run, names[i]);
      found = stat(path, &st) == 0;
    }
    if (!found) return gf__fail(GF_ENOENT, "%s: no trained model in this folder (cyclegan.safetensors, pix2pix.safetensors)", run);
  } else {
    snprintf(path, cap, "%s", run);
  }
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  const char *text = gf__st_meta(&f, "config");
  gf_config_defaults(tcfg);
  int rc = text ? gf__config_from_stored(tcfg, text, path, "metadata")
                : gf__fail(GF_EFORMAT, "%s: no ganforge config in the metadata", path);
  const char *kind = gf__st_meta(&f, "kind");
  if (rc == 0 && kind && !strcmp(kind, "classifier")) strcpy(tcfg->model_arch, "classifier");
  int i2i = !strcmp(tcfg->model_arch, "cyclegan") || !strcmp(tcfg->model_arch, "pix2pix");
  if (rc == 0 && !i2i)
    rc = gf__fail(GF_EUSAGE, "%s: a %s model cannot be compressed: ganforge compress distils cyclegan / pix2pix generators "
                  "with inception blocks (train one with model.g_block=inception, e.g. the cat-teacher128 preset)", run,
                  tcfg->model_arch);
  else if (rc == 0 && strcmp(tcfg->model_g_block, "inception"))
    rc = gf__fail(GF_EUSAGE, "%s: its %s generator has %s blocks, which cannot be compressed: ganforge compress prunes by the "
                  "norm scales of inception blocks (train the teacher with model.g_block=inception, e.g. the "
                  "cat-teacher128 preset)", run, tcfg->model_netG, !strncmp(tcfg->model_netG, "unet", 4) ? "U-Net" : "residual");
  else if (rc == 0 && gf__st_meta(&f, "checkpoint") && strcmp(gf__st_meta(&f, "checkpoint"), "ganforge-checkpoint-1"))
    rc = gf__fail(GF_EUSAGE, "%s: not a training checkpoint or weights file of a cyclegan / pix2pix run", path);
  gf__st_close(&f);
  return rc;
}

static const char *gname(const gf__compress *m) { return m->pix2pix ? "G" : "G_A"; }
static const char *dname(const gf__compress *m) { return m->pix2pix ? "D" : "D_A"; }

/* Whether the weights file at path (NULL: none to check) can hold the tensors of the planned net:
   a stored config asking for more is refused, naming the file, before anything is allocated. */
static int fits(const char *path, const gf__net *n) {
  if (!path) return 0;
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  int rc = gf__weights_fit(&f, n);
  gf__st_close(&f);
  return rc;
}

/* An inception generator of cfg at h x w with its layer map (heap: nets are large), planned and
   checked against the weights file it will be loaded from (fit; NULL: none) before allocation. */
static int build_g(gf__net **out, const gf_config *cfg, const gf__ops *ops, const char *name, int h, int w, gf__inc_spec *spec,
                   gf__inc_map *map, const char *fit) {
  gf__net *n = calloc(1, sizeof *n);
  if (!n) return gf__fail(GF_ENOMEM, "out of memory");
  *out = n;
  GF_TRY(gf__i2i_check_size(cfg, h, w));
  GF_TRY(gf__inc_spec_from_config(spec, cfg));
  gf__net_init(n, ops, name, 3, h, w);
  GF_TRY(gf__build_inception(n, cfg, spec, 3, map));
  GF_TRY(gf__net_plan(n));
  GF_TRY(fits(fit, n));
  return gf__net_finalize(n);
}

static void free_net(gf__net **n) {
  if (*n) gf__net_free(*n);
  free(*n);
  *n = NULL;
}

/* ---------------- model ---------------- */

static void compress_destroy(gf__compress *m) {
  if (!m->ops) return;
  gf__ctx *ctxs[] = {&m->cT, &m->cS, &m->cDf, &m->cDr};
  for (size_t i = 0; i < sizeof ctxs / sizeof ctxs[0]; i++) gf__ctx_destroy(ctxs[i]);
  float *bufs[] = {m->real_A, m->real_B, m->cat_f, m->cat_r, m->dcat, m->ka_ws, m->stats,
                   m->ginj[0], m->ginj[1], m->ginj[2], m->ginj[3]};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    if (bufs[i]) {
      int dup = 0; /* KA layers that share a student layer share a buffer */
      for (size_t j = 7; j < i; j++) dup |= bufs[j] == bufs[i];
      if (!dup) m->ops->free(bufs[i]);
    }
  free_net(&m->T);
  free_net(&m->S);
  free_net(&m->D);
  m->ops = NULL;
}

/* Everything but the weights: the nets of the teacher (tcfg) and the student (m->cfg, whose
   model.g_channels is set), the discriminator, contexts and buffers for batch B. tfile / sfile
   (NULL: none) are the files the teacher / the student will be loaded from, each with the
   discriminator: every net is planned and checked against them before it is allocated. */
static int compress_create(gf__compress *m, const gf_config *cfg, const gf_config *tcfg, const gf__ops *ops, int B,
                           const char *tfile, const char *sfile) {
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->tcfg = *tcfg;
  m->ops = ops;
  m->pix2pix = !strcmp(tcfg->model_arch, "pix2pix");
  m->B = B;
  m->c = 3;
  m->h = m->w = cfg->data_crop_size;
  m->dim = (long)m->c * m->h * m->w;
  const uint64_t seed = (uint64_t)cfg->train_seed;
  gf__rng_init(&m->r_init, seed, GF_STREAM_INIT);
  gf__rng_init(&m->r_drop, seed, GF_STREAM_DROPOUT);
  gf__rng_init(&m->r_data, seed, GF_STREAM_DATA);
  GF_TRY(build_g(&m->T, tcfg, ops, gname(m), m->h, m->w, &m->tspec, &m->tmap, tfile));
  GF_TRY(build_g(&m->S, cfg, ops, gname(m), m->h, m->w, &m->sspec, &m->smap, sfile));
  m->D = calloc(1, sizeof *m->D);
  if (!m->D) return gf__fail(GF_ENOMEM, "out of memory");
  GF_TRY(gf__build_patch_d(m->D, tcfg, ops, dname(m), m->pix2pix ? 2 * m->c : m->c, m->h, m->w));
  GF_TRY(gf__net_plan(m->D));
  GF_TRY(fits(tfile, m->D));
  GF_TRY(fits(sfile, m->D));
  GF_TRY(gf__net_finalize(m->D));
  gf__inc_ka_layers(&m->tmap, m->tspec.nb, m->tka);
  gf__inc_ka_layers(&m->smap, m->sspec.nb, m->ska);
  GF_TRY(gf__ctx_create(&m->cT, m->T, B));
  GF_TRY(gf__ctx_create(&m->cS, m->S, B));
  GF_TRY(gf__ctx_create(&m->cDf, m->D, B));
  GF_TRY(gf__ctx_create(&m->cDr, m->D, B));
  const size_t d = (size_t)B * m->dim;
  m->real_A = ops->alloc(sizeof(float) * d);
  m->real_B = ops->alloc(sizeof(float) * d);
  m->ka_ws = ops->alloc(sizeof(float) * 3 * (size_t)B * B);
  m->stats = ops->alloc(sizeof(float) * CS_N);
  if (!m->real_A || !m->real_B || !m->ka_ws || !m->stats) return gf__fail(GF_ENOMEM, "out of memory for batch buffers");
  if (m->pix2pix) {
    m->cat_f = ops->alloc(sizeof(float) * 2 * d);
    m->cat_r = ops->alloc(sizeof(float) * 2 * d);
    m->dcat = ops->alloc(sizeof(float) * 2 * d);
    if (!m->cat_f || !m->cat_r || !m->dcat) return gf__fail(GF_ENOMEM, "out of memory for batch buffers");
  }
  for (int i = 0; i < GF_KA_LAYERS; i++) {
    for (int j = 0; j < i && !m->ginj[i]; j++)
      if (m->ska[j] == m->ska[i]) m->ginj[i] = m->ginj[j];
    if (m->ginj[i]) continue;
    m->ginj[i] = ops->alloc(sizeof(float) * (size_t)B * gf__layer_out_size(&m->S->layers[m->ska[i]]));
    if (!m->ginj[i]) return gf__fail(GF_ENOMEM, "out of memory for the distillation gradients");
    m->cS.ginj[m->ska[i]] = m->ginj[i];
  }
  m->og.lr = m->od.lr = cfg->train_lr;
  m->epoch = 1;
  return 0;
}

/* CAT's code re-initialises the pruned student's convolutions (init_net after shrink_model):
   N(0, gain) weights, zero biases, BatchNorm scales N(1, gain); InstanceNorm scales stay. */
static void init_scratch(gf__compress *m) {
  gf__net *S = m->S;
  float *P = malloc(sizeof(float) * (size_t)(S->nparam + 1));
  if (!P) return;
  m->ops->to_host(P, S->params, sizeof(float) * (size_t)S->nparam);
  const float gain = (float)m->cfg.model_init_gain;
  for (int i = 0; i < S->n; i++) {
    const gf__layer *l = &S->layers[i];
    if (l->kind == GF_LAYER_CONV || l->kind == GF_LAYER_CONVT) {
      gf__rng_normal(&m->r_init, P + l->w_off, l->w_n, 0.0f, gain);
      if (l->b_n) memset(P + l->b_off, 0, sizeof(float) * (size_t)l->b_n);
    } else if (l->kind == GF_LAYER_BATCHNORM && l->affine) {
      gf__rng_normal(&m->r_init, P + l->w_off, l->w_n, 1.0f, gain);
      memset(P + l->b_off, 0, sizeof(float) * (size_t)l->b_n);
    }
  }
  m->ops->to_device(S->params, P, sizeof(float) * (size_t)S->nparam);
  free(P);
}

static void compress_set_epoch(gf__compress *m, int epoch) {
  m->epoch = epoch;
  m->og.lr = m->od.lr = m->cfg.train_lr * gf__i2i_lr_factor(&m->cfg, epoch);
}

/* train.optimizer (Adam: the paper's and the preset's) on a whole network arena. */
static void opt_step(gf__compress *m, gf__net *net, const gf__opt_state *st) {
  gf__opt_apply(m->ops, net, &m->cfg, st, m->cfg.train_momentum);
}

/* D on x with the LSGAN / BCE loss against real or fake labels into stats st[0..1] (backend). */
static void d_loss(gf__compress *m, gf__ctx *ctx, const float *x, int real, float scale, float *st) {
  const int vanilla = !strcmp(m->tcfg.model_gan_mode, "vanilla");
  const gf__gan_loss k = vanilla ? (real ? GF_LOSS_BCE_ONE : GF_LOSS_BCE_ZERO) : (real ? GF_LOSS_MSE_ONE : GF_LOSS_MSE_ZERO);
  const float *p = gf__net_forward(m->D, ctx, x, m->B, 1, &m->r_drop);
  gf__ctx_zero_dout(m->D, ctx);
  m->ops->gan_loss(k, st, gf__ctx_dout(m->D, ctx), p, (size_t)m->B * gf__net_out_size(m->D), scale);
}

/* pix2pix: dst [B, 2 dim] = per sample (a, x). */
static void pair(gf__compress *m, float *dst, const float *a, const float *x) {
  const size_t d = (size_t)m->dim;
  for (int i = 0; i < m->B; i++) {
    m->ops->copy(dst + 2 * d * i, a + d * i, d);
    m->ops->copy(dst + 2 * d * i + d, x + d * i, d);
  }
}

/* One step as CAT's InceptionDistiller.optimize_parameters: teacher and student forward, the
   discriminator on the student's fakes and the real targets (halved LSGAN, no pool), then the
   student: GAN loss through the updated discriminator + lambda_recon L1 to the teacher's output
   (pix2pix: to the target) - lambda_distill sum of KA over the four layers. Allocates nothing and
   reads nothing back: the losses accumulate into m->stats (compress_stats reads them after the step). */
static void compress_step(gf__compress *m, const float *a, const float *b) {
  const gf__ops *o = m->ops;
  const gf_config *c = &m->cfg;
  const int B = m->B;
  const size_t n = (size_t)B * m->dim;
  float *st = m->stats;
  o->fill(st, 0.0f, CS_N);
  const float *tf = gf__net_forward(m->T, &m->cT, a, B, 1, &m->r_drop);
  const float *sf = gf__net_forward(m->S, &m->cS, a, B, 1, &m->r_drop);
  const float *fake = sf, *real = b;
  if (m->pix2pix) {
    pair(m, m->cat_f, a, sf);
    pair(m, m->cat_r, a, b);
    fake = m->cat_f;
    real = m->cat_r;
  }
  d_loss(m, &m->cDf, fake, 0, 0.5f, st + CS_DF);
  d_loss(m, &m->cDr, real, 1, 0.5f, st + CS_DR);
  gf__net_zero_grad(m->D);
  gf__net_backward(m->D, &m->cDf, NULL, 1);
  gf__net_backward(m->D, &m->cDr, NULL, 1);
  m->od.t++;
  opt_step(m, m->D, &m->od);
  /* the student */
  float *ds = gf__ctx_dout(m->S, &m->cS);
  gf__ctx_zero_dout(m->S, &m->cS);
  d_loss(m, &m->cDf, fake, 1, (float)c->compress_lambda_gan, st + CS_GAN);
  if (m->pix2pix) {
    o->fill(m->dcat, 0.0f, 2 * n);
    gf__net_backward(m->D, &m->cDf, m->dcat, GF_GRAD_NONE);
    for (int i = 0; i < B; i++) o->axpy(ds + m->dim * i, 1.0f, m->dcat + 2 * m->dim * i + m->dim, (size_t)m->dim);
  } else {
    gf__net_backward(m->D, &m->cDf, ds, GF_GRAD_NONE);
  }
  o->l1_loss(st + CS_L1, ds, sf, m->pix2pix ? b : tf, n, (float)c->compress_lambda_recon);
  for (int i = 0; i < GF_KA_LAYERS; i++) {
    int first = 1;
    for (int j = 0; j < i; j++) first &= m->ginj[j] != m->ginj[i];
    const long ds_ = gf__layer_out_size(&m->S->layers[m->ska[i]]), dt = gf__layer_out_size(&m->T->layers[m->tka[i]]);
    if (first) o->fill(m->ginj[i], 0.0f, (size_t)B * ds_);
    gf__ka(o, st + CS_KA0 + i, m->ginj[i], m->cS.out[m->ska[i]], m->cT.out[m->tka[i]], B, ds_, dt,
           -(float)c->compress_lambda_distill, m->ka_ws);
  }
  gf__net_backward(m->S, &m->cS, NULL, GF_GRAD_OVERWRITE);
  m->og.t++;
  opt_step(m, m->S, &m->og);
  m->steps++;
}

/* The step's one read-back: the losses from m->stats, device failures, non-finite losses. */
static int compress_stats(gf__compress *m) {
  const gf_config *c = &m->cfg;
  float s[CS_N];
  m->ops->to_host(s, m->stats, sizeof s);
  GF_TRY(m->ops->check());
  m->loss_D_fake = s[CS_DF];
  m->loss_D_real = s[CS_DR];
  m->loss_D = 0.5f * (m->loss_D_fake + m->loss_D_real);
  m->loss_G_gan = s[CS_GAN] * (float)c->compress_lambda_gan;
  m->loss_G_recon = s[CS_L1] * (float)c->compress_lambda_recon;
  m->loss_G_distill = 0;
  for (int i = 0; i < GF_KA_LAYERS; i++) {
    m->ka[i] = s[CS_KA0 + i];
    m->loss_G_distill -= (float)(c->compress_lambda_distill * m->ka[i]);
  }
  m->loss_G = m->loss_G_gan + m->loss_G_recon + m->loss_G_distill;
  if (!isfinite(m->loss_D)) return gf__fail(GF_ENUMERIC, "loss_D is %g at step %ld", (double)m->loss_D, m->steps);
  if (!isfinite(m->loss_G)) return gf__fail(GF_ENUMERIC, "loss_G is %g at step %ld", (double)m->loss_G, m->steps);
  return 0;
}

/* ---------------- files ---------------- */

static int save_weights(gf__compress *m, const char *dir) {
  char path[2200], steps[32], epoch[32];
  snprintf(path, sizeof path, "%s/%s", dir, gf__i2i_weights_name(m->pix2pix));
  snprintf(steps, sizeof steps, "%ld", m->steps);
  snprintf(epoch, sizeof epoch, "%d", m->epoch);
  const char *meta[] = {"steps", steps, "epoch", epoch, "directions", "AtoB", "compressed_from", m->cfg.compress_teacher};
  gf__net *nets[2] = {m->S, m->D};
  return gf__weights_save(path, nets, 2, &m->cfg, meta, 4);
}

typedef struct cpos { int epoch, batch; uint64_t data_epoch_counter; double seconds; } cpos;
typedef struct cckpt { gf__compress *m; const cpos *pos; } cckpt;

static void flat_tensors(gf__compress *m, gf__flat_tensor *t) {
  gf__net *n[2] = {m->S, m->D};
  gf__opt_flat_tensors(n, 2, t);
}

#define CKPT_FORMAT "ganforge-checkpoint-1" /* with metadata run = compress */

static int ckpt_save(const char *path, void *u) {
  cckpt *c = u;
  gf__compress *m = c->m;
  gf__flat_tensor t[4];
  flat_tensors(m, t);
  char v[9][48];
  snprintf(v[0], 48, "%ld", m->steps);
  snprintf(v[1], 48, "%d", c->pos->epoch);
  snprintf(v[2], 48, "%d", c->pos->batch);
  snprintf(v[3], 48, "%" PRIu64, c->pos->data_epoch_counter);
  snprintf(v[4], 48, "%" PRIu64, m->r_data.counter);
  snprintf(v[5], 48, "%" PRIu64, m->r_drop.counter);
  snprintf(v[6], 48, "%ld", m->og.t);
  snprintf(v[7], 48, "%ld", m->od.t);
  snprintf(v[8], 48, "%.6f", c->pos->seconds);
  const char *meta[] = {"checkpoint", CKPT_FORMAT, "run", "compress", "steps", v[0], "epoch", v[1], "batch", v[2], "rng.data_epoch_counter", v[3],
                        "rng.data_counter", v[4], "rng.dropout_counter", v[5], "opt.G.step", v[6], "opt.D.step", v[7],
                        "seconds", v[8]};
  gf__net *n[2] = {m->S, m->D};
  return gf__weights_save_ex(path, n, 2, t, 4, &m->cfg, meta, (int)(sizeof meta / sizeof meta[0]) / 2);
}

static int save_checkpoint(gf__compress *m, const cpos *pos, const char *dir) {
  cckpt c = {m, pos};
  return gf__checkpoint_save_step(dir, m->steps, m->cfg.train_keep, ckpt_save, &c);
}

static int load_checkpoint(gf__compress *m, const char *path, cpos *pos) {
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  int rc = 0;
  const char *fmt = gf__st_meta(&f, "checkpoint");
  const char *run = gf__st_meta(&f, "run");
  if (!fmt || strcmp(fmt, CKPT_FORMAT) || !run || strcmp(run, "compress"))
    rc = gf__fail(GF_EFORMAT, "%s: not a checkpoint of 'ganforge compress'", path);
  if (rc == 0) rc = gf__weights_load_net(&f, m->S);
  if (rc == 0) rc = gf__weights_load_net(&f, m->D);
  uint64_t u[9];
  static const char *const keys[] = {"steps", "epoch", "batch", "rng.data_epoch_counter", "rng.data_counter",
                                     "rng.dropout_counter", "opt.G.step", "opt.D.step"};
  for (int i = 0; i < 8 && rc == 0; i++) rc = gf__st_meta_u64(&f, keys[i], &u[i]);
  if (rc == 0 && u[1] < 1) rc = gf__fail(GF_EFORMAT, "%s: inconsistent checkpoint (epoch 0)", path);
  if (rc == 0) {
    m->steps = (long)u[0];
    pos->epoch = (int)u[1];
    pos->batch = (int)u[2];
    pos->data_epoch_counter = u[3];
    m->r_data.counter = u[4];
    m->r_drop.counter = u[5];
    m->og.t = (long)u[6];
    m->od.t = (long)u[7];
    const char *sec = gf__st_meta(&f, "seconds");
    pos->seconds = sec ? strtod(sec, NULL) : 0;
  }
  gf__flat_tensor t[4];
  flat_tensors(m, t);
  for (int i = 0; i < 4 && rc == 0; i++) rc = gf__checkpoint_load_flat(&f, t[i].name, (float *)t[i].data, t[i].n, m->ops);
  gf__st_close(&f);
  return rc;
}

/* real A | teacher | student (pix2pix: | target) per row, for k fixed training images. */
static int write_picture(gf__compress *m, const float *A, const float *Bt, int k, float *host, const char *path) {
  const gf__ops *o = m->ops;
  const size_t d = (size_t)m->dim;
  const int cols = m->pix2pix ? 4 : 3;
  for (int i = 0; i < k; i++) {
    float *row = host + (size_t)i * cols * d;
    o->to_device(m->real_A, A + i * d, sizeof(float) * d);
    memcpy(row, A + i * d, sizeof(float) * d);
    o->to_host(row + d, gf__net_forward(m->T, &m->cT, m->real_A, 1, 1, NULL), sizeof(float) * d);
    o->to_host(row + 2 * d, gf__net_forward(m->S, &m->cS, m->real_A, 1, 1, NULL), sizeof(float) * d);
    if (m->pix2pix) memcpy(row + 3 * d, Bt + i * d, sizeof(float) * d);
  }
  return gf__grid_write_png(path, host, k * cols, 3, m->h, m->w, cols, -1.0f, 1.0f, 1);
}

static void human(double v, char *buf, size_t cap) {
  if (v >= 1e9) snprintf(buf, cap, "%.2f G", v / 1e9);
  else snprintf(buf, cap, "%.1f M", v / 1e6);
}

/* MACs of the generator of cfg at s x s (0 if it does not build). */
static long long macs_at(const gf_config *cfg, int s) {
  long long r = 0;
  long p;
  return gf_generator_cost(cfg, s, s, &r, &p) == 0 ? r : 0;
}

/* The pruning's summary, RUN/compress.txt (the agreement figures are appended at the end). */
static int write_summary(gf__compress *m, const gf__prune_plan *p, const char *dir) {
  char path[2200], a[32], b[32], c[32], d[32];
  snprintf(path, sizeof path, "%s/compress.txt", dir);
  FILE *f = fopen(path, "w");
  if (!f) return gf__fail(GF_EIO, "%s: cannot write", path);
  char spec[GF_CONFIG_LSTR];
  gf__inc_spec_format(&m->sspec, spec, sizeof spec);
  human((double)p->teacher_macs, a, sizeof a);
  human((double)p->student_macs, b, sizeof b);
  human((double)macs_at(&m->tcfg, 256), c, sizeof c);
  human((double)macs_at(&m->cfg, 256), d, sizeof d);
  fprintf(f, "teacher: %s (%s)\nteacher_macs_%dpx: %lld (%s)\nteacher_macs_256px: %lld (%s)\nteacher_params: %ld\n",
          m->cfg.compress_teacher, m->teacher_at, m->h, p->teacher_macs, a, macs_at(&m->tcfg, 256), c, m->T->nparam);
  fprintf(f, "budget_%dpx: %.0f\nstudent_macs_%dpx: %lld (%s, %.1fx fewer)\nstudent_macs_256px: %lld (%s)\n"
          "student_params: %ld (%.1fx fewer)\n", m->h, m->cfg.compress_macs, m->h, p->student_macs, b,
          (double)p->teacher_macs / (double)p->student_macs, macs_at(&m->cfg, 256), d, m->S->nparam,
          (double)m->T->nparam / (double)m->S->nparam);
  fprintf(f, "threshold: %.6g (|norm scale| kept above it; %d bisection steps)\nmin_channels: %d\nstudent_widths: %s\n"
          "init: %s\n", p->threshold, p->iterations, m->cfg.compress_min_channels, spec, m->cfg.compress_init);
  fclose(f);
  fprintf(stderr, "ganforge: pruned the teacher from %s to %s multiply-adds per %dx%d image (budget %.4g G; %ld -> %ld "
          "parameters): model.g_channels=%s\n", a, b, m->w, m->h, m->cfg.compress_macs / 1e9, m->T->nparam, m->S->nparam, spec);
  return 0;
}

/* ---------------- agreement with the teacher on the test images ---------------- */

/* A copy of net n (same architecture and weights) planned for h x w. */
static int net_at(const gf_config *cfg, const gf__net *n, int h, int w, gf__net **out) {
  gf__net *r = calloc(1, sizeof *r);
  if (!r) return gf__fail(GF_ENOMEM, "out of memory");
  *out = r;
  GF_TRY(gf__build_i2i_generator(r, cfg, n->ops, n->name, 3, 3, h, w));
  GF_TRY(gf__net_finalize(r));
  if (r->nparam != n->nparam || r->nbuf != n->nbuf) return gf__fail(GF_EINVAL, "%s: rebuilt with other parameters", n->name);
  n->ops->copy(r->params, n->params, (size_t)n->nparam);
  if (n->nbuf) n->ops->copy(r->buffers, n->buffers, (size_t)n->nbuf);
  return 0;
}

static void to_u8(const float *y, uint8_t *o, size_t plane) {
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++) {
      float v = (y[c * plane + i] + 1.0f) * 127.5f;
      o[i * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v));
    }
}

/* Translates the images of DIR/testA (the first data.limit when set; CycleGAN teachers only) with
   teacher and student as `translate` does, and appends the
   mean L1 (0-255 scale) and PSNR of the student's 8-bit output against the teacher's to
   RUN/compress.txt; the first 4 images side by side (input | teacher | student) go to
   RUN/compare.png. */
static int agreement(gf__compress *m, const char *dir) {
  char tdir[2200], path[2200];
  snprintf(tdir, sizeof tdir, "%s/testA", m->cfg.data_path);
  struct stat st;
  if (m->pix2pix || stat(tdir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  char **paths = NULL;
  int np = 0;
  GF_TRY(gf__image_list(tdir, &paths, &np));
  gf__net *T = NULL, *S = NULL;
  gf__ctx ct, cs;
  memset(&ct, 0, sizeof ct);
  memset(&cs, 0, sizeof cs);
  int H = -1, W = -1, done = 0, rc = 0;
  double l1 = 0, psnr = 0;
  const int show = 4;
  float *grid = NULL;
  int gh = 0, gw = 0, ng = 0;
  const int lim = m->cfg.data_limit > 0 && m->cfg.data_limit < np ? m->cfg.data_limit : np;
  for (int i = 0; i < lim && rc == 0; i++) {
    uint8_t *pix = NULL;
    int w, h, ch;
    if (gf__image_load(paths[i], &pix, &w, &h, &ch) < 0 || gf__i2i_check_size(&m->cfg, h, w) < 0) { free(pix); continue; }
    if (h != H || w != W) {
      gf__ctx_destroy(&ct);
      gf__ctx_destroy(&cs);
      free_net(&T);
      free_net(&S);
      rc = net_at(&m->tcfg, m->T, h, w, &T);
      if (rc == 0) rc = net_at(&m->cfg, m->S, h, w, &S);
      if (rc == 0) rc = gf__ctx_create(&ct, T, 1);
      if (rc == 0) rc = gf__ctx_create(&cs, S, 1);
      H = h; W = w;
    }
    const size_t plane = (size_t)w * h;
    float *x = malloc(sizeof(float) * 3 * plane), *yt = malloc(sizeof(float) * 3 * plane), *ys = malloc(sizeof(float) * 3 * plane);
    uint8_t *ut = malloc(3 * plane), *us = malloc(3 * plane);
    if (!x || !yt || !ys || !ut || !us) rc = gf__fail(GF_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < plane; k++)
      for (int c = 0; c < 3; c++) x[c * plane + k] = pix[k * ch + (ch >= 3 ? c : 0)] * (2.0f / 255.0f) - 1.0f;
    float *xd = rc == 0 ? m->ops->alloc(sizeof(float) * 3 * plane) : NULL;
    if (rc == 0 && !xd) rc = gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0) {
      m->ops->to_device(xd, x, sizeof(float) * 3 * plane);
      m->ops->to_host(yt, gf__net_forward(T, &ct, xd, 1, 1, NULL), sizeof(float) * 3 * plane);
      m->ops->to_host(ys, gf__net_forward(S, &cs, xd, 1, 1, NULL), sizeof(float) * 3 * plane);
      to_u8(yt, ut, plane);
      to_u8(ys, us, plane);
      double sa = 0, sq = 0;
      for (size_t k = 0; k < 3 * plane; k++) {
        double e = (double)ut[k] - (double)us[k];
        sa += fabs(e);
        sq += e * e;
      }
      sq /= 3.0 * (double)plane;
      l1 += sa / (3.0 * (double)plane);
      psnr += sq > 0 ? 10.0 * log10(255.0 * 255.0 / sq) : 100.0;
      done++;
      if (ng < show && (ng == 0 || (h == gh && w == gw))) {
        if (!grid) { gh = h; gw = w; grid = malloc(sizeof(float) * 3 * plane * 3 * show); }
        if (grid) {
          float *row = grid + (size_t)ng * 3 * 3 * plane;
          memcpy(row, x, sizeof(float) * 3 * plane);
          memcpy(row + 3 * plane, yt, sizeof(float) * 3 * plane);
          memcpy(row + 6 * plane, ys, sizeof(float) * 3 * plane);
          ng++;
        }
      }
    }
    if (xd) m->ops->free(xd);
    free(pix); free(x); free(yt); free(ys); free(ut); free(us);
  }
  if (rc == 0 && grid && ng) {
    snprintf(path, sizeof path, "%s/compare.png", dir);
    rc = gf__grid_write_png(path, grid, 3 * ng, 3, gh, gw, 3, -1.0f, 1.0f, 1);
  }
  if (rc == 0 && done) {
    /* RUN/compress.txt without earlier agreement lines (a resumed run measures again), plus these */
    snprintf(path, sizeof path, "%s/compress.txt", dir);
    FILE *f = fopen(path, "r");
    size_t cap = 65536, len = 0;
    char *text = malloc(cap), line[4096];
    while (text && f && fgets(line, sizeof line, f))
      if (strncmp(line, "agreement_", 10) && len + strlen(line) < cap - 512) len += (size_t)sprintf(text + len, "%s", line);
    if (f) fclose(f);
    if (text) {
      len += (size_t)snprintf(text + len, cap - len, "agreement_images: %d (%.300s)\nagreement_mean_l1_0_255: %.3f\n"
                              "agreement_psnr_db: %.2f\n", done, tdir, l1 / done, psnr / done);
      rc = gf__write_file_atomic(path, text, len);
      free(text);
    }
    fprintf(stderr, "ganforge: student vs teacher on %d test images: mean |difference| %.2f of 255, PSNR %.2f dB (%s/compare.png)\n",
            done, l1 / done, psnr / done, dir);
  }
  gf__ctx_destroy(&ct);
  gf__ctx_destroy(&cs);
  free_net(&T);
  free_net(&S);
  for (int i = 0; i < np; i++) free(paths[i]);
  free(paths);
  free(grid);
  return rc;
}

/* ---------------- the run ---------------- */

static int load_net_from(const char *path, gf__net *n) {
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  int rc = gf__weights_load_net(&f, n);
  gf__st_close(&f);
  return rc;
}

/* The run's starting point: a fresh run prunes the teacher; a resumed one reads the teacher from
   RUN/teacher.safetensors and the rest from the checkpoint. */
static int setup(gf__compress *m, const gf_config *cfg_in, const gf_train_opts *opts, const gf__ops *ops, cpos *pos) {
  const char *out = opts->out_dir;
  char tpath[2200];
  gf_config tcfg, cfg = *cfg_in;
  if (opts->resume) {
    char tfile[2200];
    snprintf(tfile, sizeof tfile, "%s/teacher.safetensors", out);
    GF_TRY(gf_compress_teacher(tfile, tpath, sizeof tpath, &tcfg));
    GF_TRY(compress_create(m, &cfg, &tcfg, ops, cfg.train_batch, tpath, opts->resume));
    GF_TRY(load_net_from(tpath, m->T));
    return load_checkpoint(m, opts->resume, pos);
  }
  GF_TRY(gf_compress_teacher(cfg.compress_teacher, tpath, sizeof tpath, &tcfg));
  /* the teacher at the run's crop size, and the plan */
  gf_config pc = cfg;
  pc.model_g_channels[0] = 0;
  snprintf(pc.model_g_channels, sizeof pc.model_g_channels, "%s", tcfg.model_g_channels);
  /* the student = the teacher until planned; the teacher file must hold the teacher and D */
  GF_TRY(compress_create(m, &pc, &tcfg, ops, cfg.train_batch, tpath, NULL));
  int rc = load_net_from(tpath, m->T);
  if (rc == 0) rc = load_net_from(tpath, m->D);
  gf__st_file tf;
  char at[96] = "";
  if (rc == 0 && gf__st_open(&tf, tpath) == 0) {
    const char *st = gf__st_meta(&tf, "steps"), *ep = gf__st_meta(&tf, "epoch");
    snprintf(at, sizeof at, "after %.20s steps, epoch %.20s", st ? st : "?", ep ? ep : "?");
    gf__st_close(&tf);
  }
  gf__prune_plan plan;
  if (rc == 0)
    rc = gf__prune_search(&tcfg, m->T, &m->tmap, &m->tspec, m->h, m->w, cfg.compress_macs, cfg.compress_min_channels, &plan);
  if (rc < 0) return rc;
  gf__inc_spec_format(&plan.spec, cfg.model_g_channels, sizeof cfg.model_g_channels);
  /* rebuild with the student's widths, keeping the loaded teacher and discriminator */
  gf__net *T = m->T, *D = m->D;
  m->T = m->D = NULL;
  compress_destroy(m);
  rc = compress_create(m, &cfg, &tcfg, ops, cfg.train_batch, NULL, NULL); /* checked above; the student is smaller */
  if (rc == 0) {
    ops->copy(m->T->params, T->params, (size_t)T->nparam);
    if (T->nbuf) ops->copy(m->T->buffers, T->buffers, (size_t)T->nbuf);
    ops->copy(m->D->params, D->params, (size_t)D->nparam);
    if (D->nbuf) ops->copy(m->D->buffers, D->buffers, (size_t)D->nbuf);
  }
  free_net(&T);
  free_net(&D);
  snprintf(m->teacher_at, sizeof m->teacher_at, "%s", at);
  if (rc == 0) rc = gf__prune_transfer(m->T, &m->tmap, &m->tspec, m->S, &m->smap, &plan, cfg.compress_min_channels);
  if (rc == 0 && !strcmp(cfg.compress_init, "scratch")) init_scratch(m);
  if (rc == 0) rc = gf__run_dir_prepare(out); /* the plan holds: now the run folder */
  if (rc == 0) { /* the teacher and the discriminator it started from, for resume and reference */
    snprintf(tpath, sizeof tpath, "%s/teacher.safetensors", out);
    gf__net *nets[2] = {m->T, m->D};
    const char *meta[] = {"teacher_of", out, "source", cfg.compress_teacher};
    rc = gf__weights_save(tpath, nets, 2, &m->tcfg, meta, 2);
  }
  if (rc == 0) rc = write_summary(m, &plan, out);
  return rc;
}

int gf_compress(const gf_config *cfg_in, const gf_train_opts *opts) {
  gf_config cfg = *cfg_in;
  const gf__ops *ops;
  GF_TRY(gf__ops_for_config(&cfg, &ops));
  const int B = cfg.train_batch;
  if (!cfg.data_path[0]) return gf__fail(GF_EUSAGE, "compress needs the training images: --data DIR (the teacher's data.path is empty)");
  if (B < 2 && cfg.compress_lambda_distill > 0)
    return gf__fail(GF_EUSAGE, "train.batch %d: the kernel-alignment loss compares the samples of a batch with each other, "
                    "so it needs at least 2 (--batch 4)", B);
  if (!opts->resume && !(cfg.compress_macs > 0)) return gf__fail(GF_EUSAGE, "compress needs a budget: --macs N (e.g. 2.6G)");
  const char *out = opts->out_dir ? opts->out_dir : "runs/compress";
  gf_train_opts o2 = *opts;
  o2.out_dir = out;
  opts = &o2;
  if (opts->resume) GF_TRY(gf__run_dir_prepare(out));
  gf__compress *m = calloc(1, sizeof *m);
  if (!m) return gf__fail(GF_ENOMEM, "out of memory");
  cpos pos = {1, 0, 0, 0.0};
  gf__i2i_data data;
  memset(&data, 0, sizeof data);
  int rc = setup(m, &cfg, opts, ops, &pos);
  cfg = m->cfg;
  const int pix = m->pix2pix;
  if (rc == 0)
    rc = gf__i2i_load(&data, cfg.data_path, "train", pix, !strcmp(cfg.data_direction, "BtoA"), cfg.data_load_size,
                      cfg.data_crop_size, cfg.data_limit, !strcmp(cfg.data_on_bad_image, "fail"));
  const int len = rc == 0 ? gf__i2i_epoch_len(&data) : 0, nb = len / B;
  if (rc == 0 && nb < 1) rc = gf__fail(GF_EUSAGE, "%d training images are fewer than the batch size %d", len, B);
  const size_t d = (size_t)m->dim;
  const int k = rc == 0 ? GF_MIN(3, GF_MIN(data.A.n, data.B.n)) : 0;
  float *ha = malloc(sizeof(float) * d * B), *hb = malloc(sizeof(float) * d * B);
  float *pa = malloc(sizeof(float) * d * 3), *pb = malloc(sizeof(float) * d * 3), *grid = malloc(sizeof(float) * d * 3 * 4);
  int *perm = malloc(sizeof(int) * (size_t)(len + 1));
  FILE *log = NULL;
  char path[2200];
  if (rc == 0 && (!ha || !hb || !pa || !pb || !grid || !perm)) rc = gf__fail(GF_ENOMEM, "out of memory");
  if (rc < 0) goto done;
  for (int i = 0; i < k; i++) gf__i2i_get(&data, i, i, NULL, 0, pa + i * d, pb + i * d);
  snprintf(path, sizeof path, "%s/config.txt", out);
  if ((rc = gf_config_save(&cfg, path)) < 0) goto done;
  snprintf(path, sizeof path, "%s/log.csv", out);
  log = gf__run_log_open(path, "step,epoch,lr,loss_G,loss_G_gan,loss_G_recon,loss_G_distill,ka_0,ka_1,ka_2,ka_3,loss_D,"
                         "loss_D_real,loss_D_fake,seconds\n", opts->resume != NULL, m->steps);
  if (!log) { rc = GF_EIO; goto done; }
  const int epochs = cfg.train_n_epochs + cfg.train_n_epochs_decay;
  long total = (long)epochs * nb;
  if (cfg.train_max_steps && cfg.train_max_steps < total) total = cfg.train_max_steps;
  fprintf(stderr, "ganforge: distilling %d epochs of %d steps (batch %d): GAN x %g + L1 to the %s x %g - KA x %g at 4 layers\n",
          epochs, nb, B, cfg.compress_lambda_gan, pix ? "target" : "teacher", cfg.compress_lambda_recon,
          cfg.compress_lambda_distill);
  const double t0 = gf__now() - pos.seconds;
  int stop = cfg.train_max_steps && m->steps >= cfg.train_max_steps, interrupted = 0;
  for (int epoch = pos.epoch; epoch <= epochs && !stop; epoch++) {
    compress_set_epoch(m, epoch);
    const uint64_t mid = m->r_data.counter;
    const int first = opts->resume && epoch == pos.epoch;
    if (!first) pos.data_epoch_counter = m->r_data.counter;
    m->r_data.counter = pos.data_epoch_counter;
    gf__rng_perm(&m->r_data, perm, len);
    if (first) m->r_data.counter = mid;
    pos.epoch = epoch;
    for (int s = first ? pos.batch : 0; s < nb && !stop; s++) {
      for (int j = 0; j < B; j++) {
        int idx = perm[s * B + j];
        int ia = idx % data.A.n, ib = data.aligned ? ia : (int)gf__rng_below(&m->r_data, (uint32_t)data.B.n);
        gf__i2i_get(&data, ia, ib, &m->r_data, cfg.data_flip ? 2 : 1, ha + j * d, hb + j * d);
      }
      /* one training step (its images uploaded), then the one read-back of its losses */
      ops->step_begin();
      ops->to_device(m->real_A, ha, sizeof(float) * d * B);
      ops->to_device(m->real_B, hb, sizeof(float) * d * B);
      compress_step(m, m->real_A, m->real_B);
      ops->step_end();
      if ((rc = compress_stats(m)) < 0) break;
      const double secs = gf__now() - t0;
      if (m->steps % cfg.train_log_every == 0) {
        fprintf(log, "%ld,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.3f\n", m->steps, epoch, m->og.lr,
                m->loss_G, m->loss_G_gan, m->loss_G_recon, m->loss_G_distill, m->ka[0], m->ka[1], m->ka[2], m->ka[3],
                m->loss_D, m->loss_D_real, m->loss_D_fake, secs);
        fflush(log);
      }
      if (opts->progress) {
        gf_progress p = {epoch, epochs, m->steps, total, secs, m->steps / (secs > 0 ? secs : 1e-9), m->loss_D, m->loss_G,
                         (float)m->ka[3], 0};
        if (opts->progress(&p, opts->user)) stop = interrupted = 1;
      }
      if (opts->stop_flag && *opts->stop_flag) stop = interrupted = 1;
      if (cfg.train_max_steps && m->steps >= cfg.train_max_steps) stop = 1;
      pos.batch = s + 1;
      pos.seconds = secs;
      if ((stop && s + 1 < nb) || (cfg.train_checkpoint_every && m->steps % cfg.train_checkpoint_every == 0 && s + 1 < nb)) {
        fflush(log);
        if ((rc = save_checkpoint(m, &pos, out)) < 0) break;
      }
    }
    if (rc < 0) break;
    snprintf(path, sizeof path, "%s/samples/epoch_%03d.png", out, epoch);
    if (k && (rc = write_picture(m, pa, pb, k, grid, path)) < 0) break;
    if ((rc = save_weights(m, out)) < 0) break;
    cpos next = {epoch + 1, 0, m->r_data.counter, gf__now() - t0};
    if (pos.batch >= nb && (rc = save_checkpoint(m, &next, out)) < 0) break;
    if (cfg.train_report) {
      static const char *const charts[] = {"Student losses|loss_G,loss_G_gan,loss_G_recon,loss_G_distill",
                                           "Kernel alignment with the teacher|ka_0,ka_1,ka_2,ka_3",
                                           "Discriminator|loss_D,loss_D_real,loss_D_fake", "Learning rate|lr", NULL};
      char title[2400];
      snprintf(title, sizeof title, "ganforge compress run %s (teacher %s)", out, cfg.compress_teacher);
      fflush(log);
      if ((rc = gf__write_run_report(out, &cfg, title, epoch, gf__now() - t0, charts,
                                     pix ? "Every epoch: input | teacher | student | target"
                                         : "Every epoch: input | teacher | student")) < 0)
        break;
    }
  }
  if (rc == 0 && m->steps == 0) rc = save_weights(m, out);
  if (rc == 0 && !interrupted) rc = agreement(m, out);
done:
  if (log) fclose(log);
  free(ha); free(hb); free(pa); free(pb); free(grid); free(perm);
  compress_destroy(m);
  free(m);
  gf__i2i_free(&data);
  return rc;
}

int gf_generator_cost(const gf_config *cfg, int h, int w, long long *macs, long *params) {
  gf__net *n = calloc(1, sizeof *n);
  if (!n) return gf__fail(GF_ENOMEM, "out of memory");
  int rc = gf__build_i2i_generator(n, cfg, gf__ops_cpu(), "G", 3, 3, h, w);
  if (rc == 0) {
    *macs = gf__net_macs(n);
    *params = n->nparam;
  }
  free(n);
  return rc;
}
