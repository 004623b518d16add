/* checkpoint.h: self-describing training checkpoints (weights, BN statistics, optimizer state,
   schedule position, RNG streams, config) for exact resume. */
#ifndef GF_MODELS_CHECKPOINT_H
#define GF_MODELS_CHECKPOINT_H

#include <stdint.h>
#include <stdio.h>

#include "io/safetensors.h"
#include "models/gan.h"
#include "models/weights.h"

/* Where the data pipeline stands: enough to rebuild the epoch's permutation and skip ahead. */
typedef struct gf__data_pos {
  int epoch;                 /* 1-based epoch in progress */
  int batch;                 /* next batch index within the epoch */
  uint64_t data_counter;     /* data-stream counter before this epoch's permutation */
  double seconds;            /* training time so far */
} gf__data_pos;

/* Writes everything needed to continue into `path` atomically. */
int gf__checkpoint_save(const char *path, gf__gan *gan, const gf__data_pos *pos);
/* Reads only the config stored in a checkpoint (to build the model before loading). */
int gf__checkpoint_read_config(const char *path, gf_config *cfg);
/* Restores a gan built from the checkpoint's config; every tensor must match by name and shape,
   and the file must hold no tensor the model lacks. */
int gf__checkpoint_load(const char *path, gf__gan *gan, gf__data_pos *pos);
/* Resolves a run folder to RUN/checkpoints/latest.safetensors; a file is returned as is. */
int gf__checkpoint_resolve(const char *run_or_file, char *out, size_t cap);

/* After a step checkpoint was written to step_path: swaps RUN/checkpoints/latest.safetensors to
   it (hard link + atomic rename; a copy written by `save_again` where links are unsupported)
   and removes step checkpoints beyond the last `keep`. */
int gf__checkpoint_rotate(const char *dir, const char *step_path, int keep, int (*save_again)(const char *path, void *u),
                          void *u);

/* Writes RUN/checkpoints/step_<step>.safetensors with save(path, u), then rotates as above (the
   step checkpoint of every trainer). */
int gf__checkpoint_save_step(const char *dir, long step, int keep, int (*save)(const char *path, void *u), void *u);
/* Reads the flat tensor `name` of n floats from f into backend memory dst. */
int gf__checkpoint_load_flat(const gf__st_file *f, const char *name, float *dst, long n, const gf__ops *ops);
/* The optimizer moments of nets n[0..nn) as flat tensors opt.NAME.exp_avg / exp_avg_sq into t
   (2 nn entries); returns 2 nn. */
int gf__opt_flat_tensors(gf__net *const *n, int nn, gf__flat_tensor *t);

/* Creates RUN, RUN/samples and RUN/checkpoints and removes temporary files left by saves that
   a kill -9 interrupted. */
int gf__run_dir_prepare(const char *dir);
/* Makes dst another name of src atomically (hard link to a temporary name, then rename); -1 where
   the file system has no hard links (the caller writes a copy instead). */
int gf__link_replace(const char *src, const char *dst);
/* Opens RUN/log.csv for a run: a fresh file with `header`, or, when resuming, the old rows up to
   `step` (later rows belong to lost steps) followed by new ones. NULL on error (message set). */
FILE *gf__run_log_open(const char *path, const char *header, int resume, long step);
/* Adds to the last error (a failed write in run folder `dir`) that training stopped at `step` and,
   when RUN/checkpoints/latest.safetensors exists, that it is intact and how to resume; GF_EIO. */
int gf__fail_write_stop(const char *dir, long step);

/* Rebuilds RUN/report.html and RUN/progress.gif from RUN/log.csv and RUN/samples/epoch_*.png.
   charts: NULL-terminated "Title|column,column" specs naming log.csv columns. */
int gf__write_run_report(const char *dir, const gf_config *cfg, const char *title, int epoch, double secs,
                         const char *const *charts, const char *images_title);

#endif
