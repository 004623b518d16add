/* test_dcgan_parity.c: 3 DCGAN training iterations (D step + G step on the same fakes) of reduced
   dcgan64 and dcgan-mnist models against PyTorch 1.13 (fixtures from tools/make_dcgan_fixtures.py):
   losses, weights and BatchNorm running statistics within 1e-4 relative; each model twice: as
   planned, and with every 4x4 stride-2 layer on polyphase Winograd (GANFORGE_PWINO=force: the
   reduced models have too few channels for the planner to choose it). */
#include <stdlib.h>
#include <string.h>

#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/safetensors.h"
#include "models/gan.h"

/* Copies (or compares with) the fixture tensors "<prefix>.<name>" of every tensor of net. */
static int net_io(gf__st_file *f, gf__net *net, const char *prefix, int compare, const char *what) {
  gf__tensor_ref refs[128];
  int m = gf__net_tensors(net, refs, 128);
  for (int i = 0; i < m; i++) {
    char name[160];
    snprintf(name, sizeof name, "%.30s.%.95s", prefix, refs[i].name);
    int64_t shape[4];
    for (int d = 0; d < refs[i].ndim; d++) shape[d] = refs[i].shape[d];
    float *ref = malloc(sizeof(float) * (size_t)refs[i].n);
    int rc = gf__st_read_into(f, name, ref, refs[i].ndim, shape);
    CHECK(rc == 0, "%s: read %s: %s", what, name, gf_last_error());
    if (rc) { free(ref); return -1; }
    if (!compare) memcpy(refs[i].data, ref, sizeof(float) * (size_t)refs[i].n);
    else {
      double maxv = 0, worst = 0;
      long bad = -1;
      for (long k = 0; k < refs[i].n; k++) maxv = fmax(maxv, fabs(ref[k]));
      for (long k = 0; k < refs[i].n; k++) {
        double err = fabs(refs[i].data[k] - ref[k]), tol = 1e-4 * fabs(ref[k]) + 1e-4 * maxv;
        if (err / tol > worst) worst = err / tol;
        if (err > tol && bad < 0) bad = k;
      }
      CHECK(bad < 0, "%s: %s[%ld] = %.8g, PyTorch %.8g", what, refs[i].name, bad, bad >= 0 ? refs[i].data[bad] : 0.0,
            bad >= 0 ? ref[bad] : 0.0);
    }
    free(ref);
  }
  return 0;
}

static void parity(const char *file, const char *preset, int ngf, int nc, int size, const char *extra) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", gf_t_fixtures(), file);
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == 0, "open %s: %s", path, gf_last_error());
  if (rc) return;
  gf_config cfg;
  CHECK(gf_preset_apply(&cfg, preset) == 0, "preset %s", preset);
  const int B = 4, nz = 16, iters = 3;
  char kv[64];
  snprintf(kv, sizeof kv, "model.ngf=%d", ngf); gf_config_set_kv(&cfg, kv);
  snprintf(kv, sizeof kv, "model.ndf=%d", ngf); gf_config_set_kv(&cfg, kv);
  snprintf(kv, sizeof kv, "model.nz=%d", nz); gf_config_set_kv(&cfg, kv);
  snprintf(kv, sizeof kv, "train.batch=%d", B); gf_config_set_kv(&cfg, kv);
  if (extra) CHECK(gf_config_set_kv(&cfg, extra) == 0, "%s: %s", extra, gf_last_error());
  CHECK(gf_config_validate(&cfg) == 0, "config: %s", gf_last_error());
  gf__gan gan;
  rc = gf__gan_create(&gan, &cfg, gf__ops_cpu(), nc, size, size, B, NULL);
  CHECK(rc == 0, "%s: create: %s", preset, gf_last_error());
  if (rc) { gf__st_close(&f); return; }
  net_io(&f, &gan.G, "init", 0, preset);
  net_io(&f, &gan.D, "init", 0, preset);
  long dim = (long)nc * size * size;
  float *real = malloc(sizeof(float) * (size_t)iters * B * dim), *z = malloc(sizeof(float) * (size_t)iters * B * nz);
  float ld[3], lg[3];
  int64_t sr[5] = {iters, B, nc, size, size}, sz[3] = {iters, B, nz}, sl[1] = {iters};
  CHECK(gf__st_read_into(&f, "real", real, 5, sr) == 0, "real: %s", gf_last_error());
  CHECK(gf__st_read_into(&f, "z", z, 3, sz) == 0, "z: %s", gf_last_error());
  CHECK(gf__st_read_into(&f, "loss_d", ld, 1, sl) == 0, "loss_d");
  CHECK(gf__st_read_into(&f, "loss_g", lg, 1, sl) == 0, "loss_g");
  for (int it = 0; it < iters; it++) {
    gan.z_override = z + (size_t)it * B * nz;
    CHECK(gf__gan_d_step(&gan, real + (size_t)it * B * dim) == 0, "d step %d", it);
    CHECK(gf__gan_g_step(&gan) == 0 && gf__gan_stats(&gan) == 0, "g step %d", it);
    char what[96];
    snprintf(what, sizeof what, "%s iteration %d loss_D", preset, it + 1);
    CHECK_CLOSE(gan.loss_d, ld[it], 1e-4, 1e-6, what);
    snprintf(what, sizeof what, "%s iteration %d loss_G", preset, it + 1);
    CHECK_CLOSE(gan.loss_g, lg[it], 1e-4, 1e-6, what);
  }
  char what[96];
  snprintf(what, sizeof what, "%s after %d iterations", preset, iters);
  net_io(&f, &gan.G, "final", 1, what);
  net_io(&f, &gan.D, "final", 1, what);
  free(real);
  free(z);
  gf__gan_destroy(&gan);
  gf__st_close(&f);
}

int main(void) {
  for (int force = 0; force <= 1; force++) {
    if (force) setenv("GANFORGE_PWINO", "force", 1);
    parity("dcgan64_small.safetensors", "dcgan64", 4, 3, 64, NULL);
    parity("dcgan28_small.safetensors", "dcgan-mnist", 8, 1, 28, NULL);
    /* D without BatchNorm: real and fake rows go through D in one fused pass */
    parity("dcgan28_nobn_small.safetensors", "dcgan-mnist", 8, 1, 28, "model.dcgan_d_norm=none");
  }
  /* the forced plan really ran: a layer of the reduced dcgan64's G is on polyphase Winograd */
  gf_config cfg;
  gf_preset_apply(&cfg, "dcgan64");
  gf_config_set_kv(&cfg, "model.ngf=4");
  gf_config_set_kv(&cfg, "model.ndf=4");
  gf_config_set_kv(&cfg, "model.nz=16");
  gf__gan gan;
  if (gf__gan_create(&gan, &cfg, gf__ops_cpu(), 3, 64, 64, 4, NULL) == 0) {
    int n = 0;
    for (int i = 0; i < gan.G.n; i++) n += gan.G.layers[i].pwino > 0 && gan.G.layers[i].pwino_passes == GF_PWINO_ALL;
    for (int i = 0; i < gan.D.n; i++) n += gan.D.layers[i].pwino > 0 && gan.D.layers[i].pwino_passes == GF_PWINO_ALL;
    CHECK(n == 8, "GANFORGE_PWINO=force: %d of the 8 4x4 stride-2 layers on polyphase Winograd", n);
    gf__gan_destroy(&gan);
  } else CHECK(0, "create: %s", gf_last_error());
  return gf_t_done();
}
