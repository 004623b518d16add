/* critic.c: the loss families of the GAN step beyond the 2014 BCE: WGAN (Arjovsky et al. 2017,
   weight clipping), WGAN-GP (Gulrajani et al. 2017, penalty on interpolates), hinge (as in SNGAN),
   LSGAN (Mao et al. 2017) and relativistic average GAN (Jolicoeur-Martineau 2018), plus the lazy
   R1 penalty (Mescheder et al. 2018; lazy as in StyleGAN2). Constant-target losses are kinds of
   ops.gan_loss; penalties run the second-order pass of src/nn/second.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "models/cond.h"
#include "models/critic.h"
#include "models/diffaug.h"
#include "models/gan.h"

#define R16(x) (((size_t)(x) + 15) / 16 * 16)

static int d_spectral(const gf_config *c) {
  return !strcmp(c->model_d_norm, "spectral") ||
         (!strcmp(c->model_arch, "dcgan") && !strcmp(c->model_dcgan_d_norm, "spectral"));
}

static int is_critic(const char *loss) { return !strcmp(loss, "wgan") || !strcmp(loss, "wgan-gp") || !strcmp(loss, "hinge"); }

int gf__critic_check_config(const gf_config *c) {
  const char *L = c->train_loss;
  int gp = !strcmp(L, "wgan-gp"), r1 = c->train_r1_gamma > 0;
  if (strcmp(L, "bce") && strcmp(c->train_g_loss, "nonsaturating"))
    return gf__fail(GF_EUSAGE, "train.g_loss=%s is a form of train.loss=bce; train.loss=%s has its own generator loss",
                    c->train_g_loss, L);
  if (c->train_clip > 0 && (gp || r1))
    return gf__fail(GF_EUSAGE, "train.clip=%g with a gradient penalty (%s): clipping and the penalty both constrain "
                    "the critic; use one of them", c->train_clip, gp ? "train.loss=wgan-gp" : "train.r1_gamma");
  if (!strcmp(L, "wgan") && !(c->train_clip > 0) && !d_spectral(c))
    return gf__fail(GF_EUSAGE, "train.loss=wgan needs a Lipschitz constraint on the critic: train.clip > 0 (Arjovsky et "
                    "al.: 0.01), model.d_norm=spectral, or train.loss=wgan-gp");
  if (gp && r1) return gf__fail(GF_EUSAGE, "train.r1_gamma with train.loss=wgan-gp: one gradient penalty at a time");
  if (!strcmp(c->model_cond, "acgan") && r1)
    return gf__fail(GF_EUSAGE, "train.r1_gamma with model.cond=acgan: the penalty differentiates one critic value per "
                    "row, and ACGAN's D also outputs class logits; use model.cond=projection or concat");
  if (!strcmp(c->model_cond, "acgan") && strcmp(L, "bce"))
    return gf__fail(GF_EUSAGE, "model.cond=acgan with train.loss=%s: ACGAN's class head trains with train.loss=bce", L);
  return 0;
}

int gf__critic_preflight(const gf_config *cfg) {
  GF_TRY(gf__critic_check_config(cfg));
  if (strcmp(cfg->train_loss, "wgan-gp") && !(cfg->train_r1_gamma > 0)) return 0;
  /* the penalty differentiates D's input gradient: every layer of D needs a second-order pass */
  int c, h, w;
  gf__data_shape(cfg, &c, &h, &w);
  gf__net D;
  int rc = gf__build_discriminator(&D, cfg, gf__ops_cpu(), c, h, w);
  if (rc == 0) rc = gf__net_second_order_check(&D, !strcmp(cfg->train_loss, "wgan-gp") ? "train.loss=wgan-gp" : "train.r1_gamma");
  gf__net_free(&D);
  return rc;
}

int gf__critic_create(gf__gan *gan) {
  gf__critic *c = &gan->crit;
  const gf_config *cfg = &gan->cfg;
  const gf__ops *o = gan->ops;
  memset(c, 0, sizeof *c);
  c->penalty = -1;
  GF_TRY(gf__critic_check_config(cfg));
  const char *L = cfg->train_loss;
  c->loss = !strcmp(L, "wgan") || !strcmp(L, "wgan-gp") ? GF_CRIT_WGAN
            : !strcmp(L, "hinge")                       ? GF_CRIT_HINGE
            : !strcmp(L, "lsgan")                       ? GF_CRIT_LSGAN
            : !strcmp(L, "ragan")                       ? GF_CRIT_RAGAN
                                                        : GF_CRIT_BCE;
  c->clip = (float)cfg->train_clip;
  c->every = 1;
  if (!strcmp(L, "wgan-gp")) {
    c->penalty = GF_PEN_GP;
    c->weight = (float)cfg->train_gp_lambda;
  } else if (cfg->train_r1_gamma > 0) {
    c->penalty = GF_PEN_R1;
    c->weight = (float)cfg->train_r1_gamma;
    c->every = cfg->train_r1_every;
  }
  gf__rng_init(&c->r_gp, (uint64_t)cfg->train_seed, GF_STREAM_PENALTY);
  int Bd = gan->B / gan->pack;
  size_t rows = (size_t)gan->B * gan->dim; /* [Bd, pack * dim] */
  if (!(c->sc = o->alloc(sizeof(float) * 16))) return gf__fail(GF_ENOMEM, "out of memory for the loss");
  if (c->penalty >= 0) {
    GF_TRY(gf__net_second_order_check(&gan->D, c->penalty == GF_PEN_GP ? "train.loss=wgan-gp" : "train.r1_gamma"));
    GF_TRY(gf__ctx_create(&c->cp, &gan->D, Bd));
    c->cp.sn_fixed = 1; /* the loss's pass of this step did the power iteration */
    /* a conditional D judges the penalty's rows with the real batch's labels: R1's are real rows;
       WGAN-GP's interpolate real row i and fake row i, which G drew with its own uniform labels,
       and keeps real label i (as StudioGAN's cal_grad_penalty: interpolate the images, keep the
       real labels); the gradient norm is over the image input only */
    if (gan->cond) c->cp.labels = gan->cond->yr;
    GF_TRY(gf__ctx2_create(&c->c2, &gan->D, Bd));
    c->t = o->alloc(sizeof(float) * R16(Bd));
    c->gx = o->alloc(sizeof(float) * rows);
    c->v = o->alloc(sizeof(float) * rows);
    if (c->penalty == GF_PEN_GP) c->xhat = o->alloc(sizeof(float) * rows);
    if (!c->t || !c->gx || !c->v || (c->penalty == GF_PEN_GP && !c->xhat))
      return gf__fail(GF_ENOMEM, "out of memory for the gradient penalty");
  }
  if (c->loss == GF_CRIT_RAGAN) {
    c->scr = o->alloc(sizeof(float) * 4 * R16(Bd));
    if (gan->fuse_d) c->din2 = o->alloc(sizeof(float) * 2 * rows);
    if (!c->scr || (gan->fuse_d && !c->din2)) return gf__fail(GF_ENOMEM, "out of memory for train.loss=ragan");
  }
  return 0;
}

int gf__critic_distribute(gf__gan *gan) {
  gf__critic *c = &gan->crit;
  if (c->penalty != GF_PEN_GP || gan->Bg == gan->B) return 0;
  float *t = gan->ops->alloc(sizeof(float) * R16(gan->Bg / gan->pack));
  if (!t) return gf__fail(GF_ENOMEM, "out of memory for the gradient penalty");
  gan->ops->free(c->t);
  c->t = t;
  return 0;
}

void gf__critic_destroy(gf__gan *gan) {
  gf__critic *c = &gan->crit;
  const gf__ops *o = gan->ops;
  if (!o) return;
  gf__ctx_destroy(&c->cp);
  gf__ctx2_destroy(&c->c2);
  float *bufs[] = {c->xhat, c->t, c->gx, c->v, c->scr, c->din2, c->sc};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    if (bufs[i]) o->free(bufs[i]);
  memset(c, 0, sizeof *c);
  c->penalty = -1;
}

/* Relativistic average losses: kr on ar = lr - mean(lf), kf on af = lf - mean(lr), with the
   gradients through both the logits and the means; dlr may be NULL (the G step). Statistics
   accumulate into sr and sf (backend memory). Data-parallel: the means are over the global batch
   (the mean of the ranks' equal shares), as one process at the global batch computes them. */
static int ragan_loss(gf__gan *gan, gf__gan_loss kr, gf__gan_loss kf, const float *lr, const float *lf, float *dlr,
                      float *dlf, int n, float *sr, float *sf) {
  const gf__ops *o = gan->ops;
  gf__critic *c = &gan->crit;
  size_t N = (size_t)n, s = R16(n);
  float *ar = c->scr, *af = ar + s, *dar = af + s, *daf = dar + s, *sc = c->sc;
  o->dot(sc + 0, lr, NULL, N, 1.0f / (float)n); /* mean(lr) */
  o->dot(sc + 1, lf, NULL, N, 1.0f / (float)n); /* mean(lf) */
  if (gan->dist) GF_TRY(gf__dist_allreduce(gan->dist, sc, 2, GF_DIST_MEAN, "RaGAN's mean logits"));
  o->scalar_op(GF_SOP_ADD, ar, lr, sc + 1, -1.0f, N);
  o->scalar_op(GF_SOP_ADD, af, lf, sc + 0, -1.0f, N);
  o->fill(dar, 0.0f, 2 * s);
  o->gan_loss(kr, sr, dar, ar, N, 1.0f);
  o->gan_loss(kf, sf, daf, af, N, 1.0f);
  o->dot(sc + 2, dar, NULL, N, 1.0f / (float)n);
  o->dot(sc + 3, daf, NULL, N, 1.0f / (float)n);
  if (gan->dist) GF_TRY(gf__dist_allreduce(gan->dist, sc + 2, 2, GF_DIST_MEAN, "RaGAN's mean gradients"));
  if (dlr) { /* dlr += dar - mean(daf) */
    o->axpy(dlr, 1.0f, dar, N);
    o->scalar_op(GF_SOP_ADD, dlr, dlr, sc + 3, -1.0f, N);
  }
  o->axpy(dlf, 1.0f, daf, N); /* dlf += daf - mean(dar) */
  o->scalar_op(GF_SOP_ADD, dlf, dlf, sc + 2, -1.0f, N);
  return 0;
}

int gf__critic_d_loss(gf__gan *gan, const float *lr, const float *lf, float *dlr, float *dlf, int n) {
  const gf__ops *o = gan->ops;
  float *sr = gan->stats, *sf = gan->stats + 2;
  gf__gan_loss kr = GF_LOSS_BCE_ONE, kf = GF_LOSS_BCE_ZERO;
  switch (gan->crit.loss) {
  case GF_CRIT_WGAN: kr = GF_LOSS_WGAN_REAL; kf = GF_LOSS_WGAN_FAKE; break;
  case GF_CRIT_HINGE: kr = GF_LOSS_HINGE_REAL; kf = GF_LOSS_HINGE_FAKE; break;
  case GF_CRIT_LSGAN: kr = GF_LOSS_MSE_ONE; kf = GF_LOSS_MSE_ZERO; break;
  default: break;
  }
  if (gan->crit.loss == GF_CRIT_RAGAN) return ragan_loss(gan, kr, kf, lr, lf, dlr, dlf, n, sr, sf);
  o->gan_loss(kr, sr, dlr, lr, (size_t)n, 1.0f);
  o->gan_loss(kf, sf, dlf, lf, (size_t)n, 1.0f);
  return 0;
}

int gf__critic_penalty(gf__gan *gan, const float *real, const float *fake) {
  gf__critic *c = &gan->crit;
  const gf__ops *o = gan->ops;
  if (c->penalty < 0 || gan->d_steps % c->every) return 0;
  gf__net *D = &gan->D;
  int Bd = gan->B / gan->pack;
  size_t pdim = (size_t)gan->dim * gan->pack;
  const float *x = real;
  float w = c->weight;
  if (c->penalty == GF_PEN_GP) {
    /* x^ = t real + (1 - t) fake, t ~ U[0, 1) per row D sees; data-parallel: drawn for every
       row of the global batch (as one process draws them), this rank's rows used */
    const float *t = c->t;
    if (c->t_override) o->copy(c->t, c->t_override, (size_t)Bd);
    else {
      int Bdg = gan->Bg / gan->pack;
      o->rand_uniform(c->t, (size_t)Bdg, 0.0f, 1.0f, c->r_gp.seed, c->r_gp.stream, c->r_gp.counter);
      c->r_gp.counter += ((uint64_t)Bdg + 3) / 4;
      t = c->t + gan->row0 / gan->pack;
    }
    o->lerp_rows(c->xhat, real, fake, t, Bd, pdim);
    x = c->xhat;
  } else {
    w *= (float)c->every; /* lazy R1 */
  }
  gf__net_forward(D, &c->cp, x, Bd, 1, NULL);
  o->fill(gf__ctx_dout(D, &c->cp), 1.0f, (size_t)Bd); /* g = d(sum_r D(x_r)) / dx */
  o->fill(c->gx, 0.0f, (size_t)Bd * pdim);
  gf__net_backward_input(D, &c->cp, &c->c2, c->gx);
  o->grad_penalty((gf__penalty)c->penalty, gan->stats + 4, c->v, c->gx, Bd, pdim, w); /* read by gf__gan_stats */
  gf__net_double_backward(D, &c->cp, &c->c2, c->v);
  return 0;
}

void gf__critic_after_d_update(gf__gan *gan) {
  if (gan->crit.clip > 0) gan->ops->clamp(gan->D.params, -gan->crit.clip, gan->crit.clip, (size_t)gan->D.nparam);
}

gf__gan_loss gf__critic_g_kind(const gf__gan *gan) {
  switch (gan->crit.loss) {
  case GF_CRIT_WGAN: case GF_CRIT_HINGE: return GF_LOSS_WGAN_REAL; /* -D(G(z)) */
  case GF_CRIT_LSGAN: return GF_LOSS_MSE_ONE;
  default: break;
  }
  if (!strcmp(gan->cfg.train_g_loss, "minimax")) return GF_LOSS_MINIMAX_G;
  if (!strcmp(gan->cfg.train_g_loss, "kl")) return GF_LOSS_KL_G;
  return GF_LOSS_BCE_ONE;
}

int gf__critic_ragan_g(gf__gan *gan, const float *fake, float *dfake) {
  const gf__ops *o = gan->ops;
  gf__net *D = &gan->D;
  int B = gan->B, Bd = B / gan->pack;
  size_t bd = (size_t)B * gan->dim;
  float *s = gan->stats + 6; /* both halves of the G loss add into the G slot */
  if (!gan->x_real) return gf__fail(GF_EINVAL, "train.loss=ragan: the generator step needs a discriminator step first");
  if (gan->fuse_d) {
    /* D on [real; fake] in one pass; only the fake rows' input gradient goes to G */
    if (gan->x_real != gan->xrf) o->copy(gan->xrf, gan->x_real, bd);
    o->copy(gan->xrf + bd, fake, bd);
    /* DiffAugment: fresh transforms of [real; fake], drawn as in the D step (real rows, then fake) */
    const float *xin = gan->aug ? gf__diffaug_forward(gan->aug, 1, gan->xrf, 2) : gan->xrf;
    const float *l = gf__net_forward(D, &gan->cdd, xin, 2 * Bd, 1, &gan->r_drop);
    float *dl = gf__ctx_dout(D, &gan->cdd);
    gf__ctx_zero_dout(D, &gan->cdd);
    GF_TRY(ragan_loss(gan, GF_LOSS_BCE_ZERO, GF_LOSS_BCE_ONE, l, l + Bd, NULL, dl + Bd, Bd, s, s));
    o->fill(gan->crit.din2, 0.0f, 2 * bd);
    if (gan->aug) {
      gf__net_backward(D, &gan->cdd, gf__diffaug_grad(gan->aug), GF_GRAD_NONE);
      gf__diffaug_backward(gan->aug, gan->crit.din2); /* accumulates into the zeroed din2 */
    } else {
      gf__net_backward(D, &gan->cdd, gan->crit.din2, GF_GRAD_NONE);
    }
    o->axpy(dfake, 1.0f, gan->crit.din2 + bd, bd);
    return 0;
  }
  /* DiffAugment: fresh transforms, real first and fake second as in the D step; no gradient
     through the real rows, the fakes' through the transform's transpose */
  const float *xr = gan->aug ? gf__diffaug_forward(gan->aug, 0, gan->x_real, 1) : gan->x_real;
  const float *lr = gf__net_forward(D, &gan->cdr, xr, Bd, 1, &gan->r_drop);
  if (gan->aug) fake = gf__diffaug_forward(gan->aug, 1, fake, 1);
  const float *lf = gf__net_forward(D, &gan->cdf, fake, Bd, 1, &gan->r_drop);
  gf__ctx_zero_dout(D, &gan->cdf);
  GF_TRY(ragan_loss(gan, GF_LOSS_BCE_ZERO, GF_LOSS_BCE_ONE, lr, lf, NULL, gf__ctx_dout(D, &gan->cdf), Bd, s, s));
  if (gan->aug) {
    gf__net_backward(D, &gan->cdf, gf__diffaug_grad(gan->aug), GF_GRAD_NONE);
    gf__diffaug_backward(gan->aug, dfake);
  } else {
    gf__net_backward(D, &gan->cdf, dfake, GF_GRAD_NONE);
  }
  return 0;
}

const char *gf__critic_log_columns(const gf_config *cfg) {
  int crit = is_critic(cfg->train_loss), pen = !strcmp(cfg->train_loss, "wgan-gp") || cfg->train_r1_gamma > 0;
  return crit && pen ? ",wasserstein,penalty,grad_norm" : crit ? ",wasserstein" : pen ? ",penalty,grad_norm" : "";
}

int gf__critic_values(const gf__gan *gan, double *v) {
  const gf_config *cfg = &gan->cfg;
  int n = 0;
  /* critic losses: D_x, D_G_z are the mean critic values, their difference the estimate of the
     Wasserstein-1 distance (hinge: of the critic's mean gap) */
  if (is_critic(cfg->train_loss)) v[n++] = (double)gan->d_real - (double)gan->d_fake;
  if (gan->crit.penalty >= 0) {
    v[n++] = gan->crit.pen;
    v[n++] = gan->crit.grad_norm;
  }
  return n;
}

void gf__critic_log_values(const gf__gan *gan, char *buf, size_t cap) {
  double v[3];
  int n = gf__critic_values(gan, v);
  buf[0] = 0;
  for (int i = 0; i < n; i++) snprintf(buf + strlen(buf), cap - strlen(buf), ",%.6g", v[i]);
}
