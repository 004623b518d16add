/* modes.h: mode coverage of samples from a mixture of isotropic Gaussians (VEEGAN / PacGAN metric).

   Protocol (see shared/REFERENCE.md, "Mode coverage on 2-D mixtures"):
   - every sample is assigned to its nearest mode mean (Euclidean distance in d dimensions; ties go
     to the lowest mode index);
   - a sample is "high quality" when that distance is <= 3 * sigma (sigma: the per-coordinate
     standard deviation of every mode);
   - a mode is "captured" when it is the nearest mean of at least one high-quality sample;
   - the mode histogram p is built from high-quality samples only: p_j = count_j / n_hq;
   - reverse KL to the uniform distribution over the m modes:
         KL(p || U) = sum_{j : p_j > 0} p_j * log(p_j * m)        (natural log, nats)
     Empty modes contribute 0 (the 0 log 0 = 0 convention), so KL is 0 exactly when every mode
     holds the same share of the high-quality samples and log(m) when they all fall on one mode.
     When there is no high-quality sample at all (n_hq = 0) the histogram is undefined: kl is then
     set to log(m), the worst value any histogram can reach, so that "nothing good" never scores
     better than "one mode only".
   Samples with a NaN or Inf coordinate are never high quality (they count in n, not in n_hq). */
#ifndef GF_EVAL_MODES_H
#define GF_EVAL_MODES_H

typedef struct gf__modes_result {
  int n;           /* samples evaluated */
  int m;           /* modes */
  int n_hq;        /* high-quality samples */
  int captured;    /* modes captured (0..m) */
  double frac_hq;  /* n_hq / n (0 when n = 0) */
  double kl;       /* KL(hist of high-quality samples || uniform over m), nats; log(m) when n_hq = 0 */
} gf__modes_result;

/* x: [n, d] samples (row-major float32), modes: [m, d] mode means, sigma > 0.
   Returns 0, or GF_EINVAL (NULL pointers, n < 0, d < 1, m < 1, sigma not positive and finite). */
int gf__modes_eval(const float *x, int n, int d, const float *modes, int m, float sigma,
                   gf__modes_result *out);
/* Same, also writing the per-mode counts of high-quality samples into counts[m] (may be NULL). */
int gf__modes_eval_counts(const float *x, int n, int d, const float *modes, int m, float sigma,
                          gf__modes_result *out, int *counts);

#endif
