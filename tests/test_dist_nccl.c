/* test_dist_nccl.c: the NCCL transport as built here. Without NCCL the stand-in refuses with
   GF_ENOSYS; with NCCL (compiled and linked when found, as in CI) the library reports its version
   and opening a communicator answers cleanly: GF_ENODEV with a message on a machine without a
   usable GPU, or a working one-rank communicator (and an all-reduce on device memory it cannot
   reach from here is not attempted) where a GPU is present. */
#include "harness.h"

#include <string.h>

#include "core/util.h"
#include "dist/dist.h"
#include "ganforge/error.h"

static int bcast_alone(void *u, void *id, size_t bytes) {
  (void)u, (void)id, (void)bytes;
  return 0; /* one rank: rank 0 already holds the id */
}

int main(void) {
  const char *v = gf__nccl_version();
  gf__dist_wait w = {gf__now() + 60, NULL, 0, "the test communicator", "set-up"};
  gf__nccl *c = NULL;
  int rc = gf__nccl_open(&c, 0, 1, 0, bcast_alone, NULL, &w);
  if (!v) {
    printf("built without NCCL\n");
    CHECK(rc == GF_ENOSYS && c == NULL, "the stand-in refuses: %d", rc);
    CHECK(strstr(gf_last_error(), "without NCCL") != NULL, "message: %s", gf_last_error());
  } else {
    printf("%s; opening a one-rank communicator on device 0: %s\n", v, rc == 0 ? "ok" : gf_last_error());
    CHECK(!strncmp(v, "NCCL 2.", 7), "version string: %s", v);
    if (rc == GF_ENODEV)
      CHECK(strstr(gf_last_error(), "CUDA device") != NULL && c == NULL, "no-GPU message: %s", gf_last_error());
    else
      CHECK(rc == 0 && c != NULL, "a GPU is present: the communicator opens: %s", gf_last_error());
    gf__nccl_close(c, 0);
  }
  return gf_t_done();
}
