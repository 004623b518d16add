/* modes.c: mode coverage (modes captured, fraction high quality, reverse KL to uniform). */
#include "eval/modes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int gf__modes_eval_counts(const float *x, int n, int d, const float *modes, int m, float sigma,
                          gf__modes_result *out, int *counts) {
  if (!out) return gf__fail(GF_EINVAL, "modes: NULL result");
  memset(out, 0, sizeof *out);
  if (n < 0 || (n > 0 && !x) || d < 1 || m < 1 || !modes)
    return gf__fail(GF_EINVAL, "modes: bad arguments (n %d, d %d, m %d)", n, d, m);
  if (!(sigma > 0.0f) || !isfinite(sigma))
    return gf__fail(GF_EINVAL, "modes: sigma %g must be positive and finite", (double)sigma);
  long *cnt = calloc((size_t)m, sizeof *cnt);
  if (!cnt) return gf__fail(GF_ENOMEM, "modes: out of memory");
  const double thr2 = 9.0 * (double)sigma * (double)sigma;
  long n_hq = 0;
  for (int i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * (size_t)d;
    int best = -1;
    double best2 = 0;
    for (int j = 0; j < m; j++) {
      const float *mj = modes + (size_t)j * (size_t)d;
      double s = 0;
      for (int k = 0; k < d; k++) {
        double t = (double)xi[k] - (double)mj[k];
        s += t * t;
      }
      if (best < 0 || s < best2) { best = j; best2 = s; }
    }
    /* NaN/Inf coordinates give a NaN or Inf distance: never within 3 sigma */
    if (best >= 0 && best2 <= thr2) {
      cnt[best]++;
      n_hq++;
    }
  }
  out->n = n;
  out->m = m;
  out->n_hq = (int)n_hq;
  out->frac_hq = n > 0 ? (double)n_hq / (double)n : 0.0;
  double kl = 0;
  for (int j = 0; j < m; j++) {
    if (cnt[j] > 0) out->captured++;
    if (n_hq > 0 && cnt[j] > 0) {
      double p = (double)cnt[j] / (double)n_hq;
      kl += p * log(p * (double)m);
    }
    if (counts) counts[j] = (int)cnt[j];
  }
  /* rounding can leave a tiny negative value for an exactly uniform histogram */
  out->kl = n_hq > 0 ? (kl < 0 ? 0.0 : kl) : log((double)m);
  free(cnt);
  return 0;
}

int gf__modes_eval(const float *x, int n, int d, const float *modes, int m, float sigma,
                   gf__modes_result *out) {
  return gf__modes_eval_counts(x, n, d, modes, m, sigma, out, NULL);
}
