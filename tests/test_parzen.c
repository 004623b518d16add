/* test_parzen.c: the Parzen-window log-likelihood (src/eval/parzen.c) against direct double
   computations and an analytic Gaussian, the sigma selection, and the strict .npy reader. */
#include "harness.h"

#include "core/rng.h"
#include "core/util.h"
#include "data/dataset.h"
#include "eval/npyio.h"
#include "eval/parzen.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Direct computation in double: every distance by subtraction, log-sum-exp with the row max. */
static double naive_ll(const float *mu, int n_mu, const float *x, int d, double sigma) {
  double *e = malloc(sizeof(double) * (size_t)n_mu), mx = -INFINITY;
  for (int j = 0; j < n_mu; j++) {
    double q = 0;
    for (int k = 0; k < d; k++) {
      double t = (double)x[k] - (double)mu[(size_t)j * d + k];
      q += t * t;
    }
    e[j] = -q / (2 * sigma * sigma);
    if (e[j] > mx) mx = e[j];
  }
  double s = 0;
  for (int j = 0; j < n_mu; j++) s += exp(e[j] - mx);
  free(e);
  return mx + log(s / n_mu) - d * log(sigma * sqrt(2 * M_PI));
}

static float *uniform01(int n, int d, uint64_t seed) {
  float *x = malloc(sizeof(float) * (size_t)n * d);
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_EVAL);
  gf__rng_uniform(&r, x, (long)n * d, 0.0f, 1.0f);
  return x;
}

static float *normal(int n, int d, float std, uint64_t seed) {
  float *x = malloc(sizeof(float) * (size_t)n * d);
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_EVAL);
  gf__rng_normal(&r, x, (long)n * d, 0.0f, std);
  return x;
}

static void test_grid_and_mean(void) {
  double g[10];
  gf__parzen_grid(g, 10);
  CHECK_CLOSE(g[0], 0.1, 1e-15, 0, "grid[0]");
  CHECK_CLOSE(g[9], 1.0, 1e-15, 0, "grid[9]");
  CHECK_CLOSE(g[3], pow(10, -2.0 / 3.0), 1e-15, 0, "grid[3] = 10^(-2/3)");
  for (int i = 1; i < 10; i++) CHECK_CLOSE(g[i] / g[i - 1], pow(10, 1.0 / 9.0), 1e-12, 0, "grid ratio");
  double v[4] = {1, 2, 3, 4}, m, se;
  gf__parzen_mean_se(v, 4, &m, &se);
  CHECK_CLOSE(m, 2.5, 1e-15, 0, "mean");
  CHECK_CLOSE(se, sqrt(1.25) / 2, 1e-15, 0, "se = std(ddof 0)/sqrt(n)");
}

/* Blocked, streamed computation (several sample blocks, a partial row block, four bandwidths at
   once, one so small that a plain sum of exp would underflow) == direct double computation. */
static void test_matches_naive(void) {
  const int n_mu = 2600, n_x = 150, d = 37; /* 3 sample blocks, 3 row blocks (last partial) */
  float *mu = uniform01(n_mu, d, 1), *x = uniform01(n_x, d, 2);
  double sig[4] = {0.05, 0.3, 1.0, 3.0};
  double *ll = malloc(sizeof(double) * 4 * n_x), *ll32 = malloc(sizeof(double) * 4 * n_x);
  CHECK(gf__parzen_ll(mu, n_mu, x, n_x, d, sig, 4, GF_PARZEN_F64, ll) == 0, "parzen f64");
  CHECK(gf__parzen_ll(mu, n_mu, x, n_x, d, sig, 4, GF_PARZEN_F32, ll32) == 0, "parzen f32");
  double worst = 0, worst32 = 0;
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < n_x; i++) {
      double ref = naive_ll(mu, n_mu, x + (size_t)i * d, d, sig[k]);
      double r64 = fabs(ll[k * n_x + i] - ref) / fabs(ref), r32 = fabs(ll32[k * n_x + i] - ref) / fabs(ref);
      if (r64 > worst) worst = r64;
      if (r32 > worst32) worst32 = r32;
    }
  CHECK(worst < 1e-6, "f64 blocked vs naive: worst relative error %.3g", worst);
  CHECK(worst < 1e-10, "f64 blocked vs naive should be near double rounding: %.3g", worst);
  CHECK(worst32 < 1e-4, "f32 blocked vs naive: worst relative error %.3g", worst32);
  printf("blocked vs naive: worst relative error f64 %.3g, f32 %.3g\n", worst, worst32);
  /* a single bandwidth gives the same numbers as the same bandwidth among several */
  double one[150];
  CHECK(gf__parzen_ll(mu, n_mu, x, n_x, d, &sig[1], 1, GF_PARZEN_F64, one) == 0, "single sigma");
  double diff = 0;
  for (int i = 0; i < n_x; i++) diff = fmax(diff, fabs(one[i] - ll[n_x + i]));
  CHECK(diff < 1e-9, "single vs multi sigma: %.3g", diff);
  free(mu); free(x); free(ll); free(ll32);
}

/* Samples from N(0, s^2 I): the Parzen density tends to N(0, (s^2 + sigma^2) I). */
static void test_analytic_gaussian(void) {
  const int d = 2, n_mu = 40000, n_x = 2000;
  const double s = 1.0, sigma = 0.5, v = s * s + sigma * sigma;
  float *mu = normal(n_mu, d, (float)s, 11), *x = normal(n_x, d, (float)s, 12);
  double *ll = malloc(sizeof(double) * n_x);
  CHECK(gf__parzen_ll(mu, n_mu, x, n_x, d, &sigma, 1, GF_PARZEN_F64, ll) == 0, "parzen gaussian");
  double exact = 0, m, se;
  for (int i = 0; i < n_x; i++) {
    double q = 0;
    for (int k = 0; k < d; k++) q += (double)x[i * d + k] * x[i * d + k];
    exact += -0.5 * d * log(2 * M_PI * v) - q / (2 * v);
  }
  exact /= n_x;
  gf__parzen_mean_se(ll, n_x, &m, &se);
  /* at the same points: only the finite-sample error of the window (~0.01 nats here) */
  CHECK_CLOSE(m, exact, 0, 0.02, "mean Parzen LL vs exact log N(x; 0, (s^2+sigma^2) I) at the test points");
  /* against the expectation over x ~ N(0, s^2 I) */
  double expect = -0.5 * d * log(2 * M_PI * v) - d * s * s / (2 * v);
  CHECK_CLOSE(m, expect, 0, 4 * se + 0.02, "mean Parzen LL vs analytic expectation");
  printf("gaussian: parzen %.4f +- %.4f, exact at points %.4f, expectation %.4f\n", m, se, exact, expect);
  free(mu); free(x); free(ll);
}

/* sigma selection picks the grid value with the best mean validation LL (computed directly). */
static void test_select(void) {
  const int n_mu = 1500, n_val = 100, d = 20;
  /* clustered data with spread ~0.3 per coordinate: the best sigma is inside the grid */
  float *mu = normal(n_mu, d, 0.3f, 21), *val = normal(n_val, d, 0.3f, 22);
  double grid[10], val_ll[10], ref[10];
  gf__parzen_grid(grid, 10);
  int best = -1, ref_best = 0;
  CHECK(gf__parzen_select(mu, n_mu, val, n_val, d, grid, 10, GF_PARZEN_F64, &best, val_ll) == 0, "select");
  for (int k = 0; k < 10; k++) {
    ref[k] = 0;
    for (int i = 0; i < n_val; i++) ref[k] += naive_ll(mu, n_mu, val + (size_t)i * d, d, grid[k]);
    ref[k] /= n_val;
    CHECK_CLOSE(val_ll[k], ref[k], 1e-9, 0, "validation LL per sigma");
    if (ref[k] > ref[ref_best]) ref_best = k;
  }
  CHECK(best == ref_best, "chosen sigma index %d, direct argmax %d", best, ref_best);
  CHECK(best > 0 && best < 9, "the optimum is inside the grid here (index %d)", best);
  free(mu); free(val);
}

/* Sanity: with the evaluation points among the samples, every point's LL is at least the exact
   self term -log S - d log(sigma sqrt(2 pi)), and the mean LL beats that of a fresh sample set. */
static void test_self_is_high(void) {
  const int n = 500, d = 64;
  float *x = uniform01(n, d, 31), *other = uniform01(n, d, 32);
  double sigma = 0.2, *self = malloc(sizeof(double) * n), *cross = malloc(sizeof(double) * n);
  CHECK(gf__parzen_ll(x, n, x, n, d, &sigma, 1, GF_PARZEN_F64, self) == 0, "self");
  CHECK(gf__parzen_ll(other, n, x, n, d, &sigma, 1, GF_PARZEN_F64, cross) == 0, "cross");
  double floor_ll = -log((double)n) - d * log(sigma * sqrt(2 * M_PI)), ms, mc, se;
  int below = 0;
  for (int i = 0; i < n; i++) below += self[i] < floor_ll - 1e-9;
  CHECK(below == 0, "%d points below the self-term bound %.4f", below, floor_ll);
  gf__parzen_mean_se(self, n, &ms, &se);
  gf__parzen_mean_se(cross, n, &mc, &se);
  CHECK(ms > mc + 50, "self LL %.2f should be far above cross LL %.2f", ms, mc);
  free(x); free(other); free(self); free(cross);
}

/* MNIST (when the shared data is there): single-precision distances stay within 0.01 nats of double
   at the protocol's optimum sigma region. */
static void test_mnist_f32(void) {
  char dir[2048];
  snprintf(dir, sizeof dir, "%s/mnist", gf_t_data());
  struct stat st;
  if (stat(dir, &st) != 0) { printf("skip: no MNIST at %s\n", dir); return; }
  gf__dataset tr, te;
  int rc1 = gf__mnist_load(&tr, dir, 1, GF_SCALE_UNIT, 0, 2000), rc2 = gf__mnist_load(&te, dir, 0, GF_SCALE_UNIT, 0, 300);
  CHECK(rc1 == 0 && rc2 == 0, "mnist load: %s", gf_last_error());
  if (rc1 || rc2) return;
  double sig[2] = {0.1668, 0.2154}, a[600], b[600], worst = 0;
  CHECK(gf__parzen_ll(tr.x, tr.n, te.x, te.n, 784, sig, 2, GF_PARZEN_F64, a) == 0, "f64");
  CHECK(gf__parzen_ll(tr.x, tr.n, te.x, te.n, 784, sig, 2, GF_PARZEN_F32, b) == 0, "f32");
  for (int i = 0; i < 600; i++) worst = fmax(worst, fabs(a[i] - b[i]));
  CHECK(worst < 0.01, "MNIST f32 vs f64: worst per-point difference %.3g nats", worst);
  double ref = naive_ll(tr.x, tr.n, te.x + 784 * 7, 784, sig[0]);
  CHECK_CLOSE(a[7], ref, 1e-9, 0, "MNIST f64 vs naive");
  printf("mnist: f32 vs f64 worst per-point difference %.3g nats\n", worst);
  gf__dataset_free(&tr);
  gf__dataset_free(&te);
}

static void test_bad_inputs(void) {
  float mu[4] = {0, 1, 2, NAN}, x[2] = {0, 0};
  double s = 0.5, z = 0, ll[2];
  CHECK(gf__parzen_ll(mu, 2, x, 1, 2, &s, 1, GF_PARZEN_F64, ll) == GF_ENUMERIC, "NaN sample rejected");
  mu[3] = 3;
  CHECK(gf__parzen_ll(mu, 2, x, 1, 2, &z, 1, GF_PARZEN_F64, ll) == GF_EINVAL, "sigma 0 rejected");
  CHECK(gf__parzen_ll(mu, 0, x, 1, 2, &s, 1, GF_PARZEN_F64, ll) == GF_EINVAL, "no samples rejected");
  CHECK(gf__parzen_ll(mu, 2, x, 1, 2, &s, 1, 7, ll) == GF_EINVAL, "bad precision rejected");
}

/* ---- .npy ---- */

/* Builds a v1.0 .npy image with the given header dict and `nbytes` data bytes. */
static size_t make_npy(unsigned char *buf, const char *dict, size_t nbytes, int major) {
  size_t pre = major == 1 ? 10 : 12, hl = strlen(dict), total = pre + hl + 1;
  size_t pad = (64 - total % 64) % 64, hlen = hl + pad + 1;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8);
  if (major != 1) buf[10] = buf[11] = 0;
  memcpy(buf + pre, dict, hl);
  memset(buf + pre + hl, ' ', pad);
  buf[pre + hl + pad] = '\n';
  for (size_t i = 0; i < nbytes; i++) buf[total + pad + i] = (unsigned char)i;
  return total + pad + nbytes;
}

static void test_npy(void) {
  const char *dir = gf_t_tmpdir("parzen_npy");
  char path[2200];
  snprintf(path, sizeof path, "%s/x.npy", dir);
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)i * 0.5f - 3;
  long shape[4] = {2, 3, 2, 2};
  CHECK(gf__npy_write_f32(path, x, shape, 4) == 0, "npy write");
  gf__npy a;
  CHECK(gf__npy_read_f32(path, &a) == 0, "npy read: %s", gf_last_error());
  CHECK(a.ndim == 4 && a.shape[0] == 2 && a.shape[1] == 3 && a.shape[3] == 2 && a.count == 24, "npy shape");
  CHECK(a.data && !memcmp(a.data, x, sizeof x), "npy data round trip");
  gf__npy_free(&a);

  unsigned char buf[1024];
  size_t n;
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, 1);
  CHECK(gf__npy_parse_f32(buf, n, "one.npy", &a) == 0 && a.ndim == 1 && a.count == 3, "1-D ok");
  gf__npy_free(&a);
  n = make_npy(buf, "{\"shape\": (2, 2), \"fortran_order\": False, \"descr\": \"<f4\"}", 16, 2);
  CHECK(gf__npy_parse_f32(buf, n, "v2.npy", &a) == 0 && a.ndim == 2 && a.count == 4, "v2.0, any key order");
  gf__npy_free(&a);
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, 1);
  CHECK(gf__npy_parse_f32(buf, n, "scalar.npy", &a) == 0 && a.ndim == 0 && a.count == 1, "scalar");
  gf__npy_free(&a);

  struct { const char *dict; size_t bytes; const char *want; } bad[] = {
    {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 24, "'<f8'"},
    {"{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", 12, "'>f4'"},
    {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 12, "truncated"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12, "after"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", 12, "unknown key"},
    {"{'descr': '<f4', 'shape': (3,), }", 12, "lacks 'fortran_order'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,x), }", 12, "shape"},
    {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", 12, "structured"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk", 12, "after the dict"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    n = make_npy(buf, bad[i].dict, bad[i].bytes, 1);
    int rc = gf__npy_parse_f32(buf, n, "bad.npy", &a);
    CHECK(rc == GF_EFORMAT && strstr(gf_last_error(), "bad.npy") && strstr(gf_last_error(), bad[i].want) && !a.data,
          "bad npy %zu: rc %d, message '%s' should name the file and '%s'", i, rc, gf_last_error(), bad[i].want);
  }
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, 1);
  buf[0] = 'X';
  CHECK(gf__npy_parse_f32(buf, n, "m.npy", &a) == GF_EFORMAT && strstr(gf_last_error(), "magic"), "bad magic");
  buf[0] = 0x93;
  buf[6] = 4;
  CHECK(gf__npy_parse_f32(buf, n, "v.npy", &a) == GF_EFORMAT && strstr(gf_last_error(), "version"), "bad version");
  CHECK(gf__npy_parse_f32(buf, 7, "short.npy", &a) == GF_EFORMAT, "too short");
  buf[6] = 1;
  buf[8] = 0xff; /* header longer than the file */
  buf[9] = 0x7f;
  CHECK(gf__npy_parse_f32(buf, n, "h.npy", &a) == GF_EFORMAT && strstr(gf_last_error(), "truncated"), "header past end");
  snprintf(path, sizeof path, "%s/missing.npy", dir);
  CHECK(gf__npy_read_f32(path, &a) == GF_ENOENT && strstr(gf_last_error(), "missing.npy"), "missing file");
}

int main(void) {
  test_grid_and_mean();
  test_matches_naive();
  test_analytic_gaussian();
  test_select();
  test_self_is_high();
  test_mnist_f32();
  test_bad_inputs();
  test_npy();
  return gf_t_done();
}
