/* digits.c: strict loader for the UCI optdigits text files (8x8 counts 0..16 plus a class). */
#include "data/dataset.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Parses one unsigned decimal field ending at ',' or end of line; returns 0 or -1. */
static int parse_field(const char **pp, const char *end, long *out) {
  const char *p = *pp;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  if (p >= end || *p < '0' || *p > '9') return -1;
  long v = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    v = v * 10 + (*p - '0');
    if (v > 1000000) return -1;
    p++;
  }
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  *out = v;
  *pp = p;
  return 0;
}

int gf__digits_load(gf__dataset *d, const char *path, gf__scale scale, int limit) {
  if (!d || !path) return gf__fail(GF_EINVAL, "digits: NULL argument");
  memset(d, 0, sizeof *d);
  if (limit < 0) return gf__fail(GF_EINVAL, "digits: negative limit %d", limit);
  char fpath[4200];
  struct stat st;
  /* A folder means its training file (what gf__data_locate returns for "digits"). */
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(fpath, sizeof fpath, "%s/optdigits.tra", path);
  else snprintf(fpath, sizeof fpath, "%s", path);

  char *text = NULL;
  size_t len = 0;
  GF_TRY(gf__read_file(fpath, &text, &len));
  /* Count lines (a final line without '\n' counts; empty trailing lines do not). */
  long nlines = 0;
  for (size_t i = 0; i < len; i++)
    if (text[i] == '\n') nlines++;
  if (len > 0 && text[len - 1] != '\n') nlines++;
  long cap = limit > 0 ? GF_MIN((long)limit, nlines) : nlines;
  if (cap <= 0) {
    free(text);
    return gf__fail(GF_EFORMAT, "%s: no samples in file", fpath);
  }
  d->x = gf__alloc_aligned((size_t)cap * 64 * sizeof(float));
  d->labels = gf__calloc((size_t)cap, sizeof(int));
  if (!d->x || !d->labels) { free(text); gf__dataset_free(d); return GF_ENOMEM; }

  float a = scale == GF_SCALE_UNIT ? 1.0f / 16.0f : 1.0f / 8.0f;
  float b = scale == GF_SCALE_UNIT ? 0.0f : -1.0f;
  long n = 0, lineno = 0;
  const char *p = text, *tend = text + len;
  int rc = 0;
  while (p < tend && n < cap) {
    const char *eol = memchr(p, '\n', (size_t)(tend - p));
    if (!eol) eol = tend;
    const char *le = eol;
    if (le > p && le[-1] == '\r') le--;
    lineno++;
    if (le == p) {
      /* Blank line: allowed only as trailing padding. */
      const char *q = eol;
      while (q < tend && (*q == '\n' || *q == '\r' || *q == ' ')) q++;
      if (q == tend) break;
      rc = gf__fail(GF_EFORMAT, "%s:%ld: empty line", fpath, lineno);
      break;
    }
    long v[65];
    int nf = 0;
    const char *q = p;
    for (;;) {
      long val;
      if (parse_field(&q, le, &val) != 0) {
        rc = gf__fail(GF_EFORMAT, "%s:%ld: field %d is not a non-negative integer", fpath, lineno, nf + 1);
        break;
      }
      if (nf < 65) v[nf] = val;
      nf++;
      if (q == le) break;
      if (*q != ',') {
        rc = gf__fail(GF_EFORMAT, "%s:%ld: unexpected character '%c' after field %d", fpath, lineno, *q, nf);
        break;
      }
      q++;
    }
    if (rc < 0) break;
    if (nf != 65) {
      rc = gf__fail(GF_EFORMAT, "%s:%ld: expected 65 comma-separated fields, got %d", fpath, lineno, nf);
      break;
    }
    for (int j = 0; j < 64 && rc == 0; j++)
      if (v[j] > 16) rc = gf__fail(GF_EFORMAT, "%s:%ld: field %d value %ld out of range 0..16", fpath, lineno, j + 1, v[j]);
    if (rc < 0) break;
    if (v[64] > 9) {
      rc = gf__fail(GF_EFORMAT, "%s:%ld: class %ld out of range 0..9", fpath, lineno, v[64]);
      break;
    }
    for (int j = 0; j < 64; j++) d->x[n * 64 + j] = (float)v[j] * a + b;
    d->labels[n] = (int)v[64];
    n++;
    p = eol < tend ? eol + 1 : tend;
  }
  free(text);
  if (rc < 0) { gf__dataset_free(d); return rc; }
  if (n == 0) { gf__dataset_free(d); return gf__fail(GF_EFORMAT, "%s: no samples in file", fpath); }
  snprintf(d->name, sizeof d->name, "digits");
  d->n = (int)n;
  d->c = 1;
  d->h = 8;
  d->w = 8;
  d->nclass = 10;
  return 0;
}
