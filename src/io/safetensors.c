/* safetensors.c: float32 safetensors files: atomic writing and fully validated reading (cJSON header). */
#include "io/safetensors.h"

#include "core/util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (raw float32 data is little-endian)"
#endif

#define GF__ST_META "__metadata__"
#define GF__ST_MAXINT 9007199254740992.0 /* 2^53: every integer below is exact in a double */

static void gf__st_fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < ndim && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", shape[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* ---- writing ------------------------------------------------------------------------------- */

static int gf__st_build_header(cJSON *root, const char *path, const gf__st_tensor *t, int n,
                               const char *const *meta_kv, int n_meta, uint64_t *total) {
  if (n_meta > 0) {
    cJSON *meta = cJSON_AddObjectToObject(root, GF__ST_META);
    if (!meta) return gf__fail(GF_ENOMEM, "%s: out of memory building the header", path);
    for (int i = 0; i < n_meta; i++) {
      const char *k = meta_kv[2 * i], *v = meta_kv[2 * i + 1];
      if (!k || !v) return gf__fail(GF_EINVAL, "%s: metadata pair %d has a NULL key or value", path, i);
      if (cJSON_GetObjectItemCaseSensitive(meta, k))
        return gf__fail(GF_EINVAL, "%s: duplicate metadata key '%s'", path, k);
      if (!cJSON_AddStringToObject(meta, k, v))
        return gf__fail(GF_ENOMEM, "%s: out of memory building the header", path);
    }
  }
  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    const char *name = t[i].name;
    if (!name) return gf__fail(GF_EINVAL, "%s: tensor %d has no name", path, i);
    if (strcmp(name, GF__ST_META) == 0 || cJSON_GetObjectItemCaseSensitive(root, name))
      return gf__fail(GF_EINVAL, "%s: duplicate or reserved tensor name '%s'", path, name);
    if (t[i].ndim < 0 || t[i].ndim > GF_ST_MAXDIM)
      return gf__fail(GF_EINVAL, "%s: tensor '%s' has %d dimensions (max %d)", path, name, t[i].ndim, GF_ST_MAXDIM);
    uint64_t count = 1;
    for (int d = 0; d < t[i].ndim; d++) {
      int64_t s = t[i].shape[d];
      if (s < 0 || (s > 0 && count > (UINT64_C(1) << 50) / (uint64_t)s))
        return gf__fail(GF_EINVAL, "%s: tensor '%s' has a bad shape", path, name);
      count *= (uint64_t)s;
    }
    if (count > 0 && !t[i].data) return gf__fail(GF_EINVAL, "%s: tensor '%s' has no data", path, name);
    uint64_t bytes = count * 4;
    if (off + bytes > (UINT64_C(1) << 52)) return gf__fail(GF_EINVAL, "%s: tensors too large", path);
    cJSON *e = cJSON_AddObjectToObject(root, name);
    cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
    cJSON *offs = shape && cJSON_AddStringToObject(e, "dtype", "F32") ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
    if (!offs) return gf__fail(GF_ENOMEM, "%s: out of memory building the header", path);
    for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
    if (cJSON_GetArraySize(shape) != t[i].ndim || cJSON_GetArraySize(offs) != 2)
      return gf__fail(GF_ENOMEM, "%s: out of memory building the header", path);
    off += bytes;
  }
  *total = off;
  return 0;
}

int gf__st_write(const char *path, const gf__st_tensor *t, int n, const char *const *meta_kv, int n_meta) {
  if (!path || n < 0 || (n > 0 && !t) || n_meta < 0 || (n_meta > 0 && !meta_kv))
    return gf__fail(GF_EINVAL, "safetensors write: bad arguments");
  cJSON *root = cJSON_CreateObject();
  if (!root) return gf__fail(GF_ENOMEM, "%s: out of memory building the header", path);
  uint64_t total = 0;
  int rc = gf__st_build_header(root, path, t, n, meta_kv, n_meta, &total);
  char *hdr = rc == 0 ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (rc < 0) return rc;
  if (!hdr) return gf__fail(GF_ENOMEM, "%s: out of memory printing the header", path);
  size_t hl = strlen(hdr), hpad = (hl + 7) / 8 * 8;
  size_t len = 8 + hpad + (size_t)total;
  uint8_t *buf = malloc(len);
  if (!buf) {
    free(hdr);
    return gf__fail(GF_ENOMEM, "%s: out of memory (%zu bytes)", path, len);
  }
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hpad >> (8 * i));
  memcpy(buf + 8, hdr, hl);
  memset(buf + 8 + hl, ' ', hpad - hl);
  free(hdr);
  uint8_t *p = buf + 8 + hpad;
  for (int i = 0; i < n; i++) {
    size_t count = 1;
    for (int d = 0; d < t[i].ndim; d++) count *= (size_t)t[i].shape[d];
    if (count) memcpy(p, t[i].data, count * 4);
    p += count * 4;
  }
  rc = gf__write_file_atomic(path, buf, len);
  free(buf);
  return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  uint64_t b, e;
} gf__st_span;

static int gf__st_uint(const cJSON *v, uint64_t *out) {
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (!(d >= 0) || d > GF__ST_MAXINT || floor(d) != d) return -1;
  *out = (uint64_t)d;
  return 0;
}

/* Parses shape and data_offsets of an entry; returns 0, or -1 for a bad shape, -2 for bad offsets. */
static int gf__st_parse(const cJSON *e, int *ndim, int64_t *shape, uint64_t *b, uint64_t *end) {
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!cJSON_IsArray(sh)) return -1;
  int nd = cJSON_GetArraySize(sh);
  if (nd > GF_ST_MAXDIM) return -1;
  int i = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, sh) {
    uint64_t s;
    if (gf__st_uint(v, &s) || s > (UINT64_C(1) << 50)) return -1;
    shape[i++] = (int64_t)s;
  }
  *ndim = nd;
  if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) return -2;
  if (gf__st_uint(cJSON_GetArrayItem(of, 0), b) || gf__st_uint(cJSON_GetArrayItem(of, 1), end)) return -2;
  return 0;
}

static int gf__st_span_cmp(const void *pa, const void *pb) {
  const gf__st_span *a = pa, *b = pb;
  if (a->b != b->b) return a->b < b->b ? -1 : 1;
  if (a->e != b->e) return a->e < b->e ? -1 : 1;
  return 0;
}

static int gf__st_name_cmp(const void *pa, const void *pb) {
  return strcmp(((const gf__st_span *)pa)->name, ((const gf__st_span *)pb)->name);
}

/* Validates the parsed header against the data section (dlen bytes). */
static int gf__st_validate(const char *path, const cJSON *root, size_t dlen, int *ntensors) {
  int n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, root) n++;
  gf__st_span *sp = malloc(sizeof *sp * (size_t)(n ? n : 1));
  if (!sp) return gf__fail(GF_ENOMEM, "%s: out of memory", path);
  int k = 0, rc = 0;
  cJSON_ArrayForEach(it, root) {
    const char *name = it->string;
    if (strcmp(name, GF__ST_META) == 0) {
      const cJSON *m;
      int ok = cJSON_IsObject(it);
      if (ok) cJSON_ArrayForEach(m, it) ok = ok && cJSON_IsString(m);
      if (!ok) { rc = gf__fail(GF_EFORMAT, "%s: __metadata__ is not an object of strings", path); break; }
      continue;
    }
    if (!cJSON_IsObject(it)) { rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' entry is not an object", path, name); break; }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    if (!dt) { rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has no dtype", path, name); break; }
    if (!cJSON_GetObjectItemCaseSensitive(it, "shape")) { rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has no shape", path, name); break; }
    if (!cJSON_GetObjectItemCaseSensitive(it, "data_offsets")) {
      rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has no data_offsets", path, name);
      break;
    }
    if (!cJSON_IsString(dt)) { rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has a non-string dtype", path, name); break; }
    if (strcmp(dt->valuestring, "F32") != 0) {
      rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has dtype %.32s, expected F32", path, name, dt->valuestring);
      break;
    }
    int ndim;
    int64_t shape[GF_ST_MAXDIM];
    uint64_t b, e;
    int pr = gf__st_parse(it, &ndim, shape, &b, &e);
    if (pr == -1) {
      rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has an invalid shape (need a list of at most %d non-negative integers)",
                    path, name, GF_ST_MAXDIM);
      break;
    }
    if (pr == -2) {
      rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has invalid data_offsets (need [begin, end] of non-negative integers)",
                    path, name);
      break;
    }
    if (e < b) {
      rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] with end < begin",
                    path, name, b, e);
      break;
    }
    uint64_t count = 1;
    int big = 0;
    for (int d = 0; d < ndim; d++) {
      if (shape[d] && count > (UINT64_C(1) << 60) / (uint64_t)shape[d]) big = 1;
      else count *= (uint64_t)shape[d];
    }
    if (big || count * 4 != e - b) {
      char sbuf[200];
      gf__st_fmt_shape(sbuf, sizeof sbuf, ndim, shape);
      rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has shape %s (%" PRIu64 " float32 bytes) but data_offsets [%" PRIu64
                    ", %" PRIu64 "] span %" PRIu64 " bytes",
                    path, name, sbuf, big ? UINT64_MAX : count * 4, b, e, e - b);
      break;
    }
    sp[k].name = name;
    sp[k].b = b;
    sp[k].e = e;
    k++;
  }
  if (rc == 0 && k > 1) { /* duplicate names */
    qsort(sp, (size_t)k, sizeof *sp, gf__st_name_cmp);
    for (int i = 1; i < k && rc == 0; i++)
      if (strcmp(sp[i - 1].name, sp[i].name) == 0)
        rc = gf__fail(GF_EFORMAT, "%s: duplicate tensor name '%s' in the header", path, sp[i].name);
  }
  if (rc == 0) { /* overlaps, by begin offset; empty tensors overlap nothing (but must be in range) */
    qsort(sp, (size_t)k, sizeof *sp, gf__st_span_cmp);
    int last = -1; /* non-empty tensor with the largest end so far */
    uint64_t sum = 0, maxend = 0;
    for (int i = 0; i < k && rc == 0; i++) {
      maxend = GF_MAX(maxend, sp[i].e); /* an empty tensor too must lie in the data section */
      if (sp[i].e == sp[i].b) continue;
      if (last >= 0 && sp[last].e > sp[i].b)
        rc = gf__fail(GF_EFORMAT, "%s: tensors '%s' and '%s' overlap (data_offsets [%" PRIu64 ", %" PRIu64 "] and [%" PRIu64
                      ", %" PRIu64 "])",
                      path, sp[last].name, sp[i].name, sp[last].b, sp[last].e, sp[i].b, sp[i].e);
      if (last < 0 || sp[i].e > sp[last].e) last = i;
      sum += sp[i].e - sp[i].b;
    }
    if (rc == 0 && maxend > dlen) {
      if (sum == maxend) { /* contiguous layout from 0: the header is consistent, the data is short */
        rc = gf__fail(GF_EFORMAT, "%s: truncated file: the tensors need %" PRIu64 " data bytes but only %zu are present",
                      path, maxend, dlen);
      } else {
        cJSON_ArrayForEach(it, root) { /* report the first offending tensor in header order */
          int nd;
          int64_t shp[GF_ST_MAXDIM];
          uint64_t b, e;
          if (strcmp(it->string, GF__ST_META) == 0 || gf__st_parse(it, &nd, shp, &b, &e) || e <= dlen) continue;
          rc = gf__fail(GF_EFORMAT, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64
                        "] out of range (the data section is %zu bytes)",
                        path, it->string, b, e, dlen);
          break;
        }
      }
    }
  }
  free(sp);
  *ntensors = k;
  return rc;
}

int gf__st_open(gf__st_file *f, const char *path) {
  if (!f || !path) return gf__fail(GF_EINVAL, "safetensors open: null argument");
  memset(f, 0, sizeof *f);
  char *raw;
  size_t len;
  GF_TRY(gf__read_file(path, &raw, &len));
  return gf__st_open_buf(f, path, raw, len);
}

int gf__st_open_buf(gf__st_file *f, const char *path, char *raw, size_t len) {
  if (!f || !path || !raw) {
    free(raw);
    return gf__fail(GF_EINVAL, "safetensors open: null argument");
  }
  memset(f, 0, sizeof *f);
  const uint8_t *b = (const uint8_t *)raw;
  int rc = 0;
  cJSON *root = NULL;
  if (len < 8) {
    rc = gf__fail(GF_EFORMAT, "%s: file is %zu bytes, too short for a safetensors file (needs an 8-byte header length)",
                  path, len);
    goto fail;
  }
  uint64_t hn = 0;
  for (int i = 0; i < 8; i++) hn |= (uint64_t)b[i] << (8 * i);
  if (hn > len - 8) {
    rc = gf__fail(GF_EFORMAT, "%s: header length %" PRIu64 " is larger than the file (%zu bytes after the length)",
                  path, hn, len - 8);
    goto fail;
  }
  const char *hs = raw + 8, *end = NULL;
  root = cJSON_ParseWithLengthOpts(hs, (size_t)hn, &end, 0);
  if (!root) {
    size_t at = end && end >= hs ? (size_t)(end - hs) : 0;
    rc = gf__fail(GF_EFORMAT, "%s: header is not valid JSON (error near byte %zu of %" PRIu64 ")", path, at, hn);
    goto fail;
  }
  for (const char *p = end; p < hs + hn; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      rc = gf__fail(GF_EFORMAT, "%s: header is not valid JSON (trailing data at byte %zu of %" PRIu64 ")", path,
                    (size_t)(p - hs), hn);
      goto fail;
    }
  }
  if (!cJSON_IsObject(root)) {
    rc = gf__fail(GF_EFORMAT, "%s: header is not a JSON object", path);
    goto fail;
  }
  int n = 0;
  rc = gf__st_validate(path, root, len - 8 - (size_t)hn, &n);
  if (rc < 0) goto fail;
  snprintf(f->path, sizeof f->path, "%s", path);
  f->buf = (uint8_t *)raw;
  f->len = len;
  f->json = root;
  f->n = n;
  return 0;
fail:
  cJSON_Delete(root);
  free(raw);
  return rc;
}

void gf__st_close(gf__st_file *f) {
  if (!f) return;
  cJSON_Delete(f->json);
  free(f->buf);
  memset(f, 0, sizeof *f);
}

static const cJSON *gf__st_entry(const gf__st_file *f, const char *name) {
  if (!f || !f->json || !name || strcmp(name, GF__ST_META) == 0) return NULL;
  return cJSON_GetObjectItemCaseSensitive((const cJSON *)f->json, name);
}

int gf__st_get(const gf__st_file *f, const char *name, const uint8_t **data, int *ndim, int64_t *shape) {
  const cJSON *e = gf__st_entry(f, name);
  if (!e) return gf__fail(GF_ENOENT, "%s: missing tensor '%s'", f && f->json ? f->path : "(not open)", name ? name : "(null)");
  int nd;
  int64_t shp[GF_ST_MAXDIM];
  uint64_t b, end;
  if (gf__st_parse(e, &nd, shp, &b, &end)) return gf__fail(GF_EFORMAT, "%s: tensor '%s' is malformed", f->path, name);
  uint64_t hn = 0;
  for (int i = 0; i < 8; i++) hn |= (uint64_t)f->buf[i] << (8 * i);
  if (data) *data = f->buf + 8 + hn + b;
  if (ndim) *ndim = nd;
  if (shape) memcpy(shape, shp, sizeof(int64_t) * (size_t)nd);
  return 0;
}

int gf__st_read_into(const gf__st_file *f, const char *name, float *dst, int ndim, const int64_t *shape) {
  const uint8_t *data;
  int nd;
  int64_t shp[GF_ST_MAXDIM];
  GF_TRY(gf__st_get(f, name, &data, &nd, shp));
  if (ndim < 0 || ndim > GF_ST_MAXDIM || (ndim > 0 && !shape))
    return gf__fail(GF_EINVAL, "%s: tensor '%s': bad expected shape", f->path, name);
  int same = nd == ndim;
  for (int i = 0; same && i < nd; i++) same = shp[i] == shape[i];
  if (!same) {
    char found[200], want[200];
    gf__st_fmt_shape(found, sizeof found, nd, shp);
    gf__st_fmt_shape(want, sizeof want, ndim, shape);
    return gf__fail(GF_EMISMATCH, "%s: tensor '%s' has shape %s, expected %s", f->path, name, found, want);
  }
  size_t count = 1;
  for (int i = 0; i < nd; i++) count *= (size_t)shp[i];
  if (count) {
    if (!dst) return gf__fail(GF_EINVAL, "%s: tensor '%s': null destination", f->path, name);
    memcpy(dst, data, count * 4);
  }
  return 0;
}

const char *gf__st_meta(const gf__st_file *f, const char *key) {
  if (!f || !f->json || !key) return NULL;
  const cJSON *m = cJSON_GetObjectItemCaseSensitive((const cJSON *)f->json, GF__ST_META);
  const cJSON *v = m ? cJSON_GetObjectItemCaseSensitive(m, key) : NULL;
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

int gf__st_meta_u64(const gf__st_file *f, const char *key, uint64_t *out) {
  const char *s = gf__st_meta(f, key);
  char *end;
  if (!s) return gf__fail(GF_EFORMAT, "%s: checkpoint metadata lacks '%s'", f->path, key);
  if (*s < '0' || *s > '9')
    return gf__fail(GF_EFORMAT, "%s: checkpoint metadata '%s' = '%s' is not a non-negative integer", f->path, key, s);
  *out = strtoull(s, &end, 10);
  if (end == s || *end) return gf__fail(GF_EFORMAT, "%s: checkpoint metadata '%s' = '%s' is not an integer", f->path, key, s);
  return 0;
}

const char *gf__st_name(const gf__st_file *f, int i) {
  if (!f || !f->json || i < 0) return NULL;
  const cJSON *it;
  cJSON_ArrayForEach(it, (const cJSON *)f->json) {
    if (strcmp(it->string, GF__ST_META) == 0) continue;
    if (i-- == 0) return it->string;
  }
  return NULL;
}
