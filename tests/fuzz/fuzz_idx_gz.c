/* fuzz_idx_gz.c: MNIST IDX files as .gz (the raw bytes are the gzip streams) through
   gf__mnist_load; input layout in idx_common.h. Half the mutations work on the decompressed
   files and compress them again, so the IDX checks behind gzip see mutated headers and data, not
   only gzip errors. */
#include <zlib.h>

#include "idx_common.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

/* gunzip src into dst (cap bytes); returns the length or -1 */
static long gunzip(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1;
  z.next_in = (Bytef *)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)cap;
  int r = inflate(&z, Z_FINISH);
  long len = r == Z_STREAM_END ? (long)z.total_out : -1;
  inflateEnd(&z);
  return len;
}

/* gzip src into dst (cap bytes); returns the length or -1 */
static long gzip_to(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
  z.next_in = (Bytef *)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)cap;
  int r = deflate(&z, Z_FINISH);
  long len = r == Z_STREAM_END ? (long)z.total_out : -1;
  deflateEnd(&z);
  return len;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  if (seed % 2 == 0 || size < 2) return LLVMFuzzerMutate(data, size, max_size);
  size_t L = (size_t)data[0] | (size_t)data[1] << 8;
  if (L > size - 2) return LLVMFuzzerMutate(data, size, max_size);
  enum { CAP = 1 << 16 };
  static uint8_t lab[CAP], img[CAP], zl[CAP], zi[CAP];
  long nl = gunzip(data + 2, L, lab, CAP), ni = gunzip(data + 2 + L, size - 2 - L, img, CAP);
  if (nl < 0 || ni < 0) return LLVMFuzzerMutate(data, size, max_size);
  if (seed & 2) nl = (long)LLVMFuzzerMutate(lab, (size_t)nl, CAP);
  else ni = (long)LLVMFuzzerMutate(img, (size_t)ni, CAP);
  long cl = gzip_to(lab, (size_t)nl, zl, CAP), ci = gzip_to(img, (size_t)ni, zi, CAP);
  if (cl < 0 || ci < 0 || cl > 65535 || 2 + (size_t)cl + (size_t)ci > max_size) return LLVMFuzzerMutate(data, size, max_size);
  data[0] = (uint8_t)cl, data[1] = (uint8_t)(cl >> 8);
  memcpy(data + 2, zl, (size_t)cl);
  memcpy(data + 2 + cl, zi, (size_t)ci);
  return 2 + (size_t)cl + (size_t)ci;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_idx(data, size, 1); }
