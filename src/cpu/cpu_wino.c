/* cpu_wino.c: Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray 2015).
   Each 4x4 output tile is A^T [(G g G^T) . (B^T d B)] A of its 6x6 input patch d (interpolation
   points 0, +-1, +-2, infinity): the 9 x 4 x 4 = 144 multiply-adds of a tile become 36
   element-wise products per (input, output) channel pair, and over channels those products are
   36 GEMMs  M[xi] [OC, T] = U[xi] [OC, IC] x V[xi] [IC, T]  (4x fewer FLOPs than im2col +
   sgemm). test_conv_grad checks forward and both gradients against a double reference.

   Tiles are numbered over (n, ty, tx) and processed TB at a time, so the work space is
   36 * (OC*IC + (IC + OC) * TB) floats whatever the image size. Everything is a static partition
   (channels or the 36 GEMMs over the threads): results do not depend on timing. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "cpu/cpu_internal.h"

#define PAR_MIN 32768
#define PIECE 64 /* tiles of one tile row transformed together (row buffers on the stack) */
#define TM 4     /* output tile side */
#define TA 6     /* input tile side: TM + 3 - 1 */
#define NX GF_WINO_NX /* TA * TA transformed values per tile */
_Static_assert(TA * TA == NX, "Winograd tile size and GF_WINO_NX disagree");
#define FB 64    /* (output, input) channel pairs per filter-transform block */

/* A run of tiles inside one tile row: image n, tile row ty, tiles tx0 .. tx0 + nt - 1, stored at
   column j of the block. */
typedef struct seg {
  int n, ty, tx0, nt, j;
} seg;

/* Splits block [t0, t1) of the tiles (TH x TW per image) into pieces of tile rows. */
static int segments(seg *s, int cap, long t0, long t1, int TH, int TW) {
  int k = 0;
  long t = t0;
  while (t < t1 && k < cap) {
    long per = (long)TH * TW;
    int n = (int)(t / per), ty = (int)(t % per / TW), tx = (int)(t % TW);
    long left = t1 - t;
    int nt = TW - tx;
    if (nt > PIECE) nt = PIECE;
    if (nt > left) nt = (int)left;
    s[k++] = (seg){n, ty, tx, nt, (int)(t - t0)};
    t += nt;
  }
  return k;
}

/* The count GEMMs of a Winograd block, split over the threads (OpenBLAS single-threaded inside),
   or threaded GEMMs one after the other when there is one thread (shared with cpu_pwino.c).
   C[x] = A[x] op(B[x]) + beta C[x] (op: transposed when tb). */
void gf__cpu_gemm_batch(int count, int tb, int M, int N, int K, const float *A, size_t as, int lda, const float *B,
                        size_t bs, int ldb, float beta, float *C, size_t cs, int ldc) {
  const int nt = omp_get_max_threads();
  if (nt > 1) openblas_set_num_threads(1);
  #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int x = 0; x < count; x++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A + (size_t)x * as, lda,
                B + (size_t)x * bs, ldb, beta, C + (size_t)x * cs, ldc);
  if (nt > 1) openblas_set_num_threads(nt);
}

/* r[0..5] = G x for x = (x0, x1, x2): G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
   1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]. */
#define G_APPLY(r0, r1, r2, r3, r4, r5, x0, x1, x2)                     \
  do {                                                                  \
    const float a_ = (x0), b_ = (x1), c_ = (x2);                        \
    r0 = 0.25f * a_;                                                    \
    r1 = -(a_ + b_ + c_) * (1.0f / 6.0f);                               \
    r2 = -(a_ - b_ + c_) * (1.0f / 6.0f);                               \
    r3 = a_ * (1.0f / 24.0f) + b_ * (1.0f / 12.0f) + c_ * (1.0f / 6.0f); \
    r4 = a_ * (1.0f / 24.0f) - b_ * (1.0f / 12.0f) + c_ * (1.0f / 6.0f); \
    r5 = c_;                                                            \
  } while (0)

/* U[xi][o][i] = (G g G^T)[xi]; g = w[o][i] or, flipped, w[i][o] rotated by 180 degrees.
   Blocks of FB channel pairs keep every inner loop contiguous (vectorised). */
static void filter_transform(float *U, const float *w, int OC, int IC, int flip) {
  const size_t st = (size_t)OC * IC;
  const long nblk = (long)((st + FB - 1) / FB);
  #pragma omp parallel for if (st * NX > PAR_MIN) schedule(static)
  for (long bk = 0; bk < nblk; bk++) {
    const size_t o0 = (size_t)bk * FB;
    const int nb = st - o0 < FB ? (int)(st - o0) : FB;
    float g[9][FB], t[TA][3][FB];
    for (int k = 0; k < nb; k++) {
      const size_t oi = o0 + k;
      if (!flip) {
        const float *p = w + oi * 9;
        for (int q = 0; q < 9; q++) g[q][k] = p[q];
      } else {
        const int o = (int)(oi / IC), i = (int)(oi % IC);
        const float *p = w + ((size_t)i * OC + o) * 9;
        for (int q = 0; q < 9; q++) g[q][k] = p[8 - q];
      }
    }
    for (int b = 0; b < 3; b++) /* G g: 6 x 3 */
      for (int k = 0; k < nb; k++)
        G_APPLY(t[0][b][k], t[1][b][k], t[2][b][k], t[3][b][k], t[4][b][k], t[5][b][k], g[b][k], g[3 + b][k], g[6 + b][k]);
    for (int r = 0; r < TA; r++) { /* (G g) G^T: 6 x 6 */
      float *u = U + (size_t)r * TA * st + o0;
      for (int k = 0; k < nb; k++)
        G_APPLY(u[k], u[st + k], u[2 * st + k], u[3 * st + k], u[4 * st + k], u[5 * st + k], t[r][0][k], t[r][1][k], t[r][2][k]);
    }
  }
}

/* r[0..2] = G^T x for x = (x0 .. x5) (the adjoint of G_APPLY). */
#define GT_APPLY(r0, r1, r2, x0, x1, x2, x3, x4, x5)                                 \
  do {                                                                              \
    const float s12 = (x1) + (x2), d21 = (x2) - (x1), s34 = (x3) + (x4), d34 = (x3) - (x4); \
    r0 = 0.25f * (x0) - s12 * (1.0f / 6.0f) + s34 * (1.0f / 24.0f);                 \
    r1 = d21 * (1.0f / 6.0f) + d34 * (1.0f / 12.0f);                                \
    r2 = (s34 - s12) * (1.0f / 6.0f) + (x5);                                        \
  } while (0)

/* dw[o][i] += G^T D[xi] G (the adjoint of filter_transform, not flipped), FB pairs at a time. */
static void filter_transform_adj(float *dw, const float *D, int OC, int IC) {
  const size_t st = (size_t)OC * IC;
  const long nblk = (long)((st + FB - 1) / FB);
  #pragma omp parallel for if (st * NX > PAR_MIN) schedule(static)
  for (long bk = 0; bk < nblk; bk++) {
    const size_t o0 = (size_t)bk * FB;
    const int nb = st - o0 < FB ? (int)(st - o0) : FB;
    float t[3][TA][FB], r[3][3][FB];
    for (int c = 0; c < TA; c++) { /* G^T D: 3 x 6 */
      const float *d = D + (size_t)c * st + o0;
      for (int k = 0; k < nb; k++)
        GT_APPLY(t[0][c][k], t[1][c][k], t[2][c][k], d[k], d[TA * st + k], d[2 * TA * st + k], d[3 * TA * st + k],
                 d[4 * TA * st + k], d[5 * TA * st + k]);
    }
    for (int a = 0; a < 3; a++) /* (G^T D) G: 3 x 3 */
      for (int k = 0; k < nb; k++)
        GT_APPLY(r[a][0][k], r[a][1][k], r[a][2][k], t[a][0][k], t[a][1][k], t[a][2][k], t[a][3][k], t[a][4][k], t[a][5][k]);
    for (int k = 0; k < nb; k++) {
      float *p = dw + (o0 + k) * 9;
      for (int q = 0; q < 9; q++) p[q] += r[q / 3][q % 3][k];
    }
  }
}

/* r[0..5] = B^T x for x = (x0 .. x5): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
   0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]. */
#define BT_APPLY(r0, r1, r2, r3, r4, r5, x0, x1, x2, x3, x4, x5) \
  do {                                                          \
    const float p0 = (x0), p1 = (x1), p2 = (x2), p3 = (x3), p4 = (x4), p5 = (x5); \
    r0 = 4.0f * p0 - 5.0f * p2 + p4;                            \
    r1 = p3 + p4 - 4.0f * (p1 + p2);                            \
    r2 = p4 - p3 + 4.0f * (p1 - p2);                            \
    r3 = p4 - p2 + 2.0f * (p3 - p1);                            \
    r4 = p4 - p2 + 2.0f * (p1 - p3);                            \
    r5 = 4.0f * p1 - 5.0f * p3 + p5;                            \
  } while (0)

/* V[xi][c][j..] = B^T d B for the tiles of a segment of plane xp (H x W, zero padding ph, pw).
   vs: floats between consecutive xi; ld: the row length of V. */
static void input_segment(float *V, size_t vs, const float *xp, int H, int W, int ph, int pw, const seg *s) {
  float d[TA][TM * PIECE + 2], t[TA][TM * PIECE + 2];
  const int y0 = TM * s->ty - ph, x0 = TM * s->tx0 - pw, wd = TM * s->nt + 2;
  const int c0 = x0 < 0 ? -x0 : 0, c1 = W - x0 < wd ? W - x0 : wd; /* valid columns [c0, c1) */
  for (int r = 0; r < TA; r++) {
    const int y = y0 + r;
    if (y < 0 || y >= H || c1 <= c0) { memset(d[r], 0, sizeof(float) * (size_t)wd); continue; }
    for (int c = 0; c < c0; c++) d[r][c] = 0.0f;
    memcpy(d[r] + c0, xp + (size_t)y * W + x0 + c0, sizeof(float) * (size_t)(c1 - c0));
    for (int c = c1; c < wd; c++) d[r][c] = 0.0f;
  }
  for (int c = 0; c < wd; c++) /* B^T d: rows */
    BT_APPLY(t[0][c], t[1][c], t[2][c], t[3][c], t[4][c], t[5][c], d[0][c], d[1][c], d[2][c], d[3][c], d[4][c], d[5][c]);
  for (int r = 0; r < TA; r++) { /* (B^T d) B: columns */
    float *v0 = V + (size_t)(TA * r) * vs + s->j, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs, *v4 = v3 + vs, *v5 = v4 + vs;
    const float *tr = t[r];
    for (int k = 0; k < s->nt; k++) {
      const float *e = tr + TM * k;
      BT_APPLY(v0[k], v1[k], v2[k], v3[k], v4[k], v5[k], e[0], e[1], e[2], e[3], e[4], e[5]);
    }
  }
}

/* r[0..5] = A x for x = (x0 .. x3): A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]. */
#define A_APPLY(r0, r1, r2, r3, r4, r5, x0, x1, x2, x3)          \
  do {                                                          \
    const float q0 = (x0), q1 = (x1), q2 = (x2), q3 = (x3);     \
    const float ev = q0 + q2, od = q1 + q3, ev4 = q0 + 4.0f * q2, od4 = 2.0f * q1 + 8.0f * q3; \
    r0 = q0;                                                    \
    r1 = ev + od;                                               \
    r2 = ev - od;                                               \
    r3 = ev4 + od4;                                             \
    r4 = ev4 - od4;                                             \
    r5 = q3;                                                    \
  } while (0)

/* Z[xi][o][j..] = A dy A^T for the tiles of a segment of the output-gradient plane (OH x OW). */
static void grad_segment(float *Z, size_t zs, const float *dyp, int OH, int OW, const seg *s) {
  float q[TM][TM * PIECE], t[TA][TM * PIECE];
  const int y0 = TM * s->ty, x0 = TM * s->tx0, wd = TM * s->nt;
  const int c1 = OW - x0 < wd ? OW - x0 : wd;
  for (int r = 0; r < TM; r++) {
    const int y = y0 + r;
    if (y >= OH) { memset(q[r], 0, sizeof(float) * (size_t)wd); continue; }
    memcpy(q[r], dyp + (size_t)y * OW + x0, sizeof(float) * (size_t)c1);
    for (int c = c1; c < wd; c++) q[r][c] = 0.0f;
  }
  for (int c = 0; c < wd; c++) /* A q: rows */
    A_APPLY(t[0][c], t[1][c], t[2][c], t[3][c], t[4][c], t[5][c], q[0][c], q[1][c], q[2][c], q[3][c]);
  for (int r = 0; r < TA; r++) { /* (A q) A^T: columns */
    float *z0 = Z + (size_t)(TA * r) * zs + s->j, *z1 = z0 + zs, *z2 = z1 + zs, *z3 = z2 + zs, *z4 = z3 + zs, *z5 = z4 + zs;
    const float *tr = t[r];
    for (int k = 0; k < s->nt; k++) {
      const float *e = tr + TM * k;
      A_APPLY(z0[k], z1[k], z2[k], z3[k], z4[k], z5[k], e[0], e[1], e[2], e[3]);
    }
  }
}

/* r[0..3] = A^T x for x = (x0 .. x5). */
#define AT_APPLY(r0, r1, r2, r3, x0, x1, x2, x3, x4, x5)                   \
  do {                                                                    \
    const float m1_ = (x1), m2_ = (x2), m3_ = (x3), m4_ = (x4);            \
    const float s12 = m1_ + m2_, d12 = m1_ - m2_, s34 = m3_ + m4_, d34 = m3_ - m4_; \
    r0 = (x0) + s12 + s34;                                                \
    r1 = d12 + 2.0f * d34;                                                \
    r2 = s12 + 4.0f * s34;                                                \
    r3 = d12 + 8.0f * d34 + (x5);                                         \
  } while (0)

/* y tiles of a segment = A^T m A (m = M[xi][o][j..]); written (beta 0) or added (beta 1). */
static void output_segment(float *yp, int OH, int OW, const float *M, size_t ms, const seg *s, float beta) {
  float u[TM][TA][PIECE], y[TM][TM * PIECE];
  for (int c = 0; c < TA; c++) { /* A^T m: rows */
    const float *m0 = M + (size_t)c * ms + s->j, *m1 = m0 + TA * ms, *m2 = m1 + TA * ms, *m3 = m2 + TA * ms,
                *m4 = m3 + TA * ms, *m5 = m4 + TA * ms;
    for (int k = 0; k < s->nt; k++)
      AT_APPLY(u[0][c][k], u[1][c][k], u[2][c][k], u[3][c][k], m0[k], m1[k], m2[k], m3[k], m4[k], m5[k]);
  }
  for (int a = 0; a < TM; a++) /* (A^T m) A: columns */
    for (int k = 0; k < s->nt; k++) {
      float *e = y[a] + TM * k;
      AT_APPLY(e[0], e[1], e[2], e[3], u[a][0][k], u[a][1][k], u[a][2][k], u[a][3][k], u[a][4][k], u[a][5][k]);
    }
  const int x0 = TM * s->tx0, wd = TM * s->nt < OW - x0 ? TM * s->nt : OW - x0;
  for (int a = 0; a < TM; a++) {
    const int oy = TM * s->ty + a;
    if (oy >= OH) break;
    float *d = yp + (size_t)oy * OW + x0;
    if (beta == 0.0f) memcpy(d, y[a], sizeof(float) * (size_t)wd);
    else for (int k = 0; k < wd; k++) d[k] += y[a][k];
  }
}

#define MAXSEG GF_WINO_MAX_TB /* a block of tb tiles has at most tb segments */

void gf__cpu_wino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, int ph, int pw,
                      int flip, float beta, float *ws, int TB) {
  const int OH = H + 2 * ph - 2, OW = W + 2 * pw - 2, TH = (OH + TM - 1) / TM, TW = (OW + TM - 1) / TM;
  const long T = (long)N * TH * TW;
  float *U = ws, *V = U + (size_t)NX * OC * IC, *M = V + (size_t)NX * IC * TB;
  const size_t vs = (size_t)IC * TB, ms = (size_t)OC * TB;
  seg sg[MAXSEG];
  if (TB > MAXSEG) TB = MAXSEG;
  filter_transform(U, w, OC, IC, flip);
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), ns = segments(sg, MAXSEG, t0, t1, TH, TW);
    #pragma omp parallel for collapse(2) if ((long)IC * nb * NX > PAR_MIN) schedule(static)
    for (int i = 0; i < IC; i++)
      for (int k = 0; k < ns; k++)
        input_segment(V + (size_t)i * TB, vs, x + ((size_t)sg[k].n * IC + i) * H * W, H, W, ph, pw, &sg[k]);
    gf__cpu_gemm_batch(NX, 0, OC, nb, IC, U, (size_t)OC * IC, IC, V, vs, TB, 0.0f, M, ms, TB);
    #pragma omp parallel for collapse(2) if ((long)OC * nb * NX > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int k = 0; k < ns; k++)
        output_segment(y + ((size_t)sg[k].n * OC + o) * OH * OW, OH, OW, M + (size_t)o * TB, ms, &sg[k], beta);
  }
}

void gf__cpu_wino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, int ph, int pw,
                     float *ws, int TB) {
  const int OH = H + 2 * ph - 2, OW = W + 2 * pw - 2, TH = (OH + TM - 1) / TM, TW = (OW + TM - 1) / TM;
  const long T = (long)N * TH * TW;
  float *D = ws, *V = D + (size_t)NX * OC * IC, *Z = V + (size_t)NX * IC * TB;
  const size_t vs = (size_t)IC * TB, zs = (size_t)OC * TB;
  seg sg[MAXSEG];
  if (TB > MAXSEG) TB = MAXSEG;
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), ns = segments(sg, MAXSEG, t0, t1, TH, TW);
    #pragma omp parallel for collapse(2) if ((long)IC * nb * NX > PAR_MIN) schedule(static)
    for (int i = 0; i < IC; i++)
      for (int k = 0; k < ns; k++)
        input_segment(V + (size_t)i * TB, vs, x + ((size_t)sg[k].n * IC + i) * H * W, H, W, ph, pw, &sg[k]);
    #pragma omp parallel for collapse(2) if ((long)OC * nb * NX > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int k = 0; k < ns; k++)
        grad_segment(Z + (size_t)o * TB, zs, dy + ((size_t)sg[k].n * OC + o) * OH * OW, OH, OW, &sg[k]);
    /* D[xi] [OC, IC] (+)= Z[xi] [OC, nb] . V[xi]^T [nb, IC] */
    gf__cpu_gemm_batch(NX, 1, OC, IC, nb, Z, zs, TB, V, vs, TB, t0 ? 1.0f : 0.0f, D, (size_t)OC * IC, IC);
  }
  filter_transform_adj(dw, D, OC, IC);
}
