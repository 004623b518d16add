/* critic.h: the loss families of the GAN step (bce, wgan, wgan-gp, hinge, lsgan, ragan), the
   gradient penalties (WGAN-GP, lazy R1) and weight clipping, beside gan.c's D and G steps. */
#ifndef GF_MODELS_CRITIC_H
#define GF_MODELS_CRITIC_H

#include "core/ops.h"
#include "core/rng.h"
#include "ganforge/config.h"
#include "nn/nn.h"

struct gf__gan;

typedef enum gf__crit_loss { GF_CRIT_BCE, GF_CRIT_WGAN, GF_CRIT_HINGE, GF_CRIT_LSGAN, GF_CRIT_RAGAN } gf__crit_loss;

typedef struct gf__critic {
  gf__crit_loss loss;
  int penalty;             /* -1: none; else a gf__penalty (GP on interpolates, R1 on real data) */
  float weight;            /* GP: lambda; R1: gamma */
  int every;               /* R1: applied every `every` D steps, weighted by `every` (lazy) */
  float clip;              /* > 0: D's parameters clamped to [-clip, clip] after every D update */
  gf__ctx cp;              /* D applied to the penalty's points (SN: no power iteration of its own) */
  gf__ctx2 c2;             /* what the penalty's second-order pass keeps */
  float *xhat;             /* [Bd, pack*dim] interpolates */
  float *t;                /* [Bd] interpolation coefficients */
  float *gx, *v;           /* [Bd, pack*dim] D's input gradient and d penalty / d gx */
  float *scr;              /* RaGAN: relativistic logits and their gradients [4, Bd] */
  float *din2;             /* RaGAN G step over the fused D pass: input gradient of [real; fake] */
  float *sc;               /* device scalars */
  gf__rng r_gp;            /* stream GF_STREAM_PENALTY: the coefficients t */
  const float *t_override; /* [Bd] coefficients used instead of drawing them (tests, parity) */
  float pen, grad_norm;    /* the last penalty and mean |grad_x D| (0 when none; set by gf__gan_stats) */
} gf__critic;

/* Config combinations the losses refuse (one line naming the keys). */
int gf__critic_check_config(const gf_config *cfg);
/* The checks above, plus the penalty's need for a second-order pass through every layer of the
   discriminator the config builds (before anything is loaded or written). */
int gf__critic_preflight(const gf_config *cfg);
/* Sets up the losses and penalty of a gan whose nets, batch and D contexts exist. */
int gf__critic_create(struct gf__gan *gan);
void gf__critic_destroy(struct gf__gan *gan);
/* Data-parallel (after gf__gan_distribute set Bg, row0): the penalty's coefficients are drawn for
   the global batch. */
int gf__critic_distribute(struct gf__gan *gan);
/* D's loss on real logits lr and fake logits lf [n] (n = Bd): gradients accumulated into dlr,
   dlf; statistics (loss, mean output: probabilities, or critic values) added into gan->stats[0..3]
   (backend memory, read by gf__gan_stats). Fails only on a data-parallel collective (RaGAN). */
int gf__critic_d_loss(struct gf__gan *gan, const float *lr, const float *lf, float *dlr, float *dlf, int n);
/* The gradient penalty of this D step (if any is due) on D's real and fake rows [Bd, pack*dim]:
   accumulates its gradient into D's grads, its value and mean |grad_x D| into gan->stats[4..5].
   Ops only (no read-back): a step can be recorded and replayed. */
int gf__critic_penalty(struct gf__gan *gan, const float *real, const float *fake);
/* After D's update: weight clipping. */
void gf__critic_after_d_update(struct gf__gan *gan);
/* The constant-target G loss of the non-relativistic families. */
gf__gan_loss gf__critic_g_kind(const struct gf__gan *gan);
/* RaGAN's G pass: D on the last real batch and on fake [B, dim], the relativistic G loss (into
   the G slot of gan->stats), and D's input gradient of the fakes added into dfake [B, dim]. */
int gf__critic_ragan_g(struct gf__gan *gan, const float *fake, float *dfake);
/* log.csv columns after `seconds` for this config (critic losses: wasserstein; penalties:
   penalty, grad_norm), as ",a,b" ("" for none), and the values of the last steps. */
const char *gf__critic_log_columns(const gf_config *cfg);
void gf__critic_log_values(const struct gf__gan *gan, char *buf, size_t cap);
/* The same values as numbers into v [3]; returns how many. */
int gf__critic_values(const struct gf__gan *gan, double *v);

#endif
