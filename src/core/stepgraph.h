/* stepgraph.h: bookkeeping of recording one training step and replaying it (CUDA Graphs): which
   step runs eagerly, which records, which replays, whether a step still matches the recording,
   when to give up and why. Plain C (no CUDA), so its decisions are tested on the CPU
   (tests/test_stepgraph.c, tests/test_step_ops.c); src/cuda executes them. */
#ifndef GF_CORE_STEPGRAPH_H
#define GF_CORE_STEPGRAPH_H

#include <stddef.h>
#include <stdint.h>

/* Mode of a step (gf__sg_begin). */
enum { GF_SG_OFF,      /* graphs off (train.cuda_graph=0, or given up): every op runs at once */
       GF_SG_EAGER,    /* a warm-up step: every op runs at once (lazy set-up happens here) */
       GF_SG_RECORD,   /* ops are deferred and recorded; at the end the step is captured and launched */
       GF_SG_REPLAY }; /* ops are deferred and checked against the recording; at the end the graph is launched */

/* What to do with an op (gf__sg_op, gf__sg_barrier) or at the end of a step (gf__sg_end). */
enum { GF_SG_RUN,      /* run it now */
       GF_SG_DEFER,    /* keep it for the end of the step */
       GF_SG_FLUSH,    /* run this step's deferred ops now, in order, then this one and the rest at once */
       GF_SG_CAPTURE,  /* end: capture the deferred ops as the step's graph and launch it */
       GF_SG_LAUNCH,   /* end: launch the recorded graph with the deferred ops' arguments */
       GF_SG_NONE };   /* end: nothing is deferred */

#define GF_SG_WARMUP 1       /* eager steps before the first recording */
#define GF_SG_MAX_FAILS 3    /* recordings in a row that the next step did not match: give up */

typedef struct gf__sg_entry {
  uint32_t kind;   /* the backend's op id */
  uint64_t key;    /* what must not change for a replay (gf__sg_hash of its sizes / library arguments) */
} gf__sg_entry;

typedef struct gf__stepgraph {
  int enabled;            /* train.cuda_graph */
  int off;                /* given up (reason says why) */
  int mode;               /* this step's mode */
  int in_step;
  long steps;             /* steps begun */
  gf__sg_entry *rec;         /* the recording (valid when have_rec) */
  int nrec, cap;
  gf__sg_entry *cur;         /* the step being recorded */
  int ncur, capcur;
  int have_rec;
  int pos;                /* ops of this step matched so far (replay) */
  int flushed;            /* this step left its deferral: the rest runs at once */
  int fails;              /* recordings in a row whose next step did not match */
  long recordings, replays, eager_steps;
  char note[200];         /* why the last step did not replay */
  char reason[256];       /* why graphs are off */
} gf__stepgraph;

void gf__sg_init(gf__stepgraph *g, int enabled);
void gf__sg_free(gf__stepgraph *g);
/* Starts a step; returns its mode. */
int gf__sg_begin(gf__stepgraph *g);
/* The step's next op (outside a step: GF_SG_RUN). Returns GF_SG_RUN, GF_SG_DEFER or GF_SG_FLUSH
   (the first op that leaves the recording: the caller runs the deferred ops, then this one). */
int gf__sg_op(gf__stepgraph *g, uint32_t kind, uint64_t key);
/* Something inside a step that cannot be part of a graph (`what`: "to_host", "sync", "alloc", ...):
   GF_SG_FLUSH when ops were deferred (run them, then it), else GF_SG_RUN; the step is not
   replayed or recorded. */
int gf__sg_barrier(gf__stepgraph *g, const char *what);
/* Ends the step: GF_SG_CAPTURE, GF_SG_LAUNCH, GF_SG_FLUSH (deferred ops to run eagerly: the step
   ended short of the recording) or GF_SG_NONE. */
int gf__sg_end(gf__stepgraph *g);
/* The backend could not capture, instantiate or launch: graphs off for good, with the reason. */
void gf__sg_fail(gf__stepgraph *g, const char *reason);

/* FNV-1a over bytes, chained from h (start with GF_SG_HASH0). */
#define GF_SG_HASH0 1469598103934665603ull
uint64_t gf__sg_hash(uint64_t h, const void *p, size_t n);

#endif
