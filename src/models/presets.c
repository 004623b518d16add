/* presets.c: the named presets (`ganforge presets`), each a list of config overrides. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "ganforge/config.h"

typedef struct preset {
  const char *name, *help, *set;
} preset;

static const preset presets[] = {
  /* The default demo: a DCGAN small enough to draw recognisable circles, squares and triangles
     within a minute of one core (16x16 shapes, 11 epochs of 750 steps of batch 16; a 28 or 32 px
     net, or the MLP, still drew blobs after as long); one thread, since its layers are smaller than
     the cost of a parallel region; pictures 4x enlarged. */
  {"demo-shapes", "default demo: small DCGAN (16x16, 32 feature maps) on the built-in shapes set, batch 16, "
                  "Adam 4e-4 b1 0.5, generator EMA, 11 epochs, one thread (about 35 s)",
   "data.name=shapes data.n=12000 data.size=16 model.size=16 model.nc=1 model.arch=dcgan model.nz=100 "
   "model.ngf=32 model.ndf=32 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal "
   "model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=4e-4 "
   "train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.ema=0.999 train.batch=16 "
   "train.epochs=11 train.threads=1 train.grid=64 train.nrow=8"},
  {"mlp-shapes", "MLP GAN on the built-in 28x28 shapes set (about 20 s on 2 cores; draws blobs at 12 epochs)",
   "data.name=shapes data.n=12000 model.nz=64 model.g_hidden=256,512 model.g_norm=bn_after "
   "model.g_out=tanh model.d_hidden=512,256 model.d_act=lrelu train.batch=64 train.epochs=12 "
   "train.lr=2e-4 train.beta1=0.5 train.grid=64 train.nrow=8"},
  {"mlp-mnist", "MLP GAN on MNIST: noise 128, G 256-512-1024-784 ReLU+BatchNorm+tanh, D 512-256-1 "
                "LeakyReLU 0.2, BCE, Adam 2e-4, batch 32, 10 epochs, 5x5 grid",
   "data.name=mnist model.nz=128 model.g_hidden=256,512,1024 model.g_act=relu model.g_norm=bn_after "
   "model.g_out=tanh model.d_hidden=512,256 model.d_act=lrelu model.d_slope=0.2 train.batch=32 "
   "train.epochs=10 train.lr=2e-4 train.beta1=0.5 train.grid=25 train.nrow=5"},
  {"goodfellow-mnist", "Goodfellow et al. 2014 MNIST model: uniform z 100, G 1200-1200 ReLU sigmoid, "
                       "D maxout 240x5 twice with dropout, SGD momentum 0.5->0.7, lr 0.1 decaying",
   "data.name=mnist data.limit=50000 model.nz=100 model.noise=uniform model.noise_lo=-1.7320508075688772 "
   "model.noise_hi=1.7320508075688772 model.g_hidden=1200,1200 model.g_act=relu model.g_norm=none "
   "model.g_out=sigmoid model.g_init=uniform model.g_init_scale=0.05 model.g_out_bias_marginals=1 "
   "model.d_hidden=240,240 model.d_act=maxout model.d_pieces=5 model.d_dropout_in=0.2 "
   "model.d_dropout=0.5 model.d_init=uniform model.d_init_scale=0.005 train.optimizer=sgd train.lr=0.1 "
   "train.lr_decay=1.000004 train.lr_min=1e-6 train.momentum=0.5 train.momentum_final=0.7 "
   "train.momentum_start=1 train.momentum_saturate=250 train.batch=100 train.epochs=100 "
   "train.g_loss=nonsaturating train.g_fresh_noise=1 train.grid=100 train.nrow=10"},
  {"digits", "UCI 8x8 digits, 3-layer MLP G and D, plain SGD",
   "data.name=digits model.nz=32 model.noise=normal model.g_hidden=128,128 model.g_act=lrelu "
   "model.g_out=tanh model.d_hidden=128,128 model.d_act=lrelu model.d_slope=0.2 model.d_dropout=0.3 "
   "train.optimizer=sgd train.lr=0.02 train.momentum=0 train.batch=32 train.epochs=100 "
   "train.grid=64 train.nrow=8"},
  {"gauss1d", "1-D Gaussian N(0,1) from 100-d uniform noise, 3-layer MLPs",
   "data.name=gauss1d data.n=20000 data.mu=0 data.sigma=1 model.nz=100 model.noise=uniform "
   "model.noise_lo=-1 model.noise_hi=1 model.g_hidden=64,64 model.g_act=lrelu model.g_out=linear "
   "model.d_hidden=64,64 model.d_act=lrelu train.lr=1e-3 train.beta1=0.5 train.batch=128 "
   "train.epochs=40 train.grid=5000"},
  /* ring8 / grid25: PacGAN's networks, batch and Adam beta1, trained 20 epochs (PacGAN: 400) at lr 1e-3
     decaying x0.01 over the 20,000 steps (1.00023029^20000 = 100) with the generator averaged
     (train.ema); ring8 adds PacGAN2 packing. PacGAN's exact setup: --set model.pack=1 train.lr=1e-4
     train.lr_decay=1 train.ema=0 (docs/RESULTS.md has both). */
  {"ring8", "PacGAN2 ring: 8 Gaussians on the unit circle; G 4x400 ReLU+BN, D 3x200 maxout on pairs (pack 2), "
            "Adam 1e-3 -> 1e-5, b1 0.8, generator EMA 0.999, 20 epochs",
   "data.name=ring8 data.n=100000 model.nz=2 model.noise=normal model.g_hidden=400,400,400,400 "
   "model.g_act=relu model.g_norm=bn model.g_out=linear model.d_hidden=200,200,200 model.d_act=maxout "
   "model.d_pieces=5 model.pack=2 train.lr=1e-3 train.lr_decay=1.00023029 train.ema=0.999 train.beta1=0.8 "
   "train.batch=100 train.epochs=20 train.grid=2500"},
  {"grid25", "PacGAN grid: 25 Gaussians on {-4..4}^2; G 4x400 ReLU+BN, D 3x200 maxout, Adam 1e-3 -> 1e-5, "
             "b1 0.8, generator EMA 0.999, 20 epochs",
   "data.name=grid25 data.n=100000 model.nz=2 model.noise=normal model.g_hidden=400,400,400,400 "
   "model.g_act=relu model.g_norm=bn model.g_out=linear model.d_hidden=200,200,200 model.d_act=maxout "
   "model.d_pieces=5 train.lr=1e-3 train.lr_decay=1.00023029 train.ema=0.999 train.beta1=0.8 train.batch=100 "
   "train.epochs=20 train.grid=2500"},
  {"dcgan-mnist", "DCGAN on MNIST 28x28: G ConvT 7x7 -> 2 x ConvT 4x4 s2 (BN, ReLU, tanh), D 2 x Conv 4x4 s2 "
                  "(LeakyReLU 0.2, BN) -> Conv 7x7 logit; N(0,0.02) init, Adam 2e-4 b1 0.5, batch 64, 5 epochs",
   "data.name=mnist model.size=28 model.nc=1 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=5 train.grid=64 train.nrow=8"},
  /* conditional GANs (models/cond.c): the label of every fake is drawn uniformly; pictures are
     class grids (one row per class) */
  {"cgan-mnist", "conditional MLP GAN (Mirza & Osindero 2014: one-hot label concatenated to z and to D's input) "
                 "with the mlp-mnist networks: G 256-512-1024 ReLU+BatchNorm tanh, D 512-256 LeakyReLU; Adam 2e-4 b1 0.5, "
                 "batch 64, 10 epochs",
   "data.name=mnist model.cond=concat model.nz=100 model.g_hidden=256,512,1024 model.g_act=relu model.g_norm=bn_after "
   "model.g_out=tanh model.d_hidden=512,256 model.d_act=lrelu model.d_slope=0.2 train.batch=64 train.epochs=10 "
   "train.lr=2e-4 train.beta1=0.5 train.nrow=10"},
  {"cdcgan-mnist", "conditional DCGAN 28x28: the dcgan-mnist networks with conditional BatchNorm in G (per-class gamma, "
                   "beta) and a projection discriminator (Miyato & Koyama 2018: logit + <embed(y), features>); BCE, "
                   "Adam 2e-4 b1 0.5, batch 64, 10 epochs (98.3% conditional accuracy; 89.8% after 5); model.cond=concat: "
                   "the label as 10 extra channels instead",
   "data.name=mnist model.size=28 model.nc=1 model.cond=projection model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=10 "
   "train.nrow=10"},
  {"acgan-mnist", "AC-GAN 28x28 (Odena et al. 2017): the dcgan-mnist networks, one-hot label concatenated to z, D with "
                  "a source logit and 10 class logits (cross-entropy on real and fake, weight train.aux_weight); BCE, "
                  "Adam 2e-4 b1 0.5, batch 64, 5 epochs",
   "data.name=mnist model.size=28 model.nc=1 model.cond=acgan model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.aux_weight=1 train.batch=64 "
   "train.epochs=5 train.nrow=10"},
  /* The Wasserstein family (docs/RESULTS.md): WGAN with the settings of Arjovsky et al. 2017 (clipping
     0.01, RMSprop 5e-5, 5 critic steps) and WGAN-GP with those of Gulrajani et al. 2017 (lambda 10,
     Adam 1e-4 (0, 0.9), 5 critic steps), on the dcgan-mnist networks (WGAN-GP: no BatchNorm in the
     critic) */
  {"wgan-mnist", "WGAN (Arjovsky et al. 2017) on MNIST with the dcgan-mnist networks: critic without sigmoid, "
                 "weights clipped to [-0.01, 0.01], RMSprop 5e-5, 5 critic steps per G step, batch 64, 10 epochs",
   "data.name=mnist model.size=28 model.nc=1 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 "
   "train.loss=wgan train.clip=0.01 train.optimizer=rmsprop train.lr=5e-5 train.d_steps=5 train.batch=64 train.epochs=10 train.grid=64 train.nrow=8"},
  {"wgan-gp-mnist", "WGAN-GP (Gulrajani et al. 2017) on MNIST: dcgan-mnist G, critic without BatchNorm, penalty "
                    "lambda 10 on interpolates, Adam 1e-4 b (0, 0.9), 5 critic steps per G step, batch 64, 10 epochs",
   "data.name=mnist model.size=28 model.nc=1 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 "
   "model.dcgan_d_norm=none train.loss=wgan-gp train.gp_lambda=10 train.optimizer=adam train.lr=1e-4 train.beta1=0 train.beta2=0.9 "
   "train.d_steps=5 train.batch=64 train.epochs=10 train.grid=64 train.nrow=8"},
  {"wgan-gp-ring8", "WGAN-GP on PacGAN's ring: its G (4x400 ReLU+BN) and maxout critic (3x200, no packing), penalty "
                    "lambda 10, Adam 1e-4 b (0, 0.9), 5 critic steps, batch 100, 20 epochs",
   "data.name=ring8 data.n=100000 model.nz=2 model.noise=normal model.g_hidden=400,400,400,400 "
   "model.g_act=relu model.g_norm=bn model.g_out=linear model.d_hidden=200,200,200 model.d_act=maxout "
   "model.d_pieces=5 train.loss=wgan-gp train.gp_lambda=10 train.lr=1e-4 train.beta1=0 train.beta2=0.9 train.d_steps=5 "
   "train.batch=100 train.epochs=20 train.grid=2500"},
  {"wgan-gp-grid25", "WGAN-GP on PacGAN's grid: its G (4x400 ReLU+BN) and maxout critic (3x200), penalty lambda 10, "
                     "Adam 1e-4 b (0, 0.9), 5 critic steps, batch 100, 20 epochs",
   "data.name=grid25 data.n=100000 model.nz=2 model.noise=normal model.g_hidden=400,400,400,400 "
   "model.g_act=relu model.g_norm=bn model.g_out=linear model.d_hidden=200,200,200 model.d_act=maxout "
   "model.d_pieces=5 train.loss=wgan-gp train.gp_lambda=10 train.lr=1e-4 train.beta1=0 train.beta2=0.9 train.d_steps=5 "
   "train.batch=100 train.epochs=20 train.grid=2500"},
  {"sngan-folder", "SNGAN-style (Miyato et al. 2018) 32x32 RGB DCGAN on an image folder (--data DIR): spectral norm "
                   "on every critic layer, hinge loss, LeakyReLU 0.1, Adam 2e-4 b (0.5, 0.999), 1 D step, batch 64, 25 epochs",
   "data.name=folder model.size=32 model.nc=3 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.1 "
   "model.dcgan_d_norm=spectral train.loss=hinge train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 "
   "train.batch=64 train.epochs=25 train.grid=64 train.nrow=8"},
  {"dcgan-stacked-mnist", "DCGAN 28x28x3 (the dcgan-mnist networks, model.nc=3) on Stacked MNIST (60000 triples of "
                          "MNIST digits as R, G, B; 1,000 modes); Adam 2e-4 b1 0.5, batch 64, 10 epochs",
   "data.name=stacked-mnist data.n=60000 model.size=28 model.nc=3 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=10 train.grid=64 train.nrow=8"},
  {"pacdcgan2-stacked-mnist", "PacDCGAN2 (Lin et al. 2018): dcgan-stacked-mnist with model.pack=2, D judges pairs of "
                              "samples stacked along channels (6 input channels, 32 packs per batch of 64)",
   "data.name=stacked-mnist data.n=60000 model.size=28 model.nc=3 model.pack=2 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=10 train.grid=64 train.nrow=8"},
  {"dcgan-cifar10", "DCGAN on CIFAR-10 32x32x3: G ConvT(nz,4ngf,4,1,0) 4x4 -> 3 x ConvT 4x4 s2 to 32x32, "
                    "D Conv 4x4 s2 x3 (BN from the 2nd) -> Conv 4x4 logit; Adam 2e-4 b1 0.5, batch 64, 25 epochs",
   "data.name=cifar10 model.size=32 model.nc=3 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=25 train.grid=64 train.nrow=8"},
  {"dcgan64", "canonical 64x64 DCGAN (pytorch/examples) on an image folder (data.path=DIR, RGB, "
              "resized + center-cropped); Adam 2e-4 b1 0.5, batch 64, 25 epochs",
   "data.name=folder model.size=64 model.nc=3 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=25 train.grid=64 train.nrow=8"},
  {"dcgan-faces", "64x64 grey DCGAN on the ORL faces (400 images, shared/data/faces), random flips; "
                  "half-width (ngf = ndf = 32: 4x cheaper, enough for 400 images), batch 32, 100 epochs",
   "data.name=faces model.size=64 model.nc=1 data.flip=1 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating model.ngf=32 model.ndf=32 train.batch=32 train.epochs=100 train.grid=64 train.nrow=8"},
  {"dcgan-shapes", "32x32 grey DCGAN on the built-in shapes set (12000 images), batch 64, 5 epochs",
   "data.name=shapes data.n=12000 data.size=32 model.size=32 model.nc=1 "
   "model.arch=dcgan model.nz=100 model.ngf=64 model.ndf=64 model.g_init=normal model.g_init_scale=0.02 model.d_init=normal model.d_init_scale=0.02 model.bn_init_std=0.02 model.d_slope=0.2 train.optimizer=adam train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.g_loss=nonsaturating train.batch=64 train.epochs=5 "
   "train.grid=64 train.nrow=8"},
  {"cyclegan", "CycleGAN (Zhu et al. 2017, junyanz defaults) on unaligned DIR/trainA + DIR/trainB: resnet_9blocks G, "
               "70x70 PatchGAN D, InstanceNorm, LSGAN, cycle 10, identity 0.5, pool 50, load 286 crop 256 + flip, "
               "batch 1, Adam 2e-4 b1 0.5, 100 + 100 decay epochs",
   "data.name=folder model.arch=cyclegan model.nc=3 model.netG=resnet_9blocks model.ngf=64 model.ndf=64 "
   "model.n_layers_d=3 model.norm=instance model.gan_mode=lsgan model.dropout=0 model.init_gain=0.02 "
   "data.load_size=286 data.crop_size=256 data.flip=1 train.batch=1 train.optimizer=adam train.lr=2e-4 "
   "train.beta1=0.5 train.beta2=0.999 train.n_epochs=100 train.n_epochs_decay=100 train.lambda_A=10 "
   "train.lambda_B=10 train.lambda_identity=0.5 train.pool_size=50 train.log_every=1"},
  {"cyclegan128", "CycleGAN at 128 px (resnet_6blocks, load 143 crop 128), otherwise as cyclegan",
   "data.name=folder model.arch=cyclegan model.nc=3 model.netG=resnet_6blocks model.ngf=64 model.ndf=64 "
   "model.n_layers_d=3 model.norm=instance model.gan_mode=lsgan model.dropout=0 model.init_gain=0.02 "
   "data.load_size=143 data.crop_size=128 data.flip=1 train.batch=1 train.optimizer=adam train.lr=2e-4 "
   "train.beta1=0.5 train.beta2=0.999 train.n_epochs=100 train.n_epochs_decay=100 train.lambda_A=10 "
   "train.lambda_B=10 train.lambda_identity=0.5 train.pool_size=50 train.log_every=1"},
  {"cat-teacher128", "CAT teacher at 128 px (Jin et al. 2021): CycleGAN whose generators have 9 inception blocks "
                     "(kernels 1,3,5, plain + depth-wise branches, branch width 4 ngf / 6, affine InstanceNorm), "
                     "ngf 32, load 143 crop 128; compress it with 'ganforge compress'",
   "data.name=folder model.arch=cyclegan model.nc=3 model.netG=resnet_9blocks model.g_block=inception "
   "model.g_kernels=1,3,5 model.g_reduction=6 model.norm_affine=1 model.ngf=32 model.ndf=64 "
   "model.n_layers_d=3 model.norm=instance model.gan_mode=lsgan model.dropout=0 model.init_gain=0.02 "
   "data.load_size=143 data.crop_size=128 data.flip=1 train.batch=1 train.optimizer=adam train.lr=2e-4 "
   "train.beta1=0.5 train.beta2=0.999 train.n_epochs=100 train.n_epochs_decay=100 train.lambda_A=10 "
   "train.lambda_B=10 train.lambda_identity=0.5 train.pool_size=50 train.log_every=1"},
  {"classifier-mnist", "ganforge's own MNIST classifier (the feature network of fid-mnist etc.): CNN 32-64-128 "
                       "with BatchNorm, 128-d features, dropout 0.3; Adam 1e-3 decaying 0.06% a step, shifts of 2 px, batch 128, 10 epochs (99.50%)",
   "data.name=mnist model.arch=classifier model.ndf=32 data.shift=2 train.optimizer=adam train.lr=1e-3 "
   "train.beta1=0.9 train.beta2=0.999 train.batch=128 train.epochs=10 train.lr_decay=1.0006 train.lr_min=1e-5 "
   "train.log_every=10"},
  {"classifier-fashion-mnist", "the classifier-mnist network on Fashion-MNIST (feature network of fid-fashion-mnist)",
   "data.name=fashion-mnist model.arch=classifier model.ndf=32 data.shift=2 train.optimizer=adam train.lr=1e-3 "
   "train.beta1=0.9 train.beta2=0.999 train.batch=128 train.epochs=10 train.lr_decay=1.0003 train.lr_min=1e-5 "
   "train.log_every=10"},
  {"classifier-shapes", "the classifier-mnist network on the built-in shapes set (3 classes; fid-shapes)",
   "data.name=shapes data.n=12000 model.arch=classifier model.ndf=32 data.shift=2 train.optimizer=adam "
   "train.lr=1e-3 train.beta1=0.9 train.beta2=0.999 train.batch=128 train.epochs=4 train.log_every=10"},
  {"pix2pix", "pix2pix (Isola et al. 2017, junyanz defaults) on aligned A|B images in DIR/train: unet_256 G with "
              "dropout, conditional 70x70 PatchGAN, BatchNorm, vanilla GAN + 100 L1, load 286 crop 256 + flip, batch 1",
   "data.name=folder model.arch=pix2pix model.nc=3 model.netG=unet_256 model.ngf=64 model.ndf=64 "
   "model.n_layers_d=3 model.norm=batch model.gan_mode=vanilla model.dropout=1 model.init_gain=0.02 "
   "data.load_size=286 data.crop_size=256 data.flip=1 data.direction=AtoB train.batch=1 train.optimizer=adam "
   "train.lr=2e-4 train.beta1=0.5 train.beta2=0.999 train.n_epochs=100 train.n_epochs_decay=100 "
   "train.lambda_L1=100 train.pool_size=0 train.log_every=1"},
};
#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

int gf_preset_count(void) { return NPRESETS; }
const char *gf_preset_name(int i) { return i >= 0 && i < NPRESETS ? presets[i].name : NULL; }
const char *gf_preset_help(int i) { return i >= 0 && i < NPRESETS ? presets[i].help : NULL; }

int gf_preset_apply(gf_config *c, const char *name) {
  for (int i = 0; i < NPRESETS; i++) {
    if (strcmp(presets[i].name, name)) continue;
    gf_config_defaults(c);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", presets[i].set);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
      GF_TRY(gf_config_set_kv(c, tok));
    return 0;
  }
  return gf__fail(GF_EUSAGE, "unknown preset '%s' (run 'ganforge presets' for the list)", name);
}
