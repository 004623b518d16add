/* ganforge/error.h: status codes (one X-macro table) and the thread-local error message. */
#ifndef GANFORGE_ERROR_H
#define GANFORGE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, description). Every library function returns 0 or one of these. */
#define GF_ERRNO_MAP(X)                                              \
  X(EINVAL,   -1,  "invalid argument")                               \
  X(ENOMEM,   -2,  "out of memory")                                  \
  X(EIO,      -3,  "input/output error")                             \
  X(EFORMAT,  -4,  "malformed or corrupt file")                      \
  X(ENOENT,   -5,  "not found")                                      \
  X(EUSAGE,   -6,  "bad usage")                                      \
  X(ENUMERIC, -7,  "non-finite value (NaN or Inf)")                  \
  X(ENODEV,   -8,  "device not available")                           \
  X(ENET,     -9,  "download failed")                                \
  X(ECHECKSUM,-10, "checksum mismatch")                              \
  X(EMISMATCH,-11, "incompatible model or checkpoint")               \
  X(EINTR,    -12, "interrupted")                                    \
  X(ENOSYS,   -13, "not supported in this build")

typedef enum gf_status {
  GF_OK = 0,
#define GF__ERR_ENUM(name, val, desc) GF_##name = val,
  GF_ERRNO_MAP(GF__ERR_ENUM)
#undef GF__ERR_ENUM
  GF__ERR_LAST = -14
} gf_status;

/* Symbolic name ("GF_EFORMAT") and description of a status code. */
const char *gf_err_name(int status);
const char *gf_strerror(int status);
/* The detailed message of the last error on this thread ("" if none). */
const char *gf_last_error(void);
/* Clears the thread-local message. */
void gf_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
