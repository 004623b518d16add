/* fuzz_npy.c: a .npy file through gf__npy_parse_f32 (what `ganforge eval SAMPLES.npy` reads);
   an accepted array written back with gf__npy_write_f32 must read back the same. */
#include "fuzz.h"
#include "eval/npyio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gf__npy a;
  int rc = gf__npy_parse_f32(data, size, "fuzz-input.npy", &a);
  if (rc < 0) {
    GF_FUZZ_CHECK(a.data == NULL && a.count == 0);
    GF_FUZZ_CHECK_MESSAGE("fuzz-input.npy");
    return 0;
  }
  size_t count = 1;
  for (int i = 0; i < a.ndim; i++) count *= (size_t)a.shape[i];
  GF_FUZZ_CHECK(a.count == count && a.data && a.ndim >= 0 && a.ndim <= GF_NPY_MAXDIM);
  GF_FUZZ_CHECK(count * sizeof(float) <= size);
  if (a.ndim >= 1) {
    char path[700];
    snprintf(path, sizeof path, "%s/again.npy", gf_fuzz_dir());
    GF_FUZZ_CHECK(gf__npy_write_f32(path, a.data, a.shape, a.ndim) == 0);
    gf__npy b;
    GF_FUZZ_CHECK(gf__npy_read_f32(path, &b) == 0);
    GF_FUZZ_CHECK(b.ndim == a.ndim && b.count == a.count);
    GF_FUZZ_CHECK(!memcmp(b.shape, a.shape, sizeof(long) * (size_t)a.ndim));
    GF_FUZZ_CHECK(!memcmp(b.data, a.data, sizeof(float) * a.count));
    gf__npy_free(&b);
  }
  gf__npy_free(&a);
  return 0;
}
