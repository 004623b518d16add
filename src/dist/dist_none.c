/* dist_none.c: the transport of builds without MPI: every process runs alone. */
#include "core/util.h"
#include "dist/dist.h"

int gf__mpi_init(int *argc, char ***argv, gf__dist_job *job) {
  (void)argc;
  (void)argv;
  (void)job;
  return GF_ENOSYS;
}

int gf__mpi_coll(int kind, void *buf, size_t count, int type, gf__dist_op op, const gf__dist_wait *w) {
  (void)kind;
  (void)buf;
  (void)count;
  (void)type;
  (void)op;
  (void)w;
  return gf__fail(GF_ENOSYS, "this ganforge was built without MPI");
}

void gf__mpi_abort(int code) { (void)code; }
void gf__mpi_finalize(void) {}
