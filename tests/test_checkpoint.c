/* test_checkpoint.c: full-state checkpoints: bitwise-exact resume (Adam+BN, SGD+momentum+decay with
   dropout/maxout, across epoch boundaries), SIGKILL during a save, every malformed-checkpoint error,
   and the per-epoch progress.gif / report.html of a tiny run. */
#include "harness.h"

#include "core/util.h"
#include "ganforge/ganforge.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/gan.h"
#include "models/weights.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef GF_HAVE_GIF
#include <gif_lib.h>
#endif

static char tmp[2048];

/* printf into one of 16 rotating buffers (short-lived: copy paths that must survive) */
static const char *fmt(const char *f, ...) GF__PRINTF(1, 2);
static const char *fmt(const char *f, ...) {
  static char buf[16][2400];
  static int k = 0;
  k = (k + 1) % 16;
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf[k], sizeof buf[k], f, ap);
  va_end(ap);
  return buf[k];
}

/* a path in a local array: char NAME[2400] (paths here are far shorter) */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#define PATH(name, ...) char name[2400]; snprintf(name, sizeof name, __VA_ARGS__)

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
  if (n) fwrite(p, 1, n, f);
  fclose(f);
}

static int train(const gf_config *cfg, const char *out, const char *resume) {
  gf_train_opts o;
  memset(&o, 0, sizeof o);
  o.out_dir = out;
  o.resume = resume;
  int rc = gf_train(cfg, &o);
  if (rc < 0) fprintf(stderr, "gf_train %s: %s\n", out, gf_last_error());
  return rc;
}

/* ---- 1. bitwise resume ----------------------------------------------------------------------- */

/* Compares every tensor (and every metadata value but the wall-clock 'seconds') of two
   checkpoints; counts the optimizer-moment tensors compared. */
static void compare_checkpoints(const char *what, const char *a, const char *b) {
  gf__st_file fa, fb;
  int ra = gf__st_open(&fa, a), rb = gf__st_open(&fb, b);
  CHECK(ra == 0 && rb == 0, "%s: cannot open final checkpoints: %s", what, gf_last_error());
  if (ra || rb) { if (!ra) gf__st_close(&fa); if (!rb) gf__st_close(&fb); return; }
  CHECK(fa.n == fb.n, "%s: %d vs %d tensors", what, fa.n, fb.n);
  int nopt = 0, ndiff = 0;
  for (int i = 0; i < fa.n; i++) {
    const char *name = gf__st_name(&fa, i);
    int same = gf_t_st_same(&fa, &fb, name);
    if (same < 0) {
      CHECK(0, "%s: tensor %s missing in one checkpoint", what, name);
      continue;
    }
    if (!strncmp(name, "opt.", 4)) {
      nopt++;
      CHECK(same, "%s: optimizer state %s differs between resumed and straight run", what, name);
    } else if (!same) {
      ndiff++;
      CHECK(0, "%s: tensor %s differs between resumed and straight run", what, name);
    }
  }
  CHECK(nopt == 4, "%s: %d opt.* tensors (expected opt.{G,D}.exp_avg{,_sq})", what, nopt);
  const cJSON *ma = cJSON_GetObjectItemCaseSensitive((const cJSON *)fa.json, "__metadata__");
  const cJSON *it;
  int nmeta = 0;
  cJSON_ArrayForEach(it, ma) {
    if (!strcmp(it->string, "seconds")) continue;
    const char *vb = gf__st_meta(&fb, it->string);
    nmeta++;
    CHECK(vb && !strcmp(vb, it->valuestring), "%s: metadata %s: '%.60s' vs '%.60s'", what, it->string,
          it->valuestring, vb ? vb : "(missing)");
  }
  CHECK(nmeta >= 13, "%s: only %d metadata keys", what, nmeta);
  gf__st_close(&fa);
  gf__st_close(&fb);
}

/* log.csv rows without the wall-clock column */
static char *log_without_seconds(const char *path) {
  char *t = NULL;
  size_t n = 0;
  if (gf__read_file(path, &t, &n) < 0) return NULL;
  char *out = calloc(n + 1, 1);
  size_t k = 0;
  for (char *line = t; line && *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char *last = NULL;
    for (size_t i = 0; i < len; i++)
      if (line[i] == ',') last = line + i;
    size_t keep = last ? (size_t)(last - line) : len;
    memcpy(out + k, line, keep);
    k += keep;
    out[k++] = '\n';
    line = nl ? nl + 1 : NULL;
  }
  free(t);
  return out;
}

static long count_lines(const char *s) {
  long n = 0;
  for (; s && *s; s++) n += *s == '\n';
  return n;
}

/* Straight n2-step run vs n1 steps + resume to n2 in the same folder. */
static void resume_case(const char *name, const gf_config *base, int n1, int n2) {
  double t0 = gf__now();
  PATH(straight, "%s/%s_straight", tmp, name);
  PATH(split, "%s/%s_split", tmp, name);
  gf_config c = *base;
  c.train_max_steps = n2;
  CHECK(train(&c, straight, NULL) == 0, "%s: straight run failed", name);
  c.train_max_steps = n1;
  CHECK(train(&c, split, NULL) == 0, "%s: first part failed", name);

  gf_config rc_cfg;
  char ckpt[2048];
  int rc = gf_checkpoint_config(split, &rc_cfg, ckpt, sizeof ckpt);
  CHECK(rc == 0, "%s: gf_checkpoint_config: %s", name, gf_last_error());
  if (rc) return;
  CHECK(strstr(ckpt, "checkpoints/latest.safetensors") != NULL, "%s: resolved to %s", name, ckpt);
  CHECK(rc_cfg.train_max_steps == n1 && !strcmp(rc_cfg.model_g_hidden, base->model_g_hidden) &&
            rc_cfg.train_lr == base->train_lr && rc_cfg.train_seed == base->train_seed,
        "%s: config from the checkpoint differs from the one trained", name);
  gf__st_file f;
  if (gf__st_open(&f, ckpt) == 0) {
    const char *g = gf__st_meta(&f, "g_steps");
    CHECK(g && atol(g) == n1, "%s: latest checkpoint is at g_steps %s, expected %d", name, g ? g : "?", n1);
    gf__st_close(&f);
  } else {
    CHECK(0, "%s: cannot open %s: %s", name, ckpt, gf_last_error());
  }
  rc_cfg.train_max_steps = n2;
  CHECK(train(&rc_cfg, split, ckpt) == 0, "%s: resumed run failed", name);

  CHECK(gf_t_same_file(fmt("%s/generator.safetensors", straight), fmt("%s/generator.safetensors", split)),
        "%s: generator.safetensors after %d + %d resumed steps differs from a straight %d-step run", name, n1,
        n2 - n1, n2);
  compare_checkpoints(name, fmt("%s/checkpoints/latest.safetensors", straight),
                      fmt("%s/checkpoints/latest.safetensors", split));
  char *la = log_without_seconds(fmt("%s/log.csv", straight)), *lb = log_without_seconds(fmt("%s/log.csv", split));
  CHECK(la && lb && !strcmp(la, lb), "%s: log.csv rows (step, epoch, losses) differ after resume", name);
  CHECK(count_lines(lb) == n2 + 1, "%s: resumed log has %ld lines, expected %d", name, count_lines(lb), n2 + 1);
  free(la);
  free(lb);
  printf("resume %-22s %d + %d steps: %.2f s\n", name, n1, n2 - n1, gf__now() - t0);
}

static void test_resume(void) {
  gf_config c;
  /* (a) MLP, Adam, BatchNorm (mlp-shapes), 31 batches per epoch, stop mid-epoch */
  gf_preset_apply(&c, "mlp-shapes");
  gf_t_set(&c, "data.n=1000");
  gf_t_set(&c, "train.batch=32");
  gf_t_set(&c, "train.epochs=5");
  gf_t_set(&c, "train.grid=16");
  gf_t_set(&c, "train.nrow=4");
  /* the preset's layout (Linear-ReLU-BN G, LeakyReLU D) at a width that keeps the test fast */
  gf_t_set(&c, "data.size=16");
  gf_t_set(&c, "model.g_hidden=128,256");
  gf_t_set(&c, "model.d_hidden=256,128");
  gf_config mlp = c;
  resume_case("adam_bn_mid", &mlp, 7, 14);

  /* (b) Goodfellow-like: uniform noise, maxout D with input and hidden dropout, SGD with momentum
     ramp and lr decay, fresh G noise; 31 batches per epoch; stop mid-epoch */
  gf_preset_apply(&c, "goodfellow-mnist");
  gf_t_set(&c, "data.name=shapes");
  gf_t_set(&c, "data.size=12");
  gf_t_set(&c, "data.n=1000");
  gf_t_set(&c, "data.limit=0");
  gf_t_set(&c, "model.g_hidden=48,48");
  gf_t_set(&c, "model.d_hidden=24,24");
  gf_t_set(&c, "model.d_pieces=3");
  gf_t_set(&c, "train.batch=32");
  gf_t_set(&c, "train.epochs=4");
  gf_t_set(&c, "train.lr_decay=1.01");
  gf_t_set(&c, "train.momentum_saturate=3");
  gf_t_set(&c, "train.grid=16");
  gf_t_set(&c, "train.nrow=4");
  gf_config gf = c;
  resume_case("sgd_maxout_dropout_mid", &gf, 9, 20);

  /* (c) across epoch boundaries: 10 batches per epoch */
  c = mlp;
  gf_t_set(&c, "data.n=320");
  gf_t_set(&c, "model.g_hidden=64,128");
  gf_t_set(&c, "model.d_hidden=128,64");
  resume_case("adam_epoch_end", &c, 10, 20);   /* stop exactly at the end of epoch 1 */
  resume_case("adam_across_epoch", &c, 6, 23); /* resume mid-epoch 1, run into epoch 3 */
  c = gf;
  gf_t_set(&c, "data.n=320");
  gf_t_set(&c, "train.d_steps=2");
  resume_case("sgd_k2_across_epoch", &c, 3, 12); /* k=2: 5 G steps per epoch */
}

/* ---- 2. SIGKILL during a save ------------------------------------------------------------------ */

static float marker(long k) { return (float)k + 0.5f; }

/* the child's version k: g_steps = k, first/last G weight, last D weight and last G moment = marker(k) */
static int hook_fd = -1;
/* write seam hook for the deterministic kill: tell the parent, then wait to be killed */
static void stop_halfway(size_t done, size_t total) {
  if (done * 2 < total) return;
  if (write(hook_fd, "h", 1) != 1) _exit(6);
  for (;;) pause();
}

static void make_version(gf__gan *g, long k) {
  g->g_steps = k;
  g->G.params[0] = marker(k);
  g->G.params[g->G.nparam - 1] = marker(k);
  g->D.params[g->D.nparam - 1] = marker(k);
  g->G.opt_v[g->G.nparam - 1] = marker(k);
}

static void test_kill_mid_write(void) {
  PATH(dir, "%s/kill", tmp);
  PATH(ckdir, "%s/checkpoints", dir);
  gf__mkdirs(ckdir);
  PATH(path, "%s/latest.safetensors", ckdir);
  gf_config c;
  gf_preset_apply(&c, "mlp-shapes");
  gf_t_set(&c, "model.nz=64");
  gf_t_set(&c, "model.g_hidden=256,256");
  gf_t_set(&c, "model.d_hidden=256,256");
  gf__gan gan, back;
  int rc = gf__gan_create(&gan, &c, gf__ops_cpu(), 1, 28, 28, 8, NULL);
  CHECK(rc == 0, "gan_create: %s", gf_last_error());
  if (rc) return;
  if ((rc = gf__gan_create(&back, &c, gf__ops_cpu(), 1, 28, 28, 8, NULL)) < 0) { gf__gan_destroy(&gan); return; }
  long nG = gan.G.nparam;
  float *baseG = malloc(sizeof(float) * (size_t)nG);
  memcpy(baseG, gan.G.params, sizeof(float) * (size_t)nG);
  gf__data_pos pos = {2, 5, 77, 1.5};
  double t0 = gf__now();
  rc = gf__checkpoint_save(path, &gan, &pos);
  double tsave = gf__now() - t0;
  CHECK(rc == 0, "initial save: %s", gf_last_error());
  struct stat st;
  stat(path, &st);
  printf("kill test: checkpoint %.1f MB, one save %.1f ms\n", (double)st.st_size / 1e6, tsave * 1e3);

  int versions_seen = 0, torn = 0, tmp_left = 0;
  long last_k = -1;
  const int rounds = 10;
  for (int r = 0; r < rounds; r++) {
    /* The child saves versions 1000r+1, +2, ... in a loop and writes a byte to the pipe after each.
       The parent times one save cycle (bytes 1 -> 2), then kills the child at phase (r+0.5)/rounds
       of the third save: the kills sweep the whole save (buffer build, write, fsync, rename). */
    int fds[2];
    if (pipe(fds) != 0) { CHECK(0, "pipe failed"); break; }
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      alarm(20); /* never outlive a broken parent */
      for (long k = 1 + 1000L * r;; k++) {
        make_version(&gan, k);
        if (gf__checkpoint_save(path, &gan, &pos) < 0) _exit(3);
        if (write(fds[1], "x", 1) != 1) _exit(4);
      }
    }
    close(fds[1]);
    CHECK(pid > 0, "fork failed");
    if (pid <= 0) { close(fds[0]); break; }
    char ch;
    double t1 = 0, cycle = 0;
    int got = read(fds[0], &ch, 1) == 1;
    t1 = gf__now();
    got = got && read(fds[0], &ch, 1) == 1;
    cycle = gf__now() - t1;
    CHECK(got, "round %d: the child did not complete two saves", r);
    long delay_us = (long)(cycle * 1e6 * (r + 0.5) / rounds);
    struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %d: child ended otherwise (status %d)", r, status);

    /* the checkpoint path holds one complete version */
    gf__data_pos p2;
    memset(&p2, 0, sizeof p2);
    rc = gf__checkpoint_load(path, &back, &p2);
    CHECK(rc == 0, "round %d (kill %.1f ms into a %.1f ms save): load after SIGKILL failed: %s", r, delay_us / 1e3,
          cycle * 1e3, gf_last_error());
    if (rc == 0) {
      long k = back.g_steps;
      int ok;
      if (k == 0) {
        ok = !memcmp(back.G.params, baseG, sizeof(float) * (size_t)nG);
      } else {
        float m = marker(k);
        ok = back.G.params[0] == m && back.G.params[nG - 1] == m && back.D.params[back.D.nparam - 1] == m &&
             back.G.opt_v[nG - 1] == m && !memcmp(back.G.params + 1, baseG + 1, sizeof(float) * (size_t)(nG - 2));
      }
      CHECK(ok, "round %d: loaded weights are not the saved version %ld (torn file)", r, k);
      /* the last completed save: at least the second of this round (a loaded machine may let the
         child finish more saves before the kill lands) */
      CHECK(k >= 1000L * r + 2 && k < 1000L * (r + 1), "round %d: loaded version %ld, expected one of this round "
            "from %ld on", r, k, 1000L * r + 2);
      torn += !ok;
      CHECK(p2.epoch == 2 && p2.batch == 5 && p2.data_counter == 77, "round %d: position not restored", r);
      if (k != last_k) versions_seen++;
      last_k = k;
    }
    /* leftovers: only '<name>.tmp.<pid>' files, never taken for the checkpoint */
    DIR *d = opendir(ckdir);
    struct dirent *e;
    int others = 0;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.' || !strcmp(e->d_name, "latest.safetensors")) continue;
      if (strstr(e->d_name, ".tmp.")) {
        tmp_left++;
        /* a partial temp file must be refused cleanly (or be complete) */
        gf__data_pos p3;
        int r3 = gf__checkpoint_load(fmt("%s/%s", ckdir, e->d_name), &back, &p3);
        CHECK(r3 == 0 || (r3 < 0 && gf_last_error()[0]), "stray %s: load rc %d without message", e->d_name, r3);
        unlink(fmt("%s/%s", ckdir, e->d_name));
      } else {
        others++;
        CHECK(0, "round %d: unexpected file %s next to the checkpoint", r, e->d_name);
      }
    }
    if (d) closedir(d);
    (void)others;
    char resolved[2300];
    CHECK(gf__checkpoint_resolve(dir, resolved, sizeof resolved) == 0 && !strcmp(resolved, path),
          "round %d: run folder resolves to %s", r, resolved);
  }
  /* A deterministic round: the child stops itself halfway through writing the temporary file (the
     write seam's hook), the parent kills it there. Timing sweeps alone may miss the write on a fast
     disk, where building the buffer dominates a save. */
  {
    int fds[2];
    long k0 = 900001;
    if (pipe(fds) != 0) CHECK(0, "pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      alarm(20);
      make_version(&gan, k0);
      if (gf__checkpoint_save(path, &gan, &pos) < 0) _exit(3);
      hook_fd = fds[1];
      gf__write_atomic_hook = stop_halfway;
      make_version(&gan, k0 + 1);
      gf__checkpoint_save(path, &gan, &pos);
      _exit(5); /* the hook never returns */
    }
    close(fds[1]);
    char ch = 0;
    int got = pid > 0 && read(fds[0], &ch, 1) == 1 && ch == 'h';
    CHECK(got, "deterministic kill: the child did not reach the middle of a write");
    if (pid > 0) {
      kill(pid, SIGKILL);
      int status = 0;
      waitpid(pid, &status, 0);
    }
    close(fds[0]);
    gf__data_pos p2;
    rc = gf__checkpoint_load(path, &back, &p2);
    CHECK(rc == 0 && back.g_steps == k0, "deterministic kill: checkpoint holds version %ld (want %ld), rc %d: %s",
          back.g_steps, k0, rc, gf_last_error());
    const char *partial = fmt("%s.tmp.%ld", path, (long)pid);
    struct stat sp;
    int have = stat(partial, &sp) == 0;
    CHECK(have && sp.st_size > 0 && sp.st_size < st.st_size, "deterministic kill: no partial temp file %s", partial);
    if (have) {
      tmp_left++;
      gf__data_pos p3;
      int r3 = gf__checkpoint_load(partial, &back, &p3);
      CHECK(r3 < 0 && gf_last_error()[0], "deterministic kill: the partial file loaded (rc %d)", r3);
      unlink(partial);
    }
  }
  printf("kill test: %d rounds, %d version changes seen, %d temp files left behind by SIGKILL\n", rounds,
         versions_seen, tmp_left);
  CHECK(torn == 0, "%d torn checkpoints", torn);
  CHECK(last_k > 0, "no save by the child completed in %d rounds: the test did not exercise replacement", rounds);
  CHECK(tmp_left > 0, "no kill landed during a write: the test did not exercise a partial write");
  free(baseG);
  gf__gan_destroy(&gan);
  gf__gan_destroy(&back);
}

/* ---- 3. malformed checkpoints ------------------------------------------------------------------ */

static gf_config small_cfg(const char *g_hidden) {
  gf_config c;
  gf_preset_apply(&c, "mlp-shapes");
  gf_t_set(&c, "data.size=8");
  gf_t_set(&c, "model.nz=8");
  gf_t_set(&c, fmt("model.g_hidden=%s", g_hidden));
  gf_t_set(&c, "model.g_norm=bn_after");
  gf_t_set(&c, "model.d_hidden=16");
  return c;
}

/* what `train --resume` does: config from the file, build, load */
static int try_resume(const char *path) {
  gf_config c;
  GF_TRY(gf__checkpoint_read_config(path, &c));
  gf__gan g;
  GF_TRY(gf__gan_create(&g, &c, gf__ops_cpu(), 1, c.data_size, c.data_size, 4, NULL));
  gf__data_pos p;
  int rc = gf__checkpoint_load(path, &g, &p);
  gf__gan_destroy(&g);
  return rc;
}

/* load into a given model (no config read) */
static int try_load(const char *path, const gf_config *c) {
  gf__gan g;
  GF_TRY(gf__gan_create(&g, c, gf__ops_cpu(), 1, c->data_size, c->data_size, 4, NULL));
  gf__data_pos p;
  int rc = gf__checkpoint_load(path, &g, &p);
  gf__gan_destroy(&g);
  return rc;
}

static void expect(const char *what, int rc, int status, const char *n1, const char *n2, const char *n3) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", gf_last_error());
  CHECK(rc == status, "%s: rc %d (%s), expected %s; message: %s", what, rc, gf_err_name(rc), gf_err_name(status), msg);
  const char *need[3] = {n1, n2, n3};
  for (int i = 0; i < 3; i++)
    if (need[i]) CHECK(strstr(msg, need[i]) != NULL, "%s: message '%s' lacks '%s'", what, msg, need[i]);
}

/* rewrites the tensors/metadata of an opened file: drop tensor `drop`, add `extra`, drop metadata key
   `drop_meta`, replace metadata `set_key` by `set_val` */
static void rewrite(const gf__st_file *f, const char *out, const char *drop, int extra, const char *drop_meta,
                    const char *set_key, const char *set_val) {
  gf__st_tensor t[64];
  int n = 0;
  for (int i = 0; i < f->n && n < 63; i++) {
    const char *name = gf__st_name(f, i);
    if (drop && !strcmp(name, drop)) continue;
    const uint8_t *d;
    gf__st_get(f, name, &d, &t[n].ndim, t[n].shape);
    t[n].name = name;
    t[n].data = (const float *)(const void *)d;
    n++;
  }
  static const float bogus[3] = {1, 2, 3};
  if (extra) {
    t[n].name = "extra.bogus";
    t[n].data = bogus;
    t[n].ndim = 1;
    t[n].shape[0] = 3;
    n++;
  }
  const char *kv[64];
  int nm = 0;
  const cJSON *it, *m = cJSON_GetObjectItemCaseSensitive((const cJSON *)f->json, "__metadata__");
  cJSON_ArrayForEach(it, m) {
    if (drop_meta && !strcmp(it->string, drop_meta)) continue;
    kv[2 * nm] = it->string;
    kv[2 * nm + 1] = set_key && !strcmp(it->string, set_key) ? set_val : it->valuestring;
    nm++;
  }
  if (gf__st_write(out, t, n, kv, nm) < 0) { fprintf(stderr, "rewrite %s: %s\n", out, gf_last_error()); exit(2); }
}

/* position of the first `needle` in the header of buf (or -1) */
static long hdr_find(const uint8_t *buf, size_t hn, const char *needle) {
  size_t L = strlen(needle);
  for (size_t i = 8; i + L <= 8 + hn; i++)
    if (!memcmp(buf + i, needle, L)) return (long)i;
  return -1;
}

static void test_malformed(void) {
  PATH(dir, "%s/bad", tmp);
  gf__mkdirs(dir);
  gf_config c = small_cfg("16");
  gf__gan g;
  if (gf__gan_create(&g, &c, gf__ops_cpu(), 1, 8, 8, 4, NULL) < 0) { CHECK(0, "gan_create: %s", gf_last_error()); return; }
  g.g_steps = 12;
  g.d_steps = 12;
  gf__data_pos pos = {3, 4, 99, 2.0};
  PATH(good, "%s/good.safetensors", dir);
  CHECK(gf__checkpoint_save(good, &g, &pos) == 0, "save: %s", gf_last_error());
  /* a generator-only file, written the way the trainer writes generator.safetensors */
  PATH(genonly, "%s/generator.safetensors", dir);
  {
    gf__net *nets[1] = {&g.G};
    const char *meta[] = {"g_steps", "12"};
    CHECK(gf__weights_save(genonly, nets, 1, &c, meta, 1) == 0, "generator save: %s", gf_last_error());
  }
  CHECK(try_resume(good) == 0, "the good checkpoint does not load: %s", gf_last_error());
  gf__gan_destroy(&g);

  char *raw;
  size_t len;
  if (gf__read_file(good, &raw, &len) < 0) { CHECK(0, "read %s", good); return; }
  const uint8_t *b = (const uint8_t *)raw;
  uint64_t hn = 0;
  for (int i = 0; i < 8; i++) hn |= (uint64_t)b[i] << (8 * i);
  PATH(p, "%s/case.safetensors", dir);

  /* truncations */
  struct { const char *what; size_t keep; const char *needle; } tr[] = {
      {"truncated to 4 bytes", 4, "too short"},
      {"truncated to 8 bytes", 8, "header length"},
      {"truncated mid-header", 8 + hn / 2, "header length"},
      {"truncated mid-data", 8 + hn + (len - 8 - hn) / 2, "truncated file"},
      {"one byte short", len - 1, "truncated file"},
      {"empty file", 0, "too short"},
  };
  for (size_t i = 0; i < sizeof tr / sizeof tr[0]; i++) {
    write_bytes(p, raw, tr[i].keep);
    expect(fmt("%s (read_config)", tr[i].what), gf__checkpoint_read_config(p, &(gf_config){0}), GF_EFORMAT, tr[i].needle, p, NULL);
    expect(fmt("%s (load)", tr[i].what), try_load(p, &c), GF_EFORMAT, tr[i].needle, p, NULL);
  }
  /* header length larger than the file */
  {
    uint8_t *m = malloc(len);
    memcpy(m, raw, len);
    uint64_t big = (uint64_t)len;
    for (int i = 0; i < 8; i++) m[i] = (uint8_t)(big >> (8 * i));
    write_bytes(p, m, len);
    expect("header length > file", try_resume(p), GF_EFORMAT, "header length", "larger than the file", NULL);
    for (int i = 0; i < 8; i++) m[i] = 0xff;
    write_bytes(p, m, len);
    expect("header length 2^64-1", try_resume(p), GF_EFORMAT, "header length", NULL, NULL);
    free(m);
  }
  /* targeted bit flips in the header */
  struct { const char *what, *anchor; int off, bit, status; const char *needle; } fl[] = {
      {"flip in the opening brace", "{", 0, 0, GF_EFORMAT, "not valid JSON"},
      {"flip in a quote", "\"__metadata__\"", 0, 1, GF_EFORMAT, "not valid JSON"},
      {"flip in dtype F32", "\"F32\"", 1, 0, GF_EFORMAT, "expected F32"},
      {"flip in the checkpoint marker", "ganforge-checkpoint-1", 0, 2, GF_EFORMAT, "not a ganforge training checkpoint"},
      {"flip in a tensor name", "\"G.net.0.weight\"", 9, 0, GF_EMISMATCH, "unexpected tensor 'G.net.0.veight'"},
      {"flip in data_offsets", "\"data_offsets\":[0,", 16, 0, GF_EFORMAT, "data_offsets"},
      {"flip in a shape", "\"shape\":[16,8]", 9, 1, GF_EFORMAT, "has shape [36, 8]"},
      {"flip in g_steps", "\"g_steps\":\"12\"", 11, 6, GF_EFORMAT, "'g_steps' = 'q2' is not a number"},
      {"flip in a JSON colon", "\"epoch\":", 7, 0, GF_EFORMAT, "not valid JSON"},
  };
  for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
    long at = hdr_find(b, (size_t)hn, fl[i].anchor);
    CHECK(at >= 0, "%s: anchor %s not in the header", fl[i].what, fl[i].anchor);
    if (at < 0) continue;
    uint8_t *m = malloc(len);
    memcpy(m, raw, len);
    m[at + fl[i].off] ^= (uint8_t)(1u << fl[i].bit);
    write_bytes(p, m, len);
    free(m);
    expect(fl[i].what, try_resume(p), fl[i].status, fl[i].needle, NULL, NULL);
  }
  /* a sweep of single-bit flips over the whole header: an error with a message, or a valid file */
  {
    int fails = 0, noisy = 0, okc = 0;
    uint8_t *m = malloc(len);
    for (size_t at = 8, k = 0; at < 8 + hn; at += 5, k++) {
      memcpy(m, raw, len);
      m[at] ^= (uint8_t)(1u << (k % 8));
      write_bytes(p, m, len);
      gf_clear_error();
      int rc = try_resume(p);
      if (rc == 0) okc++;
      else if (!gf_last_error()[0] || rc < GF__ERR_LAST) { noisy++; fprintf(stderr, "flip at %zu: rc %d, message '%s'\n", at, rc, gf_last_error()); }
      else fails++;
    }
    free(m);
    CHECK(noisy == 0, "%d header bit flips gave no message or an unknown status", noisy);
    CHECK(fails > okc, "header bit flips: only %d of %d detected", fails, fails + okc);
  }
  /* wrong dtype */
  {
    uint8_t *m = malloc(len);
    memcpy(m, raw, len);
    long at = hdr_find(m, (size_t)hn, "\"F32\"");
    if (at >= 0) memcpy(m + at + 1, "F16", 3);
    write_bytes(p, m, len);
    free(m);
    expect("dtype F16", try_resume(p), GF_EFORMAT, "dtype F16, expected F32", p, NULL);
  }
  gf__st_file f;
  if (gf__st_open(&f, good) < 0) { CHECK(0, "open good: %s", gf_last_error()); free(raw); return; }
  /* missing tensors: a weight, a BN running statistic, an optimizer moment */
  const char *drops[] = {"G.net.2.running_var", "D.net.0.weight", "opt.D.exp_avg_sq"};
  for (int i = 0; i < 3; i++) {
    int present = 0;
    for (int j = 0; j < f.n; j++) present |= !strcmp(gf__st_name(&f, j), drops[i]);
    CHECK(present, "the checkpoint has no tensor %s to drop (names changed?)", drops[i]);
    rewrite(&f, p, drops[i], 0, NULL, NULL, NULL);
    expect(fmt("missing tensor %s", drops[i]), try_resume(p), GF_EMISMATCH, drops[i], p, NULL);
  }
  /* extra tensor */
  rewrite(&f, p, NULL, 1, NULL, NULL, NULL);
  expect("extra tensor", try_resume(p), GF_EMISMATCH, "unexpected tensor 'extra.bogus'", p, NULL);
  /* metadata: a missing key, a non-numeric value, an impossible position, no config, no marker */
  rewrite(&f, p, NULL, 0, "rng.noise_counter", NULL, NULL);
  expect("metadata lacks rng.noise_counter", try_resume(p), GF_EFORMAT, "lacks 'rng.noise_counter'", p, NULL);
  rewrite(&f, p, NULL, 0, "opt.D.lr", NULL, NULL);
  expect("metadata lacks opt.D.lr", try_resume(p), GF_EFORMAT, "lacks 'opt.D.lr'", NULL, NULL);
  rewrite(&f, p, NULL, 0, NULL, "rng.dropout_counter", "-1");
  expect("negative rng counter", try_resume(p), GF_EFORMAT, "rng.dropout_counter", NULL, NULL);
  rewrite(&f, p, NULL, 0, NULL, "epoch", "three");
  expect("non-numeric epoch", try_resume(p), GF_EFORMAT, "'epoch' = 'three' is not a number", NULL, NULL);
  rewrite(&f, p, NULL, 0, NULL, "epoch", "0");
  expect("epoch 0", try_resume(p), GF_EFORMAT, "inconsistent schedule position", NULL, NULL);
  rewrite(&f, p, NULL, 0, "config", NULL, NULL);
  expect("no config", gf__checkpoint_read_config(p, &(gf_config){0}), GF_EFORMAT, "has no config", p, NULL);
  rewrite(&f, p, NULL, 0, NULL, "config", "model.nz = 8\nmodel.no_such_key = 1\n");
  expect("bad config", gf__checkpoint_read_config(p, &(gf_config){0}), GF_EFORMAT, "bad config in checkpoint",
         "no_such_key", NULL);
  rewrite(&f, p, NULL, 0, "checkpoint", NULL, NULL);
  expect("no checkpoint marker", try_resume(p), GF_EFORMAT, "not a ganforge training checkpoint", NULL, NULL);
  rewrite(&f, p, NULL, 0, NULL, "checkpoint", "ganforge-checkpoint-99");
  expect("future checkpoint format", try_resume(p), GF_EFORMAT, "ganforge-checkpoint-99", NULL, NULL);
  gf__st_close(&f);

  /* a checkpoint of another architecture */
  gf_config other = small_cfg("24");
  PATH(o24, "%s/g24.safetensors", dir);
  if (gf__gan_create(&g, &other, gf__ops_cpu(), 1, 8, 8, 4, NULL) == 0) {
    CHECK(gf__checkpoint_save(o24, &g, &pos) == 0, "save g24: %s", gf_last_error());
    gf__gan_destroy(&g);
  }
  expect("other g_hidden", try_load(o24, &c), GF_EMISMATCH, "'G.net.0.weight'", "[24, 8]", "[16, 8]");
  CHECK(try_resume(o24) == 0, "other g_hidden checkpoint does not resume with its own config: %s", gf_last_error());
  gf_config deeper = small_cfg("16,16");
  expect("1-layer G checkpoint into a 2-layer model", try_load(o24, &deeper), GF_EMISMATCH,
         "G.net.", NULL, NULL);
  gf_config shallow = small_cfg("16,16");
  PATH(o1616, "%s/g1616.safetensors", dir);
  if (gf__gan_create(&g, &shallow, gf__ops_cpu(), 1, 8, 8, 4, NULL) == 0) {
    gf__checkpoint_save(o1616, &g, &pos);
    gf__gan_destroy(&g);
  }
  expect("2-layer G checkpoint into a 1-layer model", try_load(o1616, &c), GF_EMISMATCH, "unexpected tensor 'G.net.",
         "different architecture", NULL);

  /* generator-only file given as a checkpoint */
  expect("generator file (read_config)", gf__checkpoint_read_config(genonly, &(gf_config){0}), GF_EFORMAT,
         "not a ganforge training checkpoint", genonly, NULL);
  expect("generator file (load)", try_load(genonly, &c), GF_EFORMAT, "not a ganforge training checkpoint", NULL, NULL);
  PATH(rgen, "%s/resume_gen", dir);
  gf_train_opts o = {rgen, NULL, NULL, NULL, genonly};
  gf_config tc = small_cfg("16");
  gf_t_set(&tc, "data.n=64");
  gf_t_set(&tc, "train.batch=16");
  expect("gf_train resume from a generator file", gf_train(&tc, &o), GF_EFORMAT, "not a ganforge training checkpoint",
         NULL, NULL);
  /* nothing there */
  char out[2300];
  expect("missing file", gf_checkpoint_config(fmt("%s/nope.safetensors", dir), &tc, out, sizeof out), GF_ENOENT,
         "nope.safetensors", NULL, NULL);
  expect("run folder without checkpoints", gf_checkpoint_config(dir, &tc, out, sizeof out), GF_ENOENT,
         "no checkpoints/latest.safetensors", NULL, NULL);
  expect("missing file (load)", try_load(fmt("%s/nope.safetensors", dir), &c), GF_ENOENT, "nope.safetensors", NULL, NULL);
  free(raw);
}

/* ---- 4. progress.gif and report.html ----------------------------------------------------------- */

static unsigned char *b64dec(const char *s, size_t n, size_t *out_len) {
  unsigned char *o = malloc(n / 4 * 3 + 4);
  size_t k = 0;
  unsigned v = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i], d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '+') d = 62;
    else if (c == '/') d = 63;
    else break; /* '=' */
    v = (v << 6) | (unsigned)d;
    bits += 6;
    if (bits >= 8) { bits -= 8; o[k++] = (unsigned char)(v >> bits); }
  }
  *out_len = k;
  return o;
}

static int count_str(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* k-th data URI of `mime` decoded equals file `path` */
static int uri_matches(const char *html, const char *mime, int k, const char *path) {
  char pre[64];
  snprintf(pre, sizeof pre, "data:%s;base64,", mime);
  const char *p = html;
  for (int i = 0; i <= k && p; i++) {
    p = strstr(p, pre);
    if (p && i < k) p++;
  }
  if (!p) return 0;
  p += strlen(pre);
  size_t n = strcspn(p, "'\"");
  size_t dl;
  unsigned char *d = b64dec(p, n, &dl);
  char *f = NULL;
  size_t fl = 0;
  int ok = gf__read_file(path, &f, &fl) == 0 && fl == dl && !memcmp(f, d, dl);
  free(d);
  free(f);
  return ok;
}

static void test_report_gif(void) {
  PATH(run, "%s/report_run", tmp);
  gf_config c;
  gf_preset_apply(&c, "mlp-shapes");
  gf_t_set(&c, "data.n=96");
  gf_t_set(&c, "train.batch=32");
  gf_t_set(&c, "train.epochs=3");
  gf_t_set(&c, "train.grid=16");
  gf_t_set(&c, "train.nrow=4");
  gf_t_set(&c, "model.g_hidden=64,128");
  gf_t_set(&c, "model.d_hidden=128,64");
  CHECK(train(&c, run, NULL) == 0, "3-epoch run failed");
  /* grid of 16 28x28 samples, 4 per row, upscaled 2x, 2-pixel padding */
  const int G = 4 * (28 * 2 + 2) + 2;
  uint8_t *pix;
  int w = 0, h = 0, ch = 0;
  if (gf__png_read(fmt("%s/samples/epoch_001.png", run), &pix, &w, &h, &ch) == 0) free(pix);
  CHECK(w == G && h == G, "epoch_001.png is %dx%d, expected %dx%d", w, h, G, G);
  CHECK(exists(fmt("%s/samples/epoch_003.png", run)) && !exists(fmt("%s/samples/epoch_004.png", run)),
        "expected exactly samples/epoch_001..003.png");
  PATH(gifp, "%s/progress.gif", run);
#ifdef GF_HAVE_GIF
  int err = 0;
  GifFileType *gf = DGifOpenFileName(gifp, &err);
  CHECK(gf != NULL, "DGifOpenFileName(%s): giflib error %d", gifp, err);
  if (gf) {
    int sr = DGifSlurp(gf);
    CHECK(sr == GIF_OK, "DGifSlurp: error %d", gf->Error);
    CHECK(gf->ImageCount == 3, "progress.gif has %d frames, expected 3 (one per epoch)", gf->ImageCount);
    CHECK(gf->SWidth == G && gf->SHeight == G, "GIF screen %dx%d, expected %dx%d", gf->SWidth, gf->SHeight, G, G);
    for (int i = 0; sr == GIF_OK && i < gf->ImageCount; i++) {
      const GifImageDesc *d = &gf->SavedImages[i].ImageDesc;
      CHECK(d->Width == G && d->Height == G && d->Left == 0 && d->Top == 0, "frame %d is %dx%d at %d,%d", i, d->Width,
            d->Height, d->Left, d->Top);
      GraphicsControlBlock gcb;
      CHECK(DGifSavedExtensionToGCB(gf, i, &gcb) == GIF_OK && gcb.DelayTime > 0, "frame %d has no delay", i);
    }
    if (sr == GIF_OK && gf->ImageCount == 3)
      CHECK(memcmp(gf->SavedImages[0].RasterBits, gf->SavedImages[2].RasterBits, (size_t)G * G) != 0,
            "first and last frames are identical");
    DGifCloseFile(gf, &err);
  }
#else
  printf("skipped: GIF decoding (built without giflib)\n");
#endif
  char *html = NULL;
  size_t hl = 0;
  CHECK(gf__read_file(fmt("%s/report.html", run), &html, &hl) == 0, "no report.html: %s", gf_last_error());
  if (!html) return;
  CHECK(count_str(html, "data:image/png;base64,") == 3, "report embeds %d PNGs, expected 3",
        count_str(html, "data:image/png;base64,"));
  for (int e = 0; e < 3; e++)
    CHECK(uri_matches(html, "image/png", e, fmt("%s/samples/epoch_%03d.png", run, e + 1)),
          "PNG data URI %d does not decode to samples/epoch_%03d.png", e, e + 1);
#ifdef GF_HAVE_GIF
  CHECK(count_str(html, "data:image/gif;base64,") == 1, "report embeds %d GIFs", count_str(html, "data:image/gif;base64,"));
  CHECK(uri_matches(html, "image/gif", 0, gifp), "GIF data URI does not decode to progress.gif");
#endif
  CHECK(count_str(html, "<svg") == 2 && count_str(html, "</svg>") == 2, "report has %d SVG charts, expected 2",
        count_str(html, "<svg"));
  CHECK(strstr(html, "Losses") && strstr(html, "Discriminator outputs"), "chart titles missing");
  CHECK(count_str(html, "<polyline") == 4 && !strstr(html, "points=''") && !strstr(html, "no data yet"),
        "the charts do not hold 4 non-empty series");
  CHECK(strstr(html, "data-images-loaded") && strstr(html, "data-images-total"), "no image-load marker script");
  CHECK(strstr(html, "model.g_hidden = 64,128") != NULL, "config not in the report");
  free(html);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "%s", gf_t_tmpdir("checkpoint"));
  double t0 = gf__now();
  test_kill_mid_write();
  double t1 = gf__now();
  test_malformed();
  double t2 = gf__now();
  test_report_gif();
  double t3 = gf__now();
  test_resume();
  printf("times: kill %.1f s, malformed %.1f s, report %.1f s, resume %.1f s\n", t1 - t0, t2 - t1, t3 - t2,
         gf__now() - t3);
  return gf_t_done();
}
