/* ganforge/config.h: the run configuration: every `section.key` with its type, default and help. */
#ifndef GANFORGE_CONFIG_H
#define GANFORGE_CONFIG_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(section, key, type, default, help). Types: INT (int), REAL (double), STR (char[160]),
   LSTR (char[GF_CONFIG_LSTR]: long lists such as a pruned generator's widths). */
#define GF_CONFIG_LSTR 1024
#define GF_CONFIG_KEYS(X)                                                                          \
  X(model, arch, STR, "mlp", "network family: mlp | dcgan | cyclegan | pix2pix | classifier")                     \
  X(model, netG, STR, "resnet_9blocks", "cyclegan/pix2pix generator: resnet_9blocks | resnet_6blocks | unet_256 | unet_128") \
  X(model, n_blocks, INT, 0, "ResNet generator residual blocks (0: from model.netG)")               \
  X(model, norm, STR, "instance", "cyclegan/pix2pix norm: instance (no affine) | batch (affine)")  \
  X(model, norm_affine, INT, 0, "cyclegan/pix2pix: 1: instance norms with a learned scale and shift (CAT's --norm_affine)") \
  X(model, g_block, STR, "resnet", "ResNet-skeleton generator block: resnet | inception (CAT, Jin et al. 2021: docs/compress.md)") \
  X(model, g_kernels, STR, "1,3,5", "inception blocks: kernel sizes of the branches (a plain and a depth-wise branch each)") \
  X(model, g_reduction, INT, 6, "inception blocks: branch width = 4 ngf / g_reduction") \
  X(model, g_channels, LSTR, "", "inception generator widths ('': from ngf; a pruned student: 'd0,d1,d2;r..,w..;...;u0,u1')") \
  X(model, n_layers_d, INT, 3, "PatchGAN discriminator strided layers (3: 70x70 receptive field)")  \
  X(model, dropout, INT, 0, "1: dropout 0.5 in the U-Net generator's inner blocks")                 \
  X(model, gan_mode, STR, "lsgan", "cyclegan/pix2pix GAN loss: lsgan (MSE) | vanilla (BCE with logits)") \
  X(model, init_gain, REAL, 0.02, "cyclegan/pix2pix conv init N(0, gain); BatchNorm weight N(1, gain)") \
  X(model, ngf, INT, 64, "dcgan: generator feature maps (width of its last hidden layer)")           \
  X(model, ndf, INT, 64, "dcgan: discriminator feature maps (width of its first layer)")             \
  X(model, nc, INT, 1, "image channels the model works on: 1 (grey) | 3 (RGB); images are converted") \
  X(model, size, INT, 64, "image size of the model (dcgan: 28 | 16 | 32 | 64 | 128 | 256); images are resized + center-cropped") \
  X(model, bn_init_std, REAL, 0.0, "BatchNorm weight init: N(1, std) when > 0, else 1")            \
  X(model, nz, INT, 100, "latent (noise) dimension")                                               \
  X(model, noise, STR, "normal", "noise distribution: normal | uniform")                           \
  X(model, noise_lo, REAL, -1.0, "uniform noise lower bound")                                      \
  X(model, noise_hi, REAL, 1.0, "uniform noise upper bound")                                       \
  X(model, g_hidden, STR, "256,512,1024", "generator hidden widths, comma separated")              \
  X(model, g_act, STR, "relu", "generator activation: relu | lrelu | tanh | sigmoid")             \
  X(model, g_norm, STR, "none", "generator norm: none | bn (Linear-BN-act) | bn_after (Linear-act-BN)") \
  X(model, g_out, STR, "tanh", "generator output: tanh | sigmoid | linear")                        \
  X(model, g_init, STR, "torch", "generator init: torch | normal | uniform | xavier | kaiming")     \
  X(model, g_init_scale, REAL, 0.02, "init scale: normal std, uniform bound, or gain")             \
  X(model, g_out_bias_marginals, INT, 0, "1: set the sigmoid output bias from the data marginals") \
  X(model, d_hidden, STR, "512,256", "discriminator hidden widths, comma separated")              \
  X(model, d_act, STR, "lrelu", "discriminator activation: relu | lrelu | tanh | maxout")          \
  X(model, d_slope, REAL, 0.2, "LeakyReLU negative slope")                                         \
  X(model, d_pieces, INT, 5, "maxout pieces per unit")                                             \
  X(model, d_norm, STR, "none", "discriminator norm: none | bn | spectral (spectral norm on every D layer, MLP or DCGAN)")                                   \
  X(model, dcgan_d_norm, STR, "bn", "DCGAN discriminator norm after its inner convolutions: bn | none | spectral (spectral norm on every conv instead)") \
  X(model, d_dropout_in, REAL, 0.0, "discriminator input dropout probability")                     \
  X(model, d_dropout, REAL, 0.0, "discriminator hidden dropout probability")                       \
  X(model, d_init, STR, "torch", "discriminator init: torch | normal | uniform | xavier | kaiming") \
  X(model, d_init_scale, REAL, 0.02, "init scale: normal std, uniform bound, or gain")             \
  X(model, bn_eps, REAL, 1e-5, "BatchNorm epsilon")                                                \
  X(model, bn_momentum, REAL, 0.1, "BatchNorm running-statistics momentum")                        \
  X(model, pack, INT, 1, "PacGAN packing: D judges N samples at once, concatenated along channels (1: off)") \
  X(model, sample_bn, STR, "eval", "BatchNorm when sampling: eval (running stats) | batch")        \
  X(model, cond, STR, "none", "conditional GAN: none | concat (one-hot label appended to G's noise and D's input; DCGAN D: as K image planes) | projection (G conditional BatchNorm, D projection head: Miyato & Koyama 2018) | acgan (one-hot label to G's noise, D auxiliary classifier: Odena et al. 2017)") \
  X(model, n_classes, INT, 0, "classes of a conditional model (0: the data set's; training writes it into config.txt)") \
  X(data, name, STR, "shapes", "dataset: mnist | fashion-mnist | digits | gauss1d | ring8 | grid25 | shapes | cifar10 | folder | faces | stacked-mnist") \
  X(data, path, STR, "", "dataset folder or file (default: search $GANFORGE_DATA, cache, download)") \
  X(data, split, STR, "train", "split: train | test | all")                                        \
  X(data, offset, INT, 0, "skip the first N samples")                                              \
  X(data, limit, INT, 0, "use at most N samples (0: all)")                                         \
  X(data, n, INT, 10000, "number of samples of a synthetic set")                                   \
  X(data, size, INT, 28, "image size of the shapes set")                                           \
  X(data, mu, REAL, 0.0, "gauss1d mean")                                                           \
  X(data, sigma, REAL, 1.0, "gauss1d standard deviation")                                          \
  X(data, download, INT, 1, "download a missing dataset (0: fail instead)")                        \
  X(data, on_bad_image, STR, "skip", "image folders: skip (count and report) | fail on an unreadable file") \
  X(data, flip, INT, 0, "1: random horizontal flip of training images")                              \
  X(data, load_size, INT, 286, "cyclegan/pix2pix: images are resized to load_size x load_size ...")   \
  X(data, crop_size, INT, 256, "... then randomly cropped to crop_size (the model's image size)")    \
  X(data, direction, STR, "AtoB", "pix2pix: AtoB (left half is the input) | BtoA")                 \
  X(data, shift, INT, 0, "classifier: random translation of training images by up to N pixels")  \
  X(train, epochs, INT, 10, "passes over the data")                                                \
  X(train, max_steps, INT, 0, "stop after N generator steps (0: no limit)")                        \
  X(train, batch, INT, 64, "minibatch size (under mpirun: the global batch, split over the ranks)") \
  X(train, seed, INT, 1, "seed of every random stream")                                            \
  X(train, d_steps, INT, 1, "discriminator steps per generator step (k)")                          \
  X(train, g_loss, STR, "nonsaturating", "generator loss: minimax | nonsaturating | kl")           \
  X(train, loss, STR, "bce", "GAN loss of D and G: bce (train.g_loss picks G's form) | wgan | wgan-gp | hinge | lsgan | ragan") \
  X(train, clip, REAL, 0.0, "WGAN weight clipping: D's parameters clamped to [-c, c] after every D update (0: off)") \
  X(train, gp_lambda, REAL, 10.0, "train.loss=wgan-gp: weight of the penalty (|grad D(x^)| - 1)^2 on interpolates x^") \
  X(train, r1_gamma, REAL, 0.0, "R1 penalty gamma/2 |grad_x D(x)|^2 on real data (Mescheder et al. 2018; 0: off)") \
  X(train, r1_every, INT, 1, "lazy R1: applied every N-th D step with its weight multiplied by N") \
  X(train, g_fresh_noise, INT, 0, "1: new noise for the G step (else reuse the last D step's fakes)") \
  X(train, optimizer, STR, "adam", "optimizer: adam | sgd | rmsprop")                                        \
  X(train, lr, REAL, 2e-4, "learning rate (both networks; G's alone with train.lr_d)")                                        \
  X(train, lr_d, REAL, 0.0, "discriminator learning rate (0: same as train.lr; TTUR: a different one)")                   \
  X(train, beta1, REAL, 0.5, "Adam beta1")                                                         \
  X(train, beta2, REAL, 0.999, "Adam beta2")                                                       \
  X(train, adam_eps, REAL, 1e-8, "Adam / RMSprop epsilon")                                         \
  X(train, rms_alpha, REAL, 0.99, "RMSprop smoothing constant of the squared-gradient average")                                                   \
  X(train, weight_decay, REAL, 0.0, "L2 weight decay")                                             \
  X(train, momentum, REAL, 0.0, "SGD momentum (start value of the ramp)")                          \
  X(train, momentum_final, REAL, -1.0, "SGD momentum at the end of the ramp (-1: no ramp)")        \
  X(train, momentum_start, INT, 1, "epoch at which the momentum ramp starts")                      \
  X(train, momentum_saturate, INT, 250, "epoch at which the momentum reaches its final value")     \
  X(train, lr_decay, REAL, 1.0, "divide the learning rate by this after every step")               \
  X(train, lr_min, REAL, 0.0, "learning-rate floor for lr_decay")                                  \
  X(train, aux_weight, REAL, 1.0, "acgan: weight of the auxiliary classification loss in the D and G losses") \
  X(train, diffaug, STR, "", "DiffAugment (Zhao et al. 2020) of real and fake images before D: comma list of color, translation, cutout ('': off)") \
  X(train, ema, REAL, 0.0, "generator weight average: EMA decay (e.g. 0.999; 0: off); pictures, generator.safetensors and eval use the average") \
  X(train, n_epochs, INT, 100, "cyclegan/pix2pix: epochs at the initial learning rate")            \
  X(train, n_epochs_decay, INT, 100, "cyclegan/pix2pix: epochs of linear decay of the rate to 0 after n_epochs") \
  X(train, lambda_A, REAL, 10.0, "cyclegan: weight of the cycle loss A -> B -> A")                  \
  X(train, lambda_B, REAL, 10.0, "cyclegan: weight of the cycle loss B -> A -> B")                  \
  X(train, lambda_identity, REAL, 0.5, "cyclegan: identity loss weight, relative to lambda")         \
  X(train, lambda_L1, REAL, 100.0, "pix2pix: weight of the L1 loss")                                \
  X(train, pool_size, INT, 50, "cyclegan/pix2pix: image pool of past fakes per discriminator (0: none)") \
  X(train, grid, INT, 64, "samples in the per-epoch picture")                                      \
  X(train, nrow, INT, 8, "samples per row of the grid")                                            \
  X(train, log_every, INT, 1, "write a CSV row every N generator steps")                           \
  X(train, checkpoint_every, INT, 1000, "checkpoint every N generator steps (0: only at epoch ends)") \
  X(train, keep, INT, 3, "keep the last K step checkpoints (latest is always kept)")              \
  X(train, report, INT, 1, "rebuild report.html and progress.gif at every epoch (0: off)")        \
  X(train, tensorboard, INT, 0, "1: also write TensorBoard event files into the run folder (scalars, epoch pictures)") \
  X(train, eval_metric, STR, "", "metric computed during training: fid-mnist | kid-mnist | parzen | modes ... ('': none)") \
  X(train, eval_every, INT, 1, "compute train.eval_metric every N epochs (and at the end); keeps the best as best.safetensors") \
  X(train, eval_classifier, STR, "", "classifier run or file for the classifier-space metrics (fid-, kid-, pr-, score-)") \
  X(train, eval_n, INT, 0, "samples for the training-time metric (0: the metric's protocol)")  \
  X(train, threads, INT, 0, "CPU threads (0: $OMP_NUM_THREADS, else a rank's share of the host under mpirun, else every core; tiny models run fastest on 1)") \
  X(train, device, STR, "cpu", "device: cpu | cuda | cuda:N")                                     \
  X(train, sync_bn, INT, 0, "data-parallel (mpirun): 1: BatchNorm statistics over the global batch of all ranks (0: per rank)") \
  X(train, dist_timeout, REAL, 300.0, "data-parallel (mpirun): seconds a rank waits for the others before it ends the job") \
  X(train, precision, STR, "fp32", "CUDA: fp32 | bf16 (GEMMs and convolutions in bfloat16 with float32 accumulation and float32 master weights)") \
  X(train, tf32, INT, 0, "CUDA: 1 lets float32 GEMMs and convolutions use TF32 tensor cores")      \
  X(train, cuda_graph, INT, 1, "CUDA: 1 records the training step once as a CUDA Graph and replays it (0: launch every op)") \
  X(compress, teacher, STR, "", "ganforge compress: the teacher run (set by the command)")               \
  X(compress, macs, REAL, 0.0, "ganforge compress: the student's budget in multiply-adds per image at data.crop_size (--macs)") \
  X(compress, min_channels, INT, 16, "ganforge compress: fewest channels a down/up-sampling layer keeps (CAT's prune_cin_lb)") \
  X(compress, init, STR, "pruned", "ganforge compress: student starts from the pruned teacher weights | scratch (CAT's code: N(0, gain) convs)") \
  X(compress, lambda_distill, REAL, 1.0, "ganforge compress: weight of the kernel-alignment distillation loss (4 layers)") \
  X(compress, lambda_recon, REAL, 5.0, "ganforge compress: weight of L1(student, teacher) (pix2pix teacher: L1 to the target)") \
  X(compress, lambda_gan, REAL, 1.0, "ganforge compress: weight of the student's GAN loss")

typedef struct gf_config {
#define GF__CFG_FIELD_INT(name) int name;
#define GF__CFG_FIELD_REAL(name) double name;
#define GF__CFG_FIELD_STR(name) char name[160];
#define GF__CFG_FIELD_LSTR(name) char name[GF_CONFIG_LSTR];
#define GF__CFG_FIELD(sec, key, type, def, help) GF__CFG_FIELD_##type(sec##_##key)
  GF_CONFIG_KEYS(GF__CFG_FIELD)
#undef GF__CFG_FIELD
} gf_config;

/* Fills every key with its default. */
void gf_config_defaults(gf_config *c);
/* Sets "section.key" from text. Unknown key: GF_EUSAGE; bad value: GF_EUSAGE (message says why). */
int gf_config_set(gf_config *c, const char *key, const char *value);
/* Parses "section.key=value". */
int gf_config_set_kv(gf_config *c, const char *kv);
/* Reads a file of `section.key = value` lines ('#' comments, blank lines, and INI
   `[section]` headers followed by `key = value` are accepted). */
int gf_config_load(gf_config *c, const char *path);
/* Writes every key as `section.key = value` lines (loadable by gf_config_load). */
int gf_config_save(const gf_config *c, const char *path);
/* Writes the value of key into buf; GF_EUSAGE for an unknown key. */
int gf_config_get(const gf_config *c, const char *key, char *buf, unsigned cap);
/* Checks ranges and enumerations (batch > 0, epochs >= 0, known names); message names the key. */
int gf_config_validate(const gf_config *c);

/* Every key as `section.key = value` lines into a malloc'ed string (for checkpoint metadata). */
char *gf_config_to_text(const gf_config *c);
/* Applies `section.key = value` lines from a string (as written by gf_config_to_text). */
int gf_config_from_text(gf_config *c, const char *text);

/* Number of keys, and the i-th key's name / help / type name ("int", "real", "string"). */
int gf_config_nkeys(void);
const char *gf_config_key_name(int i);
const char *gf_config_key_help(int i);
const char *gf_config_key_type(int i);

/* Presets: named overrides of the defaults. */
int gf_preset_count(void);
const char *gf_preset_name(int i);
const char *gf_preset_help(int i);
/* Resets c to defaults and applies the preset; GF_EUSAGE names an unknown preset. */
int gf_preset_apply(gf_config *c, const char *name);

#ifdef __cplusplus
}
#endif
#endif
