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
  volatile int *stop_flag;    /* training stops cleanly (with a checkpoint) when non-zero */
  const char *resume;         /* checkpoint file to continue from (NULL: fresh run) */
} gf_train_opts;

/* Reads the config stored in a checkpoint (a file, or a run folder's latest checkpoint) and
   resolves the checkpoint path into ckpt_out. */
int gf_checkpoint_config(const char *run_or_file, gf_config *cfg, char *ckpt_out, unsigned cap);
/* Prints a description of a checkpoint or generator file (architecture, parameter counts, step,
   epoch, config, file size) into buf. */
int gf_info(const char *path, char *buf, unsigned cap);

/* Trains per `cfg`, writing the run folder: config.txt, log.csv, samples/epoch_NNN.png,
   checkpoints/step_NNNNNNNN.safetensors + latest.safetensors, generator.safetensors,
   report.html and progress.gif. Returns 0 or a negative status (gf_last_error()). */
int gf_train(const gf_config *cfg, const gf_train_opts *opts);

/* Samples n images from a run folder, generator file or checkpoint into a PNG grid (nrow per row,
   zoomed by `upscale`), or raw float32 samples [n, c, h, w] into an .npy when out ends in ".npy".
   noise_out (may be NULL) receives the latent vectors [n, nz] as .npy. */
int gf_sample(const char *run, int n, uint64_t seed, int nrow, int upscale, const char *out, const char *noise_out);
/* `rows` linear latent walks of `steps` images each, one row each, into a PNG. */
int gf_interpolate(const char *run, int rows, int steps, uint64_t seed, int upscale, const char *out);

/* Times the training step of cfg after `warmup` steps: milliseconds per G+D step. */
int gf_bench(const gf_config *cfg, int warmup, int steps, double *ms_per_step, double *gflop_per_step);

#ifdef __cplusplus
}
#endif
#endif
