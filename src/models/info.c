/* info.c: `ganforge info`: describes a checkpoint or generator file (architecture, sizes, position). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "ganforge/ganforge.h"
#include "io/safetensors.h"
#include "models/classifier.h"
#include "models/cyclegan.h"
#include "models/gan.h"

static const char *count(double v, char *buf, size_t cap) {
  if (v >= 1e9) snprintf(buf, cap, "%.2f G", v / 1e9);
  else if (v >= 1e6) snprintf(buf, cap, "%.2f M", v / 1e6);
  else snprintf(buf, cap, "%.1f K", v / 1e3);
  return buf;
}

/* The parameter count, the multiply-adds per sample (docs/compress.md: the papers' count) and
   the layers with their tensor-name stems. */
static void describe_net(gf__strbuf *o, const gf__net *net) {
  char m[32];
  gf__strbuf_put(o, "%s: %ld parameters, %s multiply-adds per %dx%dx%d input\n", net->name, net->nparam,
      count((double)gf__net_macs(net), m, sizeof m), net->in_c, net->in_h, net->in_w);
  for (int i = 0; i < net->n; i++) {
    char d[160];
    gf__strbuf_put(o, "  %s.%-28s %s%s\n", net->name, net->layers[i].tname, gf__layer_desc(&net->layers[i], d, sizeof d),
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
  gf__strbuf o = {buf, 0, cap};
  buf[0] = 0;
  const char *ck = gf__st_meta(&f, "kind");
  int is_cls = ck && !strcmp(ck, "classifier");
  const char *kind = is_cls ? "classifier weights" : gf__st_meta(&f, "checkpoint") ? "training checkpoint" : "generator weights";
  gf__strbuf_put(&o, "file: %s (%s, %.1f KiB, %d tensors)\n", path, kind, (double)f.len / 1024.0, f.n);
  static const char *keys[] = {"g_steps", "d_steps", "steps", "epoch", "batch", "seconds", "opt.G.lr", "opt.D.lr",
                               "test_accuracy", "nclass", "image_shape"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const char *v = gf__st_meta(&f, keys[i]);
    if (v) gf__strbuf_put(&o, "%s: %s\n", keys[i], v);
  }
  const char *text = gf__st_meta(&f, "config");
  int rc = 0;
  if (text) {
    gf_config cfg;
    gf_config_defaults(&cfg);
    /* a stored config the networks cannot be built from: described, not planned (the builders
       trust checked model keys) */
    if (gf_config_from_text(&cfg, text) < 0 || (!is_cls && gf__config_validate_model(&cfg) < 0)) {
      gf__strbuf_put(&o, "architecture: not described (bad config in metadata: %s)\n", gf_last_error());
    } else {
      int c = 1, h = 1, w = 1;
      gf__net G, D;
      if (is_cls) {
        gf__classifier m;
        gf__strbuf_put(&o, "architecture: CNN classifier on %s (feature layer: %d-d)\n", cfg.data_name, GF_CLASSIFIER_FEAT);
        if (gf__classifier_open(&m, path, gf__ops_cpu(), 1) == 0) {
          describe_net(&o, &m.net);
          gf__classifier_destroy(&m);
        }
      } else if (!strcmp(cfg.model_arch, "cyclegan") || !strcmp(cfg.model_arch, "pix2pix")) {
        int pix = !strcmp(cfg.model_arch, "pix2pix"), sz = cfg.data_crop_size;
        char gdesc[200];
        if (!strcmp(cfg.model_g_block, "inception"))
          snprintf(gdesc, sizeof gdesc, "inception generator (CAT) of %d blocks", cfg.model_n_blocks > 0 ? cfg.model_n_blocks
                   : !strcmp(cfg.model_netG, "resnet_6blocks") ? 6 : 9);
        else snprintf(gdesc, sizeof gdesc, "%s generator", cfg.model_netG);
        gf__strbuf_put(&o, "architecture: %s (%s, PatchGAN discriminator), %dx%d RGB crops\n", cfg.model_arch, gdesc, sz, sz);
        if (strcmp(cfg.model_g_block, "resnet"))
          gf__strbuf_put(&o, "generator blocks: %s (kernels %s%s%s)\n", cfg.model_g_block, cfg.model_g_kernels,
              cfg.model_g_channels[0] ? ", pruned widths " : "", cfg.model_g_channels);
        if (cfg.compress_teacher[0]) gf__strbuf_put(&o, "compressed from: %s (translates AtoB only)\n", cfg.compress_teacher);
        static const char *const gn[2] = {"G_A", "G_B"}, *const dn[2] = {"D_A", "D_B"};
        for (int k = 0; k < (pix ? 1 : 2); k++) {
          char pre[16];
          snprintf(pre, sizeof pre, "%s.", pix ? "G" : gn[k]);
          int present = 0; /* a compressed run holds G_A and D_A only */
          for (int t = 0; t < f.n && !present; t++) present = !strncmp(gf__st_name(&f, t), pre, strlen(pre));
          if (!present) continue;
          if (gf__build_i2i_generator(&G, &cfg, gf__ops_cpu(), gn[k], 3, 3, sz, sz) == 0) {
            describe_net(&o, &G);
            gf__net_free(&G);
            long long m256;
            long p256;
            char b[32];
            if (sz != 256 && gf_generator_cost(&cfg, 256, 256, &m256, &p256) == 0)
              gf__strbuf_put(&o, "%s at 256x256: %s multiply-adds per image\n", gn[k], count((double)m256, b, sizeof b));
          }
          if (gf__build_patch_d(&D, &cfg, gf__ops_cpu(), dn[k], pix ? 6 : 3, sz, sz) == 0) { describe_net(&o, &D); gf__net_free(&D); }
        }
      } else {
        gf__data_shape(&cfg, &c, &h, &w);
        gf__strbuf_put(&o, "architecture: %s, data %s (%dx%dx%d), noise %s %d-d\n", cfg.model_arch, cfg.data_name, c, h, w,
            cfg.model_noise, cfg.model_nz);
        /* planned, not allocated: a stored config may describe networks far larger than the file */
        if (gf__build_generator_plan(&G, &cfg, gf__ops_cpu(), (long)c * h * w) == 0) describe_net(&o, &G);
        if (gf__build_discriminator_plan(&D, &cfg, gf__ops_cpu(), c, h, w) == 0) describe_net(&o, &D);
      }
    }
    gf__strbuf_put(&o, "config:\n");
    const char *p = text;
    while (*p) {
      const char *nl = strchr(p, '\n');
      int n = nl ? (int)(nl - p) : (int)strlen(p);
      gf__strbuf_put(&o, "  %.*s\n", n, p);
      p += n + (nl ? 1 : 0);
    }
  } else {
    gf__strbuf_put(&o, "(no ganforge config in the metadata)\n");
  }
  gf__st_close(&f);
  return rc;
}
