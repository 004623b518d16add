/* ka.c: kernel alignment (CAT, Jin et al. 2021) between two batches of activations, and its
   gradient, on the ops table: two Gram matrices by sgemm, their B x B reduction by ops.ka_coef
   (the value into backend stats), the gradient by one more sgemm. */
#include "nn/nn.h"

void gf__ka(const gf__ops *o, float *stats, float *dX, const float *X, const float *Y, int B, long Dx, long Dy, float scale,
            float *ws) {
  const size_t BB = (size_t)B * B;
  float *gx = ws, *gy = ws + BB, *m = ws + 2 * BB;
  o->gemm(0, 1, B, B, (int)Dx, 1.0f, X, (int)Dx, X, (int)Dx, 0.0f, gx, B);
  o->gemm(0, 1, B, B, (int)Dy, 1.0f, Y, (int)Dy, Y, (int)Dy, 0.0f, gy, B);
  o->ka_coef(stats, m, gx, gy, B, scale);
  /* dX += m X: m = 2 scale dKA/dGx (symmetric) */
  if (dX) o->gemm(0, 0, B, (int)Dx, B, 1.0f, m, B, X, (int)Dx, 1.0f, dX, (int)Dx);
}
