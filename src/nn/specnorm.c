/* specnorm.c: spectral normalisation of Linear / Conv2d weights (Miyato et al. 2018) on the ops
   table, as torch.nn.utils.spectral_norm computes it: W [out, K] (a conv's [OC, IC*kh*kw]),
   in training mode one power iteration v = normalize(W^T u), u = normalize(W v), then
   sigma = u . (W v) and the layer uses W / sigma; u and v are the net's buffers (weight_u,
   weight_v), updated by every training-mode forward. The normalised weight, u, v and sigma of
   an application live in its context, so its backward differentiates exactly what its forward
   computed: dL/dW = (G - (G . W_sn) u v^T) / sigma for G = dL/dW_sn.
   A projection head (cond_layers.c) with SN normalises both of its matrices the same way: the
   linear weight [1, F] (weight_u [1], weight_v [F]) and the class embedding [K, F] (as
   spectral_norm on an nn.Embedding, dim 0: embed.weight_u [K], embed.weight_v [F]). */
#include "nn/nn.h"

#define SN_EPS 1e-12f
#define R16(x) (((size_t)(x) + 15) / 16 * 16)

/* One normalised matrix [M, K] (n = M K) in a context: W_sn [n] | u [M] | v [K] | scalars [16]
   (sigma, scratch) | t [M] */
static size_t mat_floats(long n, long M) { return R16(n) + R16(M) + R16(n / M) + 16 + R16(M); }

/* The matrices of an SN layer: 0 the weight, 1 a projection's class embedding */
typedef struct sn_mat {
  const float *W;
  float *nu, *nv;
  long n;
  int M;
} sn_mat;

static sn_mat mat_of(gf__net *net, const gf__layer *l, int which) {
  sn_mat s;
  if (which) {
    s.W = net->params + l->e_off;
    s.nu = net->buffers + l->eu_off;
    s.nv = net->buffers + l->ev_off;
    s.n = l->e_n;
    s.M = l->nclass;
  } else {
    s.W = net->params + l->w_off;
    s.nu = net->buffers + l->u_off;
    s.nv = net->buffers + l->v_off;
    s.n = l->w_n;
    s.M = l->out_c;
  }
  return s;
}

size_t gf__sn_ctx_floats(const gf__layer *l) {
  size_t n = mat_floats(l->w_n, l->out_c);
  if (l->kind == GF_LAYER_PROJ) n += mat_floats(l->e_n, l->nclass);
  return n;
}

size_t gf__sn_ws_floats(const gf__layer *l) {
  size_t a = R16(l->w_n) + (size_t)l->out_c, b = l->kind == GF_LAYER_PROJ ? R16(l->e_n) + (size_t)l->nclass : 0;
  return a > b ? a : b;
}

typedef struct sn_parts {
  float *wsn, *u, *v, *sc, *t;
  int M, K;
} sn_parts;

static sn_parts parts(const gf__layer *l, float *m, int which) {
  sn_parts p;
  if (which) m += mat_floats(l->w_n, l->out_c);
  long n = which ? l->e_n : l->w_n;
  p.M = which ? l->nclass : l->out_c;
  p.K = (int)(n / p.M);
  p.wsn = m;
  p.u = p.wsn + R16(n);
  p.v = p.u + R16(p.M);
  p.sc = p.v + R16(p.K);
  p.t = p.sc + 16;
  return p;
}

static const float *sn_weight(gf__net *net, gf__ctx *ctx, int i, int which, int iterate) {
  const gf__ops *o = net->ops;
  const gf__layer *l = &net->layers[i];
  sn_parts p = parts(l, ctx->wsn[i], which);
  sn_mat s = mat_of(net, l, which);
  const float *W = s.W;
  float *nu = s.nu, *nv = s.nv;
  if (iterate) {
    /* v = W^T u / |W^T u|, then t = W v, u = t / |t| (gemv through gemm; norms through dot) */
    o->gemm(1, 0, p.K, 1, p.M, 1.0f, W, p.K, nu, 1, 0.0f, p.v, 1);
    o->dot(p.sc + 1, p.v, p.v, (size_t)p.K, 1.0f);
    o->scalar_op(GF_SOP_RNORM, p.v, p.v, p.sc + 1, SN_EPS, (size_t)p.K);
    o->gemm(0, 0, p.M, 1, p.K, 1.0f, W, p.K, p.v, 1, 0.0f, p.t, 1);
    o->dot(p.sc + 1, p.t, p.t, (size_t)p.M, 1.0f);
    o->scalar_op(GF_SOP_RNORM, p.u, p.t, p.sc + 1, SN_EPS, (size_t)p.M);
    o->copy(nu, p.u, (size_t)p.M);
    o->copy(nv, p.v, (size_t)p.K);
  } else {
    o->copy(p.u, nu, (size_t)p.M);
    o->copy(p.v, nv, (size_t)p.K);
    o->gemm(0, 0, p.M, 1, p.K, 1.0f, W, p.K, p.v, 1, 0.0f, p.t, 1);
  }
  o->dot(p.sc, p.u, p.t, (size_t)p.M, 1.0f); /* sigma = u . W v */
  o->scalar_op(GF_SOP_DIV, p.wsn, W, p.sc, 0.0f, (size_t)s.n);
  return p.wsn;
}

static void sn_backward(gf__net *net, gf__ctx *ctx, int i, int which, float *g, float *dst) {
  const gf__ops *o = net->ops;
  const gf__layer *l = &net->layers[i];
  sn_parts p = parts(l, ctx->wsn[i], which);
  size_t n = (size_t)p.M * (size_t)p.K;
  float *t2 = net->sn_ws + R16(n); /* [M], after the gradient scratch (g is net->sn_ws) */
  /* c = G . W_sn; G -= (c u) v^T; G /= sigma; dst += G */
  o->dot(p.sc + 2, g, p.wsn, n, 1.0f);
  o->scalar_op(GF_SOP_MUL, t2, p.u, p.sc + 2, 0.0f, (size_t)p.M);
  o->gemm(0, 0, p.M, p.K, 1, -1.0f, t2, 1, p.v, p.K, 1.0f, g, p.K);
  o->scalar_op(GF_SOP_DIV, g, g, p.sc, 0.0f, n);
  o->axpy(dst, 1.0f, g, n);
}

const float *gf__sn_weight(gf__net *net, gf__ctx *ctx, int i, int iterate) { return sn_weight(net, ctx, i, 0, iterate); }

const float *gf__sn_embed(gf__net *net, gf__ctx *ctx, int i, int iterate) { return sn_weight(net, ctx, i, 1, iterate); }

void gf__sn_backward(gf__net *net, gf__ctx *ctx, int i, float *g, float *dst) { sn_backward(net, ctx, i, 0, g, dst); }

void gf__sn_embed_backward(gf__net *net, gf__ctx *ctx, int i, float *g, float *dst) {
  sn_backward(net, ctx, i, 1, g, dst);
}

/* The normalised embedding a projection layer computed with in a context (after its forward). */
const float *gf__sn_embed_used(const gf__layer *l, const gf__ctx *ctx, int i) { return parts(l, ctx->wsn[i], 1).wsn; }
