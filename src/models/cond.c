/* cond.c: conditional GANs: cGAN (Mirza & Osindero 2014: the one-hot label concatenated to G's
   noise and D's input; in DCGAN's D as K extra image planes), the projection discriminator with
   conditional BatchNorm in G (Miyato & Koyama 2018), and ACGAN (Odena et al. 2017: D also
   predicts the class, the class loss trains both nets). Labels live in backend memory: the real
   batch's come from the data set, the fakes' are drawn uniformly from their own Philox stream. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "data/dataset.h"
#include "models/cond.h"
#include "models/gan.h"

gf__cond_mode gf__cond_mode_of(const gf_config *cfg) {
  if (!strcmp(cfg->model_cond, "concat")) return GF_COND_CONCAT;
  if (!strcmp(cfg->model_cond, "projection")) return GF_COND_PROJECTION;
  if (!strcmp(cfg->model_cond, "acgan")) return GF_COND_ACGAN;
  return GF_COND_NONE;
}

int gf__cond_classes(const gf_config *cfg) {
  if (cfg->model_n_classes > 0) return cfg->model_n_classes;
  static const struct { const char *name; int k; } known[] = {
    {"mnist", 10}, {"fashion-mnist", 10}, {"cifar10", 10}, {"digits", 10}, {"ring8", 8}, {"grid25", 25},
    {"shapes", 3}, {"stacked-mnist", 1000}, {"faces", 40}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(cfg->data_name, known[i].name)) return known[i].k;
  return 0;
}

static int classes_or_fail(const gf_config *cfg) {
  int K = gf__cond_classes(cfg);
  if (K < 2)
    return gf__fail(GF_EUSAGE, "model.cond=%s needs the number of classes: set model.n_classes (data.name=%s does not "
                    "say it before loading)", cfg->model_cond, cfg->data_name);
  return K;
}

int gf__cond_add_g_input(gf__net *net, const gf_config *cfg) {
  gf__cond_mode m = gf__cond_mode_of(cfg);
  if (m != GF_COND_CONCAT && m != GF_COND_ACGAN) return 0;
  int K = classes_or_fail(cfg);
  return K < 0 ? K : gf__net_add_onehot(net, K);
}

int gf__cond_add_g_norm(gf__net *net, const gf_config *cfg, float eps, float mom) {
  if (gf__cond_mode_of(cfg) != GF_COND_PROJECTION) return gf__net_add_batchnorm(net, 1, eps, mom);
  int K = classes_or_fail(cfg);
  return K < 0 ? K : gf__net_add_cbn(net, K, eps, mom);
}

int gf__cond_add_d_input(gf__net *net, const gf_config *cfg, int flat) {
  if (gf__cond_mode_of(cfg) != GF_COND_CONCAT) return 0;
  int K = classes_or_fail(cfg);
  if (K < 0) return K;
  if (flat && (net->in_h > 1 || net->in_w > 1)) GF_TRY(gf__net_add_reshape(net, net->in_c * net->in_h * net->in_w, 1, 1));
  return gf__net_add_onehot(net, K);
}

int gf__cond_add_d_head(gf__net *net, const gf_config *cfg, int kh, int kw, int sn) {
  gf__cond_mode m = gf__cond_mode_of(cfg);
  int K = m == GF_COND_NONE || m == GF_COND_CONCAT ? 0 : classes_or_fail(cfg);
  if (K < 0) return K;
  if (m == GF_COND_PROJECTION) {
    const gf__layer *p = &net->layers[net->n - 1];
    if (p->out_h > 1 || p->out_w > 1 || kh) GF_TRY(gf__net_add_reshape(net, (int)gf__layer_out_size(p), 1, 1));
    GF_TRY(gf__net_add_proj(net, K));
    /* SNGAN-projection: the linear weight and the class embedding both spectrally normalised */
    return sn ? gf__net_spectral_last(net) : 0;
  }
  int outs = m == GF_COND_ACGAN ? 1 + K : 1;
  if (!kh) {
    GF_TRY(gf__net_add_linear(net, outs, 1));
    return sn ? gf__net_spectral_last(net) : 0;
  }
  GF_TRY(gf__net_add_conv2d(net, outs, kh, kw, 1, 1, 0, 0, 0));
  if (sn) GF_TRY(gf__net_spectral_last(net));
  return gf__net_add_reshape(net, outs, 1, 1); /* nn.Flatten: the logit(s) */
}

int gf__cond_prepare(gf_config *cfg, const gf__dataset *ds) {
  if (gf__cond_mode_of(cfg) == GF_COND_NONE) return 0;
  if (!ds->labels || ds->nclass < 2)
    return gf__fail(GF_EUSAGE, "model.cond=%s needs a labelled data set, and %s (data.name=%s) has no labels (labelled: "
                    "mnist, fashion-mnist, cifar10, digits, shapes, ring8, grid25, stacked-mnist, image folders with one "
                    "subfolder per class)", cfg->model_cond, ds->name, cfg->data_name);
  if (cfg->model_n_classes && cfg->model_n_classes != ds->nclass)
    return gf__fail(GF_EUSAGE, "model.n_classes=%d, but the data set %s has %d classes", cfg->model_n_classes, ds->name,
                    ds->nclass);
  for (int i = 0; i < ds->n; i++)
    if (ds->labels[i] < 0 || ds->labels[i] >= ds->nclass)
      return gf__fail(GF_EFORMAT, "%s: sample %d has label %d, not a class of 0..%d", ds->name, i, ds->labels[i],
                      ds->nclass - 1);
  cfg->model_n_classes = ds->nclass;
  return 0;
}

int gf__cond_create(gf__gan *gan) {
  gf__cond_mode m = gf__cond_mode_of(&gan->cfg);
  if (m == GF_COND_NONE) return 0;
  const gf__ops *o = gan->ops;
  gf__cond *c = calloc(1, sizeof *c);
  if (!c) return gf__fail(GF_ENOMEM, "out of memory");
  gan->cond = c;
  c->mode = m;
  c->K = gf__cond_classes(&gan->cfg);
  c->B = gan->B;
  c->aux_weight = (float)gan->cfg.train_aux_weight;
  gf__rng_init(&c->r_lab, (uint64_t)gan->cfg.train_seed, GF_STREAM_LABELS);
  int B = gan->B;
  c->ylab = o->alloc(sizeof(float) * 2 * (size_t)B);
  c->host = malloc(sizeof(float) * (size_t)B);
  if (m == GF_COND_ACGAN) {
    c->col = o->alloc(sizeof(float) * 2 * (size_t)B * (c->K + 1));
    c->dcol = o->alloc(sizeof(float) * 2 * (size_t)B * (c->K + 1));
  }
  if (!c->ylab || !c->host || (m == GF_COND_ACGAN && (!c->col || !c->dcol)))
    return gf__fail(GF_ENOMEM, "out of memory for the label buffers");
  c->yr = c->ylab;
  c->yf = c->ylab + B;
  /* G reads the fake labels; D the real ones, the fake ones, or both when it runs [real; fake] */
  gan->cg.labels = c->yf;
  gan->cdr.labels = c->yr;
  gan->cdf.labels = c->yf;
  gan->cdd.labels = c->ylab;
  return 0;
}

void gf__cond_destroy(gf__gan *gan) {
  gf__cond *c = gan->cond;
  if (!c) return;
  if (c->ylab) gan->ops->free(c->ylab);
  if (c->col) gan->ops->free(c->col);
  if (c->dcol) gan->ops->free(c->dcol);
  free(c->host);
  free(c);
  gan->cond = NULL;
}

int gf__cond_set_real(gf__gan *gan, const float *y) {
  gf__cond *c = gan->cond;
  for (int i = 0; i < c->B; i++)
    if (!(y[i] >= 0 && y[i] < (float)c->K && y[i] == floorf(y[i])))
      return gf__fail(GF_EFORMAT, "label %g of a training sample is not a class of 0..%d (model.n_classes = %d)",
                      (double)y[i], c->K - 1, c->K);
  gan->ops->to_device(c->yr, y, sizeof(float) * (size_t)c->B);
  return 0;
}

void gf__cond_draw_fake(gf__gan *gan) {
  gf__cond *c = gan->cond;
  if (c->yf_override) {
    gan->ops->copy(c->yf, c->yf_override, (size_t)c->B);
    return;
  }
  /* labels for all Bg rows of the global batch (one process at batch Bg draws the same); this
     rank keeps rows [row0, row0 + B) */
  for (int i = 0; i < gan->Bg; i++) {
    float v = (float)gf__rng_below(&c->r_lab, (uint32_t)c->K);
    if (i >= gan->row0 && i < gan->row0 + c->B) c->host[i - gan->row0] = v;
  }
  gan->ops->to_device(c->yf, c->host, sizeof(float) * (size_t)c->B);
}

void gf__cond_acgan_loss(gf__gan *gan, gf__gan_loss kind, float *stats, float *xstats, float *dl, const float *l, int n,
                         const float *labels) {
  const gf__ops *o = gan->ops;
  gf__cond *c = gan->cond;
  int K = c->K, w = K + 1;
  float *src = c->col, *cls = c->col + n, *dsrc = c->dcol, *dcls = c->dcol + n;
  o->copy2d(src, 1, l, w, n, 1);       /* the source logits [n] */
  o->copy2d(cls, K, l + 1, w, n, K);   /* the class logits [n, K] */
  o->fill(c->dcol, 0.0f, (size_t)n * w);
  o->gan_loss(kind, stats, dsrc, src, (size_t)n, 1.0f);
  o->xent_loss(xstats, dcls, NULL, cls, labels, n, K, c->aux_weight);
  o->copy2d(dl, w, dsrc, 1, n, 1);
  o->copy2d(dl + 1, w, dcls, K, n, K);
}

void gf__cond_labels_host(float *y, int n, int K, int klass, int per_row) {
  for (int i = 0; i < n; i++) y[i] = (float)(klass >= 0 ? klass : per_row > 0 ? (i / per_row) % K : i % K);
}
