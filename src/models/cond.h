/* cond.h: conditional GANs: the class labels of G's and D's rows, the conditional layers the
   builders add (model.cond), and ACGAN's auxiliary classification loss. */
#ifndef GF_MODELS_COND_H
#define GF_MODELS_COND_H

#include "core/ops.h"
#include "core/rng.h"
#include "ganforge/config.h"
#include "nn/nn.h"

typedef enum gf__cond_mode {
  GF_COND_NONE,
  GF_COND_CONCAT,      /* cGAN (Mirza & Osindero 2014): one-hot label appended to z and to D's input */
  GF_COND_PROJECTION,  /* conditional BatchNorm in G, projection head in D (Miyato & Koyama 2018) */
  GF_COND_ACGAN        /* one-hot label appended to z; D also classifies (Odena et al. 2017) */
} gf__cond_mode;

gf__cond_mode gf__cond_mode_of(const gf_config *cfg);
/* Classes of a conditional config: model.n_classes, or when 0 the known count of its data set
   (mnist 10, ring8 8, ...; 0 when unknown before loading, e.g. an image folder). */
int gf__cond_classes(const gf_config *cfg);

/* Builder hooks (models/gan.c). Each adds nothing for an unconditional config. */
int gf__cond_add_g_input(gf__net *net, const gf_config *cfg);        /* concat / acgan: one-hot after z */
int gf__cond_add_g_norm(gf__net *net, const gf_config *cfg, float eps, float mom); /* BN, or CBN (projection) */
int gf__cond_add_d_input(gf__net *net, const gf_config *cfg, int flat); /* concat: one-hot (flat: after a flatten) */
/* D's output layer: kh = 0: Linear(in, 1) (MLP); else Conv2d(in, 1, kh x kw) + flatten (DCGAN).
   acgan: 1 + K outputs (source logit, then class logits); projection: flatten + projection head. */
int gf__cond_add_d_head(gf__net *net, const gf_config *cfg, int kh, int kw, int sn);

/* Before a conditional config trains on ds: the set must have labels; model.n_classes is set
   from it (0) or must match it. No-op for an unconditional config. */
struct gf__dataset;
int gf__cond_prepare(gf_config *cfg, const struct gf__dataset *ds);

struct gf__gan;
typedef struct gf__cond {
  gf__cond_mode mode;
  int K;
  int B;
  float *ylab;              /* [2B] backend: real labels, then fake labels (the contexts point into it) */
  float *yr, *yf;           /* ylab, ylab + B */
  float *host;              /* [B] host staging */
  const float *yf_override; /* [B] backend: fake labels used instead of drawing (tests, parity) */
  gf__rng r_lab;            /* fake labels: (seed, GF_STREAM_LABELS, counter), uniform over the K classes */
  float aux_weight;         /* acgan: weight of the class loss */
  float *col, *dcol;        /* acgan: [2B (1 + K)] contiguous logits and their gradients */
} gf__cond;

/* Sets up gan->cond for a conditional config (after the nets and contexts exist): label buffers
   and the contexts' label pointers. No-op for an unconditional one. */
int gf__cond_create(struct gf__gan *gan);
void gf__cond_destroy(struct gf__gan *gan);
/* Copies a real batch's labels (host [B] class indices as floats, checked against K) to D
   (training takes them from the resident set with ops.gather, or with the prefetched batch). */
int gf__cond_set_real(struct gf__gan *gan, const float *host_labels);
/* Draws the fake labels of the next G pass (uniform classes; data-parallel: this rank's rows of
   the global batch's), or copies yf_override. */
void gf__cond_draw_fake(struct gf__gan *gan);
/* ACGAN's loss on n rows of D's outputs l [n, 1 + K]: the adversarial loss `kind` on the source
   logits plus aux_weight x softmax cross-entropy of the class logits against labels [n]; the
   statistics ACCUMULATE in backend memory: stats as ops.gan_loss (source term), xstats as
   ops.xent_loss (class term, unweighted); dl [n, 1 + K] (zeroed) receives the gradient. */
void gf__cond_acgan_loss(struct gf__gan *gan, gf__gan_loss kind, float *stats, float *xstats, float *dl, const float *l,
                         int n, const float *labels);
/* Writes n labels into host memory: klass >= 0: all klass; else sample i gets i mod K, or with
   per_row > 0 i / per_row (one row of a grid per class). */
void gf__cond_labels_host(float *y, int n, int K, int klass, int per_row);

#endif
