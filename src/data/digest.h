/* digest.h: internal streaming SHA-256 and MD5 (used to verify downloaded datasets). */
#ifndef GF_DATA_DIGEST_H
#define GF_DATA_DIGEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct gf__sha256_ctx {
  uint32_t h[8];
  uint64_t nbytes;
  uint8_t buf[64];
  size_t nbuf;
} gf__sha256_ctx;

void gf__sha256_init(gf__sha256_ctx *c);
void gf__sha256_update(gf__sha256_ctx *c, const void *data, size_t len);
void gf__sha256_final(gf__sha256_ctx *c, uint8_t out[32]);

typedef struct gf__md5_ctx {
  uint32_t h[4];
  uint64_t nbytes;
  uint8_t buf[64];
  size_t nbuf;
} gf__md5_ctx;

void gf__md5_init(gf__md5_ctx *c);
void gf__md5_update(gf__md5_ctx *c, const void *data, size_t len);
void gf__md5_final(gf__md5_ctx *c, uint8_t out[16]);
void gf__md5(const void *data, size_t len, uint8_t out[16]);
/* MD5 of a file as 32 lowercase hex chars + NUL. */
int gf__md5_file(const char *path, char hex[33]);

/* Lowercase hex of n bytes into out (2n+1 chars). */
void gf__hex(const uint8_t *bytes, size_t n, char *out);

#endif
