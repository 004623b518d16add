/* cuda_absent.c: stand-in for the CUDA backend in builds without the CUDA toolkit. */
#include "core/ops.h"
#include "core/util.h"

int gf__ops_cuda_open(int device_index, const gf__ops **out) {
  (void)device_index;
  *out = NULL;
  return gf__fail(GF_ENOSYS, "this ganforge has no CUDA backend: only the CPU backend is implemented so far "
                             "(use --device cpu)");
}
