/* pb.c: the write side of protobuf's wire format (varints, keys, length-delimited fields) into a
   growable buffer, and CRC-32C: all that ONNX models and TensorBoard event files need. */
#include <stdlib.h>
#include <string.h>

#include "export/export.h"

void gf__pb_free(gf__pb *b) {
  free(b->d);
  memset(b, 0, sizeof *b);
}

void gf__pb_bytes(gf__pb *b, const void *p, size_t n) {
  if (b->oom || n == 0) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    uint8_t *d = realloc(b->d, cap);
    if (!d) { b->oom = 1; return; }
    b->d = d;
    b->cap = cap;
  }
  memcpy(b->d + b->n, p, n);
  b->n += n;
}

void gf__pb_varint(gf__pb *b, uint64_t v) {
  uint8_t t[10];
  int k = 0;
  do {
    t[k] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) t[k] |= 0x80;
    k++;
  } while (v);
  gf__pb_bytes(b, t, (size_t)k);
}

void gf__pb_key(gf__pb *b, int field, int wire) { gf__pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

void gf__pb_int(gf__pb *b, int field, int64_t v) {
  gf__pb_key(b, field, 0);
  gf__pb_varint(b, (uint64_t)v); /* negative int64: ten bytes, two's complement */
}

void gf__pb_float(gf__pb *b, int field, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  uint8_t t[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
  gf__pb_key(b, field, 5);
  gf__pb_bytes(b, t, 4);
}

void gf__pb_double(gf__pb *b, int field, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  uint8_t t[8];
  for (int i = 0; i < 8; i++) t[i] = (uint8_t)(u >> (8 * i));
  gf__pb_key(b, field, 1);
  gf__pb_bytes(b, t, 8);
}

void gf__pb_lenbytes(gf__pb *b, int field, const void *p, size_t n) {
  gf__pb_key(b, field, 2);
  gf__pb_varint(b, n);
  gf__pb_bytes(b, p, n);
}

void gf__pb_str(gf__pb *b, int field, const char *s) { gf__pb_lenbytes(b, field, s, strlen(s)); }

void gf__pb_msg(gf__pb *b, int field, const gf__pb *sub) {
  if (sub->oom) b->oom = 1;
  gf__pb_lenbytes(b, field, sub->d, sub->n);
  gf__pb_free((gf__pb *)sub);
}

/* CRC-32C, reflected polynomial 0x82F63B78, bit by bit (no table, no shared state) */
uint32_t gf__crc32c(const void *p, size_t n) {
  const uint8_t *s = p;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= s[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

uint32_t gf__crc32c_masked(const void *p, size_t n) {
  uint32_t c = gf__crc32c(p, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}
