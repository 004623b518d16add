/* cuda_absent.c: stand-in for the CUDA backend in builds without the CUDA toolkit. */
#include <stdio.h>

#include "core/ops.h"
#include "core/util.h"

int gf__ops_cuda_open(int device_index, const gf__ops **out) {
  *out = NULL;
  return gf__fail(GF_ENODEV, "cuda:%d: this ganforge was built without CUDA (configure with -DGANFORGE_CUDA=ON where "
                             "the CUDA toolkit is installed), use --device cpu", device_index);
}

const char *gf_cuda_info(void) {
  return "cuda: not built (no CUDA toolkit found, or -DGANFORGE_CUDA=OFF)";
}

void *gf__cuda_stream(const gf__ops *ops) {
  (void)ops;
  return NULL;
}

int gf__cuda_blas_load(char *why, size_t n) {
  snprintf(why, n, "this ganforge was built without CUDA");
  return -1;
}
