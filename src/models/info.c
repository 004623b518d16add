/* info.c: `ganforge info`: describes a checkpoint or generator file (architecture, sizes, position). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "ganforge/ganforge.h"
#include "io/safetensors.h"
#include "models/classifier.h"
#include "models/cyclegan.h"
#include "models/gan.h"

static const char *layer_desc(const gf__layer *l, char *buf, size_t cap) {
  static const char *acts[] = {"ReLU", "LeakyReLU", "Tanh", "Sigmoid"};
  switch (l->kind) {
  case GF_LAYER_LINEAR: snprintf(buf, cap, "Linear(%ld -> %d%s)", gf__layer_in_size(l), l->out_c, l->has_bias ? "" : ", no bias"); break;
  case GF_LAYER_ACT: snprintf(buf, cap, "%s", acts[l->act]); break;
  case GF_LAYER_MAXOUT: snprintf(buf, cap, "Maxout(%d pieces -> %d)", l->pieces, l->out_c); break;
  case GF_LAYER_DROPOUT: snprintf(buf, cap, "Dropout(p=%g)", l->alpha); break;
  case GF_LAYER_BATCHNORM: snprintf(buf, cap, "BatchNorm(%d)", l->in_c); break;
  case GF_LAYER_CONV: snprintf(buf, cap, "Conv2d(%d -> %d, %dx%d, stride %d)  %dx%d -> %dx%d", l->in_c, l->out_c, l->geom.kh, l->geom.kw, l->geom.sh, l->in_h, l->in_w, l->out_h, l->out_w); break;
  case GF_LAYER_CONVT: snprintf(buf, cap, "ConvTranspose2d(%d -> %d, %dx%d, stride %d)  %dx%d -> %dx%d", l->in_c, l->out_c, l->geom.kh, l->geom.kw, l->geom.sh, l->in_h, l->in_w, l->out_h, l->out_w); break;
  case GF_LAYER_INSTNORM: snprintf(buf, cap, "InstanceNorm2d(%d)", l->in_c); break;
  case GF_LAYER_REFLPAD: snprintf(buf, cap, "ReflectionPad2d  %dx%d -> %dx%d", l->in_h, l->in_w, l->out_h, l->out_w); break;
  case GF_LAYER_RESHAPE: snprintf(buf, cap, "Reshape(%d, %d, %d)", l->out_c, l->out_h, l->out_w); break;
  case GF_LAYER_ONEHOT: snprintf(buf, cap, "OneHotConcat(%d classes: %d -> %d channels)", l->nclass, l->in_c, l->out_c); break;
  case GF_LAYER_CBN: snprintf(buf, cap, "ConditionalBatchNorm(%d, %d classes)", l->in_c, l->nclass); break;
  case GF_LAYER_PROJ: snprintf(buf, cap, "Projection(%ld -> 1, %d classes)", gf__layer_in_size(l), l->nclass); break;
  default: snprintf(buf, cap, "layer kind %d", (int)l->kind); break;
  }
  return buf;
}

typedef struct out_buf { char *p; size_t len, cap; } out_buf;
static void put(out_buf *o, const char *fmt, ...) GF__PRINTF(2, 3);
static void put(out_buf *o, const char *fmt, ...) {
  if (o->len + 1 >= o->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0) o->len = GF_MIN(o->len + (size_t)n, o->cap - 1);
}

static void describe_net(out_buf *o, const gf__net *net) {
  put(o, "%s: %ld parameters\n", net->name, net->nparam);
  for (int i = 0; i < net->n; i++) {
    char d[128];
    put(o, "  %s.net.%-3d %s%s\n", net->name, i, layer_desc(&net->layers[i], d, sizeof d),
        net->layers[i].sn ? "  (spectral norm)" : "");
  }
}

int gf_info(const char *path_in, char *buf, unsigned cap) {
  char path[2048];
  struct stat st;
  if (stat(path_in, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such file or run folder", path_in);
  if (S_ISDIR(st.st_mode)) {
    snprintf(path, sizeof path, "%s/checkpoints/latest.safetensors", path_in);
    if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/generator.safetensors", path_in);
    if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/classifier.safetensors", path_in);
    if (stat(path, &st) != 0) return gf__fail(GF_ENOENT, "%s: no checkpoint, generator or classifier in this folder", path_in);
  } else {
    snprintf(path, sizeof path, "%s", path_in);
  }
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  out_buf o = {buf, 0, cap};
  buf[0] = 0;
  const char *ck = gf__st_meta(&f, "kind");
  int is_cls = ck && !strcmp(ck, "classifier");
  const char *kind = is_cls ? "classifier weights" : gf__st_meta(&f, "checkpoint") ? "training checkpoint" : "generator weights";
  put(&o, "file: %s (%s, %.1f KiB, %d tensors)\n", path, kind, (double)f.len / 1024.0, f.n);
  static const char *keys[] = {"g_steps", "d_steps", "steps", "epoch", "batch", "seconds", "opt.G.lr", "opt.D.lr",
                               "test_accuracy", "nclass", "image_shape"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const char *v = gf__st_meta(&f, keys[i]);
    if (v) put(&o, "%s: %s\n", keys[i], v);
  }
  const char *text = gf__st_meta(&f, "config");
  int rc = 0;
  if (text) {
    gf_config cfg;
    gf_config_defaults(&cfg);
    if (gf_config_from_text(&cfg, text) == 0) {
      int c = 1, h = 1, w = 1;
      gf__net G, D;
      if (is_cls) {
        gf__classifier m;
        put(&o, "architecture: CNN classifier on %s (feature layer: %d-d)\n", cfg.data_name, GF_CLASSIFIER_FEAT);
        if (gf__classifier_open(&m, path, gf__ops_cpu(), 1) == 0) {
          describe_net(&o, &m.net);
          gf__classifier_destroy(&m);
        }
      } else if (!strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix")) {
        int pix = !strcmp(cfg.model_arch, "pix2pix"), sz = cfg.data_crop_size;
        put(&o, "architecture: %s (%s generator, PatchGAN discriminator), %dx%d RGB crops\n", cfg.model_arch,
            cfg.model_netG, sz, sz);
        static const char *const gn[2] = {"G_A", "G_B"}, *const dn[2] = {"D_A", "D_B"};
        for (int k = 0; k < (pix ? 1 : 2); k++) {
          if (gf__build_i2i_generator(&G, &cfg, gf__ops_cpu(), gn[k], 3, 3, sz, sz) == 0) { describe_net(&o, &G); gf__net_free(&G); }
          if (gf__build_patch_d(&D, &cfg, gf__ops_cpu(), dn[k], pix ? 6 : 3, sz, sz) == 0) { describe_net(&o, &D); gf__net_free(&D); }
        }
      } else {
        gf__data_shape(&cfg, &c, &h, &w);
        put(&o, "architecture: %s, data %s (%dx%dx%d), noise %s %d-d\n", cfg.model_arch, cfg.data_name, c, h, w,
            cfg.model_noise, cfg.model_nz);
        /* planned, not allocated: a stored config may describe networks far larger than the file */
        if (gf__build_generator_plan(&G, &cfg, gf__ops_cpu(), (long)c * h * w) == 0) describe_net(&o, &G);
        if (gf__build_discriminator_plan(&D, &cfg, gf__ops_cpu(), c, h, w) == 0) describe_net(&o, &D);
      }
    }
    put(&o, "config:\n");
    const char *p = text;
    while (*p) {
      const char *nl = strchr(p, '\n');
      int n = nl ? (int)(nl - p) : (int)strlen(p);
      put(&o, "  %.*s\n", n, p);
      p += n + (nl ? 1 : 0);
    }
  } else {
    put(&o, "(no ganforge config in the metadata)\n");
  }
  gf__st_close(&f);
  return rc;
}
