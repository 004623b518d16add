/* specnorm.c: spectral normalisation of Linear / Conv2d weights (Miyato et al. 2018) on the ops
   table, as torch.nn.utils.spectral_norm computes it: W [out, K] (a conv's [OC, IC*kh*kw]),
   in training mode one power iteration v = normalize(W^T u), u = normalize(W v), then
   sigma = u . (W v) and the layer uses W / sigma; u and v are the net's buffers (weight_u,
   weight_v), updated by every training-mode forward. The normalised weight, u, v and sigma of
   an application live in its context, so its backward differentiates exactly what its forward
   computed: dL/dW = (G - (G . W_sn) u v^T) / sigma for G = dL/dW_sn. */
#include "nn/nn.h"

#define SN_EPS 1e-12f
#define R16(x) (((size_t)(x) + 15) / 16 * 16)

/* Context slice of an SN layer: W_sn [w_n] | u [out] | v [K] | scalars [16] (sigma, scratch) | t [out] */
size_t gf__sn_ctx_floats(const gf__layer *l) {
  return R16(l->w_n) + R16(l->out_c) + R16(l->w_n / l->out_c) + 16 + R16(l->out_c);
}

typedef struct sn_parts {
  float *wsn, *u, *v, *sc, *t;
  int M, K;
} sn_parts;

static sn_parts parts(const gf__layer *l, float *m) {
  sn_parts p;
  p.M = l->out_c;
  p.K = (int)(l->w_n / l->out_c);
  p.wsn = m;
  p.u = p.wsn + R16(l->w_n);
  p.v = p.u + R16(p.M);
  p.sc = p.v + R16(p.K);
  p.t = p.sc + 16;
  return p;
}

const float *gf__sn_weight(gf__net *net, gf__ctx *ctx, int i, int iterate) {
  const gf__ops *o = net->ops;
  const gf__layer *l = &net->layers[i];
  sn_parts p = parts(l, ctx->wsn[i]);
  const float *W = net->params + l->w_off;
  float *nu = net->buffers + l->u_off, *nv = net->buffers + l->v_off;
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
  o->scalar_op(GF_SOP_DIV, p.wsn, W, p.sc, 0.0f, (size_t)l->w_n);
  return p.wsn;
}

void gf__sn_backward(gf__net *net, gf__ctx *ctx, int i, float *g, float *dst) {
  const gf__ops *o = net->ops;
  const gf__layer *l = &net->layers[i];
  sn_parts p = parts(l, ctx->wsn[i]);
  float *t2 = net->sn_ws + R16(l->w_n); /* [out], after the gradient scratch (g is net->sn_ws) */
  /* c = G . W_sn; G -= (c u) v^T; G /= sigma; dst += G */
  o->dot(p.sc + 2, g, p.wsn, (size_t)l->w_n, 1.0f);
  o->scalar_op(GF_SOP_MUL, t2, p.u, p.sc + 2, 0.0f, (size_t)p.M);
  o->gemm(0, 0, p.M, p.K, 1, -1.0f, t2, 1, p.v, p.K, 1.0f, g, p.K);
  o->scalar_op(GF_SOP_DIV, g, g, p.sc, 0.0f, (size_t)l->w_n);
  o->axpy(dst, 1.0f, g, (size_t)l->w_n);
}
