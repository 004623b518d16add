/* backend.c: picks a backend ops table from a device name ("cpu", "cuda", "cuda:N"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/util.h"

int gf__ops_get(const char *device, const gf__ops **out) {
  if (!device || !strcmp(device, "cpu")) {
    *out = gf__ops_cpu();
    return 0;
  }
  if (!strncmp(device, "cuda", 4)) {
    int idx = 0;
    if (device[4] == ':') {
      char *end;
      long v = strtol(device + 5, &end, 10);
      if (*end || v < 0 || v > 63) return gf__fail(GF_EUSAGE, "bad device '%s' (expected cuda or cuda:N)", device);
      idx = (int)v;
    } else if (device[4]) {
      return gf__fail(GF_EUSAGE, "bad device '%s' (expected cpu, cuda or cuda:N)", device);
    }
    return gf__ops_cuda_open(idx, out);
  }
  return gf__fail(GF_EUSAGE, "unknown device '%s' (expected cpu, cuda or cuda:N)", device);
}

const char *gf_backend_info(const char *device) {
  static _Thread_local char buf[160];
  const gf__ops *o;
  if (gf__ops_get(device, &o) < 0) return NULL;
  snprintf(buf, sizeof buf, "%s: convolutions by %s%s%s", o->name,
           o->conv_lib ? o->conv_lib_name : "im2col + gemm", o->wino_fwd ? ", Winograd F(4x4,3x3) for 3x3" : "",
           o->pwino_fwd ? ", polyphase Winograd F(4x4,2x2) for 4x4 stride 2" : "");
  return buf;
}
