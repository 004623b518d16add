/* fuzz_config.c: a config file through gf_config_load (as `--config FILE`) and the same bytes as
   checkpoint metadata text through gf_config_from_text; an accepted config printed with
   gf_config_to_text must read back to the same text. */
#include "fuzz.h"
#include "ganforge/config.h"

static void roundtrip(const gf_config *c) {
  char *t1 = gf_config_to_text(c);
  GF_FUZZ_CHECK(t1 != NULL);
  gf_config d;
  gf_config_defaults(&d);
  GF_FUZZ_CHECK(gf_config_from_text(&d, t1) == 0);
  char *t2 = gf_config_to_text(&d);
  GF_FUZZ_CHECK(t2 != NULL && !strcmp(t1, t2));
  free(t1);
  free(t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = gf_fuzz_file("fuzz.cfg", data, size);
  gf_config c;
  gf_config_defaults(&c);
  if (gf_config_load(&c, path) == 0) {
    (void)gf_config_validate(&c);
    roundtrip(&c);
  } else {
    GF_FUZZ_CHECK_MESSAGE(path);
  }
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  gf_config_defaults(&c);
  if (gf_config_from_text(&c, text) == 0) roundtrip(&c);
  free(text);
  return 0;
}
