/* kern_ka.h: per-element bodies of kernel alignment (CAT distillation, src/nn/ka.c) between two
   Gram matrices gx, gy [B, B]: the three sums (each backend's own reduction, in double), the
   alignment itself and its gradient coefficient, shared by src/cpu and src/cuda. */
#ifndef GF_KERN_KA_H
#define GF_KERN_KA_H

#include <math.h>
#include <stddef.h>

#include "core/hd.h"

/* Element k's terms of <gx, gy>, |gx|^2 and |gy|^2. */
static inline GF_HD void gf__k_ka_terms(const float *gx, const float *gy, size_t k, double *xy, double *xx, double *yy) {
  *xy += (double)gx[k] * gy[k];
  *xx += (double)gx[k] * gx[k];
  *yy += (double)gy[k] * gy[k];
}

/* KA = <gx, gy> / (|gx| |gy|), 0 when either matrix is zero (an all-zero batch: no alignment). */
static inline GF_HD double gf__k_ka_value(double xy, double xx, double yy) {
  return xx > 0 && yy > 0 ? xy / (sqrt(xx) * sqrt(yy)) : 0.0;
}

/* Element k of the coefficient matrix of scale * dKA/dX = coef X for gx = X X^T: coef = 2 scale
   dKA/dgx = 2 scale (gy / (|gx| |gy|) - KA gx / |gx|^2); 0 when KA is undefined. */
static inline GF_HD float gf__k_ka_coef(float gx, float gy, double xy, double xx, double yy, float scale) {
  if (!(xx > 0 && yy > 0)) return 0.0f;
  const double nx = sqrt(xx), ny = sqrt(yy), ka = xy / (nx * ny);
  return (float)(2.0 * scale * ((double)gy / (nx * ny) - ka * (double)gx / xx));
}

#endif
