/* kern/diffaug.h: the bodies of DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
   Data-Efficient GAN Training"): colour (brightness, saturation, contrast), translation and
   cutout of NCHW images, forward and backward, one element or one sample each, shared by the
   CPU and CUDA backends (src/cpu/cpu_cond.c loops over them).

   Every sample draws GF_DIFFAUG_NPARAM uniforms u in [0, 1) (ops.h) and maps them as the paper's
   code draws its random numbers:
     brightness  x + (u0 - 0.5)
     saturation  (x - mean over channels) * 2 u1 + that mean
     contrast    (x - mean over the image) * (u2 + 0.5) + that mean
     translation by (tx, ty) = floor(u3, u4 * (2 s + 1)) - s, s = round(side / 8): y[i, j] =
                 x[i + tx, j + ty], 0 outside
     cutout      zero a square of side round(side / 2) centred at (floor(u5 * (H + 1 - sh % 2)),
                 floor(u6 * (W + 1 - sw % 2))) - side / 2, clipped to the image.
   The map is linear in x; its transpose is the backward. */
#ifndef GF_KERN_DIFFAUG_H
#define GF_KERN_DIFFAUG_H

#include "core/hd.h"
#include "core/ops.h"

typedef struct gf__k_aug {
  float b, fs, fc;       /* brightness shift, saturation and contrast factors */
  int tx, ty;            /* translation (rows, columns) */
  int r0, r1, c0, c1;    /* cut rows [r0, r1), columns [c0, c1) (empty without cutout) */
} gf__k_aug;

static inline GF_HD int gf__k_aug_pick(float u, int n) { /* floor(u * n) in [0, n) */
  int k = (int)(u * (float)n);
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

static inline GF_HD gf__k_aug gf__k_aug_setup(const float *p, int H, int W, int flags) {
  gf__k_aug a;
  a.b = p[0] - 0.5f;
  a.fs = p[1] * 2.0f;
  a.fc = p[2] + 0.5f;
  a.tx = a.ty = 0;
  a.r0 = a.r1 = a.c0 = a.c1 = 0;
  if (flags & GF_DIFFAUG_TRANSLATION) {
    int sh = (int)((float)H * 0.125f + 0.5f), sw = (int)((float)W * 0.125f + 0.5f);
    a.tx = gf__k_aug_pick(p[3], 2 * sh + 1) - sh;
    a.ty = gf__k_aug_pick(p[4], 2 * sw + 1) - sw;
  }
  if (flags & GF_DIFFAUG_CUTOUT) {
    int ch = (int)((float)H * 0.5f + 0.5f), cw = (int)((float)W * 0.5f + 0.5f);
    a.r0 = gf__k_aug_pick(p[5], H + 1 - ch % 2) - ch / 2;
    a.c0 = gf__k_aug_pick(p[6], W + 1 - cw % 2) - cw / 2;
    a.r1 = a.r0 + ch;
    a.c1 = a.c0 + cw;
  }
  return a;
}

static inline GF_HD int gf__k_aug_cut(const gf__k_aug *a, int i, int j) {
  return i >= a->r0 && i < a->r1 && j >= a->c0 && j < a->c1;
}

/* Sample n's mean over C * H * W values (the contrast centre before brightness). */
static inline GF_HD void gf__k_diffaug_mean(float *mean, const float *x, long per, long n) {
  const float *v = x + n * per;
  double s = 0.0;
  for (long k = 0; k < per; k++) s += v[k];
  mean[n] = (float)(s / (double)per);
}

/* Forward, element i of y [N, C, H, W]; mean [N] from gf__k_diffaug_mean (used with colour). */
static inline GF_HD void gf__k_diffaug_fwd(float *y, const float *x, const float *params, const float *mean, int C,
                                           int H, int W, int flags, long i) {
  long HW = (long)H * W, per = C * HW, n = i / per, r = i - n * per, c = r / HW, pix = r - c * HW;
  int yy = (int)(pix / W), xx = (int)(pix - (long)yy * W);
  gf__k_aug a = gf__k_aug_setup(params + n * GF_DIFFAUG_NPARAM, H, W, flags);
  int sy = yy + a.tx, sx = xx + a.ty;
  if (gf__k_aug_cut(&a, yy, xx) || sy < 0 || sy >= H || sx < 0 || sx >= W) {
    y[i] = 0.0f;
    return;
  }
  const float *xs = x + n * per + (long)sy * W + sx;
  float v = xs[c * HW];
  if (flags & GF_DIFFAUG_COLOR) {
    float mc = 0.0f;
    for (int k = 0; k < C; k++) mc += xs[k * HW];
    mc = mc / (float)C + a.b;               /* channel mean after brightness */
    float x1 = v + a.b;
    float x2 = a.fs * (x1 - mc) + mc;
    float m2 = mean[n] + a.b;               /* image mean after brightness = after saturation */
    v = a.fc * (x2 - m2) + m2;
  }
  y[i] = v;
}

/* The output gradient reaching input pixel (sy, sx), channel c: dy where that pixel landed. */
static inline GF_HD float gf__k_diffaug_g(const float *dys, const gf__k_aug *a, long HW, int H, int W, int c, int sy,
                                          int sx) {
  int yy = sy - a->tx, xx = sx - a->ty;
  if (yy < 0 || yy >= H || xx < 0 || xx >= W || gf__k_aug_cut(a, yy, xx)) return 0.0f;
  return dys[c * HW + (long)yy * W + xx];
}

/* Backward, sample n: gsum[n] = the sum of the gradient reaching the colour stage (with colour). */
static inline GF_HD void gf__k_diffaug_gsum(float *gsum, const float *dy, const float *params, int C, int H, int W,
                                            int flags, long n) {
  long HW = (long)H * W, per = C * HW;
  gf__k_aug a = gf__k_aug_setup(params + n * GF_DIFFAUG_NPARAM, H, W, flags);
  double s = 0.0;
  for (int c = 0; c < C; c++)
    for (int sy = 0; sy < H; sy++)
      for (int sx = 0; sx < W; sx++) s += gf__k_diffaug_g(dy + n * per, &a, HW, H, W, c, sy, sx);
  gsum[n] = (float)s;
}

/* Backward, element i of dx [N, C, H, W] (accumulates). */
static inline GF_HD void gf__k_diffaug_bwd(float *dx, const float *dy, const float *params, const float *gsum, int C,
                                           int H, int W, int flags, long i) {
  long HW = (long)H * W, per = C * HW, n = i / per, r = i - n * per, c = r / HW, pix = r - c * HW;
  int sy = (int)(pix / W), sx = (int)(pix - (long)sy * W);
  gf__k_aug a = gf__k_aug_setup(params + n * GF_DIFFAUG_NPARAM, H, W, flags);
  const float *dys = dy + n * per;
  float g = gf__k_diffaug_g(dys, &a, HW, H, W, (int)c, sy, sx);
  if (flags & GF_DIFFAUG_COLOR) {
    /* contrast: d x2 = fc g + (1 - fc) sum(g) / (C H W); saturation: d x1 = fs d x2 + (1 - fs)
       mean over channels of d x2; brightness: d x = d x1 */
    float rest = (1.0f - a.fc) * gsum[n] / (float)per;
    float sc = 0.0f;
    for (int k = 0; k < C; k++) sc += gf__k_diffaug_g(dys, &a, HW, H, W, k, sy, sx);
    float d2 = a.fc * g + rest;
    float d2mean = (a.fc * sc) / (float)C + rest;
    g = a.fs * d2 + (1.0f - a.fs) * d2mean;
  }
  dx[i] += g;
}

#endif
