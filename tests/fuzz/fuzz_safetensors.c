/* fuzz_safetensors.c: a safetensors file through gf__st_open_buf (header JSON, tensor table,
   offsets), then every tensor read back by name with its own shape, the metadata looked up, and
   a stored config parsed as `ganforge sample` / `info` would. */
#include "fuzz.h"
#include "ganforge/config.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  gf__st_file f;
  int rc = gf__st_open_buf(&f, "fuzz-input.safetensors", buf, size);
  if (rc < 0) {
    GF_FUZZ_CHECK(f.buf == NULL && f.json == NULL);
    GF_FUZZ_CHECK_MESSAGE("fuzz-input.safetensors");
    return 0;
  }
  GF_FUZZ_CHECK(f.n >= 0);
  for (int i = 0; i < f.n; i++) {
    const char *name = gf__st_name(&f, i);
    GF_FUZZ_CHECK(name != NULL);
    const uint8_t *p;
    int nd;
    int64_t shape[GF_ST_MAXDIM];
    GF_FUZZ_CHECK(gf__st_get(&f, name, &p, &nd, shape) == 0);
    size_t count = 1;
    for (int d = 0; d < nd; d++) count *= (size_t)shape[d];
    GF_FUZZ_CHECK(count * 4 <= size && p >= f.buf && p + count * 4 <= f.buf + f.len);
    float *dst = malloc(count * 4 + 4);
    GF_FUZZ_CHECK(dst != NULL);
    GF_FUZZ_CHECK(gf__st_read_into(&f, name, dst, nd, shape) == 0);
    free(dst);
    if (nd < GF_ST_MAXDIM) { /* a wrong shape is a mismatch, not a read */
      shape[nd] = 2;
      GF_FUZZ_CHECK(gf__st_read_into(&f, name, NULL, nd + 1, shape) == GF_EMISMATCH);
    }
  }
  GF_FUZZ_CHECK(gf__st_name(&f, f.n) == NULL);
  const char *text = gf__st_meta(&f, "config");
  if (text) {
    gf_config c;
    gf_config_defaults(&c);
    if (gf_config_from_text(&c, text) == 0) (void)gf_config_validate(&c);
  }
  gf__st_close(&f);
  return 0;
}
