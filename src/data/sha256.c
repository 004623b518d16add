/* sha256.c: self-contained SHA-256 (FIPS 180-4), one-shot, streaming and whole-file. */
#include "data/dataset.h"
#include "data/digest.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t h[8], const uint8_t p[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = hh + S1 + ch + K[i] + w[i];
    uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
    uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = S0 + mj;
    hh = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
  h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void gf__sha256_init(gf__sha256_ctx *c) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, iv, sizeof iv);
  c->nbytes = 0;
  c->nbuf = 0;
}

void gf__sha256_update(gf__sha256_ctx *c, const void *data, size_t len) {
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

void gf__sha256_final(gf__sha256_ctx *c, uint8_t out[32]) {
  uint64_t bits = c->nbytes * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (c->nbuf < 56) ? 56 - c->nbuf : 120 - c->nbuf;
  for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
  gf__sha256_update(c, pad, padlen + 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24); out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8); out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

void gf__sha256(const void *data, size_t len, uint8_t out[32]) {
  gf__sha256_ctx c;
  gf__sha256_init(&c);
  gf__sha256_update(&c, data, len);
  gf__sha256_final(&c, out);
}

void gf__hex(const uint8_t *bytes, size_t n, char *out) {
  static const char dig[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = dig[bytes[i] >> 4];
    out[2 * i + 1] = dig[bytes[i] & 15];
  }
  out[2 * n] = 0;
}

int gf__sha256_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return gf__fail(errno == ENOENT ? GF_ENOENT : GF_EIO, "%s: cannot open: %s", path, strerror(errno));
  gf__sha256_ctx c;
  gf__sha256_init(&c);
  enum { BUFSZ = 1 << 16 };
  uint8_t *buf = malloc(BUFSZ);
  if (!buf) { fclose(f); return gf__fail(GF_ENOMEM, "%s: out of memory", path); }
  size_t k;
  while ((k = fread(buf, 1, BUFSZ, f)) > 0) gf__sha256_update(&c, buf, k);
  int err = ferror(f);
  fclose(f);
  free(buf);
  if (err) return gf__fail(GF_EIO, "%s: read error", path);
  uint8_t d[32];
  gf__sha256_final(&c, d);
  gf__hex(d, 32, hex);
  return 0;
}
