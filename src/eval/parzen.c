/* parzen.c: blocked, streamed Gaussian Parzen-window log-likelihood (see parzen.h). */
#include "eval/parzen.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define ROW_BLOCK 64     /* test rows per task */
#define SAMPLE_BLOCK 1024 /* kernel centres per gemm */

void gf__parzen_grid(double *grid, int n) {
  for (int i = 0; i < n; i++) grid[i] = n == 1 ? 0.1 : pow(10.0, -1.0 + (double)i / (double)(n - 1));
}

void gf__parzen_mean_se(const double *v, int n, double *mean, double *se) {
  double s = 0, q = 0;
  for (int i = 0; i < n; i++) s += v[i];
  double m = n > 0 ? s / n : 0;
  for (int i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
  *mean = m;
  *se = n > 0 ? sqrt(q / n) / sqrt((double)n) : 0;
}

static size_t count_nonfinite(const float *x, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += !isfinite(x[i]);
  return bad;
}

/* The working copies: both sets centred on the mean of mu, in double (F64) or float (F32), with
   their squared norms in double (computed from the stored, centred values). */
typedef struct work {
  int prec, d;
  double *mu64, *x64;
  float *mu32, *x32;
  double *nmu, *nx;
} work;

static void work_free(work *w) {
  free(w->mu64); free(w->x64); free(w->mu32); free(w->x32); free(w->nmu); free(w->nx);
}

static int centre(work *w, const float *src, int n, const double *c, double **o64, float **o32, double **norm) {
  int d = w->d;
  *norm = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (w->prec == GF_PARZEN_F64) *o64 = malloc(sizeof(double) * ((size_t)n * d + 1));
  else *o32 = malloc(sizeof(float) * ((size_t)n * d + 1));
  if (!*norm || (w->prec == GF_PARZEN_F64 ? !*o64 : !*o32)) return gf__fail(GF_ENOMEM, "parzen: out of memory");
  #pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *s = src + (size_t)i * d;
    double q = 0;
    if (w->prec == GF_PARZEN_F64) {
      double *o = *o64 + (size_t)i * d;
      for (int k = 0; k < d; k++) { o[k] = (double)s[k] - c[k]; q += o[k] * o[k]; }
    } else {
      float *o = *o32 + (size_t)i * d;
      for (int k = 0; k < d; k++) { o[k] = (float)((double)s[k] - c[k]); q += (double)o[k] * o[k]; }
    }
    (*norm)[i] = q;
  }
  return 0;
}

int gf__parzen_ll(const float *mu, int n_mu, const float *x, int n_x, int d, const double *sigmas, int nsig,
                  int precision, double *ll) {
  if (!mu || !x || !sigmas || !ll || n_mu < 1 || n_x < 0 || d < 1 || nsig < 1)
    return gf__fail(GF_EINVAL, "parzen: bad arguments (n_mu %d, n_x %d, d %d, nsig %d)", n_mu, n_x, d, nsig);
  if (precision != GF_PARZEN_F64 && precision != GF_PARZEN_F32)
    return gf__fail(GF_EINVAL, "parzen: unknown precision %d", precision);
  for (int k = 0; k < nsig; k++)
    if (!(sigmas[k] > 0) || !isfinite(sigmas[k])) return gf__fail(GF_EINVAL, "parzen: sigma %g is not positive", sigmas[k]);
  size_t bad = count_nonfinite(mu, (size_t)n_mu * d);
  if (bad) return gf__fail(GF_ENUMERIC, "parzen: the samples hold %zu non-finite values", bad);
  if ((bad = count_nonfinite(x, (size_t)n_x * d)))
    return gf__fail(GF_ENUMERIC, "parzen: the evaluation points hold %zu non-finite values", bad);
  if (n_x == 0) return 0;

  double *c = calloc((size_t)d, sizeof(double));
  if (!c) return gf__fail(GF_ENOMEM, "parzen: out of memory");
  for (int i = 0; i < n_mu; i++)
    for (int k = 0; k < d; k++) c[k] += mu[(size_t)i * d + k];
  for (int k = 0; k < d; k++) c[k] /= n_mu;
  work w;
  memset(&w, 0, sizeof w);
  w.prec = precision;
  w.d = d;
  int rc = centre(&w, mu, n_mu, c, &w.mu64, &w.mu32, &w.nmu);
  if (rc == 0) rc = centre(&w, x, n_x, c, &w.x64, &w.x32, &w.nx);
  free(c);
  if (rc < 0) { work_free(&w); return rc; }

  double *inv2s2 = malloc(sizeof(double) * (size_t)nsig);
  if (!inv2s2) { work_free(&w); return gf__fail(GF_ENOMEM, "parzen: out of memory"); }
  for (int k = 0; k < nsig; k++) inv2s2[k] = 1.0 / (2.0 * sigmas[k] * sigmas[k]);

  int nblocks = (n_x + ROW_BLOCK - 1) / ROW_BLOCK, failed = 0;
  #pragma omp parallel
  {
    double *dist = malloc(sizeof(double) * ROW_BLOCK * SAMPLE_BLOCK);
    float *dist32 = precision == GF_PARZEN_F32 ? malloc(sizeof(float) * ROW_BLOCK * SAMPLE_BLOCK) : NULL;
    double *mx = malloc(sizeof(double) * ROW_BLOCK * (size_t)nsig);
    double *sm = malloc(sizeof(double) * ROW_BLOCK * (size_t)nsig);
    if (!dist || !mx || !sm || (precision == GF_PARZEN_F32 && !dist32)) {
      #pragma omp atomic write
      failed = 1;
    }
    #pragma omp for schedule(dynamic)
    for (int b = 0; b < nblocks; b++) {
      if (failed) continue;
      int r0 = b * ROW_BLOCK, nr = GF_MIN(ROW_BLOCK, n_x - r0);
      for (int t = 0; t < nr * nsig; t++) { mx[t] = -INFINITY; sm[t] = 0; }
      for (int j0 = 0; j0 < n_mu; j0 += SAMPLE_BLOCK) {
        int nc = GF_MIN(SAMPLE_BLOCK, n_mu - j0);
        /* dist[r, j] = x_r . mu_j (called inside a parallel region: OpenBLAS runs single-threaded) */
        if (precision == GF_PARZEN_F64)
          cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nc, d, 1.0, w.x64 + (size_t)r0 * d, d,
                      w.mu64 + (size_t)j0 * d, d, 0.0, dist, nc);
        else {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nc, d, 1.0f, w.x32 + (size_t)r0 * d, d,
                      w.mu32 + (size_t)j0 * d, d, 0.0f, dist32, nc);
          for (int t = 0; t < nr * nc; t++) dist[t] = dist32[t];
        }
        for (int r = 0; r < nr; r++) {
          double *row = dist + (size_t)r * nc, nxr = w.nx[r0 + r], dmin = INFINITY;
          const double *nm = w.nmu + j0;
          for (int j = 0; j < nc; j++) {
            double q = nxr + nm[j] - 2.0 * row[j];
            q = q > 0 ? q : 0; /* rounding can make a zero distance slightly negative */
            row[j] = q;
            dmin = q < dmin ? q : dmin;
          }
          for (int k = 0; k < nsig; k++) {
            double a = inv2s2[k], *m = &mx[r * nsig + k], *s = &sm[r * nsig + k];
            double top = -dmin * a;
            if (top > *m) {
              *s *= exp(*m - top); /* exp(-inf) = 0 on the first block */
              *m = top;
            }
            double acc = 0, mm = *m;
            for (int j = 0; j < nc; j++) acc += exp(-row[j] * a - mm);
            *s += acc;
          }
        }
      }
      for (int r = 0; r < nr; r++)
        for (int k = 0; k < nsig; k++)
          ll[(size_t)k * n_x + r0 + r] = mx[r * nsig + k] + log(sm[r * nsig + k]) - log((double)n_mu) -
                                         d * log(sigmas[k] * sqrt(2.0 * M_PI));
    }
    free(dist); free(dist32); free(mx); free(sm);
  }
  free(inv2s2);
  work_free(&w);
  if (failed) return gf__fail(GF_ENOMEM, "parzen: out of memory");
  return 0;
}

int gf__parzen_select(const float *mu, int n_mu, const float *val, int n_val, int d, const double *grid,
                      int ngrid, int precision, int *best, double *val_ll) {
  if (n_val < 1 || ngrid < 1 || !best) return gf__fail(GF_EINVAL, "parzen: bad sigma-selection arguments");
  double *ll = malloc(sizeof(double) * (size_t)n_val * ngrid);
  if (!ll) return gf__fail(GF_ENOMEM, "parzen: out of memory");
  int rc = gf__parzen_ll(mu, n_mu, val, n_val, d, grid, ngrid, precision, ll);
  if (rc == 0) {
    double best_v = -INFINITY;
    *best = 0;
    for (int k = 0; k < ngrid; k++) {
      double m, se;
      gf__parzen_mean_se(ll + (size_t)k * n_val, n_val, &m, &se);
      if (val_ll) val_ll[k] = m;
      if (m > best_v) { best_v = m; *best = k; }
    }
  }
  free(ll);
  return rc;
}
