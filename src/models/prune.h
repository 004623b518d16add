/* prune.h: CAT's one-step pruning of an inception generator to a budget of multiply-adds: channels
   whose normalisation scale |gamma| is at most a threshold are removed, the threshold found by
   bisection so that the student's MACs meet the budget (snap-research/CAT utils/common.py
   shrink_model); the student inherits the kept channels' weights (docs/compress.md). */
#ifndef GF_MODELS_PRUNE_H
#define GF_MODELS_PRUNE_H

#include "models/inception.h"

typedef struct gf__prune_plan {
  gf__inc_spec spec;          /* the student's widths */
  double threshold;           /* |gamma| > threshold keeps a channel */
  long long teacher_macs, student_macs, min_macs; /* per image at the planned size */
  int iterations;
} gf__prune_plan;

/* The widths of the teacher T (built from tcfg with map tmap, spec ts, at h x w) for the largest
   student whose MACs are <= target (bisection over the threshold, as CAT's). Down- and up-sampling
   layers keep at least min_ch channels (CAT's prune_cin_lb; fewer when the teacher has fewer);
   branches may vanish, and a block whose branches all vanish becomes the identity.
   GF_EUSAGE with one line when target is at or above the teacher's MACs, or below the smallest
   student this architecture allows (every branch gone, min_ch channels per re-sampling layer). */
int gf__prune_search(const gf_config *tcfg, const gf__net *T, const gf__inc_map *tmap, const gf__inc_spec *ts, int h, int w,
                     double target, int min_ch, gf__prune_plan *plan);
/* Copies the kept channels' weights (convolutions, biases, norm scales / shifts and BatchNorm
   statistics) of T into S, built from plan->spec with map smap and finalized. */
int gf__prune_transfer(const gf__net *T, const gf__inc_map *tmap, const gf__inc_spec *ts, gf__net *S,
                       const gf__inc_map *smap, const gf__prune_plan *plan, int min_ch);

#endif
