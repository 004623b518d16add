/* hd.h: GF_HD marks per-element / per-row op bodies shared by the CPU and CUDA backends. */
#ifndef GF_CORE_HD_H
#define GF_CORE_HD_H

/* An op's math is written once, as a `static inline GF_HD` function in a src/kern/ header, and
   launched by each backend: src/cpu loops over it, src/cuda calls it from a kernel. Under nvcc
   GF_HD is __host__ __device__; under gcc it is nothing, so the CPU suite tests the very code the
   GPU runs. Bodies use only float math from <math.h> (expf, tanhf, sqrtf, ...) and no globals. */
#if defined(__CUDACC__)
#define GF_HD __host__ __device__ /* with the bodies' own `static inline` */
#else
#define GF_HD
#endif

#endif
