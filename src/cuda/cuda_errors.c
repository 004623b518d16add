/* cuda_errors.c: the one-line messages of a CUDA device that cannot be opened (no driver, no
   device, index out of range, another device already open), in every build so they are tested on
   machines without a GPU (tests/test_cuda_errors.c). */
#include <stdio.h>

#include "core/util.h"

enum { GF_CUDA_NO_DRIVER = 1, GF_CUDA_NO_DEVICE, GF_CUDA_BAD_INDEX, GF_CUDA_OTHER_OPEN, GF_CUDA_INIT_FAILED };

int gf__cuda_open_error(int kind, int index, int count, int open_index, const char *detail) {
  const char *d = detail ? detail : "";
  switch (kind) {
  case GF_CUDA_NO_DRIVER:
    return gf__fail(GF_ENODEV, "cuda:%d: no CUDA driver (libcuda.so.1 missing or older than this build's CUDA "
                    "runtime%s%s): install the NVIDIA driver, or use --device cpu", index, *d ? "; " : "", d);
  case GF_CUDA_NO_DEVICE:
    return gf__fail(GF_ENODEV, "cuda:%d: no CUDA device found (the driver sees no GPU%s%s): use --device cpu", index,
                    *d ? "; " : "", d);
  case GF_CUDA_BAD_INDEX:
    if (count == 1)
      return gf__fail(GF_ENODEV, "cuda:%d: device index out of range: this machine has 1 CUDA device (cuda:0)", index);
    return gf__fail(GF_ENODEV, "cuda:%d: device index out of range: this machine has %d CUDA devices (cuda:0 .. cuda:%d)",
                    index, count, count - 1);
  case GF_CUDA_OTHER_OPEN:
    return gf__fail(GF_ENODEV, "cuda:%d: this process already uses cuda:%d (one CUDA device per process)", index,
                    open_index);
  default:
    return gf__fail(GF_ENODEV, "cuda:%d: the device could not be initialised: %s", index, d);
  }
}
