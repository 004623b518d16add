/* fuzz_cifar.c: a CIFAR-10 binary batch through gf__cifar10_load. The first byte picks the model's
   channels (bit 0: grey or RGB), its size (bits 1-2: 32 as stored, or 16 / 28 / 40 through the
   resize + crop path), the offset (bit 3) and a limit (bit 4); the rest is the batch file. */
#include "fuzz.h"
#include "data/images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const int sizes[4] = {32, 16, 28, 40};
  int nc = data[0] & 1 ? 1 : 3, sz = sizes[data[0] >> 1 & 3], offset = data[0] >> 3 & 1, limit = data[0] >> 4 & 1 ? 2 : 0;
  const char *path = gf_fuzz_file("data_batch_1.bin", data + 1, size - 1);
  gf__dataset d;
  int rc = gf__cifar10_load(&d, path, 0, nc, sz, GF_SCALE_TANH, offset, limit);
  if (rc < 0) {
    GF_FUZZ_CHECK(d.x == NULL && d.n == 0);
    GF_FUZZ_CHECK_MESSAGE(gf_fuzz_dir());
    return 0;
  }
  long recs = (long)(size - 1) / 3073;
  GF_FUZZ_CHECK(d.n >= 1 && d.n == (limit && recs - offset > limit ? limit : recs - offset));
  GF_FUZZ_CHECK(d.c == nc && d.h == sz && d.w == sz && d.nclass == 10);
  for (long i = 0; i < (long)d.n * gf__dataset_dim(&d); i++) GF_FUZZ_CHECK(d.x[i] >= -1.0f && d.x[i] <= 1.0f);
  for (int i = 0; i < d.n; i++) GF_FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] <= 9);
  gf__dataset_free(&d);
  return 0;
}
