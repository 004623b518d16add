/* fuzz_pgm.c: the PGM decoder as ganforge drives it (gf__pgm_decode_mem, then conversion to
   samples); libraries' errors must come back as statuses, never exit() or print. */
#include "image_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_image(data, size, gf__pgm_decode_mem); }
