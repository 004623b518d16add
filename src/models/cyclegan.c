/* cyclegan.c: CycleGAN / pix2pix networks (junyanz/pytorch-CycleGAN-and-pix2pix defaults, the
   architecture of shared/REFERENCE.md), the image pool, and the training step. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "models/cyclegan.h"
#include "models/inception.h"

#define NORM_EPS 1e-5f
#define BN_MOMENTUM 0.1f

static int is_batchnorm(const gf_config *cfg) { return !strcmp(cfg->model_norm, "batch"); }

static int add_norm(gf__net *net, const gf_config *cfg) {
  if (is_batchnorm(cfg)) return gf__net_add_batchnorm(net, 1, NORM_EPS, BN_MOMENTUM);
  return gf__net_add_instnorm(net, cfg->model_norm_affine, NORM_EPS);
}

static int resnet_blocks(const gf_config *cfg) {
  if (cfg->model_n_blocks > 0) return cfg->model_n_blocks;
  return !strcmp(cfg->model_netG, "resnet_6blocks") ? 6 : 9;
}

static int unet_downs(const gf_config *cfg) {
  if (cfg->model_n_blocks > 0) return cfg->model_n_blocks;
  return !strcmp(cfg->model_netG, "unet_128") ? 7 : 8;
}

static int is_unet(const gf_config *cfg) { return !strncmp(cfg->model_netG, "unet", 4); }

int gf__i2i_check_size(const gf_config *cfg, int h, int w) {
  if (is_unet(cfg)) {
    int d = unet_downs(cfg), m = 1 << d;
    if (h % m || w % m || h < m || w < m)
      return gf__fail(GF_EINVAL, "the %s generator (%d downsamplings) takes images whose height and width are multiples "
                      "of %d; this one is %dx%d", cfg->model_netG, d, m, w, h);
    return 0;
  }
  if (h % 4 || w % 4 || h < 8 || w < 8)
    return gf__fail(GF_EINVAL, "the ResNet generator (%s) takes images whose height and width are multiples of 4 "
                    "(at least 8); this one is %dx%d", cfg->model_netG, w, h);
  return 0;
}

/* ResNet generator, as torch_ref.py resnet_g / junyanz ResnetGenerator (no dropout). */
static int build_resnet(gf__net *net, const gf_config *cfg, int out_c) {
  int ngf = cfg->model_ngf, nb = resnet_blocks(cfg), bias = !is_batchnorm(cfg);
  int t = 0;
  GF_TRY(gf__net_add_reflpad(net, 3, 3, 3, 3)); gf__net_name_last(net, "net.%d", t++);
  GF_TRY(gf__net_add_conv2d(net, ngf, 7, 7, 1, 1, 0, 0, bias)); gf__net_name_last(net, "net.%d", t++);
  GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "net.%d", t++);
  GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); gf__net_name_last(net, "net.%d", t++);
  for (int m = 1; m <= 2; m *= 2) {
    GF_TRY(gf__net_add_conv2d(net, ngf * m * 2, 3, 3, 2, 2, 1, 1, bias)); gf__net_name_last(net, "net.%d", t++);
    GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "net.%d", t++);
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); gf__net_name_last(net, "net.%d", t++);
  }
  for (int k = 0; k < nb; k++, t++) {
    GF_TRY(gf__net_add_res_begin(net)); gf__net_name_last(net, "net.%d", t);
    GF_TRY(gf__net_add_reflpad(net, 1, 1, 1, 1)); gf__net_name_last(net, "net.%d.b.0", t);
    GF_TRY(gf__net_add_conv2d(net, ngf * 4, 3, 3, 1, 1, 0, 0, bias)); gf__net_name_last(net, "net.%d.b.1", t);
    GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "net.%d.b.2", t);
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); gf__net_name_last(net, "net.%d.b.3", t);
    GF_TRY(gf__net_add_reflpad(net, 1, 1, 1, 1)); gf__net_name_last(net, "net.%d.b.4", t);
    GF_TRY(gf__net_add_conv2d(net, ngf * 4, 3, 3, 1, 1, 0, 0, bias)); gf__net_name_last(net, "net.%d.b.5", t);
    GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "net.%d.b.6", t);
    GF_TRY(gf__net_add_res_end(net)); gf__net_name_last(net, "net.%d", t);
  }
  for (int m = 4; m >= 2; m /= 2) {
    GF_TRY(gf__net_add_convt2d(net, ngf * m / 2, 3, 3, 2, 2, 1, 1, 1, 1, bias)); gf__net_name_last(net, "net.%d", t++);
    GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "net.%d", t++);
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); gf__net_name_last(net, "net.%d", t++);
  }
  GF_TRY(gf__net_add_reflpad(net, 3, 3, 3, 3)); gf__net_name_last(net, "net.%d", t++);
  GF_TRY(gf__net_add_conv2d(net, out_c, 7, 7, 1, 1, 0, 0, 1)); gf__net_name_last(net, "net.%d", t++);
  GF_TRY(gf__net_add_act(net, GF_ACT_TANH, 0)); gf__net_name_last(net, "net.%d", t++);
  return 0;
}

/* One junyanz UnetSkipConnectionBlock (level 0 = outermost), flattened: the block's input x is
   the previous layer's output. Non-outermost blocks start with LeakyReLU(0.2, inplace=True) and
   end with torch.cat([x, model(x)], 1); since the LeakyReLU ran in place on x, the skip carries
   LeakyReLU(x): our concat source is that activation. */
static int unet_block(gf__net *net, const gf_config *cfg, const char *prefix, int level, int downs, int in_c,
                      int out_c) {
  int ngf = cfg->model_ngf, bias = !is_batchnorm(cfg);
  /* channels (outer, inner) per level, outermost first */
  int outer, inner, dropout = 0;
  if (level == 0) { outer = out_c; inner = ngf; }
  else if (level <= 3) { outer = ngf << (level - 1); inner = ngf << level; }
  else { outer = inner = ngf * 8; dropout = level < downs - 1 && cfg->model_dropout; }
  int innermost = level == downs - 1;
  char sub[160];
  if (level == 0) {
    GF_TRY(gf__net_add_conv2d(net, inner, 4, 4, 2, 2, 1, 1, bias)); gf__net_name_last(net, "%s.0", prefix);
    snprintf(sub, sizeof sub, "%s.1.model", prefix);
    GF_TRY(unet_block(net, cfg, sub, 1, downs, inner, inner));
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); gf__net_name_last(net, "%s.2", prefix);
    GF_TRY(gf__net_add_convt2d(net, outer, 4, 4, 2, 2, 1, 1, 0, 0, 1)); gf__net_name_last(net, "%s.3", prefix);
    GF_TRY(gf__net_add_act(net, GF_ACT_TANH, 0)); gf__net_name_last(net, "%s.4", prefix);
    return 0;
  }
  (void)in_c;
  GF_TRY(gf__net_add_act(net, GF_ACT_LEAKY_RELU, 0.2f)); gf__net_name_last(net, "%s.0", prefix);
  int src = net->n - 1;
  GF_TRY(gf__net_add_conv2d(net, inner, 4, 4, 2, 2, 1, 1, bias)); gf__net_name_last(net, "%s.1", prefix);
  int k = 2;
  if (!innermost) {
    GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "%s.%d", prefix, k++);
    snprintf(sub, sizeof sub, "%s.%d.model", prefix, k++);
    GF_TRY(unet_block(net, cfg, sub, level + 1, downs, inner, inner));
  }
  GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); gf__net_name_last(net, "%s.%d", prefix, k++);
  GF_TRY(gf__net_add_convt2d(net, outer, 4, 4, 2, 2, 1, 1, 0, 0, bias)); gf__net_name_last(net, "%s.%d", prefix, k++);
  GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "%s.%d", prefix, k++);
  if (dropout) { GF_TRY(gf__net_add_dropout(net, 0.5f)); gf__net_name_last(net, "%s.%d", prefix, k++); }
  GF_TRY(gf__net_add_concat(net, src)); gf__net_name_last(net, "%s.cat", prefix);
  return 0;
}

int gf__build_i2i_generator(gf__net *net, const gf_config *cfg, const gf__ops *ops, const char *name, int in_c,
                            int out_c, int h, int w) {
  GF_TRY(gf__i2i_check_size(cfg, h, w));
  gf__net_init(net, ops, name, in_c, h, w);
  if (is_unet(cfg)) {
    int downs = unet_downs(cfg);
    if (downs < 5) return gf__fail(GF_EINVAL, "U-Net generator: %d downsamplings (at least 5)", downs);
    GF_TRY(unet_block(net, cfg, "net.model.model", 0, downs, in_c, out_c));
  } else if (!strcmp(cfg->model_g_block, "inception")) {
    gf__inc_spec s;
    GF_TRY(gf__inc_spec_from_config(&s, cfg));
    GF_TRY(gf__build_inception(net, cfg, &s, out_c, NULL));
  } else {
    GF_TRY(build_resnet(net, cfg, out_c));
  }
  return gf__net_plan(net);
}

/* PatchGAN, as torch_ref.py patch_d / junyanz NLayerDiscriminator. */
int gf__build_patch_d(gf__net *net, const gf_config *cfg, const gf__ops *ops, const char *name, int in_c, int h, int w) {
  int ndf = cfg->model_ndf, nl = cfg->model_n_layers_d, bias = !is_batchnorm(cfg), t = 0;
  gf__net_init(net, ops, name, in_c, h, w);
  GF_TRY(gf__net_add_conv2d(net, ndf, 4, 4, 2, 2, 1, 1, 1)); gf__net_name_last(net, "net.%d", t++);
  GF_TRY(gf__net_add_act(net, GF_ACT_LEAKY_RELU, 0.2f)); gf__net_name_last(net, "net.%d", t++);
  int mult = 1;
  for (int n = 1; n <= nl; n++) {
    int prev = mult;
    mult = (1 << n) < 8 ? 1 << n : 8;
    int s = n < nl ? 2 : 1;
    (void)prev;
    int rc = gf__net_add_conv2d(net, ndf * mult, 4, 4, s, s, 1, 1, bias);
    if (rc < 0) return gf__fail(GF_EINVAL, "PatchGAN with %d layers does not fit %dx%d images", nl, w, h);
    gf__net_name_last(net, "net.%d", t++);
    GF_TRY(add_norm(net, cfg)); gf__net_name_last(net, "net.%d", t++);
    GF_TRY(gf__net_add_act(net, GF_ACT_LEAKY_RELU, 0.2f)); gf__net_name_last(net, "net.%d", t++);
  }
  if (gf__net_add_conv2d(net, 1, 4, 4, 1, 1, 1, 1, 1) < 0)
    return gf__fail(GF_EINVAL, "PatchGAN with %d layers does not fit %dx%d images", nl, w, h);
  gf__net_name_last(net, "net.%d", t++);
  return gf__net_plan(net);
}

int gf__i2i_init(gf__net *net, gf__rng *r, float gain) {
  gf__net_set_init(net, 0, GF_INIT_NORMAL, gain);
  return gf__net_init_params(net, r, gain);
}

/* ---------------- image pool ---------------- */

int gf__pool_init(gf__image_pool *p, const gf__ops *ops, int size, long dim, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->size = size;
  p->dim = dim;
  gf__rng_init(&p->rng, seed, GF_STREAM_POOL);
  /* one spare image after the pool: where a query that stores nothing writes (see gf__pool_query) */
  p->images = ops->alloc(sizeof(float) * (size_t)(size + 1) * dim);
  if (!p->images) return gf__fail(GF_ENOMEM, "image pool: cannot allocate %d images", size);
  return 0;
}

void gf__pool_free(gf__image_pool *p, const gf__ops *ops) {
  if (p->images) ops->free(p->images);
  p->images = NULL;
}

void gf__pool_query(gf__image_pool *p, const gf__ops *ops, const float *fakes, int B, float *out) {
  /* Two copies per image whatever the draw (the step's op sequence stays the same, so a backend
     can replay it): out = the shown image, then the new image into the slot it replaces (the
     spare image after the pool when it replaces none). */
  size_t d = (size_t)p->dim;
  for (int i = 0; i < B; i++) {
    const float *img = fakes + i * d, *src = img;
    float *dst = p->images + (size_t)p->size * d;
    if (p->size > 0 && p->n < p->size) {
      dst = p->images + (size_t)p->n * d;
      p->n++;
    } else if (p->size > 0 && gf__rng_float(&p->rng) > 0.5f) {
      int id = (int)gf__rng_below(&p->rng, (uint32_t)p->size);
      dst = p->images + (size_t)id * d;
      src = dst;
    }
    ops->copy(out + i * d, src, d);
    ops->copy(dst, img, d);
  }
}

/* ---------------- model ---------------- */

static int build_all(gf__cyclegan *m, const gf_config *cfg, const gf__ops *ops) {
  int c = m->c, h = m->h, w = m->w;
  if (m->pix2pix) {
    GF_TRY(gf__build_i2i_generator(&m->G_A, cfg, ops, "G", c, c, h, w));
    GF_TRY(gf__build_patch_d(&m->D_A, cfg, ops, "D", 2 * c, h, w));
    return 0;
  }
  GF_TRY(gf__build_i2i_generator(&m->G_A, cfg, ops, "G_A", c, c, h, w));
  GF_TRY(gf__build_i2i_generator(&m->G_B, cfg, ops, "G_B", c, c, h, w));
  GF_TRY(gf__build_patch_d(&m->D_A, cfg, ops, "D_A", c, h, w));
  GF_TRY(gf__build_patch_d(&m->D_B, cfg, ops, "D_B", c, h, w));
  return 0;
}

static int use_identity(const gf__cyclegan *m) { return !m->pix2pix && m->cfg.train_lambda_identity > 0; }

int gf__cyclegan_memory(const gf_config *cfg, int B, size_t *bytes, char *report, size_t cap) {
  gf__cyclegan *m = calloc(1, sizeof *m);
  if (!m) return gf__fail(GF_ENOMEM, "out of memory");
  m->cfg = *cfg;
  m->pix2pix = !strcmp(cfg->model_arch, "pix2pix");
  m->c = 3; m->h = m->w = cfg->data_crop_size;
  m->dim = (long)m->c * m->h * m->w;
  int rc = build_all(m, cfg, gf__ops_cpu());
  if (rc < 0) { free(m); return rc; }
  gf__net *G[2] = {&m->G_A, m->pix2pix ? NULL : &m->G_B}, *D[2] = {&m->D_A, m->pix2pix ? NULL : &m->D_B};
  double params = 0, acts = 0, ws = 0, other = 0;
  int g_apps = m->pix2pix ? 1 : use_identity(m) ? 3 : 2;
  for (int k = 0; k < 2; k++) {
    size_t wsg = 0, wsd = 0;
    if (G[k]) {
      params += 4.0 * G[k]->nparam + G[k]->nbuf;
      acts += (double)g_apps * gf__ctx_plan(G[k], B, &wsg);
      ws += (double)wsg;
    }
    if (D[k]) {
      params += 4.0 * D[k]->nparam + D[k]->nbuf;
      acts += 2.0 * gf__ctx_plan(D[k], B, &wsd);
      ws += (double)wsd;
    }
  }
  long dim = m->dim;
  other = 4.0 * B * dim; /* real_A, real_B, pool outputs */
  if (m->pix2pix) other += 3.0 * B * 2 * dim;
  else other += 2.0 * (cfg->train_pool_size + 1) * dim;
  double total = 4.0 * (params + acts + ws + other);
  *bytes = (size_t)total;
  if (report)
    snprintf(report, cap,
             "memory plan (batch %d, %dx%d): parameters+grads+Adam %.1f MiB, activations of %d contexts %.1f MiB, "
             "conv work space %.1f MiB, pools and batch buffers %.1f MiB: total %.1f MiB",
             B, m->w, m->h, 4.0 * params / 1048576.0, m->pix2pix ? 3 : 2 * g_apps + 4, 4.0 * acts / 1048576.0,
             4.0 * ws / 1048576.0, 4.0 * other / 1048576.0, total / 1048576.0);
  free(m);
  return 0;
}

int gf__cyclegan_create(gf__cyclegan *m, const gf_config *cfg, const gf__ops *ops, int B) {
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->ops = ops;
  m->pix2pix = !strcmp(cfg->model_arch, "pix2pix");
  m->B = B;
  m->c = 3; m->h = m->w = cfg->data_crop_size;
  m->dim = (long)m->c * m->h * m->w;
  uint64_t seed = (uint64_t)cfg->train_seed;
  gf__rng_init(&m->r_init, seed, GF_STREAM_INIT);
  gf__rng_init(&m->r_drop, seed, GF_STREAM_DROPOUT);
  gf__rng_init(&m->r_data, seed, GF_STREAM_DATA);
  int rc;
  if ((rc = build_all(m, cfg, ops)) < 0) goto fail;
  gf__net *nets[4] = {&m->G_A, &m->G_B, &m->D_A, &m->D_B};
  for (int k = 0; k < 4; k++) {
    if (m->pix2pix && (k == 1 || k == 3)) continue;
    if ((rc = gf__net_finalize(nets[k])) < 0) goto fail;
    if ((rc = gf__i2i_init(nets[k], &m->r_init, (float)cfg->model_init_gain)) < 0) goto fail;
  }
  size_t d = (size_t)B * m->dim;
  if ((rc = gf__ctx_create(&m->cA_fwd, &m->G_A, B)) < 0) goto fail;
  if ((rc = gf__ctx_create(&m->cDA_f, &m->D_A, B)) < 0) goto fail;
  if ((rc = gf__ctx_create(&m->cDA_r, &m->D_A, B)) < 0) goto fail;
  m->real_A = ops->alloc(sizeof(float) * d);
  m->real_B = ops->alloc(sizeof(float) * d);
  m->stats = ops->alloc(sizeof(float) * GF_I2I_STATS);
  if (!m->real_A || !m->real_B || !m->stats) { rc = gf__fail(GF_ENOMEM, "out of memory for batch buffers"); goto fail; }
  if (m->pix2pix) {
    m->cat_f = ops->alloc(sizeof(float) * 2 * d);
    m->cat_r = ops->alloc(sizeof(float) * 2 * d);
    m->dcat = ops->alloc(sizeof(float) * 2 * d);
    if (!m->cat_f || !m->cat_r || !m->dcat) { rc = gf__fail(GF_ENOMEM, "out of memory for batch buffers"); goto fail; }
  } else {
    if ((rc = gf__ctx_create(&m->cA_rec, &m->G_A, B)) < 0) goto fail;
    if ((rc = gf__ctx_create(&m->cB_fwd, &m->G_B, B)) < 0) goto fail;
    if ((rc = gf__ctx_create(&m->cB_rec, &m->G_B, B)) < 0) goto fail;
    if (use_identity(m)) {
      if ((rc = gf__ctx_create(&m->cA_idt, &m->G_A, B)) < 0) goto fail;
      if ((rc = gf__ctx_create(&m->cB_idt, &m->G_B, B)) < 0) goto fail;
    }
    if ((rc = gf__ctx_create(&m->cDB_f, &m->D_B, B)) < 0) goto fail;
    if ((rc = gf__ctx_create(&m->cDB_r, &m->D_B, B)) < 0) goto fail;
    m->pool_A = ops->alloc(sizeof(float) * d);
    m->pool_B = ops->alloc(sizeof(float) * d);
    if (!m->pool_A || !m->pool_B) { rc = gf__fail(GF_ENOMEM, "out of memory for batch buffers"); goto fail; }
    if ((rc = gf__pool_init(&m->poolA, ops, cfg->train_pool_size, m->dim, seed)) < 0) goto fail;
    if ((rc = gf__pool_init(&m->poolB, ops, cfg->train_pool_size, m->dim, seed)) < 0) goto fail;
    m->poolB.rng.counter = 1ull << 40; /* the second pool: a disjoint part of the pool stream */
  }
  m->og.lr = m->od.lr = cfg->train_lr;
  m->epoch = 1;
  return 0;
fail:
  gf__cyclegan_destroy(m);
  return rc;
}

void gf__cyclegan_destroy(gf__cyclegan *m) {
  if (!m->ops) return;
  const gf__ops *o = m->ops;
  gf__ctx *ctxs[] = {&m->cA_fwd, &m->cA_rec, &m->cA_idt, &m->cB_fwd, &m->cB_rec, &m->cB_idt,
                     &m->cDA_f, &m->cDA_r, &m->cDB_f, &m->cDB_r};
  for (size_t i = 0; i < sizeof ctxs / sizeof ctxs[0]; i++) gf__ctx_destroy(ctxs[i]);
  float *bufs[] = {m->real_A, m->real_B, m->pool_A, m->pool_B, m->cat_f, m->cat_r, m->dcat, m->stats};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    if (bufs[i]) o->free(bufs[i]);
  gf__pool_free(&m->poolA, o);
  gf__pool_free(&m->poolB, o);
  gf__net_free(&m->G_A);
  gf__net_free(&m->G_B);
  gf__net_free(&m->D_A);
  gf__net_free(&m->D_B);
  m->ops = NULL;
}

double gf__i2i_lr_factor(const gf_config *c, int epoch) {
  double f = 1.0;
  int over = epoch - c->train_n_epochs;
  if (over > 0) f = 1.0 - (double)over / (double)(c->train_n_epochs_decay + 1);
  return f < 0 ? 0 : f;
}

void gf__cyclegan_set_epoch(gf__cyclegan *m, int epoch) {
  m->epoch = epoch;
  m->og.lr = m->od.lr = m->cfg.train_lr * gf__i2i_lr_factor(&m->cfg, epoch);
}

const char *gf__i2i_weights_name(int pix2pix) { return pix2pix ? "pix2pix.safetensors" : "cyclegan.safetensors"; }

/* train.optimizer (Adam: the papers' choice and the presets') on a whole network arena. */
static int opt_step(gf__cyclegan *m, gf__net *net, const gf__opt_state *st) {
  if (m->dist) /* data-parallel: the gradients averaged over the ranks */
    GF_TRY(gf__dist_allreduce(m->dist, net->grads, (size_t)net->nparam, GF_DIST_MEAN, net->name));
  gf__opt_apply(m->ops, net, &m->cfg, st, m->cfg.train_momentum);
  return 0;
}

static gf__gan_loss loss_kind(const gf__cyclegan *m, int real) {
  if (!strcmp(m->cfg.model_gan_mode, "vanilla")) return real ? GF_LOSS_BCE_ONE : GF_LOSS_BCE_ZERO;
  return real ? GF_LOSS_MSE_ONE : GF_LOSS_MSE_ZERO;
}

/* Slots of m->stats (each gan loss takes two: loss, mean sigmoid). */
enum { S_G_A = 0, S_G_B = 2, S_CYC_A = 4, S_CYC_B = 5, S_IDT_A = 6, S_IDT_B = 7, S_DA_R = 8, S_DA_F = 10, S_DB_R = 12,
       S_DB_F = 14 };
enum { S_P_DF = 0, S_P_DR = 2, S_P_GAN = 4, S_P_L1 = 6 }; /* pix2pix */

/* D(x) in context ctx, loss against real/fake labels with scale (statistics into m->stats + slot),
   gradient into the output. */
static void d_loss(gf__cyclegan *m, gf__net *D, gf__ctx *ctx, const float *x, int real, float scale, int slot) {
  const float *p = gf__net_forward(D, ctx, x, m->B, 1, &m->r_drop);
  gf__ctx_zero_dout(D, ctx);
  m->ops->gan_loss(loss_kind(m, real), m->stats + slot, gf__ctx_dout(D, ctx), p, (size_t)m->B * gf__net_out_size(D),
                   scale);
}

int gf__cyclegan_stats(gf__cyclegan *m) {
  const gf_config *c = &m->cfg;
  float s[GF_I2I_STATS];
  m->ops->to_host(s, m->stats, sizeof s);
  GF_TRY(m->ops->check());
  /* data-parallel: means over the ranks (equal shares: the global batch's), so every rank logs the
     same losses and takes the same decisions (a non-finite loss stops all of them) */
  if (m->dist) GF_TRY(gf__dist_mean_host(m->dist, s, GF_I2I_STATS, "the losses"));
  if (m->pix2pix) {
    m->loss_D_fake = s[S_P_DF];
    m->loss_D_real = s[S_P_DR];
    m->loss_D_A = 0.5f * (m->loss_D_fake + m->loss_D_real);
    m->loss_G_GAN = s[S_P_GAN];
    m->loss_G_L1 = (float)(s[S_P_L1] * c->train_lambda_L1);
    m->loss_G = m->loss_G_GAN + m->loss_G_L1;
    if (!isfinite(m->loss_D_A)) return gf__fail(GF_ENUMERIC, "loss_D is %g at step %ld", (double)m->loss_D_A, m->steps);
    if (!isfinite(m->loss_G)) return gf__fail(GF_ENUMERIC, "loss_G is %g at step %ld", (double)m->loss_G, m->steps);
    return 0;
  }
  float la = (float)c->train_lambda_A, lb = (float)c->train_lambda_B, li = (float)c->train_lambda_identity;
  m->loss_G_A = s[S_G_A];
  m->loss_G_B = s[S_G_B];
  m->loss_cycle_A = s[S_CYC_A] * la;
  m->loss_cycle_B = s[S_CYC_B] * lb;
  m->loss_idt_A = use_identity(m) ? s[S_IDT_A] * lb * li : 0;
  m->loss_idt_B = use_identity(m) ? s[S_IDT_B] * la * li : 0;
  m->loss_G = m->loss_G_A + m->loss_G_B + m->loss_cycle_A + m->loss_cycle_B + m->loss_idt_A + m->loss_idt_B;
  m->loss_D_A = 0.5f * (s[S_DA_R] + s[S_DA_F]);
  m->loss_D_B = 0.5f * (s[S_DB_R] + s[S_DB_F]);
  if (!isfinite(m->loss_G)) return gf__fail(GF_ENUMERIC, "loss_G is %g at step %ld", (double)m->loss_G, m->steps);
  if (!isfinite(m->loss_D_A + m->loss_D_B))
    return gf__fail(GF_ENUMERIC, "loss_D is %g / %g at step %ld", (double)m->loss_D_A, (double)m->loss_D_B, m->steps);
  return 0;
}

static int pix2pix_step(gf__cyclegan *m, const float *a, const float *b) {
  const gf__ops *o = m->ops;
  const gf_config *c = &m->cfg;
  int B = m->B;
  size_t d = (size_t)m->dim;
  const float *fake = gf__net_forward(&m->G_A, &m->cA_fwd, a, B, 1, &m->r_drop);
  for (int i = 0; i < B; i++) {
    o->copy(m->cat_f + 2 * d * i, a + d * i, d);
    o->copy(m->cat_f + 2 * d * i + d, fake + d * i, d);
    o->copy(m->cat_r + 2 * d * i, a + d * i, d);
    o->copy(m->cat_r + 2 * d * i + d, b + d * i, d);
  }
  /* D: fake then real, each halved */
  o->fill(m->stats, 0.0f, GF_I2I_STATS);
  d_loss(m, &m->D_A, &m->cDA_f, m->cat_f, 0, 0.5f, S_P_DF);
  d_loss(m, &m->D_A, &m->cDA_r, m->cat_r, 1, 0.5f, S_P_DR);
  gf__net_zero_grad(&m->D_A);
  gf__net_backward(&m->D_A, &m->cDA_f, NULL, 1);
  gf__net_backward(&m->D_A, &m->cDA_r, NULL, 1);
  m->od.t++;
  GF_TRY(opt_step(m, &m->D_A, &m->od));
  /* G: GAN loss through the updated D, plus lambda_L1 * L1(fake_B, real_B) */
  d_loss(m, &m->D_A, &m->cDA_f, m->cat_f, 1, 1.0f, S_P_GAN);
  o->fill(m->dcat, 0.0f, 2 * d * B);
  gf__net_backward(&m->D_A, &m->cDA_f, m->dcat, 0);
  float *dfake = gf__ctx_dout(&m->G_A, &m->cA_fwd);
  gf__ctx_zero_dout(&m->G_A, &m->cA_fwd);
  for (int i = 0; i < B; i++) o->axpy(dfake + d * i, 1.0f, m->dcat + 2 * d * i + d, d);
  o->l1_loss(m->stats + S_P_L1, dfake, fake, b, d * B, (float)c->train_lambda_L1);
  gf__net_zero_grad(&m->G_A);
  gf__net_backward(&m->G_A, &m->cA_fwd, NULL, 1);
  m->og.t++;
  GF_TRY(opt_step(m, &m->G_A, &m->og));
  m->steps++;
  return 0;
}

int gf__cyclegan_step(gf__cyclegan *m, const float *a, const float *b) {
  if (m->pix2pix) return pix2pix_step(m, a, b);
  const gf__ops *o = m->ops;
  const gf_config *c = &m->cfg;
  int B = m->B, idt = use_identity(m);
  size_t n = (size_t)B * m->dim;
  float la = (float)c->train_lambda_A, lb = (float)c->train_lambda_B, li = (float)c->train_lambda_identity;
  gf__net *GA = &m->G_A, *GB = &m->G_B, *DA = &m->D_A, *DB = &m->D_B;
  /* forward: fake_B = G_A(a), rec_A = G_B(fake_B), fake_A = G_B(b), rec_B = G_A(fake_A) */
  o->fill(m->stats, 0.0f, GF_I2I_STATS);
  const float *fake_B = gf__net_forward(GA, &m->cA_fwd, a, B, 1, &m->r_drop);
  const float *rec_A = gf__net_forward(GB, &m->cB_rec, fake_B, B, 1, &m->r_drop);
  const float *fake_A = gf__net_forward(GB, &m->cB_fwd, b, B, 1, &m->r_drop);
  const float *rec_B = gf__net_forward(GA, &m->cA_rec, fake_A, B, 1, &m->r_drop);
  if (idt) {
    const float *idt_A = gf__net_forward(GA, &m->cA_idt, b, B, 1, &m->r_drop);
    const float *idt_B = gf__net_forward(GB, &m->cB_idt, a, B, 1, &m->r_drop);
    gf__ctx_zero_dout(GA, &m->cA_idt);
    gf__ctx_zero_dout(GB, &m->cB_idt);
    o->l1_loss(m->stats + S_IDT_A, gf__ctx_dout(GA, &m->cA_idt), idt_A, b, n, lb * li);
    o->l1_loss(m->stats + S_IDT_B, gf__ctx_dout(GB, &m->cB_idt), idt_B, a, n, la * li);
  }
  /* G losses with D frozen (no parameter gradients for D) */
  d_loss(m, DA, &m->cDA_f, fake_B, 1, 1.0f, S_G_A);
  d_loss(m, DB, &m->cDB_f, fake_A, 1, 1.0f, S_G_B);
  gf__ctx_zero_dout(GB, &m->cB_rec);
  gf__ctx_zero_dout(GA, &m->cA_rec);
  o->l1_loss(m->stats + S_CYC_A, gf__ctx_dout(GB, &m->cB_rec), rec_A, a, n, la);
  o->l1_loss(m->stats + S_CYC_B, gf__ctx_dout(GA, &m->cA_rec), rec_B, b, n, lb);
  gf__net_zero_grad(GA);
  gf__net_zero_grad(GB);
  /* d fake_B = D_A's input gradient + G_B's (cycle A) input gradient */
  float *dfb = gf__ctx_dout(GA, &m->cA_fwd);
  gf__ctx_zero_dout(GA, &m->cA_fwd);
  gf__net_backward(DA, &m->cDA_f, dfb, 0);
  gf__net_backward(GB, &m->cB_rec, dfb, 1);
  gf__net_backward(GA, &m->cA_fwd, NULL, 1);
  float *dfa = gf__ctx_dout(GB, &m->cB_fwd);
  gf__ctx_zero_dout(GB, &m->cB_fwd);
  gf__net_backward(DB, &m->cDB_f, dfa, 0);
  gf__net_backward(GA, &m->cA_rec, dfa, 1);
  gf__net_backward(GB, &m->cB_fwd, NULL, 1);
  if (idt) {
    gf__net_backward(GA, &m->cA_idt, NULL, 1);
    gf__net_backward(GB, &m->cB_idt, NULL, 1);
  }
  m->og.t++;
  GF_TRY(opt_step(m, GA, &m->og));
  GF_TRY(opt_step(m, GB, &m->og));
  /* D_A on real B and pooled fake B, D_B on real A and pooled fake A; losses halved */
  gf__pool_query(&m->poolB, o, fake_B, B, m->pool_B);
  gf__pool_query(&m->poolA, o, fake_A, B, m->pool_A);
  d_loss(m, DA, &m->cDA_r, b, 1, 0.5f, S_DA_R);
  d_loss(m, DA, &m->cDA_f, m->pool_B, 0, 0.5f, S_DA_F);
  d_loss(m, DB, &m->cDB_r, a, 1, 0.5f, S_DB_R);
  d_loss(m, DB, &m->cDB_f, m->pool_A, 0, 0.5f, S_DB_F);
  gf__net_zero_grad(DA);
  gf__net_zero_grad(DB);
  gf__net_backward(DA, &m->cDA_r, NULL, 1);
  gf__net_backward(DA, &m->cDA_f, NULL, 1);
  gf__net_backward(DB, &m->cDB_r, NULL, 1);
  gf__net_backward(DB, &m->cDB_f, NULL, 1);
  m->od.t++;
  GF_TRY(opt_step(m, DA, &m->od));
  GF_TRY(opt_step(m, DB, &m->od));
  m->steps++;
  return 0;
}
