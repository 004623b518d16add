/* fuzz_generator.c: a generator file through the inference API as a program linking
   libganforge_infer opens one: gf_generator_open (the stored config builds the network: MLP,
   DCGAN, ResNet or U-Net translator, then its tensors are loaded by name), then one pass
   (gf_generator_sample / gf_generator_translate at the trained size) and gf_generator_close.
   Input: 1 byte (bit 0: CycleGAN direction BtoA), then the file. Translators trained above 128 px
   are skipped before opening: a valid 4096 px translator needs gigabytes of activations for one
   image, which is not a parser's fault (the target reads the config as gf_generator_open does). */
#include <math.h>

#include "fuzz.h"
#include "ganforge/config.h"
#include "ganforge/infer.h"
#include "io/safetensors.h"

static int too_large(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1);
  if (!copy) abort();
  memcpy(copy, data, size);
  gf__st_file f;
  if (gf__st_open_buf(&f, "input", copy, size) < 0) return 0; /* gf_generator_open says why */
  const char *text = gf__st_meta(&f, "config");
  gf_config cfg;
  gf_config_defaults(&cfg);
  int big = text && gf_config_from_text(&cfg, text) == 0 &&
            (!strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix")) && cfg.data_crop_size > 128;
  gf__st_close(&f);
  return big;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || too_large(data + 1, size - 1)) return 0;
  const char *path = gf_fuzz_file("generator.safetensors", data + 1, size - 1);
  gf_generator_opts o = {NULL, (data[0] & 1) ? "BtoA" : NULL, 2};
  gf_generator *g = NULL;
  if (gf_generator_open(path, &o, &g) < 0) {
    GF_FUZZ_CHECK(g == NULL);
    GF_FUZZ_CHECK_MESSAGE(path);
    return 0;
  }
  gf_generator_info in;
  GF_FUZZ_CHECK(gf_generator_info_get(g, &in) == 0);
  GF_FUZZ_CHECK(in.c > 0 && in.h > 0 && in.w > 0 && in.lo < in.hi);
  size_t each = (size_t)in.c * in.h * in.w;
  if (in.translates) {
    GF_FUZZ_CHECK(in.in_c > 0 && in.nz == 0);
    size_t ein = (size_t)in.in_c * in.h * in.w;
    float *x = calloc(ein, sizeof(float)), *y = malloc(each * sizeof(float));
    if (!x || !y) abort();
    for (size_t i = 0; i < ein; i++) x[i] = (float)(i % 7) / 3.5f - 1.0f;
    int rc = gf_generator_translate(g, x, 1, in.h, in.w, y);
    GF_FUZZ_CHECK(rc == 0 || rc == GF_ENOMEM);
    free(x);
    free(y);
  } else {
    GF_FUZZ_CHECK(in.nz > 0);
    float *y = malloc(2 * each * sizeof(float)), *z = malloc(2 * (size_t)in.nz * sizeof(float));
    if (!y || !z) abort();
    int rc = gf_generator_sample(g, 7, 2, y, z);
    GF_FUZZ_CHECK(rc == 0 || rc == GF_ENOMEM);
    for (int i = 0; rc == 0 && i < 2 * in.nz; i++) GF_FUZZ_CHECK(isfinite(z[i]));
    free(y);
    free(z);
  }
  gf_generator_close(g);
  return 0;
}
