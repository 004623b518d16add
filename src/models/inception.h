/* inception.h: CAT's inception-based generator (Jin et al. 2021, snap-research/CAT
   InceptionGenerator): the ResNet generator's skeleton with its residual blocks replaced by
   inception blocks of plain and depth-wise branches (docs/compress.md), its widths (a teacher's
   from model.ngf, a pruned student's from model.g_channels) and the layer indices the pruning and
   the distillation need. */
#ifndef GF_MODELS_INCEPTION_H
#define GF_MODELS_INCEPTION_H

#include <stddef.h>

#include "ganforge/config.h"
#include "nn/nn.h"

#define GF_INC_MAX_BLOCKS 16
#define GF_INC_MAX_K 4

/* Widths: down-sampling convs ds[3] (ds[2] is the residual stream), per block and kernel size a
   plain branch res[b][k] and a depth-wise branch dw[b][k] (0: the branch is gone), up-sampling
   convs us[2]. */
typedef struct gf__inc_spec {
  int nb, nk, ks[GF_INC_MAX_K];
  int ds[3], us[2];
  int res[GF_INC_MAX_BLOCKS][GF_INC_MAX_K], dw[GF_INC_MAX_BLOCKS][GF_INC_MAX_K];
} gf__inc_spec;

/* One branch's layers (-1: absent). Plain: conv1 (k x k, C -> w), norm1, conv2 (k x k, w -> C).
   Depth-wise: conv1 (1x1, C -> w), norm1, dwconv (k x k, groups w), norm_dw, conv2 (1x1, w -> C). */
typedef struct gf__inc_branch { int conv1, norm1, dwconv, norm_dw, conv2; } gf__inc_branch;

/* Layer indices of a built inception generator. */
typedef struct gf__inc_map {
  int ds_conv[3], ds_norm[3], us_conv[2], us_norm[2], final_conv;
  int ds_end;                                 /* the last down-sampling ReLU (CAT's down_sampling.9) */
  gf__inc_branch res[GF_INC_MAX_BLOCKS][GF_INC_MAX_K], dw[GF_INC_MAX_BLOCKS][GF_INC_MAX_K];
  int pw_norm[GF_INC_MAX_BLOCKS];             /* the norm after the branch sum (-1: empty block) */
  int block_end[GF_INC_MAX_BLOCKS];           /* the layer whose output is block b's output */
} gf__inc_map;

/* The widths of cfg: model.g_channels when set (checked against the block count and kernel
   sizes), else the teacher's from model.ngf and model.g_reduction. */
int gf__inc_spec_from_config(gf__inc_spec *s, const gf_config *cfg);
/* Writes s as a model.g_channels value ("d0,d1,d2;r..,w..;...;u0,u1"). */
void gf__inc_spec_format(const gf__inc_spec *s, char *buf, size_t cap);
/* Appends the generator's layers (after gf__net_init) for spec s; map (may be NULL) gets the indices. */
int gf__build_inception(gf__net *net, const gf_config *cfg, const gf__inc_spec *s, int out_c, gf__inc_map *map);
/* The four layers CAT distils (down_sampling.9 and the outputs of blocks nb/3, 2nb/3, nb). */
#define GF_KA_LAYERS 4
void gf__inc_ka_layers(const gf__inc_map *map, int nb, int idx[GF_KA_LAYERS]);

#endif
