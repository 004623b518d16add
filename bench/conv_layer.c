/* bench/conv_layer.c: times one convolution layer's forward and backward (input + weight
   gradients) on the CPU ops table, e.g. CycleGAN's residual 3x3 conv, by each lowering.
     gcc -O2 -std=c11 -Isrc -Iinclude bench/conv_layer.c build/libganforge.a \
       -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp \
       -lopenblas -lcjson -lz -lpng -ljpeg -lgif -lcurl -fopenmp -lm -o /tmp/conv_layer
     /tmp/conv_layer C H W OC k stride pad [reps] [path: auto | im2col]
   Prints ms per forward and per backward (best of reps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "nn/nn.h"

int main(int argc, char **argv) {
  if (argc < 8) { fprintf(stderr, "usage: %s C H W OC k stride pad [reps] [auto|im2col]\n", argv[0]); return 2; }
  int C = atoi(argv[1]), H = atoi(argv[2]), W = atoi(argv[3]), OC = atoi(argv[4]), k = atoi(argv[5]);
  int s = atoi(argv[6]), p = atoi(argv[7]), reps = argc > 8 ? atoi(argv[8]) : 5;
  int im2col = argc > 9 && !strcmp(argv[9], "im2col");
  const gf__ops *o = gf__ops_cpu();
  gf__net net;
  gf__net_init(&net, o, "L", C, H, W);
  if (gf__net_add_conv2d(&net, OC, k, k, s, s, p, p, 1)) return 1;
  if (im2col) net.layers[0].wino = net.layers[0].direct = 0;
  if (gf__net_finalize(&net)) return 1;
  gf__rng r;
  gf__rng_init(&r, 1, 1);
  gf__net_init_params(&net, &r, 0.0f);
  gf__ctx ctx;
  if (gf__ctx_create(&ctx, &net, 1)) return 1;
  size_t nx = (size_t)C * H * W, ny = (size_t)OC * net.layers[0].out_h * net.layers[0].out_w;
  float *x = malloc(sizeof(float) * nx), *dx = calloc(nx, sizeof(float));
  gf__rng_normal(&r, x, (long)nx, 0.0f, 1.0f);
  double bf = 1e30, bb = 1e30;
  for (int i = 0; i < reps; i++) {
    double t0 = gf__now();
    gf__net_forward(&net, &ctx, x, 1, 1, NULL);
    double t1 = gf__now();
    gf__rng_normal(&r, gf__ctx_dout(&net, &ctx), (long)ny, 0.0f, 1.0f);
    double t2 = gf__now();
    gf__net_zero_grad(&net);
    gf__net_backward(&net, &ctx, dx, 1);
    double t3 = gf__now();
    if (t1 - t0 < bf) bf = t1 - t0;
    if (t3 - t2 < bb) bb = t3 - t2;
  }
  printf("conv %d->%d %dx%d k%d s%d p%d %s: forward %.2f ms, backward %.2f ms\n", C, OC, H, W, k, s, p,
         net.layers[0].direct ? "direct" : net.layers[0].wino ? "winograd" : net.layers[0].rows ? "im2col bands" : "im2col", bf * 1e3, bb * 1e3);
  return 0;
}
