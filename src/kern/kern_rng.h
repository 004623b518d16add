/* kern_rng.h: the Philox4x32-10 block, its float conversions and Box-Muller, shared by the CPU
   streams (core/rng.c), the CPU backend's fills and dropout and the CUDA kernels. */
#ifndef GF_KERN_RNG_H
#define GF_KERN_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hd.h"

#define GF_PHILOX_M0 0xD2511F53u
#define GF_PHILOX_M1 0xCD9E8D57u
#define GF_PHILOX_W0 0x9E3779B9u
#define GF_PHILOX_W1 0xBB67AE85u

/* One Philox4x32-10 block: 4 x 32 random bits for (key, counter = ctr_hi:ctr_lo). */
static inline GF_HD void gf__k_philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32);
  uint32_t c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int i = 0; i < 10; i++) {
    uint64_t p0 = (uint64_t)GF_PHILOX_M0 * c0;
    uint64_t p1 = (uint64_t)GF_PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += GF_PHILOX_W0;
    k1 += GF_PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static inline GF_HD uint64_t gf__k_splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* The Philox key of stream `stream` of run seed `seed`. */
static inline GF_HD uint64_t gf__k_stream_key(uint64_t seed, uint64_t stream) {
  return gf__k_splitmix64(seed ^ gf__k_splitmix64(stream));
}

/* 32 random bits -> [0, 1) with 24 bits of resolution (exact in float). */
static inline GF_HD float gf__k_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* Box-Muller on two 32-bit words, in double so results are identical wherever computed. */
static inline GF_HD void gf__k_box_muller(uint32_t a, uint32_t b, double *z0, double *z1) {
  double u1 = ((double)a + 1.0) * (1.0 / 4294967296.0); /* (0, 1] */
  double u2 = (double)b * (1.0 / 4294967296.0);         /* [0, 1) */
  double rad = sqrt(-2.0 * log(u1));
  double th = 6.283185307179586 * u2;
  *z0 = rad * cos(th);
  *z1 = rad * sin(th);
}

/* Block `ctr` of a stream as 4 normals N(0, 1) (double) / 4 uniforms in [lo, hi) (float). */
static inline GF_HD void gf__k_normal4(uint64_t key, uint64_t stream, uint64_t ctr, double z[4]) {
  uint32_t u[4];
  gf__k_philox4x32(key, stream, ctr, u);
  gf__k_box_muller(u[0], u[1], &z[0], &z[1]);
  gf__k_box_muller(u[2], u[3], &z[2], &z[3]);
}

/* mean + std z rounded to float (the computation in double, as the CPU streams do). */
static inline GF_HD float gf__k_normal_value(double z, float mean, float std) { return (float)(mean + std * z); }

static inline GF_HD float gf__k_uniform(uint32_t u, float lo, float hi) { return lo + (hi - lo) * gf__k_u32_to_unit(u); }

/* Inverted dropout: the multiplier of an element whose random word is u (drop probability p,
   keep = 1 / (1 - p)). */
static inline GF_HD float gf__k_dropout_mask(uint32_t u, float p, float keep) {
  return gf__k_u32_to_unit(u) >= p ? keep : 0.0f;
}

/* Block b of a fill of n values from a stream (key, stream, counter): values 4b .. 4b+3 (< n). */
static inline GF_HD void gf__k_normal_block(float *x, size_t n, float mean, float std, uint64_t key, uint64_t stream,
                                           uint64_t counter, size_t b) {
  double z[4];
  gf__k_normal4(key, stream, counter + b, z);
  for (size_t j = 0; j < 4 && b * 4 + j < n; j++) x[b * 4 + j] = gf__k_normal_value(z[j], mean, std);
}
static inline GF_HD void gf__k_uniform_block(float *x, size_t n, float lo, float hi, uint64_t key, uint64_t stream,
                                            uint64_t counter, size_t b) {
  uint32_t u[4];
  gf__k_philox4x32(key, stream, counter + b, u);
  for (size_t j = 0; j < 4 && b * 4 + j < n; j++) x[b * 4 + j] = gf__k_uniform(u[j], lo, hi);
}
/* Block b of inverted dropout: mask and y = x * mask for elements 4b .. 4b+3 (< n). */
static inline GF_HD void gf__k_dropout_block(float *y, float *mask, const float *x, size_t n, float p, float keep,
                                            uint64_t key, uint64_t stream, uint64_t counter, size_t b) {
  uint32_t u[4];
  gf__k_philox4x32(key, stream, counter + b, u);
  for (size_t j = 0; j < 4 && b * 4 + j < n; j++) {
    size_t i = b * 4 + j;
    mask[i] = gf__k_dropout_mask(u[j], p, keep);
    y[i] = x[i] * mask[i];
  }
}

#endif
