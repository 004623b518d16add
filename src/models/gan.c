/* gan.c: builds G and D from a config and runs the discriminator and generator steps
   (Goodfellow et al. 2014, k D-steps per G-step, minimax / non-saturating / KL G losses). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "models/cond.h"
#include "models/diffaug.h"
#include "models/gan.h"

static int parse_widths(const char *s, int *w, int cap) {
  int n = 0;
  const char *p = s;
  while (*p && n < cap) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p) break;
    w[n++] = (int)v;
    p = *end == ',' ? end + 1 : end;
  }
  return n;
}

static gf__act act_of(const char *s) {
  if (!strcmp(s, "lrelu")) return GF_ACT_LEAKY_RELU;
  if (!strcmp(s, "tanh")) return GF_ACT_TANH;
  if (!strcmp(s, "sigmoid")) return GF_ACT_SIGMOID;
  return GF_ACT_RELU;
}

static gf__init init_of(const char *s) {
  if (!strcmp(s, "normal")) return GF_INIT_NORMAL;
  if (!strcmp(s, "uniform")) return GF_INIT_UNIFORM;
  if (!strcmp(s, "xavier")) return GF_INIT_XAVIER;
  if (!strcmp(s, "kaiming")) return GF_INIT_KAIMING;
  return GF_INIT_TORCH;
}

/* DCGAN (Radford et al.; pytorch/examples): size 28 is the common MNIST model (ConvT 7x7 to
   7x7, two stride-2 ConvT), other sizes start from 4x4 and double log2(size/4) times. Layer
   indices match the twin nn.Sequential, so tensor names match its state_dict. model.size is 28 or a
   power of two from 16 (gf__config_validate_model: every run, and every stored config when its
   file is opened), so there is at least one level. */
static int dcgan_levels(int size) {
  int L = 0;
  while ((4 << L) < size) L++;
  return L;
}

static int build_dcgan_g(gf__net *net, const gf_config *cfg, const gf__ops *ops, long dim) {
  int nz = cfg->model_nz, ngf = cfg->model_ngf, nc = cfg->model_nc, size = cfg->model_size;
  float eps = (float)cfg->model_bn_eps, mom = (float)cfg->model_bn_momentum;
  if (dim != (long)nc * size * size)
    return gf__fail(GF_EINVAL, "dcgan generator makes %dx%dx%d images, the data has %ld values per sample "
                    "(set model.nc / model.size)", nc, size, size, dim);
  gf__net_init(net, ops, "G", nz, 1, 1);
  GF_TRY(gf__cond_add_g_input(net, cfg)); /* conditional (cond.c): one-hot label after z, or CBN below */
  if (size == 28) {
    GF_TRY(gf__net_add_convt2d(net, 4 * ngf, 7, 7, 1, 1, 0, 0, 0, 0, 0));
    GF_TRY(gf__cond_add_g_norm(net, cfg, eps, mom));
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
    GF_TRY(gf__net_add_convt2d(net, 2 * ngf, 4, 4, 2, 2, 1, 1, 0, 0, 0));
    GF_TRY(gf__cond_add_g_norm(net, cfg, eps, mom));
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
  } else {
    int L = dcgan_levels(size);
    GF_TRY(gf__net_add_convt2d(net, ngf << (L - 1), 4, 4, 1, 1, 0, 0, 0, 0, 0));
    GF_TRY(gf__cond_add_g_norm(net, cfg, eps, mom));
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
    for (int k = L - 2; k >= 0; k--) {
      GF_TRY(gf__net_add_convt2d(net, ngf << k, 4, 4, 2, 2, 1, 1, 0, 0, 0));
      GF_TRY(gf__cond_add_g_norm(net, cfg, eps, mom));
      GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
    }
  }
  GF_TRY(gf__net_add_convt2d(net, nc, 4, 4, 2, 2, 1, 1, 0, 0, 0));
  GF_TRY(gf__net_add_act(net, GF_ACT_TANH, 0));
  gf__net_set_init(net, 0, init_of(cfg->model_g_init), (float)cfg->model_g_init_scale);
  return gf__net_plan(net);
}

/* Spectral normalisation of every weight layer of D: model.d_norm=spectral (MLP or DCGAN, beside
   any dcgan_d_norm) or model.dcgan_d_norm=spectral (DCGAN: instead of BatchNorm). */
#define SN_LAST(net, on) do { if (on) GF_TRY(gf__net_spectral_last(net)); } while (0)

static int build_dcgan_d(gf__net *net, const gf_config *cfg, const gf__ops *ops, int c, int h, int w, int pack) {
  int ndf = cfg->model_ndf, nc = cfg->model_nc, size = cfg->model_size;
  float eps = (float)cfg->model_bn_eps, mom = (float)cfg->model_bn_momentum, slope = (float)cfg->model_d_slope;
  int bn = !strcmp(cfg->model_dcgan_d_norm, "bn"); /* none: real and fake rows then share one D pass */
  int sn = !strcmp(cfg->model_dcgan_d_norm, "spectral") || !strcmp(cfg->model_d_norm, "spectral");
  if (c != nc || h != size || w != size)
    return gf__fail(GF_EINVAL, "dcgan discriminator takes %dx%dx%d images, the data is %dx%dx%d (set model.nc / model.size)",
                    nc, size, size, c, h, w);
  gf__net_init(net, ops, "D", pack * c, h, w); /* PacGAN: pack samples side by side along channels */
  GF_TRY(gf__cond_add_d_input(net, cfg, 0)); /* model.cond=concat: the label as K more planes */
  GF_TRY(gf__net_add_conv2d(net, ndf, 4, 4, 2, 2, 1, 1, 0));
  SN_LAST(net, sn);
  GF_TRY(gf__net_add_act(net, GF_ACT_LEAKY_RELU, slope));
  if (size == 28) {
    GF_TRY(gf__net_add_conv2d(net, 2 * ndf, 4, 4, 2, 2, 1, 1, !bn));
    SN_LAST(net, sn);
    if (bn) GF_TRY(gf__net_add_batchnorm(net, 1, eps, mom));
    GF_TRY(gf__net_add_act(net, GF_ACT_LEAKY_RELU, slope));
    GF_TRY(gf__cond_add_d_head(net, cfg, 7, 7, sn)); /* Conv 7x7 to the logit (+ class logits / projection) */
  } else {
    int L = dcgan_levels(size);
    for (int k = 1; k < L; k++) {
      GF_TRY(gf__net_add_conv2d(net, ndf << k, 4, 4, 2, 2, 1, 1, !bn));
      SN_LAST(net, sn);
      if (bn) GF_TRY(gf__net_add_batchnorm(net, 1, eps, mom));
      GF_TRY(gf__net_add_act(net, GF_ACT_LEAKY_RELU, slope));
    }
    GF_TRY(gf__cond_add_d_head(net, cfg, 4, 4, sn));
  }
  gf__net_set_init(net, 0, init_of(cfg->model_d_init), (float)cfg->model_d_init_scale);
  return gf__net_plan(net);
}

int gf__build_generator(gf__net *net, const gf_config *cfg, const gf__ops *ops, long dim) {
  GF_TRY(gf__build_generator_plan(net, cfg, ops, dim));
  return gf__net_finalize(net);
}

int gf__build_generator_plan(gf__net *net, const gf_config *cfg, const gf__ops *ops, long dim) {
  if (!strcmp(cfg->model_arch, "dcgan")) return build_dcgan_g(net, cfg, ops, dim);
  int w[32], nh = parse_widths(cfg->model_g_hidden, w, 32);
  gf__net_init(net, ops, "G", cfg->model_nz, 1, 1);
  GF_TRY(gf__cond_add_g_input(net, cfg));
  gf__act act = act_of(cfg->model_g_act);
  float eps = (float)cfg->model_bn_eps, mom = (float)cfg->model_bn_momentum;
  for (int i = 0; i < nh; i++) {
    GF_TRY(gf__net_add_linear(net, w[i], 1));
    if (!strcmp(cfg->model_g_norm, "bn")) GF_TRY(gf__cond_add_g_norm(net, cfg, eps, mom));
    GF_TRY(gf__net_add_act(net, act, (float)cfg->model_d_slope));
    if (!strcmp(cfg->model_g_norm, "bn_after")) GF_TRY(gf__cond_add_g_norm(net, cfg, eps, mom));
  }
  GF_TRY(gf__net_add_linear(net, (int)dim, 1));
  if (!strcmp(cfg->model_g_out, "tanh")) GF_TRY(gf__net_add_act(net, GF_ACT_TANH, 0));
  else if (!strcmp(cfg->model_g_out, "sigmoid")) GF_TRY(gf__net_add_act(net, GF_ACT_SIGMOID, 0));
  gf__net_set_init(net, 0, init_of(cfg->model_g_init), (float)cfg->model_g_init_scale);
  return gf__net_plan(net);
}

int gf__build_discriminator(gf__net *net, const gf_config *cfg, const gf__ops *ops, int c, int h, int w) {
  GF_TRY(gf__build_discriminator_plan(net, cfg, ops, c, h, w));
  return gf__net_finalize(net);
}

int gf__build_discriminator_plan(gf__net *net, const gf_config *cfg, const gf__ops *ops, int c, int h, int w) {
  int pack = cfg->model_pack > 1 ? cfg->model_pack : 1;
  if (!strcmp(cfg->model_arch, "dcgan")) return build_dcgan_d(net, cfg, ops, c, h, w, pack);
  int wd[32], nh = parse_widths(cfg->model_d_hidden, wd, 32);
  gf__net_init(net, ops, "D", pack * c, h, w); /* PacGAN: pack feature vectors concatenated */
  GF_TRY(gf__cond_add_d_input(net, cfg, 1)); /* model.cond=concat: [x; one-hot label] */
  int maxout = !strcmp(cfg->model_d_act, "maxout");
  gf__act act = act_of(cfg->model_d_act);
  float eps = (float)cfg->model_bn_eps, mom = (float)cfg->model_bn_momentum;
  if (cfg->model_d_dropout_in > 0) GF_TRY(gf__net_add_dropout(net, (float)cfg->model_d_dropout_in));
  int sn = !strcmp(cfg->model_d_norm, "spectral");
  for (int i = 0; i < nh; i++) {
    GF_TRY(gf__net_add_linear(net, maxout ? wd[i] * cfg->model_d_pieces : wd[i], 1));
    SN_LAST(net, sn);
    if (!strcmp(cfg->model_d_norm, "bn")) GF_TRY(gf__net_add_batchnorm(net, 1, eps, mom));
    if (maxout) GF_TRY(gf__net_add_maxout(net, cfg->model_d_pieces));
    else GF_TRY(gf__net_add_act(net, act, (float)cfg->model_d_slope));
    if (cfg->model_d_dropout > 0) GF_TRY(gf__net_add_dropout(net, (float)cfg->model_d_dropout));
  }
  GF_TRY(gf__cond_add_d_head(net, cfg, 0, 0, sn)); /* Linear to the logit (+ class logits / projection) */
  gf__net_set_init(net, 0, init_of(cfg->model_d_init), (float)cfg->model_d_init_scale);
  return gf__net_plan(net);
}

void gf__data_shape(const gf_config *cfg, int *c, int *h, int *w) {
  const char *n = cfg->data_name;
  *c = 1; *h = *w = 1;
  if (!strcmp(cfg->model_arch, "dcgan") || !strcmp(n, "cifar10") || !strcmp(n, "folder") || !strcmp(n, "faces")) {
    *c = cfg->model_nc; *h = *w = cfg->model_size;
  } else if (!strcmp(n, "gauss1d")) *c = 1;
  else if (!strcmp(n, "ring8") || !strcmp(n, "grid25")) *c = 2;
  else if (!strcmp(n, "digits")) *h = *w = 8;
  else if (!strcmp(n, "shapes")) *h = *w = cfg->data_size;
  else if (!strcmp(n, "stacked-mnist")) { *c = 3; *h = *w = 28; }
  else *h = *w = 28;
}

int gf__gan_create(gf__gan *gan, const gf_config *cfg, const gf__ops *ops, int c, int h, int w, int B,
                   const float *marginals) {
  memset(gan, 0, sizeof *gan);
  int pack = cfg->model_pack > 1 ? cfg->model_pack : 1;
  if (B < 1 || B % pack)
    return gf__fail(GF_EINVAL, "batch %d is not divisible by model.pack %d (the discriminator sees batch / pack packs)",
                    B, pack);
  gan->cfg = *cfg;
  gan->ops = ops;
  gan->c = c; gan->h = h; gan->w = w;
  gan->dim = (long)c * h * w;
  gan->nz = cfg->model_nz;
  gan->B = gan->Bg = B;
  gan->pack = pack;
  int Bd = B / gan->pack; /* rows D sees: packs of `pack` samples, [B, c, h, w] read as [Bd, pack * c, h, w] */
  gf__rng_init(&gan->r_init, (uint64_t)cfg->train_seed, GF_STREAM_INIT);
  gf__rng_init(&gan->r_noise, (uint64_t)cfg->train_seed, GF_STREAM_NOISE);
  gf__rng_init(&gan->r_drop, (uint64_t)cfg->train_seed, GF_STREAM_DROPOUT);
  int rc;
  gan->crit.penalty = -1;
  if ((rc = gf__critic_check_config(cfg)) < 0) goto fail;
  if ((rc = gf__build_generator(&gan->G, cfg, ops, gan->dim)) < 0) goto fail;
  if ((rc = gf__build_discriminator(&gan->D, cfg, ops, c, h, w)) < 0) goto fail;
  if ((rc = gf__net_init_params(&gan->G, &gan->r_init, (float)cfg->model_bn_init_std)) < 0) goto fail;
  if ((rc = gf__net_init_params(&gan->D, &gan->r_init, (float)cfg->model_bn_init_std)) < 0) goto fail;
  if (marginals && cfg->model_g_out_bias_marginals && !strcmp(cfg->model_g_out, "sigmoid")) {
    /* sigmoid(b) = mean pixel: b = logit(clamp(mean)) */
    const gf__layer *last = &gan->G.layers[gan->G.n - 2];
    float *bias = malloc(sizeof(float) * (size_t)gan->dim);
    if (!bias) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto fail; }
    for (long i = 0; i < gan->dim; i++) {
      float m = marginals[i] < 1e-3f ? 1e-3f : marginals[i] > 0.999f ? 0.999f : marginals[i];
      bias[i] = logf(m / (1.0f - m));
    }
    ops->to_device(gan->G.params + last->b_off, bias, sizeof(float) * (size_t)gan->dim);
    free(bias);
  }
  /* Real and fake rows can share one D pass unless a layer mixes rows (batch statistics). */
  gan->fuse_d = 1;
  for (int i = 0; i < gan->D.n; i++)
    if (gan->D.layers[i].kind == GF_LAYER_BATCHNORM) gan->fuse_d = 0;
  if ((rc = gf__ctx_create(&gan->cg, &gan->G, B)) < 0) goto fail;
  if ((rc = gf__ctx_create(&gan->cdf, &gan->D, Bd)) < 0) goto fail;
  if (gan->fuse_d) rc = gf__ctx_create(&gan->cdd, &gan->D, 2 * Bd);
  else rc = gf__ctx_create(&gan->cdr, &gan->D, Bd);
  if (rc < 0) goto fail;
  gan->z = ops->alloc(sizeof(float) * (size_t)B * gan->nz);
  gan->stats = ops->alloc(sizeof(float) * GF_GAN_STATS);
  if (gan->fuse_d) {
    gan->xrf = ops->alloc(sizeof(float) * (size_t)2 * B * gan->dim);
    gan->xr = gan->xrf;
  } else {
    gan->xr = ops->alloc(sizeof(float) * (size_t)B * gan->dim);
  }
  if (!gan->z || !gan->xr || !gan->stats) { rc = gf__fail(GF_ENOMEM, "out of memory for batch buffers"); goto fail; }
  if ((rc = gf__cond_create(gan)) < 0) goto fail; /* model.cond: label buffers, the contexts' labels */
  int augf = 0;
  gf__diffaug_parse(cfg->train_diffaug, &augf);
  if (augf && (rc = gf__diffaug_create(&gan->aug, ops, augf, c, h, w, B, (uint64_t)cfg->train_seed)) < 0) goto fail;
  if ((rc = gf__critic_create(gan)) < 0) goto fail;
  if (cfg->train_ema > 0) {
    /* the average starts at the initial weights */
    gan->g_ema = ops->alloc(sizeof(float) * (size_t)gan->G.nparam);
    gan->ema_save = ops->alloc(sizeof(float) * (size_t)(gan->G.nparam + gan->G.nbuf));
    gan->ema_buf = ops->alloc(sizeof(float) * (size_t)(gan->G.nbuf + 1));
    if (!gan->g_ema || !gan->ema_save || !gan->ema_buf) { rc = gf__fail(GF_ENOMEM, "out of memory for train.ema"); goto fail; }
    ops->copy(gan->g_ema, gan->G.params, (size_t)gan->G.nparam);
  }
  gan->og.lr = cfg->train_lr;
  gan->od.lr = cfg->train_lr_d > 0 ? cfg->train_lr_d : cfg->train_lr;
  gan->epoch = 1;
  return 0;
fail:
  gf__gan_destroy(gan);
  return rc;
}

void gf__gan_destroy(gf__gan *gan) {
  if (!gan->ops) return;
  gf__critic_destroy(gan);
  gf__ctx_destroy(&gan->cg);
  gf__ctx_destroy(&gan->cdr);
  gf__ctx_destroy(&gan->cdf);
  gf__ctx_destroy(&gan->cdd);
  if (gan->z) gan->ops->free(gan->z);
  if (gan->stats) gan->ops->free(gan->stats);
  gan->stats = NULL;
  if (gan->xrf) gan->ops->free(gan->xrf);
  else if (gan->xr) gan->ops->free(gan->xr);
  gan->xrf = NULL;
  if (gan->ema_in) gf__gan_ema_leave(gan);
  if (gan->g_ema) gan->ops->free(gan->g_ema);
  if (gan->ema_save) gan->ops->free(gan->ema_save);
  if (gan->ema_buf) gan->ops->free(gan->ema_buf);
  gan->g_ema = gan->ema_save = gan->ema_buf = NULL;
  gf__cond_destroy(gan);
  gf__diffaug_destroy(gan->aug);
  gan->aug = NULL;
  gf__net_free(&gan->G);
  gf__net_free(&gan->D);
  gan->z = gan->xr = NULL;
}

void gf__gan_noise(const gf__gan *gan, gf__rng *r, float *z, int n) {
  size_t cnt = (size_t)n * gan->nz;
  if (!strcmp(gan->cfg.model_noise, "uniform"))
    gan->ops->rand_uniform(z, cnt, (float)gan->cfg.model_noise_lo, (float)gan->cfg.model_noise_hi, r->seed,
                           r->stream, r->counter);
  else
    gan->ops->rand_normal(z, cnt, 0.0f, 1.0f, r->seed, r->stream, r->counter);
  r->counter += (cnt + 3) / 4;
}

void gf__opt_apply(const gf__ops *o, gf__net *net, const gf_config *c, const gf__opt_state *st, double momentum) {
  if (!strcmp(c->train_optimizer, "sgd")) { /* the velocity lives in the first optimizer slot */
    o->sgd(net->params, net->grads, net->opt_m, (size_t)net->nparam, (float)st->lr, (float)momentum,
           (float)c->train_weight_decay);
  } else if (!strcmp(c->train_optimizer, "rmsprop")) { /* the square average in the second */
    o->rmsprop(net->params, net->grads, net->opt_v, (size_t)net->nparam, (float)st->lr, (float)c->train_rms_alpha,
               (float)c->train_adam_eps, (float)c->train_weight_decay);
  } else {
    float bc1 = (float)(1.0 - pow(c->train_beta1, (double)st->t));
    float bc2 = (float)(1.0 - pow(c->train_beta2, (double)st->t));
    o->adam(net->params, net->grads, net->opt_m, net->opt_v, (size_t)net->nparam, (float)st->lr, (float)c->train_beta1,
            (float)c->train_beta2, (float)c->train_adam_eps, bc1, bc2, (float)c->train_weight_decay);
  }
}

/* Applies the configured optimizer to a whole network arena (data-parallel: to the gradients
   averaged over the ranks). */
static int opt_step(gf__gan *gan, gf__net *net, gf__opt_state *st) {
  const gf_config *c = &gan->cfg;
  if (gan->dist)
    GF_TRY(gf__dist_allreduce(gan->dist, net->grads, (size_t)net->nparam, GF_DIST_MEAN,
                              net == &gan->G ? "G's gradients" : "D's gradients"));
  st->t++;
  double mom = c->train_momentum; /* SGD's, ramped over epochs (Goodfellow et al.'s schedule) */
  if (c->train_momentum_final >= 0) {
    double span = c->train_momentum_saturate - c->train_momentum_start;
    double f = span > 0 ? (gan->epoch - c->train_momentum_start) / span : 1.0;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    mom = c->train_momentum + f * (c->train_momentum_final - c->train_momentum);
  }
  gf__opt_apply(gan->ops, net, c, st, mom);
  if (c->train_lr_decay > 1.0) {
    st->lr /= c->train_lr_decay;
    if (st->lr < c->train_lr_min) st->lr = c->train_lr_min;
  }
  return 0;
}

/* Noise for the step: all Bg rows of the global batch (one process at batch Bg draws the same);
   returns this rank's rows. */
static const float *step_noise(gf__gan *gan) {
  size_t off = (size_t)gan->row0 * gan->nz;
  if (gan->z_override) gan->ops->copy(gan->z + off, gan->z_override, (size_t)gan->B * gan->nz);
  else gf__gan_noise(gan, &gan->r_noise, gan->z, gan->Bg);
  return gan->z + off;
}

static int acgan(const gf__gan *gan) { return gan->cond && gan->cond->mode == GF_COND_ACGAN; }

/* ACGAN's loss on n rows of D's outputs l [n, 1 + K] (dl += the gradient): `kind` on the source
   logits (train.loss=bce only: critic.c) plus its class loss (cond.c), whose statistics go to
   xstats. */
static void d_loss(gf__gan *gan, gf__gan_loss kind, float *stats, float *xstats, float *dl, const float *l, int n,
                   const float *labels) {
  gf__cond_acgan_loss(gan, kind, stats, xstats, dl, l, n, labels);
}

int gf__gan_d_step(gf__gan *gan, const float *xreal) {
  const gf__ops *o = gan->ops;
  int B = gan->B, Bd = B / gan->pack; /* packing is a reshape: [B, dim] rows read as [Bd, pack * dim] */
  long ow = gf__net_out_size(&gan->D); /* D's outputs per row: 1 (ACGAN: 1 + classes) */
  const float *yr = gan->cond ? gan->cond->yr : NULL, *yf = gan->cond ? gan->cond->yf : NULL;
  float *sr = gan->stats, *sf = gan->stats + 2;
  o->fill(gan->stats, 0.0f, 6); /* this D step's statistics: real, fake, penalty */
  if (acgan(gan)) o->fill(gan->stats + 8, 0.0f, 4);
  const float *z = step_noise(gan);
  if (gan->cond) gf__cond_draw_fake(gan);
  const float *fake = gf__net_forward(&gan->G, &gan->cg, z, B, 1, &gan->r_drop);
  gan->have_fake = 1;
  gan->x_real = xreal;
  if (gan->fuse_d) {
    /* one pass over [real; fake]: real rows get -log D(x), fake rows -log(1 - D(G(z))); with
       packing the B real rows form the first Bd packs and the B fake rows the last Bd */
    size_t bd = (size_t)B * gan->dim;
    if (xreal != gan->xrf) o->copy(gan->xrf, xreal, bd);
    o->copy(gan->xrf + bd, fake, bd);
    const float *xin = gan->aug ? gf__diffaug_forward(gan->aug, 0, gan->xrf, 2) : gan->xrf;
    const float *l = gf__net_forward(&gan->D, &gan->cdd, xin, 2 * Bd, 1, &gan->r_drop);
    float *dl = gf__ctx_dout(&gan->D, &gan->cdd);
    gf__ctx_zero_dout(&gan->D, &gan->cdd);
    if (acgan(gan)) {
      d_loss(gan, GF_LOSS_BCE_ONE, sr, gan->stats + 8, dl, l, Bd, yr);
      d_loss(gan, GF_LOSS_BCE_ZERO, sf, gan->stats + 10, dl + Bd * ow, l + Bd * ow, Bd, yf);
    } else {
      GF_TRY(gf__critic_d_loss(gan, l, l + Bd, dl, dl + Bd, Bd));
    }
    gf__net_backward(&gan->D, &gan->cdd, NULL, GF_GRAD_OVERWRITE);
    GF_TRY(gf__critic_penalty(gan, xin, xin + bd)); /* on what D saw (DiffAugment: the augmented rows) */
    GF_TRY(opt_step(gan, &gan->D, &gan->od));
    gf__critic_after_d_update(gan);
    gan->d_steps++;
    return 0;
  }
  /* real: -log D(x), fake: -log(1 - D(G(z))) (or train.loss's pair; ACGAN adds its class loss);
     with DiffAugment D (and the penalty) sees the augmented rows */
  if (gan->aug) xreal = gf__diffaug_forward(gan->aug, 0, xreal, 1);
  const float *lr = gf__net_forward(&gan->D, &gan->cdr, xreal, Bd, 1, &gan->r_drop);
  gf__ctx_zero_dout(&gan->D, &gan->cdr);
  if (gan->aug) fake = gf__diffaug_forward(gan->aug, 1, fake, 1);
  const float *lf = gf__net_forward(&gan->D, &gan->cdf, fake, Bd, 1, &gan->r_drop);
  gf__ctx_zero_dout(&gan->D, &gan->cdf);
  if (acgan(gan)) {
    d_loss(gan, GF_LOSS_BCE_ONE, sr, gan->stats + 8, gf__ctx_dout(&gan->D, &gan->cdr), lr, Bd, yr);
    d_loss(gan, GF_LOSS_BCE_ZERO, sf, gan->stats + 10, gf__ctx_dout(&gan->D, &gan->cdf), lf, Bd, yf);
  } else {
    GF_TRY(gf__critic_d_loss(gan, lr, lf, gf__ctx_dout(&gan->D, &gan->cdr), gf__ctx_dout(&gan->D, &gan->cdf), Bd));
  }
  gf__net_backward(&gan->D, &gan->cdr, NULL, GF_GRAD_OVERWRITE);
  gf__net_backward(&gan->D, &gan->cdf, NULL, GF_GRAD_ACCUMULATE);
  GF_TRY(gf__critic_penalty(gan, xreal, fake));
  GF_TRY(opt_step(gan, &gan->D, &gan->od));
  gf__critic_after_d_update(gan);
  gan->d_steps++;
  return 0;
}

int gf__gan_g_step(gf__gan *gan) {
  const gf__ops *o = gan->ops;
  int B = gan->B, Bd = B / gan->pack;
  float *s = gan->stats + 6;
  o->fill(s, 0.0f, 2);
  if (acgan(gan)) o->fill(gan->stats + 12, 0.0f, 2);
  if (!gan->have_fake || gan->cfg.train_g_fresh_noise) {
    const float *z = step_noise(gan);
    if (gan->cond) gf__cond_draw_fake(gan);
    gf__net_forward(&gan->G, &gan->cg, z, B, 1, &gan->r_drop);
  }
  const float *fake = gan->cg.out[gan->G.n - 1];
  /* D's input gradient flows straight into G's output gradient buffer ([Bd, pack * dim] = [B, dim]),
     with DiffAugment through the transform's transpose */
  float *dfake = gf__ctx_dout(&gan->G, &gan->cg);
  gf__ctx_zero_dout(&gan->G, &gan->cg);
  if (gan->crit.loss == GF_CRIT_RAGAN) {
    GF_TRY(gf__critic_ragan_g(gan, fake, dfake)); /* relativistic: D on the real batch as well */
  } else {
    if (gan->aug) fake = gf__diffaug_forward(gan->aug, 1, fake, 1); /* a fresh transform of the same fakes */
    const float *lf = gf__net_forward(&gan->D, &gan->cdf, fake, Bd, 1, &gan->r_drop);
    gf__ctx_zero_dout(&gan->D, &gan->cdf);
    if (acgan(gan))
      d_loss(gan, gf__critic_g_kind(gan), s, gan->stats + 12, gf__ctx_dout(&gan->D, &gan->cdf), lf, Bd, gan->cond->yf);
    else
      o->gan_loss(gf__critic_g_kind(gan), s, gf__ctx_dout(&gan->D, &gan->cdf), lf, (size_t)Bd, 1.0f);
    if (gan->aug) {
      gf__net_backward(&gan->D, &gan->cdf, gf__diffaug_grad(gan->aug), GF_GRAD_NONE);
      gf__diffaug_backward(gan->aug, dfake);
    } else {
      gf__net_backward(&gan->D, &gan->cdf, dfake, GF_GRAD_NONE);
    }
  }
  gf__net_backward(&gan->G, &gan->cg, NULL, GF_GRAD_OVERWRITE);
  GF_TRY(opt_step(gan, &gan->G, &gan->og));
  if (gan->g_ema) gf__gan_ema_update(gan);
  gan->have_fake = 0;
  gan->g_steps++;
  return 0;
}

int gf__gan_stats(gf__gan *gan) {
  float s[GF_GAN_STATS];
  gan->ops->to_host(s, gan->stats, sizeof s);
  GF_TRY(gan->ops->check());
  /* data-parallel: means over the ranks (equal shares: the global batch's), so every rank logs the
     same losses and takes the same decisions (a non-finite loss stops all of them) */
  if (gan->dist) GF_TRY(gf__dist_mean_host(gan->dist, s, GF_GAN_STATS, "the losses"));
  gan->loss_d = s[0] + s[2] + s[4]; /* the loss and the penalty of the last D step */
  gan->d_real = s[1];
  gan->d_fake = s[3];
  gan->crit.pen = s[4];
  gan->crit.grad_norm = s[5];
  gan->loss_g = s[6];
  if (acgan(gan)) { /* the losses include the weighted class terms */
    gan->loss_d += gan->cond->aux_weight * (s[8] + s[10]);
    gan->loss_g += gan->cond->aux_weight * s[12];
  }
  if (gan->d_steps && !isfinite(s[4]))
    return gf__fail(GF_ENUMERIC, "the gradient penalty is %g at discriminator step %ld", (double)s[4], gan->d_steps);
  if (gan->d_steps && !isfinite(gan->loss_d))
    return gf__fail(GF_ENUMERIC, "loss_D is %g at discriminator step %ld", (double)gan->loss_d, gan->d_steps);
  if (gan->g_steps && !isfinite(gan->loss_g))
    return gf__fail(GF_ENUMERIC, "loss_G is %g at generator step %ld", (double)gan->loss_g, gan->g_steps);
  return 0;
}

int gf__gan_sample(gf__gan *gan, const float *z_dev, int n, float *out_host) {
  return gf__gan_sample_labeled(gan, z_dev, NULL, n, out_host);
}

int gf__gan_sample_labeled(gf__gan *gan, const float *z_dev, const float *labels_host, int n, float *out_host) {
  gf__ctx ctx;
  int chunk = n < 512 ? n : 512;
  int train = !strcmp(gan->cfg.model_sample_bn, "batch");
  if (train) chunk = n; /* batch statistics over the whole request */
  float *lab = NULL, *lab_host = NULL;
  if (gan->G.nclass) { /* a conditional G: every sample's class in backend memory */
    lab = gan->ops->alloc(sizeof(float) * (size_t)n);
    lab_host = labels_host ? NULL : malloc(sizeof(float) * (size_t)n);
    if (!lab || (!labels_host && !lab_host)) {
      if (lab) gan->ops->free(lab);
      free(lab_host);
      return gf__fail(GF_ENOMEM, "out of memory for %d labels", n);
    }
    if (lab_host) gf__cond_labels_host(lab_host, n, gan->G.nclass, -1, 0);
    gan->ops->to_device(lab, labels_host ? labels_host : lab_host, sizeof(float) * (size_t)n);
    free(lab_host);
  }
  int rc = gf__ctx_create(&ctx, &gan->G, chunk);
  if (rc < 0) {
    if (lab) gan->ops->free(lab);
    return rc;
  }
  for (int i = 0; i < n; i += chunk) {
    ctx.labels = lab ? lab + i : NULL;
    int m = n - i < chunk ? n - i : chunk;
    /* batch mode must not disturb the running statistics: no drop stream, stats restored below */
    float *saved = NULL;
    if (train && gan->G.nbuf) {
      saved = malloc(sizeof(float) * (size_t)gan->G.nbuf);
      if (saved) gan->ops->to_host(saved, gan->G.buffers, sizeof(float) * (size_t)gan->G.nbuf);
    }
    const float *y = gf__net_forward(&gan->G, &ctx, z_dev + (size_t)i * gan->nz, m, train, NULL);
    gan->ops->to_host(out_host + (size_t)i * gan->dim, y, sizeof(float) * (size_t)m * gan->dim);
    if (saved) {
      gan->ops->to_device(gan->G.buffers, saved, sizeof(float) * (size_t)gan->G.nbuf);
      free(saved);
    }
  }
  gf__ctx_destroy(&ctx);
  if (lab) gan->ops->free(lab);
  return 0;
}

int gf__gan_sample_host(gf__gan *gan, const float *z_host, int n, float *out_host) {
  return gf__gan_sample_host_labeled(gan, z_host, NULL, n, out_host);
}

int gf__gan_sample_host_labeled(gf__gan *gan, const float *z_host, const float *labels_host, int n, float *out_host) {
  size_t bytes = sizeof(float) * (size_t)n * gan->nz;
  float *z = gan->ops->alloc(bytes);
  if (!z) return gf__fail(GF_ENOMEM, "out of memory for %d noise vectors", n);
  gan->ops->to_device(z, z_host, bytes);
  int rc = gf__gan_sample_labeled(gan, z, labels_host, n, out_host);
  gan->ops->free(z);
  return rc;
}

int gf__gan_noise_host(const gf__gan *gan, gf__rng *r, float *z_host, int n) {
  size_t bytes = sizeof(float) * (size_t)n * gan->nz;
  float *z = gan->ops->alloc(bytes);
  if (!z) return gf__fail(GF_ENOMEM, "out of memory for %d noise vectors", n);
  gf__gan_noise(gan, r, z, n);
  gan->ops->to_host(z_host, z, bytes);
  gan->ops->free(z);
  return 0;
}

double gf__ema_decay(double ema, long t) {
  double warm = (1.0 + (double)t) / (10.0 + (double)t);
  return warm < ema ? warm : ema;
}

void gf__gan_ema_update(gf__gan *gan) {
  if (!gan->g_ema) return;
  float d = (float)gf__ema_decay(gan->cfg.train_ema, gan->og.t);
  size_t n = (size_t)gan->G.nparam;
  gan->ops->scale(gan->g_ema, d, n);
  gan->ops->axpy(gan->g_ema, 1.0f - d, gan->G.params, n);
  gan->ema_buf_ok = 0;
}

int gf__gan_ema_enter(gf__gan *gan) {
  if (!gan->g_ema) return 0;
  if (gan->ema_in) return gf__fail(GF_EINVAL, "train.ema: the average is already swapped in");
  const gf__ops *o = gan->ops;
  gf__net *G = &gan->G;
  size_t np = (size_t)G->nparam, nb = (size_t)G->nbuf;
  o->copy(gan->ema_save, G->params, np);
  if (nb) o->copy(gan->ema_save + np, G->buffers, nb);
  o->copy(G->params, gan->g_ema, np);
  gan->ema_in = 1;
  if (!nb) return 0;
  if (gan->ema_buf_ok) { /* picture, generator file and checkpoint of one step share them */
    o->copy(G->buffers, gan->ema_buf, nb);
    return 0;
  }
  /* BatchNorm statistics of the averaged weights: momentum 1/k on the k-th batch makes the
     running statistics the mean of the k batch statistics so far */
  int B = gan->Bg, K = (GF_EMA_BN_SAMPLES + B - 1) / B; /* batches of the global size, as one process */
  gf__ctx ctx;
  int rc = gf__ctx_create(&ctx, G, B);
  if (rc < 0) {
    gf__gan_ema_leave(gan);
    return rc;
  }
  float *z = o->alloc(sizeof(float) * (size_t)B * gan->nz);
  float *lab = G->nclass ? o->alloc(sizeof(float) * (size_t)B) : NULL;
  if (!z || (G->nclass && !lab)) {
    if (z) o->free(z);
    gf__ctx_destroy(&ctx);
    gf__gan_ema_leave(gan);
    return gf__fail(GF_ENOMEM, "out of memory for the train.ema statistics");
  }
  float mom[GF_MAX_LAYERS];
  for (int i = 0; i < G->n; i++) mom[i] = G->layers[i].momentum;
  gf__rng r;
  gf__rng_init(&r, (uint64_t)gan->cfg.train_seed, GF_STREAM_EMA_BN);
  if (lab) { /* a conditional G: every class in turn */
    float *h = malloc(sizeof(float) * (size_t)B);
    if (h) {
      gf__cond_labels_host(h, B, G->nclass, -1, 0);
      o->to_device(lab, h, sizeof(float) * (size_t)B);
    }
    free(h);
    ctx.labels = lab;
  }
  for (int k = 1; k <= K; k++) {
    for (int i = 0; i < G->n; i++)
      if (G->layers[i].kind == GF_LAYER_BATCHNORM || G->layers[i].kind == GF_LAYER_CBN)
        G->layers[i].momentum = 1.0f / (float)k;
    gf__gan_noise(gan, &r, z, B);
    gf__net_forward(G, &ctx, z, B, 1, NULL);
  }
  for (int i = 0; i < G->n; i++) G->layers[i].momentum = mom[i];
  o->copy(gan->ema_buf, G->buffers, nb);
  gan->ema_buf_ok = 1;
  o->free(z);
  if (lab) o->free(lab);
  gf__ctx_destroy(&ctx);
  return 0;
}

void gf__gan_ema_leave(gf__gan *gan) {
  if (!gan->g_ema || !gan->ema_in) return;
  size_t np = (size_t)gan->G.nparam, nb = (size_t)gan->G.nbuf;
  gan->ops->copy(gan->G.params, gan->ema_save, np);
  if (nb) gan->ops->copy(gan->G.buffers, gan->ema_save + np, nb);
  gan->ema_in = 0;
}
