/* test_rng.c: the random streams every run draws from (weights, noise, data order, dropout,
   penalty coefficients): Philox4x32-10 against the published known-answer vectors, and the
   distributions the streams hand out (N(0, 1) by Box-Muller, U[0, 1), integers below n,
   permutations) against their exact laws. Every sample is drawn from a fixed seed, so each
   statistic below is one fixed number; the bounds are those a correct generator passes with
   probability 1 - 1e-4 (4 standard errors, or the 1e-4 quantile of the statistic's law), so a
   biased Box-Muller, a wrong scale or a skewed shuffle fails them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"

#define Z4 3.9 /* two-sided 1e-4 */

static void kat(void) {
  /* Random123's kat_vectors for philox4x32_10: counter (c0..c3), key (k0, k1) -> 4 words */
  static const uint32_t v[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
      {~0u, ~0u, ~0u, ~0u, ~0u, ~0u, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
      {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu,
       0x5001e420u, 0x24126ea1u}};
  for (int t = 0; t < 3; t++) {
    const uint32_t *c = v[t];
    uint64_t lo = (uint64_t)c[1] << 32 | c[0], hi = (uint64_t)c[3] << 32 | c[2], key = (uint64_t)c[5] << 32 | c[4];
    uint32_t a[4], b[4];
    gf__philox4x32(key, hi, lo, a);
    gf__k_philox4x32(key, hi, lo, b);
    CHECK(!memcmp(a, c + 6, sizeof a) && !memcmp(b, c + 6, sizeof b),
          "philox4x32-10 vector %d: %08x %08x %08x %08x (want %08x %08x %08x %08x)", t, a[0], a[1], a[2], a[3], c[6], c[7],
          c[8], c[9]);
  }
}

static int cmp_f(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static double phi(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

/* Kolmogorov-Smirnov distance of the sorted sample x[n] to the law cdf. */
static double ks(const float *x, long n, double (*cdf)(double)) {
  double d = 0;
  for (long i = 0; i < n; i++) {
    double f = cdf(x[i]), lo = f - (double)i / n, hi = (double)(i + 1) / n - f;
    if (lo > d) d = lo;
    if (hi > d) d = hi;
  }
  return d;
}

/* sqrt(n) D of KS below which a correct sample lies with probability 1 - 1e-4 */
#define KS4 2.23

/* Sorts x[n] and checks its KS distance to the law cdf. */
static void check_ks(float *x, long n, double (*cdf)(double), const char *what) {
  qsort(x, (size_t)n, sizeof(float), cmp_f);
  double d = ks(x, n, cdf);
  CHECK(d * sqrt((double)n) < KS4, "%s KS distance %.3g (sqrt(n) D = %.2f)", what, d, d * sqrt((double)n));
}

static void normals(void) {
  const long n = 1L << 21;
  float *x = malloc(sizeof(float) * n);
  gf__rng r;
  gf__rng_init(&r, 1, GF_STREAM_NOISE);
  gf__rng_normal(&r, x, n, 0.0f, 1.0f);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  long tail3 = 0, tail4 = 0;
  for (long i = 0; i < n; i++) m1 += x[i];
  m1 /= n;
  for (long i = 0; i < n; i++) {
    double d = x[i] - m1, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
    tail3 += fabs(x[i]) > 3.0;
    tail4 += fabs(x[i]) > 4.0;
  }
  m2 /= n;
  double skew = m3 / n / pow(m2, 1.5), kurt = m4 / n / (m2 * m2);
  CHECK(fabs(m1) < Z4 / sqrt((double)n), "normal mean %.6f", m1);
  CHECK(fabs(m2 - 1) < Z4 * sqrt(2.0 / n), "normal variance %.6f", m2);
  CHECK(fabs(skew) < Z4 * sqrt(6.0 / n), "normal skewness %.5f", skew);
  CHECK(fabs(kurt - 3) < Z4 * sqrt(24.0 / n), "normal kurtosis %.5f", kurt);
  /* the tails Box-Muller must reach: P(|z| > 3) = 2.70e-3, P(|z| > 4) = 6.33e-5 */
  double e3 = n * 2 * (1 - phi(3)), e4 = n * 2 * (1 - phi(4));
  CHECK(fabs(tail3 - e3) < Z4 * sqrt(e3), "|z| > 3: %ld (expected %.0f)", tail3, e3);
  CHECK(fabs(tail4 - e4) < Z4 * sqrt(e4) + 1, "|z| > 4: %ld (expected %.0f)", tail4, e4);
  check_ks(x, n, phi, "normal");
  CHECK(x[0] > -7 && x[n - 1] < 7, "normal extremes %.3f %.3f", x[0], x[n - 1]);
  /* mean and scale: N(0.5, 2) from the same stream position is 0.5 + 2 z, element for element */
  float *y = malloc(sizeof(float) * 4096), *z = malloc(sizeof(float) * 4096);
  gf__rng a, b;
  gf__rng_init(&a, 9, GF_STREAM_INIT);
  b = a;
  gf__rng_normal(&a, y, 4096, 0.5f, 2.0f);
  gf__rng_normal(&b, z, 4096, 0.0f, 1.0f);
  double worst = 0;
  for (int i = 0; i < 4096; i++) worst = fmax(worst, fabs(y[i] - (0.5 + 2.0 * z[i])));
  CHECK(worst < 1e-6, "N(0.5, 2) vs 0.5 + 2 N(0, 1): %.3g", worst);
  free(y);
  free(z);
  free(x);
}

static double unit_cdf(double u) { return u < 0 ? 0 : u > 1 ? 1 : u; }

static void uniforms(void) {
  const long n = 1L << 21;
  float *x = malloc(sizeof(float) * n);
  gf__rng r;
  gf__rng_init(&r, 2, GF_STREAM_PENALTY);
  gf__rng_uniform(&r, x, n, 0.0f, 1.0f);
  double m = 0, lo = 1, hi = 0;
  for (long i = 0; i < n; i++) {
    m += x[i];
    lo = fmin(lo, x[i]);
    hi = fmax(hi, x[i]);
  }
  m /= n;
  CHECK(lo >= 0 && hi < 1, "uniform range [%.9g, %.9g]", lo, hi);
  CHECK(fabs(m - 0.5) < Z4 * sqrt(1.0 / 12 / n), "uniform mean %.6f", m);
  check_ks(x, n, unit_cdf, "uniform");
  free(x);
}

/* chi-square of counts[k] against equal expectation; bound: its 1e-4 upper quantile (Wilson-Hilferty) */
static void chi2_equal(const long *counts, int k, long total, const char *what) {
  double e = (double)total / k, c = 0;
  for (int i = 0; i < k; i++) c += (counts[i] - e) * (counts[i] - e) / e;
  double df = k - 1, q = df * pow(1 - 2 / (9 * df) + 3.72 * sqrt(2 / (9 * df)), 3);
  CHECK(c < q, "%s: chi-square %.1f over %d cells (1e-4 bound %.1f)", what, c, k, q);
}

static void integers(void) {
  /* below n, n not a power of two: no modulo bias */
  long cnt[7] = {0};
  gf__rng r;
  gf__rng_init(&r, 3, GF_STREAM_DATA);
  const long draws = 1400000;
  int bad = 0;
  for (long i = 0; i < draws; i++) {
    uint32_t v = gf__rng_below(&r, 7);
    if (v >= 7) bad++;
    else cnt[v]++;
  }
  CHECK(!bad, "below(7) returned %d values out of range", bad);
  chi2_equal(cnt, 7, draws, "below(7)");
  /* permutations of 5: all 120 equally likely (Fisher-Yates on below) */
  long perm_cnt[120] = {0};
  const long np = 240000;
  for (long t = 0; t < np; t++) {
    int p[5];
    gf__rng_perm(&r, p, 5);
    int rank = 0, used = 0;
    for (int i = 0; i < 5; i++) { /* Lehmer code */
      int smaller = 0;
      for (int j = 0; j < p[i]; j++) smaller += !(used >> j & 1);
      used |= 1 << p[i];
      static const int fact[5] = {24, 6, 2, 1, 1};
      rank += smaller * fact[i];
    }
    perm_cnt[rank]++;
  }
  chi2_equal(perm_cnt, 120, np, "permutations of 5");
  /* an epoch of MNIST: a permutation, with no trace of the identity order */
  const int n = 60000;
  int *p = malloc(sizeof(int) * n), *seen = calloc(n, sizeof(int));
  gf__rng_perm(&r, p, n);
  int ok = 1;
  double sxy = 0, mean = (n - 1) / 2.0, var = ((double)n * n - 1) / 12.0;
  long fixed = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < 0 || p[i] >= n || seen[p[i]]++) ok = 0;
    else sxy += (i - mean) * (p[i] - mean);
    fixed += p[i] == i;
  }
  double corr = sxy / n / var;
  CHECK(ok, "perm(60000) is not a permutation");
  CHECK(fabs(corr) < Z4 / sqrt((double)n), "perm(60000): correlation with position %.4f", corr);
  CHECK(fixed < 8, "perm(60000): %ld fixed points (Poisson(1))", fixed);
  free(p);
  free(seen);
}

/* Streams of one seed, and one stream of two seeds, are uncorrelated. */
static void independence(void) {
  const long n = 1L << 18;
  float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * n);
  gf__rng r;
  gf__rng_init(&r, 1, GF_STREAM_NOISE);
  gf__rng_normal(&r, a, n, 0, 1);
  gf__rng_init(&r, 1, GF_STREAM_INIT);
  gf__rng_normal(&r, b, n, 0, 1);
  gf__rng_init(&r, 2, GF_STREAM_NOISE);
  gf__rng_normal(&r, c, n, 0, 1);
  double ab = 0, ac = 0, lag = 0;
  for (long i = 0; i < n; i++) {
    ab += (double)a[i] * b[i];
    ac += (double)a[i] * c[i];
    if (i) lag += (double)a[i] * a[i - 1];
  }
  ab /= n;
  ac /= n;
  lag /= n - 1;
  double bound = Z4 / sqrt((double)n);
  CHECK(fabs(ab) < bound, "seed 1: noise vs init stream correlation %.4f", ab);
  CHECK(fabs(ac) < bound, "noise stream: seed 1 vs seed 2 correlation %.4f", ac);
  CHECK(fabs(lag) < bound, "noise stream: lag-1 correlation %.4f", lag);
  free(a);
  free(b);
  free(c);
}

int main(void) {
  kat();
  normals();
  uniforms();
  integers();
  independence();
  printf("%d passed, %d failed\n", gf_t_pass, gf_t_fail);
  return gf_t_fail != 0;
}
