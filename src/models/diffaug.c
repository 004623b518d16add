/* diffaug.c: DiffAugment's buffers and random stream around ops.diffaug_fwd / _bwd. */
#include <stdlib.h>

#include "core/util.h"
#include "models/diffaug.h"

int gf__diffaug_create(gf__diffaug **out, const gf__ops *ops, int flags, int c, int h, int w, int B, uint64_t seed) {
  *out = NULL;
  if (h < 8 || w < 8)
    return gf__fail(GF_EUSAGE, "config key 'train.diffaug': DiffAugment transforms images; the data is %dx%dx%d "
                    "(at least 8x8 pixels needed)", c, h, w);
  gf__diffaug *a = calloc(1, sizeof *a);
  if (!a) return gf__fail(GF_ENOMEM, "out of memory");
  a->ops = ops;
  a->flags = flags;
  a->c = c, a->h = h, a->w = w;
  a->dim = (long)c * h * w;
  a->B = a->Bg = B;
  a->row0 = 0;
  int max_rows = a->max_rows = 2 * B;
  gf__rng_init(&a->r, seed, GF_STREAM_DIFFAUG);
  size_t np = (size_t)max_rows * GF_DIFFAUG_NPARAM, nx = (size_t)max_rows * a->dim;
  for (int s = 0; s < 2; s++) {
    a->params[s] = ops->alloc(sizeof(float) * np);
    a->out[s] = ops->alloc(sizeof(float) * nx);
  }
  a->grad = ops->alloc(sizeof(float) * nx);
  a->work = ops->alloc(sizeof(float) * (size_t)max_rows);
  if (!a->params[0] || !a->params[1] || !a->out[0] || !a->out[1] || !a->grad || !a->work) {
    gf__diffaug_destroy(a);
    return gf__fail(GF_ENOMEM, "out of memory for train.diffaug buffers");
  }
  *out = a;
  return 0;
}

void gf__diffaug_destroy(gf__diffaug *a) {
  if (!a) return;
  void *p[] = {a->params[0], a->params[1], a->out[0], a->out[1], a->grad, a->work};
  for (int i = 0; i < 6; i++)
    if (p[i]) a->ops->free(p[i]);
  free(a);
}

const float *gf__diffaug_forward(gf__diffaug *a, int slot, const float *x, int groups) {
  /* a row's GF_DIFFAUG_NPARAM (8) uniforms are 2 Philox blocks: row r of group g of the global
     draw starts at block 2 (g Bg + r) */
  enum { BLOCKS = GF_DIFFAUG_NPARAM / 4 };
  int n = groups * a->B;
  size_t np = (size_t)a->B * GF_DIFFAUG_NPARAM;
  if (a->params_override) { /* tests: the given uniforms, in draw order; the stream stays put */
    a->ops->copy(a->params[slot], a->params_override, (size_t)groups * np);
    a->params_override += (size_t)groups * np;
  } else {
    for (int g = 0; g < groups; g++)
      a->ops->rand_uniform(a->params[slot] + (size_t)g * np, np, 0.0f, 1.0f, a->r.seed, a->r.stream,
                           a->r.counter + (uint64_t)BLOCKS * ((uint64_t)g * a->Bg + (uint64_t)a->row0));
    a->r.counter += (uint64_t)BLOCKS * groups * (uint64_t)a->Bg;
  }
  a->rows[slot] = n;
  a->ops->diffaug_fwd(a->out[slot], a->work, x, a->params[slot], n, a->c, a->h, a->w, a->flags);
  return a->out[slot];
}

float *gf__diffaug_grad(gf__diffaug *a) {
  a->ops->fill(a->grad, 0.0f, (size_t)a->rows[1] * a->dim);
  return a->grad;
}

void gf__diffaug_backward(gf__diffaug *a, float *dx) {
  a->ops->diffaug_bwd(dx, a->work, a->grad, a->params[1], a->rows[1], a->c, a->h, a->w, a->flags);
}
