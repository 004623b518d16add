/* config.c: `section.key` configuration: defaults, parsing, validation, files. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "ganforge/config.h"
#include "models/diffaug.h"

enum { T_INT, T_REAL, T_STR, T_LSTR };

typedef struct key_info {
  const char *name;
  int type;
  size_t off;
  const char *help;
} key_info;

#define GF__T_INT T_INT
#define GF__T_REAL T_REAL
#define GF__T_STR T_STR
#define GF__T_LSTR T_LSTR
static const key_info keys[] = {
#define GF__KEY(sec, key, type, def, help) {#sec "." #key, GF__T_##type, offsetof(gf_config, sec##_##key), help},
  GF_CONFIG_KEYS(GF__KEY)
#undef GF__KEY
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

void gf_config_defaults(gf_config *c) {
  memset(c, 0, sizeof *c);
#define GF__DEF_INT(f, v) c->f = (v);
#define GF__DEF_REAL(f, v) c->f = (v);
#define GF__DEF_STR(f, v) snprintf(c->f, sizeof c->f, "%s", (v));
#define GF__DEF_LSTR(f, v) snprintf(c->f, sizeof c->f, "%s", (v));
#define GF__DEF(sec, key, type, def, help) GF__DEF_##type(sec##_##key, def)
  GF_CONFIG_KEYS(GF__DEF)
#undef GF__DEF
}

static const key_info *find_key(const char *key) {
  for (int i = 0; i < NKEYS; i++)
    if (!strcmp(keys[i].name, key)) return &keys[i];
  return NULL;
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  size_t i = 0;
  while (s[i] && isspace((unsigned char)s[i])) i++;
  if (i) memmove(s, s + i, n - i + 1);
}

int gf_config_set(gf_config *c, const char *key, const char *value) {
  const key_info *k = find_key(key);
  if (!k) {
    /* suggest keys sharing the part after the dot */
    const char *dot = strchr(key, '.');
    for (int i = 0; dot && i < NKEYS; i++) {
      const char *kd = strchr(keys[i].name, '.');
      if (!strcmp(kd, dot)) return gf__fail(GF_EUSAGE, "unknown config key '%s' (did you mean '%s'?)", key, keys[i].name);
    }
    return gf__fail(GF_EUSAGE, "unknown config key '%s' (see 'ganforge train --help-keys')", key);
  }
  char *base = (char *)c + k->off;
  char *end;
  errno = 0;
  switch (k->type) {
  case T_INT: {
    long v = strtol(value, &end, 10);
    if (!*value || *end || errno || v < -2147483647L || v > 2147483647L)
      return gf__fail(GF_EUSAGE, "config key '%s': '%s' is not an integer", key, value);
    *(int *)base = (int)v;
    break;
  }
  case T_REAL: {
    double v = strtod(value, &end);
    if (!*value || *end || errno || !isfinite(v))
      return gf__fail(GF_EUSAGE, "config key '%s': '%s' is not a finite number", key, value);
    *(double *)base = v;
    break;
  }
  default: {
    size_t cap = k->type == T_LSTR ? GF_CONFIG_LSTR : 160;
    if (strlen(value) >= cap) return gf__fail(GF_EUSAGE, "config key '%s': value too long (at most %zu characters)", key, cap - 1);
    snprintf(base, cap, "%s", value);
  }
  }
  return 0;
}

int gf_config_set_kv(gf_config *c, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq) return gf__fail(GF_EUSAGE, "'%s' is not of the form section.key=value", kv);
  char key[128];
  size_t n = (size_t)(eq - kv);
  if (n >= sizeof key) return gf__fail(GF_EUSAGE, "config key too long in '%s'", kv);
  memcpy(key, kv, n);
  key[n] = 0;
  trim(key);
  char val[GF_CONFIG_LSTR + 64];
  if (strlen(eq + 1) >= sizeof val) return gf__fail(GF_EUSAGE, "config key '%s': value longer than %d characters", key, (int)sizeof val - 1);
  snprintf(val, sizeof val, "%s", eq + 1);
  trim(val);
  return gf_config_set(c, key, val);
}

int gf_config_get(const gf_config *c, const char *key, char *buf, unsigned cap) {
  const key_info *k = find_key(key);
  if (!k) return gf__fail(GF_EUSAGE, "unknown config key '%s'", key);
  const char *base = (const char *)c + k->off;
  switch (k->type) {
  case T_INT: snprintf(buf, cap, "%d", *(const int *)base); break;
  case T_REAL: snprintf(buf, cap, "%.17g", *(const double *)base); break;
  default: snprintf(buf, cap, "%s", base);
  }
  return 0;
}

int gf_config_load(gf_config *c, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return gf__fail(errno == ENOENT ? GF_ENOENT : GF_EIO, "%s: cannot open config file: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return gf__fail(GF_EIO, "%s: cannot open config file: it is a directory", path);
  /* read to the end in pieces, so pipes (--config <(...)) work as files do */
  FILE *f = fopen(path, "rb");
  if (!f) return gf__fail(GF_EIO, "%s: cannot open config file: %s", path, strerror(errno));
  size_t len = 0, cap = 4096;
  char *text = malloc(cap);
  int rc = text ? 0 : gf__fail(GF_ENOMEM, "%s: out of memory", path);
  while (rc == 0) {
    if (len == cap) {
      char *t = cap < ((size_t)1 << 24) ? realloc(text, cap * 2) : NULL;
      if (!t) { rc = gf__fail(GF_EUSAGE, "%s: config file larger than 16 MiB", path); break; }
      text = t;
      cap *= 2;
    }
    size_t k = fread(text + len, 1, cap - len, f);
    len += k;
    if (k == 0) {
      if (ferror(f)) rc = gf__fail(GF_EIO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (rc < 0) {
    free(text);
    return rc;
  }
  char line[GF_CONFIG_LSTR + 512], section[GF_CONFIG_LSTR + 512] = "";
  int lineno = 0;
  rc = 0;
  for (size_t pos = 0; pos < len && rc == 0;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    lineno++;
    if (memchr(text + pos, 0, n)) {
      rc = gf__fail(GF_EUSAGE, "%s:%d: NUL byte in the line (not a text file?)", path, lineno);
      break;
    }
    /* whole lines: a comment may be of any length; a setting longer than the buffer is an
       error, never cut into two settings */
    const char *hash = memchr(text + pos, '#', n);
    size_t m = hash ? (size_t)(hash - (text + pos)) : n;
    if (m >= sizeof line) {
      rc = gf__fail(GF_EUSAGE, "%s:%d: setting longer than %d characters", path, lineno, (int)sizeof line - 1);
      break;
    }
    memcpy(line, text + pos, m);
    line[m] = 0;
    pos += n + 1;
    trim(line);
    if (!line[0]) continue;
    if (line[0] == '[') {
      char *close = strchr(line, ']');
      if (!close) {
        rc = gf__fail(GF_EUSAGE, "%s:%d: bad section header", path, lineno);
        break;
      }
      *close = 0;
      snprintf(section, sizeof section, "%s", line + 1);
      trim(section);
      continue;
    }
    char kv[2 * GF_CONFIG_LSTR + 1100];
    const char *eq = strchr(line, '=');
    const char *dot = strchr(line, '.');
    if (section[0] && eq && (!dot || dot > eq))
      snprintf(kv, sizeof kv, "%s.%s", section, line);
    else
      snprintf(kv, sizeof kv, "%s", line);
    if ((rc = gf_config_set_kv(c, kv)) < 0) {
      char msg[600];
      snprintf(msg, sizeof msg, "%s", gf_last_error());
      rc = gf__fail(rc, "%s:%d: %s", path, lineno, msg);
    }
  }
  free(text);
  return rc;
}

char *gf_config_to_text(const gf_config *c) {
  size_t cap = 64 * 1024, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    gf__fail(GF_ENOMEM, "out of memory");
    return NULL;
  }
  buf[0] = 0;
  for (int i = 0; i < NKEYS; i++) {
    char v[GF_CONFIG_LSTR];
    gf_config_get(c, keys[i].name, v, sizeof v);
    len += (size_t)snprintf(buf + len, cap - len, "%s = %s\n", keys[i].name, v);
  }
  return buf;
}

int gf_config_from_text(gf_config *c, const char *text) {
  const char *p = text;
  int lineno = 0;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    char line[GF_CONFIG_LSTR + 512];
    lineno++;
    if (n >= sizeof line) return gf__fail(GF_EFORMAT, "config text line %d too long", lineno);
    memcpy(line, p, n);
    line[n] = 0;
    trim(line);
    if (line[0] && line[0] != '#') GF_TRY(gf_config_set_kv(c, line));
    p += n + (nl ? 1 : 0);
  }
  return 0;
}

int gf_config_save(const gf_config *c, const char *path) {
  char *buf = gf_config_to_text(c);
  if (!buf) return GF_ENOMEM;
  int rc = gf__write_file_atomic(path, buf, strlen(buf));
  free(buf);
  return rc;
}

static int one_of(const char *key, const char *v, const char *const *opts) {
  char list[256] = "";
  for (int i = 0; opts[i]; i++) {
    if (!strcmp(v, opts[i])) return 0;
    strcat(list, i ? ", " : "");
    strcat(list, opts[i]);
  }
  return gf__fail(GF_EUSAGE, "config key '%s': '%s' is not one of: %s", key, v, list);
}

static int widths_ok(const char *key, const char *v) {
  if (!*v) return 0;
  const char *p = v;
  while (*p) {
    char *end;
    long w = strtol(p, &end, 10);
    if (end == p || w <= 0 || w > 1 << 20) return gf__fail(GF_EUSAGE, "config key '%s': '%s' is not a list of positive widths", key, v);
    p = end;
    if (*p == ',') p++;
    else if (*p) return gf__fail(GF_EUSAGE, "config key '%s': '%s' is not a list of positive widths", key, v);
  }
  return 0;
}

/* Inception branch kernel sizes: 1 to 4 distinct odd sizes from 1 to 9. */
static int kernels_ok(const char *key, const char *v) {
  const char *p = v;
  int n = 0, seen = 0;
  while (*p) {
    char *end;
    long k = strtol(p, &end, 10);
    if (end == p || k < 1 || k > 9 || k % 2 == 0 || (seen >> k & 1) || ++n > 4) break;
    seen |= 1 << k;
    p = end;
    if (*p == ',') p++;
    else if (*p) break;
    if (!*p) return 0;
  }
  return gf__fail(GF_EUSAGE, "config key '%s': '%s' is not a list of 1 to 4 distinct odd kernel sizes from 1 to 9 "
                  "(e.g. 1,3,5)", key, v);
}

/* train.diffaug: "" or a comma list of color, translation, cutout -> GF_DIFFAUG_* flags (0: off). */
int gf__diffaug_parse(const char *spec, int *flags) {
  static const char *const names[] = {"color", "translation", "cutout"};
  *flags = 0;
  const char *p = spec;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    int k = 0;
    while (k < 3 && (strlen(names[k]) != len || strncmp(p, names[k], len))) k++;
    if (k == 3)
      return gf__fail(GF_EUSAGE, "config key 'train.diffaug': '%.*s' is not one of: color, translation, cutout "
                      "(a comma list, '' for none)", (int)len, p);
    *flags |= 1 << k;
    p = e ? e + 1 : p + len;
  }
  return 0;
}

#define RANGE(f, key, ok, what)                                                                  \
  if (!(ok)) return gf__fail(GF_EUSAGE, "config key '%s': %s must be %s", key, #f, what)

/* The keys that shape the networks (model.*): checked for a run by gf_config_validate, and for a
   config stored in a file when the file is opened (gf__config_from_stored). */
int gf__config_validate_model(const gf_config *c) {
  static const char *const acts[] = {"relu", "lrelu", "tanh", "sigmoid", NULL};
  static const char *const dacts[] = {"relu", "lrelu", "tanh", "maxout", NULL};
  static const char *const inits[] = {"torch", "normal", "uniform", "xavier", "kaiming", NULL};
  static const char *const outs[] = {"tanh", "sigmoid", "linear", NULL};
  static const char *const gnorms[] = {"none", "bn", "bn_after", NULL};
  static const char *const dnorms[] = {"none", "bn", "spectral", NULL};
  static const char *const dcnorms[] = {"bn", "none", "spectral", NULL};
  static const char *const noises[] = {"normal", "uniform", NULL};
  static const char *const archs[] = {"mlp", "dcgan", "cyclegan", "pix2pix", "classifier", NULL};
  static const char *const netgs[] = {"resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128", NULL};
  static const char *const norms[] = {"instance", "batch", NULL};
  static const char *const gmodes[] = {"lsgan", "vanilla", NULL};
  static const char *const sbn[] = {"eval", "batch", NULL};
  static const char *const gblocks[] = {"resnet", "inception", NULL};
  static const char *const conds[] = {"none", "concat", "projection", "acgan", NULL};
  GF_TRY(one_of("model.arch", c->model_arch, archs));
  GF_TRY(one_of("model.noise", c->model_noise, noises));
  GF_TRY(one_of("model.netG", c->model_netG, netgs));
  GF_TRY(one_of("model.norm", c->model_norm, norms));
  GF_TRY(one_of("model.gan_mode", c->model_gan_mode, gmodes));
  GF_TRY(one_of("model.g_act", c->model_g_act, acts));
  GF_TRY(one_of("model.g_norm", c->model_g_norm, gnorms));
  GF_TRY(one_of("model.g_out", c->model_g_out, outs));
  GF_TRY(one_of("model.g_init", c->model_g_init, inits));
  GF_TRY(one_of("model.d_act", c->model_d_act, dacts));
  GF_TRY(one_of("model.d_norm", c->model_d_norm, dnorms));
  GF_TRY(one_of("model.dcgan_d_norm", c->model_dcgan_d_norm, dcnorms));
  GF_TRY(one_of("model.d_init", c->model_d_init, inits));
  GF_TRY(one_of("model.sample_bn", c->model_sample_bn, sbn));
  GF_TRY(one_of("model.g_block", c->model_g_block, gblocks));
  GF_TRY(kernels_ok("model.g_kernels", c->model_g_kernels));
  GF_TRY(one_of("model.cond", c->model_cond, conds));
  GF_TRY(widths_ok("model.g_hidden", c->model_g_hidden));
  GF_TRY(widths_ok("model.d_hidden", c->model_d_hidden));
  RANGE(nz, "model.nz", c->model_nz >= 1 && c->model_nz <= 65536, "between 1 and 65536");
  RANGE(noise range, "model.noise_hi", c->model_noise_hi > c->model_noise_lo, "greater than model.noise_lo");
  RANGE(pieces, "model.d_pieces", c->model_d_pieces >= 1 && c->model_d_pieces <= 64, "between 1 and 64");
  RANGE(dropout, "model.d_dropout", c->model_d_dropout >= 0 && c->model_d_dropout < 1, "in [0, 1)");
  RANGE(dropout, "model.d_dropout_in", c->model_d_dropout_in >= 0 && c->model_d_dropout_in < 1, "in [0, 1)");
  RANGE(ngf, "model.ngf", c->model_ngf >= 1 && c->model_ngf <= 4096, "between 1 and 4096");
  RANGE(ndf, "model.ndf", c->model_ndf >= 1 && c->model_ndf <= 4096, "between 1 and 4096");
  RANGE(nc, "model.nc", c->model_nc == 1 || c->model_nc == 3, "1 or 3");
  RANGE(size, "model.size", c->model_size >= 4 && c->model_size <= 1024, "between 4 and 1024");
  if (!strcmp(c->model_arch, "dcgan")) {
    int sz = c->model_size, pow2 = sz >= 16 && sz <= 256 && (sz & (sz - 1)) == 0;
    RANGE(size, "model.size", sz == 28 || pow2, "28 or a power of two from 16 to 256 for model.arch=dcgan");
  }
  RANGE(pack, "model.pack", c->model_pack >= 1 && c->model_pack <= 64, "between 1 and 64");
  if (c->model_pack > 1 && (!strcmp(c->model_arch, "cyclegan") || !strcmp(c->model_arch, "pix2pix")))
    return gf__fail(GF_EUSAGE, "config key 'model.pack': packing (%d) is for model.arch=mlp | dcgan, not %s",
                    c->model_pack, c->model_arch);
  RANGE(n_blocks, "model.n_blocks", c->model_n_blocks >= 0 && c->model_n_blocks <= 16, "between 0 and 16");
  RANGE(n_layers_d, "model.n_layers_d", c->model_n_layers_d >= 1 && c->model_n_layers_d <= 6, "between 1 and 6");
  RANGE(dropout, "model.dropout", c->model_dropout == 0 || c->model_dropout == 1, "0 or 1");
  RANGE(norm_affine, "model.norm_affine", c->model_norm_affine == 0 || c->model_norm_affine == 1, "0 or 1");
  RANGE(g_reduction, "model.g_reduction", c->model_g_reduction >= 1 && c->model_g_reduction <= 256, "between 1 and 256");
  if (!strcmp(c->model_g_block, "inception")) {
    if (!strncmp(c->model_netG, "unet", 4))
      return gf__fail(GF_EUSAGE, "config key 'model.g_block': inception blocks replace the residual blocks of a ResNet "
                      "generator, not of model.netG=%s", c->model_netG);
    if (!strcmp(c->model_norm, "instance") && !c->model_norm_affine)
      return gf__fail(GF_EUSAGE, "config key 'model.g_block': an inception generator is pruned by its norms' scaling "
                      "factors: set model.norm_affine=1 (or model.norm=batch)");
  }
  RANGE(init_gain, "model.init_gain", c->model_init_gain > 0, "positive");
  RANGE(bn_init_std, "model.bn_init_std", c->model_bn_init_std >= 0, "0 or positive");
  RANGE(eps, "model.bn_eps", c->model_bn_eps > 0, "positive");
  RANGE(momentum, "model.bn_momentum", c->model_bn_momentum >= 0 && c->model_bn_momentum <= 1, "in [0, 1]");
  RANGE(n_classes, "model.n_classes", c->model_n_classes >= 0 && c->model_n_classes <= 65536, "between 0 and 65536");
  int gan_arch = !strcmp(c->model_arch, "mlp") || !strcmp(c->model_arch, "dcgan");
  if (strcmp(c->model_cond, "none") && !gan_arch)
    return gf__fail(GF_EUSAGE, "config key 'model.cond': conditional models are model.arch=mlp | dcgan, not %s", c->model_arch);
  if (strcmp(c->model_cond, "none") && c->model_pack > 1)
    return gf__fail(GF_EUSAGE, "config key 'model.cond': a conditional discriminator judges one labelled sample at a "
                    "time; model.pack must be 1 (it is %d)", c->model_pack);
  return 0;
}

int gf__config_from_stored(gf_config *c, const char *text, const char *path, const char *where) {
  int rc = gf_config_from_text(c, text);
  if (rc == 0) rc = gf__config_validate_model(c);
  if (rc == 0) return 0;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", gf_last_error());
  return gf__fail(GF_EFORMAT, "%s: bad config in %s: %s", path, where, msg);
}

int gf_config_validate(const gf_config *c) {
  static const char *const losses[] = {"bce", "wgan", "wgan-gp", "hinge", "lsgan", "ragan", NULL};
  static const char *const datas[] = {"mnist", "fashion-mnist", "digits", "gauss1d", "ring8", "grid25", "shapes", "cifar10", "folder", "faces", "stacked-mnist", NULL};
  static const char *const splits[] = {"train", "test", "all", NULL};
  static const char *const glosses[] = {"minimax", "nonsaturating", "kl", NULL};
  static const char *const opts[] = {"adam", "sgd", "rmsprop", NULL};
  static const char *const dirs[] = {"AtoB", "BtoA", NULL};
  static const char *const badimg[] = {"skip", "fail", NULL};
  static const char *const cinits[] = {"pruned", "scratch", NULL};
  GF_TRY(gf__config_validate_model(c));
  GF_TRY(one_of("data.direction", c->data_direction, dirs));
  GF_TRY(one_of("train.loss", c->train_loss, losses));
  if (strcmp(c->train_loss, "bce") && strcmp(c->model_arch, "mlp") && strcmp(c->model_arch, "dcgan"))
    return gf__fail(GF_EUSAGE, "config key 'train.loss': %s is for model.arch=mlp | dcgan, not %s (cyclegan/pix2pix: "
                    "model.gan_mode)", c->train_loss, c->model_arch);
  GF_TRY(one_of("compress.init", c->compress_init, cinits));
  int augf;
  GF_TRY(gf__diffaug_parse(c->train_diffaug, &augf));
  GF_TRY(one_of("data.name", c->data_name, datas));
  GF_TRY(one_of("data.split", c->data_split, splits));
  GF_TRY(one_of("data.on_bad_image", c->data_on_bad_image, badimg));
  GF_TRY(one_of("train.g_loss", c->train_g_loss, glosses));
  GF_TRY(one_of("train.optimizer", c->train_optimizer, opts));
  static const char *const precs[] = {"fp32", "bf16", NULL};
  GF_TRY(one_of("train.precision", c->train_precision, precs));
  if (c->train_batch >= 1 && c->train_batch % c->model_pack)
    return gf__fail(GF_EUSAGE, "config key 'model.pack': train.batch %d is not divisible by model.pack %d (the "
                    "discriminator sees batch / pack packs of %d samples)", c->train_batch, c->model_pack, c->model_pack);
  RANGE(min_channels, "compress.min_channels", c->compress_min_channels >= 1, "at least 1");
  RANGE(macs, "compress.macs", c->compress_macs >= 0, "0 or positive");
  RANGE(lambda, "compress.lambda_distill", c->compress_lambda_distill >= 0, "0 or positive");
  RANGE(lambda, "compress.lambda_recon", c->compress_lambda_recon >= 0, "0 or positive");
  RANGE(lambda, "compress.lambda_gan", c->compress_lambda_gan >= 0, "0 or positive");
  RANGE(load_size, "data.load_size", c->data_load_size >= 8 && c->data_load_size <= 4096, "between 8 and 4096");
  RANGE(crop_size, "data.crop_size", c->data_crop_size >= 8 && c->data_crop_size <= c->data_load_size, "between 8 and data.load_size");
  RANGE(n_epochs, "train.n_epochs", c->train_n_epochs >= 0, "0 or positive");
  RANGE(n_epochs_decay, "train.n_epochs_decay", c->train_n_epochs_decay >= 0, "0 or positive");
  RANGE(lambda, "train.lambda_A", c->train_lambda_A >= 0, "0 or positive");
  RANGE(lambda, "train.lambda_B", c->train_lambda_B >= 0, "0 or positive");
  RANGE(lambda, "train.lambda_identity", c->train_lambda_identity >= 0, "0 or positive");
  RANGE(lambda, "train.lambda_L1", c->train_lambda_L1 >= 0, "0 or positive");
  RANGE(pool_size, "train.pool_size", c->train_pool_size >= 0 && c->train_pool_size <= 1000, "between 0 and 1000");
  RANGE(shift, "data.shift", c->data_shift >= 0 && c->data_shift <= 8, "between 0 and 8");
  RANGE(eval_every, "train.eval_every", c->train_eval_every >= 1, "positive");
  RANGE(clip, "train.clip", c->train_clip >= 0, "0 or positive");
  RANGE(gp_lambda, "train.gp_lambda", c->train_gp_lambda >= 0, "0 or positive");
  RANGE(r1_gamma, "train.r1_gamma", c->train_r1_gamma >= 0, "0 or positive");
  RANGE(r1_every, "train.r1_every", c->train_r1_every >= 1 && c->train_r1_every <= 1000000, "between 1 and 1000000");
  RANGE(rms_alpha, "train.rms_alpha", c->train_rms_alpha >= 0 && c->train_rms_alpha < 1, "in [0, 1)");
  RANGE(eval_n, "train.eval_n", c->train_eval_n >= 0 && c->train_eval_n <= 100000, "between 0 and 100000");
  RANGE(flip, "data.flip", c->data_flip == 0 || c->data_flip == 1, "0 or 1");
  RANGE(limit, "data.limit", c->data_limit >= 0, "0 or positive");
  RANGE(offset, "data.offset", c->data_offset >= 0, "0 or positive");
  RANGE(n, "data.n", c->data_n >= 1 || (c->data_n == 0 && !strcmp(c->data_name, "stacked-mnist")),
        "positive (0 for stacked-mnist: 60000)");
  RANGE(size, "data.size", c->data_size >= 8 && c->data_size <= 512, "between 8 and 512");
  RANGE(sigma, "data.sigma", c->data_sigma > 0, "positive");
  RANGE(epochs, "train.epochs", c->train_epochs >= 0, "0 or positive");
  RANGE(max_steps, "train.max_steps", c->train_max_steps >= 0, "0 or positive");
  RANGE(threads, "train.threads", c->train_threads >= 0 && c->train_threads <= 4096, "between 0 and 4096");
  RANGE(batch, "train.batch", c->train_batch >= 1 && c->train_batch <= 65536, "between 1 and 65536");
  RANGE(d_steps, "train.d_steps", c->train_d_steps >= 1 && c->train_d_steps <= 100, "between 1 and 100");
  RANGE(lr, "train.lr", c->train_lr > 0 && c->train_lr <= 1e3, "positive and at most 1000");
  RANGE(lr_d, "train.lr_d", c->train_lr_d >= 0 && c->train_lr_d <= 1e3, "0 or positive, at most 1000");
  RANGE(beta1, "train.beta1", c->train_beta1 >= 0 && c->train_beta1 < 1, "in [0, 1)");
  RANGE(beta2, "train.beta2", c->train_beta2 >= 0 && c->train_beta2 < 1, "in [0, 1)");
  RANGE(lr_decay, "train.lr_decay", c->train_lr_decay >= 1, "at least 1");
  RANGE(ema, "train.ema", c->train_ema >= 0 && c->train_ema < 1, "in [0, 1) (0: no weight average)");
  if (c->train_ema > 0 && (!strcmp(c->model_arch, "cyclegan") || !strcmp(c->model_arch, "pix2pix") ||
                           !strcmp(c->model_arch, "classifier")))
    return gf__fail(GF_EUSAGE, "config key 'train.ema': the generator average is for model.arch=mlp | dcgan, not %s",
                    c->model_arch);
  RANGE(aux_weight, "train.aux_weight", c->train_aux_weight >= 0, "0 or positive");
  int gan_arch = !strcmp(c->model_arch, "mlp") || !strcmp(c->model_arch, "dcgan");
  if (augf && !gan_arch)
    return gf__fail(GF_EUSAGE, "config key 'train.diffaug': DiffAugment is for model.arch=mlp | dcgan, not %s", c->model_arch);
  RANGE(grid, "train.grid", c->train_grid >= 1 && c->train_grid <= 100000, "between 1 and 100000");
  RANGE(nrow, "train.nrow", c->train_nrow >= 1, "positive");
  RANGE(log_every, "train.log_every", c->train_log_every >= 1, "positive");
  RANGE(checkpoint_every, "train.checkpoint_every", c->train_checkpoint_every >= 0, "0 or positive");
  RANGE(keep, "train.keep", c->train_keep >= 1, "at least 1");
  RANGE(sync_bn, "train.sync_bn", c->train_sync_bn == 0 || c->train_sync_bn == 1, "0 or 1");
  RANGE(dist_timeout, "train.dist_timeout", c->train_dist_timeout >= 1 && c->train_dist_timeout <= 1e6,
        "between 1 and 1000000 seconds");
  RANGE(tf32, "train.tf32", c->train_tf32 == 0 || c->train_tf32 == 1, "0 or 1");
  RANGE(cuda_graph, "train.cuda_graph", c->train_cuda_graph == 0 || c->train_cuda_graph == 1, "0 or 1");
  return 0;
}
#undef RANGE

int gf_config_nkeys(void) { return NKEYS; }
const char *gf_config_key_name(int i) { return i >= 0 && i < NKEYS ? keys[i].name : NULL; }
const char *gf_config_key_help(int i) { return i >= 0 && i < NKEYS ? keys[i].help : NULL; }
const char *gf_config_key_type(int i) {
  if (i < 0 || i >= NKEYS) return NULL;
  return keys[i].type == T_INT ? "int" : keys[i].type == T_REAL ? "real" : "string";
}
