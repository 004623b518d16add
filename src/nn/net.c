/* net.c: network building, the parameter arena, activation contexts, and forward/backward passes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "nn/nn.h"

void gf__net_init(gf__net *net, const gf__ops *ops, const char *name, int c, int h, int w) {
  memset(net, 0, sizeof *net);
  snprintf(net->name, sizeof net->name, "%s", name);
  net->ops = ops;
  net->in_c = c;
  net->in_h = h;
  net->in_w = w;
}

/* Appends a layer whose input is the previous layer's output. */
gf__layer *gf__net_push(gf__net *net, gf__layer_kind kind) {
  if (net->n >= GF_MAX_LAYERS || net->finalized) return NULL;
  gf__layer *l = &net->layers[net->n++];
  memset(l, 0, sizeof *l);
  l->kind = kind;
  if (net->n == 1) {
    l->in_c = net->in_c; l->in_h = net->in_h; l->in_w = net->in_w;
  } else {
    const gf__layer *p = &net->layers[net->n - 2];
    l->in_c = p->out_c; l->in_h = p->out_h; l->in_w = p->out_w;
  }
  l->out_c = l->in_c; l->out_h = l->in_h; l->out_w = l->in_w;
  l->w_off = l->b_off = l->rm_off = l->rv_off = l->e_off = l->u_off = l->v_off = l->eu_off = l->ev_off = -1;
  l->init = GF_INIT_TORCH;
  l->src = -1;
  l->groups = 1;
  snprintf(l->tname, sizeof l->tname, "net.%d", net->n - 1);
  return l;
}

#define PUSH_OR_FAIL(l, net, kind)                                                            \
  gf__layer *l = gf__net_push(net, kind);                                                     \
  if (!l) return gf__fail(GF_EINVAL, "network %s: too many layers (max %d)", (net)->name, GF_MAX_LAYERS)

int gf__net_add_linear(gf__net *net, int out, int bias) {
  if (out <= 0) return gf__fail(GF_EINVAL, "network %s: linear layer with %d outputs", net->name, out);
  PUSH_OR_FAIL(l, net, GF_LAYER_LINEAR);
  l->out_c = out; l->out_h = 1; l->out_w = 1;
  l->has_bias = bias;
  l->w_n = (long)out * gf__layer_in_size(l);
  l->b_n = bias ? out : 0;
  return 0;
}

int gf__net_add_act(gf__net *net, gf__act act, float alpha) {
  PUSH_OR_FAIL(l, net, GF_LAYER_ACT);
  l->act = act;
  l->alpha = alpha;
  return 0;
}

int gf__net_add_maxout(gf__net *net, int pieces) {
  PUSH_OR_FAIL(l, net, GF_LAYER_MAXOUT);
  long in = gf__layer_in_size(l);
  if (pieces < 1 || in % pieces) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: maxout of %d pieces over %ld inputs", net->name, pieces, in);
  }
  l->pieces = pieces;
  l->out_c = (int)(in / pieces); l->out_h = 1; l->out_w = 1;
  return 0;
}

int gf__net_add_dropout(gf__net *net, float p) {
  if (!(p >= 0 && p < 1)) return gf__fail(GF_EINVAL, "network %s: dropout probability %g not in [0,1)", net->name, p);
  PUSH_OR_FAIL(l, net, GF_LAYER_DROPOUT);
  l->alpha = p;
  return 0;
}

int gf__net_add_batchnorm(gf__net *net, int affine, float eps, float momentum) {
  PUSH_OR_FAIL(l, net, GF_LAYER_BATCHNORM);
  l->affine = affine;
  l->eps = eps;
  l->momentum = momentum;
  l->w_n = l->b_n = affine ? l->in_c : 0;
  return 0;
}

/* Work-space budget of one im2col batch (floats): large enough for big GEMMs, small enough
   that im2col writes col and sgemm reads it back from the caches (2 MB: measured 5-10% less
   CPU time than 16 MB on dcgan-mnist) and the peak memory stays low. */
#define GF_CONV_WS_TARGET (512L << 10)

/* One sample whose col is larger than this (floats) is lowered in bands of output rows, each
   band's col at most this size (16 MB: inside the L3 cache; a 256x256 7x7 conv's col would
   otherwise take 800 MB). */
#define GF_CONV_BAND_TARGET (4L << 20)

/* 3x3 stride-1 convolutions with at least this many input and output channels run as Winograd
   F(4x4, 3x3) (4x fewer multiply-adds; below it the transforms cost more than they save). */
#define GF_WINO_MIN_C 32

/* 4x4 stride-2 padding-1 layers over an even grid with at least GF_WINO_MIN_C channels on both
   sides run as polyphase Winograd F(4x4, 2x2) (cpu_pwino.c: 2.56x fewer multiply-adds); g is the
   convolution (for a ConvTranspose2d, its adjoint), oc its outputs. Sets l->pwino (tiles per
   block, 0: none) and the passes it takes. Against oneDNN's near-peak kernels it wins only the
   forward and weight-gradient passes of grids that are whole 4x4 tiles (docs/BENCHMARKS.md:
   up to 26% less time per pass); without a library it takes every pass. GANFORGE_PWINO=0 in the
   environment turns it off, GANFORGE_PWINO=all makes it take every pass (to compare), and
   GANFORGE_PWINO=force every pass of every 4x4 stride-2 padding-1 layer over an even grid, however
   few its channels (so that the small PyTorch-parity models exercise it). */
static void plan_pwino(const gf__net *net, gf__layer *l, int oc) {
  const gf__ops *o = net->ops;
  const gf__conv_geom *g = &l->geom;
  l->pwino = l->pwino_passes = 0;
  const char *env = getenv("GANFORGE_PWINO");
  const int force = env && strcmp(env, "force") == 0;
  if (g->kh != 4 || g->kw != 4 || g->sh != 2 || g->sw != 2 || g->ph != 1 || g->pw != 1 || g->H % 2 || g->W % 2 ||
      (!force && (g->C < GF_WINO_MIN_C || oc < GF_WINO_MIN_C)) || !o->pwino_fwd || !o->pwino_bwd_data || !o->pwino_dw)
    return;
  if (env && strcmp(env, "0") == 0) return;
  if (!o->conv_lib || force || (env && strcmp(env, "all") == 0)) l->pwino_passes = GF_PWINO_ALL;
  else if (g->OH % 4 == 0 && g->OW % 4 == 0) l->pwino_passes = 1 << GF_CONV_FWD | 1 << GF_CONV_BWD_W;
  if (!l->pwino_passes) return;
  long tb = GF_CONV_BAND_TARGET / ((long)GF_PWINO_NX * 4 * (g->C + oc)) / 16 * 16;
  l->pwino = tb < 32 ? 32 : tb > GF_WINO_MAX_TB ? GF_WINO_MAX_TB : (int)tb;
  if (l->pwino_passes == GF_PWINO_ALL) l->rows = 0; /* no pass is lowered: no bands */
}

static void plan_chunk(gf__layer *l) {
  l->rows = 0;
  long per = (long)gf__conv_ws_floats(l, 1);
  long c = GF_CONV_WS_TARGET / (per > 0 ? per : 1);
  l->chunk = c < 1 ? 1 : c > 65536 ? 65536 : (int)c;
  if (per > GF_CONV_BAND_TARGET) {
    const gf__conv_geom *g = &l->geom;
    long row = (long)g->C * g->kh * g->kw * g->OW; /* col floats per output row */
    long rows = GF_CONV_BAND_TARGET / row;
    if (rows < 1) rows = 1;
    long nbands = (g->OH + rows - 1) / rows;           /* even bands */
    l->rows = (int)((g->OH + nbands - 1) / nbands);
    if (l->rows >= g->OH) l->rows = 0;
  }
}

int gf__net_add_conv2d(gf__net *net, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int bias) {
  return gf__net_add_conv2d_grouped(net, oc, kh, kw, sh, sw, ph, pw, 1, bias);
}

/* A grouped convolution: depth-wise ones (groups = IC) on the backend's dw ops when it has them,
   the others one (image, group) at a time by im2col + sgemm. */
static int plan_grouped(const gf__net *net, gf__layer *l, int groups) {
  const gf__ops *o = net->ops;
  l->groups = groups;
  l->wino = l->direct = l->pwino = l->pwino_passes = l->lib = 0;
  l->rows = 0;
  l->chunk = 1;
  l->dw = groups == l->in_c && o->dw_fwd && o->dw_bwd_data && o->dw_bwd_w;
  return 0;
}

int gf__net_add_conv2d_grouped(gf__net *net, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int groups,
                               int bias) {
  PUSH_OR_FAIL(l, net, GF_LAYER_CONV);
  if (groups < 1 || l->in_c % groups || oc % groups) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: conv2d %d->%d in %d groups (both channel counts must be multiples of it)",
                    net->name, l->in_c, oc, groups);
  }
  int oh = (l->in_h + 2 * ph - kh) / (sh > 0 ? sh : 1) + 1, ow = (l->in_w + 2 * pw - kw) / (sw > 0 ? sw : 1) + 1;
  if (oc <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || ph < 0 || pw < 0 || l->in_h + 2 * ph < kh ||
      l->in_w + 2 * pw < kw || oh <= 0 || ow <= 0) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: conv2d %d->%d kernel %dx%d stride %dx%d padding %dx%d does not fit a %dx%d input",
                    net->name, l->in_c, oc, kh, kw, sh, sw, ph, pw, l->in_h, l->in_w);
  }
  l->out_c = oc; l->out_h = oh; l->out_w = ow;
  l->geom = (gf__conv_geom){l->in_c, l->in_h, l->in_w, kh, kw, sh, sw, ph, pw, oh, ow, 0, 0};
  l->has_bias = bias;
  l->w_n = (long)oc * (l->in_c / groups) * kh * kw;
  l->b_n = bias ? oc : 0;
  if (groups > 1) return plan_grouped(net, l, groups);
  plan_chunk(l);
  l->wino = 0;
  if (kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph <= 2 && pw <= 2 && net->ops->wino_fwd && net->ops->wino_dw &&
      l->in_c >= GF_WINO_MIN_C && oc >= GF_WINO_MIN_C) {
    long tb = GF_CONV_BAND_TARGET / ((long)GF_WINO_NX * (l->in_c + oc)) / 16 * 16;
    l->wino = tb < 32 ? 32 : tb > GF_WINO_MAX_TB ? GF_WINO_MAX_TB : (int)tb;
  }
  l->direct = sh == 1 && sw == 1 && oc <= GF_DIRECT_MAX_OC && kh <= 16 && kw <= 16 && ow >= 16 &&
              (long)l->in_c * kh * kw >= 64 && net->ops->direct_fwd && net->ops->direct_bwd_data && net->ops->direct_bwd_w;
  if (l->direct) l->wino = 0;
  plan_pwino(net, l, oc);
  /* banded layers stay lowered unless the library takes every geometry (conv_lib_all), except the
     forward pass of an RGB stem (<= 4 input channels: a 7x7 conv of a 256x256 image took 20 ms as
     bands of im2col + sgemm, 3 ms in oneDNN; its backward passes are slower in oneDNN and stay banded) */
  l->lib = net->ops->conv_lib && !l->wino && !l->direct && (!l->rows || net->ops->conv_lib_all || l->in_c <= 4);
  return 0;
}

int gf__net_add_convt2d(gf__net *net, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int oph,
                        int opw, int bias) {
  PUSH_OR_FAIL(l, net, GF_LAYER_CONVT);
  int oh = (l->in_h - 1) * sh - 2 * ph + kh + oph, ow = (l->in_w - 1) * sw - 2 * pw + kw + opw;
  if (oc <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || ph < 0 || pw < 0 || oph < 0 || opw < 0 ||
      oph >= sh || opw >= sw || oh <= 0 || ow <= 0) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: conv_transpose2d %d->%d kernel %dx%d stride %dx%d padding %dx%d "
                    "output_padding %dx%d does not fit a %dx%d input (output_padding must be < stride)",
                    net->name, l->in_c, oc, kh, kw, sh, sw, ph, pw, oph, opw, l->in_h, l->in_w);
  }
  l->out_c = oc; l->out_h = oh; l->out_w = ow;
  /* the adjoint convolution maps the output (oc, oh, ow) back to the input grid */
  l->geom = (gf__conv_geom){oc, oh, ow, kh, kw, sh, sw, ph, pw, l->in_h, l->in_w, 0, 0};
  l->has_bias = bias;
  l->w_n = (long)l->in_c * oc * kh * kw;
  l->b_n = bias ? oc : 0;
  plan_chunk(l);
  plan_pwino(net, l, l->in_c);
  l->lib = net->ops->conv_lib && (!l->rows || net->ops->conv_lib_all);
  return 0;
}

int gf__net_add_instnorm(gf__net *net, int affine, float eps) {
  PUSH_OR_FAIL(l, net, GF_LAYER_INSTNORM);
  l->affine = affine;
  l->eps = eps;
  l->w_n = l->b_n = affine ? l->in_c : 0;
  return 0;
}

int gf__net_add_reflpad(gf__net *net, int top, int bottom, int left, int right) {
  PUSH_OR_FAIL(l, net, GF_LAYER_REFLPAD);
  if (top < 0 || bottom < 0 || left < 0 || right < 0 || top >= l->in_h || bottom >= l->in_h ||
      left >= l->in_w || right >= l->in_w) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: reflection padding (%d,%d,%d,%d) must be smaller than the %dx%d input",
                    net->name, top, bottom, left, right, l->in_h, l->in_w);
  }
  l->pad[0] = top; l->pad[1] = bottom; l->pad[2] = left; l->pad[3] = right;
  l->out_h = l->in_h + top + bottom;
  l->out_w = l->in_w + left + right;
  return 0;
}

int gf__net_add_reshape(gf__net *net, int c, int h, int w) {
  PUSH_OR_FAIL(l, net, GF_LAYER_RESHAPE);
  if (c <= 0 || h <= 0 || w <= 0 || (long)c * h * w != gf__layer_in_size(l)) {
    long in = gf__layer_in_size(l);
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: cannot reshape %ld values to %dx%dx%d", net->name, in, c, h, w);
  }
  l->out_c = c; l->out_h = h; l->out_w = w;
  return 0;
}

int gf__net_add_res_begin(gf__net *net) {
  PUSH_OR_FAIL(l, net, GF_LAYER_RESBEGIN);
  l->is_src = 1;
  return 0;
}

/* Records one more reader of layer src's output. */
static void use_src(gf__net *net, int src) {
  net->layers[src].is_src = 1;
  net->layers[src].nuse++;
}

int gf__net_add_tap(gf__net *net, int src) {
  if (src < 0 || src >= net->n)
    return gf__fail(GF_EINVAL, "network %s: branch source %d is not an earlier layer (0..%d)", net->name, src, net->n - 1);
  if (net->layers[src].kind == GF_LAYER_CONCAT || net->layers[src].kind == GF_LAYER_TAP)
    return gf__fail(GF_EINVAL, "network %s: a branch cannot start from layer %d (a concat or branch start)", net->name, src);
  PUSH_OR_FAIL(l, net, GF_LAYER_TAP);
  const gf__layer *s = &net->layers[src];
  l->out_c = s->out_c; l->out_h = s->out_h; l->out_w = s->out_w;
  l->src = src;
  use_src(net, src);
  return 0;
}

int gf__net_add_add(gf__net *net, int src) {
  if (src < 0 || src >= net->n)
    return gf__fail(GF_EINVAL, "network %s: sum source %d is not an earlier layer (0..%d)", net->name, src, net->n - 1);
  PUSH_OR_FAIL(l, net, GF_LAYER_ADD);
  const gf__layer *s = &net->layers[src];
  if (s->out_c != l->in_c || s->out_h != l->in_h || s->out_w != l->in_w) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: sum of a %dx%dx%d output (layer %d) with a %dx%dx%d input", net->name,
                    s->out_c, s->out_h, s->out_w, src, l->in_c, l->in_h, l->in_w);
  }
  l->src = src;
  use_src(net, src);
  return 0;
}

int gf__net_add_res_end(gf__net *net) {
  /* the innermost open block: the last RESBEGIN not yet closed */
  int depth = 0, b = -1;
  for (int i = net->n - 1; i >= 0 && b < 0; i--) {
    if (net->layers[i].kind == GF_LAYER_RESEND) depth++;
    else if (net->layers[i].kind == GF_LAYER_RESBEGIN) {
      if (depth == 0) b = i;
      else depth--;
    }
  }
  if (b < 0) return gf__fail(GF_EINVAL, "network %s: residual end without a residual begin", net->name);
  PUSH_OR_FAIL(l, net, GF_LAYER_RESEND);
  const gf__layer *s = &net->layers[b];
  if (s->out_c != l->in_c || s->out_h != l->in_h || s->out_w != l->in_w) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: residual block maps %dx%dx%d to %dx%dx%d (the shapes must agree)", net->name,
                    s->out_c, s->out_h, s->out_w, l->in_c, l->in_h, l->in_w);
  }
  l->src = b;
  net->layers[b].nuse++;
  return 0;
}

int gf__net_add_concat(gf__net *net, int src) {
  if (src < 0 || src >= net->n)
    return gf__fail(GF_EINVAL, "network %s: concat source %d is not an earlier layer (0..%d)", net->name, src, net->n - 1);
  if (net->layers[src].is_src)
    return gf__fail(GF_EINVAL, "network %s: layer %d already feeds a skip connection", net->name, src);
  PUSH_OR_FAIL(l, net, GF_LAYER_CONCAT);
  gf__layer *s = &net->layers[src];
  if (s->out_h != l->in_h || s->out_w != l->in_w) {
    net->n--;
    return gf__fail(GF_EINVAL, "network %s: concat of a %dx%d output (layer %d) with a %dx%d input", net->name, s->out_h,
                    s->out_w, src, l->in_h, l->in_w);
  }
  l->src = src;
  l->out_c = l->in_c + s->out_c;
  s->is_src = 1;
  s->nuse++;
  return 0;
}

int gf__net_spectral_last(gf__net *net) {
  gf__layer *l = net->n ? &net->layers[net->n - 1] : NULL;
  if (!l || (l->kind != GF_LAYER_LINEAR && l->kind != GF_LAYER_CONV && l->kind != GF_LAYER_PROJ) || net->finalized)
    return gf__fail(GF_EINVAL, "network %s: spectral normalisation applies to a Linear, Conv2d or projection layer",
                    net->name);
  l->sn = 1;
  return 0;
}

void gf__net_name_last(gf__net *net, const char *fmt, ...) {
  if (net->n == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(net->layers[net->n - 1].tname, sizeof net->layers[0].tname, fmt, ap);
  va_end(ap);
}

void gf__net_set_init(gf__net *net, int from, gf__init init, float a) {
  for (int i = from; i < net->n; i++) {
    net->layers[i].init = init;
    net->layers[i].init_a = a;
  }
}

int gf__net_plan(gf__net *net) {
  if (net->n == 0) return gf__fail(GF_EINVAL, "network %s has no layers", net->name);
  long off = 0, boff = 0;
  for (int i = 0; i < net->n; i++) {
    gf__layer *l = &net->layers[i];
    if (l->w_n) { l->w_off = off; off += l->w_n; }
    if (l->b_n) { l->b_off = off; off += l->b_n; }
    if (l->e_n) { l->e_off = off; off += l->e_n; }
    if (l->kind == GF_LAYER_BATCHNORM || l->kind == GF_LAYER_CBN) {
      l->rm_off = boff; boff += l->in_c;
      l->rv_off = boff; boff += l->in_c;
    }
    if (l->sn) {
      l->u_off = boff; boff += l->out_c;
      l->v_off = boff; boff += l->w_n / l->out_c;
      if (l->kind == GF_LAYER_PROJ) { /* the class embedding's u [K], v [F] */
        l->eu_off = boff; boff += l->nclass;
        l->ev_off = boff; boff += l->e_n / l->nclass;
      }
    }
  }
  net->nparam = off;
  net->nbuf = boff;
  /* An activation overwrites its input when no backward pass needs that input any more: the
     layers before it only need their own inputs, and relu / leaky relu (slope >= 0) / tanh /
     sigmoid backward from the output alone (x > 0 <=> y > 0). */
  /* A reshape is a new view of its input (no copy), except of the caller's input. Skip sources
     keep their output for their consumer: no in-place activation right after one. A residual
     begin is an identity whose output aliases its input (except as the first layer). */
  for (int i = 1; i < net->n; i++) {
    gf__layer *l = &net->layers[i];
    const gf__layer *p = &net->layers[i - 1];
    if (l->kind == GF_LAYER_RESHAPE || l->kind == GF_LAYER_RESBEGIN || l->kind == GF_LAYER_TAP) l->inplace = 1;
    else
      l->inplace = l->kind == GF_LAYER_ACT && p->kind != GF_LAYER_ACT && !p->is_src && p->kind != GF_LAYER_TAP &&
                   !(p->kind == GF_LAYER_RESHAPE && p->inplace) && !(l->act == GF_ACT_LEAKY_RELU && l->alpha < 0);
  }
  return 0;
}

int gf__net_finalize(gf__net *net) {
  GF_TRY(gf__net_plan(net));
  long off = net->nparam, boff = net->nbuf;
  const gf__ops *o = net->ops;
  net->arena = o->alloc(sizeof(float) * (size_t)(4 * off + 1));
  net->buffers = o->alloc(sizeof(float) * (size_t)(boff + 1));
  if (!net->arena || !net->buffers)
    return gf__fail(GF_ENOMEM, "network %s: cannot allocate %ld parameters", net->name, off);
  net->params = net->arena;
  net->grads = net->arena + off;
  net->opt_m = net->arena + 2 * off;
  net->opt_v = net->arena + 3 * off;
  long sn_need = 0;
  for (int i = 0; i < net->n; i++) {
    gf__layer *l = &net->layers[i];
    if (l->rv_off >= 0) o->fill(net->buffers + l->rv_off, 1.0f, (size_t)l->in_c);
    if (l->sn && (long)gf__sn_ws_floats(l) + 16 > sn_need) sn_need = (long)gf__sn_ws_floats(l) + 16;
  }
  if (sn_need && !(net->sn_ws = o->alloc(sizeof(float) * (size_t)sn_need)))
    return gf__fail(GF_ENOMEM, "network %s: cannot allocate the spectral-norm scratch", net->name);
  net->finalized = 1;
  return 0;
}

int gf__net_init_params(gf__net *net, gf__rng *rng, float bn_std) {
  const gf__ops *o = net->ops;
  float *host = malloc(sizeof(float) * (size_t)(net->nparam + 1));
  if (!host) return gf__fail(GF_ENOMEM, "network %s: out of memory for its initial weights", net->name);
  for (int i = 0; i < net->n; i++) {
    gf__layer *l = &net->layers[i];
    if (l->kind == GF_LAYER_BATCHNORM) {
      if (!l->affine) continue;
      if (bn_std > 0) gf__rng_normal(rng, host + l->w_off, l->w_n, 1.0f, bn_std);
      else for (long k = 0; k < l->w_n; k++) host[l->w_off + k] = 1.0f;
      memset(host + l->b_off, 0, sizeof(float) * (size_t)l->b_n);
      continue;
    }
    if (l->kind == GF_LAYER_CBN) { /* per-class gamma as BatchNorm's weight, beta 0 */
      if (bn_std > 0) gf__rng_normal(rng, host + l->w_off, l->w_n, 1.0f, bn_std);
      else for (long k = 0; k < l->w_n; k++) host[l->w_off + k] = 1.0f;
      memset(host + l->b_off, 0, sizeof(float) * (size_t)l->b_n);
      continue;
    }
    if (l->kind == GF_LAYER_INSTNORM) {
      if (!l->affine) continue;
      for (long k = 0; k < l->w_n; k++) host[l->w_off + k] = 1.0f;
      memset(host + l->b_off, 0, sizeof(float) * (size_t)l->b_n);
      continue;
    }
    if (!l->w_n) continue;
    long fan_in = gf__layer_in_size(l), fan_out = l->out_c;
    if (l->kind == GF_LAYER_CONV || l->kind == GF_LAYER_CONVT) {
      /* PyTorch: fan_in = weight.size(1) * kh * kw, fan_out = weight.size(0) * kh * kw */
      long kk = (long)l->geom.kh * l->geom.kw;
      fan_in = (l->kind == GF_LAYER_CONV ? l->in_c / l->groups : l->out_c) * kk;
      fan_out = (l->kind == GF_LAYER_CONV ? l->out_c : l->in_c) * kk;
    }
    float *w = host + l->w_off, *b = l->b_n ? host + l->b_off : NULL;
    float bound;
    switch (l->init) {
    case GF_INIT_TORCH:
      bound = 1.0f / sqrtf((float)fan_in);
      gf__rng_uniform(rng, w, l->w_n, -bound, bound);
      if (b) gf__rng_uniform(rng, b, l->b_n, -bound, bound);
      b = NULL;
      break;
    case GF_INIT_NORMAL: gf__rng_normal(rng, w, l->w_n, 0.0f, l->init_a); break;
    case GF_INIT_UNIFORM: gf__rng_uniform(rng, w, l->w_n, -l->init_a, l->init_a); break;
    case GF_INIT_XAVIER:
      bound = l->init_a * sqrtf(6.0f / (float)(fan_in + fan_out));
      gf__rng_uniform(rng, w, l->w_n, -bound, bound);
      break;
    case GF_INIT_KAIMING: gf__rng_normal(rng, w, l->w_n, 0.0f, l->init_a * sqrtf(2.0f / (float)fan_in)); break;
    }
    if (b) memset(b, 0, sizeof(float) * (size_t)l->b_n);
    if (l->e_n) { /* PROJ: the class embedding is drawn like the linear weight ([K, F] rows of F) */
      float *e = host + l->e_off;
      switch (l->init) {
      case GF_INIT_TORCH: gf__rng_uniform(rng, e, l->e_n, -1.0f / sqrtf((float)fan_in), 1.0f / sqrtf((float)fan_in)); break;
      case GF_INIT_NORMAL: gf__rng_normal(rng, e, l->e_n, 0.0f, l->init_a); break;
      case GF_INIT_UNIFORM: gf__rng_uniform(rng, e, l->e_n, -l->init_a, l->init_a); break;
      case GF_INIT_XAVIER:
        bound = l->init_a * sqrtf(6.0f / (float)(fan_in + fan_out));
        gf__rng_uniform(rng, e, l->e_n, -bound, bound);
        break;
      case GF_INIT_KAIMING: gf__rng_normal(rng, e, l->e_n, 0.0f, l->init_a * sqrtf(2.0f / (float)fan_in)); break;
      }
    }
  }
  o->to_device(net->params, host, sizeof(float) * (size_t)net->nparam);
  free(host);
  /* SN: u and v start as normalised N(0, 1) draws (after every weight, so nets without SN draw
     exactly what they did before) */
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    if (!l->sn) continue;
    for (int mat = 0; mat < (l->kind == GF_LAYER_PROJ ? 2 : 1); mat++) { /* a projection's embedding second */
      long nu = mat ? l->nclass : l->out_c, nv = mat ? l->e_n / l->nclass : l->w_n / l->out_c;
      float *uv = malloc(sizeof(float) * (size_t)(nu + nv));
      if (!uv) return gf__fail(GF_ENOMEM, "network %s: out of memory for its spectral-norm vectors", net->name);
      gf__rng_normal(rng, uv, nu, 0.0f, 1.0f);
      gf__rng_normal(rng, uv + nu, nv, 0.0f, 1.0f);
      for (int part = 0; part < 2; part++) {
        float *p = part ? uv + nu : uv;
        long m = part ? nv : nu;
        double sq = 0;
        for (long k = 0; k < m; k++) sq += (double)p[k] * p[k];
        double nrm = sqrt(sq) > 1e-12 ? sqrt(sq) : 1e-12;
        for (long k = 0; k < m; k++) p[k] = (float)(p[k] / nrm);
      }
      o->to_device(net->buffers + (mat ? l->eu_off : l->u_off), uv, sizeof(float) * (size_t)nu);
      o->to_device(net->buffers + (mat ? l->ev_off : l->v_off), uv + nu, sizeof(float) * (size_t)nv);
      free(uv);
    }
  }
  return 0;
}

void gf__net_free(gf__net *net) {
  if (net->arena) net->ops->free(net->arena);
  if (net->buffers) net->ops->free(net->buffers);
  if (net->ws) net->ops->free(net->ws);
  if (net->sn_ws) net->ops->free(net->sn_ws);
  net->arena = net->buffers = net->ws = net->sn_ws = NULL;
  net->ws_floats = 0;
  net->finalized = 0;
}

void gf__net_zero_grad(gf__net *net) { net->ops->fill(net->grads, 0.0f, (size_t)net->nparam); }

static long aux_size(const gf__layer *l, int B) {
  switch (l->kind) {
  case GF_LAYER_BATCHNORM: return 4L * l->in_c; /* mean, rstd, and the backward's sums with ctx->reduce */
  case GF_LAYER_MAXOUT: return (long)B * gf__layer_out_size(l);
  case GF_LAYER_DROPOUT: return (long)B * gf__layer_out_size(l);
  case GF_LAYER_INSTNORM: return 6L * B * l->in_c; /* mean, rstd, gamma/beta per sample, their grads */
  case GF_LAYER_ONEHOT: case GF_LAYER_CBN: case GF_LAYER_PROJ: return (long)gf__cond_layer_aux(l, B);
  default: return 0;
  }
}

#define ROUND16(x) (((size_t)(x) + 15) / 16 * 16)

size_t gf__ctx_plan(const gf__net *net, int max_batch, size_t *ws_floats) {
  /* outputs (in-place activations share their input's), the output gradient, two gradient
     buffers used in turn by the inner layers, aux slices, skip-gradient buffers; slices rounded
     to 16 floats to stay 64-byte aligned */
  size_t total = 0, grad = 0, ws = 0;
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    size_t sz = ROUND16((size_t)max_batch * gf__layer_out_size(l));
    if (!l->inplace) total += sz;
    if (i == net->n - 1) total += sz; /* the output gradient keeps its own buffer */
    else if (sz > grad) grad = sz;
    total += ROUND16(aux_size(l, max_batch));
    if (l->is_src) total += sz;
    if (l->sn) total += gf__sn_ctx_floats(l);
    if (l->kind == GF_LAYER_CONV || l->kind == GF_LAYER_CONVT) {
      size_t need = gf__conv_ws_floats(l, max_batch < l->chunk ? max_batch : l->chunk);
      if (need > ws) ws = need;
    }
  }
  if (ws_floats) *ws_floats = ws;
  return total + 2 * grad;
}

int gf__ctx_create(gf__ctx *ctx, gf__net *net, int max_batch) {
  memset(ctx, 0, sizeof *ctx);
  if (max_batch <= 0) return gf__fail(GF_EINVAL, "batch size %d must be positive", max_batch);
  size_t ws = 0, total = gf__ctx_plan(net, max_batch, &ws), grad = 0;
  for (int i = 0; i + 1 < net->n; i++) { /* the inner layers' gradient buffers: the largest output */
    size_t sz = ROUND16((size_t)max_batch * gf__layer_out_size(&net->layers[i]));
    if (sz > grad) grad = sz;
  }
  if (ws > net->ws_floats) {
    if (net->ws) net->ops->free(net->ws);
    net->ws = net->ops->alloc(sizeof(float) * (ws + 16));
    net->ws_floats = net->ws ? ws : 0;
    if (!net->ws) return gf__fail(GF_ENOMEM, "network %s: cannot allocate %zu convolution work-space floats", net->name, ws);
  }
  ctx->mem = net->ops->alloc(sizeof(float) * (total + 16));
  if (!ctx->mem) return gf__fail(GF_ENOMEM, "network %s: cannot allocate %zu activation floats", net->name, total);
  ctx->mem_floats = total;
  ctx->ops = net->ops;
  float *p = ctx->mem;
  float *pp[2];
  pp[0] = p; p += grad;
  pp[1] = p; p += grad;
  for (int i = 0; i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    size_t sz = ROUND16((size_t)max_batch * gf__layer_out_size(l));
    if (l->kind == GF_LAYER_TAP) ctx->out[i] = ctx->out[l->src];
    else if (l->inplace) ctx->out[i] = ctx->out[i - 1];
    else { ctx->out[i] = p; p += sz; }
    if (i == net->n - 1) { ctx->dout[i] = p; p += sz; }
    else ctx->dout[i] = pp[i & 1];
    size_t az = ROUND16(aux_size(l, max_batch));
    ctx->aux[i] = az ? p : NULL;
    p += az;
    if (l->is_src) { ctx->sgrad[i] = p; p += sz; }
    if (l->sn) { ctx->wsn[i] = p; p += gf__sn_ctx_floats(l); }
  }
  ctx->max_batch = max_batch;
  return 0;
}

void gf__ctx_destroy(gf__ctx *ctx) {
  if (ctx->mem && ctx->ops) ctx->ops->free(ctx->mem);
  memset(ctx, 0, sizeof *ctx);
}

void gf__linear_forward(const gf__ops *o, float *out, const float *inp, const float *w, const float *b,
                        int B, int IC, int OC) {
  /* out [B, OC] = inp [B, IC] . w^T [IC, OC] (+ b [OC]) */
  o->gemm(0, 1, B, OC, IC, 1.0f, inp, IC, w, IC, 0.0f, out, OC);
  if (b) o->bias_fwd(out, b, B, OC, 1);
}

void gf__linear_backward(const gf__ops *o, float *dinp, float *dw, float *db, const float *dout,
                         const float *inp, const float *w, int B, int IC, int OC, int dw_set, int dinp_set) {
  /* dw [OC, IC] += dout^T [OC, B] . inp [B, IC] */
  if (dw) o->gemm(1, 0, OC, IC, B, 1.0f, dout, OC, inp, IC, dw_set ? 0.0f : 1.0f, dw, IC);
  if (db) o->bias_bwd(db, dout, B, OC, 1);
  /* dinp [B, IC] += dout [B, OC] . w [OC, IC] */
  if (dinp) o->gemm(0, 0, B, IC, OC, 1.0f, dout, OC, w, IC, dinp_set ? 0.0f : 1.0f, dinp, IC);
}

const float *gf__net_forward(gf__net *net, gf__ctx *ctx, const float *in, int B, int train, gf__rng *drop) {
  const gf__ops *o = net->ops;
  ctx->input = in;
  ctx->batch = B;
  ctx->train = train;
  const float *x = in;
  for (int i = 0; i < net->n; i++) {
    gf__layer *l = &net->layers[i];
    float *y = ctx->out[i];
    long in_sz = gf__layer_in_size(l), out_sz = gf__layer_out_size(l);
    gf__prof_begin(net);
    size_t n = (size_t)B * out_sz;
    switch (l->kind) {
    case GF_LAYER_LINEAR:
      gf__linear_forward(o, y, x, l->sn ? gf__sn_weight(net, ctx, i, train && !ctx->sn_fixed) : net->params + l->w_off,
                         l->b_n ? net->params + l->b_off : NULL, B, (int)in_sz, l->out_c);
      break;
    case GF_LAYER_ACT: o->act_fwd(l->act, y, x, n, l->alpha); break; /* y may alias x */
    case GF_LAYER_MAXOUT: o->maxout_fwd(y, ctx->aux[i], x, B, l->out_c, l->pieces); break;
    case GF_LAYER_DROPOUT:
      if (train && l->alpha > 0 && drop) {
        o->dropout_fwd(y, ctx->aux[i], x, n, l->alpha, gf__rng_key(drop), drop->stream, drop->counter);
        drop->counter += (n + 3) / 4;
      } else {
        o->copy(y, x, n);
        o->fill(ctx->aux[i], 1.0f, n);
      }
      break;
    case GF_LAYER_BATCHNORM: {
      int S = l->in_h * l->in_w;
      const float *g = l->affine ? net->params + l->w_off : NULL;
      const float *bb = l->affine ? net->params + l->b_off : NULL;
      if (train && ctx->reduce) {
        /* statistics of the global batch: sums reduced across the ranks, two passes (mean, then
           squared deviations) as norm_fwd_train computes them */
        int C = l->in_c;
        float *mean = ctx->aux[i], *rstd = mean + C;
        o->norm_sums(mean, x, NULL, B, C, S);
        int ranks = ctx->reduce(ctx->reduce_user, mean, (size_t)C);
        double count = (double)B * S * (ranks > 1 ? ranks : 1);
        o->scale(mean, (float)(1.0 / count), (size_t)C);
        o->norm_sums(rstd, x, mean, B, C, S);
        ctx->reduce(ctx->reduce_user, rstd, (size_t)C);
        o->norm_fwd_sync(y, mean, rstd, x, g, bb, net->buffers + l->rm_off, net->buffers + l->rv_off, B, C, S, count,
                         l->eps, l->momentum);
      } else if (train)
        o->norm_fwd_train(y, ctx->aux[i], ctx->aux[i] + l->in_c, x, g, bb, net->buffers + l->rm_off,
                          net->buffers + l->rv_off, B, l->in_c, S, l->eps, l->momentum);
      else
        o->norm_fwd_eval(y, x, g, bb, net->buffers + l->rm_off, net->buffers + l->rv_off, B, l->in_c, S, l->eps);
      break;
    }
    case GF_LAYER_CONV:
      gf__conv2d_forward(o, y, x, l->sn ? gf__sn_weight(net, ctx, i, train && !ctx->sn_fixed) : net->params + l->w_off,
                         l->b_n ? net->params + l->b_off : NULL, net->ws, B, l);
      break;
    case GF_LAYER_CONVT:
      gf__convt2d_forward(o, y, x, net->params + l->w_off, l->b_n ? net->params + l->b_off : NULL, net->ws, B, l);
      break;
    case GF_LAYER_INSTNORM: {
      /* InstanceNorm = BatchNorm over (1, B*C, S); the per-channel affine becomes a per-(n, c)
         one by repeating gamma/beta for every sample (aux: mean, rstd, gamma, beta, dgamma, dbeta) */
      int C = l->in_c, BC = B * C, S = l->in_h * l->in_w;
      float *a = ctx->aux[i];
      float *ge = NULL, *be = NULL;
      if (l->affine) {
        ge = a + 2L * BC;
        be = a + 3L * BC;
        for (int n = 0; n < B; n++) {
          o->copy(ge + (size_t)n * C, net->params + l->w_off, (size_t)C);
          o->copy(be + (size_t)n * C, net->params + l->b_off, (size_t)C);
        }
      }
      o->norm_fwd_train(y, a, a + BC, x, ge, be, NULL, NULL, 1, BC, S, l->eps, 0.0f);
      break;
    }
    case GF_LAYER_REFLPAD:
      o->reflect_pad_fwd(y, x, B * l->in_c, l->in_h, l->in_w, l->pad[0], l->pad[1], l->pad[2], l->pad[3]);
      break;
    case GF_LAYER_RESHAPE: if (y != x) o->copy(y, x, n); break; /* a view unless it is the first layer */
    case GF_LAYER_RESBEGIN: if (y != x) o->copy(y, x, n); break;
    case GF_LAYER_RESEND:
    case GF_LAYER_ADD:
      o->copy(y, x, n);
      o->axpy(y, 1.0f, ctx->out[l->src], n);
      break;
    case GF_LAYER_TAP: break; /* out[i] is out[src] */
    case GF_LAYER_CONCAT: {
      size_t ns = (size_t)gf__layer_out_size(&net->layers[l->src]), nx = (size_t)in_sz;
      for (int b = 0; b < B; b++) {
        o->copy(y + (size_t)b * out_sz, ctx->out[l->src] + (size_t)b * ns, ns);
        o->copy(y + (size_t)b * out_sz + ns, x + (size_t)b * nx, nx);
      }
      break;
    }
    case GF_LAYER_ONEHOT: case GF_LAYER_CBN: case GF_LAYER_PROJ:
      gf__cond_layer_forward(net, i, ctx, y, x, ctx->aux[i], B, train);
      break;
    }
    gf__prof_end(net, i, GF_PROF_FWD, B);
    x = y;
  }
  return x;
}

float *gf__ctx_dout(const gf__net *net, gf__ctx *ctx) { return ctx->dout[net->n - 1]; }

void gf__ctx_zero_dout(const gf__net *net, gf__ctx *ctx) {
  net->ops->fill(ctx->dout[net->n - 1], 0.0f, (size_t)ctx->batch * gf__net_out_size(net));
}

void gf__net_backward(gf__net *net, gf__ctx *ctx, float *din, int param_grads) {
  const gf__ops *o = net->ops;
  int B = ctx->batch;
  int overwrite = param_grads == GF_GRAD_OVERWRITE;
  if (overwrite) /* linear weights are overwritten by their GEMM; every other slice starts at 0 */
    for (int i = 0; i < net->n; i++) {
      gf__layer *l = &net->layers[i];
      if (l->w_n && (l->kind != GF_LAYER_LINEAR || l->sn)) o->fill(net->grads + l->w_off, 0.0f, (size_t)l->w_n);
      if (l->b_n) o->fill(net->grads + l->b_off, 0.0f, (size_t)l->b_n);
      if (l->e_n) o->fill(net->grads + l->e_off, 0.0f, (size_t)l->e_n);
    }
  for (int i = 0; i < net->n; i++) /* sources read several times: their consumers accumulate */
    if (net->layers[i].nuse > 1) o->fill(ctx->sgrad[i], 0.0f, (size_t)B * gf__layer_out_size(&net->layers[i]));
  for (int i = net->n - 1; i >= 0; i--) {
    gf__layer *l = &net->layers[i];
    const float *x = i ? ctx->out[i - 1] : ctx->input;
    const float *y = ctx->out[i], *dy = ctx->dout[i];
    float *dx = i ? ctx->dout[i - 1] : din;
    long in_sz = gf__layer_in_size(l);
    size_t nin = (size_t)B * in_sz, nout = (size_t)B * gf__layer_out_size(l);
    /* Skip layers with no parameters once nothing below needs a gradient. */
    if (!dx && !(param_grads && l->w_n)) continue;
    gf__prof_begin(net);
    if (l->is_src) o->axpy(ctx->dout[i], 1.0f, ctx->sgrad[i], nout); /* from the skip's consumer */
    if (ctx->ginj[i]) o->axpy(ctx->dout[i], 1.0f, ctx->ginj[i], nout); /* a loss on this output */
    float *sg = l->src >= 0 ? ctx->sgrad[l->src] : NULL;
    const int acc = l->src >= 0 && net->layers[l->src].nuse > 1;
    /* an intermediate gradient buffer has this layer as its only writer: a linear layer
       overwrites it with its GEMM, the others accumulate into zeros */
    if (dx && i && l->kind != GF_LAYER_LINEAR) o->fill(dx, 0.0f, nin);
    /* SN: the normalised weight's gradient goes to the scratch, then back through the normalisation */
    float *dw = param_grads && l->w_n ? (l->sn ? net->sn_ws : net->grads + l->w_off) : NULL;
    const float *w = l->w_n ? gf__layer_weight(net, ctx, i) : NULL;
    if (dw && l->sn && l->kind != GF_LAYER_LINEAR) o->fill(dw, 0.0f, (size_t)l->w_n);
    switch (l->kind) {
    case GF_LAYER_LINEAR:
      gf__linear_backward(o, dx, dw, (param_grads && l->b_n) ? net->grads + l->b_off : NULL, dy, x, w, B, (int)in_sz,
                          l->out_c, overwrite || l->sn, i > 0);
      break;
    case GF_LAYER_ACT: if (dx) o->act_bwd(l->act, dx, x, y, dy, nout, l->alpha); break;
    case GF_LAYER_MAXOUT: if (dx) o->maxout_bwd(dx, dy, ctx->aux[i], B, l->out_c, l->pieces); break;
    case GF_LAYER_DROPOUT: if (dx) o->mul_bwd(dx, dy, ctx->aux[i], nout); break;
    case GF_LAYER_BATCHNORM: {
      int S = l->in_h * l->in_w;
      const float *g = l->affine ? net->params + l->w_off : NULL;
      float *dg = (param_grads && l->affine) ? net->grads + l->w_off : NULL;
      float *db = (param_grads && l->affine) ? net->grads + l->b_off : NULL;
      if (ctx->train && ctx->reduce) {
        /* this rank's dgamma / dbeta; dx with the sums of the global batch */
        int C = l->in_c;
        float *mean = ctx->aux[i], *rstd = mean + C, *sums = mean + 2L * C;
        o->norm_bwd_sums(sums, dy, x, mean, rstd, B, C, S);
        if (dg) o->axpy(dg, 1.0f, sums + C, (size_t)C);
        if (db) o->axpy(db, 1.0f, sums, (size_t)C);
        if (dx) {
          int ranks = ctx->reduce(ctx->reduce_user, sums, 2 * (size_t)C);
          o->norm_bwd_sync(dx, dy, x, mean, rstd, g, sums, (double)B * S * (ranks > 1 ? ranks : 1), B, C, S);
        }
      } else if (ctx->train) {
        /* dx may be NULL when only parameter gradients are wanted */
        o->norm_bwd(dx, dg, db, dy, x, ctx->aux[i], ctx->aux[i] + l->in_c, g, B, l->in_c, S);
      }
      break;
    }
    case GF_LAYER_CONV:
      gf__conv2d_backward(o, dx, dw, (param_grads && l->b_n) ? net->grads + l->b_off : NULL, dy, x, w, net->ws, B, l);
      break;
    case GF_LAYER_CONVT:
      gf__convt2d_backward(o, dx, param_grads ? net->grads + l->w_off : NULL,
                           (param_grads && l->b_n) ? net->grads + l->b_off : NULL, dy, x, net->params + l->w_off,
                           net->ws, B, l);
      break;
    case GF_LAYER_INSTNORM: {
      int C = l->in_c, BC = B * C, S = l->in_h * l->in_w;
      float *a = ctx->aux[i];
      int pg = param_grads && l->affine;
      float *dge = pg ? a + 4L * BC : NULL, *dbe = pg ? a + 5L * BC : NULL;
      if (pg) o->fill(dge, 0.0f, 2 * (size_t)BC); /* dgamma and dbeta slices are adjacent */
      o->norm_bwd(dx, dge, dbe, dy, x, a, a + BC, l->affine ? a + 2L * BC : NULL, 1, BC, S);
      if (pg) {
        o->bias_bwd(net->grads + l->w_off, dge, B, C, 1);
        o->bias_bwd(net->grads + l->b_off, dbe, B, C, 1);
      }
      break;
    }
    case GF_LAYER_REFLPAD:
      if (dx) o->reflect_pad_bwd(dx, dy, B * l->in_c, l->in_h, l->in_w, l->pad[0], l->pad[1], l->pad[2], l->pad[3]);
      break;
    case GF_LAYER_RESHAPE: if (dx) o->axpy(dx, 1.0f, dy, nout); break;
    case GF_LAYER_RESBEGIN: if (dx) o->axpy(dx, 1.0f, dy, nout); break;
    case GF_LAYER_RESEND:
    case GF_LAYER_ADD:
      if (acc) o->axpy(sg, 1.0f, dy, nout);
      else o->copy(sg, dy, nout);
      if (dx) o->axpy(dx, 1.0f, dy, nout);
      break;
    case GF_LAYER_TAP: /* the gradient goes to the source; the previous layer gets none from here */
      if (acc) o->axpy(sg, 1.0f, dy, nout);
      else o->copy(sg, dy, nout);
      break;
    case GF_LAYER_CONCAT: {
      size_t ns = (size_t)gf__layer_out_size(&net->layers[l->src]), nx = (size_t)in_sz, no = ns + nx;
      for (int b = 0; b < B; b++) {
        if (acc) o->axpy(sg + (size_t)b * ns, 1.0f, dy + (size_t)b * no, ns);
        else o->copy(sg + (size_t)b * ns, dy + (size_t)b * no, ns);
        if (dx) o->axpy(dx + (size_t)b * nx, 1.0f, dy + (size_t)b * no + ns, nx);
      }
      break;
    }
    case GF_LAYER_ONEHOT: case GF_LAYER_CBN: case GF_LAYER_PROJ:
      gf__cond_layer_backward(net, i, ctx, dx, dy, x, ctx->aux[i], B, param_grads);
      break;
    }
    if (dw && l->sn && l->kind != GF_LAYER_PROJ) gf__sn_backward(net, ctx, i, dw, net->grads + l->w_off); /* PROJ: its own */
    gf__prof_end(net, i, GF_PROF_BWD, B);
  }
}

int gf__net_tensors(const gf__net *net, gf__tensor_ref *out, int cap) {
  int k = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < net->n; i++) {
      const gf__layer *l = &net->layers[i];
      struct item { const char *suffix; long off, n; int what; } items[4];
      int m = 0;
      if (pass == 0) {
        if (l->w_n) items[m++] = (struct item){l->sn ? "weight_orig" : "weight", l->w_off, l->w_n, 0};
        if (l->b_n) items[m++] = (struct item){"bias", l->b_off, l->b_n, 0};
        if (l->e_n) items[m++] = (struct item){l->sn ? "embed.weight_orig" : "embed.weight", l->e_off, l->e_n, 0};
      } else if (l->rm_off >= 0) {
        items[m++] = (struct item){"running_mean", l->rm_off, l->in_c, 1};
        items[m++] = (struct item){"running_var", l->rv_off, l->in_c, 1};
      } else if (l->sn) { /* torch.nn.utils.spectral_norm's buffers */
        items[m++] = (struct item){"weight_u", l->u_off, l->out_c, 1};
        items[m++] = (struct item){"weight_v", l->v_off, l->w_n / l->out_c, 1};
        if (l->eu_off >= 0) { /* spectral_norm on the projection's nn.Embedding (dim 0) */
          items[m++] = (struct item){"embed.weight_u", l->eu_off, l->nclass, 1};
          items[m++] = (struct item){"embed.weight_v", l->ev_off, l->e_n / l->nclass, 1};
        }
      }
      for (int j = 0; j < m; j++) {
        if (k < cap) {
          gf__tensor_ref *t = &out[k];
          snprintf(t->name, sizeof t->name, "%s.%s.%s", net->name, l->tname, items[j].suffix);
          t->data = (items[j].what ? net->buffers : net->params) + items[j].off;
          t->n = items[j].n;
          t->what = items[j].what;
          int is_w = !strcmp(items[j].suffix, "weight") || !strcmp(items[j].suffix, "weight_orig");
          if (l->kind == GF_LAYER_CBN && !items[j].what) { /* per-class gamma / beta [K, C] */
            t->ndim = 2;
            t->shape[0] = l->nclass;
            t->shape[1] = l->in_c;
          } else if (l->kind == GF_LAYER_PROJ && !items[j].what && (is_w || items[j].off == l->e_off)) { /* [1, F], [K, F] */
            t->ndim = 2;
            t->shape[0] = is_w ? 1 : l->nclass;
            t->shape[1] = gf__layer_in_size(l);
          } else if (l->kind == GF_LAYER_LINEAR && is_w) {
            t->ndim = 2;
            t->shape[0] = l->out_c;
            t->shape[1] = gf__layer_in_size(l);
          } else if ((l->kind == GF_LAYER_CONV || l->kind == GF_LAYER_CONVT) && is_w) {
            t->ndim = 4;
            t->shape[0] = l->kind == GF_LAYER_CONV ? l->out_c : l->in_c;
            t->shape[1] = l->kind == GF_LAYER_CONV ? l->in_c / l->groups : l->out_c;
            t->shape[2] = l->geom.kh;
            t->shape[3] = l->geom.kw;
          } else {
            t->ndim = 1;
            t->shape[0] = items[j].n;
          }
        }
        k++;
      }
    }
  return k;
}

long long gf__layer_macs(const gf__layer *l) {
  switch (l->kind) {
  case GF_LAYER_CONV:
    return (long long)l->out_c * (l->in_c / l->groups) * l->geom.kh * l->geom.kw * l->out_h * l->out_w;
  case GF_LAYER_CONVT: return (long long)l->in_c * l->out_c * l->geom.kh * l->geom.kw * l->out_h * l->out_w;
  case GF_LAYER_LINEAR: return (long long)gf__layer_in_size(l) * l->out_c;
  case GF_LAYER_BATCHNORM:
  case GF_LAYER_INSTNORM: return (long long)l->out_c * l->out_h * l->out_w;
  default: return 0;
  }
}

long long gf__net_macs(const gf__net *net) {
  long long m = 0;
  for (int i = 0; i < net->n; i++) m += gf__layer_macs(&net->layers[i]);
  return m;
}

const char *gf__layer_desc(const gf__layer *l, char *buf, size_t cap) {
  static const char *acts[] = {"ReLU", "LeakyReLU", "Tanh", "Sigmoid"};
  switch (l->kind) {
  case GF_LAYER_LINEAR: snprintf(buf, cap, "Linear(%ld -> %d%s)", gf__layer_in_size(l), l->out_c, l->has_bias ? "" : ", no bias"); break;
  case GF_LAYER_ACT: snprintf(buf, cap, "%s", acts[l->act]); break;
  case GF_LAYER_MAXOUT: snprintf(buf, cap, "Maxout(%d pieces -> %d)", l->pieces, l->out_c); break;
  case GF_LAYER_DROPOUT: snprintf(buf, cap, "Dropout(p=%g)", l->alpha); break;
  case GF_LAYER_BATCHNORM: snprintf(buf, cap, "BatchNorm(%d)", l->in_c); break;
  case GF_LAYER_CONV:
    if (l->groups > 1)
      snprintf(buf, cap, "Conv2d(%d -> %d, %dx%d, stride %d, %d groups%s)  %dx%d -> %dx%d", l->in_c, l->out_c, l->geom.kh,
               l->geom.kw, l->geom.sh, l->groups, l->groups == l->in_c ? ": depth-wise" : "", l->in_h, l->in_w, l->out_h, l->out_w);
    else
      snprintf(buf, cap, "Conv2d(%d -> %d, %dx%d, stride %d)  %dx%d -> %dx%d", l->in_c, l->out_c, l->geom.kh, l->geom.kw,
               l->geom.sh, l->in_h, l->in_w, l->out_h, l->out_w);
    break;
  case GF_LAYER_CONVT: snprintf(buf, cap, "ConvTranspose2d(%d -> %d, %dx%d, stride %d)  %dx%d -> %dx%d", l->in_c, l->out_c, l->geom.kh, l->geom.kw, l->geom.sh, l->in_h, l->in_w, l->out_h, l->out_w); break;
  case GF_LAYER_INSTNORM: snprintf(buf, cap, "InstanceNorm2d(%d)", l->in_c); break;
  case GF_LAYER_REFLPAD: snprintf(buf, cap, "ReflectionPad2d  %dx%d -> %dx%d", l->in_h, l->in_w, l->out_h, l->out_w); break;
  case GF_LAYER_RESHAPE: snprintf(buf, cap, "Reshape(%d, %d, %d)", l->out_c, l->out_h, l->out_w); break;
  case GF_LAYER_RESBEGIN: snprintf(buf, cap, "residual block {"); break;
  case GF_LAYER_RESEND: snprintf(buf, cap, "} + block input"); break;
  case GF_LAYER_CONCAT: snprintf(buf, cap, "concat with layer %d -> %d channels", l->src, l->out_c); break;
  case GF_LAYER_TAP: snprintf(buf, cap, "branch from layer %d", l->src); break;
  case GF_LAYER_ADD: snprintf(buf, cap, "+ branch ending at layer %d", l->src); break;
  case GF_LAYER_ONEHOT: snprintf(buf, cap, "OneHotConcat(%d classes: %d -> %d channels)", l->nclass, l->in_c, l->out_c); break;
  case GF_LAYER_CBN: snprintf(buf, cap, "ConditionalBatchNorm(%d, %d classes)", l->in_c, l->nclass); break;
  case GF_LAYER_PROJ: snprintf(buf, cap, "Projection(%ld -> 1, %d classes)", gf__layer_in_size(l), l->nclass); break;
  default: snprintf(buf, cap, "layer kind %d", (int)l->kind); break;
  }
  return buf;
}

double gf__layer_flops(const gf__layer *l) {
  if (l->kind == GF_LAYER_LINEAR) return 2.0 * (double)l->w_n;
  if (l->kind == GF_LAYER_CONV) return 2.0 * (double)l->w_n * l->out_h * l->out_w;
  if (l->kind == GF_LAYER_CONVT) return 2.0 * (double)l->w_n * l->in_h * l->in_w;
  return 0.0;
}
