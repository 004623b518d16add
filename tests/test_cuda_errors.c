/* test_cuda_errors.c: why a CUDA device cannot be opened, in one line each (no driver, no device,
   index out of range, a second device in one process, a failed initialisation), and what this
   machine answers to "cuda" / "cuda:N": "built without CUDA" in CPU-only builds, the missing driver
   or device in CUDA builds without a GPU (on a machine with a GPU the open must succeed); and that
   cuBLAS is loaded on demand, not mapped into every process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "harness.h"

int gf__cuda_open_error(int kind, int index, int count, int open_index, const char *detail);

static void expect(int rc, const char *what, const char *const *parts) {
  const char *m = gf_last_error();
  CHECK(rc == GF_ENODEV, "%s: rc %d (%s)", what, rc, gf_err_name(rc));
  CHECK(!strchr(m, '\n'), "%s: more than one line: %s", what, m);
  for (int i = 0; parts[i]; i++) CHECK(strstr(m, parts[i]) != NULL, "%s: '%s' not in: %s", what, parts[i], m);
  printf("%-22s %s\n", what, m);
}

/* Whether this process maps a file whose name contains `lib` (/proc/self/maps). */
static int maps_have(const char *lib) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[1024];
  int found = 0;
  if (!f) return -1;
  while (!found && fgets(line, sizeof line, f)) found = strstr(line, lib) != NULL;
  fclose(f);
  return found;
}

/* cuBLAS is loaded when a device opens, not at start; a file that cannot be loaded, or lacks the
   entry points, is named in one line. */
static void check_blas_loading(int built, int opened) {
  char why[400] = "";
  if (!built) {
    CHECK(gf__cuda_blas_load(why, sizeof why) < 0 && strstr(why, "built without CUDA"), "CPU-only build: %s", why);
    return;
  }
  if (!opened) { /* nothing loaded yet: the overrides are what a load tries */
    setenv("GANFORGE_CUBLAS", "/nonexistent/libcublas.so.99", 1);
    CHECK(gf__cuda_blas_load(why, sizeof why) < 0 && strstr(why, "/nonexistent/libcublas.so.99") &&
              strstr(why, "GANFORGE_CUBLAS") && !strchr(why, '\n'),
          "a missing cuBLAS: %s", why);
    printf("%-22s %s\n", "missing cuBLAS", why);
    setenv("GANFORGE_CUBLAS", "libm.so.6", 1);
    why[0] = 0;
    CHECK(gf__cuda_blas_load(why, sizeof why) < 0 && strstr(why, "libm.so.6 has no cublasCreate"), "not cuBLAS: %s", why);
    printf("%-22s %s\n", "not cuBLAS", why);
    unsetenv("GANFORGE_CUBLAS");
    CHECK(!maps_have("libcublas"), "a failed load left cuBLAS mapped");
  }
  why[0] = 0;
  int rc = gf__cuda_blas_load(why, sizeof why);
  CHECK(rc == 0, "cuBLAS of this build did not load: %s", why);
  CHECK(maps_have("libcublas") == 1, "cuBLAS loaded but not mapped");
  printf("%-22s loaded\n", "cuBLAS");
}

int main(void) {
  /* a process that has not opened a CUDA device has not mapped cuBLAS (~200 MB resident); libc
     shows that the detector sees what is mapped */
  CHECK(maps_have("libcublas") == 0, "cuBLAS is mapped at start (linked, not loaded on demand)");
  CHECK(maps_have("libc.so") == 1, "/proc/self/maps does not show libc: the check above cannot fail");
  const char *a[] = {"cuda:0", "no CUDA driver", "--device cpu", NULL};
  expect(gf__cuda_open_error(1, 0, 0, 0, "CUDA driver version is insufficient"), "no driver", a);
  const char *b[] = {"cuda:1", "no CUDA device", NULL};
  expect(gf__cuda_open_error(2, 1, 0, 0, NULL), "no device", b);
  const char *c[] = {"cuda:4", "out of range", "2 CUDA devices", "cuda:0 .. cuda:1", NULL};
  expect(gf__cuda_open_error(3, 4, 2, 0, NULL), "index out of range", c);
  const char *c1[] = {"cuda:1", "out of range", "1 CUDA device (cuda:0)", NULL};
  expect(gf__cuda_open_error(3, 1, 1, 0, NULL), "index out of range (1)", c1);
  const char *d[] = {"cuda:1", "already uses cuda:0", NULL};
  expect(gf__cuda_open_error(4, 1, 2, 0, NULL), "second device", d);
  const char *e[] = {"cuda:0", "could not be initialised", "cudnnCreate", NULL};
  expect(gf__cuda_open_error(5, 0, 1, 0, "cudnnCreate: CUDNN_STATUS_NOT_INITIALIZED"), "init failed", e);

  /* device names */
  const gf__ops *o = NULL;
  CHECK(gf__ops_get("cuda:x", &o) == GF_EUSAGE && strstr(gf_last_error(), "cuda:N"), "cuda:x: %s", gf_last_error());
  CHECK(gf__ops_get("cudaa", &o) == GF_EUSAGE, "cudaa: %s", gf_last_error());
  CHECK(gf__ops_get("gpu", &o) == GF_EUSAGE, "gpu: %s", gf_last_error());
  CHECK(gf__ops_get("cuda:99", &o) < 0 || o != NULL, "cuda:99");

  /* this machine */
  const char *info = gf_cuda_info();
  printf("%s\n", info);
  int rc = gf__ops_get("cuda", &o);
  if (strstr(info, "not built")) {
    const char *f[] = {"cuda:0", "built without CUDA", "-DGANFORGE_CUDA=ON", NULL};
    expect(rc, "CPU-only build", f);
  } else if (rc < 0) {
    const char *m = gf_last_error();
    CHECK(rc == GF_ENODEV && (strstr(m, "no CUDA driver") || strstr(m, "no CUDA device")), "CUDA build, no GPU: %s", m);
    printf("%-22s %s\n", "CUDA build, no GPU", m);
  } else {
    CHECK(o && o->name && !strncmp(o->name, "cuda:0", 6), "a GPU: opened %s", o ? o->name : "?");
    printf("%-22s %s\n", "CUDA build with a GPU", o->name);
  }
  check_blas_loading(!strstr(info, "not built"), rc == 0);
  /* the CPU refuses bf16, and ignores graphs and TF32 */
  gf__backend_opts bf = {0, 1, 1}, tf = {1, 0, 1};
  CHECK(gf__ops_cpu()->configure(&bf) == GF_EUSAGE && strstr(gf_last_error(), "bf16"), "cpu bf16: %s", gf_last_error());
  CHECK(gf__ops_cpu()->configure(&tf) == 0, "cpu tf32 + graph");
  return gf_t_done();
}
