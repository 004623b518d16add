/* npyio.c: strict float32 .npy reading and writing (see npyio.h). */
#include "eval/npyio.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"

void gf__npy_free(gf__npy *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

/* ---- header dict parsing: {'descr': '<f4', 'fortran_order': False, 'shape': (n, m), } ---- */

typedef struct hp {
  const char *s, *end, *what;
} hp;

static void skip_ws(hp *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int expect(hp *p, char c) {
  skip_ws(p);
  if (p->s >= p->end || *p->s != c)
    return gf__fail(GF_EFORMAT, "%s: malformed .npy header: expected '%c'", p->what, c);
  p->s++;
  return 0;
}

/* A quoted Python string literal (no escapes) into out. */
static int parse_str(hp *p, char *out, size_t cap) {
  skip_ws(p);
  if (p->s >= p->end || (*p->s != '\'' && *p->s != '"'))
    return gf__fail(GF_EFORMAT, "%s: malformed .npy header: expected a quoted string", p->what);
  char q = *p->s++;
  size_t n = 0;
  while (p->s < p->end && *p->s != q) {
    if (*p->s == '\\' || n + 1 >= cap)
      return gf__fail(GF_EFORMAT, "%s: malformed .npy header: unexpected string", p->what);
    out[n++] = *p->s++;
  }
  if (p->s >= p->end) return gf__fail(GF_EFORMAT, "%s: malformed .npy header: unterminated string", p->what);
  p->s++;
  out[n] = 0;
  return 0;
}

static int parse_bool(hp *p, int *v) {
  skip_ws(p);
  size_t left = (size_t)(p->end - p->s);
  if (left >= 4 && !memcmp(p->s, "True", 4)) { *v = 1; p->s += 4; return 0; }
  if (left >= 5 && !memcmp(p->s, "False", 5)) { *v = 0; p->s += 5; return 0; }
  return gf__fail(GF_EFORMAT, "%s: malformed .npy header: 'fortran_order' must be True or False", p->what);
}

static int parse_shape(hp *p, gf__npy *a) {
  GF_TRY(expect(p, '('));
  a->ndim = 0;
  for (;;) {
    skip_ws(p);
    if (p->s < p->end && *p->s == ')') { p->s++; break; }
    if (p->s >= p->end || !isdigit((unsigned char)*p->s))
      return gf__fail(GF_EFORMAT, "%s: malformed .npy header: bad 'shape' tuple", p->what);
    if (a->ndim >= GF_NPY_MAXDIM)
      return gf__fail(GF_EFORMAT, "%s: .npy array has more than %d dimensions", p->what, GF_NPY_MAXDIM);
    long v = 0;
    while (p->s < p->end && isdigit((unsigned char)*p->s)) {
      if (v > (long)1e15) return gf__fail(GF_EFORMAT, "%s: .npy shape entry too large", p->what);
      v = v * 10 + (*p->s++ - '0');
    }
    while (p->s < p->end && (*p->s == 'L')) p->s++; /* Python 2 long suffix */
    a->shape[a->ndim++] = v;
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; continue; }
    if (p->s < p->end && *p->s == ')') { p->s++; break; }
    return gf__fail(GF_EFORMAT, "%s: malformed .npy header: bad 'shape' tuple", p->what);
  }
  return 0;
}

static int parse_header(const char *h, size_t len, const char *what, gf__npy *a, int *fortran, char *descr,
                        size_t dcap) {
  hp p = {h, h + len, what};
  int have_descr = 0, have_fortran = 0, have_shape = 0;
  GF_TRY(expect(&p, '{'));
  for (;;) {
    skip_ws(&p);
    if (p.s < p.end && *p.s == '}') { p.s++; break; }
    char key[32];
    GF_TRY(parse_str(&p, key, sizeof key));
    GF_TRY(expect(&p, ':'));
    if (!strcmp(key, "descr")) {
      if (have_descr++) return gf__fail(GF_EFORMAT, "%s: .npy header repeats 'descr'", what);
      skip_ws(&p);
      if (p.s < p.end && (*p.s == '[' || *p.s == '('))
        return gf__fail(GF_EFORMAT, "%s: .npy holds a structured array; only plain float32 arrays are supported", what);
      GF_TRY(parse_str(&p, descr, dcap));
    } else if (!strcmp(key, "fortran_order")) {
      if (have_fortran++) return gf__fail(GF_EFORMAT, "%s: .npy header repeats 'fortran_order'", what);
      GF_TRY(parse_bool(&p, fortran));
    } else if (!strcmp(key, "shape")) {
      if (have_shape++) return gf__fail(GF_EFORMAT, "%s: .npy header repeats 'shape'", what);
      GF_TRY(parse_shape(&p, a));
    } else {
      return gf__fail(GF_EFORMAT, "%s: .npy header has an unknown key '%s'", what, key);
    }
    skip_ws(&p);
    if (p.s < p.end && *p.s == ',') { p.s++; continue; }
    if (p.s < p.end && *p.s == '}') { p.s++; break; }
    return gf__fail(GF_EFORMAT, "%s: malformed .npy header: expected ',' or '}'", what);
  }
  skip_ws(&p);
  if (p.s != p.end) return gf__fail(GF_EFORMAT, "%s: malformed .npy header: text after the dict", what);
  if (!have_descr || !have_fortran || !have_shape)
    return gf__fail(GF_EFORMAT, "%s: .npy header lacks '%s'", what,
                    !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
  return 0;
}

int gf__npy_parse_f32(const void *buf, size_t len, const char *what, gf__npy *a) {
  const unsigned char *b = buf;
  memset(a, 0, sizeof *a);
  if (len < 10 || memcmp(b, "\x93NUMPY", 6))
    return gf__fail(GF_EFORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", what);
  int major = b[6], minor = b[7];
  size_t hlen, hstart;
  if (major == 1 && minor == 0) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (len < 12) return gf__fail(GF_EFORMAT, "%s: truncated .npy header", what);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    hstart = 12;
  } else {
    return gf__fail(GF_EFORMAT, "%s: unsupported .npy format version %d.%d", what, major, minor);
  }
  if (hlen > len - hstart) return gf__fail(GF_EFORMAT, "%s: truncated .npy header", what);
  int fortran = 0;
  char descr[32];
  int rc = parse_header((const char *)b + hstart, hlen, what, a, &fortran, descr, sizeof descr);
  if (rc < 0) {
    memset(a, 0, sizeof *a);
    return rc;
  }
  if (strcmp(descr, "<f4")) {
    memset(a, 0, sizeof *a);
    return gf__fail(GF_EFORMAT, "%s: .npy dtype is '%s', expected little-endian float32 '<f4' "
                    "(convert with x.astype(numpy.float32))", what, descr);
  }
  if (fortran) {
    memset(a, 0, sizeof *a);
    return gf__fail(GF_EFORMAT, "%s: .npy array is in Fortran order; save a C-order array "
                    "(numpy.ascontiguousarray)", what);
  }
  size_t count = 1;
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] != 0 && count > SIZE_MAX / 8 / (size_t)a->shape[i]) {
      memset(a, 0, sizeof *a);
      return gf__fail(GF_EFORMAT, "%s: .npy shape is too large", what);
    }
    count *= (size_t)a->shape[i];
  }
  size_t off = hstart + hlen, want = count * sizeof(float), have = len - off;
  if (have < want) {
    memset(a, 0, sizeof *a);
    return gf__fail(GF_EFORMAT, "%s: truncated .npy file: the header promises %zu float32 values (%zu bytes), "
                    "the file holds %zu data bytes", what, count, want, have);
  }
  if (have > want) {
    memset(a, 0, sizeof *a);
    return gf__fail(GF_EFORMAT, "%s: .npy file has %zu bytes after the %zu float32 values its header declares",
                    what, have - want, count);
  }
  a->count = count;
  a->data = malloc(want ? want : 1);
  if (!a->data) {
    memset(a, 0, sizeof *a);
    return gf__fail(GF_ENOMEM, "%s: out of memory", what);
  }
  memcpy(a->data, b + off, want); /* little-endian host assumed (x86-64, aarch64) */
  return 0;
}

int gf__npy_read_f32(const char *path, gf__npy *a) {
  memset(a, 0, sizeof *a);
  struct stat st;
  if (stat(path, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such file", path);
  if (S_ISDIR(st.st_mode)) return gf__fail(GF_EFORMAT, "%s: is a folder, not a .npy file", path);
  char *buf = NULL;
  size_t len = 0;
  int rc = gf__read_file(path, &buf, &len);
  if (rc < 0) return rc;
  rc = gf__npy_parse_f32(buf, len, path, a);
  free(buf);
  return rc;
}

int gf__npy_write_f32(const char *path, const float *x, const long *shape, int ndim) {
  if (ndim < 1 || ndim > GF_NPY_MAXDIM) return gf__fail(GF_EINVAL, "npy: %d dimensions", ndim);
  char hdr[512], dims[256] = "";
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return gf__fail(GF_EINVAL, "npy: negative shape");
    size_t l = strlen(dims);
    snprintf(dims + l, sizeof dims - l, "%ld%s", shape[i], ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    count *= (size_t)shape[i];
  }
  int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
  int total = 10 + hl + 1;
  int pad = (64 - total % 64) % 64;
  size_t bytes = (size_t)total + (size_t)pad + sizeof(float) * count;
  unsigned char *buf = malloc(bytes);
  if (!buf) return gf__fail(GF_ENOMEM, "out of memory");
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  unsigned hlen = (unsigned)(hl + pad + 1);
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8);
  memcpy(buf + 10, hdr, (size_t)hl);
  memset(buf + 10 + hl, ' ', (size_t)pad);
  buf[10 + hl + pad] = '\n';
  if (count) memcpy(buf + total + pad, x, sizeof(float) * count);
  int rc = gf__write_file_atomic(path, buf, bytes);
  free(buf);
  return rc;
}
