/* util.h: internal helpers shared by every module (error raising, checked allocation, min/max). */
#ifndef GF_CORE_UTIL_H
#define GF_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ganforge/error.h"

#if defined(__GNUC__)
#define GF__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GF__PRINTF(a, b)
#endif

/* Records a formatted message in the thread-local error slot and returns `status`.
   Usage: return gf__fail(GF_EFORMAT, "%s: bad magic 0x%08x", path, magic); */
int gf__fail(int status, const char *fmt, ...) GF__PRINTF(2, 3);

/* Evaluates an expression returning a status; returns it from the caller if negative. */
#define GF_TRY(expr)                                                           \
  do {                                                                         \
    int gf__rc_ = (expr);                                                      \
    if (gf__rc_ < 0) return gf__rc_;                                           \
  } while (0)

#define GF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GF_MAX(a, b) ((a) > (b) ? (a) : (b))

/* calloc that records GF_ENOMEM on failure; returns NULL then. */
void *gf__calloc(size_t n, size_t size);
/* 64-byte aligned, zeroed allocation; free with free(). */
void *gf__alloc_aligned(size_t bytes);

/* Monotonic wall clock in seconds. */
double gf__now(void);

/* Text appended to a caller's buffer of cap bytes, cut to fit and always terminated. */
typedef struct gf__strbuf {
  char *p;
  size_t len, cap;
} gf__strbuf;
void gf__strbuf_put(gf__strbuf *o, const char *fmt, ...) GF__PRINTF(2, 3);

/* mkdir -p; returns 0 or GF_EIO with a message naming the path. */
int gf__mkdirs(const char *path);
/* Writes a whole buffer to `path` atomically (tmp file, fsync, rename). */
int gf__write_file_atomic(const char *path, const void *data, size_t len);
/* Test seam: when set, called after each piece gf__write_file_atomic writes (bytes so far, total). */
extern void (*gf__write_atomic_hook)(size_t done, size_t total);
/* Disk-fault seam (fault.c), for tests: every file writer of the library asks it once per file
   (gf__write_file_atomic, gf__log_flush); the N-th and every later ask whose path contains `match`
   ("" or NULL: any) gets `err` (ENOSPC, EACCES, EROFS, EIO) and fails as a full or read-only disk
   would. err = 0 turns it off. The environment can set it for a whole process:
   GANFORGE_FAULT_WRITE=ERR,N[,MATCH], e.g. ENOSPC,3,checkpoints/. Returns 0 or the errno. */
void gf__fault_set(int err, long nth, const char *match);
int gf__fault_write(const char *path);
/* Flushes an append-only log (log.csv, metrics.csv) and checks it: GF_EIO naming `path` when a
   write failed since the last check (disk full), else 0. */
int gf__log_flush(FILE *f, const char *path);
/* Reads a whole file; *out is malloc'ed and NUL-terminated (len excludes NUL). */
int gf__read_file(const char *path, char **out, size_t *len);

/* config.c: the checks of gf_config_validate on the keys that shape the networks (model.*), for a
   config a file stores: what opening the file (generator, checkpoint, teacher) must check before
   building from it. The training keys (batch, data, losses) are a run's, checked by gf_config_validate. */
struct gf_config;
int gf__config_validate_model(const struct gf_config *c);
/* Applies a file's stored config `text` (gf_config_from_text, over what c holds) and checks its
   model keys; a refusal is GF_EFORMAT in one line naming the file and the key:
   "PATH: bad config in WHERE: config key 'model.size': ...". */
int gf__config_from_stored(struct gf_config *c, const char *text, const char *path, const char *where);

#endif
