/* diffaug.h: DiffAugment (Zhao et al. 2020) in the GAN steps: the same random colour /
   translation / cutout transform applied to real and fake images before D, with its backward
   passing D's input gradient on to G (train.diffaug). */
#ifndef GF_MODELS_DIFFAUG_H
#define GF_MODELS_DIFFAUG_H

#include "core/ops.h"
#include "core/rng.h"

/* train.diffaug ("" or a comma list of color, translation, cutout) -> GF_DIFFAUG_* flags. */
int gf__diffaug_parse(const char *spec, int *flags);

/* Two slots, each with the augmented rows and the parameters of its last draw: slot 0 the real
   rows (or [real; fake] when D runs them as one batch), slot 1 the fakes (D step and G step).
   Parameters are drawn for every row of the global batch (Bg rows per group, the numbers of one
   process at batch Bg); a data-parallel rank augments its rows [row0, row0 + B) of each group. */
typedef struct gf__diffaug {
  const gf__ops *ops;
  int flags;
  int c, h, w;
  long dim;
  int B, Bg, row0;       /* this rank's rows per group, the global batch, its first row (alone: B, B, 0) */
  int max_rows;          /* rows a slot holds (2B) */
  float *params[2];      /* [max_rows, GF_DIFFAUG_NPARAM] uniforms of the last draw */
  float *out[2];         /* [max_rows, dim] augmented rows */
  int rows[2];           /* rows of the last draw */
  float *grad;           /* [max_rows, dim] D's input gradient for slot 1 (G step) */
  float *work;           /* [max_rows] means / sums */
  gf__rng r;             /* augmentation stream: (seed, GF_STREAM_DIFFAUG, counter) */
  /* tests (PyTorch parity): when non-NULL, each draw copies its groups * B rows of uniforms
     [rows, GF_DIFFAUG_NPARAM] from here instead of the stream and advances past them, so a run
     reads the given parameters in draw order (like gan.z_override; backend memory) */
  const float *params_override;
} gf__diffaug;

/* Plans for groups of B rows (up to 2 groups a slot) of (c, h, w) images; flags from
   train.diffaug (not 0). A data-parallel trainer then sets Bg and row0. */
int gf__diffaug_create(gf__diffaug **out, const gf__ops *ops, int flags, int c, int h, int w, int B, uint64_t seed);
void gf__diffaug_destroy(gf__diffaug *a);
/* Draws fresh parameters for `groups` (1 or 2) groups of rows (from the stream, or the next rows of
   params_override) and returns slot's augmented copy of x [groups * B, dim]. */
const float *gf__diffaug_forward(gf__diffaug *a, int slot, const float *x, int groups);
/* The zeroed gradient buffer of slot 1's augmented rows (D's backward writes into it). */
float *gf__diffaug_grad(gf__diffaug *a);
/* dx [n, dim] += the transposed transform of slot 1's last draw applied to gf__diffaug_grad. */
void gf__diffaug_backward(gf__diffaug *a, float *dx);

#endif
