/* error.c: status-code names and the thread-local detailed error message. */
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char gf__errmsg[1024];

const char *gf_err_name(int status) {
  switch (status) {
  case 0: return "GF_OK";
#define GF__ERR_NAME(name, val, desc) case val: return "GF_" #name;
  GF_ERRNO_MAP(GF__ERR_NAME)
#undef GF__ERR_NAME
  default: return "GF_UNKNOWN";
  }
}

const char *gf_strerror(int status) {
  switch (status) {
  case 0: return "success";
#define GF__ERR_DESC(name, val, desc) case val: return desc;
  GF_ERRNO_MAP(GF__ERR_DESC)
#undef GF__ERR_DESC
  default: return "unknown error";
  }
}

const char *gf_last_error(void) { return gf__errmsg; }
void gf_clear_error(void) { gf__errmsg[0] = 0; }

int gf__fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(gf__errmsg, sizeof gf__errmsg, fmt, ap);
  va_end(ap);
  return status;
}
