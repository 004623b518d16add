/* dist_train.h: what the trainers do differently as ranks of a data-parallel job: the backend and
   the communicator set-up, the replicas' batch shares and BatchNorm hooks, and the training state
   broadcast from rank 0 (fresh or resumed) so that every replica starts identical. */
#ifndef GF_MODELS_DIST_TRAIN_H
#define GF_MODELS_DIST_TRAIN_H

#include <stdint.h>

#include "dist/dist.h"
#include "models/checkpoint.h"
#include "models/cyclegan.h"
#include "models/gan.h"

/* Opens the backend of cfg->train_device into *ops. In a job (d != NULL) "cuda" means this rank's
   device (cuda:LOCAL_RANK), the communicator is bound to the backend with train.dist_timeout and
   the stop flag, and every rank's config is checked against rank 0's (a key that differs, other
   than data.path and train.device, is an error naming it). */
int gf__dist_train_begin(gf__dist *d, gf_config *cfg, const gf__ops **ops, volatile int *stop);

/* The config a job's rank opens its backend with (gf__ops_for_config): cfg with train.device the
   rank's own ("cuda" -> cuda:LOCAL_RANK) and train.cuda_graph 0, since the collectives between a
   backward pass and its optimizer step, whose waits poll a deadline on the host, cannot be part of
   a recorded step. d NULL (alone): cfg as it is. */
int gf__dist_backend_config(const gf__dist *d, const gf_config *cfg, gf_config *out);

/* Makes gan (built for this rank's B rows) a replica of a job training at global batch Bg: noise
   for Bg rows, its rows from row0, gradients averaged, and with sync_bn the BatchNorm statistics of
   every training context over the global batch. A dropout stream of its own per rank. */
int gf__gan_distribute(gf__gan *gan, gf__dist *d, int Bg, int row0, int sync_bn);
/* Rank 0's weights, optimizer state, BatchNorm statistics, average, counters and data position
   to every rank (collective). */
int gf__gan_bcast_state(gf__gan *gan, gf__data_pos *pos, gf__dist *d);

/* The same for image-to-image models: gradients averaged, sync_bn hooks, own pool and dropout
   streams per rank. */
int gf__cyclegan_distribute(gf__cyclegan *m, gf__dist *d, int sync_bn);
/* Rank 0's nets, optimizer state, counters and position to every rank; each other rank starts with
   its own empty image pools (rank 0 keeps the checkpoint's). */
int gf__cyclegan_bcast_state(gf__cyclegan *m, gf__dist *d, int *epoch, int *batch, uint64_t *data_epoch_counter,
                             double *seconds);

#endif
