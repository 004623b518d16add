/* cpu_pwino.c: 4x4 stride-2 padding-1 convolutions (DCGAN's layers) by polyphase Winograd F(4x4, 2x2).
   Split into its four polyphase components X'[(i, by, bx)][r][c] = x[i][2r + by - 1][2c + bx - 1]
   (by, bx in {0, 1}; zero outside), the input becomes 4 IC channels on an (H/2 + 1) x (W/2 + 1)
   grid, and the 4x4 stride-2 kernel a 2x2 stride-1 kernel over them:
       y[o][r][c] = sum_(i, by, bx) sum_(ay, ax) X'[(i, by, bx)][r + ay][c + ax] w'[o][(i, by, bx)][ay][ax],
       w'[o][(i, by, bx)][ay][ax] = w[o][i][2 ay + by][2 ax + bx].
   Winograd F(4x4, 2x2) (interpolation points 0, 1, -1, -2, infinity) computes a 4x4 output tile
   as A^T [(G g G^T) . (B^T d B)] A from its 5x5 patch d: 25 products per (output, input) channel
   pair instead of 4 x 4 x 4 = 64 multiply-adds, 2.56x fewer FLOPs than im2col + sgemm, and over
   the channels those products are 25 GEMMs, as in cpu_wino.c (whose batched GEMM this file
   shares). The split is never stored: a tile's four 5x5 phase patches are read as one 10x10 block
   of whole input rows. The input gradient is, for each phase of dx, a 2x2 convolution of dy
   (zero-padded by 1 on one side) with the flipped phase kernels; the four share one gather of dy
   and are written back together as 8x8 blocks of dx. The weight gradient is the adjoint of the
   filter transform applied to sum_tiles (A dy A^T) . (B^T d B).
   test_conv_grad checks all three passes, for Conv2d and ConvTranspose2d, against a double
   reference. Static partitions only: results do not depend on timing. */
#include <omp.h>
#include <string.h>

#include "cpu/cpu_internal.h"

#define PAR_MIN 32768
#define TM 4           /* output tile side */
#define TA 5           /* input tile side: TM + 2 - 1 */
#define NX GF_PWINO_NX /* TA * TA transformed values per tile */
_Static_assert(TA * TA == NX, "Winograd tile size and GF_PWINO_NX disagree");
#define FB 64 /* (row, column) pairs of the transformed filter per block */

/* r[0..4] = G (a, b): G = [1/2 0; 1/6 1/6; 1/2 -1/2; 1/6 -1/3; 0 1]. */
#define G_APPLY(r0, r1, r2, r3, r4, a, b)        \
  do {                                           \
    const float a_ = (a), b_ = (b);              \
    r0 = 0.5f * a_;                              \
    r1 = (a_ + b_) * (1.0f / 6.0f);              \
    r2 = 0.5f * (a_ - b_);                       \
    r3 = (a_ - 2.0f * b_) * (1.0f / 6.0f);       \
    r4 = b_;                                     \
  } while (0)

/* (r0, r1) = G^T (x0 .. x4), the adjoint of G_APPLY. */
#define GT_APPLY(r0, r1, x0, x1, x2, x3, x4)                                                   \
  do {                                                                                         \
    const float h0 = 0.5f * (x0), h1 = (x1) * (1.0f / 6.0f), h2 = 0.5f * (x2), h3 = (x3) * (1.0f / 6.0f); \
    r0 = h0 + h1 + h2 + h3;                                                                    \
    r1 = h1 - h2 - 2.0f * h3 + (x4);                                                           \
  } while (0)

/* r[0..4] = B^T (x0 .. x4): B^T = [2 1 -2 -1 0; 0 2 3 1 0; 0 -2 1 1 0; 0 1 0 -1 0; 0 -2 -1 2 1]. */
#define BT_APPLY(r0, r1, r2, r3, r4, x0, x1, x2, x3, x4)              \
  do {                                                                \
    const float p0 = (x0), p1 = (x1), p2 = (x2), p3 = (x3), p4 = (x4); \
    r0 = 2.0f * (p0 - p2) + (p1 - p3);                                \
    r1 = 2.0f * p1 + 3.0f * p2 + p3;                                  \
    r2 = p2 + p3 - 2.0f * p1;                                         \
    r3 = p1 - p3;                                                     \
    r4 = 2.0f * (p3 - p1) - p2 + p4;                                  \
  } while (0)

/* r[0..3] = A^T (x0 .. x4): A^T = [1 1 1 1 0; 0 1 -1 -2 0; 0 1 1 4 0; 0 1 -1 -8 1]. */
#define AT_APPLY(r0, r1, r2, r3, x0, x1, x2, x3, x4)                       \
  do {                                                                    \
    const float s12 = (x1) + (x2), d12 = (x1) - (x2), q3 = (x3);           \
    r0 = (x0) + s12 + q3;                                                 \
    r1 = d12 - 2.0f * q3;                                                 \
    r2 = s12 + 4.0f * q3;                                                 \
    r3 = d12 - 8.0f * q3 + (x4);                                          \
  } while (0)

/* r[0..4] = A (q0 .. q3), the adjoint of AT_APPLY. */
#define A_APPLY(r0, r1, r2, r3, r4, q0, q1, q2, q3)               \
  do {                                                          \
    const float a0 = (q0), a1 = (q1), a2 = (q2), a3 = (q3);     \
    r0 = a0;                                                    \
    r1 = a0 + a1 + a2 + a3;                                     \
    r2 = a0 - a1 + a2 - a3;                                     \
    r3 = a0 - 2.0f * a1 + 4.0f * a2 - 8.0f * a3;                \
    r4 = a3;                                                    \
  } while (0)

/* Offset of w'[o][(i, by, bx)][ay][ax] in w [OC, IC, 4, 4], c = 4 i + 2 by + bx. */
static inline size_t wpos(int IC, int o, int c, int ay, int ax) {
  return (((size_t)o * IC + (c >> 2)) * 4 + 2 * ay + ((c >> 1) & 1)) * 4 + 2 * ax + (c & 1);
}

/* U[xi][p][q] = (G g G^T)[xi] over P x Q pairs. ph < 0: (p, q) = (o, c) over OC x 4IC,
   g = w'[o][c]; ph = 2 by + bx: (p, q) = (i, o) over IC x OC, g = w'[o][(i, by, bx)] rotated by
   180 degrees (the kernel of that phase of the input gradient). */
static void filter_transform(float *U, const float *w, int OC, int IC, int ph) {
  const int P = ph >= 0 ? IC : OC, Q = ph >= 0 ? OC : 4 * IC;
  const size_t st = (size_t)P * Q;
  const long nblk = (long)((st + FB - 1) / FB);
  #pragma omp parallel for if (st * NX > PAR_MIN) schedule(static)
  for (long bk = 0; bk < nblk; bk++) {
    const size_t o0 = (size_t)bk * FB;
    const int nb = st - o0 < FB ? (int)(st - o0) : FB;
    float g[2][2][FB], t[TA][2][FB];
    for (int k = 0; k < nb; k++) {
      const int p = (int)((o0 + k) / Q), q = (int)((o0 + k) % Q);
      const int o = ph >= 0 ? q : p, c = ph >= 0 ? 4 * p + ph : q;
      for (int ay = 0; ay < 2; ay++)
        for (int ax = 0; ax < 2; ax++)
          g[ay][ax][k] = ph >= 0 ? w[wpos(IC, o, c, 1 - ay, 1 - ax)] : w[wpos(IC, o, c, ay, ax)];
    }
    for (int b = 0; b < 2; b++) /* G g: 5 x 2 */
      for (int k = 0; k < nb; k++)
        G_APPLY(t[0][b][k], t[1][b][k], t[2][b][k], t[3][b][k], t[4][b][k], g[0][b][k], g[1][b][k]);
    for (int r = 0; r < TA; r++) { /* (G g) G^T: 5 x 5 */
      float *u = U + (size_t)r * TA * st + o0;
      for (int k = 0; k < nb; k++)
        G_APPLY(u[k], u[st + k], u[2 * st + k], u[3 * st + k], u[4 * st + k], t[r][0][k], t[r][1][k]);
    }
  }
}

/* dw[o][i][..] += G^T D[xi][o][c] G, scattered back from the 2x2 phase kernels (D: NX x OC x 4IC). */
static void filter_transform_adj(float *dw, const float *D, int OC, int IC) {
  const int Q = 4 * IC;
  const size_t st = (size_t)OC * Q;
  const long nblk = (long)((st + FB - 1) / FB);
  #pragma omp parallel for if (st * NX > PAR_MIN) schedule(static)
  for (long bk = 0; bk < nblk; bk++) {
    const size_t o0 = (size_t)bk * FB;
    const int nb = st - o0 < FB ? (int)(st - o0) : FB;
    float t[2][TA][FB], r[2][2][FB];
    for (int c = 0; c < TA; c++) { /* G^T D: 2 x 5 */
      const float *d = D + (size_t)c * st + o0;
      for (int k = 0; k < nb; k++)
        GT_APPLY(t[0][c][k], t[1][c][k], d[k], d[TA * st + k], d[2 * TA * st + k], d[3 * TA * st + k],
                 d[4 * TA * st + k]);
    }
    for (int a = 0; a < 2; a++) /* (G^T D) G: 2 x 2 */
      for (int k = 0; k < nb; k++)
        GT_APPLY(r[a][0][k], r[a][1][k], t[a][0][k], t[a][1][k], t[a][2][k], t[a][3][k], t[a][4][k]);
    for (int k = 0; k < nb; k++) {
      const int o = (int)((o0 + k) / Q), c = (int)((o0 + k) % Q);
      for (int ay = 0; ay < 2; ay++)
        for (int ax = 0; ax < 2; ax++) dw[wpos(IC, o, c, ay, ax)] += r[ay][ax][k];
    }
  }
}

/* An H x W plane read with a zero border: grid point (r, c) is plane[(r + o) W + c + o], zero
   outside the plane (o = -1: a border of 1). */
typedef struct grid {
  int H, W, o;
} grid;

#define JB 64 /* tiles transformed together: the transforms are vector loops over them */

/* Image n and first grid point (y, x) of tile t (numbered (n, ty, tx), TH x TW per image). */
static inline void tile_at(long t, int TH, int TW, int *n, int *y, int *x) {
  const long per = (long)TH * TW;
  *n = (int)(t / per);
  *y = TM * (int)(t % per / TW);
  *x = TM * (int)(t % TW);
}

/* [lo, hi): the points i < S of a grid line whose plane coordinate a + i lies in [0, n). */
static inline void span(int a, int n, int S, int *lo, int *hi) {
  int l = a >= 0 ? 0 : -a, h = a > n - 1 ? 0 : n - a;
  if (h > S) h = S;
  *lo = l < h ? l : h;
  *hi = h;
}

/* d[S r + c][k] = the S x S grid patch at (y, x) of plane pl through g (zero outside): a patch
   inside the plane is copied without tests, one on its border is zeroed and its inside copied. */
#define GATHER(d, k, S, pl, g, y, x)                                                                  \
  do {                                                                                                \
    const int ry_ = (y) + (g)->o, rx_ = (x) + (g)->o;                                                 \
    int r0_ = 0, r1_ = (S), c0_ = 0, c1_ = (S);                                                       \
    if (ry_ < 0 || rx_ < 0 || ry_ + (S) > (g)->H || rx_ + (S) > (g)->W) {                             \
      for (int i_ = 0; i_ < (S) * (S); i_++) d[i_][k] = 0.0f;                                         \
      span(ry_, (g)->H, (S), &r0_, &r1_);                                                             \
      span(rx_, (g)->W, (S), &c0_, &c1_);                                                             \
    }                                                                                                 \
    for (int r_ = r0_; r_ < r1_; r_++) {                                                              \
      const float *row_ = (pl) + (size_t)(ry_ + r_) * (g)->W;                                         \
      for (int c_ = c0_; c_ < c1_; c_++) d[(S) * r_ + c_][k] = row_[rx_ + c_];                        \
    }                                                                                                 \
  } while (0)

/* Z[xi][k] = (A q A^T)[xi] for the m <= JB tiles from t0, q their 4x4 patches of the
   output-gradient planes dy + n * pst (OH x OW, zero beyond). */
GF_CLONES static void grad_tiles(float *restrict Z, size_t zs, const float *dy, size_t pst, int OH, int OW, long t0,
                                 int m, int TH, int TW) {
  float q[TM * TM][JB], t[TA * TM][JB];
  const grid g = {OH, OW, 0};
  for (int k = 0; k < m; k++) {
    int n, y, x;
    tile_at(t0 + k, TH, TW, &n, &y, &x);
    GATHER(q, k, TM, dy + (size_t)n * pst, &g, y, x);
  }
  for (int c = 0; c < TM; c++) /* A q: down the columns */
    for (int k = 0; k < m; k++)
      A_APPLY(t[c][k], t[TM + c][k], t[2 * TM + c][k], t[3 * TM + c][k], t[4 * TM + c][k], q[c][k], q[TM + c][k],
              q[2 * TM + c][k], q[3 * TM + c][k]);
  for (int r = 0; r < TA; r++) { /* (A q) A^T: along the rows */
    float *z0 = Z + (size_t)(TA * r) * zs, *z1 = z0 + zs, *z2 = z1 + zs, *z3 = z2 + zs, *z4 = z3 + zs;
    const float *e0 = t[TM * r], *e1 = t[TM * r + 1], *e2 = t[TM * r + 2], *e3 = t[TM * r + 3];
    for (int k = 0; k < m; k++) A_APPLY(z0[k], z1[k], z2[k], z3[k], z4[k], e0[k], e1[k], e2[k], e3[k]);
  }
}

/* The 4x4 output tiles A^T m A of the m <= JB tiles from t0 (m = M[xi][k]) into the OH x OW
   planes p + n * pst: written (beta 0) or added (beta 1); points beyond the plane are dropped. */
GF_CLONES static void output_tiles(float *p, size_t pst, int OH, int OW, const float *restrict M, size_t ms, long t0,
                                   int m, int TH, int TW, float beta) {
  float u[TM * TA][JB], y[TM * TM][JB];
  for (int c = 0; c < TA; c++) { /* A^T m: down the columns */
    const float *m0 = M + (size_t)c * ms, *m1 = m0 + TA * ms, *m2 = m1 + TA * ms, *m3 = m2 + TA * ms, *m4 = m3 + TA * ms;
    for (int k = 0; k < m; k++)
      AT_APPLY(u[c][k], u[TA + c][k], u[2 * TA + c][k], u[3 * TA + c][k], m0[k], m1[k], m2[k], m3[k], m4[k]);
  }
  for (int a = 0; a < TM; a++) { /* (A^T m) A: along the rows */
    const float *e0 = u[TA * a], *e1 = u[TA * a + 1], *e2 = u[TA * a + 2], *e3 = u[TA * a + 3], *e4 = u[TA * a + 4];
    for (int k = 0; k < m; k++)
      AT_APPLY(y[TM * a][k], y[TM * a + 1][k], y[TM * a + 2][k], y[TM * a + 3][k], e0[k], e1[k], e2[k], e3[k], e4[k]);
  }
  for (int k = 0; k < m; k++) {
    int n, ty, tx;
    tile_at(t0 + k, TH, TW, &n, &ty, &tx);
    const int nr = OH - ty < TM ? OH - ty : TM, nc = OW - tx < TM ? OW - tx : TM;
    for (int a = 0; a < nr; a++) {
      float *row = p + (size_t)n * pst + (size_t)(ty + a) * OW + tx;
      for (int b = 0; b < nc; b++) {
        if (beta == 0.0f) row[b] = y[TM * a + b][k];
        else row[b] += y[TM * a + b][k];
      }
    }
  }
}

/* The four polyphase components of the input from one gather: for the m <= JB tiles from t0 at
   grid point (y, x), the 10x10 block of the H x W plane p + n * pst from (2y - 1, 2x - 1) (zero
   outside) holds phase (by, bx)'s 5x5 patch at rows 2r + by, columns 2c + bx; phase ph = 2 by + bx
   writes V + ph * phs, V[xi][k] = (B^T d B)[xi]. Whole rows of the input are read, not four
   stride-2 passes over them. */
GF_CLONES static void input_tiles_x(float *restrict V, size_t vs, size_t phs, const float *p, size_t pst, int H, int W,
                                    long t0, int m, int TH, int TW) {
  float d[4 * NX][JB], t[NX][JB];
  const grid g = {H, W, -1};
  for (int k = 0; k < m; k++) {
    int n, y, x;
    tile_at(t0 + k, TH, TW, &n, &y, &x);
    GATHER(d, k, 2 * TA, p + (size_t)n * pst, &g, 2 * y, 2 * x);
  }
  for (int ph = 0; ph < 4; ph++) {
    const int by = ph >> 1, bx = ph & 1;
#define D10(r, c) d[2 * TA * (2 * (r) + by) + 2 * (c) + bx]
    for (int c = 0; c < TA; c++) /* B^T d: down the columns */
      for (int k = 0; k < m; k++)
        BT_APPLY(t[c][k], t[TA + c][k], t[2 * TA + c][k], t[3 * TA + c][k], t[4 * TA + c][k], D10(0, c)[k],
                 D10(1, c)[k], D10(2, c)[k], D10(3, c)[k], D10(4, c)[k]);
#undef D10
    for (int r = 0; r < TA; r++) { /* (B^T d) B: along the rows */
      float *v0 = V + ph * phs + (size_t)(TA * r) * vs, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs, *v4 = v3 + vs;
      const float *e0 = t[TA * r], *e1 = t[TA * r + 1], *e2 = t[TA * r + 2], *e3 = t[TA * r + 3], *e4 = t[TA * r + 4];
      for (int k = 0; k < m; k++) BT_APPLY(v0[k], v1[k], v2[k], v3[k], v4[k], e0[k], e1[k], e2[k], e3[k], e4[k]);
    }
  }
}

/* The input gradient's four phases from one gather: for the m <= JB tiles from t0, the 6x6
   patch of dy (OH x OW, zero outside) from grid point (y - 1, x - 1); phase (by, bx) reads its
   5x5 sub-patch from (1 - by, 1 - bx) and writes V + ph * phs, V[xi][k] = (B^T d B)[xi]. */
GF_CLONES static void input_tiles4(float *restrict V, size_t vs, size_t phs, const float *dy, size_t pst, int OH,
                                   int OW, long t0, int m, int TH, int TW) {
  float d[(TA + 1) * (TA + 1)][JB], t[NX][JB];
  const grid g = {OH, OW, -1};
  for (int k = 0; k < m; k++) {
    int n, y, x;
    tile_at(t0 + k, TH, TW, &n, &y, &x);
    GATHER(d, k, TA + 1, dy + (size_t)n * pst, &g, y, x);
  }
  for (int ph = 0; ph < 4; ph++) {
    const int r0 = 1 - (ph >> 1), c0 = 1 - (ph & 1);
#define D6(r, c) d[(TA + 1) * (r0 + (r)) + c0 + (c)]
    for (int c = 0; c < TA; c++) /* B^T d: down the columns */
      for (int k = 0; k < m; k++)
        BT_APPLY(t[c][k], t[TA + c][k], t[2 * TA + c][k], t[3 * TA + c][k], t[4 * TA + c][k], D6(0, c)[k], D6(1, c)[k],
                 D6(2, c)[k], D6(3, c)[k], D6(4, c)[k]);
#undef D6
    for (int r = 0; r < TA; r++) { /* (B^T d) B: along the rows */
      float *v0 = V + ph * phs + (size_t)(TA * r) * vs, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs, *v4 = v3 + vs;
      const float *e0 = t[TA * r], *e1 = t[TA * r + 1], *e2 = t[TA * r + 2], *e3 = t[TA * r + 3], *e4 = t[TA * r + 4];
      for (int k = 0; k < m; k++) BT_APPLY(v0[k], v1[k], v2[k], v3[k], v4[k], e0[k], e1[k], e2[k], e3[k], e4[k]);
    }
  }
}

/* The input gradient's four phases written together: for the m <= JB tiles from t0, phase
   (by, bx)'s 4x4 tile A^T m A (m = M + ph * phs) holds dx rows 2(y + a) + 1 - by, columns
   2(x + b) + 1 - bx: the four make the 8x8 block of dx (H x W) at (2y, 2x), written (beta 0) or
   added (beta 1) row by row. */
GF_CLONES static void output_tiles4(float *p, size_t pst, int H, int W, const float *restrict M, size_t ms, size_t phs,
                                    long t0, int m, int TH, int TW, float beta) {
  float u[TM * TA][JB], y[4][TM * TM][JB];
  for (int ph = 0; ph < 4; ph++) {
    const float *Mp = M + ph * phs;
    for (int c = 0; c < TA; c++) { /* A^T m: down the columns */
      const float *m0 = Mp + (size_t)c * ms, *m1 = m0 + TA * ms, *m2 = m1 + TA * ms, *m3 = m2 + TA * ms,
                  *m4 = m3 + TA * ms;
      for (int k = 0; k < m; k++)
        AT_APPLY(u[c][k], u[TA + c][k], u[2 * TA + c][k], u[3 * TA + c][k], m0[k], m1[k], m2[k], m3[k], m4[k]);
    }
    for (int a = 0; a < TM; a++) { /* (A^T m) A: along the rows */
      const float *e0 = u[TA * a], *e1 = u[TA * a + 1], *e2 = u[TA * a + 2], *e3 = u[TA * a + 3], *e4 = u[TA * a + 4];
      float *y0 = y[ph][TM * a], *y1 = y[ph][TM * a + 1], *y2 = y[ph][TM * a + 2], *y3 = y[ph][TM * a + 3];
      for (int k = 0; k < m; k++) AT_APPLY(y0[k], y1[k], y2[k], y3[k], e0[k], e1[k], e2[k], e3[k], e4[k]);
    }
  }
  for (int k = 0; k < m; k++) {
    int n, ty, tx;
    tile_at(t0 + k, TH, TW, &n, &ty, &tx);
    const int ry = 2 * ty, rx = 2 * tx, nr = H - ry < 2 * TM ? H - ry : 2 * TM, nc = W - rx < 2 * TM ? W - rx : 2 * TM;
    float *blk = p + (size_t)n * pst + (size_t)ry * W + rx;
    for (int rr = 0; rr < nr; rr++) {
      const int a = rr >> 1, by = 1 - (rr & 1);
      float *row = blk + (size_t)rr * W, v[2 * TM];
      for (int cc = 0; cc < 2 * TM; cc++) v[cc] = y[2 * by + 1 - (cc & 1)][TM * a + (cc >> 1)][k];
      if (beta == 0.0f) memcpy(row, v, sizeof(float) * (size_t)nc);
      else for (int cc = 0; cc < nc; cc++) row[cc] += v[cc];
    }
  }
}

/* Blocks of at most tb (<= GF_WINO_MAX_TB) tiles, all about the same size: the last block of T
   tiles in blocks of tb could be nearly empty, and the GEMMs of a block are split over the threads. */
static int balanced(long T, int tb) {
  if (tb > GF_WINO_MAX_TB) tb = GF_WINO_MAX_TB;
  const long nblk = (T + tb - 1) / tb;
  return nblk > 0 ? (int)((T + nblk - 1) / nblk) : tb;
}

/* V[xi][4 i + ph][0 .. nb) (row length TB) = the transformed phase ph of input channel i, for
   tiles t0 .. t0 + nb - 1 of x [N, IC, H, W]. */
static void transform_x(float *V, int TB, const float *x, int IC, int H, int W, long t0, int nb) {
  const int TH = (H / 2 + TM - 1) / TM, TW = (W / 2 + TM - 1) / TM, nj = (nb + JB - 1) / JB;
  const size_t vs = (size_t)4 * IC * TB;
  #pragma omp parallel for collapse(2) if ((long)4 * IC * nb * NX > PAR_MIN) schedule(static)
  for (int i = 0; i < IC; i++)
    for (int j = 0; j < nj; j++) {
      const int m = nb - j * JB < JB ? nb - j * JB : JB;
      input_tiles_x(V + (size_t)4 * i * TB + j * JB, vs, TB, x + (size_t)i * H * W, (size_t)IC * H * W, H, W,
                    t0 + j * JB, m, TH, TW);
    }
}

void gf__cpu_pwino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, float beta,
                       float *ws, int TB) {
  const int OH = H / 2, OW = W / 2, TH = (OH + TM - 1) / TM, TW = (OW + TM - 1) / TM, C4 = 4 * IC;
  const long T = (long)N * TH * TW;
  TB = balanced(T, TB);
  float *U = ws, *V = U + (size_t)NX * OC * C4, *M = V + (size_t)NX * C4 * TB;
  const size_t vs = (size_t)C4 * TB, ms = (size_t)OC * TB;
  filter_transform(U, w, OC, IC, -1);
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), nj = (nb + JB - 1) / JB;
    transform_x(V, TB, x, IC, H, W, t0, nb);
    /* M[xi] [OC, nb] = U[xi] [OC, 4IC] . V[xi] [4IC, nb] */
    gf__cpu_gemm_batch(NX, 0, OC, nb, C4, U, (size_t)OC * C4, C4, V, vs, TB, 0.0f, M, ms, TB);
    #pragma omp parallel for collapse(2) if ((long)OC * nb * NX > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int j = 0; j < nj; j++) {
        const int m = nb - j * JB < JB ? nb - j * JB : JB;
        output_tiles(y + (size_t)o * OH * OW, (size_t)OC * OH * OW, OH, OW, M + (size_t)o * TB + j * JB, ms,
                     t0 + j * JB, m, TH, TW, beta);
      }
  }
}

/* Phase (by, bx) of dx (rows 2r + 1 - by, columns 2c + 1 - bx, r < H/2, c < W/2) is a 2x2
   convolution of dy, zero-padded by 1 before the phase's rows (by = 1) or after them (by = 0),
   with the rotated kernels w'[o][(i, by, bx)]: four convolutions over the H/2 x W/2 grid (no tile
   spent on the extra row and column of the (H/2 + 1)-sided phase grid), whose input transforms
   share one gather of dy and whose outputs are written together as 8x8 blocks of dx. */
void gf__cpu_pwino_bwd_data(float *dx, const float *dy, const float *w, int N, int IC, int H, int W, int OC, float beta,
                            float *ws, int TB) {
  const int OH = H / 2, OW = W / 2, TH = (OH + TM - 1) / TM, TW = (OW + TM - 1) / TM;
  const long T = (long)N * TH * TW;
  TB = balanced(T, TB);
  const size_t us = (size_t)NX * IC * OC; /* floats of one phase's transformed filter */
  const size_t vs = (size_t)OC * TB, ms = (size_t)IC * TB, vph = (size_t)NX * vs, mph = (size_t)NX * ms;
  float *U = ws, *V = U + 4 * us, *M = V + 4 * vph;
  for (int ph = 0; ph < 4; ph++) filter_transform(U + ph * us, w, OC, IC, ph);
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), nj = (nb + JB - 1) / JB;
    #pragma omp parallel for collapse(2) if ((long)OC * nb * NX > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int j = 0; j < nj; j++) {
        const int m = nb - j * JB < JB ? nb - j * JB : JB;
        input_tiles4(V + (size_t)o * TB + j * JB, vs, vph, dy + (size_t)o * OH * OW, (size_t)OC * OH * OW, OH, OW,
                     t0 + j * JB, m, TH, TW);
      }
    /* M[ph][xi] [IC, nb] = U[ph][xi] [IC, OC] . V[ph][xi] [OC, nb]: 4 x 25 GEMMs */
    gf__cpu_gemm_batch(4 * NX, 0, IC, nb, OC, U, (size_t)IC * OC, OC, V, vs, TB, 0.0f, M, ms, TB);
    #pragma omp parallel for collapse(2) if ((long)IC * nb * NX > PAR_MIN) schedule(static)
    for (int i = 0; i < IC; i++)
      for (int j = 0; j < nj; j++) {
        const int m = nb - j * JB < JB ? nb - j * JB : JB;
        output_tiles4(dx + (size_t)i * H * W, (size_t)IC * H * W, H, W, M + (size_t)i * TB + j * JB, ms, mph,
                      t0 + j * JB, m, TH, TW, beta);
      }
  }
}

void gf__cpu_pwino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, float *ws,
                      int TB) {
  const int OH = H / 2, OW = W / 2, TH = (OH + TM - 1) / TM, TW = (OW + TM - 1) / TM, C4 = 4 * IC;
  const long T = (long)N * TH * TW;
  TB = balanced(T, TB);
  float *D = ws, *V = D + (size_t)NX * OC * C4, *Z = V + (size_t)NX * C4 * TB;
  const size_t vs = (size_t)C4 * TB, zs = (size_t)OC * TB;
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), nj = (nb + JB - 1) / JB;
    transform_x(V, TB, x, IC, H, W, t0, nb);
    #pragma omp parallel for collapse(2) if ((long)OC * nb * NX > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int j = 0; j < nj; j++) {
        const int m = nb - j * JB < JB ? nb - j * JB : JB;
        grad_tiles(Z + (size_t)o * TB + j * JB, zs, dy + (size_t)o * OH * OW, (size_t)OC * OH * OW, OH, OW,
                   t0 + j * JB, m, TH, TW);
      }
    /* D[xi] [OC, 4IC] (+)= Z[xi] [OC, nb] . V[xi]^T [nb, 4IC] */
    gf__cpu_gemm_batch(NX, 1, OC, C4, nb, Z, zs, TB, V, vs, TB, t0 ? 1.0f : 0.0f, D, (size_t)OC * C4, C4);
  }
  filter_transform_adj(dw, D, OC, IC);
}
