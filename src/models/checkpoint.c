/* checkpoint.c: saving and restoring the complete training state in one safetensors file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/cond.h"
#include "models/diffaug.h"
#include "models/weights.h"

#define CKPT_FORMAT "ganforge-checkpoint-1"

static void opt_tensors(gf__gan *gan, gf__flat_tensor *t) {
  snprintf(t[0].name, sizeof t[0].name, "opt.G.exp_avg");
  t[0].data = gan->G.opt_m; t[0].n = gan->G.nparam;
  snprintf(t[1].name, sizeof t[1].name, "opt.G.exp_avg_sq");
  t[1].data = gan->G.opt_v; t[1].n = gan->G.nparam;
  snprintf(t[2].name, sizeof t[2].name, "opt.D.exp_avg");
  t[2].data = gan->D.opt_m; t[2].n = gan->D.nparam;
  snprintf(t[3].name, sizeof t[3].name, "opt.D.exp_avg_sq");
  t[3].data = gan->D.opt_v; t[3].n = gan->D.nparam;
}

/* train.ema: the average of G's parameters and the BatchNorm statistics recomputed for it (the
   latter let `ganforge sample/eval CHECKPOINT` use the average without recomputing anything) */
static int ema_tensors(gf__gan *gan, gf__flat_tensor *t) {
  if (!gan->g_ema) return 0;
  snprintf(t[0].name, sizeof t[0].name, "ema.G.params");
  t[0].data = gan->g_ema; t[0].n = gan->G.nparam;
  if (!gan->G.nbuf) return 1;
  snprintf(t[1].name, sizeof t[1].name, "ema.G.buffers");
  t[1].data = gan->ema_buf; t[1].n = gan->G.nbuf;
  return 2;
}

int gf__checkpoint_save(const char *path, gf__gan *gan, const gf__data_pos *pos) {
  gf__flat_tensor extra[6];
  opt_tensors(gan, extra);
  if (gan->g_ema) {
    GF_TRY(gf__gan_ema_enter(gan)); /* fills ema_buf */
    gf__gan_ema_leave(gan);
  }
  int nextra = 4 + ema_tensors(gan, extra + 4);
  char v[16][48];
  snprintf(v[0], 48, "%ld", gan->g_steps);
  snprintf(v[1], 48, "%ld", gan->d_steps);
  snprintf(v[2], 48, "%d", pos->epoch);
  snprintf(v[3], 48, "%d", pos->batch);
  snprintf(v[4], 48, "%" PRIu64, pos->data_counter);
  snprintf(v[5], 48, "%" PRIu64, gan->r_noise.counter);
  snprintf(v[6], 48, "%" PRIu64, gan->r_drop.counter);
  snprintf(v[7], 48, "%ld", gan->og.t);
  snprintf(v[8], 48, "%.17g", gan->og.lr);
  snprintf(v[9], 48, "%ld", gan->od.t);
  snprintf(v[10], 48, "%.17g", gan->od.lr);
  snprintf(v[11], 48, "%.6f", pos->seconds);
  snprintf(v[12], 48, "%" PRIu64, gan->crit.r_gp.counter);
  /* the fake-label (model.cond) and DiffAugment (train.diffaug) streams, when the run has them */
  snprintf(v[13], 48, "%" PRIu64, gan->cond ? gan->cond->r_lab.counter : 0);
  snprintf(v[14], 48, "%" PRIu64, gan->aug ? gan->aug->r.counter : 0);
  const char *meta[] = {"checkpoint", CKPT_FORMAT, "g_steps", v[0], "d_steps", v[1], "epoch", v[2], "batch", v[3],
                        "rng.data_epoch_counter", v[4], "rng.noise_counter", v[5], "rng.dropout_counter", v[6],
                        "opt.G.step", v[7], "opt.G.lr", v[8], "opt.D.step", v[9], "opt.D.lr", v[10],
                        "seconds", v[11], "rng.penalty_counter", v[12], "rng.labels_counter", v[13],
                        "rng.diffaug_counter", v[14]};
  int nmeta = (int)(sizeof meta / sizeof meta[0]) / 2 - !gan->aug - !gan->cond;
  if (!gan->cond && gan->aug) { meta[2 * nmeta - 2] = "rng.diffaug_counter"; meta[2 * nmeta - 1] = v[14]; }
  gf__net *nets[2] = {&gan->G, &gan->D};
  return gf__weights_save_ex(path, nets, 2, extra, nextra, &gan->cfg, meta, nmeta);
}

int gf__checkpoint_resolve(const char *run, char *out, size_t cap) {
  struct stat st;
  if (stat(run, &st) != 0) return gf__fail(GF_ENOENT, "%s: no such run folder or checkpoint", run);
  if (S_ISDIR(st.st_mode)) {
    snprintf(out, cap, "%s/checkpoints/latest.safetensors", run);
    if (stat(out, &st) != 0) return gf__fail(GF_ENOENT, "%s: the run folder has no checkpoints/latest.safetensors", run);
  } else {
    snprintf(out, cap, "%s", run);
  }
  return 0;
}

static int meta_num(const gf__st_file *f, const char *key, double *out) {
  const char *s = gf__st_meta(f, key);
  char *end;
  if (!s) return gf__fail(GF_EFORMAT, "%s: checkpoint metadata lacks '%s'", f->path, key);
  *out = strtod(s, &end);
  if (end == s || *end) return gf__fail(GF_EFORMAT, "%s: checkpoint metadata '%s' = '%s' is not a number", f->path, key, s);
  return 0;
}

static int open_ckpt(gf__st_file *f, const char *path) {
  GF_TRY(gf__st_open(f, path));
  const char *fmt = gf__st_meta(f, "checkpoint");
  if (!fmt || strcmp(fmt, CKPT_FORMAT)) {
    /* the message quotes the value: format it before closing frees the header */
    int rc = gf__fail(GF_EFORMAT, "%s: not a ganforge training checkpoint (metadata 'checkpoint' is %.64s)", path,
                      fmt ? fmt : "missing");
    gf__st_close(f);
    return rc;
  }
  return 0;
}

int gf__checkpoint_read_config(const char *path, gf_config *cfg) {
  gf__st_file f;
  GF_TRY(open_ckpt(&f, path));
  const char *text = gf__st_meta(&f, "config");
  int rc;
  gf_config_defaults(cfg);
  if (!text) rc = gf__fail(GF_EFORMAT, "%s: checkpoint has no config", path);
  else rc = gf__config_from_stored(cfg, text, path, "checkpoint");
  gf__st_close(&f);
  return rc;
}

int gf__checkpoint_load_flat(const gf__st_file *f, const char *name, float *dst, long n, const gf__ops *ops) {
  int64_t shape[1] = {n};
  float *tmp = malloc(sizeof(float) * (size_t)(n + 1));
  if (!tmp) return gf__fail(GF_ENOMEM, "out of memory");
  int rc = gf__st_read_into(f, name, tmp, 1, shape);
  if (rc == 0) ops->to_device(dst, tmp, sizeof(float) * (size_t)n);
  free(tmp);
  return rc;
}

static int has_tensor(const gf__st_file *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(gf__st_name(f, i), name)) return 1;
  return 0;
}

int gf__checkpoint_load(const char *path, gf__gan *gan, gf__data_pos *pos) {
  gf__st_file f;
  GF_TRY(open_ckpt(&f, path));
  int rc = 0;
  /* every tensor in the file must belong to the model */
  gf__tensor_ref refs[512];
  int ng = gf__net_tensors(&gan->G, refs, 256);
  int nd = gf__net_tensors(&gan->D, refs + ng, 256);
  int expected = ng + nd + 4;
  /* ema.G.*: the generator average (train.ema); a checkpoint without it resumed with train.ema > 0
     starts the average at the loaded weights, one with it resumed with train.ema = 0 drops it */
  int has_ema = has_tensor(&f, "ema.G.params"), has_ema_buf = has_tensor(&f, "ema.G.buffers");
  expected += has_ema + has_ema_buf;
  for (int i = 0; i < f.n && rc == 0; i++) {
    const char *name = gf__st_name(&f, i);
    int known = !strncmp(name, "opt.", 4) &&
                (!strcmp(name, "opt.G.exp_avg") || !strcmp(name, "opt.G.exp_avg_sq") ||
                 !strcmp(name, "opt.D.exp_avg") || !strcmp(name, "opt.D.exp_avg_sq"));
    known = known || !strcmp(name, "ema.G.params") || (!strcmp(name, "ema.G.buffers") && has_ema);
    for (int j = 0; j < ng + nd && !known; j++) known = !strcmp(refs[j].name, name);
    if (!known)
      rc = gf__fail(GF_EMISMATCH, "%s: unexpected tensor '%s': the checkpoint is of a different architecture", path, name);
  }
  /* every tensor of the model must be in the file: name the first one missing */
  static const char *const opt_names[] = {"opt.G.exp_avg", "opt.G.exp_avg_sq", "opt.D.exp_avg", "opt.D.exp_avg_sq"};
  for (int j = 0; j < ng + nd + 4 && rc == 0; j++) {
    const char *want = j < ng + nd ? refs[j].name : opt_names[j - ng - nd];
    int found = 0;
    for (int i = 0; i < f.n && !found; i++) found = !strcmp(gf__st_name(&f, i), want);
    if (!found) rc = gf__fail(GF_EMISMATCH, "%s: missing tensor '%s': the checkpoint is of a different architecture or incomplete", path, want);
  }
  if (rc == 0 && f.n != expected)
    rc = gf__fail(GF_EMISMATCH, "%s: has %d tensors, the model expects %d", path, f.n, expected);
  if (rc == 0) rc = gf__weights_load_net(&f, &gan->G);
  if (rc == 0) rc = gf__weights_load_net(&f, &gan->D);
  if (rc == 0) rc = gf__checkpoint_load_flat(&f, "opt.G.exp_avg", gan->G.opt_m, gan->G.nparam, gan->ops);
  if (rc == 0) rc = gf__checkpoint_load_flat(&f, "opt.G.exp_avg_sq", gan->G.opt_v, gan->G.nparam, gan->ops);
  if (rc == 0) rc = gf__checkpoint_load_flat(&f, "opt.D.exp_avg", gan->D.opt_m, gan->D.nparam, gan->ops);
  if (rc == 0) rc = gf__checkpoint_load_flat(&f, "opt.D.exp_avg_sq", gan->D.opt_v, gan->D.nparam, gan->ops);
  if (rc == 0 && has_ema) {
    if (has_ema_buf != (gan->G.nbuf > 0))
      rc = gf__fail(GF_EMISMATCH, "%s: 'ema.G.buffers' is %s, the generator has %ld BatchNorm statistics", path,
                    has_ema_buf ? "present" : "missing", gan->G.nbuf);
    else if (gan->g_ema) {
      gan->ema_buf_ok = 0; /* recomputed on first use, as in the run that wrote it */
      rc = gf__checkpoint_load_flat(&f, "ema.G.params", gan->g_ema, gan->G.nparam, gan->ops);
      if (rc == 0 && has_ema_buf) rc = gf__checkpoint_load_flat(&f, "ema.G.buffers", gan->ema_buf, gan->G.nbuf, gan->ops);
    }
  } else if (rc == 0 && gan->g_ema) {
    gan->ops->copy(gan->g_ema, gan->G.params, (size_t)gan->G.nparam);
    gan->ema_buf_ok = 0;
  }
  double x;
  uint64_t u;
  if (rc == 0 && (rc = meta_num(&f, "g_steps", &x)) == 0) gan->g_steps = (long)x;
  if (rc == 0 && (rc = meta_num(&f, "d_steps", &x)) == 0) gan->d_steps = (long)x;
  if (rc == 0 && (rc = meta_num(&f, "epoch", &x)) == 0) pos->epoch = (int)x;
  if (rc == 0 && (rc = meta_num(&f, "batch", &x)) == 0) pos->batch = (int)x;
  if (rc == 0 && (rc = gf__st_meta_u64(&f, "rng.data_epoch_counter", &u)) == 0) pos->data_counter = u;
  if (rc == 0 && (rc = gf__st_meta_u64(&f, "rng.noise_counter", &u)) == 0) gan->r_noise.counter = u;
  if (rc == 0 && (rc = gf__st_meta_u64(&f, "rng.dropout_counter", &u)) == 0) gan->r_drop.counter = u;
  /* the gradient penalty's stream (absent from checkpoints written before it existed: 0) */
  if (rc == 0 && gf__st_meta(&f, "rng.penalty_counter") && (rc = gf__st_meta_u64(&f, "rng.penalty_counter", &u)) == 0)
    gan->crit.r_gp.counter = u;
  /* streams a run had only with model.cond / train.diffaug (a checkpoint without one starts it at 0) */
  if (rc == 0 && gan->cond && gf__st_meta(&f, "rng.labels_counter") &&
      (rc = gf__st_meta_u64(&f, "rng.labels_counter", &u)) == 0)
    gan->cond->r_lab.counter = u;
  if (rc == 0 && gan->aug && gf__st_meta(&f, "rng.diffaug_counter") &&
      (rc = gf__st_meta_u64(&f, "rng.diffaug_counter", &u)) == 0)
    gan->aug->r.counter = u;
  /* The saved learning rates carry the decay so far; a run resumed with a different train.lr /
     train.lr_d starts from the new value instead (the user's override). */
  gf_config saved;
  gf_config_defaults(&saved);
  const char *text = gf__st_meta(&f, "config");
  int same_lr = 0;
  if (rc == 0 && text) {
    /* a message of its own: the config parser's would not name the file */
    if (gf_config_from_text(&saved, text) < 0) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", gf_last_error());
      rc = gf__fail(GF_EFORMAT, "%s: bad config in checkpoint: %s", path, msg);
    }
    same_lr = saved.train_lr == gan->cfg.train_lr && saved.train_lr_d == gan->cfg.train_lr_d;
  }
  double lr_g, lr_d;
  if (rc == 0 && (rc = meta_num(&f, "opt.G.step", &x)) == 0) gan->og.t = (long)x;
  if (rc == 0 && (rc = meta_num(&f, "opt.G.lr", &lr_g)) == 0 && same_lr) gan->og.lr = lr_g;
  if (rc == 0 && (rc = meta_num(&f, "opt.D.step", &x)) == 0) gan->od.t = (long)x;
  if (rc == 0 && (rc = meta_num(&f, "opt.D.lr", &lr_d)) == 0 && same_lr) gan->od.lr = lr_d;
  if (rc == 0) rc = meta_num(&f, "seconds", &pos->seconds);
  if (rc == 0 && (pos->epoch < 1 || pos->batch < 0 || gan->g_steps < 0))
    rc = gf__fail(GF_EFORMAT, "%s: inconsistent schedule position (epoch %d, batch %d)", path, pos->epoch, pos->batch);
  gan->have_fake = 0;
  gan->epoch = pos->epoch;
  gf__st_close(&f);
  return rc;
}

int gf__link_replace(const char *src, const char *dst) {
  char tmp[2400];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dst, (long)getpid());
  unlink(tmp);
  if (link(src, tmp) != 0 || rename(tmp, dst) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

int gf__opt_flat_tensors(gf__net *const *n, int nn, gf__flat_tensor *t) {
  for (int i = 0; i < nn; i++) {
    snprintf(t[2 * i].name, sizeof t[0].name, "opt.%s.exp_avg", n[i]->name);
    t[2 * i].data = n[i]->opt_m;
    t[2 * i].n = n[i]->nparam;
    snprintf(t[2 * i + 1].name, sizeof t[0].name, "opt.%s.exp_avg_sq", n[i]->name);
    t[2 * i + 1].data = n[i]->opt_v;
    t[2 * i + 1].n = n[i]->nparam;
  }
  return 2 * nn;
}

int gf__checkpoint_save_step(const char *dir, long step, int keep, int (*save)(const char *path, void *u), void *u) {
  char path[2200];
  snprintf(path, sizeof path, "%s/checkpoints/step_%08ld.safetensors", dir, step);
  GF_TRY(save(path, u));
  return gf__checkpoint_rotate(dir, path, keep, save, u);
}

int gf__checkpoint_rotate(const char *dir, const char *step_path, int keep, int (*save_again)(const char *path, void *u),
                          void *u) {
  char latest[2200], pattern[2200];
  snprintf(latest, sizeof latest, "%s/checkpoints/latest.safetensors", dir);
  if (gf__link_replace(step_path, latest) != 0) GF_TRY(save_again(latest, u)); /* file systems without hard links */
  /* prune: step files sorted by name are sorted by step */
  snprintf(pattern, sizeof pattern, "%s/checkpoints/step_*.safetensors", dir);
  glob_t g;
  if (glob(pattern, 0, NULL, &g) == 0) {
    for (size_t i = 0; i + (size_t)keep < g.gl_pathc; i++) unlink(g.gl_pathv[i]);
    globfree(&g);
  }
  return 0;
}

int gf__run_dir_prepare(const char *dir) {
  char path[2200];
  GF_TRY(gf__mkdirs(dir));
  snprintf(path, sizeof path, "%s/samples", dir);
  GF_TRY(gf__mkdirs(path));
  snprintf(path, sizeof path, "%s/checkpoints", dir);
  GF_TRY(gf__mkdirs(path));
  glob_t g;
  snprintf(path, sizeof path, "%s/checkpoints/*.tmp.*", dir);
  if (glob(path, 0, NULL, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++) unlink(g.gl_pathv[i]);
    globfree(&g);
  }
  return 0;
}

static int count_commas(const char *s, const char *end) {
  int n = 0;
  for (; s < end && *s && *s != '\n'; s++) n += *s == ',';
  return n;
}

FILE *gf__run_log_open(const char *path, const char *header, int resume, long step) {
  char *old = NULL;
  size_t oldlen = 0;
  if (resume && gf__read_file(path, &old, &oldlen) < 0) old = NULL;
  /* the kept rows and the header are written atomically, then appended to: a disk that fills up
     while a run resumes cannot eat the old log */
  size_t hl = strlen(header), len = hl;
  char *text = malloc(hl + oldlen + 2);
  if (!text) {
    free(old);
    gf__fail(GF_ENOMEM, "%s: out of memory", path);
    return NULL;
  }
  memcpy(text, header, hl);
  int ncomma = count_commas(header, header + hl);
  char *save = NULL;
  for (char *line = old ? strtok_r(old, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    /* rows of steps after the checkpoint belong to lost steps; a row cut short by a full disk
       (fewer columns) is dropped */
    long st;
    size_t n = strlen(line);
    if (sscanf(line, "%ld,", &st) == 1 && st <= step && count_commas(line, line + n) == ncomma && n > 0 &&
        line[n - 1] != ',') {
      memcpy(text + len, line, n);
      len += n;
      text[len++] = '\n';
    }
  }
  free(old);
  int rc = gf__write_file_atomic(path, text, len);
  free(text);
  if (rc < 0) return NULL;
  FILE *log = fopen(path, "a");
  if (!log) gf__fail(GF_EIO, "%s: cannot write the log: %s", path, strerror(errno));
  return log;
}

int gf__fail_write_stop(const char *dir, long step) {
  char msg[1024], latest[2200];
  snprintf(msg, sizeof msg, "%s", gf_last_error());
  snprintf(latest, sizeof latest, "%s/checkpoints/latest.safetensors", dir);
  if (access(latest, F_OK) == 0)
    return gf__fail(GF_EIO, "%s; training stopped at step %ld; the last checkpoint, %s, is intact: make room, then "
                    "continue with 'ganforge train --resume %s'", msg, step, latest, dir);
  return gf__fail(GF_EIO, "%s; training stopped at step %ld, before its first checkpoint", msg, step);
}
