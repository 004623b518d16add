/* test_cat_parity.c: CAT's layers against PyTorch (fixtures from tools/make_cat_fixtures.py):
   grouped and depth-wise Conv2d (output, input / weight / bias gradients), the inception
   generator of a teacher and of a pruned student (CAT's module layout and state_dict keys: output,
   input gradient and every parameter gradient), and the kernel-alignment loss with its gradient
   against autograd. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/safetensors.h"
#include "models/cyclegan.h"

static gf__st_file F;

static float *get(const char *name, long *n) {
  const uint8_t *data;
  int64_t shape[GF_ST_MAXDIM];
  int nd;
  if (n) *n = 0;
  if (gf__st_get(&F, name, &data, &nd, shape) < 0) return NULL;
  long cnt = 1;
  for (int d = 0; d < nd; d++) cnt *= (long)shape[d];
  float *v = malloc(sizeof(float) * (size_t)(cnt + 1));
  if (gf__st_read_into(&F, name, v, nd, shape) < 0) { free(v); return NULL; }
  if (n) *n = cnt;
  return v;
}

/* max |a - b| <= rtol * max |b| (+ a little for all-zero references) */
static void close_to(const char *what, const float *a, const float *b, long n, double rtol) {
  double mb = 0, me = 0;
  long at = 0;
  for (long k = 0; k < n; k++) {
    mb = fmax(mb, fabs(b[k]));
    if (fabs(a[k] - b[k]) > me) { me = fabs(a[k] - b[k]); at = k; }
  }
  CHECK(me <= rtol * mb + 1e-7, "%s: max error %.3g at %ld (%.8g vs %.8g; max |ref| %.3g)", what, me, at,
        n ? a[at] : 0.0, n ? b[at] : 0.0, mb);
}

static void conv_case(const char *c, int C, int H, int Wd, int OC, int k, int s, int p, int g) {
  char nm[64];
#define GET(var, key) snprintf(nm, sizeof nm, "conv.%s." key, c); float *var = get(nm, &n##var)
  long nX, nY, nW, ndy, ndx, ndw, nB, ndb;
  GET(X, "x"); GET(W, "w"); GET(Y, "y"); GET(dy, "dy"); GET(dx, "dx"); GET(dw, "dw"); GET(B, "b"); GET(db, "db");
#undef GET
  const int N = 2;
  CHECK(X && W && Y && dy && dx && dw && nX == (long)N * C * H * Wd, "conv %s: fixture tensors", c);
  if (!X || !W || !Y || !dy || !dx || !dw) return;
  gf__net net;
  gf__net_init(&net, gf__ops_cpu(), "C", C, H, Wd);
  CHECK(gf__net_add_conv2d_grouped(&net, OC, k, k, s, s, p, p, g, B != NULL) == 0, "conv %s: build: %s", c, gf_last_error());
  CHECK(gf__net_finalize(&net) == 0, "conv %s: finalize", c);
  memcpy(net.params + net.layers[0].w_off, W, sizeof(float) * (size_t)nW);
  if (B) memcpy(net.params + net.layers[0].b_off, B, sizeof(float) * (size_t)nB);
  gf__ctx ctx;
  gf__ctx_create(&ctx, &net, N);
  const float *y = gf__net_forward(&net, &ctx, X, N, 1, NULL);
  CHECK(nY == N * gf__net_out_size(&net), "conv %s: output size", c);
  snprintf(nm, sizeof nm, "conv %s forward", c);
  close_to(nm, y, Y, nY, 1e-5);
  gf__net_zero_grad(&net);
  memcpy(gf__ctx_dout(&net, &ctx), dy, sizeof(float) * (size_t)ndy);
  float *gx = calloc((size_t)nX, sizeof(float));
  gf__net_backward(&net, &ctx, gx, 1);
  snprintf(nm, sizeof nm, "conv %s input gradient", c);
  close_to(nm, gx, dx, ndx, 1e-5);
  snprintf(nm, sizeof nm, "conv %s weight gradient", c);
  close_to(nm, net.grads + net.layers[0].w_off, dw, ndw, 1e-5);
  if (db) {
    snprintf(nm, sizeof nm, "conv %s bias gradient", c);
    close_to(nm, net.grads + net.layers[0].b_off, db, ndb, 1e-5);
  }
  gf__ctx_destroy(&ctx);
  gf__net_free(&net);
  free(X); free(W); free(Y); free(dy); free(dx); free(dw); free(B); free(db); free(gx);
}

/* The fixture's initial weights, from each tensor's name (see the Python script). */
static void init_by_name(gf__net *net, gf__tensor_ref *refs, int m) {
  for (int i = 0; i < m; i++) {
    long h = 0;
    for (const char *p = refs[i].name; *p; p++) h += (unsigned char)*p;
    size_t len = strlen(refs[i].name);
    int is_w = len > 7 && !strcmp(refs[i].name + len - 7, ".weight");
    for (long k = 0; k < refs[i].n; k++) {
      double v = sin(0.37 * (double)k + 0.001 * (double)h);
      if (refs[i].ndim == 4) v /= sqrt((double)(refs[i].n / refs[i].shape[0]));
      else if (is_w) v = 1.0 + 0.1 * v;
      else v = 0.1 * v;
      refs[i].data[k] = (float)v;
    }
  }
  (void)net;
}

static void generator_case(const char *n, int nb, const char *channels) {
  gf_config cfg;
  gf_preset_apply(&cfg, "cat-teacher128");
  gf_t_set(&cfg, "model.ngf=8");
  char kv[1200];
  snprintf(kv, sizeof kv, "model.n_blocks=%d", nb);
  gf_t_set(&cfg, kv);
  snprintf(kv, sizeof kv, "model.g_channels=%s", channels);
  gf_t_set(&cfg, kv);
  gf__net G;
  int rc = gf__build_i2i_generator(&G, &cfg, gf__ops_cpu(), n, 3, 3, 16, 16);
  CHECK(rc == 0, "%s: build: %s", n, gf_last_error());
  if (rc) return;
  gf__net_finalize(&G);
  int m = gf__net_tensors(&G, NULL, 0);
  gf__tensor_ref *refs = malloc(sizeof *refs * (size_t)m);
  gf__net_tensors(&G, refs, m);
  init_by_name(&G, refs, m);
  char nm[256];
  long nX, nY, ndy, ndx;
  snprintf(nm, sizeof nm, "%s.x", n); float *X = get(nm, &nX);
  snprintf(nm, sizeof nm, "%s.y", n); float *Y = get(nm, &nY);
  snprintf(nm, sizeof nm, "%s.dy", n); float *dy = get(nm, &ndy);
  snprintf(nm, sizeof nm, "%s.dx", n); float *dx = get(nm, &ndx);
  gf__ctx ctx;
  gf__ctx_create(&ctx, &G, 2);
  const float *y = gf__net_forward(&G, &ctx, X, 2, 1, NULL);
  snprintf(nm, sizeof nm, "generator %s forward", n);
  close_to(nm, y, Y, nY, 2e-5);
  gf__net_zero_grad(&G);
  memcpy(gf__ctx_dout(&G, &ctx), dy, sizeof(float) * (size_t)ndy);
  float *gx = calloc((size_t)nX, sizeof(float));
  gf__net_backward(&G, &ctx, gx, 1);
  snprintf(nm, sizeof nm, "generator %s input gradient", n);
  close_to(nm, gx, dx, ndx, 1e-4);
  /* every parameter of ours has its PyTorch gradient under the same name, within 2e-4 of the
     largest gradient of the net (conv biases right before a norm have exactly-zero true gradients:
     both sides hold rounding noise there) */
  double gmax = 0;
  for (long k = 0; k < G.nparam; k++) gmax = fmax(gmax, fabs(G.grads[k]));
  int found = 0;
  for (int i = 0; i < m; i++) {
    snprintf(nm, sizeof nm, "grad.%s", refs[i].name);
    long ng;
    float *g = get(nm, &ng);
    CHECK(g && ng == refs[i].n, "%s: no PyTorch gradient %s of %ld values", n, nm, refs[i].n);
    if (!g) continue;
    found++;
    const float *mine = G.grads + (refs[i].data - G.params);
    double me = 0;
    for (long k = 0; k < ng; k++) me = fmax(me, fabs(mine[k] - g[k]) - 1e-3 * fabs(g[k]));
    CHECK(me <= 2e-4 * gmax, "%s: gradient error %.3g (net max %.3g)", refs[i].name, me, gmax);
    free(g);
  }
  int theirs = 0;
  snprintf(nm, sizeof nm, "grad.%s.", n);
  for (int k = 0; k < F.n; k++) theirs += !strncmp(gf__st_name(&F, k), nm, strlen(nm));
  CHECK(found == theirs && found == m, "%s: %d of our %d tensors matched, PyTorch has %d", n, found, m, theirs);
  free(refs); free(X); free(Y); free(dy); free(dx); free(gx);
  gf__ctx_destroy(&ctx);
  gf__net_free(&G);
}

static void ka_case(void) {
  long nx, ny, nv, ndx;
  float *X = get("ka.x", &nx), *Y = get("ka.y", &ny), *V = get("ka.value", &nv), *DX = get("ka.dx", &ndx);
  CHECK(X && Y && V && DX, "ka fixture");
  if (!X || !Y || !V || !DX) return;
  const int B = 3;
  float ws[27], st[3] = {0.5f, 0.0f, 0.0f}; /* stats accumulate: st[0] starts non-zero */
  float *g = calloc((size_t)nx, sizeof(float));
  gf__ka(gf__ops_cpu(), st, g, X, Y, B, nx / B, ny / B, -1.0f, ws);
  const double ka = st[0] - 0.5;
  CHECK_CLOSE(ka, V[0], 1e-5, 0, "KA value");
  close_to("KA gradient (-KA w.r.t. X)", g, DX, ndx, 1e-4);
  /* KA is invariant to scaling either input; a batch of one has KA 1 and no gradient; a zero
     batch has KA 0 and no gradient */
  for (long k = 0; k < ny; k++) Y[k] *= 3.0f;
  gf__ka(gf__ops_cpu(), st + 1, NULL, X, Y, B, nx / B, ny / B, 0, ws);
  CHECK_CLOSE(st[1], ka, 1e-5, 0, "KA of a scaled Y");
  memset(g, 0, sizeof(float) * (size_t)nx);
  st[2] = 0;
  gf__ka(gf__ops_cpu(), st + 2, g, X, Y, 1, nx / B, ny / B, -1.0f, ws);
  double gm = 0;
  for (long k = 0; k < nx / B; k++) gm = fmax(gm, fabs(g[k]));
  CHECK_CLOSE(st[2], 1.0, 1e-6, 0, "KA of one sample");
  CHECK(gm < 1e-5, "KA of one sample has gradient %.3g", gm);
  memset(Y, 0, sizeof(float) * (size_t)ny);
  st[2] = 0;
  gf__ka(gf__ops_cpu(), st + 2, g, X, Y, B, nx / B, ny / B, -1.0f, ws);
  gm = 0;
  for (long k = 0; k < nx; k++) gm = fmax(gm, fabs(g[k]));
  CHECK(st[2] == 0.0f && gm < 1e-5, "KA against a zero batch: %g, gradient %.3g", (double)st[2], gm);
  free(X); free(Y); free(V); free(DX); free(g);
}

int main(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/cat_small.safetensors", gf_t_fixtures());
  if (gf__st_open(&F, path) < 0) {
    CHECK(0, "%s: %s", path, gf_last_error());
    return gf_t_done();
  }
  conv_case("dw2s2", 4, 9, 7, 8, 3, 2, 1, 4);
  conv_case("dw5", 6, 8, 8, 6, 5, 1, 2, 6);
  conv_case("g2", 4, 6, 5, 6, 3, 1, 1, 2);
  generator_case("T", 2, "");
  generator_case("S", 3, gf__st_meta(&F, "S_CHANNELS") ? gf__st_meta(&F, "S_CHANNELS") : "?");
  ka_case();
  gf__st_close(&F);
  return gf_t_done();
}
