/* md5.c: self-contained MD5 (RFC 1321), only to check the checksums some datasets publish. */
#include "data/digest.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint32_t T[64] = {
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const uint8_t S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void compress(uint32_t h[4], const uint8_t p[64]) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++)
    m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) { f = (b & c) | (~b & d); g = i; }
    else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
    else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
    else { f = c ^ (b | ~d); g = (7 * i) & 15; }
    uint32_t t = a + f + T[i] + m[g];
    a = d; d = c; c = b;
    b = b + ((t << S[i]) | (t >> (32 - S[i])));
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
}

void gf__md5_init(gf__md5_ctx *c) {
  c->h[0] = 0x67452301; c->h[1] = 0xefcdab89; c->h[2] = 0x98badcfe; c->h[3] = 0x10325476;
  c->nbytes = 0;
  c->nbuf = 0;
}

void gf__md5_update(gf__md5_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  c->nbytes += len;
  if (c->nbuf) {
    size_t take = GF_MIN(len, 64 - c->nbuf);
    memcpy(c->buf + c->nbuf, p, take);
    c->nbuf += take; p += take; len -= take;
    if (c->nbuf < 64) return;
    compress(c->h, c->buf);
    c->nbuf = 0;
  }
  for (; len >= 64; p += 64, len -= 64) compress(c->h, p);
  if (len) { memcpy(c->buf, p, len); c->nbuf = len; }
}

void gf__md5_final(gf__md5_ctx *c, uint8_t out[16]) {
  uint64_t bits = c->nbytes * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (c->nbuf < 56) ? 56 - c->nbuf : 120 - c->nbuf;
  for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (8 * i));
  gf__md5_update(c, pad, padlen + 8);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(c->h[i] >> (8 * j));
}

void gf__md5(const void *data, size_t len, uint8_t out[16]) {
  gf__md5_ctx c;
  gf__md5_init(&c);
  gf__md5_update(&c, data, len);
  gf__md5_final(&c, out);
}

int gf__md5_file(const char *path, char hex[33]) {
  FILE *f = fopen(path, "rb");
  if (!f) return gf__fail(errno == ENOENT ? GF_ENOENT : GF_EIO, "%s: cannot open: %s", path, strerror(errno));
  gf__md5_ctx c;
  gf__md5_init(&c);
  enum { BUFSZ = 1 << 16 };
  uint8_t *buf = malloc(BUFSZ);
  if (!buf) { fclose(f); return gf__fail(GF_ENOMEM, "%s: out of memory", path); }
  size_t k;
  while ((k = fread(buf, 1, BUFSZ, f)) > 0) gf__md5_update(&c, buf, k);
  int err = ferror(f);
  fclose(f);
  free(buf);
  if (err) return gf__fail(GF_EIO, "%s: read error", path);
  uint8_t d[16];
  gf__md5_final(&c, d);
  gf__hex(d, 16, hex);
  return 0;
}
