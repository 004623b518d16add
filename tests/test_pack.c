/* test_pack.c: PacGAN packing (model.pack). (a) One D step and one G step of a GAN with pack = N
   equal, to float rounding, the same steps done by hand with an unpacked discriminator built for
   N * c input channels whose input is the [B, c, h, w] batch read as [B / N, N * c, h, w]: the
   losses, D(x) / D(G(z)), every D and G gradient, the updated weights and the BatchNorm running
   statistics. Covers the fused 2B D batch (MLP D, no BatchNorm) and the separate real / fake
   passes (DCGAN D with BatchNorm), N = 2 and 4. (b) A batch not divisible by N, and other bad
   settings, fail with a message naming model.pack. (c) Checkpoints: the packed D is saved with
   N * c input channels, n1 steps + resume + n2 steps equals n1 + n2 straight steps, and a packed
   checkpoint does not load into an unpacked model. */
#include "harness.h"

#include "core/ops.h"
#include "core/util.h"
#include "ganforge/ganforge.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/gan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gf__ops *O;
static char tmp[2048];

/* |got - want| <= rtol * max|want| + atol (+ extra[i] where extra is not NULL: a host array), element
   by element; returns the worst scaled error. */
static double compare_with(const char *what, const float *got_dev, const float *want_dev, long n, double rtol, double atol,
                           const double *extra) {
  float *g = gf_t_host_copy(O, got_dev, n), *w = gf_t_host_copy(O, want_dev, n);
  double maxw = 0, worst = 0;
  for (long i = 0; i < n; i++) maxw = fmax(maxw, fabs((double)w[i]));
  long bad = 0, first = -1;
  for (long i = 0; i < n; i++) {
    double d = fabs((double)g[i] - (double)w[i]), tol = rtol * maxw + atol + (extra ? extra[i] : 0);
    if (d / tol > worst) worst = d / tol;
    if (!(d <= tol)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  CHECK(bad == 0, "%s: %ld of %ld values differ (first [%ld]: %.9g vs %.9g, max|want| %.3g)", what, bad, n, first,
        first >= 0 ? (double)g[first] : 0.0, first >= 0 ? (double)w[first] : 0.0, maxw);
  CHECK(maxw > 0 || n == 0, "%s: the reference is all zeros (nothing compared)", what);
  free(g);
  free(w);
  return worst;
}

static double compare(const char *what, const float *got_dev, const float *want_dev, long n, double rtol, double atol) {
  return compare_with(what, got_dev, want_dev, n, rtol, atol, NULL);
}

static void copy_net_state(gf__net *dst, const gf__net *src) {
  if (dst->nparam != src->nparam || dst->nbuf != src->nbuf) {
    CHECK(0, "nets differ in size: %ld/%ld vs %ld/%ld", dst->nparam, dst->nbuf, src->nparam, src->nbuf);
    return;
  }
  O->copy(dst->params, src->params, (size_t)src->nparam);
  if (src->nbuf) O->copy(dst->buffers, src->buffers, (size_t)src->nbuf);
}

/* Weights after a first Adam step (w - lr g / (|g| + eps) from equal weights), element by element
   within rtol * max|want| + atol plus what Adam's map makes of the two gradients' difference:
   lr |s(g_got) - s(g_want)|, s(g) = g / (|g| + eps). The gradients are checked on their own (to
   1e-5 of their largest); an element whose gradient is near eps turns a rounding-level difference
   there into up to lr here, and which elements those are depends on the CPU's summation order. */
static double compare_adam(const char *what, const gf__net *got, const gf__net *want, const gf_config *c) {
  long n = want->nparam;
  float *gg = gf_t_host_copy(O, got->grads, n), *wg = gf_t_host_copy(O, want->grads, n);
  double *extra = malloc(sizeof(double) * (size_t)(n ? n : 1)), lr = c->train_lr, eps = c->train_adam_eps;
  for (long i = 0; i < n; i++)
    extra[i] = 1.01 * lr * fabs(gg[i] / (fabs((double)gg[i]) + eps) - wg[i] / (fabs((double)wg[i]) + eps));
  double worst = compare_with(what, got->params, want->params, n, 1e-6, 1e-7, extra);
  free(gg);
  free(wg);
  free(extra);
  return worst;
}

static void adam_step(const gf_config *c, gf__net *net) {
  /* the first Adam step of a fresh optimizer, as the trainer takes it */
  float bc1 = (float)(1.0 - c->train_beta1), bc2 = (float)(1.0 - c->train_beta2);
  O->adam(net->params, net->grads, net->opt_m, net->opt_v, (size_t)net->nparam, (float)c->train_lr,
          (float)c->train_beta1, (float)c->train_beta2, (float)c->train_adam_eps, bc1, bc2,
          (float)c->train_weight_decay);
}

/* ---- (a) packed steps == unpacked D on the reshaped batch ------------------------------------ */

static void equivalence_case(const char *what, const gf_config *cfg, int c, int h, int w, int B, int expect_fused) {
  int pack = cfg->model_pack, Bd = B / pack;
  gf__gan gan;
  int rc = gf__gan_create(&gan, cfg, O, c, h, w, B, NULL);
  CHECK(rc == 0, "%s: gan_create: %s", what, gf_last_error());
  if (rc) return;
  CHECK(gan.fuse_d == expect_fused, "%s: fuse_d %d, expected %d", what, gan.fuse_d, expect_fused);
  CHECK(gan.D.in_c == pack * c && gan.D.in_h == h && gan.D.in_w == w, "%s: D input %dx%dx%d, expected %dx%dx%d", what,
        gan.D.in_c, gan.D.in_h, gan.D.in_w, pack * c, h, w);
  long dim = gan.dim;

  /* the unpacked reference: D built with pack = 1 for pack * c channels, same weights */
  gf_config c1 = *cfg;
  c1.model_pack = 1;
  if (!strcmp(c1.model_arch, "dcgan")) c1.model_nc = pack * c;
  gf__net D1, G1;
  memset(&D1, 0, sizeof D1);
  memset(&G1, 0, sizeof G1);
  rc = gf__build_discriminator(&D1, &c1, O, pack * c, h, w);
  CHECK(rc == 0, "%s: unpacked D: %s", what, gf_last_error());
  if (rc == 0) rc = gf__build_generator(&G1, cfg, O, dim);
  CHECK(rc == 0, "%s: reference G: %s", what, gf_last_error());
  if (rc) { gf__gan_destroy(&gan); gf__net_free(&D1); return; }
  CHECK(D1.nparam == gan.D.nparam, "%s: unpacked D has %ld parameters, packed %ld", what, D1.nparam, gan.D.nparam);
  copy_net_state(&D1, &gan.D);

  /* inputs: a real batch in [-1, 1] and fixed noise */
  float *zdev = O->alloc(sizeof(float) * (size_t)B * gan.nz);
  O->rand_normal(zdev, (size_t)B * gan.nz, 0.0f, 1.0f, 11, 1, 0);
  O->rand_uniform(gan.xr, (size_t)B * dim, -1.0f, 1.0f, 11, 2, 0);
  gan.z_override = zdev;

  /* packed D step */
  rc = gf__gan_d_step(&gan, gan.xr);
  if (rc == 0) rc = gf__gan_stats(&gan);
  CHECK(rc == 0, "%s: d_step: %s", what, gf_last_error());
  const float *fake = gan.cg.out[gan.G.n - 1]; /* the fakes that step judged ([B, dim] = [Bd, pack * dim]) */

  /* reference D step: real packs, then fake packs, through the unpacked D */
  gf__ctx cr, cf, cg1;
  gf__ctx_create(&cr, &D1, Bd);
  gf__ctx_create(&cf, &D1, Bd);
  gf__ctx_create(&cg1, &G1, B);
  float sr[2] = {0, 0}, sf[2] = {0, 0};
  const float *l = gf__net_forward(&D1, &cr, gan.xr, Bd, 1, NULL);
  gf__ctx_zero_dout(&D1, &cr);
  O->gan_loss(GF_LOSS_BCE_ONE, sr, gf__ctx_dout(&D1, &cr), l, (size_t)Bd, 1.0f);
  l = gf__net_forward(&D1, &cf, fake, Bd, 1, NULL);
  gf__ctx_zero_dout(&D1, &cf);
  O->gan_loss(GF_LOSS_BCE_ZERO, sf, gf__ctx_dout(&D1, &cf), l, (size_t)Bd, 1.0f);
  gf__net_backward(&D1, &cr, NULL, GF_GRAD_OVERWRITE);
  gf__net_backward(&D1, &cf, NULL, GF_GRAD_ACCUMULATE);
  adam_step(cfg, &D1);

  CHECK_CLOSE(gan.loss_d, sr[0] + sf[0], 1e-6, 1e-6, "loss_D");
  CHECK_CLOSE(gan.d_real, sr[1], 1e-6, 1e-6, "D(x)");
  CHECK_CLOSE(gan.d_fake, sf[1], 1e-6, 1e-6, "D(G(z))");
  double wg = compare("D gradients", gan.D.grads, D1.grads, D1.nparam, 1e-5, 1e-9);
  double wp = compare_adam("D weights after the step", &gan.D, &D1, cfg);
  if (D1.nbuf) compare("D running statistics", gan.D.buffers, D1.buffers, D1.nbuf, 1e-6, 1e-7);

  /* G step: the packed GAN reuses the fakes; the reference regenerates them with a copy of G */
  copy_net_state(&G1, &gan.G);
  rc = gf__gan_g_step(&gan);
  if (rc == 0) rc = gf__gan_stats(&gan);
  CHECK(rc == 0, "%s: g_step: %s", what, gf_last_error());
  const float *fake1 = gf__net_forward(&G1, &cg1, zdev, B, 1, NULL);
  compare("regenerated fakes", fake1, fake, B * dim, 0, 0);
  l = gf__net_forward(&D1, &cf, fake1, Bd, 1, NULL);
  gf__ctx_zero_dout(&D1, &cf);
  float sg[2] = {0, 0};
  O->gan_loss(GF_LOSS_BCE_ONE, sg, gf__ctx_dout(&D1, &cf), l, (size_t)Bd, 1.0f);
  float *dfake = gf__ctx_dout(&G1, &cg1);
  gf__ctx_zero_dout(&G1, &cg1);
  gf__net_backward(&D1, &cf, dfake, GF_GRAD_NONE);
  gf__net_backward(&G1, &cg1, NULL, GF_GRAD_OVERWRITE);
  adam_step(cfg, &G1);
  CHECK_CLOSE(gan.loss_g, sg[0], 1e-6, 1e-6, "loss_G");
  double wgg = compare("G gradients", gan.G.grads, G1.grads, G1.nparam, 1e-5, 1e-9);
  double wgp = compare_adam("G weights after the step", &gan.G, &G1, cfg);
  printf("%-34s pack %d, B %2d -> %2d packs, fused %d: loss_D %.6f vs %.6f, loss_G %.6f vs %.6f; worst/tol: "
         "dD %.2g, D %.2g, dG %.2g, G %.2g\n",
         what, pack, B, Bd, gan.fuse_d, gan.loss_d, sr[0] + sf[0], gan.loss_g, sg[0], wg, wp, wgg, wgp);

  gf__ctx_destroy(&cr);
  gf__ctx_destroy(&cf);
  gf__ctx_destroy(&cg1);
  O->free(zdev);
  gf__net_free(&D1);
  gf__net_free(&G1);
  gan.z_override = NULL;
  gf__gan_destroy(&gan);
}

static void test_equivalence(void) {
  gf_config c;
  /* MLP D without BatchNorm: the fused [real; fake] batch */
  gf_config_defaults(&c);
  gf_t_set(&c, "model.arch=mlp");
  gf_t_set(&c, "model.nz=6");
  gf_t_set(&c, "model.g_hidden=16");
  gf_t_set(&c, "model.g_norm=bn");
  gf_t_set(&c, "model.d_hidden=12,8");
  gf_t_set(&c, "model.d_act=lrelu");
  gf_t_set(&c, "train.batch=8");
  gf_t_set(&c, "model.pack=2");
  equivalence_case("mlp (fused D batch)", &c, 2, 3, 3, 8, 1);
  gf_t_set(&c, "model.pack=4");
  equivalence_case("mlp (fused D batch)", &c, 2, 3, 3, 8, 1);
  /* maxout D */
  gf_t_set(&c, "model.d_act=maxout");
  gf_t_set(&c, "model.d_pieces=3");
  gf_t_set(&c, "model.pack=2");
  equivalence_case("mlp maxout", &c, 1, 4, 4, 12, 1);

  /* DCGAN 28x28x3 (the dcgan-stacked-mnist networks at width 4): BatchNorm in D, separate passes */
  gf_preset_apply(&c, "pacdcgan2-stacked-mnist");
  gf_t_set(&c, "model.ngf=4");
  gf_t_set(&c, "model.ndf=4");
  gf_t_set(&c, "model.nz=8");
  gf_t_set(&c, "train.batch=8");
  equivalence_case("dcgan 28x28x3 (BatchNorm D)", &c, 3, 28, 28, 8, 0);
  gf_t_set(&c, "model.pack=4");
  equivalence_case("dcgan 28x28x3 (BatchNorm D)", &c, 3, 28, 28, 8, 0);
  /* 16x16 grey */
  gf_t_set(&c, "model.size=16");
  gf_t_set(&c, "model.nc=1");
  gf_t_set(&c, "model.pack=2");
  equivalence_case("dcgan 16x16x1", &c, 1, 16, 16, 6, 0);
}

/* ---- (b) errors ---------------------------------------------------------------------------- */

static void test_errors(void) {
  gf_config c;
  gf_preset_apply(&c, "pacdcgan2-stacked-mnist");
  CHECK(gf_config_validate(&c) == 0, "pacdcgan2-stacked-mnist does not validate: %s", gf_last_error());
  CHECK(c.model_pack == 2 && c.train_batch == 64 && c.model_nc == 3 && !strcmp(c.data_name, "stacked-mnist"),
        "pacdcgan2-stacked-mnist: pack %d batch %d nc %d data %s", c.model_pack, c.train_batch, c.model_nc, c.data_name);
  gf_t_set(&c, "train.batch=63");
  int rc = gf_config_validate(&c);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "model.pack") && strstr(gf_last_error(), "63") &&
            strstr(gf_last_error(), "divisible"),
        "batch 63, pack 2: rc %d: %s", rc, gf_last_error());
  /* gf_train refuses it before touching any data or folder */
  gf_train_opts o = {.out_dir = tmp};
  rc = gf_train(&c, &o);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "model.pack"), "gf_train with batch 63, pack 2: rc %d: %s", rc,
        gf_last_error());
  /* the library entry below the config check */
  gf__gan g;
  gf_t_set(&c, "model.ngf=4");
  gf_t_set(&c, "model.ndf=4");
  rc = gf__gan_create(&g, &c, O, 3, 28, 28, 7, NULL);
  CHECK(rc == GF_EINVAL && strstr(gf_last_error(), "model.pack"), "gan_create B 7, pack 2: rc %d: %s", rc, gf_last_error());
  if (rc == 0) gf__gan_destroy(&g);
  gf_t_set(&c, "train.batch=64");
  gf_t_set(&c, "model.pack=0");
  rc = gf_config_validate(&c);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "model.pack"), "pack 0: rc %d: %s", rc, gf_last_error());
  gf_t_set(&c, "model.pack=65");
  rc = gf_config_validate(&c);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "model.pack"), "pack 65: rc %d: %s", rc, gf_last_error());
  gf_preset_apply(&c, "cyclegan");
  gf_t_set(&c, "model.pack=2");
  gf_t_set(&c, "train.batch=2");
  rc = gf_config_validate(&c);
  CHECK(rc == GF_EUSAGE && strstr(gf_last_error(), "model.pack"), "cyclegan pack 2: rc %d: %s", rc, gf_last_error());
  /* the key is documented and defaults to off */
  gf_config_defaults(&c);
  CHECK(c.model_pack == 1, "model.pack defaults to %d", c.model_pack);
  int found = 0;
  for (int i = 0; i < gf_config_nkeys(); i++) found += !strcmp(gf_config_key_name(i), "model.pack");
  CHECK(found == 1, "model.pack listed %d times among the keys", found);
}

/* ---- (c) checkpoints and resume ------------------------------------------------------------ */

static int train(const gf_config *cfg, const char *out, const char *resume) {
  gf_train_opts o;
  memset(&o, 0, sizeof o);
  o.out_dir = out;
  o.resume = resume;
  int rc = gf_train(cfg, &o);
  if (rc < 0) fprintf(stderr, "gf_train %s: %s\n", out, gf_last_error());
  return rc;
}

static int read_tensor(const char *path, const char *name, float **x, int64_t *shape, int *ndim) {
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  const uint8_t *data;
  int rc = gf__st_get(&f, name, &data, ndim, shape);
  if (rc == 0) {
    size_t n = 1;
    for (int d = 0; d < *ndim; d++) n *= (size_t)shape[d];
    *x = malloc(sizeof(float) * n);
    memcpy(*x, data, sizeof(float) * n);
  }
  gf__st_close(&f);
  return rc;
}

static int same_bytes(const char *a, const char *b) {
  char *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  int ok = gf__read_file(a, &x, &nx) == 0 && gf__read_file(b, &y, &ny) == 0 && nx == ny && !memcmp(x, y, nx);
  free(x);
  free(y);
  return ok;
}

static void test_resume(void) {
  /* PacDCGAN2 at 16x16 on the built-in shapes (no download), 8 batches per epoch */
  gf_config c;
  gf_preset_apply(&c, "pacdcgan2-stacked-mnist");
  gf_t_set(&c, "data.name=shapes");
  gf_t_set(&c, "data.n=64");
  gf_t_set(&c, "data.size=16");
  gf_t_set(&c, "model.size=16");
  gf_t_set(&c, "model.nc=1");
  gf_t_set(&c, "model.ngf=4");
  gf_t_set(&c, "model.ndf=4");
  gf_t_set(&c, "model.nz=8");
  gf_t_set(&c, "train.batch=8");
  gf_t_set(&c, "train.epochs=3");
  gf_t_set(&c, "train.grid=4");
  gf_t_set(&c, "train.nrow=2");
  gf_t_set(&c, "train.report=0");
  char straight[2300], split[2300], path[2400], path2[2400];
  snprintf(straight, sizeof straight, "%s/straight", tmp);
  snprintf(split, sizeof split, "%s/split", tmp);
  c.train_max_steps = 19;
  CHECK(train(&c, straight, NULL) == 0, "straight 19-step run failed");
  c.train_max_steps = 11;
  CHECK(train(&c, split, NULL) == 0, "first 11 steps failed");
  gf_config rc_cfg;
  char ckpt[2048];
  int rc = gf_checkpoint_config(split, &rc_cfg, ckpt, sizeof ckpt);
  CHECK(rc == 0 && rc_cfg.model_pack == 2, "checkpoint config: rc %d, pack %d: %s", rc, rc_cfg.model_pack,
        gf_last_error());
  if (rc) return;

  /* the packed D's first convolution takes pack * nc = 2 channels */
  float *w = NULL;
  int64_t shape[GF_ST_MAXDIM];
  int nd = 0;
  rc = read_tensor(ckpt, "D.net.0.weight", &w, shape, &nd);
  CHECK(rc == 0 && nd == 4 && shape[0] == 4 && shape[1] == 2 && shape[2] == 4 && shape[3] == 4,
        "D.net.0.weight: rc %d, %d dims, [%lld, %lld, ...]", rc, nd, nd > 0 ? (long long)shape[0] : -1LL,
        nd > 1 ? (long long)shape[1] : -1LL);
  free(w);

  /* a packed checkpoint does not load into an unpacked model */
  gf__gan g;
  gf_config c1 = rc_cfg;
  c1.model_pack = 1;
  if (gf__gan_create(&g, &c1, O, 1, 16, 16, 8, NULL) == 0) {
    gf__data_pos pos = {1, 0, 0, 0.0};
    rc = gf__checkpoint_load(ckpt, &g, &pos);
    CHECK(rc < 0 && strstr(gf_last_error(), "D.net.0.weight"), "pack-2 checkpoint into a pack-1 model: rc %d: %s", rc,
          gf_last_error());
    gf__gan_destroy(&g);
  } else {
    CHECK(0, "gan_create pack 1: %s", gf_last_error());
  }

  rc_cfg.train_max_steps = 19;
  CHECK(train(&rc_cfg, split, ckpt) == 0, "resumed run failed");
  snprintf(path, sizeof path, "%s/generator.safetensors", straight);
  snprintf(path2, sizeof path2, "%s/generator.safetensors", split);
  CHECK(same_bytes(path, path2), "generator after 11 + 8 resumed steps differs from 19 straight steps");
  static const char *const names[] = {"D.net.0.weight", "D.net.3.weight", "D.net.3.running_mean", "opt.D.exp_avg_sq",
                                      "G.net.0.weight"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    float *a = NULL, *b = NULL;
    int64_t sa[GF_ST_MAXDIM], sb[GF_ST_MAXDIM];
    int na = 0, nb = 0;
    snprintf(path, sizeof path, "%s/checkpoints/latest.safetensors", straight);
    snprintf(path2, sizeof path2, "%s/checkpoints/latest.safetensors", split);
    int ra = read_tensor(path, names[k], &a, sa, &na), rb = read_tensor(path2, names[k], &b, sb, &nb);
    size_t n = 1;
    for (int d = 0; d < na; d++) n *= (size_t)sa[d];
    CHECK(ra == 0 && rb == 0 && na == nb && !memcmp(sa, sb, sizeof(int64_t) * (size_t)na) &&
              !memcmp(a, b, sizeof(float) * n),
          "checkpoint tensor %s differs between the resumed and the straight run", names[k]);
    free(a);
    free(b);
  }
}

int main(void) {
  O = gf__ops_cpu();
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("pack"));
  test_equivalence();
  test_errors();
  test_resume();
  return gf_t_done();
}
