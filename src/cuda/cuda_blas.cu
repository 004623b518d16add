/* cuda_blas.cu: cuBLAS loaded (dlopen) when a CUDA device is opened, not linked: linking it maps
   libcublasLt and runs its start-up code in every ganforge process, about 200 MB resident on a
   CPU-only run (docs/BENCHMARKS.md). The backend calls cuBLAS through gf_blas alone. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda/cuda_internal.h"

gf_blas_api gf_blas;

#define GF_STR2(x) #x
#define GF_STR(x) GF_STR2(x) /* the exported name behind cublas_v2.h's macros (cublasCreate_v2) */

/* Resolves every entry of gf_blas from handle h; the first missing name in why. */
static int bind(void *h, const char *file, char *why, size_t n) {
  struct sym {
    void **slot;
    const char *name;
  } syms[] = {
    {(void **)&gf_blas.create, GF_STR(cublasCreate)},
    {(void **)&gf_blas.set_stream, GF_STR(cublasSetStream)},
    {(void **)&gf_blas.set_workspace, GF_STR(cublasSetWorkspace)},
    {(void **)&gf_blas.gemm_ex, "cublasGemmEx"},
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    *syms[i].slot = dlsym(h, syms[i].name);
    if (!*syms[i].slot) {
      snprintf(why, n, "%s has no %s (not a cuBLAS of CUDA %d)", file, syms[i].name, CUDART_VERSION / 1000);
      gf_blas = gf_blas_api{};
      return -1;
    }
  }
  return 0;
}

extern "C" int gf__cuda_blas_load(char *why, size_t n) {
  if (gf_blas.handle) return 0;
  /* $GANFORGE_CUBLAS names the file alone; else the soname (LD_LIBRARY_PATH, the run path, the
     loader's cache), then the file this build was configured with */
  const char *env = getenv("GANFORGE_CUBLAS");
  const char *names[3] = {NULL, NULL, NULL};
  if (env && env[0]) {
    names[0] = env;
  } else {
    names[0] = GF_CUBLAS_SONAME;
    names[1] = GF_CUBLAS_PATH;
  }
  char first[300] = "";
  for (int i = 0; i < 3 && names[i]; i++) {
    void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *e = dlerror();
      if (!first[0]) snprintf(first, sizeof first, "%s", e ? e : names[i]);
      continue;
    }
    if (bind(h, names[i], why, n) < 0) {
      dlclose(h);
      return -1;
    }
    gf_blas.handle = h;
    snprintf(gf_blas.file, sizeof gf_blas.file, "%s", names[i]);
    return 0;
  }
  snprintf(why, n, "cuBLAS could not be loaded (%s)%s", first,
           env && env[0] ? "; GANFORGE_CUBLAS names a missing or unloadable file"
                         : "; add its folder to LD_LIBRARY_PATH or set GANFORGE_CUBLAS to the file");
  return -1;
}
