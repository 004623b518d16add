/* safetensors.h: read and write float32 tensors in the safetensors layout (8-byte header length,
   JSON header parsed with cJSON, raw little-endian data). */
#ifndef GF_IO_SAFETENSORS_H
#define GF_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define GF_ST_MAXDIM 8

typedef struct gf__st_tensor {
  const char *name;
  const float *data;        /* float32, row-major */
  int ndim;
  int64_t shape[GF_ST_MAXDIM];
} gf__st_tensor;

/* Writes tensors (in the given order) plus string key/value metadata pairs
   (meta_kv[2*i] = key, meta_kv[2*i+1] = value; n_meta pairs) atomically: tmp file, fsync, rename. */
int gf__st_write(const char *path, const gf__st_tensor *t, int n, const char *const *meta_kv, int n_meta);

/* An opened file: the whole file read into memory and the header parsed and validated
   (offsets inside the data, sizes = product(shape) * 4, dtype F32, no overlaps). */
typedef struct gf__st_file {
  char path[1024];
  uint8_t *buf;          /* whole file */
  size_t len;
  void *json;            /* cJSON* of the header */
  int n;                 /* tensors */
} gf__st_file;

int gf__st_open(gf__st_file *f, const char *path);
/* The same on a file already in memory: takes ownership of `buf` (malloc'ed, len bytes; freed
   on failure too); `path` names it in messages. */
int gf__st_open_buf(gf__st_file *f, const char *path, char *buf, size_t len);
void gf__st_close(gf__st_file *f);
/* Finds a tensor; GF_ENOENT (message names file and tensor) if absent. *data points into buf
   (aligned copy not guaranteed: use memcpy). */
int gf__st_get(const gf__st_file *f, const char *name, const uint8_t **data, int *ndim, int64_t *shape);
/* Copies tensor `name` into dst, checking the shape equals `shape` (ndim dims); a mismatch is
   GF_EMISMATCH naming the tensor, the expected and the found shapes. */
int gf__st_read_into(const gf__st_file *f, const char *name, float *dst, int ndim, const int64_t *shape);
/* Metadata value for key, or NULL. */
const char *gf__st_meta(const gf__st_file *f, const char *key);
/* Metadata value for key as a non-negative decimal integer; GF_EFORMAT naming the file and the key
   when it is absent or not one. */
int gf__st_meta_u64(const gf__st_file *f, const char *key, uint64_t *out);
/* Name of tensor i (header order, excluding __metadata__). */
const char *gf__st_name(const gf__st_file *f, int i);

#endif
