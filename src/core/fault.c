/* fault.c: the disk-fault seam of the library's file writers (tests only): makes writes fail as a
   full or read-only disk would, and checked flushing of the append-only logs. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static int fault_err;         /* errno to inject; 0: off */
static long fault_nth, fault_seen;
static char fault_match[256];
static int fault_env_read;

void gf__fault_set(int err, long nth, const char *match) {
  pthread_mutex_lock(&fault_mu);
  fault_err = err;
  fault_nth = nth > 0 ? nth : 1;
  fault_seen = 0;
  snprintf(fault_match, sizeof fault_match, "%s", match ? match : "");
  fault_env_read = 1; /* an explicit setting wins over the environment */
  pthread_mutex_unlock(&fault_mu);
}

/* GANFORGE_FAULT_WRITE = ERR,N[,MATCH] */
static void fault_from_env(void) {
  fault_env_read = 1;
  const char *v = getenv("GANFORGE_FAULT_WRITE");
  if (!v || !*v) return;
  static const struct { const char *name; int err; } errs[] = {
    {"ENOSPC", ENOSPC}, {"EACCES", EACCES}, {"EROFS", EROFS}, {"EIO", EIO}, {"EDQUOT", EDQUOT}};
  char name[16] = "";
  long nth = 0;
  int used = 0;
  if (sscanf(v, "%15[A-Z],%ld%n", name, &nth, &used) < 2 || nth < 1) {
    fprintf(stderr, "ganforge: GANFORGE_FAULT_WRITE='%s' ignored (ERR,N[,MATCH])\n", v);
    return;
  }
  for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
    if (!strcmp(name, errs[i].name)) fault_err = errs[i].err;
  if (!fault_err) {
    fprintf(stderr, "ganforge: GANFORGE_FAULT_WRITE='%s' ignored (unknown error %s)\n", v, name);
    return;
  }
  fault_nth = nth;
  snprintf(fault_match, sizeof fault_match, "%s", v[used] == ',' ? v + used + 1 : "");
}

int gf__fault_write(const char *path) {
  pthread_mutex_lock(&fault_mu);
  if (!fault_env_read) fault_from_env();
  int err = 0;
  if (fault_err && (!fault_match[0] || (path && strstr(path, fault_match))) && ++fault_seen >= fault_nth) err = fault_err;
  pthread_mutex_unlock(&fault_mu);
  return err;
}

int gf__log_flush(FILE *f, const char *path) {
  int err = gf__fault_write(path);
  if (!err && fflush(f) != 0) err = errno ? errno : EIO;
  if (!err && ferror(f)) err = EIO;
  if (err) return gf__fail(GF_EIO, "%s: write failed: %s", path, strerror(err));
  return 0;
}
