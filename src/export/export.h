/* export.h: a trained generator as a flat list of inference nodes with BatchNorm folded (the
   common input of the ONNX and standalone-C writers), and the writers themselves. */
#ifndef GF_EXPORT_EXPORT_H
#define GF_EXPORT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops.h"
#include "ganforge/infer.h"

typedef enum gf__xkind {
  GF_XN_GEMM,      /* y[o] = b[o] + sum_i w[o, i] x[i]; w [out, in] */
  GF_XN_CONV,      /* Conv2d, w [OC, IC / groups, kh, kw], bias [OC] (always present after folding) */
  GF_XN_CONVT,     /* ConvTranspose2d, w [IC, OC, kh, kw], bias [OC] */
  GF_XN_SCALE,     /* y[c, s] = x[c, s] * w[c] + b[c] (BatchNorm in eval mode that could not be folded) */
  GF_XN_ACT,       /* act(x) */
  GF_XN_INSTNORM,  /* per-sample, per-channel statistics; then * w[c] + b[c] when w (affine) */
  GF_XN_PAD,       /* reflection padding pad = top, bottom, left, right */
  GF_XN_ADD,       /* y = x + value[in2] */
  GF_XN_CONCAT,    /* y = [value[in2]; x] along channels */
  GF_XN_ONEHOT,    /* y = [x; one-hot of the sample's class, `classes` channels]; x is [ic, 1, 1] */
  GF_XN_CAFFINE    /* y[c, s] = x[c, s] * w[k, c] + b[k, c], k the sample's class; w, b [classes, c]
                      (conditional BatchNorm's per-class gamma / beta after its normalisation) */
} gf__xkind;

typedef struct gf__xnode {
  gf__xkind kind;
  int in, in2;              /* value ids: node index, -1 = the model input */
  int ic, ih, iw;           /* input shape per sample */
  int c, h, w;              /* output shape per sample */
  float *wt, *bias;         /* host, owned; NULL when absent */
  long wn, bn;
  int kh, kw, sh, sw, ph, pw, oph, opw;
  int groups;               /* CONV: channel groups (1: plain; ic: depth-wise) */
  int classes;              /* ONEHOT / CAFFINE: K */
  gf__act act;
  float alpha, eps;
  int pad[4];
  int layer;                /* index of the source layer (messages) */
} gf__xnode;

typedef struct gf__xplan {
  gf__xnode *nodes;
  int n;
  int out;                  /* value id of the output */
  int translates, nz;
  int classes;              /* a conditional generator: K (a second input, the class label); 0: none */
  char cond[16];            /* its model.cond (concat, acgan, projection) */
  int in_c, in_h, in_w;     /* model input per sample (noise: nz, 1, 1) */
  int c, h, w;              /* output per sample */
  char arch[16], kind[16], noise[16];
  float noise_lo, noise_hi;
  int folded;               /* BatchNorm layers folded into the layer before them */
} gf__xplan;

/* Builds the plan of an open generator; `format` ("onnx", "c") names the target in messages
   about what it cannot express. */
int gf__xplan_build(gf_generator *g, const char *format, gf__xplan *p);
void gf__xplan_free(gf__xplan *p);

/* ONNX (opset GF_ONNX_OPSET): input "z" [N, nz] or "image" [N, C, H, W] (H, W dynamic), a
   conditional generator's second input "label" int64 [N]; output "x" [N, C, H, W]; N dynamic. */
#define GF_ONNX_OPSET 17
int gf__export_onnx(const gf__xplan *p, const char *path);
/* Standalone C99: dir/gen.h, dir/gen.c and the weights (dir/gen_weights.c as a C array, or
   dir/gen_weights.bin when blob); a conditional generator's gen_forward takes the class label. */
int gf__export_c(const gf__xplan *p, const char *dir, int blob);

/* A growable byte buffer and protobuf's wire encoding (what ONNX and TensorBoard files need). */
typedef struct gf__pb {
  uint8_t *d;
  size_t n, cap;
  int oom;
} gf__pb;
void gf__pb_free(gf__pb *b);
void gf__pb_bytes(gf__pb *b, const void *p, size_t n);                   /* raw bytes */
void gf__pb_varint(gf__pb *b, uint64_t v);
void gf__pb_key(gf__pb *b, int field, int wire);
void gf__pb_int(gf__pb *b, int field, int64_t v);                       /* wire 0 */
void gf__pb_float(gf__pb *b, int field, float v);                       /* wire 5 */
void gf__pb_double(gf__pb *b, int field, double v);                     /* wire 1 */
void gf__pb_str(gf__pb *b, int field, const char *s);                   /* wire 2 */
void gf__pb_lenbytes(gf__pb *b, int field, const void *p, size_t n);    /* wire 2 */
void gf__pb_msg(gf__pb *b, int field, const gf__pb *sub);               /* wire 2, then frees sub */

/* CRC-32C (Castagnoli) and TFRecord's masked form. */
uint32_t gf__crc32c(const void *p, size_t n);
uint32_t gf__crc32c_masked(const void *p, size_t n);

#endif
