/* featmetrics.c: FID, KID, k-NN precision/recall, classifier score and label histograms over
   feature vectors (definitions in featmetrics.h). Distances and kernels go through sgemm. */
#include "eval/featmetrics.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"

int gf__sym_eig(double *a, int d, double *w, double *v) {
  if (!a || !w || !v || d < 1) return gf__fail(GF_EINVAL, "sym_eig: bad arguments");
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) v[(size_t)i * d + j] = i == j;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (int i = 0; i < d; i++) {
      diag += a[(size_t)i * d + i] * a[(size_t)i * d + i];
      for (int j = i + 1; j < d; j++) off += a[(size_t)i * d + j] * a[(size_t)i * d + j];
    }
    if (off <= 1e-30 * (diag > 0 ? diag : 1)) break;
    for (int p = 0; p < d - 1; p++)
      for (int q = p + 1; q < d; q++) {
        double apq = a[(size_t)p * d + q];
        if (fabs(apq) < 1e-300) continue;
        double app = a[(size_t)p * d + p], aqq = a[(size_t)q * d + q];
        double theta = (aqq - app) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < d; k++) { /* rows p, q */
          double akp = a[(size_t)k * d + p], akq = a[(size_t)k * d + q];
          a[(size_t)k * d + p] = c * akp - s * akq;
          a[(size_t)k * d + q] = s * akp + c * akq;
        }
        for (int k = 0; k < d; k++) { /* columns p, q */
          double apk = a[(size_t)p * d + k], aqk = a[(size_t)q * d + k];
          a[(size_t)p * d + k] = c * apk - s * aqk;
          a[(size_t)q * d + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < d; k++) {
          double vkp = v[(size_t)k * d + p], vkq = v[(size_t)k * d + q];
          v[(size_t)k * d + p] = c * vkp - s * vkq;
          v[(size_t)k * d + q] = s * vkp + c * vkq;
        }
      }
  }
  for (int i = 0; i < d; i++) w[i] = a[(size_t)i * d + i];
  return 0;
}

/* mean [d] and unbiased covariance [d, d] of x [n, d] */
static void mean_cov(const float *x, int n, int d, double *mu, double *cov) {
  memset(mu, 0, sizeof(double) * (size_t)d);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) mu[j] += x[(size_t)i * d + j];
  for (int j = 0; j < d; j++) mu[j] /= n;
  double *xc = malloc(sizeof(double) * (size_t)n * d);
  if (xc) {
    for (int i = 0; i < n; i++)
      for (int j = 0; j < d; j++) xc[(size_t)i * d + j] = x[(size_t)i * d + j] - mu[j];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0 / (n - 1), xc, d, xc, d, 0.0, cov, d);
    free(xc);
  } else {
    memset(cov, 0, sizeof(double) * (size_t)d * d);
    for (int i = 0; i < n; i++)
      for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
          cov[(size_t)a * d + b] += (x[(size_t)i * d + a] - mu[a]) * (x[(size_t)i * d + b] - mu[b]) / (n - 1);
  }
}

int gf__fid(const float *xr, int nr, const float *xg, int ng, int d, double *fid) {
  if (!xr || !xg || !fid || nr < 2 || ng < 2 || d < 1) return gf__fail(GF_EINVAL, "fid: needs 2 or more samples per set");
  size_t dd = (size_t)d * d;
  double *mr = malloc(sizeof(double) * d), *mg = malloc(sizeof(double) * d), *w = malloc(sizeof(double) * d);
  double *sr = malloc(sizeof(double) * dd), *sg = malloc(sizeof(double) * dd), *v = malloc(sizeof(double) * dd);
  double *a = malloc(sizeof(double) * dd), *t = malloc(sizeof(double) * dd);
  int rc = 0;
  if (!mr || !mg || !w || !sr || !sg || !v || !a || !t) { rc = gf__fail(GF_ENOMEM, "fid: out of memory"); goto done; }
  mean_cov(xr, nr, d, mr, sr);
  mean_cov(xg, ng, d, mg, sg);
  double tr = 0, dm = 0;
  for (int j = 0; j < d; j++) {
    dm += (mr[j] - mg[j]) * (mr[j] - mg[j]);
    tr += sr[(size_t)j * d + j] + sg[(size_t)j * d + j];
  }
  /* A = S_r^1/2 = V diag(sqrt(w)) V^T */
  memcpy(a, sr, sizeof(double) * dd);
  if ((rc = gf__sym_eig(a, d, w, v)) < 0) goto done;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) t[(size_t)i * d + j] = v[(size_t)i * d + j] * sqrt(w[j] > 0 ? w[j] : 0);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, t, d, v, d, 0.0, a, d);
  /* M = A S_g A, symmetric PSD; tr sqrt(M) = sum sqrt(eig) */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, a, d, sg, d, 0.0, t, d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t, d, a, d, 0.0, sr, d);
  for (int i = 0; i < d; i++)
    for (int j = i + 1; j < d; j++) {
      double s = 0.5 * (sr[(size_t)i * d + j] + sr[(size_t)j * d + i]);
      sr[(size_t)i * d + j] = sr[(size_t)j * d + i] = s;
    }
  if ((rc = gf__sym_eig(sr, d, w, v)) < 0) goto done;
  double trs = 0;
  for (int j = 0; j < d; j++) trs += sqrt(w[j] > 0 ? w[j] : 0);
  *fid = dm + tr - 2 * trs;
  if (*fid < 0 && *fid > -1e-9 * (tr > 1 ? tr : 1)) *fid = 0;
done:
  free(mr); free(mg); free(w); free(sr); free(sg); free(v); free(a); free(t);
  return rc;
}

int gf__kid(const float *xr, int nr, const float *xg, int ng, int d, int subsets, int m, uint64_t seed, double *mean,
            double *std) {
  if (!xr || !xg || !mean || !std || d < 1 || subsets < 1) return gf__fail(GF_EINVAL, "kid: bad arguments");
  if (m > nr) m = nr;
  if (m > ng) m = ng;
  if (m < 2) return gf__fail(GF_EINVAL, "kid: needs 2 or more samples per set");
  float *a = malloc(sizeof(float) * (size_t)m * d), *b = malloc(sizeof(float) * (size_t)m * d);
  float *k = malloc(sizeof(float) * (size_t)m * m);
  int *pr = malloc(sizeof(int) * (size_t)nr), *pg = malloc(sizeof(int) * (size_t)ng);
  double *vals = malloc(sizeof(double) * (size_t)subsets);
  int rc = 0;
  if (!a || !b || !k || !pr || !pg || !vals) { rc = gf__fail(GF_ENOMEM, "kid: out of memory"); goto done; }
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_EVAL);
  for (int s = 0; s < subsets; s++) {
    for (int i = 0; i < nr; i++) pr[i] = i;
    for (int i = 0; i < ng; i++) pg[i] = i;
    gf__rng_perm(&r, pr, nr);
    gf__rng_perm(&r, pg, ng);
    for (int i = 0; i < m; i++) {
      memcpy(a + (size_t)i * d, xr + (size_t)pr[i] * d, sizeof(float) * (size_t)d);
      memcpy(b + (size_t)i * d, xg + (size_t)pg[i] * d, sizeof(float) * (size_t)d);
    }
    double sum[3] = {0, 0, 0};
    const float *P[3][2] = {{a, a}, {b, b}, {a, b}};
    for (int q = 0; q < 3; q++) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, d, 1.0f / (float)d, P[q][0], d, P[q][1], d, 0.0f, k, m);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
          if (q < 2 && i == j) continue;
          double x = (double)k[(size_t)i * m + j] + 1.0;
          sum[q] += x * x * x;
        }
    }
    vals[s] = sum[0] / ((double)m * (m - 1)) + sum[1] / ((double)m * (m - 1)) - 2 * sum[2] / ((double)m * m);
  }
  double mu = 0, var = 0;
  for (int s = 0; s < subsets; s++) mu += vals[s];
  mu /= subsets;
  for (int s = 0; s < subsets; s++) var += (vals[s] - mu) * (vals[s] - mu);
  *mean = mu;
  *std = subsets > 1 ? sqrt(var / (subsets - 1)) : 0;
done:
  free(a); free(b); free(k); free(pr); free(pg); free(vals);
  return rc;
}

/* Squared distances between rows of x [n, d] and y [m, d] in blocks; for each row of x, calls
   back with its distances to every y row. */
typedef void (*row_fn)(int i, const float *d2, int m, void *u);
static int dist_rows(const float *x, int n, const float *y, int m, int d, row_fn fn, void *u) {
  const int BLK = 256;
  float *g = malloc(sizeof(float) * (size_t)BLK * m), *ny = malloc(sizeof(float) * (size_t)m);
  if (!g || !ny) { free(g); free(ny); return gf__fail(GF_ENOMEM, "out of memory for distances"); }
  for (int j = 0; j < m; j++) {
    double s = 0;
    for (int c = 0; c < d; c++) s += (double)y[(size_t)j * d + c] * y[(size_t)j * d + c];
    ny[j] = (float)s;
  }
  for (int i0 = 0; i0 < n; i0 += BLK) {
    int b = GF_MIN(BLK, n - i0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, m, d, -2.0f, x + (size_t)i0 * d, d, y, d, 0.0f, g, m);
    for (int i = 0; i < b; i++) {
      double s = 0;
      const float *xi = x + (size_t)(i0 + i) * d;
      for (int c = 0; c < d; c++) s += (double)xi[c] * xi[c];
      float *row = g + (size_t)i * m;
      for (int j = 0; j < m; j++) {
        float v = row[j] + (float)s + ny[j];
        row[j] = v > 0 ? v : 0;
      }
      fn(i0 + i, row, m, u);
    }
  }
  free(g); free(ny);
  return 0;
}

typedef struct knn_ctx { int k; float *radius; int self; } knn_ctx;
/* k-th smallest distance excluding the point itself (the zero on the diagonal) */
static void knn_row(int i, const float *d2, int m, void *u) {
  knn_ctx *c = u;
  float best[16];
  int nb = 0;
  for (int j = 0; j < m; j++) {
    if (c->self && j == i) continue;
    float v = d2[j];
    if (nb < c->k) {
      int p = nb++;
      while (p > 0 && best[p - 1] > v) { best[p] = best[p - 1]; p--; }
      best[p] = v;
    } else if (v < best[c->k - 1]) {
      int p = c->k - 1;
      while (p > 0 && best[p - 1] > v) { best[p] = best[p - 1]; p--; }
      best[p] = v;
    }
  }
  c->radius[i] = nb ? best[nb - 1] : 0;
}

typedef struct cover_ctx { const float *radius; long inside; } cover_ctx;
static void cover_row(int i, const float *d2, int m, void *u) {
  cover_ctx *c = u;
  (void)i;
  for (int j = 0; j < m; j++)
    if (d2[j] <= c->radius[j]) { c->inside++; return; }
}

int gf__prec_recall(const float *xr, int nr, const float *xg, int ng, int d, int k, double *precision, double *recall) {
  if (!xr || !xg || !precision || !recall || d < 1 || k < 1 || k > 16 || nr <= k || ng <= k)
    return gf__fail(GF_EINVAL, "precision/recall: needs more than k = %d samples per set (k <= 16)", k);
  float *rr = malloc(sizeof(float) * (size_t)nr), *rg = malloc(sizeof(float) * (size_t)ng);
  int rc = 0;
  if (!rr || !rg) { rc = gf__fail(GF_ENOMEM, "out of memory"); goto done; }
  knn_ctx kr = {k, rr, 1}, kg = {k, rg, 1};
  if ((rc = dist_rows(xr, nr, xr, nr, d, knn_row, &kr)) < 0) goto done;
  if ((rc = dist_rows(xg, ng, xg, ng, d, knn_row, &kg)) < 0) goto done;
  cover_ctx cp = {rr, 0}, cr = {rg, 0};
  if ((rc = dist_rows(xg, ng, xr, nr, d, cover_row, &cp)) < 0) goto done;
  if ((rc = dist_rows(xr, nr, xg, ng, d, cover_row, &cr)) < 0) goto done;
  *precision = (double)cp.inside / ng;
  *recall = (double)cr.inside / nr;
done:
  free(rr); free(rg);
  return rc;
}

int gf__class_score(const float *prob, int n, int C, int splits, double *mean, double *std) {
  if (!prob || !mean || !std || C < 2 || splits < 1 || n < splits) return gf__fail(GF_EINVAL, "classifier score: bad arguments");
  double *py = malloc(sizeof(double) * (size_t)C), sum = 0, sq = 0;
  if (!py) return gf__fail(GF_ENOMEM, "out of memory");
  for (int s = 0; s < splits; s++) {
    int a = (int)((long)n * s / splits), b = (int)((long)n * (s + 1) / splits);
    memset(py, 0, sizeof(double) * (size_t)C);
    for (int i = a; i < b; i++)
      for (int c = 0; c < C; c++) py[c] += prob[(size_t)i * C + c];
    for (int c = 0; c < C; c++) py[c] /= (b - a);
    double kl = 0;
    for (int i = a; i < b; i++)
      for (int c = 0; c < C; c++) {
        double p = prob[(size_t)i * C + c];
        if (p > 0) kl += p * (log(p) - log(py[c] > 1e-300 ? py[c] : 1e-300));
      }
    double v = exp(kl / (b - a));
    sum += v;
    sq += v * v;
  }
  free(py);
  *mean = sum / splits;
  double var = splits > 1 ? (sq - splits * *mean * *mean) / (splits - 1) : 0;
  *std = var > 0 ? sqrt(var) : 0;
  return 0;
}

int gf__label_hist(const int *labels, int n, int m, int *modes, double *kl) {
  if (!labels || !modes || !kl || n < 1 || m < 1) return gf__fail(GF_EINVAL, "label histogram: bad arguments");
  int *cnt = calloc((size_t)m, sizeof(int));
  if (!cnt) return gf__fail(GF_ENOMEM, "out of memory");
  for (int i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < m) cnt[labels[i]]++;
  int got = 0;
  double k = 0;
  for (int j = 0; j < m; j++)
    if (cnt[j]) {
      got++;
      double p = (double)cnt[j] / n;
      k += p * log(p * m);
    }
  free(cnt);
  *modes = got;
  *kl = k;
  return 0;
}
