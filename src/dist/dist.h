/* dist.h: the data-parallel communicator: the ranks of one job (MPI), collectives with deadlines on
   host and backend memory (NCCL for CUDA memory when built with it), and a rank's share of a batch. */
#ifndef GF_DIST_DIST_H
#define GF_DIST_DIST_H

#include <stddef.h>

#include "core/ops.h"

typedef enum gf__dist_op { GF_DIST_SUM, GF_DIST_MEAN, GF_DIST_MIN, GF_DIST_MAX } gf__dist_op;

typedef struct gf__dist gf__dist;

/* The job's communicator when this process is one of several ranks (gf_dist_init joined a job of
   more than one rank), else NULL: every caller tests for NULL and then runs alone. */
gf__dist *gf__dist_world(void);
int gf__dist_rank(const gf__dist *d);       /* 0 for NULL */
int gf__dist_size(const gf__dist *d);       /* 1 for NULL */
int gf__dist_local_rank(const gf__dist *d); /* rank among the ranks of this host */

/* Makes collectives on backend memory of `ops` possible (host staging, or an NCCL communicator on
   CUDA device `device` when built with NCCL), and sets the deadline of every wait (timeout_s) and
   the flag a signal handler raises (a wait then gives up a few seconds later). Collective. */
int gf__dist_bind(gf__dist *d, const gf__ops *ops, int device, double timeout_s, volatile int *interrupt);

/* Collectives; `what` names the data in messages ("D's gradients"). Every rank must make the same
   calls in the same order. A failure (deadline, interrupt, transport error) is sticky: every later
   call returns it at once, so the job is never left half-reduced; the caller then ends the job
   (gf_dist_finalize(1)). */
/* n floats of backend memory, in place. */
int gf__dist_allreduce(gf__dist *d, float *x, size_t n, gf__dist_op op, const char *what);
/* n doubles of host memory, in place. */
int gf__dist_allreduce_host(gf__dist *d, double *x, int n, gf__dist_op op, const char *what);
/* The mean over the ranks of n (<= 64) floats of host memory, in place (summed in double): the
   step's loss statistics after their one read-back. */
int gf__dist_mean_host(gf__dist *d, float *x, int n, const char *what);
/* Rank 0's n floats of backend memory / bytes of host memory to every rank. */
int gf__dist_bcast(gf__dist *d, float *x, size_t n, const char *what);
int gf__dist_bcast_host(gf__dist *d, void *x, size_t bytes, const char *what);
/* *any = 1 when flag is non-zero on some rank. */
int gf__dist_any(gf__dist *d, int flag, int *any);

/* The BatchNorm statistics hook of training contexts (gf__ctx.reduce, train.sync_bn): sums n floats
   of backend memory across the ranks; returns the number of ranks summed over (1 while solo), or a
   negative status (sticky, see above). `user` is the gf__dist. */
int gf__dist_bn_reduce(void *user, float *x, size_t n);
/* Brackets work that rank 0 does alone (pictures, checkpoints): BatchNorm statistics stay local. */
void gf__dist_solo(gf__dist *d, int on);

/* This rank's rows [*row0, *row0 + *b) of a global batch of B; GF_EUSAGE with a message when B does
   not split evenly into whole packs of `pack` samples. Works for d = NULL (all rows). */
int gf__dist_split(const gf__dist *d, int B, int pack, int *row0, int *b);
/* A counter offset that gives rank r its own part of a random stream (0 on rank 0). */
unsigned long long gf__dist_stream_offset(const gf__dist *d);

/* ---- transports (internal to src/dist) ---- */
typedef struct gf__dist_job {
  int rank, size, local_rank, local_size, nhosts;
  char library[96];
} gf__dist_job;

/* A wait with a deadline: test(u) returns 1 when done, 0 while pending, < 0 on failure (message
   set). Fails with a message naming `what` on the deadline or some seconds after *interrupt. */
typedef struct gf__dist_wait {
  double deadline;
  volatile int *interrupt;
  int rank;
  const char *what, *verb;
} gf__dist_wait;
int gf__dist_wait_for(const gf__dist_wait *w, int (*test)(void *u), void *u);

enum { GF_MPI_FLOAT, GF_MPI_DOUBLE, GF_MPI_BYTE };
enum { GF_MPI_ALLREDUCE, GF_MPI_BCAST, GF_MPI_BARRIER };
/* dist_mpi.c (or dist_none.c without MPI: GF_ENOSYS). */
int gf__mpi_init(int *argc, char ***argv, gf__dist_job *job);
/* One collective on host memory from rank 0 (bcast), split into pieces MPI's int counts hold. */
int gf__mpi_coll(int kind, void *buf, size_t count, int type, gf__dist_op op, const gf__dist_wait *w);
void gf__mpi_abort(int code);
void gf__mpi_finalize(void);

/* dist_nccl.c (or nccl_absent.c: GF_ENOSYS): device-memory collectives on a CUDA stream. */
typedef struct gf__nccl gf__nccl;
/* Opens a communicator on CUDA device `device`; bcast_id sends rank 0's unique id to every rank. */
int gf__nccl_open(gf__nccl **out, int rank, int size, int device, int (*bcast_id)(void *u, void *id, size_t bytes),
                  void *u, const gf__dist_wait *w);
/* In place on n floats of device memory, enqueued on `stream` (a cudaStream_t; NULL: the default
   stream), then waited for. */
int gf__nccl_allreduce(gf__nccl *c, float *x, size_t n, gf__dist_op op, void *stream, const gf__dist_wait *w);
int gf__nccl_bcast(gf__nccl *c, float *x, size_t n, void *stream, const gf__dist_wait *w);
/* abort = 1 after a failure (does not wait for the other ranks). */
void gf__nccl_close(gf__nccl *c, int abort);
/* "NCCL 2.28.9" or NULL when built without NCCL. */
const char *gf__nccl_version(void);

#endif
