/* classifier.c: the CNN classifier (build, train, open, apply): ganforge's own feature network
   for evaluation, trained with softmax cross-entropy, Adam and random-shift augmentation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/dataset.h"
#include "ganforge/ganforge.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/classifier.h"
#include "models/gan.h"
#include "models/weights.h"

static int build(gf__classifier *m, int c, int h, int w, int nclass) {
  gf__net *net = &m->net;
  int k = m->cfg.model_ndf;
  float eps = (float)m->cfg.model_bn_eps, mom = (float)m->cfg.model_bn_momentum;
  gf__net_init(net, m->ops, "C", c, h, w);
  GF_TRY(gf__net_add_conv2d(net, k, 3, 3, 1, 1, 1, 1, 1));
  GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
  GF_TRY(gf__net_add_conv2d(net, 2 * k, 4, 4, 2, 2, 1, 1, 0));
  GF_TRY(gf__net_add_batchnorm(net, 1, eps, mom));
  GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
  GF_TRY(gf__net_add_conv2d(net, 4 * k, 4, 4, 2, 2, 1, 1, 0));
  GF_TRY(gf__net_add_batchnorm(net, 1, eps, mom));
  GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
  const gf__layer *last = &net->layers[net->n - 1];
  GF_TRY(gf__net_add_reshape(net, last->out_c * last->out_h * last->out_w, 1, 1));
  GF_TRY(gf__net_add_linear(net, GF_CLASSIFIER_FEAT, 1));
  GF_TRY(gf__net_add_act(net, GF_ACT_RELU, 0));
  m->feat_layer = net->n - 1;
  GF_TRY(gf__net_add_dropout(net, 0.3f));
  GF_TRY(gf__net_add_linear(net, nclass, 1));
  gf__net_set_init(net, 0, GF_INIT_KAIMING, 1.0f);
  return gf__net_finalize(net);
}

int gf__classifier_create(gf__classifier *m, const gf_config *cfg, const gf__ops *ops, int c, int h, int w,
                          int nclass, int B) {
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->ops = ops;
  m->c = c; m->h = h; m->w = w;
  m->nclass = nclass;
  m->B = B;
  m->lr = cfg->train_lr;
  m->test_accuracy = -1;
  if (nclass < 2 || nclass > 1000) return gf__fail(GF_EINVAL, "classifier: %d classes (2..1000)", nclass);
  if (h < 8 || w < 8) return gf__fail(GF_EINVAL, "classifier: images of %dx%d are too small (8x8 at least)", h, w);
  gf__rng_init(&m->r_init, (uint64_t)cfg->train_seed, GF_STREAM_INIT);
  gf__rng_init(&m->r_drop, (uint64_t)cfg->train_seed, GF_STREAM_DROPOUT);
  int rc = build(m, c, h, w, nclass);
  if (rc == 0) rc = gf__ctx_create(&m->ctx, &m->net, B);
  if (rc == 0) {
    m->xb = ops->alloc(sizeof(float) * (size_t)B * c * h * w);
    m->yb = ops->alloc(sizeof(float) * (size_t)B);
    m->prob = ops->alloc(sizeof(float) * (size_t)B * nclass);
    m->stats = ops->alloc(sizeof(float) * 2);
    if (!m->xb || !m->yb || !m->prob || !m->stats) rc = gf__fail(GF_ENOMEM, "out of memory for the classifier");
  }
  if (rc < 0) { gf__classifier_destroy(m); return rc; }
  if ((rc = gf__net_init_params(&m->net, &m->r_init, 0)) < 0) gf__classifier_destroy(m);
  return rc;
}

void gf__classifier_destroy(gf__classifier *m) {
  if (!m) return;
  gf__ctx_destroy(&m->ctx);
  if (m->xb) m->ops->free(m->xb);
  if (m->yb) m->ops->free(m->yb);
  if (m->prob) m->ops->free(m->prob);
  if (m->stats) m->ops->free(m->stats);
  gf__net_free(&m->net);
  memset(m, 0, sizeof *m);
}

int gf__classifier_apply(gf__classifier *m, const float *x, int n, float *feat, float *prob) {
  long dim = (long)m->c * m->h * m->w;
  const gf__ops *o = m->ops;
  for (int i = 0; i < n; i += m->B) {
    int b = GF_MIN(m->B, n - i);
    o->to_device(m->xb, x + (size_t)i * dim, sizeof(float) * (size_t)b * dim);
    const float *logits = gf__net_forward(&m->net, &m->ctx, m->xb, b, 0, &m->r_drop);
    if (feat) o->to_host(feat + (size_t)i * GF_CLASSIFIER_FEAT, m->ctx.out[m->feat_layer],
                         sizeof(float) * (size_t)b * GF_CLASSIFIER_FEAT);
    if (prob) {
      /* the softmax of the cross-entropy op; the loss against the labels in yb (any valid
         classes) is not used */
      o->xent_loss(m->stats, NULL, m->prob, logits, m->yb, b, m->nclass, 0.0f);
      o->to_host(prob + (size_t)i * m->nclass, m->prob, sizeof(float) * (size_t)b * m->nclass);
    }
  }
  return 0;
}

int gf__classifier_open(gf__classifier *m, const char *path_in, const gf__ops *ops, int B) {
  char path[2200];
  struct stat st;
  memset(m, 0, sizeof *m);
  if (stat(path_in, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such classifier run folder or file", path_in);
  if (S_ISDIR(st.st_mode)) snprintf(path, sizeof path, "%s/classifier.safetensors", path_in);
  else snprintf(path, sizeof path, "%s", path_in);
  gf__st_file f;
  GF_TRY(gf__st_open(&f, path));
  const char *kind = gf__st_meta(&f, "kind"), *text = gf__st_meta(&f, "config");
  const char *ncl = gf__st_meta(&f, "nclass"), *shape = gf__st_meta(&f, "image_shape");
  const char *acc = gf__st_meta(&f, "test_accuracy");
  int rc = 0, nclass = 0, c = 0, h = 0, w = 0;
  gf_config cfg;
  gf_config_defaults(&cfg);
  if (!kind || strcmp(kind, "classifier") || !text || !ncl || !shape)
    rc = gf__fail(GF_EFORMAT, "%s: not a ganforge classifier (train one with 'ganforge train classifier-mnist')", path);
  else if (gf_config_from_text(&cfg, text) < 0)
    rc = gf__fail(GF_EFORMAT, "%s: bad config in the metadata", path);
  else if (sscanf(ncl, "%d", &nclass) != 1 || sscanf(shape, "%d,%d,%d", &c, &h, &w) != 3)
    rc = gf__fail(GF_EFORMAT, "%s: bad nclass / image_shape metadata", path);
  if (rc == 0) rc = gf__classifier_create(m, &cfg, ops, c, h, w, nclass, B);
  if (rc == 0) rc = gf__weights_load_net(&f, &m->net);
  if (rc == 0 && acc) m->test_accuracy = atof(acc);
  gf__st_close(&f);
  if (rc < 0 && m->ops) gf__classifier_destroy(m);
  return rc;
}

/* ---- training ------------------------------------------------------------------------------ */

void gf__classifier_test_config(const gf_config *cfg, gf_config *t) {
  *t = *cfg;
  if (!strcmp(t->data_name, "shapes")) {
    t->train_seed = cfg->train_seed + 7919;
    t->data_n = 10000;
  } else {
    snprintf(t->data_split, sizeof t->data_split, "test");
    t->data_offset = 0;
    t->data_limit = 0;
  }
}

static int load_test(const gf_config *cfg, gf__dataset *ds) {
  gf_config t;
  gf__classifier_test_config(cfg, &t);
  return gf__dataset_from_config(&t, ds);
}

/* Gathers batch b of the permutation with a random shift of up to `shift` pixels (filled with
   the background value lo); labels as floats. */
static void make_batch(const gf__dataset *ds, const int *perm, int b, int B, int shift, float lo, uint64_t key,
                       float *x, float *y) {
  long dim = gf__dataset_dim(ds);
  int H = ds->h, W = ds->w;
  for (int i = 0; i < B; i++) {
    int idx = perm[(size_t)b * B + i];
    const float *src = ds->x + (size_t)idx * dim;
    float *d = x + (size_t)i * dim;
    y[i] = (float)ds->labels[idx];
    int dy = 0, dx = 0;
    if (shift > 0) {
      uint32_t u[4];
      gf__philox4x32(key, 0x5317, ((uint64_t)b << 32) | (uint64_t)i, u);
      dy = (int)(u[0] % (uint32_t)(2 * shift + 1)) - shift;
      dx = (int)(u[1] % (uint32_t)(2 * shift + 1)) - shift;
    }
    if (!dy && !dx) { memcpy(d, src, sizeof(float) * (size_t)dim); continue; }
    for (int c = 0; c < ds->c; c++)
      for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++) {
          int sr = r - dy, sq = q - dx;
          d[((size_t)c * H + r) * W + q] = sr >= 0 && sr < H && sq >= 0 && sq < W ? src[((size_t)c * H + sr) * W + sq] : lo;
        }
  }
}

static int accuracy(gf__classifier *m, const gf__dataset *ds, double *acc) {
  int n = ds->n, correct = 0;
  float *prob = malloc(sizeof(float) * (size_t)m->B * m->nclass);
  if (!prob) return gf__fail(GF_ENOMEM, "out of memory");
  long dim = gf__dataset_dim(ds);
  for (int i = 0; i < n; i += m->B) {
    int b = GF_MIN(m->B, n - i);
    gf__classifier_apply(m, ds->x + (size_t)i * dim, b, NULL, prob);
    for (int r = 0; r < b; r++) {
      const float *p = prob + (size_t)r * m->nclass;
      int best = 0;
      for (int c = 1; c < m->nclass; c++)
        if (p[c] > p[best]) best = c;
      correct += best == ds->labels[i + r];
    }
  }
  free(prob);
  *acc = n ? (double)correct / n : 0;
  return 0;
}

static int save(gf__classifier *m, const char *dir, double test_acc, int epoch) {
  char path[2200], acc[32], ncl[16], shape[48], ep[16];
  snprintf(path, sizeof path, "%s/classifier.safetensors", dir);
  snprintf(acc, sizeof acc, "%.6f", test_acc);
  snprintf(ncl, sizeof ncl, "%d", m->nclass);
  snprintf(shape, sizeof shape, "%d,%d,%d", m->c, m->h, m->w);
  snprintf(ep, sizeof ep, "%d", epoch);
  const char *meta[] = {"kind", "classifier", "nclass", ncl, "image_shape", shape, "test_accuracy", acc, "epoch", ep,
                        "input_range", "[-1,1]"};
  gf__net *nets[1] = {&m->net};
  return gf__weights_save(path, nets, 1, &m->cfg, meta, 6);
}

int gf__train_classifier(const gf_config *cfg, const gf_train_opts *opts) {
  const gf__ops *ops;
  GF_TRY(gf__ops_for_config(cfg, &ops));
  if (opts && opts->resume)
    return gf__fail(GF_EUSAGE, "classifier runs do not resume (they take minutes): start a new run");
  const char *out = opts && opts->out_dir ? opts->out_dir : "runs/classifier";
  GF_TRY(gf__run_dir_prepare(out));
  gf__dataset tr, te;
  memset(&te, 0, sizeof te);
  GF_TRY(gf__dataset_from_config(cfg, &tr));
  int rc = 0, B = cfg->train_batch;
  if (!tr.labels || tr.nclass < 2) rc = gf__fail(GF_EUSAGE, "dataset %s has no class labels: a classifier needs them", tr.name);
  else if (tr.n < B) rc = gf__fail_small_dataset(cfg, &tr, B);
  if (rc == 0) rc = load_test(cfg, &te);
  gf__classifier m;
  memset(&m, 0, sizeof m);
  if (rc == 0) rc = gf__classifier_create(&m, cfg, ops, tr.c, tr.h, tr.w, tr.nclass, B);
  long dim = gf__dataset_dim(&tr);
  int *perm = malloc(sizeof(int) * (size_t)tr.n);
  float *xh = malloc(sizeof(float) * (size_t)B * dim), *yh = malloc(sizeof(float) * (size_t)B);
  float *dx = NULL;
  FILE *log = NULL, *accf = NULL;
  char path[2200];
  if (rc == 0 && (!perm || !xh || !yh)) rc = gf__fail(GF_ENOMEM, "out of memory");
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/config.txt", out);
    rc = gf_config_save(cfg, path);
  }
  char logpath[2200], accpath[2200];
  snprintf(logpath, sizeof logpath, "%s/log.csv", out);
  snprintf(accpath, sizeof accpath, "%s/accuracy.csv", out);
  if (rc == 0) {
    log = gf__run_log_open(logpath, "step,epoch,loss,train_acc,seconds\n", 0, 0);
    accf = log ? gf__run_log_open(accpath, "epoch,test_acc,seconds\n", 0, 0) : NULL;
    if (!log || !accf) rc = GF_EIO;
  }
  float lo = INFINITY;
  for (long i = 0; rc == 0 && i < (long)tr.n * dim; i++) lo = tr.x[i] < lo ? tr.x[i] : lo;
  gf__rng r_data;
  gf__rng_init(&r_data, (uint64_t)cfg->train_seed, GF_STREAM_DATA);
  int nb = tr.n / B;
  long steps_total = (long)cfg->train_epochs * nb, step = 0;
  if (cfg->train_max_steps && cfg->train_max_steps < steps_total) steps_total = cfg->train_max_steps;
  double t0 = gf__now(), acc = 0;
  int stop = 0, epoch = 0;
  for (epoch = 1; rc == 0 && epoch <= cfg->train_epochs && !stop; epoch++) {
    for (int i = 0; i < tr.n; i++) perm[i] = i;
    gf__rng_perm(&r_data, perm, tr.n);
    uint64_t key = gf__rng_key(&r_data) ^ ((uint64_t)epoch * 0x9E3779B97F4A7C15ull);
    double loss_sum = 0;
    long seen = 0, correct = 0;
    for (int b = 0; b < nb && !stop; b++) {
      make_batch(&tr, perm, b, B, cfg->data_shift, lo, key, xh, yh);
      ops->step_begin();
      ops->to_device(m.xb, xh, sizeof(float) * (size_t)B * dim);
      ops->to_device(m.yb, yh, sizeof(float) * (size_t)B);
      const float *logits = gf__net_forward(&m.net, &m.ctx, m.xb, B, 1, &m.r_drop);
      gf__ctx_zero_dout(&m.net, &m.ctx);
      dx = gf__ctx_dout(&m.net, &m.ctx);
      ops->fill(m.stats, 0.0f, 2);
      ops->xent_loss(m.stats, dx, NULL, logits, m.yb, B, m.nclass, 1.0f);
      gf__net_backward(&m.net, &m.ctx, NULL, GF_GRAD_OVERWRITE);
      m.t++;
      gf__opt_apply(ops, &m.net, cfg, &(gf__opt_state){m.t, m.lr}, cfg->train_momentum);
      if (cfg->train_lr_decay > 1.0) {
        m.lr /= cfg->train_lr_decay;
        if (m.lr < cfg->train_lr_min) m.lr = cfg->train_lr_min;
      }
      ops->step_end();
      float stats[2];
      ops->to_host(stats, m.stats, sizeof stats); /* the step's one read-back */
      if ((rc = ops->check()) < 0) break;
      if (!isfinite(stats[0])) { rc = gf__fail(GF_ENUMERIC, "classifier loss is not finite at step %ld (lower train.lr)", step + 1); break; }
      step++;
      loss_sum += stats[0] * B;
      correct += (long)stats[1];
      seen += B;
      double secs = gf__now() - t0;
      if (step % cfg->train_log_every == 0)
        fprintf(log, "%ld,%d,%.6g,%.4f,%.3f\n", step, epoch, stats[0], stats[1] / B, secs);
      if (opts && opts->progress) {
        gf_progress p = {epoch, cfg->train_epochs, step, steps_total, secs, step / (secs > 0 ? secs : 1e-9),
                         (float)(loss_sum / seen), NAN, (float)correct / (float)seen, NAN};
        if (opts->progress(&p, opts->user)) stop = 1;
      }
      if (opts && opts->stop_flag && *opts->stop_flag) stop = 1;
      if (cfg->train_max_steps && step >= cfg->train_max_steps) stop = 1;
    }
    if (rc < 0) break;
    if ((rc = accuracy(&m, &te, &acc)) < 0) break;
    fprintf(accf, "%d,%.6f,%.2f\n", epoch, acc, gf__now() - t0);
    if ((rc = gf__log_flush(accf, accpath)) < 0 || (rc = gf__log_flush(log, logpath)) < 0) break;
    if ((rc = save(&m, out, acc, epoch)) < 0) break;
  }
  if (log) fclose(log);
  if (accf) fclose(accf);
  free(perm); free(xh); free(yh);
  if (m.ops) gf__classifier_destroy(&m);
  gf__dataset_free(&tr);
  gf__dataset_free(&te);
  return rc;
}
