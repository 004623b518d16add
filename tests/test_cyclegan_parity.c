/* test_cyclegan_parity.c: one CycleGAN step (torch_ref.py cycle_step_fn order, pool disabled:
   both generators, both discriminators) and one pix2pix step (junyanz order, U-Net + conditional
   PatchGAN with BatchNorm) at 32x32 against PyTorch 1.13 (fixtures from
   tools/make_cyclegan_fixtures.py): losses, the gradients of every parameter, and weights /
   BatchNorm buffers after the update, within 1e-4 relative. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/safetensors.h"
#include "models/cyclegan.h"

/* The fixture's initial weights, from each tensor's name (see the Python script). */
static void init_by_name(gf__net *net) {
  gf__tensor_ref refs[256];
  int m = gf__net_tensors(net, refs, 256);
  for (int i = 0; i < m; i++) {
    if (refs[i].what) continue;
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
}

/* A conv bias right before an InstanceNorm has a gradient of exactly 0 in exact arithmetic (the
   norm removes per-channel constants): both sides hold rounding noise there, and Adam turns that
   noise into +-lr steps. Such tensors are checked to be negligible, and not compared after the
   update. */
static int dead_bias(const gf__net *net, const float *data) {
  for (int i = 0; i + 1 < net->n; i++)
    if (net->layers[i].b_n && data == net->params + net->layers[i].b_off && net->layers[i + 1].kind == GF_LAYER_INSTNORM)
      return 1;
  return 0;
}

/* Compares every tensor "<prefix>.<name>" present in the fixture with data (what 0: gradients
   from net->grads, 1: parameters / buffers); returns how many were compared. */
static int compare(gf__st_file *f, gf__net *net, const char *prefix, int what, int required) {
  gf__tensor_ref refs[256];
  int m = gf__net_tensors(net, refs, 256), cmp = 0;
  for (int i = 0; i < m; i++) {
    if (what == 0 && refs[i].what) continue;
    if (dead_bias(net, refs[i].data)) {
      if (what == 0) {
        double gmax = 0, mine = 0;
        for (long k = 0; k < net->nparam; k++) gmax = fmax(gmax, fabs(net->grads[k]));
        const float *g = net->grads + (refs[i].data - net->params);
        for (long k = 0; k < refs[i].n; k++) mine = fmax(mine, fabs(g[k]));
        CHECK(mine <= 1e-4 * gmax, "%s: bias before InstanceNorm has gradient %.3g (net max %.3g)", refs[i].name, mine, gmax);
      }
      continue;
    }
    char name[200];
    snprintf(name, sizeof name, "%.30s.%.160s", prefix, refs[i].name);
    const uint8_t *raw;
    int nd;
    int64_t shape[8];
    if (gf__st_get(f, name, &raw, &nd, shape) < 0) {
      CHECK(!required, "fixture lacks %s", name);
      continue;
    }
    float *ref = malloc(sizeof(float) * (size_t)refs[i].n);
    int64_t sh[4];
    for (int d = 0; d < refs[i].ndim; d++) sh[d] = refs[i].shape[d];
    int rc = gf__st_read_into(f, name, ref, refs[i].ndim, sh);
    CHECK(rc == 0, "%s: %s", name, gf_last_error());
    const float *ours = what == 0 ? net->grads + (refs[i].data - net->params) : refs[i].data;
    double maxv = 0;
    long bad = -1;
    for (long k = 0; k < refs[i].n; k++) maxv = fmax(maxv, fabs(ref[k]));
    for (long k = 0; rc == 0 && k < refs[i].n && bad < 0; k++)
      if (fabs(ours[k] - ref[k]) > 1e-4 * fabs(ref[k]) + 1e-4 * maxv) bad = k;
    CHECK(bad < 0, "%s[%ld] = %.8g, PyTorch %.8g (max |ref| %.3g)", name, bad, bad >= 0 ? ours[bad] : 0.0,
          bad >= 0 ? ref[bad] : 0.0, maxv);
    free(ref);
    cmp++;
  }
  return cmp;
}

static int open_fixture(gf__st_file *f, const char *file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", gf_t_fixtures(), file);
  int rc = gf__st_open(f, path);
  CHECK(rc == 0, "open %s: %s", path, gf_last_error());
  return rc;
}

static void set(gf_config *c, const char *kv) { CHECK(gf_config_set_kv(c, kv) == 0, "%s: %s", kv, gf_last_error()); }

static void cyclegan(void) {
  gf__st_file f;
  if (open_fixture(&f, "cyclegan_small.safetensors")) return;
  gf_config cfg;
  gf_config_defaults(&cfg);
  set(&cfg, "model.arch=cyclegan");
  set(&cfg, "model.ngf=8");
  set(&cfg, "model.ndf=8");
  set(&cfg, "model.n_blocks=2");
  set(&cfg, "data.load_size=32");
  set(&cfg, "data.crop_size=32");
  set(&cfg, "train.pool_size=0");
  CHECK(gf_config_validate(&cfg) == 0, "config: %s", gf_last_error());
  gf__cyclegan m;
  int rc = gf__cyclegan_create(&m, &cfg, gf__ops_cpu(), 1);
  CHECK(rc == 0, "create: %s", gf_last_error());
  if (rc) { gf__st_close(&f); return; }
  gf__net *nets[4] = {&m.G_A, &m.G_B, &m.D_A, &m.D_B};
  for (int k = 0; k < 4; k++) init_by_name(nets[k]);
  int64_t sh[4] = {1, 3, 32, 32}, s7[1] = {7}, s2[1] = {2};
  float lg[7], ld[2];
  CHECK(gf__st_read_into(&f, "a", m.real_A, 4, sh) == 0, "a");
  CHECK(gf__st_read_into(&f, "b", m.real_B, 4, sh) == 0, "b");
  CHECK(gf__st_read_into(&f, "loss_G", lg, 1, s7) == 0, "loss_G");
  CHECK(gf__st_read_into(&f, "loss_D", ld, 1, s2) == 0, "loss_D");
  CHECK(gf__cyclegan_step(&m, m.real_A, m.real_B) == 0 && gf__cyclegan_stats(&m) == 0, "step: %s", gf_last_error());
  CHECK_CLOSE(m.loss_G, lg[0], 1e-4, 1e-6, "loss_G");
  CHECK_CLOSE(m.loss_G_A, lg[1], 1e-4, 1e-6, "loss_G_A");
  CHECK_CLOSE(m.loss_G_B, lg[2], 1e-4, 1e-6, "loss_G_B");
  CHECK_CLOSE(m.loss_cycle_A, lg[3], 1e-4, 1e-6, "loss_cycle_A");
  CHECK_CLOSE(m.loss_cycle_B, lg[4], 1e-4, 1e-6, "loss_cycle_B");
  CHECK_CLOSE(m.loss_idt_A, lg[5], 1e-4, 1e-6, "loss_idt_A");
  CHECK_CLOSE(m.loss_idt_B, lg[6], 1e-4, 1e-6, "loss_idt_B");
  CHECK_CLOSE(m.loss_D_A, ld[0], 1e-4, 1e-6, "loss_D_A");
  CHECK_CLOSE(m.loss_D_B, ld[1], 1e-4, 1e-6, "loss_D_B");
  int ng = 0, na = 0;
  for (int k = 0; k < 4; k++) {
    ng += compare(&f, nets[k], "grad", 0, 1);
    na += compare(&f, nets[k], "after", 1, 0);
  }
  CHECK(ng == 2 * 20 + 2 * 10 - 2 * 9 - 2 * 3, "compared %d gradients", ng);
  CHECK(na >= 10, "compared %d updated tensors", na);
  gf__cyclegan_destroy(&m);
  gf__st_close(&f);
}

static void pix2pix(void) {
  gf__st_file f;
  if (open_fixture(&f, "pix2pix_small.safetensors")) return;
  gf_config cfg;
  gf_config_defaults(&cfg);
  set(&cfg, "model.arch=pix2pix");
  set(&cfg, "model.netG=unet_256");
  set(&cfg, "model.n_blocks=5");
  set(&cfg, "model.norm=batch");
  set(&cfg, "model.gan_mode=vanilla");
  set(&cfg, "model.ngf=4");
  set(&cfg, "model.ndf=8");
  set(&cfg, "data.load_size=32");
  set(&cfg, "data.crop_size=32");
  set(&cfg, "train.pool_size=0");
  CHECK(gf_config_validate(&cfg) == 0, "config: %s", gf_last_error());
  gf__cyclegan m;
  int rc = gf__cyclegan_create(&m, &cfg, gf__ops_cpu(), 1);
  CHECK(rc == 0, "create: %s", gf_last_error());
  if (rc) { gf__st_close(&f); return; }
  init_by_name(&m.G_A);
  init_by_name(&m.D_A);
  int64_t sh[4] = {1, 3, 32, 32}, s6[1] = {6};
  float l[6];
  CHECK(gf__st_read_into(&f, "a", m.real_A, 4, sh) == 0, "a");
  CHECK(gf__st_read_into(&f, "b", m.real_B, 4, sh) == 0, "b");
  CHECK(gf__st_read_into(&f, "loss", l, 1, s6) == 0, "loss");
  CHECK(gf__cyclegan_step(&m, m.real_A, m.real_B) == 0 && gf__cyclegan_stats(&m) == 0, "step: %s", gf_last_error());
  CHECK_CLOSE(m.loss_D_A, l[0], 1e-4, 1e-6, "loss_D");
  CHECK_CLOSE(m.loss_D_fake, l[1], 1e-4, 1e-6, "loss_D_fake");
  CHECK_CLOSE(m.loss_D_real, l[2], 1e-4, 1e-6, "loss_D_real");
  CHECK_CLOSE(m.loss_G, l[3], 1e-4, 1e-6, "loss_G");
  CHECK_CLOSE(m.loss_G_GAN, l[4], 1e-4, 1e-6, "loss_G_GAN");
  CHECK_CLOSE(m.loss_G_L1, l[5], 1e-4, 1e-6, "loss_G_L1");
  int ng = compare(&f, &m.G_A, "grad", 0, 1) + compare(&f, &m.D_A, "grad", 0, 1);
  int na = compare(&f, &m.G_A, "after", 1, 0) + compare(&f, &m.D_A, "after", 1, 0);
  CHECK(ng > 20, "compared %d gradients", ng);
  CHECK(na > 20, "compared %d updated tensors / buffers", na);
  gf__cyclegan_destroy(&m);
  gf__st_close(&f);
}

int main(void) {
  cyclegan();
  pix2pix();
  return gf_t_done();
}
