/* export_cmd.c: `ganforge export` (ONNX / standalone C) and `ganforge translate` on .npy batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/npyio.h"
#include "ganforge/export.h"
#include "ganforge/ganforge.h"
#include "ganforge/infer.h"

int gf_cli_export(int argc, char **argv);
int gf_cli_translate_npy(const char *run, const char *direction, const char *in, const char *out);

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

static const char *EXPORT_HELP =
    "usage: ganforge export RUN --format onnx|c -o|--out OUT [--weights array|blob] [--direction AtoB|BtoA]\n"
    "\n"
    "Writes the generator of a run folder, generator.safetensors or checkpoint for use outside ganforge.\n"
    "  --format onnx   OUT is an .onnx file (opset 17): input z [N, nz] (translators: image\n"
    "                  [N, 3, H, W], H and W dynamic), output x [N, C, H, W]; N dynamic; BatchNorm\n"
    "                  folded into the layer before it (eval mode); a conditional generator\n"
    "                  (model.cond) has a second input label, int64 [N]: each row's class\n"
    "  --format c      OUT is a folder: gen.h + gen.c (plain C99, libm only, no heap) and the weights:\n"
    "                  gen_weights.c (a C array, --weights array, the default) or gen_weights.bin\n"
    "                  (--weights blob, handed over with gen_set_weights); translators at the\n"
    "                  trained size (data.crop_size); a conditional generator's gen_forward\n"
    "                  takes the class: gen_forward(z, label, out, work), -1 for a bad label\n"
    "  --direction     CycleGAN: AtoB (G_A, default) or BtoA (G_B)\n";

static int fail(int rc) {
  fprintf(stderr, "ganforge: error: %s\n", gf_last_error()[0] ? gf_last_error() : gf_strerror(rc));
  return rc == GF_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

static int usage(const char *msg, const char *arg) {
  fprintf(stderr, "ganforge: error: ");
  fprintf(stderr, msg, arg);
  fprintf(stderr, "\nhint: run 'ganforge export --help'\n");
  return EXIT_USAGE;
}

int gf_cli_export(int argc, char **argv) {
  const char *run = NULL, *out = NULL;
  gf_export_opts o = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(EXPORT_HELP, stdout); return 0; }
    if (!strcmp(a, "--format") || !strcmp(a, "-o") || !strcmp(a, "--out") || !strcmp(a, "--weights") ||
        !strcmp(a, "--direction")) {
      if (!v) return usage("%s needs a value", a);
      if (!strcmp(a, "--format")) o.format = v;
      else if (!strcmp(a, "--weights")) {
        if (strcmp(v, "array") && strcmp(v, "blob")) return usage("--weights %s: must be array or blob", v);
        o.blob = !strcmp(v, "blob");
      } else if (!strcmp(a, "--direction")) o.direction = v;
      else out = v;
      i++;
    } else if (a[0] == '-') return usage("unknown option '%s'", a);
    else if (!run) run = a;
    else return usage("unexpected argument '%s'", a);
  }
  if (!run) return usage("missing RUN (a run folder, generator or checkpoint)%s", "");
  if (!o.format) return usage("missing --format onnx|c%s", "");
  if (!out) return usage("missing -o OUT%s", "");
  int rc = gf_export(run, out, &o);
  if (rc < 0) return fail(rc);
  printf("%s\n", out);
  return 0;
}

int gf_cli_translate_npy(const char *run, const char *direction, const char *in, const char *out) {
  size_t L = strlen(out);
  if (L < 4 || strcmp(out + L - 4, ".npy")) {
    fprintf(stderr, "ganforge: error: -o %s: a .npy input is translated into a .npy file\n", out);
    return EXIT_USAGE;
  }
  gf__npy a;
  int rc = gf__npy_read_f32(in, &a);
  if (rc < 0) return fail(rc);
  gf_generator_opts go = {.direction = direction};
  gf_generator *g = NULL;
  float *y = NULL;
  gf_generator_info info;
  if (a.ndim != 4) {
    gf__npy_free(&a);
    fprintf(stderr, "ganforge: error: %s: expected images [n, c, h, w], the array has %d dimensions\n", in, a.ndim);
    return EXIT_RUNTIME;
  }
  rc = gf_generator_open(run, &go, &g);
  if (rc == 0) rc = gf_generator_info_get(g, &info);
  if (rc == 0 && a.shape[1] != info.in_c) {
    gf_generator_close(g);
    gf__npy_free(&a);
    fprintf(stderr, "ganforge: error: %s: %ld channels, the generator takes %d\n", in, a.shape[1], info.in_c);
    return EXIT_RUNTIME;
  }
  if (rc == 0 && !(y = malloc(sizeof(float) * a.count))) rc = GF_ENOMEM;
  if (rc == 0) rc = gf_generator_translate(g, a.data, (int)a.shape[0], (int)a.shape[2], (int)a.shape[3], y);
  if (rc == 0) {
    long shape[4] = {a.shape[0], info.c, a.shape[2], a.shape[3]};
    rc = gf__npy_write_f32(out, y, shape, 4);
  }
  free(y);
  gf_generator_close(g);
  gf__npy_free(&a);
  if (rc < 0) return fail(rc);
  printf("%s\n", out);
  return 0;
}
