/* synth.c: synthetic mixtures (gauss1d, ring8, grid25) drawn from the data RNG stream. */
#include "data/dataset.h"
#include "core/rng.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Draws n samples: mode chosen uniformly per sample, then N(mode, sigma^2) per coordinate. */
static int mixture(gf__dataset *d, const char *name, int n, int dim, int nmodes, const float *modes,
                   float sigma, int labeled, uint64_t seed) {
  memset(d, 0, sizeof *d);
  if (n <= 0) return gf__fail(GF_EINVAL, "%s: sample count must be positive (got %d)", name, n);
  if (!(sigma >= 0.0f) || !isfinite(sigma)) return gf__fail(GF_EINVAL, "%s: bad sigma %g", name, (double)sigma);
  d->x = gf__alloc_aligned((size_t)n * dim * sizeof(float));
  d->modes = gf__calloc((size_t)nmodes * dim, sizeof(float));
  int *mode = gf__calloc((size_t)n, sizeof(int));
  if (!d->x || !d->modes || !mode) { free(mode); gf__dataset_free(d); return GF_ENOMEM; }
  memcpy(d->modes, modes, (size_t)nmodes * dim * sizeof(float));
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_DATA);
  for (int i = 0; i < n; i++) mode[i] = nmodes > 1 ? (int)gf__rng_below(&r, (uint32_t)nmodes) : 0;
  gf__rng_normal(&r, d->x, (long)n * dim, 0.0f, sigma);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < dim; j++) d->x[(size_t)i * dim + j] += modes[mode[i] * dim + j];
  if (labeled) {
    d->labels = mode;
    d->nclass = nmodes;
  } else {
    free(mode);
  }
  snprintf(d->name, sizeof d->name, "%s", name);
  d->n = n;
  d->c = dim;
  d->h = d->w = 1;
  d->nmodes = nmodes;
  d->mode_sigma = sigma;
  return 0;
}

int gf__synth_gauss1d(gf__dataset *d, int n, float mu, float sigma, uint64_t seed) {
  if (!d) return gf__fail(GF_EINVAL, "gauss1d: NULL dataset");
  if (!isfinite(mu)) { memset(d, 0, sizeof *d); return gf__fail(GF_EINVAL, "gauss1d: bad mean %g", (double)mu); }
  float m[1] = {mu};
  return mixture(d, "gauss1d", n, 1, 1, m, sigma, 0, seed);
}

int gf__synth_ring8(gf__dataset *d, int n, uint64_t seed) {
  if (!d) return gf__fail(GF_EINVAL, "ring8: NULL dataset");
  float m[16];
  for (int k = 0; k < 8; k++) {
    double a = 2.0 * 3.14159265358979323846 * k / 8.0;
    m[2 * k] = (float)cos(a);
    m[2 * k + 1] = (float)sin(a);
  }
  return mixture(d, "ring8", n, 2, 8, m, 0.01f, 1, seed);
}

int gf__synth_grid25(gf__dataset *d, int n, uint64_t seed) {
  if (!d) return gf__fail(GF_EINVAL, "grid25: NULL dataset");
  float m[50];
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++) {
      m[2 * (i * 5 + j)] = (float)(-4 + 2 * i);
      m[2 * (i * 5 + j) + 1] = (float)(-4 + 2 * j);
    }
  return mixture(d, "grid25", n, 2, 25, m, 0.05f, 1, seed);
}
