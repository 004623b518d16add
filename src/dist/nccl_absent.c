/* nccl_absent.c: stand-in for the NCCL transport in builds without NCCL (device memory of a
   data-parallel job then moves through host memory and MPI). */
#include "core/util.h"
#include "dist/dist.h"

int gf__nccl_open(gf__nccl **out, int rank, int size, int device, int (*bcast_id)(void *u, void *id, size_t bytes),
                  void *u, const gf__dist_wait *w) {
  (void)rank, (void)size, (void)device, (void)bcast_id, (void)u, (void)w;
  *out = NULL;
  return gf__fail(GF_ENOSYS, "this ganforge was built without NCCL");
}

int gf__nccl_allreduce(gf__nccl *c, float *x, size_t n, gf__dist_op op, void *stream, const gf__dist_wait *w) {
  (void)c, (void)x, (void)n, (void)op, (void)stream, (void)w;
  return gf__fail(GF_ENOSYS, "this ganforge was built without NCCL");
}

int gf__nccl_bcast(gf__nccl *c, float *x, size_t n, void *stream, const gf__dist_wait *w) {
  (void)c, (void)x, (void)n, (void)stream, (void)w;
  return gf__fail(GF_ENOSYS, "this ganforge was built without NCCL");
}

void gf__nccl_close(gf__nccl *c, int abort) { (void)c, (void)abort; }

const char *gf__nccl_version(void) { return NULL; }
