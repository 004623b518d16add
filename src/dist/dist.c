/* dist.c: the data-parallel communicator over the transports: job setup from the launcher's
   environment, deadlines on every wait, sticky failures, staging of backend memory, BatchNorm hook. */
#define _GNU_SOURCE
#include "dist/dist.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "ganforge/ganforge.h"

struct gf__dist {
  gf__dist_job job;
  const gf__ops *ops;
  int host_mem;               /* backend memory is host memory: MPI reads it in place */
  float *stage;               /* host staging of backend memory (no NCCL) */
  size_t stage_n;
  gf__nccl *nccl;
  double timeout;
  volatile int *interrupt;
  int failed;                 /* sticky failure: status and message */
  char fail_msg[600];
  int solo;
};

static gf__dist g_world;
static int g_inited, g_joined; /* gf_dist_init ran; MPI is initialised */
static char g_info[256];

gf__dist *gf__dist_world(void) { return g_joined && g_world.job.size > 1 ? &g_world : NULL; }
int gf__dist_rank(const gf__dist *d) { return d ? d->job.rank : 0; }
int gf__dist_size(const gf__dist *d) { return d ? d->job.size : 1; }
int gf__dist_local_rank(const gf__dist *d) { return d ? d->job.local_rank : 0; }

/* ---- the launcher's environment ---- */

static int env_int(const char *name, int *out) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || v < 0 || v > 1 << 24) return 0;
  *out = (int)v;
  return 1;
}

/* Ranks in the job and on this host as the launcher tells them (before MPI_Init). 0: no launcher. */
static int launcher_env(int *size, int *local_size) {
  *size = *local_size = 1;
  int found = env_int("OMPI_COMM_WORLD_SIZE", size) || env_int("PMI_SIZE", size) || env_int("MV2_COMM_WORLD_SIZE", size) ||
              env_int("PMIX_SIZE", size);
  if (!found && getenv("PMIX_RANK")) found = 1;
  if (!found && getenv("SLURM_PROCID") && getenv("SLURM_STEP_NUM_TASKS")) found = env_int("SLURM_STEP_NUM_TASKS", size);
  if (!found) return 0;
  if (!env_int("OMPI_COMM_WORLD_LOCAL_SIZE", local_size) && !env_int("MPI_LOCALNRANKS", local_size) &&
      !env_int("MV2_COMM_WORLD_LOCAL_SIZE", local_size) && !env_int("SLURM_NTASKS_PER_NODE", local_size))
    *local_size = 1;
  if (*local_size < 1) *local_size = 1;
  return 1;
}

int gf_dist_omp_threads(void) {
  int size, local;
  if (!launcher_env(&size, &local)) return 0;
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 1) online = 1;
  cpu_set_t set;
  int bound = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0) bound = CPU_COUNT(&set);
  /* a launcher that bound the rank to fewer CPUs than the host has gave it those CPUs */
  if (bound > 0 && bound < online) return bound;
  long t = online / local;
  return t < 1 ? 1 : (int)t;
}

int gf_dist_init(int *argc, char ***argv) {
  if (g_inited) return 0;
  g_inited = 1;
  memset(&g_world, 0, sizeof g_world);
  g_world.job.size = 1;
  int size, local;
  if (!launcher_env(&size, &local)) return 0;
  int rc = gf__mpi_init(argc, argv, &g_world.job);
  if (rc == GF_ENOSYS) {
    if (size <= 1) return 0; /* one rank under a launcher: run alone */
    return gf__fail(GF_ENOSYS, "started as one of %d ranks, but this ganforge was built without MPI: install "
                    "libopenmpi-dev and rebuild (cmake -DGANFORGE_MPI=ON), or run it without mpirun", size);
  }
  GF_TRY(rc);
  g_joined = 1;
  g_world.timeout = 300;
  snprintf(g_info, sizeof g_info, "%d rank%s on %d host%s (%s)", g_world.job.size, g_world.job.size == 1 ? "" : "s",
           g_world.job.nhosts, g_world.job.nhosts == 1 ? "" : "s", g_world.job.library);
  return 0;
}

int gf_dist_rank(void) { return g_world.job.rank; }
int gf_dist_size(void) { return g_joined ? g_world.job.size : 1; }
const char *gf_dist_info(void) { return gf__dist_world() ? g_info : NULL; }

int gf_dist_device(const char *device, char *out, unsigned cap) {
  gf__dist *d = gf__dist_world();
  int n = d && !strncmp(device, "cuda", 4) ? snprintf(out, cap, "cuda:%d", gf__dist_local_rank(d))
                                           : snprintf(out, cap, "%s", device);
  if (n < 0 || (unsigned)n >= cap) return gf__fail(GF_EUSAGE, "train.device '%s' is too long", device);
  return 0;
}

void gf_dist_finalize(int failed) {
  if (!g_joined) return;
  gf__dist *d = &g_world;
  if (d->nccl) gf__nccl_close(d->nccl, failed || d->failed);
  d->nccl = NULL;
  free(d->stage);
  d->stage = NULL;
  g_joined = 0;
  /* a rank that failed alone may leave the others waiting: only the launcher can end them */
  if ((failed || d->failed) && d->job.size > 1) gf__mpi_abort(1);
  gf__mpi_finalize();
}

/* ---- waiting with a deadline ---- */

int gf__dist_wait_for(const gf__dist_wait *w, int (*test)(void *u), void *u) {
  double t0 = gf__now(), deadline = w->deadline, sleep_us = 0;
  int interrupted = 0;
  for (long spin = 0;; spin++) {
    int r = test(u);
    if (r) return r < 0 ? r : 0;
    double now = gf__now();
    if (!interrupted && w->interrupt && *w->interrupt) {
      interrupted = 1; /* the peers got the signal too, or are gone: a little grace, then give up */
      if (deadline > now + 5) deadline = now + 5;
    }
    if (now > deadline) {
      if (interrupted)
        return gf__fail(GF_EINTR, "rank %d: interrupted by a signal while waiting %.1f s for the other ranks in the %s "
                        "of %s (a rank stopped or died)", w->rank, now - t0, w->verb, w->what);
      return gf__fail(GF_EIO, "rank %d: no answer from the other ranks for %.0f s in the %s of %s (train.dist_timeout): "
                      "a rank hung or died; ending the job", w->rank, now - t0, w->verb, w->what);
    }
    /* the transports make progress only inside test(), on both sides: poll (yielding the CPU)
       for the first millisecond, since the ranks of a step arrive microseconds apart, then nap
       in growing steps up to 0.2 ms (on a busy host a spinning rank would take the CPU from the
       rank it waits for; a rank waiting for rank 0's writing costs nothing) */
    if (now - t0 < 1e-3) {
      if (spin > 16) sched_yield();
      continue;
    }
    sleep_us = sleep_us < 5 ? 5 : sleep_us * 2 > 200 ? 200 : sleep_us * 2;
    struct timespec ts = {0, (long)(sleep_us * 1000)};
    nanosleep(&ts, NULL);
  }
}

static gf__dist_wait wait_of(const gf__dist *d, const char *verb, const char *what) {
  gf__dist_wait w = {gf__now() + d->timeout, d->interrupt, d->job.rank, what ? what : "data", verb};
  return w;
}

/* Records a failure (sticky) and returns it. */
static int sticky(gf__dist *d, int rc) {
  if (rc < 0 && !d->failed) {
    d->failed = rc;
    snprintf(d->fail_msg, sizeof d->fail_msg, "%s", gf_last_error());
  }
  return rc;
}

static int check_failed(gf__dist *d) {
  if (!d->failed) return 0;
  return gf__fail(d->failed, "%s", d->fail_msg);
}

/* ---- binding to a backend ---- */

static int nccl_bcast_id(void *u, void *id, size_t bytes) {
  gf__dist *d = u;
  gf__dist_wait w = wait_of(d, "broadcast", "the NCCL id");
  return gf__mpi_coll(GF_MPI_BCAST, id, bytes, GF_MPI_BYTE, GF_DIST_SUM, &w);
}

int gf__dist_bind(gf__dist *d, const gf__ops *ops, int device, double timeout_s, volatile int *interrupt) {
  if (!d) return 0;
  GF_TRY(check_failed(d));
  d->timeout = timeout_s > 0 ? timeout_s : 300;
  d->interrupt = interrupt;
  if (d->ops == ops) return 0;
  d->ops = ops;
  d->host_mem = ops == gf__ops_cpu(); /* the CPU table's memory is plain host memory */
  if (d->host_mem || d->nccl) return 0;
  if (gf__nccl_version() && gf__cuda_stream(ops)) { /* CUDA memory: NCCL on the backend's stream */
    gf__dist_wait w = wait_of(d, "set-up", "the NCCL communicator");
    return sticky(d, gf__nccl_open(&d->nccl, d->job.rank, d->job.size, device, nccl_bcast_id, d, &w));
  }
  return 0; /* device memory through host staging */
}

/* ---- collectives ---- */

static int stage_reserve(gf__dist *d, size_t n) {
  if (n <= d->stage_n) return 0;
  float *s = realloc(d->stage, sizeof(float) * n); /* grows during the first step only */
  if (!s) return gf__fail(GF_ENOMEM, "out of memory for %zu floats of collective staging", n);
  d->stage = s;
  d->stage_n = n;
  return 0;
}

int gf__dist_allreduce(gf__dist *d, float *x, size_t n, gf__dist_op op, const char *what) {
  GF_TRY(check_failed(d));
  if (!n) return 0;
  gf__dist_wait w = wait_of(d, "all-reduce", what);
  if (d->host_mem) return sticky(d, gf__mpi_coll(GF_MPI_ALLREDUCE, x, n, GF_MPI_FLOAT, op, &w));
  if (d->nccl) /* after the backend's ops on its stream (their deferred commands run first) */
    return sticky(d, gf__nccl_allreduce(d->nccl, x, n, op, gf__cuda_stream(d->ops), &w));
  GF_TRY(sticky(d, stage_reserve(d, n)));
  d->ops->to_host(d->stage, x, sizeof(float) * n);
  int rc = sticky(d, gf__mpi_coll(GF_MPI_ALLREDUCE, d->stage, n, GF_MPI_FLOAT, op, &w));
  if (rc == 0) d->ops->to_device(x, d->stage, sizeof(float) * n);
  return rc;
}

int gf__dist_allreduce_host(gf__dist *d, double *x, int n, gf__dist_op op, const char *what) {
  GF_TRY(check_failed(d));
  gf__dist_wait w = wait_of(d, "all-reduce", what);
  return sticky(d, gf__mpi_coll(GF_MPI_ALLREDUCE, x, (size_t)n, GF_MPI_DOUBLE, op, &w));
}

int gf__dist_mean_host(gf__dist *d, float *x, int n, const char *what) {
  double v[64];
  if (n < 0 || n > 64) return gf__fail(GF_EINVAL, "gf__dist_mean_host: %d values (at most 64)", n);
  for (int i = 0; i < n; i++) v[i] = x[i];
  GF_TRY(gf__dist_allreduce_host(d, v, n, GF_DIST_MEAN, what));
  for (int i = 0; i < n; i++) x[i] = (float)v[i];
  return 0;
}

int gf__dist_bcast(gf__dist *d, float *x, size_t n, const char *what) {
  GF_TRY(check_failed(d));
  if (!n) return 0;
  gf__dist_wait w = wait_of(d, "broadcast", what);
  if (d->host_mem) return sticky(d, gf__mpi_coll(GF_MPI_BCAST, x, n, GF_MPI_FLOAT, GF_DIST_SUM, &w));
  if (d->nccl) return sticky(d, gf__nccl_bcast(d->nccl, x, n, gf__cuda_stream(d->ops), &w));
  GF_TRY(sticky(d, stage_reserve(d, n)));
  if (d->job.rank == 0) d->ops->to_host(d->stage, x, sizeof(float) * n);
  int rc = sticky(d, gf__mpi_coll(GF_MPI_BCAST, d->stage, n, GF_MPI_FLOAT, GF_DIST_SUM, &w));
  if (rc == 0 && d->job.rank != 0) d->ops->to_device(x, d->stage, sizeof(float) * n);
  return rc;
}

int gf__dist_bcast_host(gf__dist *d, void *x, size_t bytes, const char *what) {
  GF_TRY(check_failed(d));
  gf__dist_wait w = wait_of(d, "broadcast", what);
  return sticky(d, gf__mpi_coll(GF_MPI_BCAST, x, bytes, GF_MPI_BYTE, GF_DIST_SUM, &w));
}

int gf__dist_any(gf__dist *d, int flag, int *any) {
  double v = flag != 0;
  GF_TRY(gf__dist_allreduce_host(d, &v, 1, GF_DIST_MAX, "the stop flags"));
  *any = v > 0;
  return 0;
}

int gf__dist_bn_reduce(void *user, float *x, size_t n) {
  gf__dist *d = user;
  if (!d || d->solo) return 1;
  GF_TRY(gf__dist_allreduce(d, x, n, GF_DIST_SUM, "BatchNorm statistics"));
  return d->job.size;
}

void gf__dist_solo(gf__dist *d, int on) {
  if (d) d->solo = on;
}

int gf__dist_split(const gf__dist *d, int B, int pack, int *row0, int *b) {
  int N = gf__dist_size(d), r = gf__dist_rank(d);
  if (pack < 1) pack = 1;
  if (B % N || (B / N) % pack)
    return gf__fail(GF_EUSAGE, "train.batch=%d (the global batch) does not split over %d ranks%s: use a multiple of %d",
                    B, N, pack > 1 ? " in whole packs of model.pack samples" : "", N * pack);
  *b = B / N;
  *row0 = r * *b;
  return 0;
}

unsigned long long gf__dist_stream_offset(const gf__dist *d) { return (unsigned long long)gf__dist_rank(d) << 48; }
