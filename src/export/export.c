/* export.c: gf_export: open the generator, plan it, hand the plan to the ONNX or C writer. */
#include <string.h>

#include "core/util.h"
#include "export/export.h"
#include "ganforge/export.h"

int gf_export(const char *run, const char *out, const gf_export_opts *opts) {
  if (!run || !out || !opts || !opts->format) return gf__fail(GF_EINVAL, "gf_export: NULL argument");
  int onnx = !strcmp(opts->format, "onnx");
  if (!onnx && strcmp(opts->format, "c"))
    return gf__fail(GF_EUSAGE, "--format %s: must be onnx or c", opts->format);
  if (onnx && opts->blob) return gf__fail(GF_EUSAGE, "--weights blob is for --format c; an ONNX file holds its weights");
  gf_generator_opts go = {.device = "cpu", .direction = opts->direction, .max_batch = 1};
  gf_generator *g;
  GF_TRY(gf_generator_open(run, &go, &g));
  gf__xplan p;
  int rc = gf__xplan_build(g, opts->format, &p);
  if (rc == 0) {
    rc = onnx ? gf__export_onnx(&p, out) : gf__export_c(&p, out, opts->blob);
    gf__xplan_free(&p);
  }
  gf_generator_close(g);
  return rc;
}
