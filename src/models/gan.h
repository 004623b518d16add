/* gan.h: a generator/discriminator pair built from a config, and its D and G training steps. */
#ifndef GF_MODELS_GAN_H
#define GF_MODELS_GAN_H

#include "core/ops.h"
#include "core/rng.h"
#include "dist/dist.h"
#include "ganforge/config.h"
#include "models/critic.h"
#include "nn/nn.h"

typedef struct gf__opt_state {
  long t;          /* optimizer steps taken */
  double lr;       /* current learning rate (after decay) */
} gf__opt_state;

/* One step of train.optimizer (adam | sgd | rmsprop) on a whole network arena at st->lr, the
   st->t-th one (Adam's bias corrections); momentum: SGD's at this step. */
void gf__opt_apply(const gf__ops *o, gf__net *net, const gf_config *c, const gf__opt_state *st, double momentum);

typedef struct gf__gan {
  gf_config cfg;
  const gf__ops *ops;
  gf__net G, D;
  gf__ctx cg;            /* G applied to noise */
  gf__ctx cdr, cdf;      /* D applied to real and to fake */
  gf__ctx cdd;           /* D applied to [real; fake] at once (fuse_d) */
  int fuse_d;            /* D has no batch-statistics layer: the D step runs one 2B batch */
  float *xrf;            /* [2B, dim] real rows then fake rows (fuse_d; xr points at its top) */
  int B;                 /* batch size the contexts are planned for */
  int pack;              /* PacGAN: D sees B / pack packs of pack samples along channels (1: off) */
  int nz;
  long dim;              /* per-sample data size */
  int c, h, w;           /* data shape */
  float *z;              /* [B, nz] noise (backend memory) */
  const float *z_override; /* [B, nz] when non-NULL, used instead of drawing noise (tests, parity) */
  float *xr;             /* [B, dim] real batch (backend memory) */
  const float *x_real;   /* the real batch of the last D step (RaGAN's G step reads it) */
  gf__critic crit;       /* train.loss beyond bce, gradient penalties, clipping (critic.c) */
  gf__rng r_init, r_noise, r_drop;
  gf__opt_state og, od;
  int have_fake;         /* the G context holds fakes from the last D step */
  long g_steps, d_steps;
  int epoch;             /* current epoch, 1-based, for the momentum ramp */
  /* train.ema > 0: exponential moving average of G's parameters (Yazici et al. 2019), updated
     after every G step; what pictures, generator.safetensors and eval see */
  float *g_ema;          /* [G.nparam] the average (backend memory); NULL when off */
  float *ema_save;       /* [G.nparam + G.nbuf] live parameters and BN statistics while the average is in G */
  float *ema_buf;        /* [G.nbuf] BN running statistics recomputed for the average (gf__gan_ema_enter) */
  int ema_in;            /* the average is swapped into G */
  int ema_buf_ok;        /* ema_buf belongs to the current average (reset by every update) */
  /* loss statistics of the last D and G steps, accumulated by the loss ops in backend memory
     (GF_GAN_STATS floats: D real loss / D(x), D fake loss / D(G(z)), D's gradient penalty / mean
     |grad_x D| (critic.c), G loss / D(G(z)); ACGAN's class cross-entropy / correct count of D's
     real, D's fake and G's rows) and read back once per step by gf__gan_stats into: */
  float *stats;
  float loss_d, loss_g, d_real, d_fake;
  /* data-parallel training (gf__gan_distribute): this rank trains on rows [row0, row0 + B) of
     every global batch of Bg; noise is drawn for all Bg rows (the same numbers as one process at
     batch Bg), gradients averaged before every optimizer step. dist NULL: alone, Bg = B. */
  gf__dist *dist;
  int Bg, row0;
  struct gf__cond *cond;    /* model.cond: labels of G's and D's rows (models/cond.c); NULL: unconditional */
  struct gf__diffaug *aug;  /* train.diffaug: DiffAugment before D (models/diffaug.c); NULL: off */
} gf__gan;

/* Builds G and D for data of shape (c, h, w), allocates everything for batch B, and initialises
   the weights from the init stream. `marginals` [dim] (mean pixel in [0,1]) or NULL. */
int gf__gan_create(gf__gan *gan, const gf_config *cfg, const gf__ops *ops, int c, int h, int w, int B,
                   const float *marginals);
void gf__gan_destroy(gf__gan *gan);

/* Draws a noise batch [n, nz] into backend memory from the stream. */
void gf__gan_noise(const gf__gan *gan, gf__rng *r, float *z, int n);
/* One discriminator step on a real batch (backend memory [B, dim]). Queues work only: its loss
   statistics stay in backend memory until gf__gan_stats. */
int gf__gan_d_step(gf__gan *gan, const float *xreal);
/* One generator step. */
int gf__gan_g_step(gf__gan *gan);
/* Reads the loss statistics of the last D and G steps (one to_host) into loss_d, loss_g, d_real,
   d_fake; GF_ENUMERIC (naming the loss and the step) when a loss is not finite, in which case the
   step's updates must not be saved. */
#define GF_GAN_STATS 14
int gf__gan_stats(gf__gan *gan);
/* Generates n samples from noise z (backend memory, [n, nz]) into out (host, [n, dim]) with G in
   eval mode (or batch-statistics mode when model.sample_bn = batch). */
int gf__gan_sample(gf__gan *gan, const float *z_dev, int n, float *out_host);
/* The same for a conditional G with the class of every sample: labels_host [n] (class indices
   as floats); NULL: sample i gets class i mod K. Unconditional G: labels are ignored. */
int gf__gan_sample_labeled(gf__gan *gan, const float *z_dev, const float *labels_host, int n, float *out_host);

/* The same for host noise z_host [n, nz] (uploaded first), and host noise drawn from a stream
   as gf__gan_noise draws it (through backend memory). gf__gan_sample_host_labeled: with the
   classes labels_host [n] of a conditional G (NULL: i mod K). */
int gf__gan_sample_host(gf__gan *gan, const float *z_host, int n, float *out_host);
int gf__gan_sample_host_labeled(gf__gan *gan, const float *z_host, const float *labels_host, int n, float *out_host);
int gf__gan_noise_host(const gf__gan *gan, gf__rng *r, float *z_host, int n);

/* EMA decay at G update t (1-based): min(train.ema, (1 + t) / (10 + t)), the warm-up of
   TensorFlow's ExponentialMovingAverage(num_updates), so early averages do not remember the
   random init. */
double gf__ema_decay(double ema, long t);
/* avg = d avg + (1 - d) p with d = gf__ema_decay(train.ema, og.t); called by gf__gan_g_step. */
void gf__gan_ema_update(gf__gan *gan);
/* Swaps the average into G (the live weights and BN statistics are kept aside) and, when G has
   BatchNorm, recomputes its running statistics for the averaged weights: the cumulative mean of
   the batch statistics of GF_EMA_BN_SAMPLES samples in batches of train.batch, from noise of
   stream GF_STREAM_EMA_BN starting at counter 0 (as torch.optim.swa_utils.update_bn). Touches no
   training stream, so a run is the same whether or not it saved or drew pictures. The
   statistics are also copied into ema_buf. No-op (0) when train.ema is 0. */
#define GF_EMA_BN_SAMPLES 2048
int gf__gan_ema_enter(gf__gan *gan);
/* Puts the live weights and statistics back. */
void gf__gan_ema_leave(gf__gan *gan);

/* Builds just the generator of a config into `net` (used by sampling tools and checkpoints). */
int gf__build_generator(gf__net *net, const gf_config *cfg, const gf__ops *ops, long dim);
/* The _plan forms: the same layers and plan (sizes, offsets) with nothing allocated (then
   gf__net_finalize, or only describe them). */
int gf__build_generator_plan(gf__net *net, const gf_config *cfg, const gf__ops *ops, long dim);
int gf__build_discriminator(gf__net *net, const gf_config *cfg, const gf__ops *ops, int c, int h, int w);
int gf__build_discriminator_plan(gf__net *net, const gf_config *cfg, const gf__ops *ops, int c, int h, int w);

/* Per-sample shape of the data a config trains on (without loading it). */
void gf__data_shape(const gf_config *cfg, int *c, int *h, int *w);

#endif
