/* inception.c: CAT's inception generator (Jin et al. 2021; layout and tensor names of
   snap-research/CAT's InceptionGenerator / InvertedResidualChannels) on the nn layer list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/inception.h"

#define NORM_EPS 1e-5f
#define BN_MOMENTUM 0.1f

static int is_bn(const gf_config *cfg) { return !strcmp(cfg->model_norm, "batch"); }

/* Norms of an inception generator always have a scale and a shift (the pruning reads the scales). */
static int add_norm(gf__net *net, const gf_config *cfg) {
  if (is_bn(cfg)) return gf__net_add_batchnorm(net, 1, NORM_EPS, BN_MOMENTUM);
  return gf__net_add_instnorm(net, 1, NORM_EPS);
}

static int n_blocks(const gf_config *cfg) {
  if (cfg->model_n_blocks > 0) return cfg->model_n_blocks;
  return !strcmp(cfg->model_netG, "resnet_6blocks") ? 6 : 9;
}

static int parse_kernels(const char *v, int *ks) {
  int n = 0;
  const char *p = v;
  while (*p && n < GF_INC_MAX_K) {
    char *end;
    long k = strtol(p, &end, 10);
    if (end == p || k < 1 || k > 9 || k % 2 == 0) return -1;
    ks[n++] = (int)k;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return *p || n == 0 ? -1 : n;
}

/* Reads up to cap non-negative integers separated by commas from *p (stops at ';' or the end). */
static int read_group(const char **p, int *out, int cap) {
  int n = 0;
  while (**p && **p != ';') {
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p || v < 0 || v > 65536 || n >= cap) return -1;
    out[n++] = (int)v;
    *p = end;
    if (**p == ',') (*p)++;
    else if (**p && **p != ';') return -1;
  }
  if (**p == ';') (*p)++;
  return n;
}

int gf__inc_spec_from_config(gf__inc_spec *s, const gf_config *cfg) {
  memset(s, 0, sizeof *s);
  s->nb = n_blocks(cfg);
  if (s->nb > GF_INC_MAX_BLOCKS)
    return gf__fail(GF_EINVAL, "inception generator: %d blocks (at most %d)", s->nb, GF_INC_MAX_BLOCKS);
  s->nk = parse_kernels(cfg->model_g_kernels, s->ks);
  if (s->nk < 0) return gf__fail(GF_EINVAL, "config key 'model.g_kernels': '%s' is not a list of odd kernel sizes", cfg->model_g_kernels);
  const int ngf = cfg->model_ngf, mid = 4 * ngf / cfg->model_g_reduction;
  if (!cfg->model_g_channels[0]) {
    s->ds[0] = ngf; s->ds[1] = 2 * ngf; s->ds[2] = 4 * ngf;
    s->us[0] = 2 * ngf; s->us[1] = ngf;
    for (int b = 0; b < s->nb; b++)
      for (int k = 0; k < s->nk; k++) s->res[b][k] = s->dw[b][k] = mid;
    return 0;
  }
  const char *p = cfg->model_g_channels;
  int v[2 * GF_INC_MAX_K + 1], groups = 0, ok = 1;
  ok = read_group(&p, s->ds, 3) == 3;
  groups++;
  for (int b = 0; b < s->nb && ok && *p; b++, groups++) {
    ok = read_group(&p, v, 2 * s->nk) == 2 * s->nk;
    for (int k = 0; ok && k < s->nk; k++) { s->res[b][k] = v[k]; s->dw[b][k] = v[s->nk + k]; }
  }
  if (ok && *p) { ok = read_group(&p, s->us, 2) == 2 && !*p; groups++; }
  else ok = 0;
  if (ok) ok = groups == s->nb + 2;
  for (int i = 0; ok && i < 3; i++) ok = s->ds[i] > 0;
  for (int i = 0; ok && i < 2; i++) ok = s->us[i] > 0;
  if (!ok)
    return gf__fail(GF_EINVAL, "config key 'model.g_channels': '%s' is not %d groups separated by ';' (3 positive "
                    "down-sampling widths, then per block %d plain and %d depth-wise branch widths (0: none), then 2 "
                    "positive up-sampling widths)", cfg->model_g_channels, s->nb + 2, s->nk, s->nk);
  return 0;
}

void gf__inc_spec_format(const gf__inc_spec *s, char *buf, size_t cap) {
  size_t n = 0;
#define PUT(...) do { int k_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__); if (k_ > 0) n += (size_t)k_; } while (0)
  PUT("%d,%d,%d", s->ds[0], s->ds[1], s->ds[2]);
  for (int b = 0; b < s->nb; b++) {
    PUT(";");
    for (int k = 0; k < s->nk; k++) PUT("%s%d", k ? "," : "", s->res[b][k]);
    for (int k = 0; k < s->nk; k++) PUT(",%d", s->dw[b][k]);
  }
  PUT(";%d,%d", s->us[0], s->us[1]);
#undef PUT
}

#define NAME(...) gf__net_name_last(net, __VA_ARGS__)
#define LAST (net->n - 1)

/* One InvertedResidualChannels block: y = x + norm(sum of the branches of x); an empty block is
   the identity (no layers). */
static int add_block(gf__net *net, const gf_config *cfg, const gf__inc_spec *s, int b, gf__inc_map *m) {
  const int C = s->ds[2], bias = !is_bn(cfg);
  int any = 0;
  for (int k = 0; k < s->nk; k++) any |= s->res[b][k] > 0 || s->dw[b][k] > 0;
  for (int k = 0; k < s->nk; k++) {
    m->res[b][k] = (gf__inc_branch){-1, -1, -1, -1, -1};
    m->dw[b][k] = (gf__inc_branch){-1, -1, -1, -1, -1};
  }
  m->pw_norm[b] = -1;
  if (!any) { m->block_end[b] = LAST; return 0; }
  GF_TRY(gf__net_add_res_begin(net)); NAME("features.%d", b);
  const int x0 = LAST;
  int prev_end = -1, ri = 0, di = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int k = 0; k < s->nk; k++) {
      const int w = pass ? s->dw[b][k] : s->res[b][k], ks = s->ks[k], p = (ks - 1) / 2;
      if (w <= 0) continue;
      if (prev_end >= 0) { GF_TRY(gf__net_add_tap(net, x0)); NAME("features.%d.branch", b); }
      gf__inc_branch *br = pass ? &m->dw[b][k] : &m->res[b][k];
      if (!pass) { /* ReflectionPad, ConvBNReLU(k), Dropout, ReflectionPad, Conv(k) */
        const int i = ri++;
        if (p) { GF_TRY(gf__net_add_reflpad(net, p, p, p, p)); NAME("features.%d.res_ops.%d.0", b, i); }
        GF_TRY(gf__net_add_conv2d(net, w, ks, ks, 1, 1, 0, 0, bias)); NAME("features.%d.res_ops.%d.1.0", b, i);
        br->conv1 = LAST;
        GF_TRY(add_norm(net, cfg)); NAME("features.%d.res_ops.%d.1.1", b, i);
        br->norm1 = LAST;
        GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); NAME("features.%d.res_ops.%d.1.2", b, i);
        if (p) { GF_TRY(gf__net_add_reflpad(net, p, p, p, p)); NAME("features.%d.res_ops.%d.3", b, i); }
        GF_TRY(gf__net_add_conv2d(net, C, ks, ks, 1, 1, 0, 0, bias)); NAME("features.%d.res_ops.%d.4", b, i);
        br->conv2 = LAST;
      } else { /* ConvBNReLU(1x1), ReflectionPad, ConvBNReLU(k, depth-wise), Dropout, Conv(1x1) */
        const int i = di++;
        GF_TRY(gf__net_add_conv2d(net, w, 1, 1, 1, 1, 0, 0, bias)); NAME("features.%d.dw_ops.%d.0.0", b, i);
        br->conv1 = LAST;
        GF_TRY(add_norm(net, cfg)); NAME("features.%d.dw_ops.%d.0.1", b, i);
        br->norm1 = LAST;
        GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); NAME("features.%d.dw_ops.%d.0.2", b, i);
        if (p) { GF_TRY(gf__net_add_reflpad(net, p, p, p, p)); NAME("features.%d.dw_ops.%d.1", b, i); }
        GF_TRY(gf__net_add_conv2d_grouped(net, w, ks, ks, 1, 1, 0, 0, w, bias)); NAME("features.%d.dw_ops.%d.2.0", b, i);
        br->dwconv = LAST;
        GF_TRY(add_norm(net, cfg)); NAME("features.%d.dw_ops.%d.2.1", b, i);
        br->norm_dw = LAST;
        GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); NAME("features.%d.dw_ops.%d.2.2", b, i);
        GF_TRY(gf__net_add_conv2d(net, C, 1, 1, 1, 1, 0, 0, bias)); NAME("features.%d.dw_ops.%d.4", b, i);
        br->conv2 = LAST;
      }
      if (prev_end >= 0) { GF_TRY(gf__net_add_add(net, prev_end)); NAME("features.%d.sum", b); }
      prev_end = LAST;
    }
  GF_TRY(add_norm(net, cfg)); NAME("features.%d.pw_bn", b);
  m->pw_norm[b] = LAST;
  GF_TRY(gf__net_add_res_end(net)); NAME("features.%d", b);
  m->block_end[b] = LAST;
  return 0;
}

int gf__build_inception(gf__net *net, const gf_config *cfg, const gf__inc_spec *s, int out_c, gf__inc_map *map) {
  gf__inc_map local;
  gf__inc_map *m = map ? map : &local;
  memset(m, 0, sizeof *m);
  const int bias = !is_bn(cfg);
  GF_TRY(gf__net_add_reflpad(net, 3, 3, 3, 3)); NAME("down_sampling.0");
  int t = 1;
  for (int i = 0; i < 3; i++) {
    if (i == 0) GF_TRY(gf__net_add_conv2d(net, s->ds[0], 7, 7, 1, 1, 0, 0, bias));
    else GF_TRY(gf__net_add_conv2d(net, s->ds[i], 3, 3, 2, 2, 1, 1, bias));
    NAME("down_sampling.%d", t++);
    m->ds_conv[i] = LAST;
    GF_TRY(add_norm(net, cfg)); NAME("down_sampling.%d", t++);
    m->ds_norm[i] = LAST;
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); NAME("down_sampling.%d", t++);
  }
  m->ds_end = LAST;
  for (int b = 0; b < s->nb; b++) GF_TRY(add_block(net, cfg, s, b, m));
  t = 0;
  for (int i = 0; i < 2; i++) {
    GF_TRY(gf__net_add_convt2d(net, s->us[i], 3, 3, 2, 2, 1, 1, 1, 1, bias)); NAME("up_sampling.%d", t++);
    m->us_conv[i] = LAST;
    GF_TRY(add_norm(net, cfg)); NAME("up_sampling.%d", t++);
    m->us_norm[i] = LAST;
    GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0)); NAME("up_sampling.%d", t++);
  }
  GF_TRY(gf__net_add_reflpad(net, 3, 3, 3, 3)); NAME("up_sampling.%d", t++);
  GF_TRY(gf__net_add_conv2d(net, out_c, 7, 7, 1, 1, 0, 0, 1)); NAME("up_sampling.%d", t++);
  m->final_conv = LAST;
  GF_TRY(gf__net_add_act(net, GF_ACT_TANH, 0)); NAME("up_sampling.%d", t++);
  return 0;
}

void gf__inc_ka_layers(const gf__inc_map *map, int nb, int idx[GF_KA_LAYERS]) {
  idx[0] = map->ds_end;
  const int b[3] = {nb / 3 - 1, 2 * nb / 3 - 1, nb - 1};
  for (int i = 0; i < 3; i++) idx[1 + i] = b[i] >= 0 ? map->block_end[b[i]] : map->ds_end;
}
