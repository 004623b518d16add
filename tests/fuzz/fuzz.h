/* fuzz.h: helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c) and their replay driver:
   a scratch folder for parsers that take a path, and property checks that abort. */
#ifndef GF_TESTS_FUZZ_H
#define GF_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ganforge/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep; a failure aborts, which libFuzzer reports as a crash. */
#define GF_FUZZ_CHECK(cond)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);            \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* A failed parse leaves one message that names what it read (`name`: a path or part of one). */
#define GF_FUZZ_CHECK_MESSAGE(name)                                                                \
  do {                                                                                             \
    const char *m_ = gf_last_error();                                                              \
    if (!m_[0] || !strstr(m_, (name))) {                                                           \
      fprintf(stderr, "fuzz property failed: the error message '%s' does not name '%s' (%s:%d)\n", \
              m_, (name), __FILE__, __LINE__);                                                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static char gf_fuzz_dir_[512];

static void gf_fuzz_cleanup_(void) {
  if (!gf_fuzz_dir_[0]) return;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", gf_fuzz_dir_);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", gf_fuzz_dir_);
}

/* This process's scratch folder: $GF_FUZZ_TMP, else /dev/shm (memory), else $TMPDIR or /tmp. */
static __attribute__((unused)) const char *gf_fuzz_dir(void) {
  if (gf_fuzz_dir_[0]) return gf_fuzz_dir_;
  const char *base = getenv("GF_FUZZ_TMP");
  if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0777); /* $GF_FUZZ_TMP may not exist yet */
  snprintf(gf_fuzz_dir_, sizeof gf_fuzz_dir_, "%s/gf-fuzz-XXXXXX", base);
  if (!mkdtemp(gf_fuzz_dir_)) {
    perror("mkdtemp");
    abort();
  }
  atexit(gf_fuzz_cleanup_);
  return gf_fuzz_dir_;
}

/* Writes data into the scratch folder as `name`; returns its path (static: valid until the next call). */
static __attribute__((unused)) const char *gf_fuzz_file(const char *name, const void *data, size_t size) {
  static char path[8][700];
  static int slot;
  char *p = path[slot++ & 7];
  snprintf(p, sizeof path[0], "%s/%s", gf_fuzz_dir(), name);
  FILE *f = fopen(p, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror(p);
    abort();
  }
  return p;
}

#endif
