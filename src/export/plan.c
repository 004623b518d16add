/* plan.c: an open generator as a flat list of inference nodes (gf__xplan), weights on the host,
   BatchNorm in eval mode folded into the Linear / Conv / ConvTranspose before it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "export/export.h"
#include "infer/infer_internal.h"

static const char *layer_name(gf__layer_kind k) {
  static const char *const names[] = {"Linear", "activation", "Maxout", "Dropout", "BatchNorm", "Conv2d",
                                      "ConvTranspose2d", "InstanceNorm2d", "ReflectionPad2d", "Reshape",
                                      "residual begin", "residual end", "concat", "branch start",
                                      "branch sum", "OneHotConcat", "ConditionalBatchNorm", "Projection"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

static float *host_copy(const gf__net *net, const float *dev, long n) {
  float *h = malloc(sizeof(float) * (size_t)(n + 1));
  if (h && n) net->ops->to_host(h, dev, sizeof(float) * (size_t)n);
  return h;
}

static gf__xnode *push(gf__xplan *p, gf__xkind kind, int in, const gf__layer *l, int li) {
  gf__xnode *x = &p->nodes[p->n++];
  memset(x, 0, sizeof *x);
  x->kind = kind;
  x->in = in;
  x->in2 = -1;
  x->ic = l->in_c; x->ih = l->in_h; x->iw = l->in_w;
  x->c = l->out_c; x->h = l->out_h; x->w = l->out_w;
  x->layer = li;
  return x;
}

/* s = gamma / sqrt(var + eps), t = beta - mean s, in double (BatchNorm in eval mode); conditional
   BatchNorm: the normalisation alone (gamma 1, beta 0; its per-class gamma / beta follow) */
static int bn_affine(const gf__net *net, const gf__layer *l, double *s, double *t) {
  int C = l->in_c, affine = l->kind == GF_LAYER_BATCHNORM && l->affine;
  float *rm = host_copy(net, net->buffers + l->rm_off, C), *rv = host_copy(net, net->buffers + l->rv_off, C);
  float *g = affine ? host_copy(net, net->params + l->w_off, C) : NULL;
  float *b = affine ? host_copy(net, net->params + l->b_off, C) : NULL;
  int rc = rm && rv && (!affine || (g && b)) ? 0 : gf__fail(GF_ENOMEM, "out of memory");
  for (int c = 0; rc == 0 && c < C; c++) {
    /* as the CPU kernel: rstd = 1 / sqrt(var + eps) rounded to float, then gamma applied */
    double rstd = (double)(float)(1.0 / sqrt((double)rv[c] + l->eps));
    s[c] = rstd * (g ? g[c] : 1.0);
    t[c] = (b ? b[c] : 0.0) - (double)rm[c] * s[c];
  }
  free(rm); free(rv); free(g); free(b);
  return rc;
}

/* Folds y = x s + t (per output channel) into the node producing x. */
static int fold(gf__xnode *x, const double *s, const double *t) {
  int OC = x->c;
  long per = x->wn / OC; /* weights per output channel */
  if (!x->bias) {
    x->bias = calloc((size_t)OC, sizeof(float));
    if (!x->bias) return gf__fail(GF_ENOMEM, "out of memory");
    x->bn = OC;
  }
  if (x->kind == GF_XN_CONVT) { /* w [IC, OC, kh, kw] */
    long k = (long)x->kh * x->kw;
    for (int ic = 0; ic < x->ic; ic++)
      for (int oc = 0; oc < OC; oc++)
        for (long j = 0; j < k; j++) x->wt[((long)ic * OC + oc) * k + j] = (float)(x->wt[((long)ic * OC + oc) * k + j] * s[oc]);
  } else { /* GEMM w [out, in], CONV w [OC, IC, kh, kw] */
    for (int oc = 0; oc < OC; oc++)
      for (long j = 0; j < per; j++) x->wt[oc * per + j] = (float)(x->wt[oc * per + j] * s[oc]);
  }
  for (int oc = 0; oc < OC; oc++) x->bias[oc] = (float)(x->bias[oc] * s[oc] + t[oc]);
  return 0;
}

int gf__xplan_build(gf_generator *g, const char *format, gf__xplan *p) {
  memset(p, 0, sizeof *p);
  gf__net *net;
  const gf_config *cfg;
  const char *file;
  GF_TRY(gf__infer_net(g, &net, &cfg, &file));
  gf_generator_info info;
  GF_TRY(gf_generator_info_get(g, &info));
  p->translates = info.translates;
  p->nz = info.nz;
  p->in_c = net->in_c; p->in_h = net->in_h; p->in_w = net->in_w;
  p->c = info.c; p->h = info.h; p->w = info.w;
  snprintf(p->arch, sizeof p->arch, "%s", info.arch);
  snprintf(p->kind, sizeof p->kind, "%s", info.kind);
  snprintf(p->noise, sizeof p->noise, "%s", info.noise);
  p->noise_lo = info.noise_lo;
  p->noise_hi = info.noise_hi;
  /* translators run every BatchNorm on the image's own statistics (as `ganforge translate`):
     that is InstanceNorm with the BatchNorm's affine; noise generators use the running ones */
  int bn_instance = info.translates;
  /* a conditional generator (model.cond): the class label is a second input of the graph / of gen_forward */
  p->classes = info.classes;
  if (info.classes) snprintf(p->cond, sizeof p->cond, "%.15s", cfg->model_cond);
  if (!info.translates && !strcmp(cfg->model_sample_bn, "batch"))
    for (int i = 0; i < net->n; i++)
      if (net->layers[i].kind == GF_LAYER_BATCHNORM || net->layers[i].kind == GF_LAYER_CBN)
        return gf__fail(GF_ENOSYS, "%s: the %s format cannot express layer %d (%s) with batch statistics "
                        "(model.sample_bn=batch: a sample depends on the whole batch); sample with model.sample_bn=eval to export",
                        file, format, i, layer_name(net->layers[i].kind));
  p->nodes = calloc((size_t)net->n + 1, sizeof *p->nodes);
  int *val = calloc((size_t)net->n + 1, sizeof *val); /* value id of each layer's output */
  double *s = malloc(sizeof(double) * 8192), *t = malloc(sizeof(double) * 8192);
  int rc = p->nodes && val && s && t ? 0 : gf__fail(GF_ENOMEM, "out of memory");
  int cur = -1;
  for (int i = 0; rc == 0 && i < net->n; i++) {
    const gf__layer *l = &net->layers[i];
    gf__xnode *x = NULL;
    switch (l->kind) {
    case GF_LAYER_LINEAR:
    case GF_LAYER_CONV:
    case GF_LAYER_CONVT:
      x = push(p, l->kind == GF_LAYER_LINEAR ? GF_XN_GEMM : l->kind == GF_LAYER_CONV ? GF_XN_CONV : GF_XN_CONVT, cur, l, i);
      if (l->kind == GF_LAYER_LINEAR) { x->ic = (int)gf__layer_in_size(l); x->ih = x->iw = 1; }
      x->wt = host_copy(net, net->params + l->w_off, l->w_n);
      x->wn = l->w_n;
      if (l->b_n) {
        x->bias = host_copy(net, net->params + l->b_off, l->b_n);
        x->bn = l->b_n;
      }
      if (!x->wt || (l->b_n && !x->bias)) rc = gf__fail(GF_ENOMEM, "out of memory");
      if (l->kind != GF_LAYER_LINEAR) {
        x->kh = l->geom.kh; x->kw = l->geom.kw; x->sh = l->geom.sh; x->sw = l->geom.sw;
        x->ph = l->geom.ph; x->pw = l->geom.pw;
        x->groups = l->kind == GF_LAYER_CONV ? l->groups : 1;
      }
      if (l->kind == GF_LAYER_CONVT) { /* out = (in - 1) s - 2 p + k + output padding */
        x->oph = l->out_h - ((l->in_h - 1) * x->sh - 2 * x->ph + x->kh);
        x->opw = l->out_w - ((l->in_w - 1) * x->sw - 2 * x->pw + x->kw);
      }
      break;
    case GF_LAYER_BATCHNORM:
    case GF_LAYER_CBN: {
      if (l->in_c > 8192) { rc = gf__fail(GF_ENOSYS, "%s: layer %d: BatchNorm over %d channels", file, i, l->in_c); break; }
      if (l->kind == GF_LAYER_CBN && bn_instance) { /* (no translator has one) */
        rc = gf__fail(GF_ENOSYS, "%s: the %s format cannot express layer %d (ConditionalBatchNorm) of a translator", file,
                      format, i);
        break;
      }
      if (bn_instance) {
        x = push(p, GF_XN_INSTNORM, cur, l, i);
        x->eps = l->eps;
        if (l->affine) {
          x->wt = host_copy(net, net->params + l->w_off, l->in_c);
          x->bias = host_copy(net, net->params + l->b_off, l->in_c);
          x->wn = x->bn = l->in_c;
          if (!x->wt || !x->bias) rc = gf__fail(GF_ENOMEM, "out of memory");
        }
        break;
      }
      if ((rc = bn_affine(net, l, s, t)) < 0) break;
      gf__xnode *prev = p->n ? &p->nodes[p->n - 1] : NULL;
      /* fold when the producer is the layer just before and nothing else reads its output */
      if (prev && cur == p->n - 1 && !net->layers[i - 1].is_src &&
          (prev->kind == GF_XN_GEMM || prev->kind == GF_XN_CONV || prev->kind == GF_XN_CONVT)) {
        rc = fold(prev, s, t);
        p->folded++;
      } else {
        x = push(p, GF_XN_SCALE, cur, l, i);
        x->wt = malloc(sizeof(float) * (size_t)l->in_c);
        x->bias = malloc(sizeof(float) * (size_t)l->in_c);
        x->wn = x->bn = l->in_c;
        if (!x->wt || !x->bias) { rc = gf__fail(GF_ENOMEM, "out of memory"); break; }
        for (int c = 0; c < l->in_c; c++) { x->wt[c] = (float)s[c]; x->bias[c] = (float)t[c]; }
        cur = p->n - 1;
      }
      if (rc < 0 || l->kind == GF_LAYER_BATCHNORM) {
        val[i] = cur;
        x = NULL;
        break;
      }
      /* conditional BatchNorm: the class's gamma / beta [K, C] (cond_layers.c) after the normalisation */
      x = push(p, GF_XN_CAFFINE, cur, l, i);
      x->classes = l->nclass;
      x->wt = host_copy(net, net->params + l->w_off, l->w_n);
      x->bias = host_copy(net, net->params + l->b_off, l->b_n);
      x->wn = l->w_n;
      x->bn = l->b_n;
      if (!x->wt || !x->bias) rc = gf__fail(GF_ENOMEM, "out of memory");
      break;
    }
    case GF_LAYER_ONEHOT: /* y = [x; one-hot label]: after z (concat / acgan) */
      if (l->in_h * l->in_w != 1) {
        rc = gf__fail(GF_ENOSYS, "%s: the %s format cannot express layer %d (OneHotConcat) over %dx%d planes", file, format,
                      i, l->in_h, l->in_w);
        break;
      }
      x = push(p, GF_XN_ONEHOT, cur, l, i);
      x->classes = l->nclass;
      break;
    case GF_LAYER_ACT:
      x = push(p, GF_XN_ACT, cur, l, i);
      x->act = l->act;
      x->alpha = l->alpha;
      break;
    case GF_LAYER_INSTNORM:
      x = push(p, GF_XN_INSTNORM, cur, l, i);
      x->eps = l->eps;
      if (l->affine) {
        x->wt = host_copy(net, net->params + l->w_off, l->in_c);
        x->bias = host_copy(net, net->params + l->b_off, l->in_c);
        x->wn = x->bn = l->in_c;
        if (!x->wt || !x->bias) rc = gf__fail(GF_ENOMEM, "out of memory");
      }
      break;
    case GF_LAYER_REFLPAD:
      x = push(p, GF_XN_PAD, cur, l, i);
      memcpy(x->pad, l->pad, sizeof x->pad);
      break;
    case GF_LAYER_DROPOUT:   /* identity in eval mode */
    case GF_LAYER_RESHAPE:   /* the same contiguous data */
    case GF_LAYER_RESBEGIN:  /* identity; RESEND reads its value */
      val[i] = cur;
      continue;
    case GF_LAYER_TAP:       /* a branch (CAT's inception blocks) starts again from an earlier value */
      cur = val[l->src];
      val[i] = cur;
      continue;
    case GF_LAYER_ADD:       /* a branch sum: y = x + out[src] */
    case GF_LAYER_RESEND:
      x = push(p, GF_XN_ADD, cur, l, i);
      x->in2 = val[l->src];
      break;
    case GF_LAYER_CONCAT:
      x = push(p, GF_XN_CONCAT, cur, l, i);
      x->in2 = val[l->src];
      break;
    default:
      rc = gf__fail(GF_ENOSYS, "%s: the %s format cannot express layer %d (%s) of the generator", file, format, i,
                    layer_name(l->kind));
      break;
    }
    if (rc == 0 && x) {
      cur = p->n - 1;
      val[i] = cur;
    }
  }
  p->out = cur;
  if (rc == 0 && cur < 0) rc = gf__fail(GF_EINVAL, "%s: the generator has no layers", file);
  free(val); free(s); free(t);
  if (rc < 0) gf__xplan_free(p);
  return rc;
}

void gf__xplan_free(gf__xplan *p) {
  for (int i = 0; p->nodes && i < p->n; i++) {
    free(p->nodes[i].wt);
    free(p->nodes[i].bias);
  }
  free(p->nodes);
  memset(p, 0, sizeof *p);
}
