/* export_c_driver.c: runs an exported gen.c (`ganforge export --format c`) on every row of IN.npy
   and compares with REF.npy (what ganforge computed): prints the largest absolute difference and
   fails above TOL. Then, as options: blob=FILE, the weights blob to hand to gen_set_weights
   (built with -DGEN_BLOB); labels=mod|K, a conditional generator's classes (GEN_CLASSES in gen.h):
   row i of class i mod GEN_CLASSES (as `ganforge sample -o x.npy`) or of class K (`--class K`),
   and gen_forward must refuse the labels -1 and GEN_CLASSES (-1, out untouched).
   Built by tests/test_export.sh with cc -std=c99 -O2 -Wall -Werror beside gen.c alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static float *read_npy(const char *path, size_t *count) {
  FILE *f = fopen(path, "rb");
  unsigned char pre[10];
  char hdr[1024];
  float *x = NULL;
  if (!f) return NULL;
  if (fread(pre, 1, 10, f) == 10 && !memcmp(pre + 1, "NUMPY", 5) && pre[6] == 1) {
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    const char *s;
    if (hl < sizeof hdr && fread(hdr, 1, hl, f) == hl && (hdr[hl] = 0, strstr(hdr, "'<f4'")) && (s = strstr(hdr, "(")) != NULL) {
      size_t n = 1;
      long v;
      int k;
      s++;
      while (sscanf(s, " %ld%n", &v, &k) == 1) {
        n *= (size_t)v;
        s += k;
        while (*s == ',' || *s == ' ') s++;
      }
      x = malloc(sizeof(float) * n + 1);
      if (x && fread(x, sizeof(float), n, f) != n) { free(x); x = NULL; }
      *count = n;
    }
  }
  fclose(f);
  return x;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s IN.npy REF.npy TOL [blob=WEIGHTS.bin] [labels=mod|K]\n", argv[0]); return 2; }
  const char *blob_path = NULL, *labels = NULL;
  for (int a = 4; a < argc; a++) {
    if (!strncmp(argv[a], "blob=", 5)) blob_path = argv[a] + 5;
    else if (!strncmp(argv[a], "labels=", 7)) labels = argv[a] + 7;
    else { fprintf(stderr, "unknown argument %s\n", argv[a]); return 2; }
  }
  (void)blob_path;
#ifdef GEN_CLASSES
  if (!labels) { fprintf(stderr, "a conditional generator (GEN_CLASSES %d): labels=mod|K needed\n", GEN_CLASSES); return 2; }
#else
  if (labels) { fprintf(stderr, "labels=%s for an unconditional generator\n", labels); return 2; }
#endif
  size_t nin = 0, nref = 0;
  float *in = read_npy(argv[1], &nin), *ref = read_npy(argv[2], &nref);
  double tol = atof(argv[3]);
  if (!in || !ref) { fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]); return 1; }
  size_t n = nin / GEN_IN_SIZE;
  if (n * GEN_IN_SIZE != nin || n * GEN_OUT_SIZE != nref) { fprintf(stderr, "sizes do not match gen.h\n"); return 1; }
#ifdef GEN_BLOB
  static unsigned char *blob;
  FILE *f = blob_path ? fopen(blob_path, "rb") : NULL;
  blob = malloc((size_t)GEN_WEIGHT_FLOATS * 4 + 1);
  size_t got = f && blob ? fread(blob, 1, (size_t)GEN_WEIGHT_FLOATS * 4 + 1, f) : 0;
  if (f) fclose(f);
  if (gen_set_weights(blob, got) != 0) { fprintf(stderr, "gen_set_weights refused %zu bytes\n", got); return 1; }
  if (gen_set_weights(blob, got - 4) == 0) { fprintf(stderr, "gen_set_weights took a short blob\n"); return 1; }
#endif
  float *work = malloc(gen_work_size()), *out = malloc(sizeof(float) * GEN_OUT_SIZE);
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
#ifdef GEN_CLASSES
    int label = !strcmp(labels, "mod") ? (int)(i % GEN_CLASSES) : atoi(labels);
    if (gen_forward(in + i * GEN_IN_SIZE, label, out, work) != 0) {
      fprintf(stderr, "gen_forward refused label %d of %d classes\n", label, GEN_CLASSES);
      return 1;
    }
#else
    gen_forward(in + i * GEN_IN_SIZE, out, work);
#endif
    for (size_t j = 0; j < GEN_OUT_SIZE; j++) {
      double d = fabs((double)out[j] - ref[i * GEN_OUT_SIZE + j]);
      if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
  }
  int refused = 1;
#ifdef GEN_CLASSES
  /* labels outside 0..GEN_CLASSES-1: -1, nothing written */
  static const int badlab[3] = {-1, GEN_CLASSES, -2147483647 - 1};
  for (int b = 0; b < 3; b++) {
    for (size_t j = 0; j < GEN_OUT_SIZE; j++) out[j] = 12345.0f;
    int rc = gen_forward(in, badlab[b], out, work);
    int untouched = 1;
    for (size_t j = 0; j < GEN_OUT_SIZE; j++) untouched &= out[j] == 12345.0f;
    if (rc != -1 || !untouched) {
      fprintf(stderr, "gen_forward with label %d: returned %d, output %s\n", badlab[b], rc, untouched ? "untouched" : "written");
      refused = 0;
    }
  }
#endif
  printf("c export: %zu samples, max abs error %.3g (tolerance %.3g), work %zu bytes\n", n, worst, tol, gen_work_size());
#ifdef GEN_CLASSES
  printf("c export: %d classes, labels=%s; labels -1, %d, INT_MIN %s\n", GEN_CLASSES, labels, GEN_CLASSES,
         refused ? "refused (-1, output untouched)" : "NOT refused");
#endif
  free(in); free(ref); free(work); free(out);
  return worst <= tol && refused ? 0 : 1;
}
