/* backend.c: picks a backend ops table from a device name ("cpu", "cuda", "cuda:N"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/config.h"

/* Test hook: one named table that gf__ops_get returns before the real ones. */
static char override_name[32];
static const gf__ops *override_ops;

void gf__ops_override(const char *name, const gf__ops *ops) {
  snprintf(override_name, sizeof override_name, "%s", name ? name : "");
  override_ops = ops;
}

int gf__ops_get(const char *device, const gf__ops **out) {
  if (override_ops && device && !strcmp(device, override_name)) {
    *out = override_ops;
    return 0;
  }
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

int gf__ops_for_config(const gf_config *cfg, const gf__ops **out) {
  const gf__ops *o;
  GF_TRY(gf__ops_get(cfg->train_device, &o));
  gf__backend_opts b = {cfg->train_tf32, !strcmp(cfg->train_precision, "bf16"), cfg->train_cuda_graph};
  GF_TRY(o->configure(&b));
  *out = o;
  return 0;
}

int gf_device_open(const char *device) {
  const gf__ops *o;
  return gf__ops_get(device, &o);
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
