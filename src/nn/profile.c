/* profile.c: per-layer wall time of training steps (`ganforge bench --profile`): the rows that
   the layer passes of net.c and second.c add to when a net has a profiler attached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "nn/nn.h"

int gf__prof_attach(gf__prof *p, gf__net *net) {
  if (p->n + net->n > p->cap) {
    int cap = p->cap ? p->cap : 64;
    while (cap < p->n + net->n) cap *= 2;
    gf__prof_row *r = realloc(p->rows, sizeof *r * (size_t)cap);
    if (!r) return gf__fail(GF_ENOMEM, "out of memory for the profile of %s", net->name);
    p->rows = r;
    p->cap = cap;
  }
  net->prof = p;
  net->prof_row = p->n;
  for (int i = 0; i < net->n; i++) {
    gf__prof_row *r = &p->rows[p->n++];
    memset(r, 0, sizeof *r);
    r->net = net;
    r->layer = i;
  }
  return 0;
}

void gf__prof_reset(gf__prof *p) {
  for (int i = 0; i < p->n; i++) {
    memset(p->rows[i].sec, 0, sizeof p->rows[i].sec);
    memset(p->rows[i].calls, 0, sizeof p->rows[i].calls);
    memset(p->rows[i].samples, 0, sizeof p->rows[i].samples);
  }
}

void gf__prof_detach_free(gf__prof *p) {
  for (int i = 0; i < p->n; i++) p->rows[i].net->prof = NULL;
  free(p->rows);
  p->rows = NULL;
  p->n = p->cap = 0;
}

void gf__prof_mark(gf__prof *p) {
  p->ops->sync();
  p->t = gf__now();
}

void gf__prof_add(gf__prof *p, int row, int pass, int B) {
  p->ops->sync();
  double t = gf__now();
  p->rows[row].sec[pass] += t - p->t;
  p->rows[row].calls[pass]++;
  p->rows[row].samples[pass] += B;
  p->t = t;
}

static void cell(gf__strbuf *o, double ms, long calls) {
  if (calls) gf__strbuf_put(o, " %9.3f", ms);
  else gf__strbuf_put(o, " %9s", "-");
}

void gf__prof_report(const gf__prof *p, int steps, double step_ms, char *buf, unsigned cap) {
  gf__strbuf o = {buf, 0, cap};
  buf[0] = 0;
  if (steps < 1) steps = 1;
  double all = 0;
  for (int i = 0; i < p->n; i++)
    for (int k = 0; k < GF_PROF_NPASS; k++) all += p->rows[i].sec[k];
  all = 1e3 * all / steps;
  int second = 0;
  for (int i = 0; i < p->n; i++) second |= p->rows[i].calls[GF_PROF_BWD2] > 0;
  gf__strbuf_put(&o, "ms per step (mean of %d), each layer pass timed between two backend synchronisations; runs: forward\n"
                 "passes per step; GFLOP/s: the forward's, of linear and convolution layers:\n", steps);
  gf__strbuf_put(&o, "%-24s %-58s %9s %9s%s %9s %6s %5s %8s\n", "layer", "what", "forward", "backward", second ? "  2nd-order" : "",
      "total", "share", "runs", "GFLOP/s");
  for (int i = 0; i < p->n; i++) {
    const gf__prof_row *r = &p->rows[i];
    long calls = 0;
    double ms = 0;
    for (int k = 0; k < GF_PROF_NPASS; k++) {
      calls += r->calls[k];
      ms += 1e3 * r->sec[k] / steps;
    }
    if (!calls) continue; /* never ran in the timed steps */
    char name[128], what[200];
    snprintf(name, sizeof name, "%s.%s", r->net->name, r->net->layers[r->layer].tname);
    gf__layer_desc(&r->net->layers[r->layer], what, sizeof what);
    gf__strbuf_put(&o, "%-24.24s %-58.58s", name, what);
    cell(&o, 1e3 * r->sec[GF_PROF_FWD] / steps, r->calls[GF_PROF_FWD]);
    cell(&o, 1e3 * r->sec[GF_PROF_BWD] / steps, r->calls[GF_PROF_BWD]);
    if (second) {
      gf__strbuf_put(&o, " ");
      cell(&o, 1e3 * r->sec[GF_PROF_BWD2] / steps, r->calls[GF_PROF_BWD2]);
    }
    /* runs: forward passes per step (a net applied to several batches in one step runs several) */
    gf__strbuf_put(&o, " %9.3f %5.1f%% %5.3g", ms, step_ms > 0 ? 100.0 * ms / step_ms : 0.0, (double)r->calls[GF_PROF_FWD] / steps);
    const double fl = gf__layer_flops(&r->net->layers[r->layer]) * r->samples[GF_PROF_FWD];
    if (fl > 0 && r->sec[GF_PROF_FWD] > 0) gf__strbuf_put(&o, " %8.1f\n", fl / r->sec[GF_PROF_FWD] * 1e-9);
    else gf__strbuf_put(&o, " %8s\n", "-");
  }
  double rest = step_ms - all;
  int w = 83 + 20 + (second ? 11 : 0); /* up to the total column */
  gf__strbuf_put(&o, "%-*s %9.3f %5.1f%%\n", w, "all layers", all, step_ms > 0 ? 100.0 * all / step_ms : 0.0);
  gf__strbuf_put(&o, "%-*s %9.3f %5.1f%%\n", w, "outside the layers (losses, penalties, optimizer updates, copies, all-reduce)", rest,
      step_ms > 0 ? 100.0 * rest / step_ms : 0.0);
  gf__strbuf_put(&o, "%-*s %9.3f\n", w, "the step, profiled", step_ms);
}
