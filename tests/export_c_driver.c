/* export_c_driver.c: runs an exported gen.c (`ganforge export --format c`) on every row of IN.npy
   and compares with REF.npy (what ganforge computed): prints the largest absolute difference and
   fails above TOL. With a 4th argument, the weights blob to hand to gen_set_weights.
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
  if (argc < 4) { fprintf(stderr, "usage: %s IN.npy REF.npy TOL [WEIGHTS.bin]\n", argv[0]); return 2; }
  size_t nin = 0, nref = 0;
  float *in = read_npy(argv[1], &nin), *ref = read_npy(argv[2], &nref);
  double tol = atof(argv[3]);
  if (!in || !ref) { fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]); return 1; }
  size_t n = nin / GEN_IN_SIZE;
  if (n * GEN_IN_SIZE != nin || n * GEN_OUT_SIZE != nref) { fprintf(stderr, "sizes do not match gen.h\n"); return 1; }
#ifdef GEN_BLOB
  static unsigned char *blob;
  FILE *f = fopen(argv[4], "rb");
  blob = malloc((size_t)GEN_WEIGHT_FLOATS * 4 + 1);
  size_t got = f && blob ? fread(blob, 1, (size_t)GEN_WEIGHT_FLOATS * 4 + 1, f) : 0;
  if (f) fclose(f);
  if (gen_set_weights(blob, got) != 0) { fprintf(stderr, "gen_set_weights refused %zu bytes\n", got); return 1; }
  if (gen_set_weights(blob, got - 4) == 0) { fprintf(stderr, "gen_set_weights took a short blob\n"); return 1; }
#endif
  float *work = malloc(gen_work_size()), *out = malloc(sizeof(float) * GEN_OUT_SIZE);
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    gen_forward(in + i * GEN_IN_SIZE, out, work);
    for (size_t j = 0; j < GEN_OUT_SIZE; j++) {
      double d = fabs((double)out[j] - ref[i * GEN_OUT_SIZE + j]);
      if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
  }
  printf("c export: %zu samples, max abs error %.3g (tolerance %.3g), work %zu bytes\n", n, worst, tol, gen_work_size());
  free(in); free(ref); free(work); free(out);
  return worst <= tol ? 0 : 1;
}
