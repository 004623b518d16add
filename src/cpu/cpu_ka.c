/* cpu_ka.c: kernel alignment's reduction of two Gram matrices on the CPU (one thread: B x B is
   small), over the shared bodies of src/kern/kern_ka.h. */
#include "cpu/cpu_internal.h"
#include "kern/kern_ka.h"

void gf__cpu_ka_coef(float *stats, float *coef, const float *gx, const float *gy, int B, float scale) {
  const size_t BB = (size_t)B * B;
  double xy = 0, xx = 0, yy = 0;
  for (size_t k = 0; k < BB; k++) gf__k_ka_terms(gx, gy, k, &xy, &xx, &yy);
  stats[0] += (float)gf__k_ka_value(xy, xx, yy);
  for (size_t k = 0; k < BB; k++) coef[k] = gf__k_ka_coef(gx[k], gy[k], xy, xx, yy, scale);
}
