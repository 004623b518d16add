/* second.c: second-order passes (double backward) for gradient penalties: the derivative with
   respect to the parameters of a function of the input gradient, exactly, in the explicit
   forward/backward style on the ops table (Pearlmutter's R-operator over saved activations).
   The conditional layers of a D have theirs: the one-hot label concatenation (cGAN) is affine in
   the input with a constant label part (tangent [R{x}; 0], the penalty's gradient is over the
   image input only), the projection head w . h + b + <embed[y], h> is bilinear in (w, embed) and
   h (labels: the context's, as the forward's). */
#include <string.h>

#include "core/util.h"
#include "nn/nn.h"

#define R16(x) (((size_t)(x) + 15) / 16 * 16)

/* Activations whose second derivative is not zero (their backward depends on the input). */
static int curved(const gf__layer *l) {
  return l->kind == GF_LAYER_ACT && (l->act == GF_ACT_TANH || l->act == GF_ACT_SIGMOID);
}

static const char *kind_name(const gf__layer *l) {
  switch (l->kind) {
  case GF_LAYER_DROPOUT: return "Dropout";
  case GF_LAYER_BATCHNORM: return "BatchNorm";
  case GF_LAYER_CONVT: return "ConvTranspose2d";
  case GF_LAYER_INSTNORM: return "InstanceNorm2d";
  case GF_LAYER_REFLPAD: return "ReflectionPad2d";
  case GF_LAYER_RESBEGIN: case GF_LAYER_RESEND: return "residual block";
  case GF_LAYER_CONCAT: return "concatenation";
  case GF_LAYER_CBN: return "conditional BatchNorm";
  default: return "layer";
  }
}

int gf__net_second_order_check(const gf__net *net, const char *what) {
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    switch (l->kind) {
    case GF_LAYER_LINEAR: case GF_LAYER_CONV: case GF_LAYER_ACT: case GF_LAYER_MAXOUT: case GF_LAYER_RESHAPE:
    case GF_LAYER_ONEHOT: case GF_LAYER_PROJ: break;
    default:
      return gf__fail(GF_EUSAGE, "%s differentiates %s's input gradient, and %s.%s (%s) has no second-order pass: use a "
                      "%s without BatchNorm or dropout", what, net->name, net->name, l->tname, kind_name(l), net->name);
    }
  }
  return 0;
}

/* Whether a layer below i has parameters (then the tangent of the output gradient must go on). */
static int weights_below(const gf__net *net, int i) {
  for (int j = 0; j < i; j++)
    if (net->layers[j].w_n) return 1;
  return 0;
}

/* Plans (mem == NULL) or assigns the slices of a second-order context; returns its floats. */
static size_t layout(gf__ctx2 *c2, const gf__net *net, int B, float *mem) {
  size_t total = 0, rd = 0;
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    size_t sz = R16((size_t)B * gf__layer_out_size(l)), in = R16((size_t)B * gf__layer_in_size(l));
    if (in > rd) rd = in;
    /* output gradients the second pass reads (the last layer's is the context's own seed) */
    float *d = NULL, *r = NULL;
    if (i < net->n - 1 && (l->w_n || curved(l))) { d = mem ? mem + total : NULL; total += sz; }
    /* forward tangents: every output below the last layer, except views */
    if (i < net->n - 1 && l->kind != GF_LAYER_RESHAPE) { r = mem ? mem + total : NULL; total += sz; }
    if (mem) { c2->delta[i] = d; c2->rout[i] = r; }
  }
  if (mem) { c2->rd[0] = mem + total; c2->rd[1] = mem + total + rd; }
  return total + 2 * rd;
}

int gf__ctx2_create(gf__ctx2 *c2, const gf__net *net, int max_batch) {
  memset(c2, 0, sizeof *c2);
  GF_TRY(gf__net_second_order_check(net, "a second-order pass"));
  size_t n = layout(c2, net, max_batch, NULL);
  c2->mem = net->ops->alloc(sizeof(float) * (n + 16));
  if (!c2->mem) return gf__fail(GF_ENOMEM, "network %s: cannot allocate %zu floats for second-order passes", net->name, n);
  c2->mem_floats = n;
  c2->ops = net->ops;
  c2->max_batch = max_batch;
  layout(c2, net, max_batch, c2->mem);
  return 0;
}

void gf__ctx2_destroy(gf__ctx2 *c2) {
  if (c2->mem && c2->ops) c2->ops->free(c2->mem);
  memset(c2, 0, sizeof *c2);
}

void gf__net_backward_input(gf__net *net, gf__ctx *ctx, gf__ctx2 *c2, float *din) {
  /* the ordinary backward, with the output gradients it must keep written into c2's buffers
     instead of the context's two buffers used in turn */
  float *saved[GF_MAX_LAYERS];
  for (int i = 0; i + 1 < net->n; i++) {
    saved[i] = ctx->dout[i];
    if (c2->delta[i]) ctx->dout[i] = c2->delta[i];
  }
  gf__net_backward(net, ctx, din, GF_GRAD_NONE);
  for (int i = 0; i + 1 < net->n; i++) ctx->dout[i] = saved[i];
}

void gf__net_double_backward(gf__net *net, gf__ctx *ctx, gf__ctx2 *c2, const float *v) {
  const gf__ops *o = net->ops;
  const int B = ctx->batch, n = net->n;
  /* 1. forward tangent R{out_i} = d out_i along v (weights fixed: no bias terms) */
  const float *R[GF_MAX_LAYERS];
  const float *rin = v;
  for (int i = 0; i + 1 < n; i++) {
    const gf__layer *l = &net->layers[i];
    const float *x = i ? ctx->out[i - 1] : ctx->input;
    float *r = c2->rout[i];
    gf__prof_begin(net);
    size_t nout = (size_t)B * gf__layer_out_size(l);
    switch (l->kind) {
    case GF_LAYER_LINEAR:
      gf__linear_forward(o, r, rin, gf__layer_weight(net, ctx, i), NULL, B, (int)gf__layer_in_size(l), l->out_c);
      break;
    case GF_LAYER_CONV: gf__conv2d_forward(o, r, rin, gf__layer_weight(net, ctx, i), NULL, net->ws, B, l); break;
    case GF_LAYER_ACT: /* f'(x) r: the backward's multiplication */
      o->fill(r, 0.0f, nout);
      o->act_bwd(l->act, r, x, ctx->out[i], rin, nout, l->alpha);
      break;
    case GF_LAYER_MAXOUT: o->maxout_take(r, rin, ctx->aux[i], B, l->out_c, l->pieces); break;
    case GF_LAYER_ONEHOT: { /* [R{x}; 0]: the label planes do not move with the input */
      int CS = l->in_c * l->in_h * l->in_w, KS = l->nclass * l->in_h * l->in_w;
      o->fill(r, 0.0f, nout);
      o->copy2d(r, CS + KS, rin, CS, B, CS);
      break;
    }
    case GF_LAYER_PROJ: { /* w . R{h} + <embed[y], R{h}> (a head below the last layer: not built, kept exact) */
      int F = (int)gf__layer_in_size(l);
      gf__linear_forward(o, r, rin, gf__layer_weight(net, ctx, i), NULL, B, F, 1);
      o->proj_fwd(r, rin, l->sn ? gf__sn_embed_used(l, ctx, i) : net->params + l->e_off, ctx->labels, B, F, l->nclass);
      break;
    }
    default: r = (float *)rin; break; /* reshape: a view */
    }
    gf__prof_end(net, i, GF_PROF_BWD2, B);
    R[i] = rin = r;
  }
  /* 2. backward tangent: rdy = R{dout_i} (NULL while it is zero: the seed is constant, and
     linear layers and piecewise-linear activations keep it zero), and per weight layer
     d<v, din>/dW = R{dout_i}^T x + dout_i^T R{x} (SN: through the normalisation) */
  const float *rdy = NULL;
  int turn = 0;
  for (int i = n - 1; i >= 0; i--) {
    const gf__layer *l = &net->layers[i];
    const float *x = i ? ctx->out[i - 1] : ctx->input, *rx = i ? R[i - 1] : v;
    gf__prof_begin(net);
    const float *dy = i == n - 1 ? ctx->dout[i] : c2->delta[i];
    const int down = i > 0 && weights_below(net, i);
    long in_sz = gf__layer_in_size(l);
    size_t nin = (size_t)B * in_sz, nout = (size_t)B * gf__layer_out_size(l);
    float *rdx = down ? c2->rd[turn] : NULL;
    switch (l->kind) {
    case GF_LAYER_LINEAR:
    case GF_LAYER_CONV: {
      const float *w = gf__layer_weight(net, ctx, i);
      float *dw = l->sn ? net->sn_ws : net->grads + l->w_off;
      float *db = l->b_n ? net->grads + l->b_off : NULL;
      if (l->sn) o->fill(dw, 0.0f, (size_t)l->w_n);
      if (!rdy) rdx = NULL;
      if (l->kind == GF_LAYER_LINEAR) {
        if (rdy) gf__linear_backward(o, rdx, dw, db, rdy, x, w, B, (int)in_sz, l->out_c, 0, 1);
        gf__linear_backward(o, NULL, dw, NULL, dy, rx, w, B, (int)in_sz, l->out_c, 0, 0);
      } else {
        if (rdx) o->fill(rdx, 0.0f, nin);
        if (rdy) gf__conv2d_backward(o, rdx, dw, db, rdy, x, w, net->ws, B, l);
        gf__conv2d_backward(o, NULL, dw, NULL, dy, rx, w, net->ws, B, l);
      }
      if (l->sn) gf__sn_backward(net, ctx, i, dw, net->grads + l->w_off);
      rdy = rdx;
      break;
    }
    case GF_LAYER_ACT:
      if (!rdx || (!rdy && !curved(l))) { rdy = NULL; break; }
      o->fill(rdx, 0.0f, nin);
      if (rdy) o->act_bwd(l->act, rdx, x, ctx->out[i], rdy, nout, l->alpha);
      if (curved(l)) o->act_curv(l->act, rdx, ctx->out[i], dy, rx, nout, l->alpha);
      rdy = rdx;
      break;
    case GF_LAYER_MAXOUT:
      if (!rdx || !rdy) { rdy = NULL; break; }
      o->fill(rdx, 0.0f, nin);
      o->maxout_bwd(rdx, rdy, ctx->aux[i], B, l->out_c, l->pieces);
      rdy = rdx;
      break;
    case GF_LAYER_ONEHOT: /* the image part of R{dout}; the label planes have no gradient */
      if (!rdx || !rdy) { rdy = NULL; break; }
      o->fill(rdx, 0.0f, nin);
      o->onehot_cat_bwd(rdx, rdy, B, l->in_c, l->in_h * l->in_w, l->nclass);
      rdy = rdx;
      break;
    case GF_LAYER_PROJ: {
      /* din = dout (w + embed[y]): d<v, din>/dw = R{dout}^T h + dout^T R{h}, the same for the
         rows embed[y] (by label), d/db = sum R{dout}; SN: each matrix back through its
         normalisation (the scratch holds one matrix's gradient at a time) */
      const int F = (int)in_sz, K = l->nclass;
      const float *w = gf__layer_weight(net, ctx, i), *lab = ctx->labels;
      const float *E = l->sn ? gf__sn_embed_used(l, ctx, i) : net->params + l->e_off;
      float *dw = l->sn ? net->sn_ws : net->grads + l->w_off;
      if (!rdy) rdx = NULL;
      if (l->sn) o->fill(dw, 0.0f, (size_t)l->w_n);
      if (rdy) gf__linear_backward(o, rdx, dw, net->grads + l->b_off, rdy, x, w, B, F, 1, 0, 1);
      gf__linear_backward(o, NULL, dw, NULL, dy, rx, w, B, F, 1, 0, 0);
      if (l->sn) {
        gf__sn_backward(net, ctx, i, dw, net->grads + l->w_off);
        o->fill(dw, 0.0f, (size_t)l->e_n);
      }
      float *de = l->sn ? net->sn_ws : net->grads + l->e_off;
      if (rdy) o->proj_bwd(rdx, de, rdy, x, E, lab, B, F, K);
      o->proj_bwd(NULL, de, dy, rx, E, lab, B, F, K);
      if (l->sn) gf__sn_embed_backward(net, ctx, i, de, net->grads + l->e_off);
      rdy = rdx;
      break;
    }
    default: /* reshape: the same values */
      if (!down) rdy = NULL;
      gf__prof_end(net, i, GF_PROF_BWD2, B);
      continue;
    }
    gf__prof_end(net, i, GF_PROF_BWD2, B);
    turn ^= 1;
  }
}
