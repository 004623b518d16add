/* rng.c: Philox4x32-10 counter-based generator and its uniform/normal/permutation helpers. */
#include "core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void gf__philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32);
  uint32_t c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int i = 0; i < 10; i++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void gf__rng_init(gf__rng *r, uint64_t seed, uint64_t stream) {
  r->seed = seed;
  r->stream = stream;
  r->counter = 0;
}

uint64_t gf__rng_key(const gf__rng *r) { return splitmix64(r->seed ^ splitmix64(r->stream)); }

static void block(gf__rng *r, uint32_t out[4]) {
  gf__philox4x32(gf__rng_key(r), r->stream, r->counter++, out);
}

void gf__rng_uniform(gf__rng *r, float *out, long n, float lo, float hi) {
  uint64_t key = gf__rng_key(r);
  long nb = (n + 3) / 4;
  for (long b = 0; b < nb; b++) {
    uint32_t u[4];
    gf__philox4x32(key, r->stream, r->counter + (uint64_t)b, u);
    for (int j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = lo + (hi - lo) * gf__u32_to_unit(u[j]);
  }
  r->counter += (uint64_t)nb;
}

/* Box-Muller on two 32-bit words, in double so results are identical wherever computed. */
static void box_muller(uint32_t a, uint32_t b, double *z0, double *z1) {
  double u1 = ((double)a + 1.0) * (1.0 / 4294967296.0); /* (0, 1] */
  double u2 = (double)b * (1.0 / 4294967296.0);         /* [0, 1) */
  double rad = sqrt(-2.0 * log(u1));
  double th = 6.283185307179586 * u2;
  *z0 = rad * cos(th);
  *z1 = rad * sin(th);
}

void gf__rng_normal_d(gf__rng *r, double *out, long n, double mean, double std) {
  uint64_t key = gf__rng_key(r);
  long nb = (n + 3) / 4;
  for (long b = 0; b < nb; b++) {
    uint32_t u[4];
    double z[4];
    gf__philox4x32(key, r->stream, r->counter + (uint64_t)b, u);
    box_muller(u[0], u[1], &z[0], &z[1]);
    box_muller(u[2], u[3], &z[2], &z[3]);
    for (int j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = mean + std * z[j];
  }
  r->counter += (uint64_t)nb;
}

void gf__rng_normal(gf__rng *r, float *out, long n, float mean, float std) {
  uint64_t key = gf__rng_key(r);
  long nb = (n + 3) / 4;
  for (long b = 0; b < nb; b++) {
    uint32_t u[4];
    double z[4];
    gf__philox4x32(key, r->stream, r->counter + (uint64_t)b, u);
    box_muller(u[0], u[1], &z[0], &z[1]);
    box_muller(u[2], u[3], &z[2], &z[3]);
    for (int j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = (float)(mean + std * z[j]);
  }
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
