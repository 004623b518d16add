/* dist_mpi.c: the MPI transport: joins the job, and runs each collective non-blocking
   (MPI_Iallreduce / MPI_Ibcast) polled with MPI_Test under the caller's deadline. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "dist/dist.h"

static int mpi_fail(int err, const char *what) {
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(err, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "MPI error %d", err);
  return gf__fail(GF_EIO, "MPI: %s: %s", what, s);
}

int gf__mpi_init(int *argc, char ***argv, gf__dist_job *job) {
  int inited = 0, provided = 0, err;
  MPI_Initialized(&inited);
  /* only the main thread calls MPI (the prefetch thread never does) */
  if (!inited && (err = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS)
    return mpi_fail(err, "MPI_Init_thread");
  /* errors come back as codes: ganforge reports them and ends the job itself */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &job->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &job->size);
  MPI_Comm local;
  if ((err = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, job->rank, MPI_INFO_NULL, &local)) != MPI_SUCCESS)
    return mpi_fail(err, "MPI_Comm_split_type");
  MPI_Comm_rank(local, &job->local_rank);
  MPI_Comm_size(local, &job->local_size);
  MPI_Comm_free(&local);
  int leader = job->local_rank == 0;
  if ((err = MPI_Allreduce(&leader, &job->nhosts, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD)) != MPI_SUCCESS)
    return mpi_fail(err, "counting the hosts");
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  v[strcspn(v, ",\n")] = 0; /* "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4" */
  v[sizeof job->library - 1] = 0;
  memcpy(job->library, v, strlen(v) + 1);
  return 0;
}

typedef struct req_state {
  MPI_Request req;
  int err;
} req_state;

static int req_test(void *u) {
  req_state *s = u;
  int done = 0;
  int err = MPI_Test(&s->req, &done, MPI_STATUS_IGNORE);
  if (err != MPI_SUCCESS) {
    s->err = err;
    return -1;
  }
  return done;
}

int gf__mpi_coll(int kind, void *buf, size_t count, int type, gf__dist_op op, const gf__dist_wait *w) {
  MPI_Datatype dt = type == GF_MPI_FLOAT ? MPI_FLOAT : type == GF_MPI_DOUBLE ? MPI_DOUBLE : MPI_BYTE;
  size_t esz = type == GF_MPI_FLOAT ? sizeof(float) : type == GF_MPI_DOUBLE ? sizeof(double) : 1;
  MPI_Op mop = op == GF_DIST_MIN ? MPI_MIN : op == GF_DIST_MAX ? MPI_MAX : MPI_SUM;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t piece = (size_t)INT_MAX / 2; /* MPI counts are ints */
  size_t off = 0;
  do {
    size_t n = count - off < piece ? count - off : piece;
    char *p = (char *)buf + off * esz;
    req_state s = {MPI_REQUEST_NULL, MPI_SUCCESS};
    int err;
    if (kind == GF_MPI_ALLREDUCE) err = MPI_Iallreduce(MPI_IN_PLACE, p, (int)n, dt, mop, MPI_COMM_WORLD, &s.req);
    else if (kind == GF_MPI_BCAST) err = MPI_Ibcast(p, (int)n, dt, 0, MPI_COMM_WORLD, &s.req);
    else err = MPI_Ibarrier(MPI_COMM_WORLD, &s.req);
    if (err != MPI_SUCCESS) return mpi_fail(err, w->what);
    int rc = gf__dist_wait_for(w, req_test, &s);
    if (rc < 0) {
      /* the request stays pending: the job is ended next (gf_dist_finalize aborts it) */
      if (s.err != MPI_SUCCESS) return mpi_fail(s.err, w->what);
      return rc;
    }
    off += n;
  } while (off < count);
  if (kind == GF_MPI_ALLREDUCE && op == GF_DIST_MEAN && size > 1) {
    if (type == GF_MPI_FLOAT) {
      float *f = buf;
      for (size_t i = 0; i < count; i++) f[i] /= (float)size;
    } else if (type == GF_MPI_DOUBLE) {
      double *f = buf;
      for (size_t i = 0; i < count; i++) f[i] /= size;
    }
  }
  return 0;
}

void gf__mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void gf__mpi_finalize(void) {
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
}
