/* rng.h: counter-based Philox4x32-10 random streams (same seed and stream -> same numbers). */
#ifndef GF_CORE_RNG_H
#define GF_CORE_RNG_H

#include <stdint.h>

#include "kern/kern_rng.h"

/* Independent streams drawn from one run seed. */
enum { GF_STREAM_INIT = 1, GF_STREAM_NOISE = 2, GF_STREAM_DATA = 3, GF_STREAM_DROPOUT = 4,
       GF_STREAM_SAMPLE = 5, GF_STREAM_EVAL = 6, GF_STREAM_POOL = 7, GF_STREAM_EMA_BN = 8,
       GF_STREAM_PENALTY = 9,
       GF_STREAM_LABELS = 10, GF_STREAM_DIFFAUG = 11 };

/* The whole state of a stream: (seed, stream) form the key, `counter` counts 128-bit blocks.
   Saving these three numbers is enough to resume the stream exactly. */
typedef struct gf__rng {
  uint64_t seed;
  uint64_t stream;
  uint64_t counter;
} gf__rng;

void gf__rng_init(gf__rng *r, uint64_t seed, uint64_t stream);
/* One Philox block: 4 x 32 random bits for (key, counter). Pure function (used by backends). */
void gf__philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]);
/* Key used for a stream: mixes seed and stream id. */
uint64_t gf__rng_key(const gf__rng *r);

/* Fill out[n]; each call consumes ceil(n/4) blocks (normal: ceil(n/4) as well). */
void gf__rng_uniform(gf__rng *r, float *out, long n, float lo, float hi);
void gf__rng_normal(gf__rng *r, float *out, long n, float mean, float std);
/* Double-precision variants (for tests). */
void gf__rng_normal_d(gf__rng *r, double *out, long n, double mean, double std);
uint32_t gf__rng_u32(gf__rng *r);
/* Uniform integer in [0, n). */
uint32_t gf__rng_below(gf__rng *r, uint32_t n);
/* Uniform float in [0,1). */
float gf__rng_float(gf__rng *r);
/* Random permutation of 0..n-1 (Fisher-Yates). */
void gf__rng_perm(gf__rng *r, int *idx, int n);

/* Block -> floats (the shared body of src/kern/kern_rng.h, so CPU and GPU streams agree). */
static inline float gf__u32_to_unit(uint32_t x) { return gf__k_u32_to_unit(x); }

#endif
