/* export_c_bench.c: per-sample time of an exported gen.c (`ganforge export --format c`): gen_forward
   on N latents drawn from a fixed LCG, after a warm-up; prints ms per sample. Built by
   bench/export_c.sh with cc -std=c99 -O2 (plus the flags given there). */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gen.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  float *z = malloc(sizeof(float) * GEN_IN_SIZE), *out = malloc(sizeof(float) * GEN_OUT_SIZE), *work = malloc(gen_work_size());
  unsigned s = 12345;
  double sum = 0, t0 = 0;
  for (int i = -5; i < n; i++) {
    if (i == 0) t0 = now();
    for (int k = 0; k < GEN_IN_SIZE; k++) {
      s = s * 1664525u + 1013904223u;
      z[k] = (float)(s >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    gen_forward(z, out, work);
    sum += out[0];
  }
  double t = now() - t0;
  printf("ms_per_sample=%.4f samples=%d work_bytes=%zu weights_bytes=%zu checksum=%g\n", 1e3 * t / n, n, gen_work_size(),
         (size_t)GEN_WEIGHT_FLOATS * 4, sum);
  return 0;
}
