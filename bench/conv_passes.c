/* bench/conv_passes.c: the three passes of DCGAN's 4x4 stride-2 padding-1 convolutions (batch 64)
   by oneDNN (ops conv_lib) and by polyphase Winograd F(4x4, 2x2) (cpu_pwino.c), per layer, best
   of REPS; the numbers behind the pass choice in src/nn/net.c (plan_pwino).
     gcc -O2 -std=c11 -Isrc -Iinclude bench/conv_passes.c build/libganforge.a \
       -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp \
       -lopenblas -ldnnl -lcjson -lz -lpng -ljpeg -lgif -lcurl -fopenmp -lm -o /tmp/conv_passes
     bench/quiet.sh /tmp/conv_passes [REPS=5] */
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "cpu/cpu_internal.h"

static double best(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv) {
  const int N = 64, reps = argc > 1 ? atoi(argv[1]) : 5;
  /* the convolution (for a ConvTranspose2d: its adjoint): input channels, side, output channels */
  static const int L[][3] = {{64, 32, 128}, {128, 16, 256}, {256, 8, 512}, {128, 14, 256}, {64, 14, 128}};
  if (!gf__ops_cpu()->conv_lib) { fprintf(stderr, "built without oneDNN: nothing to compare\n"); return 2; }
  printf("layer (C, side, OC)   GFLOP/pass | oneDNN fwd / bwd-data / bwd-w ms | polyphase Winograd ms\n");
  for (size_t li = 0; li < sizeof L / sizeof L[0]; li++) {
    const int C = L[li][0], H = L[li][1], OC = L[li][2], OH = H / 2;
    const gf__conv_geom g = {C, H, H, 4, 4, 2, 2, 1, 1, OH, OH, 0, 0};
    const size_t nx = (size_t)N * C * H * H, ny = (size_t)N * OC * OH * OH, nw = (size_t)OC * C * 16;
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *w = malloc(nw * 4), *dw = calloc(nw, 4), *dx = calloc(nx, 4);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 7) - 3;
    for (size_t i = 0; i < ny; i++) y[i] = (float)(i % 5) - 2;
    for (size_t i = 0; i < nw; i++) w[i] = 0.01f * ((float)(i % 3) - 1);
    int tb = (int)((4L << 20) / (25L * 4 * (C + OC)) / 16 * 16); /* as plan_pwino */
    tb = tb < 32 ? 32 : tb > GF_WINO_MAX_TB ? GF_WINO_MAX_TB : tb;
    float *ws = malloc(GF_PWINO_WS_FLOATS(C, OC, tb) * 4);
    double t[2][3];
    for (int k = 0; k < 2; k++)
      for (int p = 0; p < 3; p++) t[k][p] = 1e30;
    for (int r = 0; r < reps; r++) {
      double a = gf__now();
      gf__cpu_conv_lib(GF_CONV_FWD, y, x, w, N, OC, &g, 0.0f);
      double b = gf__now();
      gf__cpu_conv_lib(GF_CONV_BWD_DATA, dx, y, w, N, OC, &g, 1.0f);
      double c = gf__now();
      gf__cpu_conv_lib(GF_CONV_BWD_W, dw, x, y, N, OC, &g, 1.0f);
      double d = gf__now();
      t[0][0] = best(t[0][0], b - a); t[0][1] = best(t[0][1], c - b); t[0][2] = best(t[0][2], d - c);
      a = gf__now();
      gf__cpu_pwino_fwd(y, x, w, N, C, H, H, OC, 0.0f, ws, tb);
      b = gf__now();
      gf__cpu_pwino_bwd_data(dx, y, w, N, C, H, H, OC, 1.0f, ws, tb);
      c = gf__now();
      gf__cpu_pwino_dw(dw, x, y, N, C, H, H, OC, ws, tb);
      d = gf__now();
      t[1][0] = best(t[1][0], b - a); t[1][1] = best(t[1][1], c - b); t[1][2] = best(t[1][2], d - c);
    }
    printf("C%-4d %2dx%-2d OC%-4d %5.2f      | %6.1f %6.1f %6.1f | %6.1f %6.1f %6.1f\n", C, H, H, OC,
           2.0 * N * OH * OH * OC * C * 16 / 1e9, 1e3 * t[0][0], 1e3 * t[0][1], 1e3 * t[0][2], 1e3 * t[1][0],
           1e3 * t[1][1], 1e3 * t[1][2]);
    free(x); free(y); free(w); free(dw); free(dx); free(ws);
  }
  return 0;
}
