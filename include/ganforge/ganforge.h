/* ganforge/ganforge.h: the public API: train a GAN from a config, sample and interpolate from runs. */
#ifndef GANFORGE_GANFORGE_H
#define GANFORGE_GANFORGE_H

#include <stdint.h>

#include "ganforge/config.h"
#include "ganforge/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GANFORGE_VERSION "0.1.0"

/* Progress callback: called after every generator step; return non-zero to stop training. */
typedef struct gf_progress {
  int epoch, epochs;
  long step, steps_total;     /* generator steps */
  double seconds, it_per_s;
  float loss_d, loss_g, d_real, d_fake;
} gf_progress;
typedef int (*gf_progress_fn)(const gf_progress *p, void *user);

typedef struct gf_train_opts {
  const char *out_dir;        /* run folder (created) */
  gf_progress_fn progress;    /* may be NULL */
  void *user;
  volatile int *stop_flag;    /* training stops cleanly when *stop_flag becomes non-zero */
} gf_train_opts;

/* Trains per `cfg`, writing the run folder: config.txt, log.csv, samples/epoch_NNN.png,
   generator.safetensors (final weights). Returns 0 or a negative status (gf_last_error()). */
int gf_train(const gf_config *cfg, const gf_train_opts *opts);

/* Samples n images from a run folder or generator file into a PNG grid (nrow per row, zoomed by
   `upscale`), or raw float32 samples into an .npy when out ends in ".npy". */
int gf_sample(const char *run, int n, uint64_t seed, int nrow, int upscale, const char *out);
/* `rows` linear latent walks of `steps` images each, one row each, into a PNG. */
int gf_interpolate(const char *run, int rows, int steps, uint64_t seed, int upscale, const char *out);

/* Translates images (files or folders of them) with the generator of a cyclegan / pix2pix run
   folder or .safetensors file, at full resolution, into outdir/<name>.png. direction: AtoB |
   BtoA. Images the generator cannot take (ResNet: sides multiple of 4; U-Net: of 2^downs) fail
   with a message naming the file. */
int gf_translate(const char *ckpt, const char *direction, const char *const *inputs, int n, const char *outdir);

/* Times the training step of cfg after `warmup` steps: milliseconds per G+D step. */
int gf_bench(const gf_config *cfg, int warmup, int steps, double *ms_per_step, double *gflop_per_step);

#ifdef __cplusplus
}
#endif
#endif
