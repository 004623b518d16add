/* gan_loss.h: per-element math of the constant-target GAN losses (ops.gan_loss), shared by the
   CPU and CUDA backends. */
#ifndef GF_KERN_GAN_LOSS_H
#define GF_KERN_GAN_LOSS_H

#include <math.h>

#include "core/hd.h"
#include "core/ops.h"

/* softplus(x) = log(1 + e^x), without overflow. */
static inline GF_HD double gf__k_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static inline GF_HD double gf__k_sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

/* One logit x of a loss `kind`: *l the loss, *g = dl/dx, *p the output the kind reports
   (sigmoid(x) for the probability kinds, x for the critic kinds). Kinks take PyTorch's one-sided
   choice (relu'(0) = 0). */
static inline GF_HD void gf__k_gan_loss(gf__gan_loss kind, double x, double *l, double *g, double *p) {
  double s = gf__k_sigmoid(x);
  *p = s;
  switch (kind) {
  case GF_LOSS_BCE_ONE:   *l = gf__k_softplus(-x); *g = s - 1.0; break;
  case GF_LOSS_BCE_ZERO:  *l = gf__k_softplus(x);  *g = s; break;
  case GF_LOSS_MINIMAX_G: *l = -gf__k_softplus(x); *g = -s; break;
  case GF_LOSS_KL_G:      *l = -x;                 *g = -1.0; break;
  case GF_LOSS_MSE_ONE:   *l = (x - 1) * (x - 1);  *g = 2 * (x - 1); break;
  case GF_LOSS_MSE_ZERO:  *l = x * x;              *g = 2 * x; break;
  case GF_LOSS_WGAN_REAL: *l = -x; *g = -1.0; *p = x; break;
  case GF_LOSS_WGAN_FAKE: *l = x;  *g = 1.0;  *p = x; break;
  case GF_LOSS_HINGE_REAL: *l = x < 1.0 ? 1.0 - x : 0.0;  *g = x < 1.0 ? -1.0 : 0.0; *p = x; break;
  case GF_LOSS_HINGE_FAKE: *l = x > -1.0 ? 1.0 + x : 0.0; *g = x > -1.0 ? 1.0 : 0.0; *p = x; break;
  default: *l = 0; *g = 0; break;
  }
}

#endif
