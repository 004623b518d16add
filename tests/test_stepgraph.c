/* test_stepgraph.c: the record / replay bookkeeping of training steps (core/stepgraph.c) that the
   CUDA backend follows: warm-up, recording, replays, a step that leaves the recording (its
   deferred ops flushed, the next step recorded again), giving up after repeated changes, barriers
   (to_host inside a step), steps that end early, graphs off by setting or by a backend failure. */
#include <string.h>

#include "core/stepgraph.h"
#include "harness.h"

/* One step of n ops with keys base + i; returns what gf__sg_end says and counts the answers. */
typedef struct answers { int run, defer, flush, flush_at; } answers;

static int step(gf__stepgraph *g, int n, uint64_t base, answers *a) {
  memset(a, 0, sizeof *a);
  a->flush_at = -1;
  gf__sg_begin(g);
  for (int i = 0; i < n; i++) {
    int r = gf__sg_op(g, 1 + (uint32_t)(i % 3), base + (uint64_t)i);
    if (r == GF_SG_RUN) a->run++;
    else if (r == GF_SG_DEFER) a->defer++;
    else if (r == GF_SG_FLUSH) { a->flush++; a->flush_at = i; }
  }
  return gf__sg_end(g);
}

int main(void) {
  gf__stepgraph g;
  answers a;

  /* the normal life: eager warm-up, one recording, replays */
  gf__sg_init(&g, 1);
  CHECK(gf__sg_op(&g, 1, 1) == GF_SG_RUN, "an op outside a step runs at once");
  CHECK(step(&g, 10, 100, &a) == GF_SG_NONE && a.run == 10, "warm-up step: end %d, %d run", GF_SG_NONE, a.run);
  CHECK(g.eager_steps == 1 && !g.have_rec, "warm-up counted, nothing recorded");
  CHECK(step(&g, 10, 100, &a) == GF_SG_CAPTURE && a.defer == 10, "second step records: deferred %d", a.defer);
  CHECK(g.have_rec && g.nrec == 10 && g.recordings == 1, "recording of 10 ops (%d)", g.nrec);
  for (int s = 0; s < 5; s++) CHECK(step(&g, 10, 100, &a) == GF_SG_LAUNCH && a.defer == 10, "replay %d", s);
  CHECK(g.replays == 5 && g.fails == 0 && !g.off, "5 replays");

  /* a step that differs at op 4: the first 4 were deferred, op 4 flushes, the rest run */
  CHECK(step(&g, 10, 200 - 4, &a) == GF_SG_NONE, "the differing step ends with nothing deferred");
  /* keys 196..205 against 100..109: the first op differs already */
  CHECK(a.flush == 1 && a.flush_at == 0 && a.run == 9 && a.defer == 0, "flush at the first op: %d %d %d", a.flush,
        a.flush_at, a.run);
  gf__sg_begin(&g);
  CHECK(g.mode == GF_SG_RECORD, "after a change the next step records again (mode %d)", g.mode);
  for (int i = 0; i < 10; i++) gf__sg_op(&g, 1 + (uint32_t)(i % 3), 100 + (uint64_t)i);
  CHECK(gf__sg_end(&g) == GF_SG_CAPTURE, "recorded again");
  /* change in the middle of a replay */
  gf__sg_begin(&g);
  int r[10];
  for (int i = 0; i < 10; i++) r[i] = gf__sg_op(&g, 1 + (uint32_t)(i % 3), i == 4 ? 999 : 100 + (uint64_t)i);
  CHECK(r[0] == GF_SG_DEFER && r[3] == GF_SG_DEFER && r[4] == GF_SG_FLUSH && r[5] == GF_SG_RUN && r[9] == GF_SG_RUN,
        "deferred until op 4, flush there, then run: %d %d %d %d %d", r[0], r[3], r[4], r[5], r[9]);
  CHECK(gf__sg_end(&g) == GF_SG_NONE && strstr(g.note, "op 5"), "note names the op: %s", g.note);
  CHECK(g.fails == 2 && !g.off, "two failed recordings in a row (%d)", g.fails);

  /* a step that ends early: the deferred ops are flushed at the end */
  CHECK(step(&g, 10, 100, &a) == GF_SG_CAPTURE, "record");
  CHECK(step(&g, 7, 100, &a) == GF_SG_FLUSH && a.defer == 7, "short step: flush at the end (%d deferred)", a.defer);
  CHECK(g.off && strstr(g.reason, "changes from step to step") && strstr(g.reason, "7 of the 10"),
        "three failures in a row: off, reason '%s'", g.reason);
  CHECK(step(&g, 10, 100, &a) == GF_SG_NONE && a.run == 10 && g.mode == GF_SG_OFF, "off: everything runs");
  gf__sg_free(&g);

  /* one success resets the count of failures */
  gf__sg_init(&g, 1);
  step(&g, 5, 0, &a);
  for (int round = 0; round < 4; round++) {
    CHECK(step(&g, 5, 0, &a) == GF_SG_CAPTURE, "record %d", round);
    CHECK(step(&g, 5, 0, &a) == GF_SG_LAUNCH, "replay %d", round);
    CHECK(step(&g, 5, 50, &a) == GF_SG_NONE && a.flush == 1, "one odd step %d", round);
  }
  CHECK(!g.off && g.recordings == 4 && g.replays == 4, "occasional odd steps never turn graphs off");
  gf__sg_free(&g);

  /* barriers: a to_host inside a recording step flushes it; repeated, graphs go off */
  gf__sg_init(&g, 1);
  step(&g, 3, 0, &a);
  for (int s = 0; s < GF_SG_MAX_FAILS; s++) {
    gf__sg_begin(&g);
    CHECK(gf__sg_op(&g, 1, 1) == GF_SG_DEFER, "deferred before the barrier");
    CHECK(gf__sg_barrier(&g, "to_host") == GF_SG_FLUSH, "barrier flushes");
    CHECK(gf__sg_op(&g, 1, 2) == GF_SG_RUN, "after the barrier ops run");
    CHECK(gf__sg_barrier(&g, "to_host") == GF_SG_RUN, "a second barrier needs no flush");
    gf__sg_end(&g);
  }
  CHECK(g.off && strstr(g.reason, "to_host inside the step"), "barriers in every step: off (%s)", g.reason);
  gf__sg_free(&g);

  /* switched off by setting, and by a backend failure */
  gf__sg_init(&g, 0);
  CHECK(gf__sg_begin(&g) == GF_SG_OFF && gf__sg_op(&g, 1, 1) == GF_SG_RUN && gf__sg_end(&g) == GF_SG_NONE,
        "train.cuda_graph=0: eager");
  CHECK(strstr(g.reason, "train.cuda_graph=0") != NULL, "reason: %s", g.reason);
  gf__sg_free(&g);
  gf__sg_init(&g, 1);
  step(&g, 3, 0, &a);
  CHECK(step(&g, 3, 0, &a) == GF_SG_CAPTURE, "record");
  gf__sg_fail(&g, "cudaStreamEndCapture: operation not permitted when stream is capturing");
  CHECK(step(&g, 3, 0, &a) == GF_SG_NONE && a.run == 3 && g.off && strstr(g.reason, "EndCapture"),
        "after a backend failure: eager, reason kept");
  /* an empty recording step is not captured */
  gf__sg_free(&g);
  gf__sg_init(&g, 1);
  step(&g, 0, 0, &a);
  CHECK(step(&g, 0, 0, &a) == GF_SG_NONE && !g.have_rec, "an empty step records nothing");
  CHECK(gf__sg_hash(GF_SG_HASH0, "a", 1) != gf__sg_hash(GF_SG_HASH0, "b", 1), "hash tells bytes apart");
  gf__sg_free(&g);
  return gf_t_done();
}
