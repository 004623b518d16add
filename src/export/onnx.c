/* onnx.c: writes an export plan as an ONNX model (opset GF_ONNX_OPSET, IR version 8) with our own
   protobuf writer (pb.c). Field numbers are those of the ONNX spec's onnx.proto messages:
   ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto, TensorProto,
   ValueInfoProto, TypeProto(.Tensor), TensorShapeProto(.Dimension). */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "export/export.h"
#include "ganforge/ganforge.h"

enum { T_FLOAT = 1, T_INT64 = 7 };               /* TensorProto.DataType */
enum { A_FLOAT = 1, A_INT = 2, A_STRING = 3, A_INTS = 7 }; /* AttributeProto.AttributeType */

typedef struct onnx_w {
  gf__pb graph;
  int tmp;          /* counter for helper value names */
} onnx_w;

static void attr_int(gf__pb *node, const char *name, int64_t v) {
  gf__pb a = {0};
  gf__pb_str(&a, 1, name);
  gf__pb_int(&a, 20, A_INT);
  gf__pb_int(&a, 3, v);
  gf__pb_msg(node, 5, &a);
}

static void attr_float(gf__pb *node, const char *name, float v) {
  gf__pb a = {0};
  gf__pb_str(&a, 1, name);
  gf__pb_int(&a, 20, A_FLOAT);
  gf__pb_float(&a, 2, v);
  gf__pb_msg(node, 5, &a);
}

static void attr_str(gf__pb *node, const char *name, const char *v) {
  gf__pb a = {0};
  gf__pb_str(&a, 1, name);
  gf__pb_int(&a, 20, A_STRING);
  gf__pb_str(&a, 4, v);
  gf__pb_msg(node, 5, &a);
}

static void attr_ints(gf__pb *node, const char *name, const int64_t *v, int n) {
  gf__pb a = {0};
  gf__pb_str(&a, 1, name);
  gf__pb_int(&a, 20, A_INTS);
  for (int i = 0; i < n; i++) gf__pb_int(&a, 8, v[i]);
  gf__pb_msg(node, 5, &a);
}

/* A node with up to 3 inputs and one output; returns its message for attributes (add_node
   appends it to the graph). */
static gf__pb node_begin(const char *op, const char *name, const char *const *in, int nin, const char *out) {
  gf__pb nd = {0};
  for (int i = 0; i < nin; i++) gf__pb_str(&nd, 1, in[i]);
  gf__pb_str(&nd, 2, out);
  gf__pb_str(&nd, 3, name);
  gf__pb_str(&nd, 4, op);
  return nd;
}

static void node_end(onnx_w *w, gf__pb *nd) { gf__pb_msg(&w->graph, 1, nd); }

static void init_f32(onnx_w *w, const char *name, const float *x, const int64_t *dims, int nd) {
  gf__pb t = {0};
  long n = 1;
  for (int i = 0; i < nd; i++) {
    gf__pb_int(&t, 1, dims[i]);
    n *= (long)dims[i];
  }
  gf__pb_int(&t, 2, T_FLOAT);
  gf__pb_str(&t, 8, name);
  /* raw_data: little-endian float32 */
  gf__pb_key(&t, 9, 2);
  gf__pb_varint(&t, (uint64_t)n * 4);
  for (long i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &x[i], 4);
    uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
    gf__pb_bytes(&t, b, 4);
  }
  gf__pb_msg(&w->graph, 5, &t);
}

static void init_i64(onnx_w *w, const char *name, const int64_t *x, int n) {
  gf__pb t = {0};
  gf__pb_int(&t, 1, n);
  gf__pb_int(&t, 2, T_INT64);
  gf__pb_str(&t, 8, name);
  gf__pb_key(&t, 9, 2);
  gf__pb_varint(&t, (uint64_t)n * 8);
  for (int i = 0; i < n; i++) {
    uint8_t b[8];
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)((uint64_t)x[i] >> (8 * k));
    gf__pb_bytes(&t, b, 8);
  }
  gf__pb_msg(&w->graph, 5, &t);
}

/* ValueInfoProto of a tensor of element type `elem` (T_FLOAT, T_INT64); dims < 0 are symbolic: -1 "N", -2 "H",
   -3 "W" */
static void value_info(gf__pb *g, int field, const char *name, int elem, const int64_t *dims, int nd) {
  static const char *const sym[] = {"", "N", "H", "W"};
  gf__pb shape = {0};
  for (int i = 0; i < nd; i++) {
    gf__pb d = {0};
    if (dims[i] < 0) gf__pb_str(&d, 2, sym[-dims[i]]);
    else gf__pb_int(&d, 1, dims[i]);
    gf__pb_msg(&shape, 1, &d);
  }
  gf__pb tt = {0};
  gf__pb_int(&tt, 1, elem);
  gf__pb_msg(&tt, 2, &shape);
  gf__pb type = {0};
  gf__pb_msg(&type, 1, &tt);
  gf__pb vi = {0};
  gf__pb_str(&vi, 1, name);
  gf__pb_msg(&vi, 2, &type);
  gf__pb_msg(g, field, &vi);
}

/* Reshape `in` to [N, dims...] (0 keeps the batch dimension) into `out`. */
static void reshape(onnx_w *w, const char *in, const int64_t *dims, int nd, const char *out) {
  char sname[32];
  snprintf(sname, sizeof sname, "shape_%d", w->tmp++);
  int64_t sh[5] = {0};
  for (int i = 0; i < nd; i++) sh[i + 1] = dims[i];
  init_i64(w, sname, sh, nd + 1);
  const char *ins[2] = {in, sname};
  gf__pb nd_ = node_begin("Reshape", out, ins, 2, out);
  node_end(w, &nd_);
}

/* out = Gather(table, LABEL_IDX) along axis 0: the rows of the samples' classes */
#define LABEL_IDX "label_idx"
/* out = in * scale + shift (broadcast), through the intermediate mid */
static void mul_add(onnx_w *w, const char *in, const char *scale, const char *shift, const char *mid, const char *out) {
  const char *i1[2] = {in, scale}, *i2[2] = {mid, shift};
  gf__pb nd = node_begin("Mul", mid, i1, 2, mid);
  node_end(w, &nd);
  nd = node_begin("Add", out, i2, 2, out);
  node_end(w, &nd);
}

static void gather_class(onnx_w *w, const char *table, const char *out) {
  const char *ins[2] = {table, LABEL_IDX};
  gf__pb nd = node_begin("Gather", out, ins, 2, out);
  attr_int(&nd, "axis", 0);
  node_end(w, &nd);
}

/* The graph input "label" [N] as the row index of the class tables: label_idx = label < 0 ? K : label.
   Gather takes -K..-1 as rows counted from the end; mapped to K, every label outside [0, K) is an
   index out of range, which onnxruntime refuses with an error (the ONNX spec leaves it undefined). */
static void label_index(onnx_w *w, int K) {
  int64_t zero = 0, k = K;
  init_i64(w, "label_zero", &zero, 1);
  init_i64(w, "label_K", &k, 1);
  const char *i1[2] = {"label", "label_zero"}, *i2[3] = {"label_neg", "label_K", "label"};
  gf__pb nd = node_begin("Less", "label_neg", i1, 2, "label_neg");
  node_end(w, &nd);
  nd = node_begin("Where", LABEL_IDX, i2, 3, LABEL_IDX);
  node_end(w, &nd);
}

int gf__export_onnx(const gf__xplan *p, const char *path) {
  onnx_w w;
  memset(&w, 0, sizeof w);
  char (*names)[24] = calloc((size_t)p->n + 1, sizeof *names);
  int *rank = calloc((size_t)p->n + 1, sizeof *rank);
  if (!names || !rank) {
    free(names); free(rank);
    return gf__fail(GF_ENOMEM, "out of memory");
  }
  const char *input = p->translates ? "image" : "z";
  int in_rank = p->translates ? 4 : 2;
#define VNAME(v) ((v) < 0 ? input : names[v])
#define VRANK(v) ((v) < 0 ? in_rank : rank[v])
  if (p->classes) label_index(&w, p->classes);
  for (int i = 0; i < p->n; i++) {
    const gf__xnode *x = &p->nodes[i];
    snprintf(names[i], sizeof names[i], "v%d", i);
    char in4[32], wn[32], bn[32];
    const char *in = VNAME(x->in);
    int r = VRANK(x->in);
    snprintf(wn, sizeof wn, "w%d", i);
    snprintf(bn, sizeof bn, "b%d", i);
    /* rank adapters: Gemm takes [N, F], the image layers [N, C, H, W] */
    int want4 = x->kind == GF_XN_CONV || x->kind == GF_XN_CONVT || x->kind == GF_XN_INSTNORM || x->kind == GF_XN_PAD ||
                x->kind == GF_XN_CONCAT;
    if ((x->kind == GF_XN_GEMM || x->kind == GF_XN_ONEHOT) && r == 4) {
      snprintf(in4, sizeof in4, "flat%d", i);
      int64_t d[1] = {(int64_t)x->ic};
      reshape(&w, in, d, 1, in4);
      in = in4;
    } else if (want4 && r == 2) {
      snprintf(in4, sizeof in4, "img%d", i);
      int64_t d[3] = {x->ic, x->ih, x->iw};
      reshape(&w, in, d, 3, in4);
      in = in4;
    }
    rank[i] = x->kind == GF_XN_GEMM || x->kind == GF_XN_ONEHOT ? 2 : want4 ? 4 : r;
    switch (x->kind) {
    case GF_XN_GEMM: {
      int64_t dw[2] = {x->c * (int64_t)x->h * x->w, x->ic}, db[1] = {dw[0]};
      init_f32(&w, wn, x->wt, dw, 2);
      const char *ins[3] = {in, wn, bn};
      if (x->bias) init_f32(&w, bn, x->bias, db, 1);
      gf__pb nd = node_begin("Gemm", names[i], ins, x->bias ? 3 : 2, names[i]);
      attr_int(&nd, "transB", 1);
      node_end(&w, &nd);
      break;
    }
    case GF_XN_CONV:
    case GF_XN_CONVT: {
      int convt = x->kind == GF_XN_CONVT;
      const int G = !convt && x->groups > 1 ? x->groups : 1;
      int64_t dw[4] = {convt ? x->ic : x->c, convt ? x->c : x->ic / G, x->kh, x->kw}, db[1] = {x->c};
      init_f32(&w, wn, x->wt, dw, 4);
      if (x->bias) init_f32(&w, bn, x->bias, db, 1);
      const char *ins[3] = {in, wn, bn};
      gf__pb nd = node_begin(convt ? "ConvTranspose" : "Conv", names[i], ins, x->bias ? 3 : 2, names[i]);
      int64_t k[2] = {x->kh, x->kw}, s[2] = {x->sh, x->sw}, pads[4] = {x->ph, x->pw, x->ph, x->pw};
      attr_ints(&nd, "kernel_shape", k, 2);
      attr_ints(&nd, "strides", s, 2);
      attr_ints(&nd, "pads", pads, 4);
      if (G > 1) attr_int(&nd, "group", G);
      if (convt && (x->oph || x->opw)) {
        int64_t op[2] = {x->oph, x->opw};
        attr_ints(&nd, "output_padding", op, 2);
      }
      node_end(&w, &nd);
      break;
    }
    case GF_XN_SCALE: {
      int64_t d4[3] = {x->c, 1, 1};
      init_f32(&w, wn, x->wt, d4, r == 4 ? 3 : 1);
      init_f32(&w, bn, x->bias, d4, r == 4 ? 3 : 1);
      char mid[32];
      snprintf(mid, sizeof mid, "m%d", i);
      mul_add(&w, in, wn, bn, mid, names[i]);
      break;
    }
    case GF_XN_ACT: {
      static const char *const ops[] = {"Relu", "LeakyRelu", "Tanh", "Sigmoid"};
      const char *ins[1] = {in};
      gf__pb nd = node_begin(ops[x->act], names[i], ins, 1, names[i]);
      if (x->act == GF_ACT_LEAKY_RELU) attr_float(&nd, "alpha", x->alpha);
      node_end(&w, &nd);
      break;
    }
    case GF_XN_INSTNORM: {
      float *one = malloc(sizeof(float) * (size_t)x->c), *zero = calloc((size_t)x->c, sizeof(float));
      if (!one || !zero) w.graph.oom = 1;
      else {
        for (int c = 0; c < x->c; c++) one[c] = 1.0f;
        int64_t d[1] = {x->c};
        init_f32(&w, wn, x->wt ? x->wt : one, d, 1);
        init_f32(&w, bn, x->bias ? x->bias : zero, d, 1);
      }
      free(one);
      free(zero);
      const char *ins[3] = {in, wn, bn};
      gf__pb nd = node_begin("InstanceNormalization", names[i], ins, 3, names[i]);
      attr_float(&nd, "epsilon", x->eps);
      node_end(&w, &nd);
      break;
    }
    case GF_XN_PAD: {
      int64_t pads[8] = {0, 0, x->pad[0], x->pad[2], 0, 0, x->pad[1], x->pad[3]};
      init_i64(&w, wn, pads, 8);
      const char *ins[2] = {in, wn};
      gf__pb nd = node_begin("Pad", names[i], ins, 2, names[i]);
      attr_str(&nd, "mode", "reflect");
      node_end(&w, &nd);
      break;
    }
    case GF_XN_ADD: {
      const char *ins[2] = {in, VNAME(x->in2)};
      gf__pb nd = node_begin("Add", names[i], ins, 2, names[i]);
      node_end(&w, &nd);
      break;
    }
    case GF_XN_CONCAT: {
      const char *ins[2] = {VNAME(x->in2), in}; /* the skip first, as torch.cat([skip, x], 1) */
      gf__pb nd = node_begin("Concat", names[i], ins, 2, names[i]);
      attr_int(&nd, "axis", 1);
      node_end(&w, &nd);
      break;
    }
    case GF_XN_ONEHOT: { /* [x; row label of the K x K identity] */
      int K = x->classes;
      float *eye = calloc((size_t)K * K, sizeof(float));
      if (!eye) w.graph.oom = 1;
      else {
        for (int k = 0; k < K; k++) eye[(size_t)k * K + k] = 1.0f;
        int64_t d[2] = {K, K};
        init_f32(&w, wn, eye, d, 2);
      }
      free(eye);
      char oh[32];
      snprintf(oh, sizeof oh, "onehot%d", i);
      gather_class(&w, wn, oh);
      const char *ins[2] = {in, oh};
      gf__pb nd = node_begin("Concat", names[i], ins, 2, names[i]);
      attr_int(&nd, "axis", 1);
      node_end(&w, &nd);
      break;
    }
    case GF_XN_CAFFINE: { /* x * gamma[label] + beta[label]; the tables [K, C] (rank 4: [K, C, 1, 1]) */
      int64_t d[4] = {x->classes, x->c, 1, 1};
      init_f32(&w, wn, x->wt, d, r == 4 ? 4 : 2);
      init_f32(&w, bn, x->bias, d, r == 4 ? 4 : 2);
      char g[32], be[32], mid[32];
      snprintf(g, sizeof g, "gamma%d", i);
      snprintf(be, sizeof be, "beta%d", i);
      snprintf(mid, sizeof mid, "m%d", i);
      gather_class(&w, wn, g);
      gather_class(&w, bn, be);
      mul_add(&w, in, g, be, mid, names[i]);
      break;
    }
    }
  }
  /* the output "x" [N, C, H, W] */
  if (VRANK(p->out) == 2) {
    int64_t d[3] = {p->c, p->h, p->w};
    reshape(&w, VNAME(p->out), d, 3, "x");
  } else {
    const char *ins[1] = {VNAME(p->out)};
    gf__pb nd = node_begin("Identity", "x", ins, 1, "x");
    node_end(&w, &nd);
  }
  gf__pb_str(&w.graph, 2, "ganforge_generator");
  if (p->translates) {
    int64_t din[4] = {-1, p->in_c, -2, -3}, dout[4] = {-1, p->c, -2, -3};
    value_info(&w.graph, 11, "image", T_FLOAT, din, 4);
    value_info(&w.graph, 12, "x", T_FLOAT, dout, 4);
  } else {
    int64_t din[2] = {-1, p->nz}, dout[4] = {-1, p->c, p->h, p->w}, dlab[1] = {-1};
    value_info(&w.graph, 11, "z", T_FLOAT, din, 2);
    if (p->classes) value_info(&w.graph, 11, "label", T_INT64, dlab, 1);
    value_info(&w.graph, 12, "x", T_FLOAT, dout, 4);
  }
  gf__pb model = {0};
  gf__pb_int(&model, 1, 8); /* IR version 8 (ONNX 1.10+) */
  gf__pb_str(&model, 2, "ganforge");
  gf__pb_str(&model, 3, GANFORGE_VERSION);
  char doc[512], lab[160] = "";
  if (p->classes)
    snprintf(lab, sizeof lab, " and label (int64 [N], classes 0..%d, model.cond=%s; a label outside them: Gather "
             "index out of range)", p->classes - 1, p->cond);
  snprintf(doc, sizeof doc, "ganforge %s generator (%s); input %s%s, output x in [-1, 1] or [0, 1]; BatchNorm %s",
           p->arch, p->kind, input, lab, p->translates ? "on each image's statistics" : "folded (eval mode)");
  gf__pb_str(&model, 6, doc);
  gf__pb_msg(&model, 7, &w.graph);
  gf__pb opset = {0};
  gf__pb_str(&opset, 1, "");
  gf__pb_int(&opset, 2, GF_ONNX_OPSET);
  gf__pb_msg(&model, 8, &opset);
  int rc = model.oom ? gf__fail(GF_ENOMEM, "out of memory writing %s", path) : gf__write_file_atomic(path, model.d, model.n);
  gf__pb_free(&model);
  free(names);
  free(rank);
  return rc;
#undef VNAME
#undef VRANK
}
