/* test_critic_parity.c: whole training iterations with the critic losses, gradient penalties and
   spectral norm against PyTorch (fixtures from tools/make_critic_fixtures.py, PyTorch autograd
   with create_graph=True for the penalties): WGAN (BatchNorm critic, clipping, RMSprop, 2 critic
   steps), WGAN-GP (dcgan-mnist critic without BatchNorm; grid25's maxout critic on packs), hinge
   with spectral norm on every conv (sngan-folder), LSGAN, RaGAN (fused and with BatchNorm, TTUR;
   with DiffAugment, its uniforms fed through gan.aug->params_override), lazy R1 on a spectrally
   normalised critic. Each fixture's preset + overrides build the GAN, its
   initial tensors are loaded, its noise, real batches and interpolation coefficients are fed in;
   every D loss, G loss, D's parameter gradients after the first D step (loss + penalty), and every
   final tensor (weights, BatchNorm statistics, spectral norm's u and v) must agree within 1e-4. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ganforge/ganforge.h"
#include "harness.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/diffaug.h"
#include "models/gan.h"

static double worst = 0;

/* Elements within 1e-4 |ref| + 1e-4 max(max|ref|, floor) of the reference (floor: a scale below
   which values count as rounding noise, for gradients whose true value is 0). */
static void compare(const char *what, const char *name, const float *got, const float *ref, long n, double floor) {
  double maxv = floor;
  for (long k = 0; k < n; k++) maxv = fmax(maxv, fabs(ref[k]));
  long bad = -1;
  for (long k = 0; k < n; k++) {
    double err = fabs(got[k] - ref[k]), tol = 1e-4 * fabs(ref[k]) + 1e-4 * maxv + 1e-12;
    worst = fmax(worst, err / tol);
    if (err > tol && bad < 0) bad = k;
  }
  CHECK(bad < 0, "%s: %s[%ld] = %.8g, PyTorch %.8g", what, name, bad, bad >= 0 ? got[bad] : 0.0, bad >= 0 ? ref[bad] : 0.0);
}

/* Copies into (compare = 0) or compares with (1) the fixture tensors "<prefix>.<name>" of every
   tensor of net; prefix "grad0" compares the parameter gradients. */
static void net_io(gf__st_file *f, gf__net *net, const char *prefix, int compare_it, const char *what) {
  gf__tensor_ref refs[128];
  int m = gf__net_tensors(net, refs, 128);
  int grads = !strcmp(prefix, "grad0");
  /* gradients: a hundred-thousandth of the largest gradient of the net is rounding noise (biases
     feeding BatchNorm, or a relativistic loss's last bias, have a true gradient of 0) */
  double floor = 0;
  for (int i = 0; grads && i < m; i++) {
    char name[200];
    snprintf(name, sizeof name, "grad0.%.150s", refs[i].name);
    const uint8_t *data;
    int nd;
    int64_t shape[4];
    if (refs[i].what || gf__st_get(f, name, &data, &nd, shape) < 0) continue;
    float *ref = malloc(sizeof(float) * (size_t)refs[i].n);
    if (gf__st_read_into(f, name, ref, nd, shape) == 0)
      for (long k = 0; k < refs[i].n; k++) floor = fmax(floor, 1e-1 * fabs(ref[k]));
    free(ref);
  }
  for (int i = 0; i < m; i++) {
    if (grads && refs[i].what) continue; /* buffers have no gradient */
    char name[200];
    snprintf(name, sizeof name, "%.30s.%.150s", prefix, refs[i].name);
    int64_t shape[4];
    for (int d = 0; d < refs[i].ndim; d++) shape[d] = refs[i].shape[d];
    float *ref = malloc(sizeof(float) * (size_t)refs[i].n);
    int rc = gf__st_read_into(f, name, ref, refs[i].ndim, shape);
    CHECK(rc == 0, "%s: read %s: %s", what, name, gf_last_error());
    if (rc == 0) {
      const float *src = grads ? net->grads + (refs[i].data - net->params) : refs[i].data;
      if (!compare_it) memcpy(refs[i].data, ref, sizeof(float) * (size_t)refs[i].n);
      else compare(what, name, src, ref, refs[i].n, floor);
    }
    free(ref);
  }
}

static long meta_int(const gf__st_file *f, const char *key) {
  const char *s = gf__st_meta(f, key);
  CHECK(s != NULL, "metadata %s", key);
  return s ? strtol(s, NULL, 10) : 0;
}

static void parity(const char *file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", gf_t_fixtures(), file);
  gf__st_file f;
  int rc = gf__st_open(&f, path);
  CHECK(rc == 0, "open %s: %s", path, gf_last_error());
  if (rc) return;
  const char *preset = gf__st_meta(&f, "preset"), *over = gf__st_meta(&f, "overrides");
  int iters = (int)meta_int(&f, "iters"), ks = (int)meta_int(&f, "d_steps"), B = (int)meta_int(&f, "batch");
  int c = (int)meta_int(&f, "c"), h = (int)meta_int(&f, "h"), w = (int)meta_int(&f, "w");
  gf_config cfg;
  CHECK(preset && gf_preset_apply(&cfg, preset) == 0, "%s: preset", file);
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", over ? over : "");
  char *save = NULL;
  for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
    CHECK(gf_config_set_kv(&cfg, tok) == 0, "%s: %s: %s", file, tok, gf_last_error());
  CHECK(gf_config_validate(&cfg) == 0, "%s: config: %s", file, gf_last_error());
  gf__gan gan;
  rc = gf__gan_create(&gan, &cfg, gf__ops_cpu(), c, h, w, B, NULL);
  CHECK(rc == 0, "%s: create: %s", file, gf_last_error());
  if (rc) { gf__st_close(&f); return; }
  net_io(&f, &gan.G, "init", 0, file);
  net_io(&f, &gan.D, "init", 0, file);
  int S = iters * ks, nz = cfg.model_nz, Bd = B / gan.pack;
  long dim = (long)c * h * w;
  float *real = malloc(sizeof(float) * (size_t)S * B * dim), *z = malloc(sizeof(float) * (size_t)S * B * nz);
  float *t = malloc(sizeof(float) * (size_t)S * Bd), *ld = malloc(sizeof(float) * (size_t)S);
  float *lg = malloc(sizeof(float) * (size_t)iters);
  int64_t sr[5] = {S, B, c, h, w}, sz[3] = {S, B, nz}, st[2] = {S, Bd}, sl[1] = {S}, sg[1] = {iters};
  CHECK(gf__st_read_into(&f, "real", real, 5, sr) == 0, "%s: real: %s", file, gf_last_error());
  CHECK(gf__st_read_into(&f, "z", z, 3, sz) == 0, "%s: z: %s", file, gf_last_error());
  CHECK(gf__st_read_into(&f, "t", t, 2, st) == 0, "%s: t: %s", file, gf_last_error());
  CHECK(gf__st_read_into(&f, "loss_d", ld, 1, sl) == 0, "%s: loss_d", file);
  CHECK(gf__st_read_into(&f, "loss_g", lg, 1, sg) == 0, "%s: loss_g", file);
  /* DiffAugment: the uniforms of every draw, in draw order ([real; fake] of each D step, then of
     the G step), fed through gan.aug->params_override */
  float *au = NULL;
  size_t nau = (size_t)iters * (ks + 1) * 2 * B * GF_DIFFAUG_NPARAM;
  const uint8_t *adata;
  int andim;
  int64_t ashape[4];
  if (gf__st_get(&f, "aug_u", &adata, &andim, ashape) == 0) {
    int64_t su[4] = {iters, ks + 1, 2 * B, GF_DIFFAUG_NPARAM};
    au = malloc(sizeof(float) * nau);
    CHECK(gf__st_read_into(&f, "aug_u", au, 4, su) == 0, "%s: aug_u: %s", file, gf_last_error());
    CHECK(gan.aug != NULL, "%s: the fixture has DiffAugment parameters, the GAN no train.diffaug", file);
    if (gan.aug) gan.aug->params_override = au;
  }
  int step = 0;
  for (int it = 0; it < iters; it++) {
    for (int k = 0; k < ks; k++, step++) {
      gan.z_override = z + (size_t)step * B * nz;
      gan.crit.t_override = t + (size_t)step * Bd;
      /* the D step's statistics (loss + penalty) are read back after it, as a step's are */
      CHECK(gf__gan_d_step(&gan, real + (size_t)step * B * dim) == 0 && gf__gan_stats(&gan) == 0, "%s: d step %d: %s",
            file, step, gf_last_error());
      char what[160];
      snprintf(what, sizeof what, "%s D step %d loss_D", file, step + 1);
      CHECK_CLOSE(gan.loss_d, ld[step], 1e-4, 1e-5, what);
      if (step == 0) {
        snprintf(what, sizeof what, "%s gradients of D's first step", file);
        net_io(&f, &gan.D, "grad0", 1, what);
      }
    }
    CHECK(gf__gan_g_step(&gan) == 0 && gf__gan_stats(&gan) == 0, "%s: g step %d: %s", file, it, gf_last_error());
    char what[160];
    snprintf(what, sizeof what, "%s G step %d loss_G", file, it + 1);
    CHECK_CLOSE(gan.loss_g, lg[it], 1e-4, 1e-5, what);
  }
  if (au && gan.aug) /* every draw of the steps took its rows: no more, no fewer */
    CHECK(gan.aug->params_override == au + nau, "%s: DiffAugment drew %td of the fixture's %zu uniforms", file,
          gan.aug->params_override - au, nau);
  char what[160];
  snprintf(what, sizeof what, "%s after %d iterations", file, iters);
  net_io(&f, &gan.G, "final", 1, what);
  net_io(&f, &gan.D, "final", 1, what);
  printf("%-30s worst element difference so far %.3g of its tolerance\n", file, worst);
  free(real); free(z); free(t); free(ld); free(lg); free(au);
  gf__gan_destroy(&gan);
  gf__st_close(&f);
}

/* A checkpoint of a critic loads into its PyTorch twin (spectrally normalised ones, sn: with
   torch.nn.utils.spectral_norm's names weight_orig, weight_u, weight_v) and computes the same
   eval-mode logits: tools/load_in_pytorch.py --d-check, when a Python with torch is at hand
   ($GF_TORCH_PYTHON, /opt/t2/bin/python, or python3). */
static void torch_loadable(const char *preset, const char *over, int c, int h, int w, int sn) {
  gf_config cfg;
  gf_preset_apply(&cfg, preset);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", over);
  char *save = NULL;
  for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) gf_t_set(&cfg, tok);
  gf__gan gan;
  int B = cfg.train_batch;
  if (gf__gan_create(&gan, &cfg, gf__ops_cpu(), c, h, w, B, NULL) != 0) {
    CHECK(0, "%s: create: %s", preset, gf_last_error());
    return;
  }
  long dim = (long)c * h * w, n = (long)B * dim;
  float *x = malloc(sizeof(float) * (size_t)n);
  gf__rng r;
  gf__rng_init(&r, 3, GF_STREAM_EVAL);
  gf__rng_uniform(&r, x, n, -1, 1);
  for (int i = 0; i < 2; i++) { /* power iterations move u, v away from their start */
    CHECK(gf__gan_d_step(&gan, x) == 0, "%s: d step: %s", preset, gf_last_error());
    CHECK(gf__gan_g_step(&gan) == 0, "%s: g step: %s", preset, gf_last_error());
  }
  const char *dir = gf_t_tmpdir(preset);
  char ck[1024], dump[1024];
  snprintf(ck, sizeof ck, "%s/ckpt.safetensors", dir);
  snprintf(dump, sizeof dump, "%s/d.safetensors", dir);
  gf__data_pos pos = {1, 2, 0, 0.0};
  CHECK(gf__checkpoint_save(ck, &gan, &pos) == 0, "%s: save: %s", preset, gf_last_error());
  gf__ctx ctx;
  int Bd = B / gan.pack;
  gf__ctx_create(&ctx, &gan.D, Bd);
  float d[256];
  gan.ops->to_host(d, gf__net_forward(&gan.D, &ctx, x, Bd, 0, NULL), sizeof(float) * (size_t)Bd);
  gf__st_tensor t[2] = {{"x", x, 4, {Bd, gan.pack * c, h, w}}, {"d", d, 1, {Bd}}};
  CHECK(gf__st_write(dump, t, 2, NULL, 0) == 0, "dump: %s", gf_last_error());
  const char *py = getenv("GF_TORCH_PYTHON");
  if (!py) py = access("/opt/t2/bin/python", X_OK) == 0 ? "/opt/t2/bin/python" : "python3";
  char cmd[4096], out[4096] = "";
  snprintf(cmd, sizeof cmd, "%s %s/../../tools/load_in_pytorch.py %s --d-check %s 2>&1", py, gf_t_fixtures(), ck, dump);
  FILE *p = popen(cmd, "r");
  size_t len = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[len] = 0;
  int rc = p ? pclose(p) : -1;
  printf("%s: %s", preset, out);
  if (strstr(out, "skipped:") || rc == 127 * 256) printf("  (no PyTorch: not checked)\n");
  else {
    CHECK(rc == 0 && !strncmp(out, "PASS", 4), "%s: load_in_pytorch.py --d-check: %s", preset, out);
    if (sn) CHECK(strstr(out, "weight_orig") != NULL, "%s: the twin's tensors are spectral norm's: %s", preset, out);
  }
  gf__ctx_destroy(&ctx);
  free(x);
  gf__gan_destroy(&gan);
}

int main(void) {
  static const char *const files[] = {"critic_wgan.safetensors", "critic_wgangp.safetensors",
                                      "critic_hinge_sn.safetensors", "critic_lsgan.safetensors",
                                      "critic_ragan.safetensors", "critic_ragan_bn.safetensors",
                                      "critic_ragan_aug.safetensors", "critic_ragan_aug_bn.safetensors",
                                      "critic_r1_sn.safetensors", "critic_gp_maxout.safetensors"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) parity(files[i]);
  printf("worst element difference: %.3g of its tolerance\n", worst);
  torch_loadable("sngan-folder", "model.ngf=4 model.ndf=4 model.nz=8 train.batch=4", 3, 32, 32, 1);
  torch_loadable("mlp-mnist", "model.nz=8 model.g_hidden=16 model.d_hidden=16,8 model.d_norm=spectral train.loss=hinge "
                 "train.batch=4", 1, 8, 8, 1);
  torch_loadable("wgan-gp-grid25", "model.g_hidden=8 model.d_hidden=8 model.pack=2 model.d_norm=spectral train.batch=8",
                 2, 1, 1, 1);
  /* the full-size wgan-gp-mnist critic (no normalisation) into the modules tools/torch_twin.py trains */
  torch_loadable("wgan-gp-mnist", "train.batch=8", 1, 28, 28, 0);
  return gf_t_done();
}
