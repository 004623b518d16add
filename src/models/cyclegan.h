/* cyclegan.h: image-to-image translation (Zhu et al. 2017 CycleGAN, Isola et al. 2017 pix2pix) as
   in junyanz/pytorch-CycleGAN-and-pix2pix: ResNet and U-Net generators, PatchGAN discriminators,
   the image pool, and one training step per call (gf__cyclegan_step) kept apart from the epoch
   loop (src/models/i2i_train.c).

   Tensor names: "<net>.<key>" where <net> is G_A, G_B, D_A, D_B (pix2pix: G, D) and <key> is the
   state_dict key of a PyTorch module that holds the twin network as attribute `net`:
     ResNet G  = torch_ref.py resnet_g (nn.Sequential, ResBlock inner Sequential `b`):
                 "G_A.net.1.weight", "G_A.net.10.b.1.weight", ... (junyanz's ResnetGenerator
                 names the same tensors "model.1.weight", "model.10.conv_block.1.weight")
     PatchGAN  = torch_ref.py patch_d (nn.Sequential): "D_A.net.0.weight", ...
                 (junyanz NLayerDiscriminator: "model.0.weight")
     U-Net G   = junyanz UnetGenerator: "G.net.model.model.0.weight",
                 "G.net.model.model.1.model.1.weight", ...
   so a twin loads a file with {k[len("G_A.net."):]: v} (bare Sequential) or
   {k[len("G.net."):]: v} (UnetGenerator). BatchNorm buffers are included (running_mean/var). */
#ifndef GF_MODELS_CYCLEGAN_H
#define GF_MODELS_CYCLEGAN_H

#include "core/ops.h"
#include "core/rng.h"
#include "ganforge/config.h"
#include "models/gan.h"
#include "nn/nn.h"

/* Networks (layers added and finalized; parameters not initialised). h, w: the image size the
   net is planned for; ResNet needs multiples of 4, U-Net multiples of 2^downs (clear errors). */
int gf__build_i2i_generator(gf__net *net, const gf_config *cfg, const gf__ops *ops, const char *name, int in_c,
                            int out_c, int h, int w);
int gf__build_patch_d(gf__net *net, const gf_config *cfg, const gf__ops *ops, const char *name, int in_c, int h, int w);
/* Checks that a generator of cfg accepts an h x w image (message says what sizes it takes). */
int gf__i2i_check_size(const gf_config *cfg, int h, int w);
/* junyanz init_weights('normal'): conv weights N(0, gain), biases 0, BatchNorm weight N(1, gain). */
int gf__i2i_init(gf__net *net, gf__rng *r, float gain);

/* Pool of past fakes (Shrivastava et al.): query stores the new image while the pool is not full
   and returns it; afterwards with probability 0.5 it returns a stored image (uniform) and stores
   the new one in its place, else returns the new one. Its own RNG stream (GF_STREAM_POOL). */
typedef struct gf__image_pool {
  int size, n;
  long dim;
  float *images;     /* [size + 1, dim] backend memory (the last: a spare, see gf__pool_query) */
  gf__rng rng;
} gf__image_pool;

/* Training state. Everything a resume needs: the nets' arenas (params, grads, Adam m / v) and
   BatchNorm buffers, og / od (Adam step count and lr), the pools (n, images, rng), r_drop and
   r_data counters, steps and epoch. The contexts and batch buffers are scratch. */
typedef struct gf__cyclegan {
  gf_config cfg;
  const gf__ops *ops;
  int pix2pix;           /* 1: G_A = G (A -> B), D_A = D on (A, B) pairs; G_B, D_B unused */
  int B, c, h, w;        /* batch and image shape (crop size) */
  long dim;
  gf__net G_A, G_B, D_A, D_B;
  /* one context per application of a net within a step */
  gf__ctx cA_fwd, cA_rec, cA_idt;   /* G_A(a) = fake_B, G_A(fake_A) = rec_B, G_A(b) = idt_A */
  gf__ctx cB_fwd, cB_rec, cB_idt;   /* G_B(b) = fake_A, G_B(fake_B) = rec_A, G_B(a) = idt_B */
  gf__ctx cDA_f, cDA_r, cDB_f, cDB_r;
  float *real_A, *real_B;           /* [B, dim] batch buffers (backend) for the caller */
  float *pool_A, *pool_B;           /* [B, dim] pool query results (fake_A for D_B, fake_B for D_A) */
  float *cat_f, *cat_r, *dcat;      /* pix2pix: [B, 2c, h, w] (A, fake B), (A, B), gradient */
  gf__image_pool poolA, poolB;
  gf__rng r_init, r_drop, r_data;
  gf__opt_state og, od;
  long steps;
  int epoch;
  /* loss statistics of the last step, accumulated by the loss ops in backend memory (GF_I2I_STATS
     floats) and read back once per step by gf__cyclegan_stats into the losses below */
  float *stats;
  /* losses of the last step (junyanz names; cycle / idt / L1 include their lambda) */
  float loss_G, loss_G_A, loss_G_B, loss_cycle_A, loss_cycle_B, loss_idt_A, loss_idt_B, loss_D_A, loss_D_B;
  float loss_G_GAN, loss_G_L1, loss_D_real, loss_D_fake;
  gf__dist *dist;        /* data-parallel job (gf__cyclegan_distribute): gradients averaged; NULL: alone */
} gf__cyclegan;

/* Memory the model needs for batch B (bytes): parameter arenas (params, grads, Adam m, v),
   buffers, every context's activations, gradient and skip buffers, convolution work space, pools,
   batch buffers. Nothing is allocated. `report` (may be NULL, cap bytes) gets a breakdown. */
int gf__cyclegan_memory(const gf_config *cfg, int B, size_t *bytes, char *report, size_t cap);

/* Builds the nets and contexts for batch B (image size data.crop_size, 3 channels) and
   initialises the weights from the init stream. */
int gf__cyclegan_create(gf__cyclegan *m, const gf_config *cfg, const gf__ops *ops, int B);
void gf__cyclegan_destroy(gf__cyclegan *m);
/* The learning-rate factor of a 1-based epoch (junyanz 'linear' policy): 1 for epochs
   1..n_epochs, then 1 - (epoch - n_epochs) / (n_epochs_decay + 1), not below 0. */
double gf__i2i_lr_factor(const gf_config *c, int epoch);
/* Sets the epoch and og.lr = od.lr = train.lr * gf__i2i_lr_factor(epoch). */
void gf__cyclegan_set_epoch(gf__cyclegan *m, int epoch);
/* The weights file of an image-to-image run: pix2pix.safetensors or cyclegan.safetensors. */
const char *gf__i2i_weights_name(int pix2pix);
/* One training step on a, b (backend [B, dim]; for pix2pix the input and the target).
   CycleGAN: G_A and G_B with D frozen (GAN + cycle + identity losses), their Adam step, then
   D_A and D_B on pooled fakes with halved losses and their Adam step. pix2pix (junyanz order):
   D step on (A, fake B) / (A, B), then G step (GAN with the updated D + lambda_L1 * L1).
   Allocates nothing and reads nothing back: the losses stay in backend memory until
   gf__cyclegan_stats. */
int gf__cyclegan_step(gf__cyclegan *m, const float *a, const float *b);
/* Reads the last step's loss statistics (one to_host) into loss_G ... loss_D_fake; GF_ENUMERIC
   (naming the loss and the step) when one is not finite: that step's updates must not be saved. */
#define GF_I2I_STATS 16
int gf__cyclegan_stats(gf__cyclegan *m);
/* The epoch loop (gf_train dispatches model.arch=cyclegan / pix2pix here): memory plan, data,
   log.csv, samples/epoch_NNN.png, RUN/cyclegan.safetensors (or pix2pix.safetensors) per epoch. */
struct gf_train_opts;
int gf__train_i2i(const gf_config *cfg, const struct gf_train_opts *opts);
/* Prints the memory plan (when verbose) and fails with GF_ENOMEM when it exceeds MemAvailable. */
int gf__i2i_memory_check(const gf_config *cfg, int B, int verbose);
int gf__pool_init(gf__image_pool *p, const gf__ops *ops, int size, long dim, uint64_t seed);
void gf__pool_free(gf__image_pool *p, const gf__ops *ops);
/* out [B, dim] gets the images to show the discriminator for fakes [B, dim]. */
void gf__pool_query(gf__image_pool *p, const gf__ops *ops, const float *fakes, int B, float *out);

#endif
