/* image_common.h: the image targets' shared body: decode from memory as gf__image_load does,
   then turn the picture into training samples as an image folder does (grey and RGB, 16 px). */
#ifndef GF_TESTS_FUZZ_IMAGE_COMMON_H
#define GF_TESTS_FUZZ_IMAGE_COMMON_H

#include "fuzz.h"
#include "data/images.h"
#include "io/imgload.h"

/* 2^20 pixels instead of 2^26: a header may claim up to the limit, and a progressive JPEG of
   8192 x 8192 takes a second to decode; the checks are the same, the inputs 60x faster. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  gf__image_max_pixels = (size_t)1 << 20;
  return 0;
}

typedef int (*gf_fuzz_decoder)(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w, int *h,
                               int *channels);

static int gf_fuzz_image(const uint8_t *data, size_t size, gf_fuzz_decoder decode) {
  uint8_t *pix = NULL;
  int w = 0, h = 0, ch = 0;
  int rc = decode("fuzz-input", data, size, &pix, &w, &h, &ch);
  if (rc < 0) {
    GF_FUZZ_CHECK(pix == NULL);
    GF_FUZZ_CHECK_MESSAGE("fuzz-input");
    return 0;
  }
  GF_FUZZ_CHECK(pix && w >= 1 && h >= 1 && (ch == 1 || ch == 3));
  float out[3 * 16 * 16];
  for (int nc = 1; nc <= 3; nc += 2) {
    if (gf__image_to_sample(out, pix, w, h, ch, nc, 16, GF_SCALE_TANH) < 0) { /* only for a strip */
      GF_FUZZ_CHECK((size_t)(w > h ? w : h) * 16 * 16 / (size_t)(w < h ? w : h) > gf__image_max_pixels / 2);
      GF_FUZZ_CHECK_MESSAGE("too elongated");
      break;
    }
    for (int i = 0; i < nc * 16 * 16; i++) GF_FUZZ_CHECK(out[i] >= -1.0f && out[i] <= 1.0f);
  }
  free(pix);
  return 0;
}

#endif
