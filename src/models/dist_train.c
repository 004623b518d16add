/* dist_train.c: the trainers' side of data-parallel jobs: backend and communicator set-up, config
   check, replicas (batch shares, BatchNorm hooks, per-rank streams) and rank 0's state to all. */
#include "models/dist_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ganforge/ganforge.h"
#include "models/cond.h"
#include "models/diffaug.h"

/* Every rank must train the same config as rank 0 (except where its files and device are). */
static int check_config(gf__dist *d, const gf_config *cfg) {
  gf_config *c0 = malloc(sizeof *c0);
  if (!c0) return gf__fail(GF_ENOMEM, "out of memory");
  *c0 = *cfg;
  int rc = gf__dist_bcast_host(d, c0, sizeof *c0, "rank 0's config");
  for (int i = 0; rc == 0 && i < gf_config_nkeys(); i++) {
    const char *key = gf_config_key_name(i);
    if (!strcmp(key, "data.path") || !strcmp(key, "train.device")) continue;
    char a[200], b[200];
    gf_config_get(cfg, key, a, sizeof a);
    gf_config_get(c0, key, b, sizeof b);
    if (strcmp(a, b))
      rc = gf__fail(GF_EUSAGE, "rank %d: config key '%s' is '%s' here but '%s' on rank 0: every rank must train the "
                    "same config (only data.path and train.device may differ)", gf__dist_rank(d), key, a, b);
  }
  free(c0);
  return rc;
}

int gf__dist_train_begin(gf__dist *d, gf_config *cfg, const gf__ops **ops, volatile int *stop) {
  if (!d) return gf__ops_for_config(cfg, ops);
  GF_TRY(check_config(d, cfg));
  /* the backend as a job opens it: one rank per GPU ("cuda" / "cuda:N" is the rank's own device on
     its host), and without the step recorder, since the collectives inside every step cannot be
     part of a recorded step (see gf__dist_backend_config) */
  gf_config *bc = malloc(sizeof *bc);
  if (!bc) return gf__fail(GF_ENOMEM, "out of memory");
  int rc = gf__dist_backend_config(d, cfg, bc);
  if (rc == 0) rc = gf__ops_for_config(bc, ops);
  if (rc == 0 && cfg->train_cuda_graph && !bc->train_cuda_graph && !strncmp(bc->train_device, "cuda", 4) &&
      gf__dist_rank(d) == 0)
    fprintf(stderr, "ganforge: data-parallel: CUDA Graph replay off (the gradient all-reduce runs inside every "
                    "step); every op is launched\n");
  int index = rc == 0 && !strncmp(bc->train_device, "cuda:", 5) ? atoi(bc->train_device + 5) : 0;
  free(bc);
  GF_TRY(rc);
  return gf__dist_bind(d, *ops, index, cfg->train_dist_timeout, stop);
}

int gf__dist_backend_config(const gf__dist *d, const gf_config *cfg, gf_config *out) {
  *out = *cfg;
  if (!d || gf__dist_size(d) < 2) return 0;
  GF_TRY(gf_dist_device(cfg->train_device, out->train_device, sizeof out->train_device));
  out->train_cuda_graph = 0;
  return 0;
}

static void hook(gf__ctx *c, gf__dist *d) {
  c->reduce = gf__dist_bn_reduce;
  c->reduce_user = d;
}

int gf__gan_distribute(gf__gan *gan, gf__dist *d, int Bg, int row0, int sync_bn) {
  gan->dist = d;
  if (!d) return 0;
  float *z = gan->ops->alloc(sizeof(float) * (size_t)Bg * gan->nz);
  if (!z) return gf__fail(GF_ENOMEM, "out of memory for the noise of a global batch of %d", Bg);
  gan->ops->free(gan->z);
  gan->z = z;
  gan->Bg = Bg;
  gan->row0 = row0;
  GF_TRY(gf__critic_distribute(gan));
  if (gan->aug) { /* DiffAugment draws for the global batch, this rank applies its rows */
    gan->aug->Bg = Bg;
    gan->aug->row0 = row0;
  }
  gan->r_drop.counter += gf__dist_stream_offset(d);
  if (sync_bn) {
    hook(&gan->cg, d);
    hook(&gan->cdr, d);
    hook(&gan->cdf, d);
    hook(&gan->cdd, d);
  }
  return 0;
}

static int bcast_net(gf__dist *d, gf__net *n) {
  /* the whole arena: parameters, gradients (overwritten by the next step), optimizer moments */
  GF_TRY(gf__dist_bcast(d, n->arena, 4 * (size_t)n->nparam, n->name));
  return gf__dist_bcast(d, n->buffers, (size_t)n->nbuf, "BatchNorm statistics");
}

typedef struct gan_scalars {
  int64_t g_steps, d_steps, og_t, od_t;
  double og_lr, od_lr, seconds;
  uint64_t noise_counter, drop_counter, data_counter, penalty_counter, label_counter, aug_counter;
  int32_t epoch, batch;
} gan_scalars;

int gf__gan_bcast_state(gf__gan *gan, gf__data_pos *pos, gf__dist *d) {
  if (!d) return 0;
  GF_TRY(bcast_net(d, &gan->G));
  GF_TRY(bcast_net(d, &gan->D));
  if (gan->g_ema) GF_TRY(gf__dist_bcast(d, gan->g_ema, (size_t)gan->G.nparam, "the generator average"));
  gan_scalars s = {gan->g_steps, gan->d_steps, gan->og.t, gan->od.t, gan->og.lr, gan->od.lr, pos->seconds,
                   gan->r_noise.counter, gan->r_drop.counter - gf__dist_stream_offset(d), pos->data_counter,
                   gan->crit.r_gp.counter, gan->cond ? gan->cond->r_lab.counter : 0, gan->aug ? gan->aug->r.counter : 0,
                   pos->epoch, pos->batch};
  GF_TRY(gf__dist_bcast_host(d, &s, sizeof s, "the training position"));
  gan->g_steps = (long)s.g_steps;
  gan->d_steps = (long)s.d_steps;
  gan->og.t = (long)s.og_t;
  gan->od.t = (long)s.od_t;
  gan->og.lr = s.og_lr;
  gan->od.lr = s.od_lr;
  gan->r_noise.counter = s.noise_counter;
  if (gan->cond) gan->cond->r_lab.counter = s.label_counter;
  if (gan->aug) gan->aug->r.counter = s.aug_counter;
  gan->r_drop.counter = s.drop_counter + gf__dist_stream_offset(d);
  gan->crit.r_gp.counter = s.penalty_counter;
  pos->seconds = s.seconds;
  pos->data_counter = s.data_counter;
  pos->epoch = s.epoch;
  pos->batch = s.batch;
  gan->epoch = s.epoch;
  gan->have_fake = 0;
  if (gf__dist_rank(d) != 0) gan->ema_buf_ok = 0;
  return 0;
}

int gf__cyclegan_distribute(gf__cyclegan *m, gf__dist *d, int sync_bn) {
  m->dist = d;
  if (!d) return 0;
  uint64_t off = gf__dist_stream_offset(d);
  m->r_drop.counter += off;
  m->poolA.rng.counter += off;
  m->poolB.rng.counter += off;
  if (sync_bn) {
    gf__ctx *c[] = {&m->cA_fwd, &m->cA_rec, &m->cA_idt, &m->cB_fwd, &m->cB_rec,
                    &m->cB_idt, &m->cDA_f,  &m->cDA_r,  &m->cDB_f,  &m->cDB_r};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) hook(c[i], d);
  }
  return 0;
}

typedef struct i2i_scalars {
  int64_t steps, og_t, od_t;
  double seconds;
  uint64_t data_epoch_counter, data_counter, drop_counter;
  int32_t epoch, batch;
} i2i_scalars;

int gf__cyclegan_bcast_state(gf__cyclegan *m, gf__dist *d, int *epoch, int *batch, uint64_t *data_epoch_counter,
                             double *seconds) {
  if (!d) return 0;
  gf__net *n[4] = {&m->G_A, &m->D_A, &m->G_B, &m->D_B};
  for (int i = 0; i < (m->pix2pix ? 2 : 4); i++) GF_TRY(bcast_net(d, n[i]));
  uint64_t off = gf__dist_stream_offset(d);
  i2i_scalars s = {m->steps, m->og.t, m->od.t, *seconds, *data_epoch_counter, m->r_data.counter,
                   m->r_drop.counter - off, *epoch, *batch};
  GF_TRY(gf__dist_bcast_host(d, &s, sizeof s, "the training position"));
  m->steps = (long)s.steps;
  m->og.t = (long)s.og_t;
  m->od.t = (long)s.od_t;
  *seconds = s.seconds;
  *data_epoch_counter = s.data_epoch_counter;
  m->r_data.counter = s.data_counter;
  m->r_drop.counter = s.drop_counter + off;
  *epoch = s.epoch;
  *batch = s.batch;
  if (gf__dist_rank(d) != 0) m->poolA.n = m->poolB.n = 0; /* their own pools, filled afresh */
  return 0;
}
