/* harness.c: test-harness counters, environment paths and the closing summary line. */
#include "harness.h"

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
