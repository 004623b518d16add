/* stepgraph.c: the record / replay decisions of a training step (see stepgraph.h). */
#include "core/stepgraph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gf__sg_init(gf__stepgraph *g, int enabled) {
  memset(g, 0, sizeof *g);
  g->enabled = enabled;
  if (!enabled) snprintf(g->reason, sizeof g->reason, "train.cuda_graph=0");
}

void gf__sg_free(gf__stepgraph *g) {
  free(g->rec);
  free(g->cur);
  g->rec = g->cur = NULL;
  g->nrec = g->cap = g->ncur = g->capcur = 0;
  g->have_rec = 0;
}

int gf__sg_begin(gf__stepgraph *g) {
  g->in_step = 1;
  g->steps++;
  g->pos = g->ncur = g->flushed = 0;
  if (!g->enabled || g->off) g->mode = GF_SG_OFF;
  else if (g->steps <= GF_SG_WARMUP) g->mode = GF_SG_EAGER;
  else g->mode = g->have_rec ? GF_SG_REPLAY : GF_SG_RECORD;
  if (g->mode == GF_SG_OFF || g->mode == GF_SG_EAGER) g->eager_steps++;
  return g->mode;
}

/* The step no longer follows the plan: what was deferred runs now, the rest at once; after
   GF_SG_MAX_FAILS recordings in a row that the next step did not follow, graphs go off. */
static int leave(gf__stepgraph *g, const char *why) {
  int had = g->mode == GF_SG_RECORD || g->mode == GF_SG_REPLAY;
  snprintf(g->note, sizeof g->note, "%s", why);
  if (g->mode == GF_SG_REPLAY || g->mode == GF_SG_RECORD) {
    g->have_rec = 0; /* record the next step again */
    if (++g->fails >= GF_SG_MAX_FAILS) {
      g->off = 1;
      snprintf(g->reason, sizeof g->reason, "the training step changes from step to step (%s)", why);
    }
  }
  g->flushed = 1;
  g->mode = GF_SG_OFF;
  g->eager_steps++;
  return had ? GF_SG_FLUSH : GF_SG_RUN;
}

static int push(gf__sg_entry **a, int *n, int *cap, uint32_t kind, uint64_t key) {
  if (*n == *cap) {
    int nc = *cap ? 2 * *cap : 256;
    gf__sg_entry *p = realloc(*a, sizeof *p * (size_t)nc);
    if (!p) return -1;
    *a = p;
    *cap = nc;
  }
  (*a)[(*n)++] = (gf__sg_entry){kind, key};
  return 0;
}

int gf__sg_op(gf__stepgraph *g, uint32_t kind, uint64_t key) {
  if (!g->in_step) return GF_SG_RUN;
  char why[160];
  switch (g->mode) {
  case GF_SG_RECORD:
    if (push(&g->cur, &g->ncur, &g->capcur, kind, key) < 0) return leave(g, "out of memory for the recording");
    return GF_SG_DEFER;
  case GF_SG_REPLAY:
    if (g->pos < g->nrec && g->rec[g->pos].kind == kind && g->rec[g->pos].key == key) {
      g->pos++;
      return GF_SG_DEFER;
    }
    if (g->pos >= g->nrec) snprintf(why, sizeof why, "op %d (kind %u) after the %d recorded", g->pos + 1, kind, g->nrec);
    else snprintf(why, sizeof why, "op %d is kind %u with other sizes or arguments than recorded (kind %u)", g->pos + 1, kind,
                  g->rec[g->pos].kind);
    return leave(g, why);
  default:
    return GF_SG_RUN;
  }
}

int gf__sg_barrier(gf__stepgraph *g, const char *what) {
  if (!g->in_step || g->mode == GF_SG_OFF || g->mode == GF_SG_EAGER) return GF_SG_RUN;
  char why[160];
  snprintf(why, sizeof why, "%s inside the step", what);
  return leave(g, why);
}

int gf__sg_end(gf__stepgraph *g) {
  if (!g->in_step) return GF_SG_NONE;
  g->in_step = 0;
  switch (g->mode) {
  case GF_SG_RECORD: {
    if (g->ncur == 0) { /* an empty step: nothing to capture */
      g->eager_steps++;
      return GF_SG_NONE;
    }
    gf__sg_entry *t = g->rec;
    int tc = g->cap;
    g->rec = g->cur;
    g->nrec = g->ncur;
    g->cap = g->capcur;
    g->cur = t;
    g->capcur = tc;
    g->ncur = 0;
    g->have_rec = 1;
    g->recordings++;
    return GF_SG_CAPTURE;
  }
  case GF_SG_REPLAY:
    if (g->pos == g->nrec) {
      g->replays++;
      g->fails = 0;
      return GF_SG_LAUNCH;
    }
    {
      char why[160];
      snprintf(why, sizeof why, "the step ended after %d of the %d recorded ops", g->pos, g->nrec);
      int r = leave(g, why);
      return r == GF_SG_FLUSH ? GF_SG_FLUSH : GF_SG_NONE;
    }
  default:
    return GF_SG_NONE;
  }
}

void gf__sg_fail(gf__stepgraph *g, const char *reason) {
  g->off = 1;
  g->have_rec = 0;
  snprintf(g->reason, sizeof g->reason, "%s", reason);
}

uint64_t gf__sg_hash(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}
