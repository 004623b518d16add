/* kit.h: the GPU check kit's shared declarations (tools/gpu: gf_backend_ops and its reference). */
#ifndef GF_KIT_H
#define GF_KIT_H

#include <stdint.h>

#include "core/ops.h"

#ifndef GF_GATHER_FLIP
#error "tools/gpu expects src/core/ops.h with gather, step brackets and statistics in backend memory"
#endif

/* The double-precision reference backend: every op of the table written naively from ops.h's
   contract, computing in double and rounding each output to float once. Host memory. */
const gf__ops *gf_kit_ref_ops(void);

/* Its independent Philox4x32-10 and SplitMix64 (the published algorithms), and their known-answer
   check: 0 when the Random123 / SplitMix64 test vectors come out, else -1. */
void gf_kit_philox(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]);
uint64_t gf_kit_splitmix(uint64_t x);
int gf_kit_rng_selftest(void);

#endif
