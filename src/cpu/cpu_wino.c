/* cpu_wino.c: Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray 2015).
   Each 2x2 output tile is A^T [(G g G^T) . (B^T d B)] A of its 4x4 input patch d: the 9 x 2 x 2
   = 36 multiply-adds of a tile become 16 element-wise products per (input, output) channel pair,
   and over channels those products are 16 GEMMs  M[xi] [OC, T] = U[xi] [OC, IC] x V[xi] [IC, T]
   (2.25x fewer FLOPs than im2col + sgemm). The transforms only add, subtract and halve, so the
   rounding stays close to the direct sum's (test_conv_grad checks against a double reference).

   Tiles are numbered over (n, ty, tx) and processed TB at a time, so the work space is
   16 * (OC*IC + (IC + OC) * TB) floats whatever the image size. Everything is a static partition
   (channels or the 16 GEMMs over the threads): results do not depend on timing. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "cpu/cpu_internal.h"

#define PAR_MIN 32768
#define PIECE 64 /* tiles of one tile row transformed together (row buffers on the stack) */

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

/* U[xi][o][i] = (G g G^T)[xi]; g = w[o][i] or, flipped, w[i][o] rotated by 180 degrees. */
static void filter_transform(float *U, const float *w, int OC, int IC, int flip) {
  const size_t st = (size_t)OC * IC;
  #pragma omp parallel for if (st * 16 > PAR_MIN) schedule(static)
  for (long oi = 0; oi < (long)st; oi++) {
    const int o = (int)(oi / IC), i = (int)(oi % IC);
    float g[3][3], t[4][3];
    if (!flip) {
      const float *p = w + ((size_t)o * IC + i) * 9;
      for (int a = 0; a < 3; a++) for (int b = 0; b < 3; b++) g[a][b] = p[a * 3 + b];
    } else {
      const float *p = w + ((size_t)i * OC + o) * 9;
      for (int a = 0; a < 3; a++) for (int b = 0; b < 3; b++) g[a][b] = p[(2 - a) * 3 + (2 - b)];
    }
    for (int b = 0; b < 3; b++) { /* G g */
      t[0][b] = g[0][b];
      t[1][b] = 0.5f * (g[0][b] + g[1][b] + g[2][b]);
      t[2][b] = 0.5f * (g[0][b] - g[1][b] + g[2][b]);
      t[3][b] = g[2][b];
    }
    for (int a = 0; a < 4; a++) { /* (G g) G^T */
      float *u = U + (size_t)a * 4 * st + oi;
      u[0] = t[a][0];
      u[st] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
      u[2 * st] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
      u[3 * st] = t[a][2];
    }
  }
}

/* dw[o][i] += G^T D[xi] G (the adjoint of filter_transform, not flipped). */
static void filter_transform_adj(float *dw, const float *D, int OC, int IC) {
  const size_t st = (size_t)OC * IC;
  #pragma omp parallel for if (st * 16 > PAR_MIN) schedule(static)
  for (long oi = 0; oi < (long)st; oi++) {
    float d[4][4], t[3][4];
    for (int x = 0; x < 16; x++) d[x / 4][x % 4] = D[(size_t)x * st + oi];
    for (int b = 0; b < 4; b++) { /* G^T D: 3 x 4 */
      t[0][b] = d[0][b] + 0.5f * (d[1][b] + d[2][b]);
      t[1][b] = 0.5f * (d[1][b] - d[2][b]);
      t[2][b] = 0.5f * (d[1][b] + d[2][b]) + d[3][b];
    }
    float *p = dw + (size_t)oi * 9;
    for (int a = 0; a < 3; a++) { /* (G^T D) G */
      p[a * 3 + 0] += t[a][0] + 0.5f * (t[a][1] + t[a][2]);
      p[a * 3 + 1] += 0.5f * (t[a][1] - t[a][2]);
      p[a * 3 + 2] += 0.5f * (t[a][1] + t[a][2]) + t[a][3];
    }
  }
}

/* V[xi][c][j..] = B^T d B for the tiles of a segment of plane xp (H x W, zero padding ph, pw).
   vs: floats between consecutive xi; ld: the row length of V. */
static void input_segment(float *V, size_t vs, const float *xp, int H, int W, int ph, int pw, const seg *s) {
  float d[4][2 * PIECE + 2], t[4][2 * PIECE + 2];
  const int y0 = 2 * s->ty - ph, x0 = 2 * s->tx0 - pw, wd = 2 * s->nt + 2;
  const int c0 = x0 < 0 ? -x0 : 0, c1 = W - x0 < wd ? W - x0 : wd; /* valid columns [c0, c1) */
  for (int r = 0; r < 4; r++) {
    const int y = y0 + r;
    if (y < 0 || y >= H || c1 <= c0) { memset(d[r], 0, sizeof(float) * (size_t)wd); continue; }
    for (int c = 0; c < c0; c++) d[r][c] = 0.0f;
    memcpy(d[r] + c0, xp + (size_t)y * W + x0 + c0, sizeof(float) * (size_t)(c1 - c0));
    for (int c = c1; c < wd; c++) d[r][c] = 0.0f;
  }
  for (int c = 0; c < wd; c++) { /* B^T d: rows */
    t[0][c] = d[0][c] - d[2][c];
    t[1][c] = d[1][c] + d[2][c];
    t[2][c] = d[2][c] - d[1][c];
    t[3][c] = d[1][c] - d[3][c];
  }
  for (int r = 0; r < 4; r++) { /* (B^T d) B: columns */
    float *v0 = V + (size_t)(4 * r) * vs + s->j, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs;
    const float *tr = t[r];
    for (int k = 0; k < s->nt; k++) {
      const float a = tr[2 * k], b = tr[2 * k + 1], c = tr[2 * k + 2], e = tr[2 * k + 3];
      v0[k] = a - c;
      v1[k] = b + c;
      v2[k] = c - b;
      v3[k] = b - e;
    }
  }
}

/* Z[xi][o][j..] = A dy A^T for the tiles of a segment of the output-gradient plane (OH x OW). */
static void grad_segment(float *Z, size_t zs, const float *dyp, int OH, int OW, const seg *s) {
  float q[2][2 * PIECE + 2], t[4][2 * PIECE + 2];
  const int y0 = 2 * s->ty, x0 = 2 * s->tx0, wd = 2 * s->nt;
  const int c1 = OW - x0 < wd ? OW - x0 : wd;
  for (int r = 0; r < 2; r++) {
    const int y = y0 + r;
    if (y >= OH) { memset(q[r], 0, sizeof(float) * (size_t)wd); continue; }
    memcpy(q[r], dyp + (size_t)y * OW + x0, sizeof(float) * (size_t)c1);
    for (int c = c1; c < wd; c++) q[r][c] = 0.0f;
  }
  for (int c = 0; c < wd; c++) { /* A q: rows */
    t[0][c] = q[0][c];
    t[1][c] = q[0][c] + q[1][c];
    t[2][c] = q[0][c] - q[1][c];
    t[3][c] = -q[1][c];
  }
  for (int r = 0; r < 4; r++) { /* (A q) A^T: columns */
    float *z0 = Z + (size_t)(4 * r) * zs + s->j, *z1 = z0 + zs, *z2 = z1 + zs, *z3 = z2 + zs;
    const float *tr = t[r];
    for (int k = 0; k < s->nt; k++) {
      const float a = tr[2 * k], b = tr[2 * k + 1];
      z0[k] = a;
      z1[k] = a + b;
      z2[k] = a - b;
      z3[k] = -b;
    }
  }
}

/* y tiles of a segment = A^T m A (m = M[xi][o][j..]); written (beta 0) or added (beta 1). */
static void output_segment(float *yp, int OH, int OW, const float *M, size_t ms, const seg *s, float beta) {
  float u[2][4][PIECE], y[2][2 * PIECE];
  for (int c = 0; c < 4; c++) { /* A^T m: rows */
    const float *m0 = M + (size_t)c * ms + s->j, *m1 = m0 + 4 * ms, *m2 = m1 + 4 * ms, *m3 = m2 + 4 * ms;
    for (int k = 0; k < s->nt; k++) {
      u[0][c][k] = m0[k] + m1[k] + m2[k];
      u[1][c][k] = m1[k] - m2[k] - m3[k];
    }
  }
  for (int a = 0; a < 2; a++) /* (A^T m) A: columns */
    for (int k = 0; k < s->nt; k++) {
      y[a][2 * k] = u[a][0][k] + u[a][1][k] + u[a][2][k];
      y[a][2 * k + 1] = u[a][1][k] - u[a][2][k] - u[a][3][k];
    }
  const int x0 = 2 * s->tx0, wd = 2 * s->nt < OW - x0 ? 2 * s->nt : OW - x0;
  for (int a = 0; a < 2; a++) {
    const int oy = 2 * s->ty + a;
    if (oy >= OH) break;
    float *d = yp + (size_t)oy * OW + x0;
    if (beta == 0.0f) memcpy(d, y[a], sizeof(float) * (size_t)wd);
    else for (int k = 0; k < wd; k++) d[k] += y[a][k];
  }
}

/* The 16 GEMMs of a block, one thread each (OpenBLAS single-threaded inside), or threaded
   GEMMs one after the other when there is one thread. C[xi] = A[xi] op(B[xi]) + beta C[xi]. */
static void gemm16(int tb, int M, int N, int K, const float *A, size_t as, int lda, const float *B, size_t bs,
                   int ldb, float beta, float *C, size_t cs, int ldc) {
  const int nt = omp_get_max_threads();
  if (nt > 1) openblas_set_num_threads(1);
  #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int x = 0; x < 16; x++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A + (size_t)x * as, lda,
                B + (size_t)x * bs, ldb, beta, C + (size_t)x * cs, ldc);
  if (nt > 1) openblas_set_num_threads(nt);
}

#define MAXSEG GF_WINO_MAX_TB /* a block of tb tiles has at most tb segments */

void gf__cpu_wino_fwd(float *y, const float *x, const float *w, int N, int IC, int H, int W, int OC, int ph, int pw,
                      int flip, float beta, float *ws, int TB) {
  const int OH = H + 2 * ph - 2, OW = W + 2 * pw - 2, TH = (OH + 1) / 2, TW = (OW + 1) / 2;
  const long T = (long)N * TH * TW;
  float *U = ws, *V = U + (size_t)16 * OC * IC, *M = V + (size_t)16 * IC * TB;
  const size_t vs = (size_t)IC * TB, ms = (size_t)OC * TB;
  seg sg[MAXSEG];
  if (TB > MAXSEG) TB = MAXSEG;
  filter_transform(U, w, OC, IC, flip);
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), ns = segments(sg, MAXSEG, t0, t1, TH, TW);
    #pragma omp parallel for collapse(2) if ((long)IC * nb * 16 > PAR_MIN) schedule(static)
    for (int i = 0; i < IC; i++)
      for (int k = 0; k < ns; k++)
        input_segment(V + (size_t)i * TB, vs, x + ((size_t)sg[k].n * IC + i) * H * W, H, W, ph, pw, &sg[k]);
    gemm16(0, OC, nb, IC, U, (size_t)OC * IC, IC, V, vs, TB, 0.0f, M, ms, TB);
    #pragma omp parallel for collapse(2) if ((long)OC * nb * 16 > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int k = 0; k < ns; k++)
        output_segment(y + ((size_t)sg[k].n * OC + o) * OH * OW, OH, OW, M + (size_t)o * TB, ms, &sg[k], beta);
  }
}

void gf__cpu_wino_dw(float *dw, const float *x, const float *dy, int N, int IC, int H, int W, int OC, int ph, int pw,
                     float *ws, int TB) {
  const int OH = H + 2 * ph - 2, OW = W + 2 * pw - 2, TH = (OH + 1) / 2, TW = (OW + 1) / 2;
  const long T = (long)N * TH * TW;
  float *D = ws, *V = D + (size_t)16 * OC * IC, *Z = V + (size_t)16 * IC * TB;
  const size_t vs = (size_t)IC * TB, zs = (size_t)OC * TB;
  seg sg[MAXSEG];
  if (TB > MAXSEG) TB = MAXSEG;
  for (long t0 = 0; t0 < T; t0 += TB) {
    const long t1 = t0 + TB < T ? t0 + TB : T;
    const int nb = (int)(t1 - t0), ns = segments(sg, MAXSEG, t0, t1, TH, TW);
    #pragma omp parallel for collapse(2) if ((long)IC * nb * 16 > PAR_MIN) schedule(static)
    for (int i = 0; i < IC; i++)
      for (int k = 0; k < ns; k++)
        input_segment(V + (size_t)i * TB, vs, x + ((size_t)sg[k].n * IC + i) * H * W, H, W, ph, pw, &sg[k]);
    #pragma omp parallel for collapse(2) if ((long)OC * nb * 16 > PAR_MIN) schedule(static)
    for (int o = 0; o < OC; o++)
      for (int k = 0; k < ns; k++)
        grad_segment(Z + (size_t)o * TB, zs, dy + ((size_t)sg[k].n * OC + o) * OH * OW, OH, OW, &sg[k]);
    /* D[xi] [OC, IC] (+)= Z[xi] [OC, nb] . V[xi]^T [nb, IC] */
    gemm16(1, OC, IC, nb, Z, zs, TB, V, vs, TB, t0 ? 1.0f : 0.0f, D, (size_t)OC * IC, IC);
  }
  filter_transform_adj(dw, D, OC, IC);
}
