/* fuzz_digits.c: a UCI optdigits text file through gf__digits_load. */
#include "fuzz.h"
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = gf_fuzz_file("optdigits.tra", data, size);
  gf__dataset d;
  int rc = gf__digits_load(&d, path, GF_SCALE_TANH, size & 1 ? 3 : 0);
  if (rc < 0) {
    GF_FUZZ_CHECK(d.x == NULL && d.n == 0);
    GF_FUZZ_CHECK_MESSAGE(path);
    return 0;
  }
  GF_FUZZ_CHECK(d.n >= 1 && d.c == 1 && d.h == 8 && d.w == 8 && (!(size & 1) || d.n <= 3));
  for (long i = 0; i < (long)d.n * 64; i++) GF_FUZZ_CHECK(d.x[i] >= -1.0f && d.x[i] <= 1.0f);
  for (int i = 0; i < d.n; i++) GF_FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] <= 9);
  gf__dataset_free(&d);
  return 0;
}
