/* ka.c: kernel alignment (CAT, Jin et al. 2021) between two batches of activations, and its
   gradient, on the ops table: two Gram matrices by sgemm, their B x B reductions on the host. */
#include <math.h>

#include "nn/nn.h"

int gf__ka(const gf__ops *o, double *ka, float *dX, const float *X, const float *Y, int B, long Dx, long Dy, float scale,
           float *ws, float *host) {
  const size_t BB = (size_t)B * B;
  float *gx = ws, *gy = ws + BB, *m = ws + 2 * BB;
  float *hx = host, *hy = host + BB, *hm = host + 2 * BB;
  o->gemm(0, 1, B, B, (int)Dx, 1.0f, X, (int)Dx, X, (int)Dx, 0.0f, gx, B);
  o->gemm(0, 1, B, B, (int)Dy, 1.0f, Y, (int)Dy, Y, (int)Dy, 0.0f, gy, B);
  o->to_host(hx, gx, sizeof(float) * BB);
  o->to_host(hy, gy, sizeof(float) * BB);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t k = 0; k < BB; k++) {
    sxy += (double)hx[k] * hy[k];
    sxx += (double)hx[k] * hx[k];
    syy += (double)hy[k] * hy[k];
  }
  if (!(sxx > 0 && syy > 0)) { /* an all-zero batch: no alignment to speak of, no gradient */
    *ka = 0;
    return 0;
  }
  const double nx = sqrt(sxx), ny = sqrt(syy);
  *ka = sxy / (nx * ny);
  if (!dX) return 0;
  /* dKA/dGx = Gy / (|Gx| |Gy|) - KA Gx / |Gx|^2 (symmetric), dKA/dX = 2 dKA/dGx X */
  for (size_t k = 0; k < BB; k++)
    hm[k] = (float)(2.0 * scale * ((double)hy[k] / (nx * ny) - *ka * (double)hx[k] / sxx));
  o->to_device(m, hm, sizeof(float) * BB);
  o->gemm(0, 0, B, (int)Dx, B, 1.0f, m, B, X, (int)Dx, 1.0f, dX, (int)Dx);
  return 0;
}
