/* conv.c: Conv2d and ConvTranspose2d as explicit forward/backward kernels on the ops table.
   A convolution is lowered to one sgemm per chunk of samples: im2col gathers the receptive
   fields of `chunk` images into col [IC*kh*kw, chunk*OH*OW], so the weight multiplies all of
   them at once (a few large GEMMs instead of many thin ones). ConvTranspose2d is the adjoint:
   sgemm into col, then col2im scatters into the output. A layer marked `lib` hands each pass
   whole to the backend's vendor library first (CPU: oneDNN) and lowers it only if that declines;
   a layer with `pwino` runs the passes in its mask as polyphase Winograd (4x4 stride 2 padding 1). */
#include "nn/nn.h"

/* Work space of the im2col lowering (or of Winograd F(4x4,3x3)). */
static size_t lowered_need(const gf__layer *l, int chunk) {
  const gf__conv_geom *g = &l->geom;
  size_t K = (size_t)g->C * g->kh * g->kw, P = (size_t)g->OH * g->OW;
  if (l->kind == GF_LAYER_CONV && l->direct) return 0;
  if (l->kind == GF_LAYER_CONV && l->wino > 0) return GF_WINO_WS_FLOATS(g->C, l->out_c, l->wino);
  if (l->rows > 0 && l->rows < g->OH) return K * (size_t)l->rows * g->OW; /* one band of col */
  if (l->kind == GF_LAYER_CONV) return (K + (size_t)l->out_c) * chunk * P; /* col + [OC, chunk*P] */
  return (K + (size_t)l->in_c) * chunk * P;                                /* col + [IC, chunk*Pin] */
}

/* Whether pass (GF_CONV_*, of the conv or the transpose's adjoint) of a batch of B runs as
   polyphase Winograd: where a library shares the layer, not below GF_PWINO_MIN_TILES 4x4 output
   tiles of the (adjoint) convolution in the batch: with few tiles its transforms cost more than
   they save (pix2pix at batch 1: a ConvTranspose2d 1024 -> 512 over a 4x4 grid took 72 ms for its
   weight gradient, 12 ms through the library; docs/BENCHMARKS.md). */
#define GF_PWINO_MIN_TILES 64
static int pw(const gf__layer *l, int pass, int B) {
  if (l->pwino <= 0 || !(l->pwino_passes >> pass & 1)) return 0;
  if (!l->lib) return 1; /* nothing to defer to: every planned pass, however few tiles */
  return (long)B * ((l->geom.OH + 3) / 4) * ((l->geom.OW + 3) / 4) >= GF_PWINO_MIN_TILES;
}

/* A convolution whose kernel covers its whole unpadded input (one output position: DCGAN's last D
   layer, 128 x 7 x 7 -> 1) is one matrix product of the flattened input with its weight
   [OC, C*kh*kw], and so is a transposed convolution of a 1x1 input whose output is exactly one
   kernel footprint (DCGAN's first G layer: z [B, IC] -> [B, OC, kh, kw], weight [IC, OC*kh*kw]):
   no column buffer, no scatter. oneDNN took 6x the GEMM's time on the latter and ran the former
   at 1-2 GFLOP/s (docs/BENCHMARKS.md). g: the convolution (of a transpose, the adjoint). */
static int projection(const gf__conv_geom *g) {
  return g->OH == 1 && g->OW == 1 && g->H == g->kh && g->W == g->kw && g->ph == 0 && g->pw == 0;
}

/* The backward passes polyphase Winograd takes, of the conv (x = its input, dy = its output
   gradient) or of a transpose's adjoint (x = the layer's output gradient, dy = its input; the
   layer's input gradient is then the adjoint's forward); OC: the (adjoint) conv's outputs.
   Clears *dinp / *dw for the passes done. */
static void pw_backward(const gf__ops *o, const gf__layer *l, float **dinp, float **dw, const float *x,
                        const float *dy, const float *w, float *ws, int B, int OC) {
  const gf__conv_geom *g = &l->geom;
  const int tr = l->kind == GF_LAYER_CONVT;
  if (*dinp && pw(l, tr ? GF_CONV_FWD : GF_CONV_BWD_DATA, B)) {
    if (tr) o->pwino_fwd(*dinp, x, w, B, g->C, g->H, g->W, OC, 1.0f, ws, l->pwino);
    else o->pwino_bwd_data(*dinp, dy, w, B, g->C, g->H, g->W, OC, 1.0f, ws, l->pwino);
    *dinp = NULL;
  }
  if (*dw && pw(l, GF_CONV_BWD_W, B)) {
    o->pwino_dw(*dw, x, dy, B, g->C, g->H, g->W, OC, ws, l->pwino);
    *dw = NULL;
  }
}

static size_t conv_need(const gf__layer *l, int chunk) {
  if (l->kind == GF_LAYER_CONV && l->groups > 1) /* depth-wise ops: none; else col of one (image, group) */
    return l->dw ? 0 : (size_t)(l->geom.C / l->groups) * l->geom.kh * l->geom.kw * l->geom.OH * l->geom.OW;
  if (l->pwino <= 0) return lowered_need(l, chunk);
  size_t p = GF_PWINO_WS_FLOATS(l->geom.C, l->kind == GF_LAYER_CONV ? l->out_c : l->in_c, l->pwino);
  if (l->pwino_passes == GF_PWINO_ALL) return p;
  size_t low = lowered_need(l, chunk); /* the other passes are lowered if the library declines */
  return p > low ? p : low;
}

size_t gf__conv_ws_floats(const gf__layer *l, int chunk) { return conv_need(l, chunk); }

/* Large images (one sample's col above the budget) are lowered a band of output rows at a
   time: col holds [K, rows*OW] and the GEMMs read / write the band in place (ld = OH*OW). */
static int banded(const gf__layer *l) { return l->rows > 0 && l->rows < l->geom.OH; }

static gf__conv_geom band(const gf__conv_geom *g, int r0, int rows) {
  gf__conv_geom b = *g;
  b.r0 = r0;
  b.rn = g->OH - r0 < rows ? g->OH - r0 : rows;
  return b;
}

/* Grouped convolutions that are not on the depth-wise ops: per image and group, im2col of the
   group's Cg input channels into ws [Cg*kh*kw, P] and one sgemm with the group's weights. */
static gf__conv_geom group_geom(const gf__layer *l) {
  gf__conv_geom gg = l->geom;
  gg.C = l->geom.C / l->groups;
  return gg;
}

static void grouped_forward(const gf__ops *o, float *out, const float *inp, const float *w, float *ws, int B,
                            const gf__layer *l) {
  const gf__conv_geom gg = group_geom(l);
  const int G = l->groups, OCg = l->out_c / G, K = gg.C * gg.kh * gg.kw, P = gg.OH * gg.OW;
  const size_t gin = (size_t)gg.C * gg.H * gg.W, gout = (size_t)OCg * P;
  for (int n = 0; n < B; n++)
    for (int k = 0; k < G; k++) {
      o->im2col(ws, inp + ((size_t)n * G + k) * gin, 1, &gg);
      o->gemm(0, 0, OCg, P, K, 1.0f, w + (size_t)k * OCg * K, K, ws, P, 0.0f, out + ((size_t)n * G + k) * gout, P);
    }
}

static void grouped_backward(const gf__ops *o, float *dinp, float *dw, const float *dout, const float *inp,
                             const float *w, float *ws, int B, const gf__layer *l) {
  const gf__conv_geom gg = group_geom(l);
  const int G = l->groups, OCg = l->out_c / G, K = gg.C * gg.kh * gg.kw, P = gg.OH * gg.OW;
  const size_t gin = (size_t)gg.C * gg.H * gg.W, gout = (size_t)OCg * P;
  for (int n = 0; n < B; n++)
    for (int k = 0; k < G; k++) {
      const float *dy = dout + ((size_t)n * G + k) * gout, *wk = w + (size_t)k * OCg * K;
      if (dw) { /* dW_k [OCg, K] += dY_k [OCg, P] . col^T [P, K] */
        o->im2col(ws, inp + ((size_t)n * G + k) * gin, 1, &gg);
        o->gemm(0, 1, OCg, K, P, 1.0f, dy, P, ws, P, 1.0f, dw + (size_t)k * OCg * K, K);
      }
      if (dinp) { /* dcol [K, P] = W_k^T . dY_k; dx_k += col2im(dcol) */
        o->gemm(1, 0, K, P, OCg, 1.0f, wk, K, dy, P, 0.0f, ws, P);
        o->col2im(dinp + ((size_t)n * G + k) * gin, ws, 1, &gg);
      }
    }
}

void gf__conv2d_forward(const gf__ops *o, float *out, const float *inp, const float *w, const float *b,
                        float *ws, int B, const gf__layer *l) {
  const gf__conv_geom *g = &l->geom;
  const int OC = l->out_c, K = g->C * g->kh * g->kw, P = g->OH * g->OW;
  const long in_sz = (long)g->C * g->H * g->W, out_sz = (long)OC * P;
  if (l->groups > 1) {
    if (l->dw) o->dw_fwd(out, inp, w, B, OC, g);
    else grouped_forward(o, out, inp, w, ws, B, l);
    if (b) o->bias_fwd(out, b, B, OC, P);
    return;
  }
  if (l->direct) {
    o->direct_fwd(out, inp, w, B, OC, g);
    if (b) o->bias_fwd(out, b, B, OC, P);
    return;
  }
  if (projection(g)) { /* out [B, OC] = inp [B, K] . W^T, W [OC, K] */
    o->gemm(0, 1, B, OC, K, 1.0f, inp, K, w, K, 0.0f, out, OC);
    if (b) o->bias_fwd(out, b, B, OC, 1);
    return;
  }
  if (pw(l, GF_CONV_FWD, B)) {
    o->pwino_fwd(out, inp, w, B, g->C, g->H, g->W, OC, 0.0f, ws, l->pwino);
    if (b) o->bias_fwd(out, b, B, OC, P);
    return;
  }
  if (l->lib && o->conv_lib(GF_CONV_FWD, out, inp, w, B, OC, g, 0.0f) == 0) {
    if (b) o->bias_fwd(out, b, B, OC, P);
    return;
  }
  if (l->wino > 0) {
    o->wino_fwd(out, inp, w, B, g->C, g->H, g->W, OC, g->ph, g->pw, 0, 0.0f, ws, l->wino);
    if (b) o->bias_fwd(out, b, B, OC, P);
    return;
  }
  if (banded(l)) {
    for (int n = 0; n < B; n++)
      for (int r0 = 0; r0 < g->OH; r0 += l->rows) {
        gf__conv_geom gb = band(g, r0, l->rows);
        const int Pb = gb.rn * g->OW;
        o->im2col(ws, inp + (size_t)n * in_sz, 1, &gb);
        o->gemm(0, 0, OC, Pb, K, 1.0f, w, K, ws, Pb, 0.0f, out + (size_t)n * out_sz + (size_t)r0 * g->OW, P);
      }
    if (b) o->bias_fwd(out, b, B, OC, P);
    return;
  }
  for (int n0 = 0; n0 < B; n0 += l->chunk) {
    int nb = B - n0 < l->chunk ? B - n0 : l->chunk;
    float *col = ws, *tmp = ws + (size_t)K * nb * P;
    float *y = out + (size_t)n0 * out_sz;
    if (nb == 1 && g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0) {
      o->gemm(0, 0, OC, P, K, 1.0f, w, K, inp + (size_t)n0 * in_sz, P, 0.0f, y, P); /* a 1x1 col is the input */
      continue;
    }
    o->im2col(col, inp + (size_t)n0 * in_sz, nb, g);
    if (nb == 1) {
      o->gemm(0, 0, OC, P, K, 1.0f, w, K, col, P, 0.0f, y, P);
    } else {
      /* [OC, K] x [K, nb*P] -> [OC, nb, P], then to [nb, OC, P] */
      o->gemm(0, 0, OC, nb * P, K, 1.0f, w, K, col, nb * P, 0.0f, tmp, nb * P);
      o->swap01(y, tmp, OC, nb, P, 0.0f);
    }
  }
  if (b) o->bias_fwd(out, b, B, OC, P);
}

void gf__conv2d_backward(const gf__ops *o, float *dinp, float *dw, float *db, const float *dout,
                         const float *inp, const float *w, float *ws, int B, const gf__layer *l) {
  const gf__conv_geom *g = &l->geom;
  const int OC = l->out_c, K = g->C * g->kh * g->kw, P = g->OH * g->OW;
  const long in_sz = (long)g->C * g->H * g->W, out_sz = (long)OC * P;
  if (db) o->bias_bwd(db, dout, B, OC, P);
  if (!dw && !dinp) return;
  if (l->groups > 1) {
    if (!l->dw) grouped_backward(o, dinp, dw, dout, inp, w, ws, B, l);
    else {
      if (dw) o->dw_bwd_w(dw, inp, dout, B, OC, g);
      if (dinp) o->dw_bwd_data(dinp, dout, w, B, OC, g);
    }
    return;
  }
  if (l->direct) {
    if (dw) o->direct_bwd_w(dw, inp, dout, B, OC, g);
    if (dinp) o->direct_bwd_data(dinp, dout, w, B, OC, g);
    return;
  }
  if (projection(g)) {
    if (dw) o->gemm(1, 0, OC, K, B, 1.0f, dout, OC, inp, K, 1.0f, dw, K);     /* dW [OC, K] += dout^T . inp */
    if (dinp) o->gemm(0, 0, B, K, OC, 1.0f, dout, OC, w, K, 1.0f, dinp, K);   /* dinp [B, K] += dout . W */
    return;
  }
  pw_backward(o, l, &dinp, &dw, inp, dout, w, ws, B, OC);
  if (!dw && !dinp) return;
  if (l->wino > 0) {
    /* dx += the convolution of dY (padding 2 - p) with the flipped, transposed weights */
    if (dinp) o->wino_fwd(dinp, dout, w, B, OC, g->OH, g->OW, g->C, 2 - g->ph, 2 - g->pw, 1, 1.0f, ws, l->wino);
    if (dw) o->wino_dw(dw, inp, dout, B, g->C, g->H, g->W, OC, g->ph, g->pw, ws, l->wino);
    return;
  }
  if (l->lib && (!banded(l) || o->conv_lib_all) && (!dw || o->conv_lib(GF_CONV_BWD_W, dw, inp, dout, B, OC, g, 1.0f) == 0)) {
    if (!dinp || o->conv_lib(GF_CONV_BWD_DATA, dinp, dout, w, B, OC, g, 1.0f) == 0) return;
    dw = NULL; /* done above: the lowering below does the input gradient only */
  }
  if (banded(l)) {
    for (int n = 0; n < B; n++)
      for (int r0 = 0; r0 < g->OH; r0 += l->rows) {
        gf__conv_geom gb = band(g, r0, l->rows);
        const int Pb = gb.rn * g->OW;
        const float *dy = dout + (size_t)n * out_sz + (size_t)r0 * g->OW;
        if (dw) {
          o->im2col(ws, inp + (size_t)n * in_sz, 1, &gb);
          o->gemm(0, 1, OC, K, Pb, 1.0f, dy, P, ws, Pb, 1.0f, dw, K);
        }
        if (dinp) {
          o->gemm(1, 0, K, Pb, OC, 1.0f, w, K, dy, P, 0.0f, ws, Pb);
          o->col2im(dinp + (size_t)n * in_sz, ws, 1, &gb);
        }
      }
    return;
  }
  for (int n0 = 0; n0 < B; n0 += l->chunk) {
    int nb = B - n0 < l->chunk ? B - n0 : l->chunk;
    float *col = ws, *dyg = ws + (size_t)K * nb * P;
    const float *dy = dout + (size_t)n0 * out_sz;
    if (nb == 1) dyg = (float *)dy;
    else o->swap01(dyg, dy, nb, OC, P, 0.0f); /* [nb, OC, P] -> [OC, nb*P] */
    if (dw) {
      o->im2col(col, inp + (size_t)n0 * in_sz, nb, g);
      /* dW [OC, K] += dY [OC, nb*P] . col^T [nb*P, K] */
      o->gemm(0, 1, OC, K, nb * P, 1.0f, dyg, nb * P, col, nb * P, 1.0f, dw, K);
    }
    if (dinp) {
      /* dcol [K, nb*P] = W^T [K, OC] . dY [OC, nb*P]; dx += col2im(dcol) */
      o->gemm(1, 0, K, nb * P, OC, 1.0f, w, K, dyg, nb * P, 0.0f, col, nb * P);
      o->col2im(dinp + (size_t)n0 * in_sz, col, nb, g);
    }
  }
}


void gf__convt2d_forward(const gf__ops *o, float *out, const float *inp, const float *w, const float *b,
                         float *ws, int B, const gf__layer *l) {
  const gf__conv_geom *g = &l->geom; /* the adjoint conv: output (C=OC, H, W) -> input (OH, OW) */
  const int IC = l->in_c, OC = l->out_c, K = OC * g->kh * g->kw, P = g->OH * g->OW;
  const long in_sz = (long)IC * P, out_sz = (long)OC * g->H * g->W;
  if (projection(g)) { /* out [B, K] = inp [B, IC] . W [IC, K] */
    o->gemm(0, 0, B, K, IC, 1.0f, inp, IC, w, K, 0.0f, out, K);
    if (b) o->bias_fwd(out, b, B, OC, g->H * g->W);
    return;
  }
  /* the adjoint conv has OC = IC outputs, and the forward of the transpose is its input gradient */
  if (pw(l, GF_CONV_BWD_DATA, B)) {
    o->pwino_bwd_data(out, inp, w, B, g->C, g->H, g->W, IC, 0.0f, ws, l->pwino);
    if (b) o->bias_fwd(out, b, B, OC, g->H * g->W);
    return;
  }
  if (l->lib && o->conv_lib(GF_CONV_BWD_DATA, out, inp, w, B, IC, g, 0.0f) == 0) {
    if (b) o->bias_fwd(out, b, B, OC, g->H * g->W);
    return;
  }
  o->fill(out, 0.0f, (size_t)B * out_sz);
  if (banded(l)) { /* bands of the input rows (the adjoint conv's output rows) */
    for (int n = 0; n < B; n++)
      for (int r0 = 0; r0 < g->OH; r0 += l->rows) {
        gf__conv_geom gb = band(g, r0, l->rows);
        const int Pb = gb.rn * g->OW;
        o->gemm(1, 0, K, Pb, IC, 1.0f, w, K, inp + (size_t)n * in_sz + (size_t)r0 * g->OW, P, 0.0f, ws, Pb);
        o->col2im(out + (size_t)n * out_sz, ws, 1, &gb);
      }
    if (b) o->bias_fwd(out, b, B, OC, g->H * g->W);
    return;
  }
  for (int n0 = 0; n0 < B; n0 += l->chunk) {
    int nb = B - n0 < l->chunk ? B - n0 : l->chunk;
    float *col = ws, *xg = ws + (size_t)K * nb * P;
    const float *x = inp + (size_t)n0 * in_sz;
    if (nb == 1) xg = (float *)x;
    else o->swap01(xg, x, nb, IC, P, 0.0f); /* [nb, IC, P] -> [IC, nb*P] */
    /* col [K, nb*P] = W^T [K, IC] . x [IC, nb*P] */
    o->gemm(1, 0, K, nb * P, IC, 1.0f, w, K, xg, nb * P, 0.0f, col, nb * P);
    o->col2im(out + (size_t)n0 * out_sz, col, nb, g);
  }
  if (b) o->bias_fwd(out, b, B, OC, g->H * g->W);
}

void gf__convt2d_backward(const gf__ops *o, float *dinp, float *dw, float *db, const float *dout,
                          const float *inp, const float *w, float *ws, int B, const gf__layer *l) {
  const gf__conv_geom *g = &l->geom;
  const int IC = l->in_c, OC = l->out_c, K = OC * g->kh * g->kw, P = g->OH * g->OW;
  const long in_sz = (long)IC * P, out_sz = (long)OC * g->H * g->W;
  if (db) o->bias_bwd(db, dout, B, OC, g->H * g->W);
  if (!dw && !dinp) return;
  if (projection(g)) {
    if (dw) o->gemm(1, 0, IC, K, B, 1.0f, inp, IC, dout, K, 1.0f, dw, K);       /* dW [IC, K] += inp^T . dout */
    if (dinp) o->gemm(0, 1, B, IC, K, 1.0f, dout, K, w, K, 1.0f, dinp, IC);   /* dinp [B, IC] += dout . W^T */
    return;
  }
  /* of the adjoint conv (x = dout, dy = inp, OC = IC): the input gradient is its forward */
  pw_backward(o, l, &dinp, &dw, dout, inp, w, ws, B, IC);
  if (!dw && !dinp) return;
  if (l->lib && (!dw || o->conv_lib(GF_CONV_BWD_W, dw, dout, inp, B, IC, g, 1.0f) == 0)) {
    if (!dinp || o->conv_lib(GF_CONV_FWD, dinp, dout, w, B, IC, g, 1.0f) == 0) return;
    dw = NULL;
  }
  if (banded(l)) {
    for (int n = 0; n < B; n++)
      for (int r0 = 0; r0 < g->OH; r0 += l->rows) {
        gf__conv_geom gb = band(g, r0, l->rows);
        const int Pb = gb.rn * g->OW;
        const size_t off = (size_t)n * in_sz + (size_t)r0 * g->OW;
        o->im2col(ws, dout + (size_t)n * out_sz, 1, &gb);
        if (dw) o->gemm(0, 1, IC, K, Pb, 1.0f, inp + off, P, ws, Pb, 1.0f, dw, K);
        if (dinp) o->gemm(0, 0, IC, Pb, K, 1.0f, w, K, ws, Pb, 1.0f, dinp + off, P);
      }
    return;
  }
  for (int n0 = 0; n0 < B; n0 += l->chunk) {
    int nb = B - n0 < l->chunk ? B - n0 : l->chunk;
    float *dcol = ws, *xg = ws + (size_t)K * nb * P;
    o->im2col(dcol, dout + (size_t)n0 * out_sz, nb, g);
    if (dw) {
      const float *x = inp + (size_t)n0 * in_sz;
      const float *xs = x;
      if (nb > 1) { o->swap01(xg, x, nb, IC, P, 0.0f); xs = xg; }
      /* dW [IC, K] += x [IC, nb*P] . dcol^T [nb*P, K] */
      o->gemm(0, 1, IC, K, nb * P, 1.0f, xs, nb * P, dcol, nb * P, 1.0f, dw, K);
    }
    if (dinp) {
      float *dx = dinp + (size_t)n0 * in_sz;
      if (nb == 1) {
        o->gemm(0, 0, IC, P, K, 1.0f, w, K, dcol, P, 1.0f, dx, P);
      } else {
        /* dx [IC, nb*P] = W [IC, K] . dcol [K, nb*P], then += into [nb, IC, P] */
        o->gemm(0, 0, IC, nb * P, K, 1.0f, w, K, dcol, nb * P, 0.0f, xg, nb * P);
        o->swap01(dx, xg, IC, nb, P, 1.0f);
      }
    }
  }
}
