/* mnist.c: MNIST / Fashion-MNIST IDX loader (plain or gzip) with strict header and size checks. */
#include "data/dataset.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Opens dir/base, else dir/base.gz; fills path with the name opened (or tried) and *most with
   the most bytes of data it can hold: its size, or for a .gz file its size times deflate's
   largest compression ratio (1032:1), so a header cannot make us allocate for data that is not there. */
static int idx_open(const char *dir, const char *base, char *path, size_t cap, gzFile *out, uint64_t *most) {
  struct stat st;
  snprintf(path, cap, "%s/%s", dir, base);
  if (stat(path, &st) != 0) {
    snprintf(path, cap, "%s/%s.gz", dir, base);
    if (stat(path, &st) != 0)
      return gf__fail(GF_ENOENT, "%s/%s: no such file (nor %s.gz)", dir, base, base);
  }
  if (S_ISDIR(st.st_mode)) return gf__fail(GF_EIO, "%s: is a directory", path);
  size_t L = strlen(path);
  int gz = L > 3 && !strcmp(path + L - 3, ".gz");
  *most = (uint64_t)st.st_size * (gz ? 1032u : 1u) + (gz ? 64u : 0u);
  gzFile g = gzopen(path, "rb");
  if (!g) return gf__fail(errno == ENOENT ? GF_ENOENT : GF_EIO, "%s: cannot open: %s", path, strerror(errno));
  gzbuffer(g, 1 << 17);
  *out = g;
  return 0;
}

/* zlib's message, without the "path: " prefix gzerror() puts in front of it. */
static const char *zmsg(gzFile g, const char *path) {
  int zerr;
  const char *m = gzerror(g, &zerr);
  if (!m || !*m) return "unknown error";
  size_t n = strlen(path);
  if (strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ') m += n + 2;
  return m;
}

/* Reads up to len bytes; returns bytes read (< len at end of data) or a negative status. */
static long long idx_read(gzFile g, const char *path, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    unsigned chunk = (unsigned)GF_MIN(len - got, (size_t)1 << 30);
    int k = gzread(g, (char *)buf + got, chunk);
    if (k < 0) {
      int zerr;
      gzerror(g, &zerr);
      /* A gzip stream cut short reports Z_BUF_ERROR: treat as end of data (caller reports truncation). */
      if (zerr == Z_BUF_ERROR) break;
      return gf__fail(GF_EFORMAT, "%s: corrupt gzip data: %s", path, zmsg(g, path));
    }
    if (k == 0) {
      int zerr;
      gzerror(g, &zerr);
      if (zerr != Z_OK && zerr != Z_BUF_ERROR && zerr != Z_STREAM_END)
        return gf__fail(GF_EFORMAT, "%s: corrupt gzip data: %s", path, zmsg(g, path));
      break;
    }
    got += (size_t)k;
  }
  return (long long)got;
}

/* Counts the bytes left after the declared data (reading them into buf, cap bytes at a time):
   0 for a clean end of file, the count, or a negative status for a read error. */
static long long idx_extra(gzFile g, const char *path, uint8_t *buf, size_t cap) {
  long long extra = 0;
  for (;;) {
    long long k = idx_read(g, path, buf, cap);
    if (k < 0) return k;
    extra += k;
    if ((size_t)k < cap) return extra;
  }
}

/* Trailing bytes are refused, not ignored: they mean a wrong count in the header or a damaged
   or concatenated file, and training on a guess would hide it. */
static int idx_fail_extra(const char *path, long long extra, uint32_t count, const char *what, uint64_t want) {
  return gf__fail(GF_EFORMAT, "%s: %lld byte%s after the %u %s its header declares (it should be %llu bytes long, it is "
                  "%llu): a wrong count or a damaged file; refusing it (fix the header or fetch the file again)",
                  path, extra, extra == 1 ? "" : "s", count, what, (unsigned long long)want,
                  (unsigned long long)(want + (uint64_t)extra));
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads an IDX header: magic, then ndim big-endian dims. */
static int idx_header(gzFile g, const char *path, uint32_t magic, int ndim, uint32_t *dims) {
  uint8_t h[16];
  size_t want = 4 + 4 * (size_t)ndim;
  long long k = idx_read(g, path, h, want);
  if (k < 0) return (int)k;
  if (k < 4) return gf__fail(GF_EFORMAT, "%s: truncated: file too short for an IDX header (%lld bytes)", path, k);
  uint32_t m = be32(h);
  if (m != magic) {
    if (m == 0x00000803u || m == 0x00000801u)
      return gf__fail(GF_EFORMAT, "%s: bad magic 0x%08x (expected 0x%08x: %s file given where %s expected)",
                      path, m, magic, m == 0x803u ? "an image" : "a label", magic == 0x803u ? "images" : "labels");
    return gf__fail(GF_EFORMAT, "%s: bad magic 0x%08x (expected 0x%08x); not an IDX %s file", path, m, magic,
                    magic == 0x803u ? "image" : "label");
  }
  if ((size_t)k < want) return gf__fail(GF_EFORMAT, "%s: truncated: IDX header is %zu bytes, got %lld", path, want, k);
  for (int i = 0; i < ndim; i++) dims[i] = be32(h + 4 + 4 * i);
  return 0;
}

int gf__mnist_load(gf__dataset *d, const char *dir, int train, gf__scale scale, int offset, int limit) {
  if (!d || !dir) return gf__fail(GF_EINVAL, "mnist: NULL argument");
  memset(d, 0, sizeof *d);
  if (offset < 0 || limit < 0) return gf__fail(GF_EINVAL, "mnist: negative offset %d or limit %d", offset, limit);
  const char *split = train ? "train" : "t10k";
  char ipath[4200], lpath[4200], base[64];
  gzFile gi = NULL, gl = NULL;
  uint8_t *buf = NULL;
  int rc;

  snprintf(base, sizeof base, "%s-images-idx3-ubyte", split);
  uint64_t imost = 0, lmost = 0;
  if ((rc = idx_open(dir, base, ipath, sizeof ipath, &gi, &imost)) < 0) goto fail;
  snprintf(base, sizeof base, "%s-labels-idx1-ubyte", split);
  if ((rc = idx_open(dir, base, lpath, sizeof lpath, &gl, &lmost)) < 0) goto fail;

  uint32_t idims[3] = {0, 0, 0}, ldims[1] = {0};
  if ((rc = idx_header(gi, ipath, 0x00000803u, 3, idims)) < 0) goto fail;
  if ((rc = idx_header(gl, lpath, 0x00000801u, 1, ldims)) < 0) goto fail;
  uint32_t count = idims[0], rows = idims[1], cols = idims[2];
  if (rows == 0 || cols == 0 || rows > 16384 || cols > 16384 || (uint64_t)rows * cols > (1u << 24)) {
    rc = gf__fail(GF_EFORMAT, "%s: implausible image size %ux%u", ipath, rows, cols);
    goto fail;
  }
  if (count == 0 || count > 100000000u) {
    rc = gf__fail(GF_EFORMAT, "%s: implausible image count %u", ipath, count);
    goto fail;
  }
  if (ldims[0] != count) {
    rc = gf__fail(GF_EFORMAT, "%s has %u images but %s has %u labels", ipath, count, lpath, ldims[0]);
    goto fail;
  }
  if ((uint64_t)offset >= count) {
    rc = gf__fail(GF_EINVAL, "%s: offset %d is past the %u samples", ipath, offset, count);
    goto fail;
  }
  long n = (long)count - offset;
  if (limit > 0 && limit < n) n = limit;
  size_t pix = (size_t)rows * cols;
  uint64_t img_total = 16 + (uint64_t)count * pix, lab_total = 8 + (uint64_t)count;
  if (img_total > imost || lab_total > lmost) {
    int img = img_total > imost;
    const char *p = img ? ipath : lpath;
    unsigned long long want = img ? img_total : lab_total, most = img ? imost : lmost;
    if (strstr(p, ".gz"))
      rc = gf__fail(GF_EFORMAT, "%s: truncated: the header declares %u %s (%llu bytes) but the file holds at most %llu "
                    "bytes uncompressed", p, count, img ? "images" : "labels", want, most);
    else
      rc = gf__fail(GF_EFORMAT, "%s: truncated: expected %llu bytes of %s data, got %llu", p, want, img ? "image" : "label",
                    most);
    goto fail;
  }

  d->x = gf__alloc_aligned((size_t)n * pix * sizeof(float));
  d->labels = gf__calloc((size_t)n, sizeof(int));
  if (!d->x || !d->labels) { rc = GF_ENOMEM; goto fail; }

  /* Labels: whole data section (small). */
  buf = malloc(count);
  if (!buf) { rc = gf__fail(GF_ENOMEM, "%s: out of memory", lpath); goto fail; }
  long long k = idx_read(gl, lpath, buf, count);
  if (k < 0) { rc = (int)k; goto fail; }
  if ((uint64_t)k < count) {
    rc = gf__fail(GF_EFORMAT, "%s: truncated: expected %llu bytes of label data, got %llu", lpath,
                  (unsigned long long)lab_total, (unsigned long long)(8 + k));
    goto fail;
  }
  long long extra = idx_extra(gl, lpath, buf, count);
  if (extra != 0) {
    rc = extra < 0 ? (int)extra : idx_fail_extra(lpath, extra, count, "labels", lab_total);
    goto fail;
  }
  for (uint32_t i = 0; i < count; i++)
    if (buf[i] > 9) {
      rc = gf__fail(GF_EFORMAT, "%s: label %u of sample %u is out of range 0..9", lpath, buf[i], i);
      goto fail;
    }
  for (long i = 0; i < n; i++) d->labels[i] = buf[offset + i];
  free(buf);
  buf = NULL;

  /* Images: streamed in chunks so the whole file is read (truncation check) without holding it. */
  float a = scale == GF_SCALE_UNIT ? 1.0f / 255.0f : 1.0f / 127.5f;
  float b = scale == GF_SCALE_UNIT ? 0.0f : -1.0f;
  float lut[256];
  for (int v = 0; v < 256; v++) lut[v] = (float)v * a + b;
  size_t chunk = GF_MAX((size_t)1 << 20, pix);
  chunk -= chunk % pix;
  buf = malloc(chunk);
  if (!buf) { rc = gf__fail(GF_ENOMEM, "%s: out of memory", ipath); goto fail; }
  uint64_t data_bytes = (uint64_t)count * pix, done = 0;
  uint64_t lo = (uint64_t)offset * pix, hi = ((uint64_t)offset + (uint64_t)n) * pix;
  while (done < data_bytes) {
    size_t want = (size_t)GF_MIN((uint64_t)chunk, data_bytes - done);
    k = idx_read(gi, ipath, buf, want);
    if (k < 0) { rc = (int)k; goto fail; }
    uint64_t s = GF_MAX(done, lo), e = GF_MIN(done + (uint64_t)k, hi);
    for (uint64_t p = s; p < e; p++) d->x[p - lo] = lut[buf[p - done]];
    done += (uint64_t)k;
    if ((size_t)k < want) break;
  }
  if (done < data_bytes) {
    rc = gf__fail(GF_EFORMAT, "%s: truncated: expected %llu bytes of image data, got %llu", ipath,
                  (unsigned long long)img_total, (unsigned long long)(16 + done));
    goto fail;
  }
  k = idx_extra(gi, ipath, buf, chunk);
  if (k != 0) {
    rc = k < 0 ? (int)k : idx_fail_extra(ipath, k, count, "images", img_total);
    goto fail;
  }
  free(buf);
  gzclose(gi);
  gzclose(gl);

  const char *slash = strrchr(dir, '/');
  const char *leaf = slash && slash[1] ? slash + 1 : dir;
  snprintf(d->name, sizeof d->name, "%s", strstr(leaf, "fashion") ? "fashion-mnist" : "mnist");
  d->n = (int)n;
  d->c = 1;
  d->h = (int)rows;
  d->w = (int)cols;
  d->nclass = 10;
  return 0;

fail:
  free(buf);
  if (gi) gzclose(gi);
  if (gl) gzclose(gl);
  gf__dataset_free(d);
  return rc;
}
