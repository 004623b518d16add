/* ganforge/export.h: a trained generator as an ONNX model or as standalone C99 source. */
#ifndef GANFORGE_EXPORT_H
#define GANFORGE_EXPORT_H

#include "ganforge/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_export_opts {
  const char *format;    /* "onnx" | "c" */
  const char *direction; /* CycleGAN: "AtoB" (NULL) or "BtoA" */
  int blob;              /* c: weights as gen_weights.bin instead of the C array gen_weights.c */
} gf_export_opts;

/* Exports the generator of a run folder, generator file or checkpoint (what gf_generator_open
   takes). onnx: `out` is the .onnx file (opset 17, batch dimension dynamic, BatchNorm folded into
   the layer before it; translators' height and width dynamic too). c: `out` is a folder that
   receives gen.h, gen.c and the weights. A conditional generator (model.cond) takes the class too:
   ONNX input "label" int64 [N], C gen_forward(z, label, out, work). Every file is written whole or
   not at all. */
int gf_export(const char *run, const char *out, const gf_export_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
