/* stacked.c: Stacked MNIST (Metz et al. 2017, VEEGAN, PacGAN): three MNIST digits drawn at random
   become the R, G and B planes of one 28x28x3 image; the label is the digit triple
   100 * R + 10 * G + B, so the set has 1,000 modes. */
#include "data/dataset.h"
#include "core/rng.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* A stream of its own ("STACK"), so the picks share no numbers with the data-order permutations
   drawn from GF_STREAM_DATA by the trainer. */
#define GF__STREAM_STACKED 0x535441434bULL

void gf__stacked_mnist_pick(uint64_t seed, long i, int pool, int idx[3]) {
  gf__rng r;
  gf__rng_init(&r, seed, GF__STREAM_STACKED);
  uint64_t key = gf__rng_key(&r);
  /* Two Philox blocks per sample, addressed by the sample index: sample i does not depend on n or
     on any other sample. Each pick is a 64-bit multiply-shift (bias below 2^-32). */
  uint32_t u[8];
  gf__philox4x32(key, GF__STREAM_STACKED, 2 * (uint64_t)i, u);
  gf__philox4x32(key, GF__STREAM_STACKED, 2 * (uint64_t)i + 1, u + 4);
  for (int k = 0; k < 3; k++) {
    uint64_t x = ((uint64_t)u[2 * k] << 32) | u[2 * k + 1];
    idx[k] = (int)(((unsigned __int128)x * (uint64_t)pool) >> 64);
  }
}

int gf__stacked_mnist_make(gf__dataset *d, const gf__dataset *mnist, int n, uint64_t seed) {
  if (!d || !mnist) return gf__fail(GF_EINVAL, "stacked-mnist: NULL argument");
  memset(d, 0, sizeof *d);
  if (n <= 0) n = GF_STACKED_MNIST_DEFAULT_N;
  if (!mnist->x || !mnist->labels || mnist->n < 1 || mnist->c != 1 || mnist->nclass != 10)
    return gf__fail(GF_EINVAL, "stacked-mnist: needs a grey 10-class digit set (got %s: %d samples, %d channels, "
                    "%d classes)", mnist->name, mnist->n, mnist->c, mnist->nclass);
  size_t plane = (size_t)mnist->h * mnist->w, dim = 3 * plane;
  d->x = gf__alloc_aligned((size_t)n * dim * sizeof(float));
  d->labels = gf__calloc((size_t)n, sizeof(int));
  if (!d->x || !d->labels) {
    gf__dataset_free(d);
    return gf__fail(GF_ENOMEM, "stacked-mnist: out of memory for %d samples (%.0f MiB)", n,
                    (double)n * (double)dim * 4.0 / 1048576.0);
  }
  for (int i = 0; i < n; i++) {
    int idx[3];
    gf__stacked_mnist_pick(seed, i, mnist->n, idx);
    float *dst = d->x + (size_t)i * dim;
    int label = 0;
    for (int k = 0; k < 3; k++) {
      memcpy(dst + (size_t)k * plane, mnist->x + (size_t)idx[k] * plane, sizeof(float) * plane);
      label = 10 * label + mnist->labels[idx[k]];
    }
    d->labels[i] = label;
  }
  snprintf(d->name, sizeof d->name, "stacked-mnist");
  d->n = n;
  d->c = 3;
  d->h = mnist->h;
  d->w = mnist->w;
  d->nclass = 1000;
  return 0;
}

int gf__stacked_mnist_load(gf__dataset *d, const char *dir, int train, gf__scale scale, int offset, int limit, int n,
                           uint64_t seed) {
  if (!d) return gf__fail(GF_EINVAL, "stacked-mnist: NULL dataset");
  memset(d, 0, sizeof *d);
  gf__dataset m;
  GF_TRY(gf__mnist_load(&m, dir, train, scale, offset, limit));
  int rc = gf__stacked_mnist_make(d, &m, n, seed);
  gf__dataset_free(&m);
  return rc;
}
