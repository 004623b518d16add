/* fuzz_png.c: the PNG decoder as ganforge drives it (gf__png_decode_mem, then conversion to
   samples); libpng's errors must come back as statuses, never exit() or print. The mutator
   re-computes each chunk's CRC after libFuzzer's mutation, so mutated chunks reach libpng's
   parsers instead of stopping at the checksum. */
#include <zlib.h>

#include "image_common.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 8 == 0) return size; /* sometimes keep the broken CRCs: that path matters too */
  for (size_t pos = 8; pos + 12 <= size;) {
    size_t n = (size_t)data[pos] << 24 | (size_t)data[pos + 1] << 16 | (size_t)data[pos + 2] << 8 | data[pos + 3];
    if (n > size - pos - 12) break;
    uint32_t crc = (uint32_t)crc32(0L, data + pos + 4, (uInt)(n + 4));
    uint8_t *c = data + pos + 8 + n;
    c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16), c[2] = (uint8_t)(crc >> 8), c[3] = (uint8_t)crc;
    pos += 12 + n;
  }
  return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_image(data, size, gf__png_decode_mem); }
