/* test_dist_steps.c: a data-parallel job on a backend whose memory the communicator cannot read in
   place, as the CUDA backend's without NCCL, and the step recorder's side of a job: the test starts
   itself as 2 ranks under mpirun; each rank's "cuda:RANK" is a wrapper of the CPU table (so the job
   opens the rank's own device and stages gradients and BatchNorm sums through to_host / MPI /
   to_device inside the steps). Checked on every rank, for dcgan-shapes with train.sync_bn=1:
   - the job opens the backend with the step recorder off (configure: graph 0) though
     train.cuda_graph=1, and no step is recorded or replayed;
   - with a recorder that ignores that (on in every step), every step with a collective leaves
     its recording at the first staged collective (a barrier) and runs eagerly: nothing is ever
     captured, and graphs go off after GF_SG_MAX_FAILS such steps;
   - both train bit for bit like the same job on the CPU table (whose memory MPI reads in place):
     the same losses on every step, on every rank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ops.h"
#include "core/stepgraph.h"
#include "ganforge/ganforge.h"
#include "harness.h"

static const gf__ops *C; /* the CPU table underneath */
static gf__ops W;        /* the wrapper: "device" memory */
static char wname[64];

static struct {
  int in_step, force_graph;
  int configures, last_graph;
  long steps, in_step_to_host, in_step_to_device;
  gf__stepgraph sg;
} S;

static void sg_op(uint32_t kind, size_t n) { gf__sg_op(&S.sg, kind, gf__sg_hash(GF_SG_HASH0, &n, sizeof n)); }

static void w_to_host(void *d, const void *s, size_t b) {
  if (S.in_step) S.in_step_to_host++;
  gf__sg_barrier(&S.sg, "to_host");
  C->to_host(d, s, b);
}
static void w_to_device(void *d, const void *s, size_t b) {
  if (S.in_step) S.in_step_to_device++;
  sg_op(1, b);
  C->to_device(d, s, b);
}
static void w_sync(void) {
  gf__sg_barrier(&S.sg, "sync");
  C->sync();
}
static void w_step_begin(void) {
  S.in_step = 1;
  gf__sg_begin(&S.sg);
}
static void w_step_end(void) {
  S.in_step = 0;
  S.steps++;
  gf__sg_end(&S.sg);
}
static int w_configure(const gf__backend_opts *o) {
  S.configures++;
  S.last_graph = o->graph;
  gf__sg_free(&S.sg);
  gf__sg_init(&S.sg, S.force_graph || o->graph);
  return C->configure(o);
}
static void w_copy(float *d, const float *s, size_t n) { sg_op(2, n); C->copy(d, s, n); }
static void w_fill(float *x, float v, size_t n) { sg_op(3, n); C->fill(x, v, n); }
static void w_axpy(float *y, float a, const float *x, size_t n) { sg_op(4, n); C->axpy(y, a, x, n); }
static void w_scale(float *x, float a, size_t n) { sg_op(5, n); C->scale(x, a, n); }
static void w_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                   float beta, float *Cm, int ldc) {
  sg_op(6, (size_t)M * N * K);
  C->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
}

/* ---- one run: the losses of every step ---- */
#define MAXSTEPS 8
typedef struct losses {
  int n;
  float v[MAXSTEPS][4];
} losses;

static int on_progress(const gf_progress *p, void *user) {
  losses *l = user;
  if (l->n < MAXSTEPS) {
    l->v[l->n][0] = (float)p->loss_d;
    l->v[l->n][1] = (float)p->loss_g;
    l->v[l->n][2] = (float)p->d_real;
    l->v[l->n][3] = (float)p->d_fake;
  }
  l->n++;
  return 0;
}

static int train(const char *device, const char *out, losses *l, int force_graph) {
  gf_config cfg;
  if (gf_preset_apply(&cfg, "dcgan-shapes") < 0) return -1;
  const char *kv[] = {"data.n=64", "train.batch=16", "train.max_steps=3", "model.ngf=8", "model.ndf=8",
                      "train.sync_bn=1", "train.cuda_graph=1", "train.report=0", "train.checkpoint_every=0",
                      "train.dist_timeout=60", NULL};
  for (int i = 0; kv[i]; i++) gf_t_set(&cfg, kv[i]);
  snprintf(cfg.train_device, sizeof cfg.train_device, "%s", device);
  memset(l, 0, sizeof *l);
  gf__sg_free(&S.sg);
  memset(&S, 0, sizeof S);
  S.force_graph = force_graph;
  /* in a job rank 0 alone reports progress: the losses as means over the ranks */
  gf_train_opts o = {.out_dir = out, .progress = on_progress, .user = l};
  return gf_train(&cfg, &o);
}

static int launch(char **argv) {
  if (system("command -v mpirun > /dev/null 2>&1") != 0) {
    const char *ci = getenv("CI");
    printf("skipped: mpirun not found\n");
    return ci && !strcmp(ci, "true") ? 1 : 0;
  }
  char asan[512];
  const char *a = getenv("ASAN_OPTIONS");
  /* Open MPI's plugins leak at MPI_Finalize (tests/test_dist.sh says why); the rest stays checked */
  snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_leaks=0", a ? a : "", a && *a ? ":" : "");
  char *args[] = {"mpirun", "-np", "2", "--oversubscribe", "--allow-run-as-root", "-x", asan, "-x", "OMP_NUM_THREADS=1",
                  argv[0], "--rank", NULL};
  fflush(stdout);
  execvp("mpirun", args);
  perror("execvp mpirun");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--rank")) return launch(argv);
  int rc = gf_dist_init(&argc, &argv);
  if (rc == GF_ENOSYS) {
    printf("skipped: this ganforge was built without MPI\n");
    return 0;
  }
  CHECK(rc == 0, "gf_dist_init: %s", gf_last_error());
  int rank = gf_dist_rank(), ranks = gf_dist_size();
  CHECK(ranks == 2, "2 ranks under mpirun (%d)", ranks);
  if (ranks != 2) {
    gf_dist_finalize(1);
    return gf_t_done();
  }
  char dev[32];
  CHECK(gf_dist_device("cuda", dev, sizeof dev) == 0 && strcmp(dev, rank ? "cuda:1" : "cuda:0") == 0,
        "rank %d trains on its own device: %s", rank, dev);
  CHECK(gf_dist_device("cpu", dev, sizeof dev) == 0 && !strcmp(dev, "cpu"), "cpu stays cpu: %s", dev);
  C = gf__ops_cpu();
  W = *C;
  snprintf(wname, sizeof wname, "cuda:%d (CPU wrapper)", rank);
  W.name = wname;
  W.to_host = w_to_host; W.to_device = w_to_device; W.sync = w_sync; W.step_begin = w_step_begin;
  W.step_end = w_step_end; W.configure = w_configure; W.copy = w_copy; W.fill = w_fill; W.axpy = w_axpy;
  W.scale = w_scale; W.gemm = w_gemm;
  snprintf(dev, sizeof dev, "cuda:%d", rank);
  gf__ops_override(dev, &W);

  char out[3][2300];
  const char *tmp = gf_t_tmpdir(rank ? "dist_steps_r1" : "dist_steps");
  for (int i = 0; i < 3; i++) snprintf(out[i], sizeof out[i], "%s/run%d", tmp, i);
  losses cpu, dev0, dev1;
  rc = train("cpu", out[0], &cpu, 0);
  CHECK(rc == 0, "rank %d: the job on the CPU table: %s", rank, gf_last_error());
  CHECK(S.configures == 0, "the CPU job did not open the wrapper");

  rc = train("cuda", out[1], &dev0, 0);
  CHECK(rc == 0, "rank %d: the job on cuda (the wrapper): %s", rank, gf_last_error());
  CHECK(S.configures == 1 && S.last_graph == 0, "rank %d: configured %d time(s), graph %d: a job runs without the "
        "step recorder", rank, S.configures, S.last_graph);
  CHECK(S.sg.recordings == 0 && S.sg.replays == 0 && !S.sg.enabled, "rank %d: %ld recordings, %ld replays", rank,
        S.sg.recordings, S.sg.replays);
  CHECK(S.steps == 3 && S.in_step_to_host > 0 && S.in_step_to_device > S.steps,
        "rank %d: %ld steps; collectives staged through %ld to_host / %ld to_device inside them", rank, S.steps,
        S.in_step_to_host, S.in_step_to_device);
  long staged = S.in_step_to_host;

  rc = train("cuda", out[2], &dev1, 1);
  CHECK(rc == 0, "rank %d: the job with a recorder forced on: %s", rank, gf_last_error());
  CHECK(S.sg.enabled && S.sg.recordings == 0 && S.sg.replays == 0,
        "rank %d: forced recorder: %ld recordings, %ld replays (no step with a collective is captured)", rank,
        S.sg.recordings, S.sg.replays);
  CHECK(S.sg.eager_steps == S.steps && S.sg.fails == 2 && !S.sg.off && strstr(S.sg.note, "to_host inside the step"),
        "rank %d: %ld of %ld steps eager, %d failed recordings (warm-up, then 2), note: %s", rank, S.sg.eager_steps,
        S.steps, S.sg.fails, S.sg.note);
  CHECK(S.in_step_to_host == staged, "rank %d: the same collectives (%ld vs %ld staged reads)", rank,
        S.in_step_to_host, staged);

  /* rank 0 reports every step; rank 1 none (it writes nothing either) */
  CHECK(cpu.n == (rank ? 0 : 3) && dev0.n == cpu.n && dev1.n == cpu.n, "rank %d: %d / %d / %d progress reports", rank,
        cpu.n, dev0.n, dev1.n);
  CHECK(!memcmp(&cpu, &dev0, sizeof cpu) && !memcmp(&cpu, &dev1, sizeof cpu),
        "rank %d: staged collectives train bit for bit like MPI on host memory", rank);
  if (rank == 0 && cpu.n > 0)
    printf("rank 0: 3 steps, losses equal on the CPU table and the wrapper (loss_D %.6g, loss_G %.6g); %ld staged "
           "reads inside the steps\n", cpu.v[2][0], cpu.v[2][1], staged);
  char p[2400];
  snprintf(p, sizeof p, "%s/generator.safetensors", out[1]);
  CHECK((access(p, F_OK) == 0) == (rank == 0), "rank %d: %s %s", rank, p, rank ? "written" : "missing");
  gf__ops_override(NULL, NULL);
  gf__sg_free(&S.sg);
  int fails = gf_t_fail;
  gf_dist_finalize(fails != 0);
  return gf_t_done();
}
