/* cond_layers.c: the conditional layers: one-hot label concatenation (cGAN, Mirza & Osindero
   2014), conditional BatchNorm (per-class gamma / beta) and the projection discriminator head
   (Miyato & Koyama 2018), on the ops table; labels come from the context (gf__ctx.labels). */
#include <string.h>

#include "core/util.h"
#include "nn/nn.h"

static int check_k(gf__net *net, int K, const char *what) {
  if (K < 1 || K > 65536) return gf__fail(GF_EINVAL, "network %s: %s layer with %d classes", net->name, what, K);
  if (net->nclass && net->nclass != K)
    return gf__fail(GF_EINVAL, "network %s: %s layer with %d classes after one with %d", net->name, what, K, net->nclass);
  return 0;
}

int gf__net_add_onehot(gf__net *net, int K) {
  GF_TRY(check_k(net, K, "one-hot"));
  gf__layer *l = gf__net_push(net, GF_LAYER_ONEHOT);
  if (!l) return gf__fail(GF_EINVAL, "network %s: too many layers (max %d)", net->name, GF_MAX_LAYERS);
  l->nclass = K;
  l->out_c = l->in_c + K;
  net->nclass = K;
  return 0;
}

int gf__net_add_cbn(gf__net *net, int K, float eps, float momentum) {
  GF_TRY(check_k(net, K, "conditional BatchNorm"));
  gf__layer *l = gf__net_push(net, GF_LAYER_CBN);
  if (!l) return gf__fail(GF_EINVAL, "network %s: too many layers (max %d)", net->name, GF_MAX_LAYERS);
  l->nclass = K;
  l->affine = 1;
  l->eps = eps;
  l->momentum = momentum;
  l->w_n = l->b_n = (long)K * l->in_c;
  net->nclass = K;
  return 0;
}

int gf__net_add_proj(gf__net *net, int K) {
  GF_TRY(check_k(net, K, "projection"));
  gf__layer *l = gf__net_push(net, GF_LAYER_PROJ);
  if (!l) return gf__fail(GF_EINVAL, "network %s: too many layers (max %d)", net->name, GF_MAX_LAYERS);
  long F = gf__layer_in_size(l);
  l->nclass = K;
  l->has_bias = 1;
  l->out_c = l->out_h = l->out_w = 1;
  l->w_n = F;
  l->b_n = 1;
  l->e_n = (long)K * F;
  net->nclass = K;
  return 0;
}

/* CBN: mean [C], rstd [C], the backward's sums [2C] (with ctx->reduce), the normalised input
   xhat [B, C, S] and its gradient [B, C, S]. */
#define CBN_HEAD(C) (4 * (size_t)(C))
size_t gf__cond_layer_aux(const gf__layer *l, int B) {
  if (l->kind != GF_LAYER_CBN) return 0;
  return CBN_HEAD(l->in_c) + 2 * (size_t)B * (size_t)gf__layer_in_size(l);
}

void gf__cond_layer_forward(gf__net *net, int i, gf__ctx *ctx, float *y, const float *x, float *aux, int B, int train) {
  const gf__ops *o = net->ops;
  const gf__layer *l = &net->layers[i];
  const float *lab = ctx->labels, *P = net->params;
  int K = l->nclass, C = l->in_c, S = l->in_h * l->in_w;
  switch (l->kind) {
  case GF_LAYER_ONEHOT: o->onehot_cat_fwd(y, x, lab, B, C, S, K); break;
  case GF_LAYER_CBN: {
    float *xhat = aux + CBN_HEAD(C);
    if (train && ctx->reduce) {
      /* train.sync_bn: the global batch's statistics, as BatchNorm computes them (net.c) */
      float *mean = aux, *rstd = aux + C;
      o->norm_sums(mean, x, NULL, B, C, S);
      int ranks = ctx->reduce(ctx->reduce_user, mean, (size_t)C);
      double count = (double)B * S * (ranks > 1 ? ranks : 1);
      o->scale(mean, (float)(1.0 / count), (size_t)C);
      o->norm_sums(rstd, x, mean, B, C, S);
      ctx->reduce(ctx->reduce_user, rstd, (size_t)C);
      o->norm_fwd_sync(xhat, mean, rstd, x, NULL, NULL, net->buffers + l->rm_off, net->buffers + l->rv_off, B, C, S,
                       count, l->eps, l->momentum);
    } else if (train)
      o->norm_fwd_train(xhat, aux, aux + C, x, NULL, NULL, net->buffers + l->rm_off, net->buffers + l->rv_off, B, C, S,
                        l->eps, l->momentum);
    else
      o->norm_fwd_eval(xhat, x, NULL, NULL, net->buffers + l->rm_off, net->buffers + l->rv_off, B, C, S, l->eps);
    o->cond_affine_fwd(y, xhat, P + l->w_off, P + l->b_off, lab, B, C, S, K);
    break;
  }
  case GF_LAYER_PROJ: {
    int F = (int)gf__layer_in_size(l);
    /* SN (SNGAN-projection): the linear weight and the class embedding each over its largest
       singular value, one power iteration per training-mode application (specnorm.c) */
    int it = train && !ctx->sn_fixed;
    const float *W = l->sn ? gf__sn_weight(net, ctx, i, it) : P + l->w_off;
    const float *E = l->sn ? gf__sn_embed(net, ctx, i, it) : P + l->e_off;
    gf__linear_forward(o, y, x, W, P + l->b_off, B, F, 1);
    o->proj_fwd(y, x, E, lab, B, F, K);
    break;
  }
  default: break;
  }
}

void gf__cond_layer_backward(gf__net *net, int i, gf__ctx *ctx, float *dx, const float *dy, const float *x, float *aux,
                             int B, int param_grads) {
  const gf__ops *o = net->ops;
  const gf__layer *l = &net->layers[i];
  const float *lab = ctx->labels, *P = net->params;
  float *G = param_grads ? net->grads : NULL;
  int K = l->nclass, C = l->in_c, S = l->in_h * l->in_w;
  switch (l->kind) {
  case GF_LAYER_ONEHOT: if (dx) o->onehot_cat_bwd(dx, dy, B, C, S, K); break;
  case GF_LAYER_CBN: {
    float *xhat = aux + CBN_HEAD(C), *dxhat = xhat + (size_t)B * C * S;
    int want_dx = dx && ctx->train;
    if (want_dx) o->fill(dxhat, 0.0f, (size_t)B * C * S);
    o->cond_affine_bwd(want_dx ? dxhat : NULL, G ? G + l->w_off : NULL, G ? G + l->b_off : NULL, dy, xhat, P + l->w_off, lab,
                       B, C, S, K);
    /* through the normalisation with batch statistics (as BatchNorm, no input gradient in eval mode) */
    if (want_dx && ctx->reduce) { /* train.sync_bn: the sums of the global batch */
      float *sums = aux + 2 * C;
      o->norm_bwd_sums(sums, dxhat, x, aux, aux + C, B, C, S);
      int ranks = ctx->reduce(ctx->reduce_user, sums, 2 * (size_t)C);
      o->norm_bwd_sync(dx, dxhat, x, aux, aux + C, NULL, sums, (double)B * S * (ranks > 1 ? ranks : 1), B, C, S);
    } else if (want_dx) {
      o->norm_bwd(dx, NULL, NULL, dxhat, x, aux, aux + C, NULL, B, C, S);
    }
    break;
  }
  case GF_LAYER_PROJ: {
    int F = (int)gf__layer_in_size(l);
    if (!l->sn) {
      gf__linear_backward(o, dx, G ? G + l->w_off : NULL, G ? G + l->b_off : NULL, dy, x, P + l->w_off, B, F, 1, 0, 0);
      o->proj_bwd(dx, G ? G + l->e_off : NULL, dy, x, P + l->e_off, lab, B, F, K);
      break;
    }
    /* SN: each normalised matrix's gradient goes to the scratch (gf__net_backward zeroed it for
       the weight), then back through its normalisation into weight_orig / embed.weight_orig */
    float *ws = G ? net->sn_ws : NULL;
    gf__linear_backward(o, dx, ws, G ? G + l->b_off : NULL, dy, x, ctx->wsn[i], B, F, 1, 0, 0);
    if (ws) {
      gf__sn_backward(net, ctx, i, ws, G + l->w_off);
      o->fill(ws, 0.0f, (size_t)l->e_n);
    }
    o->proj_bwd(dx, ws, dy, x, gf__sn_embed_used(l, ctx, i), lab, B, F, K);
    if (ws) gf__sn_embed_backward(net, ctx, i, ws, G + l->e_off);
    break;
  }
  default: break;
  }
}
