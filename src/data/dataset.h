/* dataset.h: in-memory datasets (MNIST, digits, synthetic sets, shapes) and their lookup/download. */
#ifndef GF_DATA_DATASET_H
#define GF_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

/* How pixel values are scaled: tanh generators want [-1, 1], sigmoid ones [0, 1]. */
typedef enum { GF_SCALE_TANH = 0, GF_SCALE_UNIT = 1 } gf__scale;

/* A dataset held in memory as float32 rows. Vectors (gauss1d, ring8) have c = dim, h = w = 1. */
typedef struct gf__dataset {
  char name[64];
  int n;            /* number of samples */
  int c, h, w;      /* per-sample shape */
  float *x;         /* [n, c*h*w] row-major, scaled per `scale` for images */
  int *labels;      /* [n] class labels, or NULL */
  int nclass;       /* number of classes (0 when unlabeled) */
  /* Mixtures (gauss1d, ring8, grid25): the true modes, for plots and mode-coverage metrics. */
  int nmodes;       /* 0 for image sets */
  float *modes;     /* [nmodes, c] mode means */
  float mode_sigma; /* std of every mode */
} gf__dataset;

static inline long gf__dataset_dim(const gf__dataset *d) { return (long)d->c * d->h * d->w; }
void gf__dataset_free(gf__dataset *d);

/* MNIST / Fashion-MNIST in IDX format, plain or gzip (.gz) - files in `dir` named
   train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-... for the test split.
   `limit` > 0 keeps the first `limit` samples; `offset` skips the first `offset`.
   Checks magic numbers, dimensions, counts, and that the file holds all the data it claims. */
int gf__mnist_load(gf__dataset *d, const char *dir, int train, gf__scale scale, int offset, int limit);

/* UCI optdigits text file (65 comma-separated integers per line, values 0..16 + class).
   `path` may also be a folder (as gf__data_locate returns): its optdigits.tra is loaded. */
int gf__digits_load(gf__dataset *d, const char *path, gf__scale scale, int limit);

/* Synthetic sets, deterministic from the seed. */
int gf__synth_gauss1d(gf__dataset *d, int n, float mu, float sigma, uint64_t seed);
int gf__synth_ring8(gf__dataset *d, int n, uint64_t seed);   /* 8 modes on unit circle, sigma 0.01 */
int gf__synth_grid25(gf__dataset *d, int n, uint64_t seed);  /* 25 modes on {-4..4 step 2}^2, sigma 0.05 */
/* `shapes`: size x size grayscale filled circles (0), squares (1), triangles (2), random size,
   position and rotation, labels set; deterministic from the seed. */
int gf__shapes_make(gf__dataset *d, int n, int size, uint64_t seed, gf__scale scale);

/* `stacked-mnist` (1,000 modes): sample i stacks the MNIST digits idx[0], idx[1], idx[2] as its
   R, G, B planes (c = 3), label = 100 * digit_R + 10 * digit_G + digit_B (nclass 1000). The
   indices into a pool of `pool` digits depend only on (seed, i): gf__stacked_mnist_pick. */
#define GF_STACKED_MNIST_DEFAULT_N 60000
void gf__stacked_mnist_pick(uint64_t seed, long i, int pool, int idx[3]);
/* Stacks n samples (n <= 0: GF_STACKED_MNIST_DEFAULT_N) from a loaded grey 10-class set, keeping
   its scaling; the pool is only read. */
int gf__stacked_mnist_make(gf__dataset *d, const gf__dataset *mnist, int n, uint64_t seed);
/* gf__mnist_load(dir, train, scale, offset, limit) for the pool, then gf__stacked_mnist_make. */
int gf__stacked_mnist_load(gf__dataset *d, const char *dir, int train, gf__scale scale, int offset, int limit, int n,
                           uint64_t seed);

/* Dataset lookup: finds the folder holding the named dataset's files (e.g. "mnist", "digits").
   Order: `explicit_path` (a --data argument, may be NULL), $GANFORGE_DATA/<name>,
   the cache dir ($XDG_CACHE_HOME or ~/.cache)/ganforge/<name>; otherwise, when `allow_download`,
   downloads from the mirror ($GANFORGE_MIRROR overrides the canonical one) into the cache with
   SHA-256 verification. Writes the folder (or file for single-file sets) into out.
   $GANFORGE_CACHE, when set, replaces the cache root; files are fetched as $GANFORGE_MIRROR/<name>/<file>.
   "faces" and "horse2zebra" are found locally only (no verified download). */
int gf__data_locate(const char *name, const char *explicit_path, int allow_download, char *out, size_t cap);
/* Downloads every file of a known dataset into `dest_dir` (verified); used by `ganforge data fetch`. */
int gf__data_fetch(const char *name, const char *dest_dir);
/* Names of downloadable datasets, NULL-terminated. */
const char *const *gf__data_known(void);

/* SHA-256 of a file as 64 lowercase hex chars + NUL. */
int gf__sha256_file(const char *path, char hex[65]);
void gf__sha256(const void *data, size_t len, uint8_t out[32]);

#endif
