/* infer_example.c: the inference API in use (linked with libganforge_infer alone).
     gf_infer_example RUN OUT.npy [N [SEED]]                       N samples, as `ganforge sample --seed`
     gf_infer_example RUN OUT.npy --translate IN.npy [AtoB|BtoA]   CycleGAN / pix2pix on a batch
   Arrays are float32 .npy [n, c, h, w]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ganforge/infer.h>

static int write_npy(const char *path, const float *x, const long *shape, int nd) {
  char hdr[128];
  int k = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %ld, %ld, %ld), }", shape[0],
                   shape[1], shape[2], shape[3]);
  while ((10 + k + 1) % 64) hdr[k++] = ' ';
  hdr[k++] = '\n';
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(k & 0xff), (unsigned char)(k >> 8)};
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)k, f) == (size_t)k && fwrite(x, 4, n, f) == n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* A float32 C-order .npy with 4 dimensions (what numpy and `ganforge sample --npy` write). */
static float *read_npy4(const char *path, long shape[4]) {
  FILE *f = fopen(path, "rb");
  unsigned char pre[10];
  char hdr[512];
  float *x = NULL;
  if (!f) return NULL;
  if (fread(pre, 1, 10, f) == 10 && !memcmp(pre + 1, "NUMPY", 5) && pre[6] == 1) {
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    const char *s;
    if (hl < sizeof hdr && fread(hdr, 1, hl, f) == hl && (hdr[hl] = 0, strstr(hdr, "'<f4'")) &&
        strstr(hdr, "False") && (s = strstr(hdr, "'shape': (")) &&
        sscanf(s, "'shape': (%ld, %ld, %ld, %ld)", &shape[0], &shape[1], &shape[2], &shape[3]) == 4) {
      size_t n = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
      x = malloc(sizeof(float) * n);
      if (x && fread(x, 4, n, f) != n) { free(x); x = NULL; }
    }
  }
  fclose(f);
  return x;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s RUN OUT.npy [N [SEED]] | RUN OUT.npy --translate IN.npy [AtoB|BtoA]\n", argv[0]);
    return 2;
  }
  int translate = argc > 3 && !strcmp(argv[3], "--translate");
  gf_generator_opts opts = {.direction = translate && argc > 5 ? argv[5] : NULL};
  gf_generator *g;
  if (gf_generator_open(argv[1], &opts, &g) < 0) {
    fprintf(stderr, "error: %s\n", gf_last_error());
    return 1;
  }
  gf_generator_info info;
  gf_generator_info_get(g, &info);
  float *in = NULL, *out = NULL;
  long shape[4] = {0, info.c, info.h, info.w};
  int rc;
  if (translate) {
    long ishape[4];
    in = argc > 4 ? read_npy4(argv[4], ishape) : NULL;
    if (!in) { fprintf(stderr, "error: cannot read a float32 [n, c, h, w] .npy from %s\n", argc > 4 ? argv[4] : "(none)"); return 1; }
    shape[0] = ishape[0]; shape[2] = ishape[2]; shape[3] = ishape[3];
    out = malloc(sizeof(float) * (size_t)shape[0] * info.c * shape[2] * shape[3]);
    rc = gf_generator_translate(g, in, (int)ishape[0], (int)ishape[2], (int)ishape[3], out);
  } else {
    int n = argc > 3 ? atoi(argv[3]) : 16;
    unsigned long long seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    shape[0] = n;
    out = malloc(sizeof(float) * (size_t)n * info.c * info.h * info.w);
    printf("%s generator (%s): nz %d, output %dx%dx%d in [%g, %g]\n", info.arch, info.kind, info.nz, info.c, info.h,
           info.w, info.lo, info.hi);
    rc = gf_generator_sample(g, seed, n, out, NULL);
  }
  if (rc < 0) fprintf(stderr, "error: %s\n", gf_last_error());
  else if (write_npy(argv[2], out, shape, 4) < 0) { fprintf(stderr, "error: cannot write %s\n", argv[2]); rc = -1; }
  free(in);
  free(out);
  gf_generator_close(g);
  return rc < 0 ? 1 : 0;
}
