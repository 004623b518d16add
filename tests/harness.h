/* harness.h: minimal test harness: CHECK macros, env paths, and the "N passed, N failed" line. */
#ifndef GF_TESTS_HARNESS_H
#define GF_TESTS_HARNESS_H

#include <math.h>
#include <stdio.h>

extern int gf_t_pass, gf_t_fail;

#define CHECK(cond, ...)                                                             \
  do {                                                                               \
    if (cond) gf_t_pass++;                                                           \
    else {                                                                           \
      gf_t_fail++;                                                                   \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
      fprintf(stderr, __VA_ARGS__);                                                  \
      fprintf(stderr, "\n");                                                         \
    }                                                                                \
  } while (0)

#define CHECK_CLOSE(a, b, rtol, atol, what)                                          \
  do {                                                                               \
    double ca_ = (a), cb_ = (b);                                                     \
    CHECK(fabs(ca_ - cb_) <= (atol) + (rtol) * fabs(cb_), "%s: %.9g vs %.9g", what, ca_, cb_); \
  } while (0)

/* Environment: GF_TEST_DATA (../shared/data), GF_FIXTURES (tests/fixtures), GF_TMP (scratch). */
const char *gf_t_data(void);
const char *gf_t_fixtures(void);
/* A fresh scratch directory for this test (created): $GF_TMP/<name>. */
const char *gf_t_tmpdir(const char *name);
/* Sets one KEY=VALUE of a config; a bad key is a broken test: message and exit(2). */
struct gf_config;
void gf_t_set(struct gf_config *c, const char *kv);
/* A host copy (malloc) of n floats of backend memory. */
struct gf__ops;
float *gf_t_host_copy(const struct gf__ops *o, const float *dev, long n);
/* Tensor `name` of two open safetensors files: 1 same shape and bytes, 0 different, -1 missing
   in one of them. */
struct gf__st_file;
int gf_t_st_same(const struct gf__st_file *a, const struct gf__st_file *b, const char *name);
/* 1 when both files can be read and are byte-identical. */
int gf_t_same_file(const char *a, const char *b);
/* Prints "N passed, N failed" and returns the process exit code. */
int gf_t_done(void);

#endif
