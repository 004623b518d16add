/* driver.c: replays inputs through a fuzz target without libFuzzer (the regular builds' ctest,
   ASan + UBSan in the sanitized one): every file named, and every file in every folder named. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", path);
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (len == cap) buf = realloc(buf, cap *= 2);
    if (!buf) abort();
    size_t k = fread(buf + len, 1, cap - len, f);
    len += k;
    if (k == 0) break;
  }
  fclose(f);
  /* libFuzzer hands the target a buffer of exactly the input's size: copy to one, so ASan sees
     any read past the end */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) abort();
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  long n = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: no such file or folder\n", argv[i]);
      bad++;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad += replay(argv[i]) != 0;
      n++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) { bad++; continue; }
    char **names = NULL;
    size_t k = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      if (k == cap) names = realloc(names, sizeof *names * (cap = cap ? 2 * cap : 64));
      if (!names) abort();
      names[k++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, k, sizeof *names, cmp);
    for (size_t j = 0; j < k; j++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], names[j]);
      bad += replay(path) != 0;
      n++;
      free(names[j]);
    }
    free(names);
  }
  printf("%s: replayed %ld inputs\n", argv[0], n);
  if (n == 0) fprintf(stderr, "no inputs found\n");
  return n == 0 || bad ? 1 : 0;
}
