/* cpu_conv.c: CPU convolution helpers: im2col / col2im (the lowering that turns a convolution
   into one sgemm), axis swaps between [N, C, S] and [C, N*S], and reflection padding. */
#include <string.h>

#include "cpu/cpu_internal.h"
#include "kern/kern_conv.h"

#define PAR_MIN 32768

/* Per-tap valid ranges of a kernel axis, computed once per call (no divisions in the loops). */
#define MAXK 64
typedef struct taps {
  int lo[MAXK], hi[MAXK];
} taps;

static void tap_table(taps *t, int k, int st, int pad, int n, int on) {
  for (int i = 0; i < k && i < MAXK; i++) gf__k_tap_range(i, st, pad, n, on, &t->lo[i], &t->hi[i]);
}

static inline void tap_get(const taps *t, int i, int st, int pad, int n, int on, int *lo, int *hi) {
  if (i < MAXK) { *lo = t->lo[i]; *hi = t->hi[i]; }
  else gf__k_tap_range(i, st, pad, n, on, lo, hi);
}

/* Output rows of one tap restricted to the band [r0, r0 + rn), relative to r0. */
static inline void band_clip(int *lo, int *hi, int r0, int rn) {
  int a = *lo < r0 ? r0 : *lo > r0 + rn ? r0 + rn : *lo;
  int b = *hi < a ? a : *hi > r0 + rn ? r0 + rn : *hi;
  *lo = a - r0;
  *hi = b - r0;
}

void gf__cpu_im2col(float *col, const float *x, int N, const gf__conv_geom *g) {
  const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
  const int ph = g->ph, pw = g->pw, OH = g->OH, OW = g->OW;
  const int r0 = g->rn ? g->r0 : 0, RN = g->rn ? g->rn : OH;
  const long P = (long)RN * OW, ld = (long)N * P;
  const long rows = (long)C * kh * kw;
  taps ty, tx;
  tap_table(&ty, kh, sh, ph, H, OH);
  tap_table(&tx, kw, sw, pw, W, OW);
  #pragma omp parallel for if (rows * ld > PAR_MIN) schedule(static)
  for (long r = 0; r < rows; r++) {
    const int c = (int)(r / (kh * kw)), i = (int)(r / kw % kh), j = (int)(r % kw);
    int oy0, oy1, ox0, ox1;
    tap_get(&ty, i, sh, ph, H, OH, &oy0, &oy1);
    band_clip(&oy0, &oy1, r0, RN); /* band-relative rows */
    tap_get(&tx, j, sw, pw, W, OW, &ox0, &ox1);
    const int nx = ox1 - ox0;
    for (int n = 0; n < N; n++) {
      float *dst = col + (size_t)r * ld + (size_t)n * P;
      if (oy0) memset(dst, 0, sizeof(float) * (size_t)oy0 * OW);
      if (oy1 < RN) memset(dst + (size_t)oy1 * OW, 0, sizeof(float) * (size_t)(RN - oy1) * OW);
      if (oy1 <= oy0) continue;
      if (nx <= 0) {
        memset(dst + (size_t)oy0 * OW, 0, sizeof(float) * (size_t)(oy1 - oy0) * OW);
        continue;
      }
      const float *src = x + ((size_t)n * C + c) * H * W + (size_t)((r0 + oy0) * sh - ph + i) * W + (ox0 * sw - pw + j);
      for (int oy = oy0; oy < oy1; oy++, src += (size_t)sh * W) {
        float *d = dst + (size_t)oy * OW;
        for (int ox = 0; ox < ox0; ox++) d[ox] = 0.0f;
        d += ox0;
        if (sw == 1) memcpy(d, src, sizeof(float) * (size_t)nx);
        else if (sw == 2) for (int k = 0; k < nx; k++) d[k] = src[2 * k];
        else for (int k = 0; k < nx; k++) d[k] = src[(size_t)k * sw];
        for (int ox = nx; ox < OW - ox0; ox++) d[ox] = 0.0f;
      }
    }
  }
}

void gf__cpu_col2im(float *x, const float *col, int N, const gf__conv_geom *g) {
  const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
  const int ph = g->ph, pw = g->pw, OH = g->OH, OW = g->OW;
  const int r0 = g->rn ? g->r0 : 0, RN = g->rn ? g->rn : OH;
  const long P = (long)RN * OW, ld = (long)N * P;
  taps ty, tx;
  tap_table(&ty, kh, sh, ph, H, OH);
  tap_table(&tx, kw, sw, pw, W, OW);
  /* every (n, c) plane is written by its own rows of col only: no races */
  #pragma omp parallel for collapse(2) if ((long)C * kh * kw * ld > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      float *xp = x + ((size_t)n * C + c) * H * W;
      for (int i = 0; i < kh; i++) {
        int oy0, oy1;
        tap_get(&ty, i, sh, ph, H, OH, &oy0, &oy1);
        band_clip(&oy0, &oy1, r0, RN);
        if (oy1 <= oy0) continue;
        for (int j = 0; j < kw; j++) {
          int ox0, ox1;
          tap_get(&tx, j, sw, pw, W, OW, &ox0, &ox1);
          const int nx = ox1 - ox0;
          if (nx <= 0) continue;
          const float *s = col + ((size_t)(c * kh + i) * kw + j) * ld + (size_t)n * P + (size_t)oy0 * OW + ox0;
          float *d = xp + (size_t)((r0 + oy0) * sh - ph + i) * W + (ox0 * sw - pw + j);
          for (int oy = oy0; oy < oy1; oy++, s += OW, d += (size_t)sh * W) {
            if (sw == 1) for (int k = 0; k < nx; k++) d[k] += s[k];
            else if (sw == 2) for (int k = 0; k < nx; k++) d[2 * k] += s[k];
            else for (int k = 0; k < nx; k++) d[(size_t)k * sw] += s[k];
          }
        }
      }
    }
}

void gf__cpu_swap01(float *dst, const float *src, int A, int B, int S, float beta) {
  #pragma omp parallel for collapse(2) if ((long)A * B * S > PAR_MIN) schedule(static)
  for (int a = 0; a < A; a++)
    for (int b = 0; b < B; b++) {
      const float *s = src + ((size_t)a * B + b) * S;
      float *d = dst + ((size_t)b * A + a) * S;
      if (beta == 0.0f) memcpy(d, s, sizeof(float) * (size_t)S);
      else for (int k = 0; k < S; k++) d[k] += s[k];
    }
}

void gf__cpu_reflect_pad_fwd(float *y, const float *x, int NC, int H, int W, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  #pragma omp parallel for if ((long)NC * OH * OW > PAR_MIN) schedule(static)
  for (int p = 0; p < NC; p++) {
    const float *xp = x + (size_t)p * H * W;
    float *yp = y + (size_t)p * OH * OW;
    for (int oy = 0; oy < OH; oy++) {
      const float *row = xp + (size_t)gf__k_reflect(oy - t, H) * W;
      float *d = yp + (size_t)oy * OW;
      for (int ox = 0; ox < l; ox++) d[ox] = row[gf__k_reflect(ox - l, W)];
      memcpy(d + l, row, sizeof(float) * (size_t)W);
      for (int ox = l + W; ox < OW; ox++) d[ox] = row[gf__k_reflect(ox - l, W)];
    }
  }
}

void gf__cpu_reflect_pad_bwd(float *dx, const float *dy, int NC, int H, int W, int t, int b, int l, int r) {
  const int OH = H + t + b, OW = W + l + r;
  #pragma omp parallel for if ((long)NC * OH * OW > PAR_MIN) schedule(static)
  for (int p = 0; p < NC; p++) {
    float *xp = dx + (size_t)p * H * W;
    const float *yp = dy + (size_t)p * OH * OW;
    for (int oy = 0; oy < OH; oy++) {
      float *row = xp + (size_t)gf__k_reflect(oy - t, H) * W;
      const float *s = yp + (size_t)oy * OW;
      for (int ox = 0; ox < OW; ox++) row[gf__k_reflect(ox - l, W)] += s[ox];
    }
  }
}

/* ---- direct stride-1 convolutions with few output channels ----
   A convolution into 1-4 channels (CycleGAN's last 7x7 conv 64 -> 3, PatchGAN's 512 -> 1) is a
   GEMM with M = OC: sgemm then spends its time packing the huge col [C*kh*kw, P] and im2col /
   col2im move it through memory for a handful of multiply-adds per element. These loops read
   the input rows directly: every (c, i, j) tap adds w * (a shifted input row) to OC row
   accumulators held in L1. */
#define DBLK 256 /* output columns per accumulator block */

/* acc[oc][k0..k1) = sum_{c,i,j} w[oc, c, i, j] x[c, oy - ph + i, ox0 + k - pw + j] (zero outside):
   the taps one at a time over a row of accumulators (the edge columns, and what is not a whole tile). */
static inline void direct_fwd_cols(float *restrict acc, const float *restrict x, const float *restrict w, int OC,
                                   const gf__conv_geom *g, int oy, int ox0, int k0, int k1) {
  const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw;
  for (int o = 0; o < OC; o++)
    for (int k = k0; k < k1; k++) acc[(size_t)o * DBLK + k] = 0.0f;
  for (int c = 0; c < C; c++)
    for (int i = 0; i < kh; i++) {
      const int iy = oy - g->ph + i;
      if (iy < 0 || iy >= H) continue;
      const float *row = x + ((size_t)c * H + iy) * W;
      for (int j = 0; j < kw; j++) {
        const int off = ox0 - g->pw + j; /* input column of k = 0 */
        const int a = off < -k0 ? -off : k0, b = W - off < k1 ? W - off : k1;
        if (b <= a) continue;
        const float *s = row + off;
        for (int o = 0; o < OC; o++) {
          const float wv = w[(((size_t)o * C + c) * kh + i) * kw + j];
          float *restrict ac = acc + (size_t)o * DBLK;
          for (int k = a; k < b; k++) ac[k] += wv * s[k];
        }
      }
    }
}

/* 8 NV columns of OC channels (both constants once inlined) whose taps all lie inside the row:
   the OC x NV accumulators stay in vector registers for all C*kh*kw taps (the row loop above
   loads and stores them at every tap). Each output sums the same products in the same order:
   the same bits. NV = 2 (16 columns): 24 or 32 were no faster on CycleGAN's last 7x7 and left a
   slow tail on 64-column rows (docs/BENCHMARKS.md). */
typedef float dvec __attribute__((vector_size(32)));
typedef float dvec_u __attribute__((vector_size(32), aligned(4), may_alias)); /* unaligned loads */
#define DNV_MAX 4
static inline __attribute__((always_inline)) void direct_fwd_tile(float *restrict acc, const float *restrict x,
                                                                  const float *restrict w, const int OC, const int NV,
                                                                  const gf__conv_geom *g, int oy, int ox) {
  const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw;
  const size_t ock = (size_t)C * kh * kw;
  dvec r[GF_DIRECT_MAX_OC][DNV_MAX];
  for (int o = 0; o < OC; o++)
    for (int v = 0; v < NV; v++) r[o][v] = (dvec){0};
  for (int c = 0; c < C; c++)
    for (int i = 0; i < kh; i++) {
      const int iy = oy - g->ph + i;
      if (iy < 0 || iy >= H) continue;
      const float *s = x + ((size_t)c * H + iy) * W + ox - g->pw;
      const float *wt = w + ((size_t)c * kh + i) * kw;
      for (int j = 0; j < kw; j++) {
        dvec xv[DNV_MAX];
        for (int v = 0; v < NV; v++) xv[v] = *(const dvec_u *)(s + j + 8 * v);
        for (int o = 0; o < OC; o++) {
          const float wv = wt[o * ock + j];
          for (int v = 0; v < NV; v++) r[o][v] += wv * xv[v];
        }
      }
    }
  for (int o = 0; o < OC; o++)
    for (int v = 0; v < NV; v++) *(dvec_u *)(acc + (size_t)o * DBLK + 8 * v) = r[o][v];
}

/* acc[oc][0..nx) for the output columns ox0 + [0, nx) of row oy: whole tiles inside the input
   in registers, the rest column-wise. */
GF_CLONES static void direct_fwd_row(float *restrict acc, const float *restrict x, const float *restrict w, int OC,
                                     const gf__conv_geom *g, int oy, int ox0, int nx) {
  const int tw = 16; /* columns per tile: 8 NV */
  /* tile t (columns ox0 + [t, t + tw)) reads input columns ox0 + t - pw + [0, tw + kw - 1) */
  int t0 = g->pw - ox0 > 0 ? g->pw - ox0 : 0, t1 = g->W - ox0 + g->pw - g->kw + 1 - tw;
  if (t1 > nx - tw) t1 = nx - tw;
  int k = 0;
  if (t0 <= t1) {
    int ntile = (t1 - t0) / tw + 1;
    if (t0) direct_fwd_cols(acc, x, w, OC, g, oy, ox0, 0, t0);
    for (int t = t0; t < t0 + ntile * tw; t += tw) switch (OC) {
      case 1: direct_fwd_tile(acc + t, x, w, 1, 2, g, oy, ox0 + t); break;
      case 2: direct_fwd_tile(acc + t, x, w, 2, 2, g, oy, ox0 + t); break;
      case 3: direct_fwd_tile(acc + t, x, w, 3, 2, g, oy, ox0 + t); break;
      default: direct_fwd_tile(acc + t, x, w, 4, 2, g, oy, ox0 + t); break;
    }
    k = t0 + ntile * tw;
  }
  if (k < nx) direct_fwd_cols(acc, x, w, OC, g, oy, ox0, k, nx);
}

void gf__cpu_conv_direct_fwd(float *y, const float *x, const float *w, int N, int OC, const gf__conv_geom *g) {
  const int OH = g->OH, OW = g->OW, nblk = (OW + DBLK - 1) / DBLK;
  #pragma omp parallel for collapse(2) if ((long)N * OH * OW * g->C * g->kh * g->kw * OC > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int oy = 0; oy < OH; oy++) {
      float acc[4 * DBLK];
      for (int bk = 0; bk < nblk; bk++) {
        const int ox0 = bk * DBLK, nx = OW - ox0 < DBLK ? OW - ox0 : DBLK;
        direct_fwd_row(acc, x + (size_t)n * g->C * g->H * g->W, w, OC, g, oy, ox0, nx);
        for (int o = 0; o < OC; o++)
          memcpy(y + (((size_t)n * OC + o) * OH + oy) * OW + ox0, acc + (size_t)o * DBLK, sizeof(float) * (size_t)nx);
      }
    }
}

/* acc[0..nx) = sum_{o,i,j} w[o, c, i, j] dy[o, iy + ph - i, ix0 + k + pw - j] (zero outside). */
GF_CLONES static void direct_bwd_row(float *restrict acc, const float *restrict dy, const float *restrict w, int OC,
                                     const gf__conv_geom *g, int c, int iy, int ix0, int nx) {
  const int C = g->C, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
  for (int k = 0; k < nx; k++) acc[k] = 0.0f;
  for (int o = 0; o < OC; o++)
    for (int i = 0; i < kh; i++) {
      const int oy = iy + g->ph - i;
      if (oy < 0 || oy >= OH) continue;
      const float *row = dy + ((size_t)o * OH + oy) * OW;
      for (int j = 0; j < kw; j++) {
        const int off = ix0 + g->pw - j;
        const int a = off < 0 ? -off : 0, b = OW - off < nx ? OW - off : nx;
        if (b <= a) continue;
        const float wv = w[(((size_t)o * C + c) * kh + i) * kw + j], *s = row + off;
        for (int k = a; k < b; k++) acc[k] += wv * s[k];
      }
    }
}

/* 16 columns ix + [0, 16) of input row iy for NC channels c0 + [0, NC) (NC a constant once
   inlined) whose taps all lie inside dy's rows: the NC x 2 accumulators stay in vector registers
   over all OC*kh*kw taps, each dy segment loaded once for the NC channels (the row loop above
   loads and stores its accumulators at every tap); the same products in the same order as
   direct_bwd_row, then added to dx. */
static inline __attribute__((always_inline)) void direct_bwd_tile(float *restrict dx, const float *restrict dy,
                                                                  const float *restrict w, const int NC, int OC,
                                                                  const gf__conv_geom *g, int c0, int iy, int ix) {
  const int C = g->C, H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
  const size_t kk = (size_t)kh * kw;
  dvec r[4][2];
  for (int c = 0; c < NC; c++) r[c][0] = r[c][1] = (dvec){0};
  for (int o = 0; o < OC; o++)
    for (int i = 0; i < kh; i++) {
      const int oy = iy + g->ph - i;
      if (oy < 0 || oy >= OH) continue;
      const float *s = dy + ((size_t)o * OH + oy) * OW + ix + g->pw; /* dy column of tap j = 0 */
      const float *wt = w + (((size_t)o * C + c0) * kh + i) * kw;
      for (int j = 0; j < kw; j++) {
        const dvec y0 = *(const dvec_u *)(s - j), y1 = *(const dvec_u *)(s - j + 8);
        for (int c = 0; c < NC; c++) {
          const float wv = wt[c * kk + j];
          r[c][0] += wv * y0;
          r[c][1] += wv * y1;
        }
      }
    }
  for (int c = 0; c < NC; c++) {
    float *d = dx + ((size_t)(c0 + c) * H + iy) * W + ix;
    *(dvec_u *)d += r[c][0];
    *(dvec_u *)(d + 8) += r[c][1];
  }
}

/* One input row iy of channels c0 + [0, nc) (nc <= 4): whole tiles in registers, the edge columns
   (taps outside dy) row-wise. */
GF_CLONES static void direct_bwd_rows(float *restrict dx, const float *restrict dy, const float *restrict w, int OC,
                                      const gf__conv_geom *g, int c0, int nc, int iy, int t0, int ntile) {
  const int H = g->H, W = g->W;
  for (int t = t0; t < t0 + 16 * ntile; t += 16) switch (nc) {
    case 1: direct_bwd_tile(dx, dy, w, 1, OC, g, c0, iy, t); break;
    case 2: direct_bwd_tile(dx, dy, w, 2, OC, g, c0, iy, t); break;
    case 3: direct_bwd_tile(dx, dy, w, 3, OC, g, c0, iy, t); break;
    default: direct_bwd_tile(dx, dy, w, 4, OC, g, c0, iy, t); break;
  }
  /* the columns no tile covered: [0, t0) and [t0 + 16 ntile, W), or the whole row */
  const int e0 = ntile ? t0 : W, e1 = ntile ? t0 + 16 * ntile : W;
  float acc[DBLK];
  for (int c = c0; c < c0 + nc; c++) {
    float *row = dx + ((size_t)c * H + iy) * W;
    for (int part = 0; part < 2; part++) {
      const int a = part ? e1 : 0, b = part ? W : e0;
      for (int ix0 = a; ix0 < b; ix0 += DBLK) {
        const int nx = b - ix0 < DBLK ? b - ix0 : DBLK;
        direct_bwd_row(acc, dy, w, OC, g, c, iy, ix0, nx);
        for (int k = 0; k < nx; k++) row[ix0 + k] += acc[k];
      }
    }
  }
}

void gf__cpu_conv_direct_bwd_data(float *dx, const float *dy, const float *w, int N, int OC, const gf__conv_geom *g) {
  const int C = g->C, H = g->H, W = g->W, ng = (C + 3) / 4;
  /* tile columns ix + [0, 16) read dy columns ix + pw - (kw - 1) ... ix + 15 + pw: all inside
     [0, OW) for ix in [t0, tmax] */
  const int t0 = g->kw - 1 - g->pw > 0 ? g->kw - 1 - g->pw : 0;
  int tmax = g->OW - 16 - g->pw;
  if (tmax > W - 16) tmax = W - 16;
  const int ntile = tmax >= t0 ? (tmax - t0) / 16 + 1 : 0;
  #pragma omp parallel for collapse(2) if ((long)N * C * H * W * g->kh * g->kw * OC > PAR_MIN) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cg = 0; cg < ng; cg++) {
      const int c0 = 4 * cg, nc = C - c0 < 4 ? C - c0 : 4;
      for (int iy = 0; iy < H; iy++)
        direct_bwd_rows(dx + (size_t)n * C * H * W, dy + (size_t)n * OC * g->OH * g->OW, w, OC, g, c0, nc, iy, t0, ntile);
    }
}

/* dw[o, c, i, j0 + [0, NJ)) for one c and one kernel row i (OC, NJ constants once inlined): the
   OC x NJ sums are vector accumulators over every (n, oy) row, each dy segment loaded once for the
   NJ taps and each shifted x segment once for the OC channels, reduced to scalars at the end; the
   columns no whole vector covers (a tap's own edge) are summed one at a time beside them. */
static inline __attribute__((always_inline)) void direct_dw_taps(float *restrict s, const float *restrict x,
                                                                 const float *restrict dy, int N, const int OC,
                                                                 const int NJ, const gf__conv_geom *g, int c, int i,
                                                                 int j0) {
  const int C = g->C, H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
  /* tap j reads x column ox + j - pw: ox in [a_j, b_j); all NJ taps: [A, B) */
  const int A = g->pw - j0 > 0 ? g->pw - j0 : 0;
  int B = W - (j0 + NJ - 1) + g->pw;
  if (B > OW) B = OW;
  const int nv = B > A ? (B - A) / 8 : 0, V = A + 8 * nv; /* vector columns [A, V) */
  dvec r[GF_DIRECT_MAX_OC][4];
  float t[GF_DIRECT_MAX_OC][4];
  for (int o = 0; o < OC; o++)
    for (int q = 0; q < NJ; q++) {
      r[o][q] = (dvec){0};
      t[o][q] = 0.0f;
    }
  for (int n = 0; n < N; n++)
    for (int oy = 0; oy < OH; oy++) {
      const int iy = oy - g->ph + i;
      if (iy < 0 || iy >= H) continue;
      const float *row = x + (((size_t)n * C + c) * H + iy) * W - g->pw + j0; /* column of ox = 0, tap j0 */
      const float *d[GF_DIRECT_MAX_OC];
      for (int o = 0; o < OC; o++) d[o] = dy + (((size_t)n * OC + o) * OH + oy) * OW;
      for (int ox = A; ox < V; ox += 8) {
        dvec dv[GF_DIRECT_MAX_OC];
        for (int o = 0; o < OC; o++) dv[o] = *(const dvec_u *)(d[o] + ox);
        for (int q = 0; q < NJ; q++) {
          const dvec xv = *(const dvec_u *)(row + ox + q);
          for (int o = 0; o < OC; o++) r[o][q] += dv[o] * xv;
        }
      }
      for (int q = 0; q < NJ; q++) { /* tap j0 + q's columns outside [A, V) */
        const int off = j0 + q - g->pw, aq = off < 0 ? -off : 0, bq = W - off < OW ? W - off : OW;
        for (int o = 0; o < OC; o++) {
          float u = 0.0f;
          for (int ox = aq; ox < A && ox < bq; ox++) u += d[o][ox] * row[ox + q];
          for (int ox = V > aq ? V : aq; ox < bq; ox++) u += d[o][ox] * row[ox + q];
          t[o][q] += u;
        }
      }
    }
  for (int o = 0; o < OC; o++)
    for (int q = 0; q < NJ; q++) {
      float v = t[o][q];
      for (int e = 0; e < 8; e++) v += r[o][q][e];
      s[(o * kh + i) * kw + j0 + q] = v;
    }
}

#define DW_TAPS(oc, nj) direct_dw_taps(s, x, dy, N, oc, nj, g, c, i, j0)
#define DW_TAPS_OC(nj)                                                  \
  switch (OC) {                                                         \
  case 1: DW_TAPS(1, nj); break;                                        \
  case 2: DW_TAPS(2, nj); break;                                        \
  case 3: DW_TAPS(3, nj); break;                                        \
  default: DW_TAPS(4, nj); break;                                       \
  }

/* dw[o, c, i, j] for one c, all (o, i, j): kernel rows one at a time, taps 4 at a time. */
GF_CLONES static void direct_dw_chan(float *restrict s, const float *restrict x, const float *restrict dy, int N,
                                     int OC, const gf__conv_geom *g, int c) {
  for (int i = 0; i < g->kh; i++)
    for (int j0 = 0; j0 < g->kw; j0 += 4) switch (g->kw - j0 < 4 ? g->kw - j0 : 4) {
      case 1: DW_TAPS_OC(1); break;
      case 2: DW_TAPS_OC(2); break;
      case 3: DW_TAPS_OC(3); break;
      default: DW_TAPS_OC(4); break;
    }
}
#undef DW_TAPS_OC
#undef DW_TAPS

void gf__cpu_conv_direct_bwd_w(float *dw, const float *x, const float *dy, int N, int OC, const gf__conv_geom *g) {
  const int C = g->C, kk = g->kh * g->kw;
  #pragma omp parallel for if ((long)N * g->OH * g->OW * C * kk * OC > PAR_MIN) schedule(static)
  for (int c = 0; c < C; c++) {
    float s[GF_DIRECT_MAX_OC * 16 * 16];
    direct_dw_chan(s, x, dy, N, OC, g, c);
    for (int o = 0; o < OC; o++)
      for (int k = 0; k < kk; k++) dw[((size_t)o * C + c) * kk + k] += s[o * kk + k];
  }
}
