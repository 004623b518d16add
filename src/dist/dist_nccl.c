/* dist_nccl.c: the NCCL transport: in-place collectives on CUDA device memory of a data-parallel job
   (one rank per GPU), on a non-blocking communicator whose every wait polls under a deadline. */
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "dist/dist.h"

#if !defined(NCCL_VERSION_CODE) || NCCL_VERSION_CODE < NCCL_VERSION(2, 14, 0)
#error "the NCCL transport needs NCCL 2.14 or newer (non-blocking communicators); configure with -DGANFORGE_NCCL=OFF"
#endif

struct gf__nccl {
  ncclComm_t comm;
  int device;
};

static int nccl_fail(ncclResult_t r, const char *what) {
  return gf__fail(GF_EIO, "NCCL: %s: %s", what, ncclGetErrorString(r));
}

/* ncclInProgress until the communicator's last call is enqueued (non-blocking mode) */
static int async_state(ncclComm_t comm, ncclResult_t *res) {
  ncclResult_t a = ncclSuccess, r = ncclCommGetAsyncError(comm, &a);
  if (r != ncclSuccess) a = r;
  *res = a;
  if (a == ncclInProgress) return 0;
  return a == ncclSuccess ? 1 : -1;
}

typedef struct op_state {
  ncclComm_t comm;
  cudaStream_t stream; /* NULL: only the communicator is waited for */
  int wait_stream;
  ncclResult_t res;
  cudaError_t cerr;
} op_state;

static int op_test(void *u) {
  op_state *s = u;
  int a = async_state(s->comm, &s->res);
  if (a <= 0 || !s->wait_stream) return a;
  cudaError_t e = cudaStreamQuery(s->stream);
  if (e == cudaSuccess) return 1;
  if (e == cudaErrorNotReady) return 0;
  s->cerr = e;
  return -1;
}

static int op_wait(gf__nccl *c, cudaStream_t stream, int wait_stream, const gf__dist_wait *w) {
  op_state s = {c->comm, stream, wait_stream, ncclSuccess, cudaSuccess};
  int rc = gf__dist_wait_for(w, op_test, &s);
  if (rc == 0) return 0;
  if (s.cerr != cudaSuccess) return gf__fail(GF_EIO, "CUDA: the %s of %s: %s", w->verb, w->what, cudaGetErrorString(s.cerr));
  if (s.res != ncclSuccess && s.res != ncclInProgress) return nccl_fail(s.res, w->what);
  return rc;
}

int gf__nccl_open(gf__nccl **out, int rank, int size, int device, int (*bcast_id)(void *u, void *id, size_t bytes),
                  void *u, const gf__dist_wait *w) {
  *out = NULL;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess)
    return gf__fail(GF_ENODEV, "NCCL: rank %d finds no usable CUDA device: %s", rank, cudaGetErrorString(e));
  if (device < 0 || device >= n)
    return gf__fail(GF_ENODEV, "NCCL: rank %d asks for CUDA device %d, its host has %d", rank, device, n);
  if ((e = cudaSetDevice(device)) != cudaSuccess)
    return gf__fail(GF_ENODEV, "NCCL: cudaSetDevice(%d): %s", device, cudaGetErrorString(e));
  ncclUniqueId id;
  memset(&id, 0, sizeof id);
  ncclResult_t r;
  if (rank == 0 && (r = ncclGetUniqueId(&id)) != ncclSuccess) return nccl_fail(r, "ncclGetUniqueId");
  GF_TRY(bcast_id(u, &id, sizeof id));
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.blocking = 0; /* every call returns at once; waits poll under the deadline */
  ncclComm_t comm = NULL;
  r = ncclCommInitRankConfig(&comm, size, id, rank, &cfg);
  if (r != ncclSuccess && r != ncclInProgress) return nccl_fail(r, "ncclCommInitRankConfig");
  gf__nccl tmp = {comm, device};
  int rc = op_wait(&tmp, NULL, 0, w);
  if (rc < 0) {
    ncclCommAbort(comm);
    return rc;
  }
  gf__nccl *c = malloc(sizeof *c);
  if (!c) {
    ncclCommAbort(comm);
    return gf__fail(GF_ENOMEM, "out of memory");
  }
  *c = tmp;
  *out = c;
  return 0;
}

static ncclRedOp_t red_op(gf__dist_op op) {
  return op == GF_DIST_MEAN ? ncclAvg : op == GF_DIST_MIN ? ncclMin : op == GF_DIST_MAX ? ncclMax : ncclSum;
}

int gf__nccl_allreduce(gf__nccl *c, float *x, size_t n, gf__dist_op op, void *stream, const gf__dist_wait *w) {
  cudaStream_t st = (cudaStream_t)stream;
  ncclResult_t r = ncclAllReduce(x, x, n, ncclFloat, red_op(op), c->comm, st);
  if (r != ncclSuccess && r != ncclInProgress) return nccl_fail(r, w->what);
  return op_wait(c, st, 1, w);
}

int gf__nccl_bcast(gf__nccl *c, float *x, size_t n, void *stream, const gf__dist_wait *w) {
  cudaStream_t st = (cudaStream_t)stream;
  ncclResult_t r = ncclBroadcast(x, x, n, ncclFloat, 0, c->comm, st);
  if (r != ncclSuccess && r != ncclInProgress) return nccl_fail(r, w->what);
  return op_wait(c, st, 1, w);
}

void gf__nccl_close(gf__nccl *c, int abort) {
  if (!c) return;
  if (!abort && ncclCommFinalize(c->comm) != ncclSuccess) abort = 1;
  if (!abort) {
    gf__dist_wait w = {gf__now() + 10, NULL, 0, "the NCCL communicator", "shutdown"};
    if (op_wait(c, NULL, 0, &w) < 0) abort = 1;
  }
  if (abort) ncclCommAbort(c->comm);
  else ncclCommDestroy(c->comm);
  free(c);
}

const char *gf__nccl_version(void) {
  static char buf[32];
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) v = NCCL_VERSION_CODE;
  snprintf(buf, sizeof buf, "NCCL %d.%d.%d", v / 10000, v % 10000 / 100, v % 100);
  return buf;
}
