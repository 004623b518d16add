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
/* Prints "N passed, N failed" and returns the process exit code. */
int gf_t_done(void);

#endif
