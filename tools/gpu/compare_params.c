/* compare_params.c: gf_compare_params: every tensor of two ganforge safetensors files (the
   state after N steps of the same run on two devices) compared element by element:
   |a - b| <= atol + rtol * |b| (default 1e-4 each), non-finite values failing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ganforge/error.h"
#include "io/safetensors.h"

#define TOP 5

typedef struct worst {
  char name[128];
  double diff, a, b;
  long at, bad, n;
} worst;

/* A run folder's state file: its last checkpoint, else the classifier or generator it wrote. */
static int resolve(const char *arg, char *out, size_t cap) {
  struct stat st;
  if (stat(arg, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) {
    snprintf(out, cap, "%s", arg);
    return 0;
  }
  static const char *cand[] = {"checkpoints/latest.safetensors", "classifier.safetensors", "generator.safetensors",
                               NULL};
  for (int i = 0; cand[i]; i++) {
    snprintf(out, cap, "%s/%s", arg, cand[i]);
    if (stat(out, &st) == 0) return 0;
  }
  return -1;
}

static void jstr(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", (unsigned char)*s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

static void usage(void) {
  puts("usage: gf_compare_params A B [--atol X] [--rtol X] [--json FILE]\n\n"
       "A, B: safetensors files, or run folders (their checkpoints/latest.safetensors, else\n"
       "classifier.safetensors, else generator.safetensors). Every tensor of either file must be\n"
       "in the other with the same shape, and every element within |a - b| <= atol + rtol * |b|\n"
       "(defaults 1e-4, 1e-4); a NaN or infinity fails. The step counters in the metadata\n"
       "(g_steps, d_steps, step) must agree. Exit status: 0 equal within tolerance, 1 not, 2 usage.");
}

int main(int argc, char **argv) {
  const char *pa = NULL, *pb = NULL, *json = NULL;
  double atol = 1e-4, rtol = 1e-4;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(); return 0; }
    if (!strcmp(argv[i], "--atol") || !strcmp(argv[i], "--rtol") || !strcmp(argv[i], "--json")) {
      if (i + 1 >= argc) { fprintf(stderr, "gf_compare_params: %s needs a value\n", argv[i]); return 2; }
      if (!strcmp(argv[i], "--json")) { json = argv[++i]; continue; }
      char *end;
      double v = strtod(argv[i + 1], &end);
      if (*end || end == argv[i + 1] || !(v >= 0)) {
        fprintf(stderr, "gf_compare_params: %s needs a non-negative number, not '%s'\n", argv[i], argv[i + 1]);
        return 2;
      }
      *(!strcmp(argv[i], "--atol") ? &atol : &rtol) = v;
      i++;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "gf_compare_params: unknown option '%s' (--help)\n", argv[i]);
      return 2;
    } else if (!pa) pa = argv[i];
    else if (!pb) pb = argv[i];
    else { fprintf(stderr, "gf_compare_params: more than two files given\n"); return 2; }
  }
  if (!pa || !pb) { fprintf(stderr, "gf_compare_params: two files or run folders needed (--help)\n"); return 2; }
  char fa[2048], fb[2048];
  if (resolve(pa, fa, sizeof fa) < 0) { fprintf(stderr, "gf_compare_params: %s: no such file or run folder with a state file\n", pa); return 1; }
  if (resolve(pb, fb, sizeof fb) < 0) { fprintf(stderr, "gf_compare_params: %s: no such file or run folder with a state file\n", pb); return 1; }
  gf__st_file A, B;
  if (gf__st_open(&A, fa) < 0) { fprintf(stderr, "gf_compare_params: %s\n", gf_last_error()); return 1; }
  if (gf__st_open(&B, fb) < 0) { fprintf(stderr, "gf_compare_params: %s\n", gf_last_error()); gf__st_close(&A); return 1; }

  char problems[4096] = "";
  size_t plen = 0;
#define PROBLEM(...)                                                                        \
  do {                                                                                      \
    if (plen < sizeof problems - 200)                                                       \
      plen += (size_t)snprintf(problems + plen, sizeof problems - plen, __VA_ARGS__);       \
  } while (0)
  static const char *counters[] = {"g_steps", "d_steps", "step", NULL};
  for (int i = 0; counters[i]; i++) {
    const char *x = gf__st_meta(&A, counters[i]), *y = gf__st_meta(&B, counters[i]);
    if (x && y && strcmp(x, y)) PROBLEM("metadata %s: %s vs %s; ", counters[i], x, y);
  }
  worst top[TOP];
  memset(top, 0, sizeof top);
  long tensors = 0, elements = 0, failed = 0;
  double maxdiff = 0;
  for (int i = 0; i < B.n; i++) {
    const char *name = gf__st_name(&B, i);
    if (gf__st_get(&A, name, NULL, NULL, NULL) < 0) { failed++; PROBLEM("%s only in B; ", name); }
  }
  for (int i = 0; i < A.n; i++) {
    const char *name = gf__st_name(&A, i);
    const uint8_t *da, *db;
    int na, nb;
    int64_t sa[GF_ST_MAXDIM], sb[GF_ST_MAXDIM];
    if (gf__st_get(&A, name, &da, &na, sa) < 0) continue;
    if (gf__st_get(&B, name, &db, &nb, sb) < 0) { failed++; PROBLEM("%s only in A; ", name); continue; }
    if (na != nb || memcmp(sa, sb, sizeof(int64_t) * (size_t)na)) { failed++; PROBLEM("%s: shapes differ; ", name); continue; }
    long n = 1;
    for (int d = 0; d < na; d++) n *= (long)sa[d];
    worst w;
    memset(&w, 0, sizeof w);
    snprintf(w.name, sizeof w.name, "%s", name);
    w.n = n;
    w.at = -1;
    for (long j = 0; j < n; j++) {
      float a, b;
      memcpy(&a, da + 4 * j, 4);
      memcpy(&b, db + 4 * j, 4);
      double diff = fabs((double)a - b);
      int bad = !isfinite(a) || !isfinite(b) || diff > atol + rtol * fabs((double)b);
      if (!isfinite(diff)) diff = INFINITY;
      w.bad += bad;
      if (diff > w.diff || w.at < 0 || (bad && !isfinite(diff))) { w.diff = diff; w.at = j; w.a = a; w.b = b; }
    }
    tensors++;
    elements += n;
    if (w.bad) failed++;
    if (w.diff > maxdiff) maxdiff = w.diff;
    for (int t = 0; t < TOP; t++)
      if (!top[t].name[0] || w.diff > top[t].diff) {
        memmove(&top[t + 1], &top[t], sizeof top[0] * (size_t)(TOP - 1 - t));
        top[t] = w;
        break;
      }
    if (w.bad)
      printf("  FAIL %-40s %ld of %ld off; worst [%ld] %.9g vs %.9g (|diff| %.3g)\n", name, w.bad, n, w.at, w.a, w.b,
             w.diff);
  }
  int ok = failed == 0 && !problems[0];
  printf("gf_compare_params: %s: %ld tensors, %ld values, max |diff| %.3g (tolerance %g + %g |b|)%s%s\n",
         ok ? "equal within tolerance" : "DIFFERENT", tensors, elements, maxdiff, atol, rtol, problems[0] ? "; " : "",
         problems);
  for (int t = 0; t < TOP && top[t].name[0]; t++)
    printf("  %-40s max |diff| %.3g at [%ld] (%.9g vs %.9g), %ld of %ld off\n", top[t].name, top[t].diff, top[t].at,
           top[t].a, top[t].b, top[t].bad, top[t].n);
  if (json) {
    FILE *f = fopen(json, "w");
    if (!f) fprintf(stderr, "gf_compare_params: %s: cannot write\n", json);
    else {
      fprintf(f, "{\"status\": \"%s\", \"a\": ", ok ? "pass" : "fail");
      jstr(f, fa);
      fprintf(f, ", \"b\": ");
      jstr(f, fb);
      fprintf(f, ", \"atol\": %g, \"rtol\": %g, \"tensors\": %ld, \"values\": %ld, \"failed_tensors\": %ld, "
                 "\"max_abs_diff\": %.6g, \"problems\": ",
              atol, rtol, tensors, elements, failed, isfinite(maxdiff) ? maxdiff : 1e300);
      jstr(f, problems);
      fprintf(f, ", \"worst\": [");
      for (int t = 0; t < TOP && top[t].name[0]; t++) {
        fprintf(f, "%s{\"tensor\": ", t ? ", " : "");
        jstr(f, top[t].name);
        fprintf(f, ", \"max_abs_diff\": %.6g, \"at\": %ld, \"a\": %.9g, \"b\": %.9g, \"off\": %ld, \"n\": %ld}",
                isfinite(top[t].diff) ? top[t].diff : 1e300, top[t].at, isfinite(top[t].a) ? top[t].a : 1e300,
                isfinite(top[t].b) ? top[t].b : 1e300, top[t].bad, top[t].n);
      }
      fprintf(f, "]}\n");
      fclose(f);
    }
  }
  gf__st_close(&A);
  gf__st_close(&B);
  return ok ? 0 : 1;
}
