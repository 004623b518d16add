/* harness.c: test-harness counters, environment paths and the closing summary line. */
#include "harness.h"

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int gf_t_pass = 0, gf_t_fail = 0;

const char *gf_t_data(void) {
  const char *d = getenv("GF_TEST_DATA");
  return d ? d : "../shared/data";
}

const char *gf_t_fixtures(void) {
  const char *d = getenv("GF_FIXTURES");
  return d ? d : "tests/fixtures";
}

const char *gf_t_tmpdir(const char *name) {
  static char buf[2048];
  const char *t = getenv("GF_TMP");
  if (!t) t = "/tmp/ganforge-test";
  char cmd[4200];
  snprintf(buf, sizeof buf, "%s/%s", t, name);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", buf, buf);
  if (system(cmd) != 0) fprintf(stderr, "cannot create %s\n", buf);
  return buf;
}

int gf_t_done(void) {
  printf("%d passed, %d failed\n", gf_t_pass, gf_t_fail);
  return gf_t_fail ? 1 : 0;
}

void gf_t_set(gf_config *c, const char *kv) {
  if (gf_config_set_kv(c, kv) < 0) {
    fprintf(stderr, "config %s: %s\n", kv, gf_last_error());
    exit(2);
  }
}

int gf_t_same_file(const char *a, const char *b) {
  char *x = NULL, *y = NULL;
  size_t lx = 0, ly = 0;
  int ok = gf__read_file(a, &x, &lx) == 0 && gf__read_file(b, &y, &ly) == 0 && lx == ly && memcmp(x, y, lx) == 0;
  free(x);
  free(y);
  return ok;
}

float *gf_t_host_copy(const gf__ops *o, const float *dev, long n) {
  float *h = malloc(sizeof(float) * (size_t)(n ? n : 1));
  o->to_host(h, dev, sizeof(float) * (size_t)n);
  return h;
}

int gf_t_st_same(const gf__st_file *a, const gf__st_file *b, const char *name) {
  const uint8_t *da, *db;
  int na, nb;
  int64_t sa[GF_ST_MAXDIM], sb[GF_ST_MAXDIM];
  if (gf__st_get(a, name, &da, &na, sa) || gf__st_get(b, name, &db, &nb, sb)) return -1;
  size_t cnt = 1;
  for (int d = 0; d < na; d++) cnt *= (size_t)sa[d];
  return na == nb && !memcmp(sa, sb, sizeof(int64_t) * (size_t)na) && !memcmp(da, db, cnt * 4);
}
