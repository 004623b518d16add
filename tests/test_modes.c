/* test_modes.c: the mode-coverage metric (src/eval/modes.c) on synthetic cases with known answers. */
#include "harness.h"

#include "core/rng.h"
#include "core/util.h"
#include "eval/modes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The 8 ring modes: unit circle, angles 2*pi*k/8. */
static void ring_modes(float *m) {
  for (int k = 0; k < 8; k++) {
    m[2 * k] = (float)cos(2 * M_PI * k / 8);
    m[2 * k + 1] = (float)sin(2 * M_PI * k / 8);
  }
}

/* n samples: sample i drawn around mode which[i % nw] with std `std` per coordinate. */
static float *around(const float *modes, int d, const int *which, int nw, int n, float std, uint64_t seed) {
  float *x = malloc(sizeof(float) * (size_t)n * d);
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_EVAL);
  gf__rng_normal(&r, x, (long)n * d, 0.0f, std);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < d; k++) x[(size_t)i * d + k] += modes[which[i % nw] * d + k];
  return x;
}

int main(void) {
  float ring[16];
  ring_modes(ring);
  const float sigma = 0.01f;
  gf__modes_result res;
  int counts[25];

  /* 1. all 8 modes equally covered, samples exactly on the means: 8 captured, all HQ, KL 0 */
  {
    int all[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float *x = around(ring, 2, all, 8, 2400, 0.0f, 1);
    CHECK(gf__modes_eval_counts(x, 2400, 2, ring, 8, sigma, &res, counts) == 0, "%s", gf_last_error());
    CHECK(res.n == 2400 && res.m == 8, "n %d m %d", res.n, res.m);
    CHECK(res.captured == 8, "captured %d", res.captured);
    CHECK(res.n_hq == 2400, "n_hq %d", res.n_hq);
    CHECK_CLOSE(res.frac_hq, 1.0, 0, 1e-12, "frac_hq");
    CHECK_CLOSE(res.kl, 0.0, 0, 1e-12, "kl uniform");
    int ok = 1;
    for (int j = 0; j < 8; j++) ok &= counts[j] == 300;
    CHECK(ok, "per-mode counts not 300 each");
    free(x);
  }
  /* 2. equal coverage with the data's own spread (sigma): ~98.9% within 3 sigma in 2-D, KL ~ 0 */
  {
    int all[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float *x = around(ring, 2, all, 8, 8000, sigma, 2);
    CHECK(gf__modes_eval(x, 8000, 2, ring, 8, sigma, &res) == 0, "%s", gf_last_error());
    CHECK(res.captured == 8, "captured %d", res.captured);
    /* P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.98889 */
    CHECK(fabs(res.frac_hq - 0.98889) < 0.01, "frac_hq %g", res.frac_hq);
    CHECK(res.kl >= 0 && res.kl < 0.005, "kl %g", res.kl);
    free(x);
  }
  /* 3. samples only near 3 modes (equal shares): 3 captured, KL = log(8/3) */
  {
    int three[3] = {0, 3, 5};
    float *x = around(ring, 2, three, 3, 2499, sigma * 0.5f, 3);
    CHECK(gf__modes_eval_counts(x, 2499, 2, ring, 8, sigma, &res, counts) == 0, "%s", gf_last_error());
    CHECK(res.captured == 3, "captured %d", res.captured);
    CHECK(counts[0] > 0 && counts[3] > 0 && counts[5] > 0, "counts %d %d %d", counts[0], counts[3], counts[5]);
    CHECK(counts[1] == 0 && counts[2] == 0 && counts[4] == 0 && counts[6] == 0 && counts[7] == 0, "empty modes have counts");
    CHECK(res.n_hq > 2450, "n_hq %d", res.n_hq);
    /* the histogram is close to 1/3 each: KL close to log(8/3) = 0.98083 */
    CHECK(fabs(res.kl - log(8.0 / 3.0)) < 0.01, "kl %g vs %g", res.kl, log(8.0 / 3.0));
    free(x);
  }
  /* 3b. exact three-mode histogram on the means: KL exactly log(8/3) */
  {
    int three[3] = {1, 2, 7};
    float *x = around(ring, 2, three, 3, 300, 0.0f, 4);
    CHECK(gf__modes_eval(x, 300, 2, ring, 8, sigma, &res) == 0, "%s", gf_last_error());
    CHECK(res.captured == 3, "captured %d", res.captured);
    CHECK_CLOSE(res.kl, log(8.0 / 3.0), 1e-9, 1e-12, "kl three modes");
    free(x);
  }
  /* 4. one mode only: KL = log(m) */
  {
    int one[1] = {6};
    float *x = around(ring, 2, one, 1, 100, 0.0f, 5);
    CHECK(gf__modes_eval(x, 100, 2, ring, 8, sigma, &res) == 0, "%s", gf_last_error());
    CHECK(res.captured == 1, "captured %d", res.captured);
    CHECK_CLOSE(res.kl, log(8.0), 1e-9, 1e-12, "kl one mode");
    free(x);
  }
  /* 5. unequal histogram: 3/4 on mode 0, 1/4 on mode 1 of m = 2: KL = .75 log 1.5 + .25 log .5 */
  {
    float two[4] = {0, 0, 1, 0};
    float x[8] = {0, 0, 0, 0, 0, 0, 1, 0};
    CHECK(gf__modes_eval(x, 4, 2, two, 2, 0.1f, &res) == 0, "%s", gf_last_error());
    CHECK(res.captured == 2, "captured %d", res.captured);
    CHECK_CLOSE(res.kl, 0.75 * log(1.5) + 0.25 * log(0.5), 1e-9, 1e-12, "kl 3:1");
  }
  /* 6. far-away samples: none high quality, 0 captured, KL = log(m) by convention */
  {
    int all[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float *x = around(ring, 2, all, 8, 2500, 0.0f, 6);
    for (int i = 0; i < 2500 * 2; i++) x[i] *= 3.0f; /* radius 3: 2 away from every mean */
    CHECK(gf__modes_eval(x, 2500, 2, ring, 8, sigma, &res) == 0, "%s", gf_last_error());
    CHECK(res.n_hq == 0 && res.frac_hq == 0.0, "n_hq %d", res.n_hq);
    CHECK(res.captured == 0, "captured %d", res.captured);
    CHECK_CLOSE(res.kl, log(8.0), 1e-9, 1e-12, "kl without high-quality samples");
    free(x);
  }
  /* 7. the 3-sigma boundary (Euclidean distance in d dims): 2.9 sigma in, 3.1 sigma out */
  {
    float x[4] = {1.0f + 0.029f, 0.0f, 1.0f + 0.031f, 0.0f};
    CHECK(gf__modes_eval_counts(x, 2, 2, ring, 8, sigma, &res, counts) == 0, "%s", gf_last_error());
    CHECK(res.n_hq == 1 && counts[0] == 1, "n_hq %d", res.n_hq);
    /* diagonal offset: each coordinate 2.5 sigma, distance 3.54 sigma: not high quality */
    float y[2] = {1.0f + 0.025f, 0.025f};
    CHECK(gf__modes_eval(y, 1, 2, ring, 8, sigma, &res) == 0 && res.n_hq == 0, "diagonal n_hq %d", res.n_hq);
  }
  /* 8. NaN / Inf samples are never high quality */
  {
    float x[6] = {NAN, 0.0f, 1.0f, INFINITY, 1.0f, 0.0f};
    CHECK(gf__modes_eval(x, 3, 2, ring, 8, sigma, &res) == 0, "%s", gf_last_error());
    CHECK(res.n == 3 && res.n_hq == 1 && res.captured == 1, "n_hq %d captured %d", res.n_hq, res.captured);
  }
  /* 9. the 25-mode grid in 2-D and a 1-D mixture (d generic) */
  {
    float grid[50];
    int all[25];
    for (int k = 0; k < 25; k++) {
      grid[2 * k] = (float)(-4 + 2 * (k % 5));
      grid[2 * k + 1] = (float)(-4 + 2 * (k / 5));
      all[k] = k;
    }
    float *x = around(grid, 2, all, 20, 2000, 0.0f, 7); /* modes 0..19 only */
    CHECK(gf__modes_eval_counts(x, 2000, 2, grid, 25, 0.05f, &res, counts) == 0, "%s", gf_last_error());
    CHECK(res.captured == 20, "grid captured %d", res.captured);
    CHECK_CLOSE(res.kl, log(25.0 / 20.0), 1e-9, 1e-12, "grid kl");
    free(x);
    float m1[3] = {-5, 0, 5}, x1[5] = {-5.1f, 0.35f, 4.95f, 2.5f, 100};
    CHECK(gf__modes_eval(x1, 5, 1, m1, 3, 0.1f, &res) == 0, "%s", gf_last_error());
    CHECK(res.n_hq == 2 && res.captured == 2, "1-D n_hq %d captured %d", res.n_hq, res.captured);
  }
  /* 10. n = 0 and bad arguments */
  {
    CHECK(gf__modes_eval(NULL, 0, 2, ring, 8, sigma, &res) == 0, "%s", gf_last_error());
    CHECK(res.n == 0 && res.frac_hq == 0 && res.captured == 0, "empty input");
    float x[2] = {1, 0};
    CHECK(gf__modes_eval(x, 1, 2, ring, 8, 0.0f, &res) == GF_EINVAL, "sigma 0 accepted");
    CHECK(strstr(gf_last_error(), "sigma") != NULL, "message: %s", gf_last_error());
    CHECK(gf__modes_eval(x, 1, 2, ring, 8, NAN, &res) == GF_EINVAL, "sigma NaN accepted");
    CHECK(gf__modes_eval(x, 1, 0, ring, 8, sigma, &res) == GF_EINVAL, "d 0 accepted");
    CHECK(gf__modes_eval(x, 1, 2, ring, 0, sigma, &res) == GF_EINVAL, "m 0 accepted");
    CHECK(gf__modes_eval(x, -1, 2, ring, 8, sigma, &res) == GF_EINVAL, "n -1 accepted");
    CHECK(gf__modes_eval(x, 1, 2, NULL, 8, sigma, &res) == GF_EINVAL, "NULL modes accepted");
    CHECK(gf__modes_eval(NULL, 1, 2, ring, 8, sigma, &res) == GF_EINVAL, "NULL x accepted");
    CHECK(gf__modes_eval(x, 1, 2, ring, 8, sigma, NULL) == GF_EINVAL, "NULL out accepted");
  }
  return gf_t_done();
}
