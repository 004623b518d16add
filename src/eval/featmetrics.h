/* featmetrics.h: sample-quality metrics in a feature space (ganforge's own classifier features):
   Frechet distance, kernel distance, k-NN precision/recall, classifier score, label histograms.

   Definitions (all in double precision; x are float32 [n, d] feature rows):
   - FID  = |mu_r - mu_g|^2 + tr(S_r) + tr(S_g) - 2 tr sqrt(S_r^1/2 S_g S_r^1/2), with unbiased
     covariances (n - 1) and symmetric square roots by Jacobi eigendecomposition (negative
     eigenvalues from rounding clamped to 0). Heusel et al. 2017, in our feature space.
   - KID  = unbiased MMD^2 with the kernel k(a, b) = (a.b / d + 1)^3, averaged over `subsets`
     random subsets of `m` rows of each set (mean and standard deviation reported).
     Binkowski et al. 2018.
   - precision / recall (Kynkaanniemi et al. 2019): the real manifold is the union of balls around
     each real feature with radius its distance to its k-th nearest real neighbour; precision = the
     share of generated features inside it; recall = the share of real features inside the
     generated manifold (same construction).
   - classifier score = exp(E_x KL(p(y|x) || p(y))) over `splits` equal splits (mean, std), the
     Inception-Score construction with our classifier's class probabilities.
   - label histogram: modes = distinct labels hit; KL(hist || uniform over m) in nats. */
#ifndef GF_EVAL_FEATMETRICS_H
#define GF_EVAL_FEATMETRICS_H

#include <stdint.h>

/* Symmetric eigendecomposition (cyclic Jacobi) of a [d, d] matrix (destroyed): eigenvalues into
   w[d], eigenvectors as the columns of v [d, d]. */
int gf__sym_eig(double *a, int d, double *w, double *v);

int gf__fid(const float *xr, int nr, const float *xg, int ng, int d, double *fid);
int gf__kid(const float *xr, int nr, const float *xg, int ng, int d, int subsets, int m, uint64_t seed, double *mean,
            double *std);
int gf__prec_recall(const float *xr, int nr, const float *xg, int ng, int d, int k, double *precision, double *recall);
int gf__class_score(const float *prob, int n, int C, int splits, double *mean, double *std);
int gf__label_hist(const int *labels, int n, int m, int *modes, double *kl);

#endif
