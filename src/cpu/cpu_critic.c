/* cpu_critic.c: CPU launches of the critic ops (reductions to device scalars, scalar maps,
   interpolates, gradient penalties, maxout tangents, second-order activation terms, RMSprop,
   clipping); their per-element bodies are in src/kern/kern_critic.h. */
#include <omp.h>

#include "cpu/cpu_internal.h"
#include "kern/kern_critic.h"

#define PAR_MIN 32768

void gf__cpu_dot(float *out, const float *x, const float *y, size_t n, float scale) {
  double acc = 0;
  if (y)
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * y[i];
  else
    for (size_t i = 0; i < n; i++) acc += x[i];
  out[0] = (float)(scale * acc);
}

void gf__cpu_scalar_op(gf__sop kind, float *y, const float *x, const float *s, float a, size_t n) {
  float sv = s[0];
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) y[i] = gf__k_sop(kind, x[i], sv, a);
}

void gf__cpu_lerp_rows(float *y, const float *a, const float *b, const float *t, int N, size_t D) {
  #pragma omp parallel for if ((size_t)N * D > PAR_MIN) schedule(static)
  for (int r = 0; r < N; r++) {
    size_t o = (size_t)r * D;
    for (size_t j = 0; j < D; j++) y[o + j] = gf__k_lerp(a[o + j], b[o + j], t[r]);
  }
}

void gf__cpu_grad_penalty(gf__penalty kind, float *stats, float *v, const float *g, int N, size_t D, float w) {
  double pen = 0, norms = 0;
  for (int r = 0; r < N; r++) {
    const float *gr = g + (size_t)r * D;
    float *vr = v + (size_t)r * D;
    double sq = 0, c, nrm;
    for (size_t j = 0; j < D; j++) sq += (double)gr[j] * gr[j];
    pen += gf__k_penalty_row(kind, sq, N, w, &c, &nrm);
    norms += nrm;
    for (size_t j = 0; j < D; j++) vr[j] = (float)(c * gr[j]);
  }
  stats[0] += (float)pen; /* accumulated in backend memory, as the losses' statistics */
  stats[1] += (float)(norms / N);
}

void gf__cpu_maxout_take(float *y, const float *x, const float *argmax, int N, int units, int k) {
  size_t total = (size_t)N * units;
  #pragma omp parallel for if (total > PAR_MIN) schedule(static)
  for (size_t i = 0; i < total; i++) y[i] = x[i * k + (size_t)argmax[i]];
}

void gf__cpu_act_curv(gf__act kind, float *rdx, const float *y, const float *dy, const float *rx, size_t n,
                      float alpha) {
  (void)alpha;
  if (kind != GF_ACT_TANH && kind != GF_ACT_SIGMOID) return;
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) rdx[i] += gf__k_act_curv(kind, y[i], dy[i], rx[i]);
}

void gf__cpu_rmsprop(float *p, const float *g, float *v, size_t n, float lr, float alpha, float eps, float wd) {
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) gf__k_rmsprop(p + i, g[i], v + i, lr, alpha, eps, wd);
}

void gf__cpu_clamp(float *x, float lo, float hi, size_t n) {
  #pragma omp parallel for if (n > PAR_MIN) schedule(static)
  for (size_t i = 0; i < n; i++) x[i] = gf__k_clamp(x[i], lo, hi);
}
