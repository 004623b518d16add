/* prefetch.c: a producer thread that assembles training batches (epoch permutation, gather,
   random horizontal flip) into a double buffer while the training step runs. The batch sequence
   depends only on the seed, never on timing: the producer makes batches strictly in order. */
#include <pthread.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/images.h"

#define GF_STREAM_FLIP 8

struct gf__prefetch {
  const gf__dataset *ds;
  int B, epochs, flip, nb;
  long dim;
  uint64_t seed;
  int first_epoch, first_batch, has_counter;
  uint64_t first_counter;
  int *perm;
  float *slot[2];
  float *lab[2];          /* [B] the batch's labels as floats (labelled sets), else NULL */
  gf__batch_info info[2];
  int full[2];            /* slot holds a batch not yet consumed */
  int done;               /* producer finished every epoch */
  int stop;               /* consumer asked to stop */
  long next_take;         /* index of the batch the consumer takes next */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th;
  int started;
};

static void make_batch(gf__prefetch *pf, float *dst, float *lab, int e, int b, uint64_t key) {
  const gf__dataset *ds = pf->ds;
  long dim = pf->dim;
  int w = ds->w, rows = ds->c * ds->h;
  for (int i = 0; i < pf->B; i++) {
    const float *src = ds->x + (size_t)pf->perm[b * pf->B + i] * dim;
    if (lab) lab[i] = (float)ds->labels[pf->perm[b * pf->B + i]];
    float *d = dst + (size_t)i * dim;
    int flip = 0;
    if (pf->flip) {
      uint32_t u[4];
      /* keyed by (epoch, position in the epoch): the same after a resume */
      gf__philox4x32(key, GF_STREAM_FLIP, ((uint64_t)e << 32) | (uint64_t)((long)b * pf->B + i), u);
      flip = u[0] & 1;
    }
    if (!flip) memcpy(d, src, sizeof(float) * (size_t)dim);
    else
      for (int r = 0; r < rows; r++)
        for (int x = 0; x < w; x++) d[(size_t)r * w + x] = src[(size_t)r * w + (w - 1 - x)];
  }
}

static void *producer(void *arg) {
  gf__prefetch *pf = arg;
  gf__rng r_data, r_flip;
  gf__rng_init(&r_data, pf->seed, GF_STREAM_DATA);
  gf__rng_init(&r_flip, pf->seed, GF_STREAM_FLIP);
  uint64_t key = gf__rng_key(&r_flip);
  long k = 0;
  if (pf->has_counter) r_data.counter = pf->first_counter;
  for (int e = pf->first_epoch; e <= pf->epochs; e++) {
    uint64_t c0 = r_data.counter;
    gf__rng_perm(&r_data, pf->perm, pf->ds->n);
    uint64_t c1 = r_data.counter;
    for (int b = e == pf->first_epoch ? pf->first_batch : 0; b < pf->nb; b++, k++) {
      int s = (int)(k & 1);
      pthread_mutex_lock(&pf->mu);
      while (pf->full[s] && !pf->stop) pthread_cond_wait(&pf->cv, &pf->mu);
      int stop = pf->stop;
      pthread_mutex_unlock(&pf->mu);
      if (stop) return NULL;
      make_batch(pf, pf->slot[s], pf->lab[s], e, b, key); /* the slot is ours: no lock while filling */
      pthread_mutex_lock(&pf->mu);
      pf->full[s] = 1;
      pf->info[s] = (gf__batch_info){e, b, c0, c1};
      pthread_cond_broadcast(&pf->cv);
      pthread_mutex_unlock(&pf->mu);
    }
  }
  pthread_mutex_lock(&pf->mu);
  pf->done = 1;
  pthread_cond_broadcast(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
  return NULL;
}

int gf__prefetch_start(gf__prefetch **out, const gf__dataset *ds, int B, int epochs, uint64_t seed, int flip,
                       const gf__batch_info *from) {
  *out = NULL;
  if (B < 1 || ds->n < B) return gf__fail(GF_EINVAL, "prefetch: batch %d for %d samples", B, ds->n);
  gf__prefetch *pf = calloc(1, sizeof *pf);
  if (!pf) return gf__fail(GF_ENOMEM, "out of memory");
  pf->ds = ds;
  pf->B = B;
  pf->epochs = epochs;
  pf->flip = flip;
  pf->seed = seed;
  pf->first_epoch = from ? from->epoch : 1;
  pf->first_batch = from ? from->batch : 0;
  pf->has_counter = from != NULL;
  pf->first_counter = from ? from->counter : 0;
  pf->dim = gf__dataset_dim(ds);
  pf->nb = ds->n / B;
  pf->perm = malloc(sizeof(int) * (size_t)ds->n);
  pf->slot[0] = malloc(sizeof(float) * (size_t)B * pf->dim);
  pf->slot[1] = malloc(sizeof(float) * (size_t)B * pf->dim);
  if (ds->labels) {
    pf->lab[0] = malloc(sizeof(float) * (size_t)B);
    pf->lab[1] = malloc(sizeof(float) * (size_t)B);
  }
  if (!pf->perm || !pf->slot[0] || !pf->slot[1] || (ds->labels && (!pf->lab[0] || !pf->lab[1]))) {
    gf__prefetch_stop(pf);
    return gf__fail(GF_ENOMEM, "out of memory for the batch buffers");
  }
  pthread_mutex_init(&pf->mu, NULL);
  pthread_cond_init(&pf->cv, NULL);
  if (pthread_create(&pf->th, NULL, producer, pf) != 0) {
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
    free(pf->perm); free(pf->slot[0]); free(pf->slot[1]); free(pf->lab[0]); free(pf->lab[1]); free(pf);
    return gf__fail(GF_EIO, "cannot start the data prefetch thread");
  }
  pf->started = 1;
  *out = pf;
  return 0;
}

const float *gf__prefetch_next(gf__prefetch *pf, gf__batch_info *info) {
  int s = (int)(pf->next_take & 1);
  pthread_mutex_lock(&pf->mu);
  while (!pf->full[s] && !pf->done) pthread_cond_wait(&pf->cv, &pf->mu);
  int ok = pf->full[s];
  if (ok && info) *info = pf->info[s];
  pthread_mutex_unlock(&pf->mu);
  return ok ? pf->slot[s] : NULL;
}

const float *gf__prefetch_labels(gf__prefetch *pf) { return pf->lab[pf->next_take & 1]; }

void gf__prefetch_release(gf__prefetch *pf) {
  int s = (int)(pf->next_take & 1);
  pthread_mutex_lock(&pf->mu);
  pf->full[s] = 0;
  pf->next_take++;
  pthread_cond_broadcast(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
}

void gf__prefetch_stop(gf__prefetch *pf) {
  if (!pf) return;
  if (pf->started) {
    pthread_mutex_lock(&pf->mu);
    pf->stop = 1;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->th, NULL);
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
  }
  free(pf->perm);
  free(pf->slot[0]);
  free(pf->slot[1]);
  free(pf->lab[0]);
  free(pf->lab[1]);
  free(pf);
}
