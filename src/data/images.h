/* images.h: image datasets (image folders, CIFAR-10 binary batches) and the batch prefetcher. */
#ifndef GF_DATA_IMAGES_H
#define GF_DATA_IMAGES_H

#include <stdint.h>

#include "core/rng.h"
#include "data/dataset.h"

/* One decoded image (interleaved, ch 1 or 3) to a planar CHW float sample of nc x size x size:
   channel conversion (grey -> RGB replicates, RGB -> grey by ITU-R 601 luma), bilinear resize of
   the shorter side to `size`, center crop. */
int gf__image_to_sample(float *out, const uint8_t *pix, int w, int h, int ch, int nc, int size, gf__scale scale);

/* Every .png/.jpg/.jpeg/.pgm file under dir (recursive, sorted by path, hidden files ignored),
   as nc x size x size samples. An unreadable image is GF_EFORMAT naming it when fail_on_bad, else
   reported on stderr, skipped and counted in *skipped. limit > 0 keeps the first `limit`. A folder
   whose images all lie in two or more first-level subfolders is labelled: class k = the k-th
   subfolder name in sorted order (ImageFolder's convention); otherwise labels are NULL. */
int gf__imagefolder_load(gf__dataset *d, const char *dir, const char *name, int nc, int size, gf__scale scale,
                         int fail_on_bad, int limit, int *skipped);

/* Every image file under dir (recursive, sorted, as gf__imagefolder_load finds them): *paths
   malloc'ed array of malloc'ed strings (free each, then the array). GF_ENOENT when none. */
int gf__image_list(const char *dir, char ***paths, int *n);

/* Image-to-image data (junyanz unaligned / aligned datasets): images kept as 8-bit RGB at
   load x load (bilinear resize of the whole image, or of each half of an A|B pair; junyanz uses
   bicubic), greyscale replicated to RGB. Each draw takes a random crop x crop window and a random
   horizontal flip (the same for both halves of an aligned pair, independent for A and B). */
typedef struct gf__i2i_set {
  int n;
  uint8_t *px;          /* [n, load, load, 3] */
} gf__i2i_set;
typedef struct gf__i2i_data {
  int aligned, load, crop;
  gf__i2i_set A, B;     /* aligned: A[i] and B[i] are the halves of pair i */
} gf__i2i_data;
/* Unaligned: root/<phase>A and root/<phase>B. Aligned: root/<phase> (or root itself when it has
   no such folder) with A|B images side by side; btoa swaps the halves. limit > 0 keeps the first
   `limit` of each set. Unreadable files are skipped (reported) unless fail_on_bad. */
int gf__i2i_load(gf__i2i_data *d, const char *root, const char *phase, int aligned, int btoa, int load, int crop,
                 int limit, int fail_on_bad);
void gf__i2i_free(gf__i2i_data *d);
/* Steps of an epoch: pairs for aligned data, max(|A|, |B|) for unaligned. */
int gf__i2i_epoch_len(const gf__i2i_data *d);
/* Writes sample ia of A and ib of B as planar floats in [-1, 1] (3 x crop x crop). augment:
   0 centre crop, 1 random crop, 2 random crop and random horizontal flip (draws from r). */
void gf__i2i_get(const gf__i2i_data *d, int ia, int ib, gf__rng *r, int augment, float *a, float *b);

/* CIFAR-10 binary batches: `path` is a batch file, or a folder holding data_batch_1..5.bin and
   test_batch.bin (directly or in cifar-10-batches-bin/). split: 0 train, 1 test, 2 all.
   Every file must be a whole number of 3073-byte records with labels 0..9. */
int gf__cifar10_load(gf__dataset *d, const char *path, int split, int nc, int size, gf__scale scale, int offset,
                     int limit);

/* Prefetcher: a thread that assembles the batches of every epoch (permutation from the data
   stream of `seed`, gather, optional random horizontal flip) into a double buffer while the
   step runs. Deterministic: batch (epoch, b) is the same whatever the timing, and the same when
   the run is resumed from (epoch, batch, counter). */
typedef struct gf__batch_info {
  int epoch;              /* 1-based */
  int batch;              /* index in the epoch */
  uint64_t counter;       /* data-stream counter before this epoch's permutation */
  uint64_t counter_next;  /* ... after it (where the next epoch starts) */
} gf__batch_info;
/* The batch sequence itself, without a thread: each epoch's permutation of the data stream and
   the flips, as row indices for ops.gather (GF_GATHER_FLIP marks a flipped row). The prefetcher
   and the trainers' device-side gathers share it, so they produce the same batches. */
typedef struct gf__batch_seq {
  int n, B, nb, epochs, flip;
  gf__rng r_data;
  uint64_t flip_key;
  int *perm;                 /* [n] this epoch's permutation */
  int epoch, batch, need_perm;
  uint64_t c0, c1;           /* data-stream counter before / after this epoch's permutation */
} gf__batch_seq;
/* `from` as for gf__prefetch_start. */
int gf__batch_seq_init(gf__batch_seq *s, int n, int B, int epochs, uint64_t seed, int flip, const gf__batch_info *from);
/* The next batch: idx [B] row indices (with GF_GATHER_FLIP), info its position. 1 when every
   epoch is done, else 0. */
int gf__batch_seq_next(gf__batch_seq *s, int32_t *idx, gf__batch_info *info);
void gf__batch_seq_free(gf__batch_seq *s);
/* Gathers rows idx [B] of a host dataset into dst [B, dim] (host), flipping as marked. */
void gf__batch_gather_host(float *dst, const gf__dataset *ds, const int32_t *idx, int B);

typedef struct gf__prefetch gf__prefetch;
/* `from` (may be NULL: epoch 1, batch 0, a fresh stream): where to start; its counter_next is unused. */
int gf__prefetch_start(gf__prefetch **pf, const gf__dataset *ds, int B, int epochs, uint64_t seed, int flip,
                       const gf__batch_info *from);
/* Waits for the next batch [B, dim] (host memory, valid until gf__prefetch_release); NULL after
   the last epoch. */
const float *gf__prefetch_next(gf__prefetch *pf, gf__batch_info *info);
/* The labels of the batch gf__prefetch_next returned ([B] class indices as floats, valid until
   gf__prefetch_release), or NULL for a set without labels. */
const float *gf__prefetch_labels(gf__prefetch *pf);
void gf__prefetch_release(gf__prefetch *pf);
/* Stops the thread (also mid-epoch) and frees everything. */
void gf__prefetch_stop(gf__prefetch *pf);

#endif
