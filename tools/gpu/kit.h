/* kit.h: the GPU check kit's shared declarations (tools/gpu: gf_backend_ops and its reference). */
#ifndef GF_KIT_H
#define GF_KIT_H

#include <stdint.h>

#include "core/ops.h"

/* The losses' statistics and count_nonfinite's count. 0: the contract of src/core/ops.h on main
   (losses write (=) host_stats on the host; count_nonfinite returns a size_t). 1: the CUDA
   branch's contract (they ACCUMULATE (+=) into small buffers in backend memory; count_nonfinite
   adds its count to a float in backend memory). Only tools/gpu/ uses it. */
#ifndef GF_KIT_STATS_ON_DEVICE
#ifdef GF_GATHER_FLIP /* defined by the CUDA branch's ops.h alone: its contract */
#define GF_KIT_STATS_ON_DEVICE 1
#else
#define GF_KIT_STATS_ON_DEVICE 0
#endif
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
