/* prune.c: CAT's one-step pruning (Jin et al. 2021; snap-research/CAT utils/common.py
   shrink_model): threshold bisection on the normalisation scales to a MAC budget, then the
   transfer of the kept channels' weights. Host-side: the weights come over with ops->to_host. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/prune.h"

static float *host_copy(const gf__ops *o, const float *dev, long n) {
  float *h = malloc(sizeof(float) * (size_t)(n + 1));
  if (h && n > 0) o->to_host(h, dev, sizeof(float) * (size_t)n);
  return h;
}

/* Channels of norm layer l whose |gamma| exceeds thr. */
static int count_kept(const float *P, const gf__layer *l, double thr) {
  int n = 0;
  for (int c = 0; c < l->in_c; c++) n += fabs(P[l->w_off + c]) > thr;
  return n;
}

static int lower_bound(int min_ch, int teacher_width) { return min_ch < teacher_width ? min_ch : teacher_width; }

/* The student's widths at threshold thr. */
static void widths_at(const float *P, const gf__net *T, const gf__inc_map *m, const gf__inc_spec *ts, double thr,
                      int min_ch, gf__inc_spec *s) {
  *s = *ts;
  for (int i = 0; i < 3; i++) {
    int lb = lower_bound(min_ch, ts->ds[i]), n = count_kept(P, &T->layers[m->ds_norm[i]], thr);
    s->ds[i] = n > lb ? n : lb;
  }
  for (int b = 0; b < ts->nb; b++)
    for (int k = 0; k < ts->nk; k++) {
      s->res[b][k] = ts->res[b][k] ? count_kept(P, &T->layers[m->res[b][k].norm1], thr) : 0;
      s->dw[b][k] = ts->dw[b][k] ? count_kept(P, &T->layers[m->dw[b][k].norm1], thr) : 0;
    }
  for (int i = 0; i < 2; i++) {
    int lb = lower_bound(min_ch, ts->us[i]), n = count_kept(P, &T->layers[m->us_norm[i]], thr);
    s->us[i] = n > lb ? n : lb;
  }
}

/* Multiply-adds of the generator of spec s at h x w (the layer list only: nothing allocated but
   the list itself). */
static int spec_macs(const gf_config *cfg, const gf__ops *ops, const gf__inc_spec *s, int h, int w, long long *macs) {
  gf__net *n = malloc(sizeof *n);
  if (!n) return gf__fail(GF_ENOMEM, "out of memory");
  gf__net_init(n, ops, "P", 3, h, w);
  int rc = gf__build_inception(n, cfg, s, 3, NULL);
  if (rc == 0) *macs = gf__net_macs(n);
  free(n);
  return rc;
}

static void human(double v, char *buf, size_t cap) {
  if (v >= 1e9) snprintf(buf, cap, "%.3fG", v / 1e9);
  else if (v >= 1e6) snprintf(buf, cap, "%.2fM", v / 1e6);
  else snprintf(buf, cap, "%.0f", v);
}

int gf__prune_search(const gf_config *tcfg, const gf__net *T, const gf__inc_map *tmap, const gf__inc_spec *ts, int h, int w,
                     double target, int min_ch, gf__prune_plan *plan) {
  memset(plan, 0, sizeof *plan);
  float *P = host_copy(T->ops, T->params, T->nparam);
  if (!P) return gf__fail(GF_ENOMEM, "out of memory");
  int rc = spec_macs(tcfg, T->ops, ts, h, w, &plan->teacher_macs);
  gf__inc_spec s;
  widths_at(P, T, tmap, ts, INFINITY, min_ch, &s); /* every scale below: the smallest student */
  if (rc == 0) rc = spec_macs(tcfg, T->ops, &s, h, w, &plan->min_macs);
  char a[32], b[32];
  if (rc == 0 && target >= (double)plan->teacher_macs) {
    human(target, a, sizeof a);
    human((double)plan->teacher_macs, b, sizeof b);
    rc = gf__fail(GF_EUSAGE, "--macs %s is not below the teacher's %s multiply-adds per %dx%d image: nothing to prune", a, b,
                  w, h);
  } else if (rc == 0 && target < (double)plan->min_macs) {
    human(target, a, sizeof a);
    human((double)plan->min_macs, b, sizeof b);
    rc = gf__fail(GF_EUSAGE, "--macs %s is below the smallest student this generator allows (%s per %dx%d image: every "
                  "inception branch removed, %d channels per down- and up-sampling layer; lower compress.min_channels "
                  "to go further)", a, b, w, h, min_ch);
  }
  /* the scales the threshold moves between */
  double lo = INFINITY, hi = 0;
  for (int i = 0; i < T->n && rc == 0; i++) {
    int prunable = 0;
    for (int j = 0; j < 3; j++) prunable |= i == tmap->ds_norm[j];
    for (int j = 0; j < 2; j++) prunable |= i == tmap->us_norm[j];
    for (int bb = 0; bb < ts->nb; bb++)
      for (int k = 0; k < ts->nk; k++) prunable |= i == tmap->res[bb][k].norm1 || i == tmap->dw[bb][k].norm1;
    if (!prunable) continue;
    const gf__layer *l = &T->layers[i];
    for (int c = 0; c < l->in_c; c++) {
      lo = fmin(lo, fabs(P[l->w_off + c]));
      hi = fmax(hi, fabs(P[l->w_off + c]));
    }
  }
  /* bisection (CAT's): the smallest threshold tried whose student meets the budget; hi meets it
     from the start (it prunes to the smallest student) */
  long long m = 0;
  for (int it = 0; rc == 0 && it < 100; it++) {
    double thr = 0.5 * (lo + hi);
    widths_at(P, T, tmap, ts, thr, min_ch, &s);
    if ((rc = spec_macs(tcfg, T->ops, &s, h, w, &m)) < 0) break;
    if ((double)m > target) lo = thr;
    else hi = thr;
    plan->iterations = it + 1;
    if (hi - lo <= 1e-3 * lo) break;
  }
  if (rc == 0) {
    plan->threshold = hi;
    widths_at(P, T, tmap, ts, hi, min_ch, &plan->spec);
    rc = spec_macs(tcfg, T->ops, &plan->spec, h, w, &plan->student_macs);
  }
  free(P);
  return rc;
}

/* Kept channels of norm layer l (ascending): |gamma| > thr, or the lb largest when fewer; a negative
   status when out of memory. */
static int keep(const float *P, const gf__layer *l, double thr, int lb, int *idx) {
  int n = 0;
  for (int c = 0; c < l->in_c; c++)
    if (fabs(P[l->w_off + c]) > thr) idx[n++] = c;
  if (n >= lb || l->in_c <= 0) return n;
  char *taken = calloc((size_t)l->in_c, 1);
  if (!taken) return gf__fail(GF_ENOMEM, "out of memory");
  for (n = 0; n < lb; n++) { /* the largest not yet taken, the lower index on ties */
    int best = -1;
    for (int c = 0; c < l->in_c; c++)
      if (!taken[c] && (best < 0 || fabs(P[l->w_off + c]) > fabs(P[l->w_off + best]))) best = c;
    taken[best] = 1;
  }
  n = 0;
  for (int c = 0; c < l->in_c; c++)
    if (taken[c]) idx[n++] = c;
  free(taken);
  return n;
}

typedef struct xfer {
  const gf__net *T;
  const gf__net *S;
  float *P, *PB;       /* teacher parameters, buffers */
  float *Q, *QB;       /* student parameters, buffers */
} xfer;

/* Conv2d (weight [OC, IC/groups, kh, kw]) or ConvTranspose2d ([IC, OC, kh, kw]) layer tl of T into sl
   of S: output channels out[no], input channels in[ni] (NULL: all; ignored for depth-wise). */
static int copy_conv(xfer *x, int tl, int sl, const int *out, int no, const int *in, int ni) {
  const gf__layer *a = &x->T->layers[tl], *b = &x->S->layers[sl];
  const long kk = (long)a->geom.kh * a->geom.kw;
  const int dw = a->kind == GF_LAYER_CONV && a->groups > 1, tr = a->kind == GF_LAYER_CONVT;
  if (a->kind != b->kind || b->out_c != no || (!dw && b->in_c != ni) || (dw && b->groups != no))
    return gf__fail(GF_EINVAL, "pruning: layer %s does not match the student's %s", a->tname, b->tname);
  const int aic = dw ? 1 : a->in_c / a->groups, bic = dw ? 1 : ni;
  for (int o = 0; o < no; o++)
    for (int i = 0; i < bic; i++) {
      const int oo = out ? out[o] : o, ii = dw ? 0 : in ? in[i] : i;
      const float *src = tr ? x->P + a->w_off + ((long)ii * a->out_c + oo) * kk : x->P + a->w_off + ((long)oo * aic + ii) * kk;
      float *dst = tr ? x->Q + b->w_off + ((long)i * no + o) * kk : x->Q + b->w_off + ((long)o * bic + i) * kk;
      memcpy(dst, src, sizeof(float) * (size_t)kk);
    }
  if (b->b_n)
    for (int o = 0; o < no; o++) x->Q[b->b_off + o] = x->P[a->b_off + (out ? out[o] : o)];
  return 0;
}

static int copy_norm(xfer *x, int tl, int sl, const int *idx, int n) {
  const gf__layer *a = &x->T->layers[tl], *b = &x->S->layers[sl];
  if (a->kind != b->kind || b->in_c != n) return gf__fail(GF_EINVAL, "pruning: norm %s does not match the student's", a->tname);
  for (int c = 0; c < n; c++) {
    if (b->w_n) x->Q[b->w_off + c] = x->P[a->w_off + idx[c]];
    if (b->b_n) x->Q[b->b_off + c] = x->P[a->b_off + idx[c]];
    if (b->rm_off >= 0) {
      x->QB[b->rm_off + c] = x->PB[a->rm_off + idx[c]];
      x->QB[b->rv_off + c] = x->PB[a->rv_off + idx[c]];
    }
  }
  return 0;
}

int gf__prune_transfer(const gf__net *T, const gf__inc_map *tmap, const gf__inc_spec *ts, gf__net *S,
                       const gf__inc_map *smap, const gf__prune_plan *plan, int min_ch) {
  const gf__ops *o = T->ops;
  const gf__inc_spec *ss = &plan->spec;
  int maxc = 3;
  for (int i = 0; i < T->n; i++) maxc = GF_MAX(maxc, GF_MAX(T->layers[i].in_c, T->layers[i].out_c));
  xfer x = {T, S, host_copy(o, T->params, T->nparam), host_copy(o, T->buffers, T->nbuf), host_copy(o, S->params, S->nparam),
            host_copy(o, S->buffers, S->nbuf)};
  int *in = malloc(sizeof(int) * (size_t)maxc), *out = malloc(sizeof(int) * (size_t)maxc);
  int *str = malloc(sizeof(int) * (size_t)maxc), *mid = malloc(sizeof(int) * (size_t)maxc);
  int rc = x.P && x.PB && x.Q && x.QB && in && out && str && mid ? 0 : gf__fail(GF_ENOMEM, "out of memory");
  const double thr = plan->threshold;
  int ni = 3;
  for (int i = 0; i < 3; i++) in[i] = i;
  for (int i = 0; i < 3 && rc == 0; i++) { /* down-sampling: each conv's outputs by its norm */
    int no = keep(x.P, &T->layers[tmap->ds_norm[i]], thr, lower_bound(min_ch, ts->ds[i]), out);
    if (no < 0) { rc = no; break; }
    if (no != ss->ds[i]) rc = gf__fail(GF_EINVAL, "pruning: down-sampling layer %d keeps %d, not %d", i, no, ss->ds[i]);
    if (rc == 0) rc = copy_conv(&x, tmap->ds_conv[i], smap->ds_conv[i], out, no, in, ni);
    if (rc == 0) rc = copy_norm(&x, tmap->ds_norm[i], smap->ds_norm[i], out, no);
    memcpy(in, out, sizeof(int) * (size_t)no);
    ni = no;
  }
  const int ns = ni; /* the residual stream's channels */
  memcpy(str, in, sizeof(int) * (size_t)ns);
  for (int b = 0; b < ts->nb && rc == 0; b++) {
    for (int pass = 0; pass < 2 && rc == 0; pass++)
      for (int k = 0; k < ts->nk && rc == 0; k++) {
        const gf__inc_branch *tb = pass ? &tmap->dw[b][k] : &tmap->res[b][k], *sb = pass ? &smap->dw[b][k] : &smap->res[b][k];
        if (sb->conv1 < 0) continue;
        int nm = keep(x.P, &T->layers[tb->norm1], thr, 0, mid);
        rc = nm < 0 ? nm : copy_conv(&x, tb->conv1, sb->conv1, mid, nm, str, ns);
        if (rc == 0) rc = copy_norm(&x, tb->norm1, sb->norm1, mid, nm);
        if (rc == 0 && pass) rc = copy_conv(&x, tb->dwconv, sb->dwconv, mid, nm, NULL, 0);
        if (rc == 0 && pass) rc = copy_norm(&x, tb->norm_dw, sb->norm_dw, mid, nm);
        if (rc == 0) rc = copy_conv(&x, tb->conv2, sb->conv2, str, ns, mid, nm);
      }
    if (rc == 0 && smap->pw_norm[b] >= 0) rc = copy_norm(&x, tmap->pw_norm[b], smap->pw_norm[b], str, ns);
  }
  memcpy(in, str, sizeof(int) * (size_t)ns);
  ni = ns;
  for (int i = 0; i < 2 && rc == 0; i++) { /* up-sampling */
    int no = keep(x.P, &T->layers[tmap->us_norm[i]], thr, lower_bound(min_ch, ts->us[i]), out);
    if (no < 0) { rc = no; break; }
    if (no != ss->us[i]) rc = gf__fail(GF_EINVAL, "pruning: up-sampling layer %d keeps %d, not %d", i, no, ss->us[i]);
    if (rc == 0) rc = copy_conv(&x, tmap->us_conv[i], smap->us_conv[i], out, no, in, ni);
    if (rc == 0) rc = copy_norm(&x, tmap->us_norm[i], smap->us_norm[i], out, no);
    memcpy(in, out, sizeof(int) * (size_t)no);
    ni = no;
  }
  if (rc == 0) rc = copy_conv(&x, tmap->final_conv, smap->final_conv, NULL, T->layers[tmap->final_conv].out_c, in, ni);
  if (rc == 0) {
    o->to_device(S->params, x.Q, sizeof(float) * (size_t)S->nparam);
    if (S->nbuf) o->to_device(S->buffers, x.QB, sizeof(float) * (size_t)S->nbuf);
  }
  free(x.P); free(x.PB); free(x.Q); free(x.QB);
  free(in); free(out); free(str); free(mid);
  return rc;
}
