/* prefetch.c: a producer thread that assembles training batches (epoch permutation, gather,
   random horizontal flip) into a double buffer while the training step runs. The batch sequence
   depends only on the seed, never on timing: the producer makes batches strictly in order. */
#include <pthread.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/images.h"
#include "kern/kern_elem.h"

#define GF_STREAM_FLIP 8

struct gf__prefetch {
  const gf__dataset *ds;
  int B;
  long dim;
  gf__batch_seq seq;
  int32_t *idx;
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

int gf__batch_seq_init(gf__batch_seq *s, int n, int B, int epochs, uint64_t seed, int flip, const gf__batch_info *from) {
  memset(s, 0, sizeof *s);
  if (B < 1 || n < B) return gf__fail(GF_EINVAL, "batch %d for %d samples", B, n);
  if (n >= GF_GATHER_FLIP) return gf__fail(GF_EINVAL, "%d samples: at most %d can be gathered", n, GF_GATHER_FLIP - 1);
  s->n = n;
  s->B = B;
  s->nb = n / B;
  s->epochs = epochs;
  s->flip = flip;
  gf__rng_init(&s->r_data, seed, GF_STREAM_DATA);
  gf__rng r_flip;
  gf__rng_init(&r_flip, seed, GF_STREAM_FLIP);
  s->flip_key = gf__rng_key(&r_flip);
  s->epoch = from ? from->epoch : 1;
  s->batch = from ? from->batch : 0;
  if (from) s->r_data.counter = from->counter;
  s->need_perm = 1;
  s->perm = malloc(sizeof(int) * (size_t)n);
  if (!s->perm) return gf__fail(GF_ENOMEM, "out of memory for the data permutation");
  return 0;
}

int gf__batch_seq_next(gf__batch_seq *s, int32_t *idx, gf__batch_info *info) {
  for (;;) {
    if (s->epoch > s->epochs) return 1;
    if (s->need_perm) { /* every epoch (also one resumed at its end) draws its permutation */
      s->c0 = s->r_data.counter;
      gf__rng_perm(&s->r_data, s->perm, s->n);
      s->c1 = s->r_data.counter;
      s->need_perm = 0;
    }
    if (s->batch < s->nb) break;
    s->epoch++;
    s->batch = 0;
    s->need_perm = 1;
  }
  int e = s->epoch, b = s->batch;
  for (int i = 0; i < s->B; i++) {
    int32_t row = s->perm[b * s->B + i];
    if (s->flip) {
      uint32_t u[4];
      /* keyed by (epoch, position in the epoch): the same after a resume */
      gf__philox4x32(s->flip_key, GF_STREAM_FLIP, ((uint64_t)e << 32) | (uint64_t)((long)b * s->B + i), u);
      if (u[0] & 1) row |= GF_GATHER_FLIP;
    }
    idx[i] = row;
  }
  if (info) *info = (gf__batch_info){e, b, s->c0, s->c1};
  s->batch++;
  return 0;
}

void gf__batch_seq_free(gf__batch_seq *s) {
  free(s->perm);
  s->perm = NULL;
}

void gf__batch_gather_host(float *dst, const gf__dataset *ds, const int32_t *idx, int B) {
  const size_t dim = (size_t)gf__dataset_dim(ds);
  const int w = ds->w, rows = ds->c * ds->h;
  for (int i = 0; i < B; i++) {
    float *d = dst + (size_t)i * dim;
    if (!(idx[i] & GF_GATHER_FLIP)) { memcpy(d, ds->x + gf__k_gather_src(idx[i], 0, 0, w, dim), sizeof(float) * dim); continue; }
    for (int r = 0; r < rows; r++)
      for (int x = 0; x < w; x++) d[(size_t)r * w + x] = ds->x[gf__k_gather_src(idx[i], r, x, w, dim)];
  }
}

static void *producer(void *arg) {
  gf__prefetch *pf = arg;
  gf__batch_info bi;
  for (long k = 0; gf__batch_seq_next(&pf->seq, pf->idx, &bi) == 0; k++) {
    int s = (int)(k & 1);
    pthread_mutex_lock(&pf->mu);
    while (pf->full[s] && !pf->stop) pthread_cond_wait(&pf->cv, &pf->mu);
    int stop = pf->stop;
    pthread_mutex_unlock(&pf->mu);
    if (stop) return NULL;
    gf__batch_gather_host(pf->slot[s], pf->ds, pf->idx, pf->B); /* the slot is ours: no lock while filling */
    if (pf->lab[s]) /* a labelled set: the rows' labels */
      for (int i = 0; i < pf->B; i++) pf->lab[s][i] = (float)pf->ds->labels[pf->idx[i] & ~GF_GATHER_FLIP];
    pthread_mutex_lock(&pf->mu);
    pf->full[s] = 1;
    pf->info[s] = bi;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
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
  pf->dim = gf__dataset_dim(ds);
  int rc = gf__batch_seq_init(&pf->seq, ds->n, B, epochs, seed, flip, from);
  pf->idx = malloc(sizeof(int32_t) * (size_t)B);
  pf->slot[0] = malloc(sizeof(float) * (size_t)B * pf->dim);
  pf->slot[1] = malloc(sizeof(float) * (size_t)B * pf->dim);
  if (ds->labels) {
    pf->lab[0] = malloc(sizeof(float) * (size_t)B);
    pf->lab[1] = malloc(sizeof(float) * (size_t)B);
  }
  if (rc < 0 || !pf->idx || !pf->slot[0] || !pf->slot[1] || (ds->labels && (!pf->lab[0] || !pf->lab[1]))) {
    gf__prefetch_stop(pf);
    return rc < 0 ? rc : gf__fail(GF_ENOMEM, "out of memory for the batch buffers");
  }
  pthread_mutex_init(&pf->mu, NULL);
  pthread_cond_init(&pf->cv, NULL);
  if (pthread_create(&pf->th, NULL, producer, pf) != 0) {
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
    gf__prefetch_stop(pf);
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
  gf__batch_seq_free(&pf->seq);
  free(pf->idx);
  free(pf->slot[0]);
  free(pf->slot[1]);
  free(pf->lab[0]);
  free(pf->lab[1]);
  free(pf);
}
