/* idx_common.h: the IDX targets' shared body: the input is a 2-byte little-endian length L, L
   bytes of the labels file, then the images file; both written (plain or as .gz names) and loaded
   with gf__mnist_load as training loads MNIST. */
#ifndef GF_TESTS_FUZZ_IDX_COMMON_H
#define GF_TESTS_FUZZ_IDX_COMMON_H

#include "fuzz.h"
#include "data/dataset.h"

static int gf_fuzz_idx(const uint8_t *data, size_t size, int gz) {
  if (size < 2) return 0;
  size_t L = (size_t)data[0] | (size_t)data[1] << 8;
  if (L > size - 2) L = size - 2;
  gf_fuzz_file(gz ? "train-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte", data + 2, L);
  gf_fuzz_file(gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte", data + 2 + L, size - 2 - L);
  const char *dir = gf_fuzz_dir();
  for (int pass = 0; pass < 2; pass++) {
    /* the whole file, then one sample after the first (offset and limit) */
    gf__dataset d;
    int rc = gf__mnist_load(&d, dir, 1, pass ? GF_SCALE_UNIT : GF_SCALE_TANH, pass, pass);
    if (rc < 0) {
      GF_FUZZ_CHECK(d.x == NULL && d.n == 0);
      GF_FUZZ_CHECK_MESSAGE(dir);
      break;
    }
    GF_FUZZ_CHECK(d.n >= 1 && d.c == 1 && d.h >= 1 && d.w >= 1 && d.nclass == 10 && d.labels);
    GF_FUZZ_CHECK(!pass || d.n == 1);
    long dim = gf__dataset_dim(&d);
    for (long i = 0; i < (long)d.n * dim; i++) GF_FUZZ_CHECK(d.x[i] >= (pass ? 0.0f : -1.0f) && d.x[i] <= 1.0f);
    for (int i = 0; i < d.n; i++) GF_FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] <= 9);
    gf__dataset_free(&d);
  }
  return 0;
}

#endif
