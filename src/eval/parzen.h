/* parzen.h: Gaussian Parzen-window log-likelihood (Goodfellow et al. 2014, the authors' parzen_ll.py).

   For kernel centres mu_1..mu_S (generator samples) and bandwidth sigma, the density at x in R^d is
       log p(x) = logmeanexp_i( -||x - mu_i||^2 / (2 sigma^2) ) - d * log(sigma * sqrt(2 pi)).
   Squared distances come from ||x||^2 + ||mu||^2 - 2 x.mu with the dot products from BLAS gemm on
   blocks of test rows x sample rows (both sets first centred on the samples' mean, which makes the
   norms small and the cancellation mild); the log-sum-exp streams over sample blocks (running max
   and rescaled sum, in double) for several bandwidths at once; OpenMP runs over blocks of test rows.
   Precision GF_PARZEN_F64 (default) does the gemm in double (dgemm): agrees with a direct double
   computation to ~1e-12 relative. GF_PARZEN_F32 uses sgemm (about twice as fast); its distances carry
   float rounding (~1e-4 absolute on MNIST), i.e. ~1e-3 nats per point at sigma = 0.2. */
#ifndef GF_EVAL_PARZEN_H
#define GF_EVAL_PARZEN_H

enum { GF_PARZEN_F64 = 0, GF_PARZEN_F32 = 1 };

/* Log-likelihoods of the n_x rows of x [n_x, d] under Parzen windows centred on mu [n_mu, d] for each
   of the nsig bandwidths sigmas[k] > 0: ll[k * n_x + i]. Non-finite inputs are rejected (GF_ENUMERIC). */
int gf__parzen_ll(const float *mu, int n_mu, const float *x, int n_x, int d, const double *sigmas, int nsig,
                  int precision, double *ll);

/* Mean and standard error (std with ddof 0, divided by sqrt(n), as parzen_ll.py) of v[0..n). */
void gf__parzen_mean_se(const double *v, int n, double *mean, double *se);

/* The protocol's bandwidth grid: numpy.logspace(-1, 0, n) (n = 10: 0.1 ... 1.0). */
void gf__parzen_grid(double *grid, int n);

/* Chooses sigma on the grid by the mean log-likelihood of val [n_val, d]: writes each grid value's
   mean validation LL into val_ll[ngrid] (may be NULL) and the index of the best one (first on ties)
   into *best. */
int gf__parzen_select(const float *mu, int n_mu, const float *val, int n_val, int d, const double *grid,
                      int ngrid, int precision, int *best, double *val_ll);

#endif
