/* infer.c: the inference API (include/ganforge/infer.h): a trained generator behind a handle,
   run on the ops table in eval mode; the exporters read their networks through gf__infer_net. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "ganforge/config.h"
#include "ganforge/infer.h"
#include "infer/infer_internal.h"
#include "io/safetensors.h"
#include "models/cyclegan.h"
#include "models/gan.h"
#include "models/weights.h"

struct gf_generator {
  gf_config cfg;
  const gf__ops *ops;
  gf_generator_info info;
  gf__net G;
  int have_net;
  gf__ctx ctx;             /* eval-mode context for max_batch samples (translators: 1 image) */
  int max_batch;
  float *in_dev, *out_dev; /* [max_batch, in] latents / image, backend memory (translators: 1 image) */
  float *lab_dev, *lab_host; /* a conditional generator: [max_batch] classes as floats, backend / host */
  /* translators: the net is rebuilt for each image size; the weights stay on the host */
  char net_name[8];
  float *host_params, *host_bufs;
  int cur_h, cur_w;
  char path[2048];
};

static int is_i2i(const gf_config *cfg) {
  return !strcmp(cfg->model_arch, "cyclegan") || !strcmp(cfg->model_arch, "pix2pix");
}

/* The file a run folder or path names, and its config. */
static int resolve(const char *path, char *file, size_t cap, gf_config *cfg) {
  struct stat st;
  if (!path || stat(path, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such run folder or file", path ? path : "(null)");
  if (S_ISDIR(st.st_mode)) {
    static const char *const names[] = {"generator.safetensors", "cyclegan.safetensors", "pix2pix.safetensors"};
    int found = 0;
    for (int i = 0; i < 3 && !found; i++) {
      snprintf(file, cap, "%s/%s", path, names[i]);
      found = stat(file, &st) == 0;
    }
    if (!found)
      return gf__fail(GF_ENOENT, "%s: the run folder has no generator.safetensors, cyclegan.safetensors or pix2pix.safetensors",
                      path);
  } else {
    snprintf(file, cap, "%s", path);
  }
  gf__st_file f;
  GF_TRY(gf__st_open(&f, file));
  const char *text = gf__st_meta(&f, "config");
  gf_config_defaults(cfg);
  int rc = 0;
  if (!text) rc = gf__fail(GF_EFORMAT, "%s: no ganforge config in the file's metadata", file);
  else rc = gf__config_from_stored(cfg, text, file, "metadata");
  gf__st_close(&f);
  if (rc == 0 && !is_i2i(cfg) && strcmp(cfg->model_arch, "mlp") && strcmp(cfg->model_arch, "dcgan"))
    rc = gf__fail(GF_EMISMATCH, "%s: a %s model, not a generator (mlp, dcgan, cyclegan or pix2pix)", file, cfg->model_arch);
  return rc;
}

static int i2i_net_build(gf_generator *g, int h, int w) {
  if (g->have_net && g->cur_h == h && g->cur_w == w) return 0;
  if (g->have_net) {
    gf__ctx_destroy(&g->ctx);
    gf__net_free(&g->G);
    g->have_net = 0;
  }
  if (g->in_dev) { g->ops->free(g->in_dev); g->in_dev = NULL; }
  GF_TRY(gf__build_i2i_generator(&g->G, &g->cfg, g->ops, g->net_name, g->info.in_c, g->info.c, h, w));
  int rc = gf__net_finalize(&g->G);
  if (rc < 0) return rc;
  g->have_net = 1;
  g->ops->to_device(g->G.params, g->host_params, sizeof(float) * (size_t)g->G.nparam);
  if (g->G.nbuf) g->ops->to_device(g->G.buffers, g->host_bufs, sizeof(float) * (size_t)g->G.nbuf);
  GF_TRY(gf__ctx_create(&g->ctx, &g->G, 1));
  g->in_dev = g->ops->alloc(sizeof(float) * (size_t)g->info.in_c * h * w);
  if (!g->in_dev) return gf__fail(GF_ENOMEM, "out of memory for a %dx%d image", w, h);
  g->cur_h = h;
  g->cur_w = w;
  return 0;
}

static int open_i2i(gf_generator *g, const char *file, const char *direction) {
  int pix = !strcmp(g->cfg.model_arch, "pix2pix");
  int btoa = direction && !strcmp(direction, "BtoA");
  if (direction && !btoa && strcmp(direction, "AtoB"))
    return gf__fail(GF_EUSAGE, "direction must be AtoB or BtoA, not '%s'", direction);
  if (pix && btoa)
    return gf__fail(GF_EUSAGE, "%s: a pix2pix model translates one way only (as trained, data.direction=%s): use AtoB", file,
                    g->cfg.data_direction);
  snprintf(g->net_name, sizeof g->net_name, "%s", pix ? "G" : btoa ? "G_B" : "G_A");
  int s = g->cfg.data_crop_size;
  snprintf(g->info.kind, sizeof g->info.kind, "%s", !strncmp(g->cfg.model_netG, "unet", 4) ? "unet" : "resnet");
  g->info.translates = 1;
  g->info.c = g->info.in_c = g->cfg.model_nc > 0 ? g->cfg.model_nc : 3;
  g->info.h = g->info.w = s;
  g->info.lo = -1;
  g->info.hi = 1;
  /* build at the trained size, load the tensors, keep a host copy of them for other sizes */
  gf__st_file f;
  GF_TRY(gf__st_open(&f, file));
  const char *dirs = gf__st_meta(&f, "directions"), *want = btoa ? "BtoA" : "AtoB";
  int rc = 0;
  if (dirs && !strstr(dirs, want)) /* a compressed student (ganforge compress distils G_A) */
    rc = gf__fail(GF_EUSAGE, "%s: this generator translates %s only (a compressed student of %s)", file, dirs,
                  g->cfg.compress_teacher[0] ? g->cfg.compress_teacher : "a teacher");
  if (rc == 0) rc = gf__build_i2i_generator(&g->G, &g->cfg, g->ops, g->net_name, g->info.in_c, g->info.c, s, s);
  if (rc == 0) rc = gf__weights_fit(&f, &g->G);
  if (rc == 0) {
    rc = gf__net_finalize(&g->G);
    g->have_net = 1; /* freed at close, also what a failed finalize allocated */
  }
  if (rc == 0) rc = gf__weights_load_net(&f, &g->G);
  gf__st_close(&f);
  if (rc < 0) return rc;
  g->host_params = malloc(sizeof(float) * (size_t)(g->G.nparam + 1));
  g->host_bufs = malloc(sizeof(float) * (size_t)(g->G.nbuf + 1));
  if (!g->host_params || !g->host_bufs) return gf__fail(GF_ENOMEM, "out of memory");
  g->ops->to_host(g->host_params, g->G.params, sizeof(float) * (size_t)g->G.nparam);
  if (g->G.nbuf) g->ops->to_host(g->host_bufs, g->G.buffers, sizeof(float) * (size_t)g->G.nbuf);
  GF_TRY(gf__ctx_create(&g->ctx, &g->G, 1));
  g->in_dev = g->ops->alloc(sizeof(float) * (size_t)g->info.in_c * s * s);
  if (!g->in_dev) return gf__fail(GF_ENOMEM, "out of memory");
  g->cur_h = g->cur_w = s;
  return 0;
}

static int open_noise(gf_generator *g, const char *file) {
  int c, h, w;
  GF_TRY(gf__generator_open(file, g->ops, &g->cfg, &g->G, &c, &h, &w));
  g->have_net = 1;
  snprintf(g->info.kind, sizeof g->info.kind, "%.15s", g->cfg.model_arch);
  g->info.nz = g->cfg.model_nz;
  g->info.c = c;
  g->info.h = h;
  g->info.w = w;
  g->info.lo = !strcmp(g->cfg.model_g_out, "sigmoid") ? 0.0f : -1.0f;
  g->info.hi = 1;
  snprintf(g->info.noise, sizeof g->info.noise, "%.15s", g->cfg.model_noise);
  g->info.noise_lo = (float)g->cfg.model_noise_lo;
  g->info.noise_hi = (float)g->cfg.model_noise_hi;
  g->info.classes = g->G.nclass;
  GF_TRY(gf__ctx_create(&g->ctx, &g->G, g->max_batch));
  g->in_dev = g->ops->alloc(sizeof(float) * (size_t)g->max_batch * g->info.nz);
  if (!g->in_dev) return gf__fail(GF_ENOMEM, "out of memory");
  if (g->info.classes) {
    g->lab_dev = g->ops->alloc(sizeof(float) * (size_t)g->max_batch);
    g->lab_host = malloc(sizeof(float) * (size_t)g->max_batch);
    if (!g->lab_dev || !g->lab_host) return gf__fail(GF_ENOMEM, "out of memory");
  }
  return 0;
}

int gf_generator_open(const char *path, const gf_generator_opts *opts, gf_generator **out) {
  if (!out) return gf__fail(GF_EINVAL, "gf_generator_open: out is NULL");
  *out = NULL;
  gf_generator_opts o = {0};
  if (opts) o = *opts;
  if (o.max_batch < 0 || o.max_batch > 65536) return gf__fail(GF_EINVAL, "max_batch %d: must be between 0 and 65536", o.max_batch);
  gf_generator *g = calloc(1, sizeof *g);
  if (!g) return gf__fail(GF_ENOMEM, "out of memory");
  g->max_batch = o.max_batch ? o.max_batch : 64;
  int rc = gf__ops_get(o.device ? o.device : "cpu", &g->ops);
  if (rc == 0) rc = resolve(path, g->path, sizeof g->path, &g->cfg);
  if (rc == 0) {
    snprintf(g->info.arch, sizeof g->info.arch, "%.15s", g->cfg.model_arch);
    rc = is_i2i(&g->cfg) ? open_i2i(g, g->path, o.direction) : open_noise(g, g->path);
  }
  if (rc == 0 && !is_i2i(&g->cfg) && o.direction)
    rc = gf__fail(GF_EUSAGE, "%s: a %s generator draws from latents; a direction is for cyclegan / pix2pix", g->path,
                  g->cfg.model_arch);
  if (rc < 0) {
    gf_generator_close(g);
    /* every message names the file (a network the stored config cannot build says only why) */
    if (path && !strstr(gf_last_error(), path)) {
      char msg[768];
      snprintf(msg, sizeof msg, "%s", gf_last_error());
      rc = gf__fail(rc, "%s: %s", path, msg);
    }
    return rc;
  }
  *out = g;
  return 0;
}

void gf_generator_close(gf_generator *g) {
  if (!g) return;
  if (g->have_net) {
    gf__ctx_destroy(&g->ctx);
    gf__net_free(&g->G);
  }
  if (g->in_dev) g->ops->free(g->in_dev);
  if (g->lab_dev) g->ops->free(g->lab_dev);
  free(g->lab_host);
  free(g->host_params);
  free(g->host_bufs);
  free(g);
}

int gf_generator_info_get(const gf_generator *g, gf_generator_info *info) {
  if (!g || !info) return gf__fail(GF_EINVAL, "gf_generator_info_get: NULL argument");
  *info = g->info;
  return 0;
}

static int batch_stats(const gf_generator *g) { return !strcmp(g->cfg.model_sample_bn, "batch"); }

/* The class of sample i of a conditional generator: labels[i], or i mod classes without labels. */
static float class_of(const gf_generator *g, const int32_t *labels, long i) {
  return (float)(labels ? labels[i] : i % g->info.classes);
}

int gf_generator_generate(gf_generator *g, const float *z, int n, float *out) {
  return gf_generator_generate_labeled(g, z, NULL, n, out);
}

int gf_generator_generate_labeled(gf_generator *g, const float *z, const int32_t *labels, int n, float *out) {
  if (!g || !z || !out || n < 0) return gf__fail(GF_EINVAL, "gf_generator_generate: bad argument");
  if (g->info.translates)
    return gf__fail(GF_EUSAGE, "%s: a %s model translates images (gf_generator_translate), it has no latents", g->path,
                    g->info.arch);
  int K = g->info.classes;
  if (labels && !K)
    return gf__fail(GF_EUSAGE, "%s: not a conditional generator (model.cond=none): it takes no class labels", g->path);
  for (int i = 0; labels && i < n; i++)
    if (labels[i] < 0 || labels[i] >= K)
      return gf__fail(GF_EINVAL, "labels[%d] = %d: the generator's classes are 0..%d", i, (int)labels[i], K - 1);
  if (n == 0) return 0;
  const gf__ops *o = g->ops;
  long dim = (long)g->info.c * g->info.h * g->info.w;
  int nz = g->info.nz;
  if (batch_stats(g)) {
    /* model.sample_bn=batch: the statistics of the whole request, as `ganforge sample`; the
       running statistics are put back afterwards */
    gf__ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    size_t nb = (size_t)g->G.nbuf;
    float *zd = o->alloc(sizeof(float) * (size_t)n * nz);
    float *saved = malloc(sizeof(float) * (nb + 1));
    float *yd = K ? o->alloc(sizeof(float) * (size_t)n) : NULL, *yh = K ? malloc(sizeof(float) * (size_t)n) : NULL;
    int rc = zd && saved && (!K || (yd && yh)) ? gf__ctx_create(&ctx, &g->G, n) : gf__fail(GF_ENOMEM, "out of memory");
    if (rc == 0) {
      if (nb) o->to_host(saved, g->G.buffers, sizeof(float) * nb);
      o->to_device(zd, z, sizeof(float) * (size_t)n * nz);
      if (K) { /* every sample's class */
        for (int i = 0; i < n; i++) yh[i] = class_of(g, labels, i);
        o->to_device(yd, yh, sizeof(float) * (size_t)n);
        ctx.labels = yd;
      }
      const float *y = gf__net_forward(&g->G, &ctx, zd, n, 1, NULL);
      o->to_host(out, y, sizeof(float) * (size_t)n * dim);
      if (nb) o->to_device(g->G.buffers, saved, sizeof(float) * nb);
    }
    gf__ctx_destroy(&ctx);
    if (zd) o->free(zd);
    if (yd) o->free(yd);
    free(yh);
    free(saved);
    return rc;
  }
  for (int i = 0; i < n; i += g->max_batch) {
    int m = n - i < g->max_batch ? n - i : g->max_batch;
    o->to_device(g->in_dev, z + (size_t)i * nz, sizeof(float) * (size_t)m * nz);
    if (K) {
      for (int j = 0; j < m; j++) g->lab_host[j] = class_of(g, labels, (long)i + j);
      o->to_device(g->lab_dev, g->lab_host, sizeof(float) * (size_t)m);
      g->ctx.labels = g->lab_dev;
    }
    const float *y = gf__net_forward(&g->G, &g->ctx, g->in_dev, m, 0, NULL);
    o->to_host(out + (size_t)i * dim, y, sizeof(float) * (size_t)m * dim);
  }
  return 0;
}

int gf_generator_sample(gf_generator *g, uint64_t seed, int n, float *out, float *z_out) {
  return gf_generator_sample_class(g, seed, n, -1, out, z_out);
}

int gf_generator_sample_class(gf_generator *g, uint64_t seed, int n, int klass, float *out, float *z_out) {
  if (!g || !out || n < 0 || klass < -1) return gf__fail(GF_EINVAL, "gf_generator_sample: bad argument");
  if (g->info.translates)
    return gf__fail(GF_EUSAGE, "%s: a %s model translates images (gf_generator_translate), it has no latents", g->path,
                    g->info.arch);
  if (klass >= 0 && !g->info.classes)
    return gf__fail(GF_EUSAGE, "class %d: %s is not a conditional generator (model.cond=none)", klass, g->path);
  if (klass >= g->info.classes)
    return gf__fail(GF_EUSAGE, "class %d: the generator's classes are 0..%d", klass, g->info.classes - 1);
  if (n == 0) return 0;
  float *z = z_out ? z_out : malloc(sizeof(float) * (size_t)n * g->info.nz);
  int32_t *y = klass >= 0 ? malloc(sizeof(int32_t) * (size_t)n) : NULL;
  if (!z || (klass >= 0 && !y)) {
    if (!z_out) free(z);
    free(y);
    return gf__fail(GF_ENOMEM, "out of memory");
  }
  for (int i = 0; y && i < n; i++) y[i] = klass;
  gf__rng r;
  gf__rng_init(&r, seed, GF_STREAM_SAMPLE);
  /* the numbers of ops->rand_* on the same stream and counter (gf_sample draws them there) */
  long cnt = (long)n * g->info.nz;
  if (!strcmp(g->cfg.model_noise, "uniform"))
    gf__rng_uniform(&r, z, cnt, (float)g->cfg.model_noise_lo, (float)g->cfg.model_noise_hi);
  else
    gf__rng_normal(&r, z, cnt, 0.0f, 1.0f);
  int rc = gf_generator_generate_labeled(g, z, y, n, out);
  if (!z_out) free(z);
  free(y);
  return rc;
}

int gf_generator_translate(gf_generator *g, const float *in, int n, int h, int w, float *out) {
  if (!g || !in || !out || n < 0) return gf__fail(GF_EINVAL, "gf_generator_translate: bad argument");
  if (!g->info.translates)
    return gf__fail(GF_EUSAGE, "%s: a %s generator draws from latents (gf_generator_generate), it translates no images",
                    g->path, g->info.arch);
  GF_TRY(gf__i2i_check_size(&g->cfg, h, w));
  GF_TRY(i2i_net_build(g, h, w));
  size_t in_n = (size_t)g->info.in_c * h * w, out_n = (size_t)g->info.c * h * w;
  for (int i = 0; i < n; i++) {
    g->ops->to_device(g->in_dev, in + i * in_n, sizeof(float) * in_n);
    /* as `ganforge translate` (junyanz test.py without --eval): BatchNorm on the image's own
       statistics, dropout off (no stream) */
    const float *y = gf__net_forward(&g->G, &g->ctx, g->in_dev, 1, 1, NULL);
    g->ops->to_host(out + i * out_n, y, sizeof(float) * out_n);
  }
  return 0;
}

/* ---- for the exporters ---- */

int gf__infer_net(gf_generator *g, gf__net **net, const gf_config **cfg, const char **file) {
  *net = &g->G;
  *cfg = &g->cfg;
  if (file) *file = g->path;
  return 0;
}
