/* test_cond_parity.c: conditional GANs and DiffAugment against PyTorch (fixtures from
   tools/make_cond_fixtures.py): 3 training iterations (D step + G step on the same fakes, given
   noise, real labels and fake labels) of reduced cgan-mnist (one-hot concat, MLP), cdcgan-mnist
   (conditional BatchNorm + projection discriminator), acgan-mnist (auxiliary classifier) and the
   DCGAN with the label as extra D channels, and the projection D spectrally normalised throughout
   (embedding included; no BatchNorm in D): losses, weights and BatchNorm running statistics within
   1e-4 (SN: u, v too); and DiffAugment's forward (each transform alone and all three) for given parameters.
   Gradient penalties with conditional critics (PyTorch: autograd.grad with create_graph=True):
   WGAN-GP on cgan-mnist (one-hot concat) and the projection cDCGAN, lazy R1 on the concat cDCGAN
   and on SNGAN-projection, with the fixture's interpolation coefficients; D's parameter gradients
   of the first D step (loss + penalty, class embedding included) are compared as well. */
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/safetensors.h"
#include "models/cond.h"
#include "models/gan.h"

/* Copies (or compares with) the fixture tensors "<prefix>.<name>" of every tensor of net.
   Prefix "grad0" compares the parameter gradients (buffers skipped) against a floor of a tenth of
   the largest gradient of the net (a gradient whose true value is 0 is rounding noise). */
static void net_io(gf__st_file *f, gf__net *net, const char *prefix, int compare, const char *what) {
  gf__tensor_ref refs[128];
  int m = gf__net_tensors(net, refs, 128);
  int grads = !strcmp(prefix, "grad0");
  double floor = 0;
  for (int i = 0; grads && i < m; i++)
    for (long k = 0; k < refs[i].n && !refs[i].what; k++)
      floor = fmax(floor, 0.1 * fabs(net->grads[refs[i].data - net->params + k]));
  for (int i = 0; i < m; i++) {
    if (grads && refs[i].what) continue;
    char name[200];
    snprintf(name, sizeof name, "%.30s.%.160s", prefix, refs[i].name);
    int64_t shape[4];
    for (int d = 0; d < refs[i].ndim; d++) shape[d] = refs[i].shape[d];
    float *ref = malloc(sizeof(float) * (size_t)refs[i].n);
    int rc = gf__st_read_into(f, name, ref, refs[i].ndim, shape);
    CHECK(rc == 0, "%s: read %s: %s", what, name, gf_last_error());
    if (rc == 0 && !compare) memcpy(refs[i].data, ref, sizeof(float) * (size_t)refs[i].n);
    if (rc == 0 && compare) {
      const float *got = grads ? net->grads + (refs[i].data - net->params) : refs[i].data;
      double maxv = floor;
      long bad = -1;
      for (long k = 0; k < refs[i].n; k++) maxv = fmax(maxv, fabs(ref[k]));
      for (long k = 0; k < refs[i].n && bad < 0; k++)
        if (fabs(got[k] - ref[k]) > 1e-4 * fabs(ref[k]) + 1e-4 * maxv) bad = k;
      CHECK(bad < 0, "%s: %s%s[%ld] = %.8g, PyTorch %.8g", what, grads ? "gradient of " : "", refs[i].name, bad,
            bad >= 0 ? got[bad] : 0.0, bad >= 0 ? ref[bad] : 0.0);
    }
    free(ref);
  }
}

/* penalty: the gradient penalty the configuration must have (-1: none); with one, the fixture holds
   the interpolation coefficients t and D's gradients of the first D step. */
static void parity_pen(const char *file, const char *preset, const char *const *sets, int penalty) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", gf_t_fixtures(), file);
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == 0, "open %s: %s", path, gf_last_error());
  if (rc) return;
  gf_config cfg;
  CHECK(gf_preset_apply(&cfg, preset) == 0, "preset %s", preset);
  const int B = 8, nz = 16, iters = 3;
  gf_t_set(&cfg, "model.nz=16");
  gf_t_set(&cfg, "train.batch=8");
  for (int i = 0; sets[i]; i++) gf_t_set(&cfg, sets[i]);
  CHECK(gf_config_validate(&cfg) == 0, "config: %s", gf_last_error());
  gf__gan gan;
  rc = gf__gan_create(&gan, &cfg, gf__ops_cpu(), 1, 28, 28, B, NULL);
  CHECK(rc == 0, "%s: create: %s", file, gf_last_error());
  if (rc) { gf__st_close(&f); return; }
  CHECK(gan.cond && gan.cond->K == 10 && gan.G.nclass == 10, "%s: a conditional model of 10 classes", file);
  CHECK(gan.crit.penalty == penalty, "%s: penalty %d, want %d", file, gan.crit.penalty, penalty);
  float t[3 * 8];
  int64_t st[2] = {3, 8};
  if (penalty >= 0) CHECK(gf__st_read_into(&f, "t", t, 2, st) == 0, "%s: t: %s", file, gf_last_error());
  net_io(&f, &gan.G, "init", 0, file);
  net_io(&f, &gan.D, "init", 0, file);
  long dim = 784;
  float *real = malloc(sizeof(float) * (size_t)iters * B * dim), *z = malloc(sizeof(float) * (size_t)iters * B * nz);
  float yr[3 * 8], yf[3 * 8], ld[3], lg[3];
  int64_t sr[5] = {iters, B, 1, 28, 28}, sz[3] = {iters, B, nz}, sy[2] = {iters, B}, sl[1] = {iters};
  CHECK(gf__st_read_into(&f, "real", real, 5, sr) == 0, "real: %s", gf_last_error());
  CHECK(gf__st_read_into(&f, "z", z, 3, sz) == 0, "z: %s", gf_last_error());
  CHECK(gf__st_read_into(&f, "y_real", yr, 2, sy) == 0, "y_real: %s", gf_last_error());
  CHECK(gf__st_read_into(&f, "y_fake", yf, 2, sy) == 0, "y_fake: %s", gf_last_error());
  CHECK(gf__st_read_into(&f, "loss_d", ld, 1, sl) == 0, "loss_d");
  CHECK(gf__st_read_into(&f, "loss_g", lg, 1, sl) == 0, "loss_g");
  for (int it = 0; it < iters; it++) {
    gan.z_override = z + (size_t)it * B * nz;  /* CPU backend memory is host memory */
    gan.cond->yf_override = yf + (size_t)it * B;
    if (penalty >= 0) gan.crit.t_override = t + (size_t)it * B;
    CHECK(gf__cond_set_real(&gan, yr + (size_t)it * B) == 0, "labels: %s", gf_last_error());
    CHECK(gf__gan_d_step(&gan, real + (size_t)it * B * dim) == 0, "d step %d: %s", it, gf_last_error());
    if (penalty >= 0 && it == 0) {
      char what[96];
      snprintf(what, sizeof what, "%s D's gradients of the first D step", file);
      net_io(&f, &gan.D, "grad0", 1, what);
    }
    CHECK(gf__gan_g_step(&gan) == 0, "g step %d: %s", it, gf_last_error());
    CHECK(gf__gan_stats(&gan) == 0, "stats %d: %s", it, gf_last_error()); /* the losses, read once per step */
    char what[96];
    snprintf(what, sizeof what, "%s iteration %d loss_D", file, it + 1);
    CHECK_CLOSE(gan.loss_d, ld[it], 1e-4, 1e-6, what);
    snprintf(what, sizeof what, "%s iteration %d loss_G", file, it + 1);
    CHECK_CLOSE(gan.loss_g, lg[it], 1e-4, 1e-6, what);
  }
  char what[96];
  snprintf(what, sizeof what, "%s after %d iterations", file, iters);
  net_io(&f, &gan.G, "final", 1, what);
  net_io(&f, &gan.D, "final", 1, what);
  free(real);
  free(z);
  gf__gan_destroy(&gan);
  gf__st_close(&f);
}

static void parity(const char *file, const char *preset, const char *const *sets) { parity_pen(file, preset, sets, -1); }

/* DiffAugment's forward on the fixture's images with the fixture's parameters. */
static void diffaug_case(gf__st_file *f, const char *xname, const char *pname, const char *yname, int flags, int N,
                         int C, int H, int W) {
  const gf__ops *o = gf__ops_cpu();
  long n = (long)N * C * H * W;
  float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n),
        *want = malloc(sizeof(float) * (size_t)n), p[64], mean[8];
  int64_t sx[4] = {N, C, H, W}, sp[2] = {N, 8};
  CHECK(gf__st_read_into(f, xname, x, 4, sx) == 0, "%s: %s", xname, gf_last_error());
  CHECK(gf__st_read_into(f, pname, p, 2, sp) == 0, "%s: %s", pname, gf_last_error());
  CHECK(gf__st_read_into(f, yname, want, 4, sx) == 0, "%s: %s", yname, gf_last_error());
  o->diffaug_fwd(y, mean, x, p, N, C, H, W, flags);
  long bad = -1;
  double worst = 0;
  for (long i = 0; i < n; i++) {
    double e = fabs((double)y[i] - want[i]);
    if (e > worst) worst = e;
    if (e > 1e-5 && bad < 0) bad = i;
  }
  CHECK(bad < 0, "diffaug %s: element %ld = %.8g, PyTorch %.8g (worst abs error %.3g)", yname, bad,
        bad >= 0 ? y[bad] : 0.0, bad >= 0 ? want[bad] : 0.0, worst);
  free(x);
  free(y);
  free(want);
}

int main(void) {
  static const char *const none[] = {NULL};
  static const char *const cgan[] = {"model.g_hidden=32,64", "model.d_hidden=64,32", NULL};
  static const char *const small[] = {"model.ngf=8", "model.ndf=8", NULL};
  static const char *const concat[] = {"model.ngf=8", "model.ndf=8", "model.cond=concat", NULL};
  (void)none;
  parity("cgan_small.safetensors", "cgan-mnist", cgan);
  parity("cdcgan_small.safetensors", "cdcgan-mnist", small);
  parity("acgan_small.safetensors", "acgan-mnist", small);
  parity("cdcgan_concat_small.safetensors", "cdcgan-mnist", concat);
  /* SNGAN-projection: spectral norm on every conv, the projection's weight and its class embedding
     (weight_orig, weight_u, weight_v and embed.weight_orig / _u / _v compared) */
  static const char *const sn[] = {"model.ngf=8", "model.ndf=8", "model.dcgan_d_norm=spectral", NULL};
  parity("cdcgan_sn_small.safetensors", "cdcgan-mnist", sn);
  /* gradient penalties through the conditional layers' second-order passes */
  static const char *const gp_mlp[] = {"model.g_hidden=32,64", "model.d_hidden=64,32", "train.loss=wgan-gp",
                                       "train.gp_lambda=10", "train.lr=1e-4", "train.beta1=0", "train.beta2=0.9", NULL};
  parity_pen("cgan_gp_concat.safetensors", "cgan-mnist", gp_mlp, GF_PEN_GP);
  static const char *const gp_proj[] = {"model.ngf=8", "model.ndf=8", "model.dcgan_d_norm=none", "train.loss=wgan-gp",
                                        "train.gp_lambda=10", "train.lr=1e-4", "train.beta1=0", "train.beta2=0.9", NULL};
  parity_pen("cdcgan_gp_proj.safetensors", "cdcgan-mnist", gp_proj, GF_PEN_GP);
  static const char *const r1_concat[] = {"model.ngf=8", "model.ndf=8", "model.dcgan_d_norm=none", "model.cond=concat",
                                          "train.r1_gamma=1000", "train.r1_every=2", NULL};
  parity_pen("cdcgan_r1_concat.safetensors", "cdcgan-mnist", r1_concat, GF_PEN_R1);
  static const char *const r1_sn[] = {"model.ngf=8", "model.ndf=8", "model.dcgan_d_norm=spectral", "train.r1_gamma=10",
                                      "train.r1_every=1", NULL};
  parity_pen("cdcgan_r1_sn.safetensors", "cdcgan-mnist", r1_sn, GF_PEN_R1);

  char path[1024];
  snprintf(path, sizeof path, "%s/diffaug.safetensors", gf_t_fixtures());
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == 0, "open %s: %s", path, gf_last_error());
  if (rc == 0) {
    diffaug_case(&f, "x", "params", "y_color", GF_DIFFAUG_COLOR, 6, 3, 16, 12);
    diffaug_case(&f, "x", "params", "y_translation", GF_DIFFAUG_TRANSLATION, 6, 3, 16, 12);
    diffaug_case(&f, "x", "params", "y_cutout", GF_DIFFAUG_CUTOUT, 6, 3, 16, 12);
    diffaug_case(&f, "x", "params", "y_all", GF_DIFFAUG_COLOR | GF_DIFFAUG_TRANSLATION | GF_DIFFAUG_CUTOUT, 6, 3, 16, 12);
    diffaug_case(&f, "x1", "params1", "y1_all", GF_DIFFAUG_COLOR | GF_DIFFAUG_TRANSLATION | GF_DIFFAUG_CUTOUT, 4, 1, 28,
                 28);
    gf__st_close(&f);
  }
  return gf_t_done();
}
