/* rng.c: Philox4x32-10 counter-based generator and its uniform/normal/permutation helpers. */
#include "core/rng.h"

#include "kern/kern_rng.h"

void gf__philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]) {
  gf__k_philox4x32(key, ctr_hi, ctr_lo, out);
}

void gf__rng_init(gf__rng *r, uint64_t seed, uint64_t stream) {
  r->seed = seed;
  r->stream = stream;
  r->counter = 0;
}

uint64_t gf__rng_key(const gf__rng *r) { return gf__k_stream_key(r->seed, r->stream); }

static void block(gf__rng *r, uint32_t out[4]) {
  gf__k_philox4x32(gf__rng_key(r), r->stream, r->counter++, out);
}

void gf__rng_uniform(gf__rng *r, float *out, long n, float lo, float hi) {
  uint64_t key = gf__rng_key(r);
  long nb = (n + 3) / 4;
  for (long b = 0; b < nb; b++) gf__k_uniform_block(out, (size_t)n, lo, hi, key, r->stream, r->counter, (size_t)b);
  r->counter += (uint64_t)nb;
}

void gf__rng_normal_d(gf__rng *r, double *out, long n, double mean, double std) {
  uint64_t key = gf__rng_key(r);
  long nb = (n + 3) / 4;
  for (long b = 0; b < nb; b++) {
    double z[4];
    gf__k_normal4(key, r->stream, r->counter + (uint64_t)b, z);
    for (int j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = mean + std * z[j];
  }
  r->counter += (uint64_t)nb;
}

void gf__rng_normal(gf__rng *r, float *out, long n, float mean, float std) {
  uint64_t key = gf__rng_key(r);
  long nb = (n + 3) / 4;
  for (long b = 0; b < nb; b++) gf__k_normal_block(out, (size_t)n, mean, std, key, r->stream, r->counter, (size_t)b);
  r->counter += (uint64_t)nb;
}

uint32_t gf__rng_u32(gf__rng *r) {
  uint32_t u[4];
  block(r, u);
  return u[0];
}

uint32_t gf__rng_below(gf__rng *r, uint32_t n) {
  if (n <= 1) return 0;
  /* 64-bit multiply-shift on two words: bias below 2^-32, deterministic count of blocks. */
  uint32_t u[4];
  block(r, u);
  uint64_t x = ((uint64_t)u[0] << 32) | u[1];
  return (uint32_t)(((unsigned __int128)x * n) >> 64);
}

float gf__rng_float(gf__rng *r) { return gf__u32_to_unit(gf__rng_u32(r)); }

void gf__rng_perm(gf__rng *r, int *idx, int n) {
  for (int i = 0; i < n; i++) idx[i] = i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)gf__rng_below(r, (uint32_t)(i + 1));
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
