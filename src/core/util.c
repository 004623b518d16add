/* util.c: checked allocation, clock, directories and atomic file writes. */
#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *gf__calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) gf__fail(GF_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
  return p;
}

void *gf__alloc_aligned(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void *p = aligned_alloc(64, rounded);
  if (!p) {
    gf__fail(GF_ENOMEM, "out of memory allocating %zu bytes", bytes);
    return NULL;
  }
  memset(p, 0, rounded);
  return p;
}

double gf__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int gf__mkdirs(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return gf__fail(GF_EINVAL, "bad directory path '%s'", path);
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return gf__fail(GF_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
      buf[i] = c;
    }
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return gf__fail(GF_EIO, "%s: not a directory", path);
  if (access(path, W_OK) != 0)
    return gf__fail(GF_EIO, "%s: directory is not writable", path);
  return 0;
}

void (*gf__write_atomic_hook)(size_t done, size_t total);

int gf__write_file_atomic(const char *path, const void *data, size_t len) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  int fault = gf__fault_write(path);
  if (fault == EACCES || fault == EROFS) return gf__fail(GF_EIO, "%s: cannot write: %s", path, strerror(fault));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return gf__fail(GF_EIO, "%s: cannot write: %s", path, strerror(errno));
  if (fault) { /* injected: half the data reaches the disk, then it is full */
    if (len / 2 && write(fd, data, len / 2) < 0) { /* the injected error is reported below either way */
    }
    close(fd);
    unlink(tmp);
    return gf__fail(GF_EIO, "%s: write failed: %s", path, strerror(fault));
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    /* 1 MiB pieces: a crash test can stop the writer between two of them */
    ssize_t w = write(fd, p, left < (1u << 20) ? left : (1u << 20));
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp);
      return gf__fail(GF_EIO, "%s: write failed: %s", path, strerror(e));
    }
    p += w;
    left -= (size_t)w;
    if (gf__write_atomic_hook) gf__write_atomic_hook(len - left, len);
  }
  int bad = fsync(fd) != 0, e = errno;
  if (close(fd) != 0 && !bad) bad = 1, e = errno;
  if (bad) {
    unlink(tmp);
    return gf__fail(GF_EIO, "%s: fsync/close failed: %s", path, strerror(e));
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return gf__fail(GF_EIO, "%s: rename failed: %s", path, strerror(e));
  }
  return 0;
}

int gf__read_file(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return gf__fail(errno == ENOENT ? GF_ENOENT : GF_EIO, "%s: cannot open: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return gf__fail(GF_EIO, "%s: cannot seek", path); }
  long sz = ftell(f);
  if (sz < 0) { fclose(f); return gf__fail(GF_EIO, "%s: cannot tell size", path); }
  rewind(f);
  char *buf = malloc((size_t)sz + 1);
  if (!buf) { fclose(f); return gf__fail(GF_ENOMEM, "%s: out of memory (%ld bytes)", path, sz); }
  if (sz > 0 && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
    free(buf);
    fclose(f);
    return gf__fail(GF_EIO, "%s: read failed", path);
  }
  fclose(f);
  buf[sz] = 0;
  *out = buf;
  if (len) *len = (size_t)sz;
  return 0;
}

void gf__strbuf_put(gf__strbuf *o, const char *fmt, ...) {
  if (o->len + 1 >= o->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0) o->len = GF_MIN(o->len + (size_t)n, o->cap - 1);
}
