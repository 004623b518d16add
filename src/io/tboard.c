/* tboard.c: TensorBoard event files. Each record is TFRecord-framed (uint64 length, masked
   CRC-32C of the length, the bytes, masked CRC-32C of the bytes); each payload an Event message
   (wall_time 1, step 2, file_version 3, summary 5) whose Summary holds Values (tag 1,
   simple_value 2, image 4: height 1, width 2, colorspace 3, encoded_image_string 4), encoded with
   the protobuf writer of src/export/pb.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/util.h"
#include "export/export.h"
#include "io/tboard.h"

/* The file is an append-only log: each record goes out in one write; one that fails (a full disk)
   is cut off again, so the file always ends with a whole record (TensorBoard's reader waits at a
   partial one). Every record asks the disk-fault seam, as gf__log_flush does. */
struct gf__tb {
  int fd;
  off_t size; /* bytes of whole records */
  char path[2300];
};

static double wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static int put_record(gf__tb *tb, const gf__pb *ev) {
  if (ev->oom) return gf__fail(GF_ENOMEM, "out of memory for a TensorBoard record");
  size_t len = ev->n + 16;
  uint8_t *rec = malloc(len);
  if (!rec) return gf__fail(GF_ENOMEM, "out of memory for a TensorBoard record");
  uint64_t n = ev->n;
  for (int i = 0; i < 8; i++) rec[i] = (uint8_t)(n >> (8 * i));
  uint32_t lc = gf__crc32c_masked(rec, 8), dc = gf__crc32c_masked(ev->d, ev->n);
  for (int i = 0; i < 4; i++) rec[8 + i] = (uint8_t)(lc >> (8 * i));
  memcpy(rec + 12, ev->d, ev->n);
  for (int i = 0; i < 4; i++) rec[12 + ev->n + i] = (uint8_t)(dc >> (8 * i));
  int err = gf__fault_write(tb->path);
  /* an injected full disk takes half the record first, as a real one would */
  size_t want = err == EACCES || err == EROFS ? 0 : err ? len / 2 : len, done = 0;
  while (done < want) {
    ssize_t w = write(tb->fd, rec + done, want - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : ENOSPC;
      break;
    }
    done += (size_t)w;
  }
  free(rec);
  if (!err) {
    tb->size += (off_t)len;
    return 0;
  }
  if (done > 0 && ftruncate(tb->fd, tb->size) != 0)
    return gf__fail(GF_EIO, "%s: write failed: %s; its last record is cut short (cannot truncate: %s)", tb->path,
                    strerror(err), strerror(errno));
  return gf__fail(GF_EIO, "%s: %s: %s", tb->path, done == 0 && (err == EACCES || err == EROFS) ? "cannot write" : "write failed",
                  strerror(err));
}

int gf__tb_open(gf__tb **out, const char *dir) {
  *out = NULL;
  gf__tb *tb = calloc(1, sizeof *tb);
  if (!tb) return gf__fail(GF_ENOMEM, "out of memory");
  char host[64] = "localhost";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = 0;
  double now = wall_now();
  snprintf(tb->path, sizeof tb->path, "%s/events.out.tfevents.%ld.%s.%ld", dir, (long)now, host, (long)getpid());
  tb->fd = open(tb->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (tb->fd < 0) {
    int rc = gf__fail(GF_EIO, "%s: cannot create the TensorBoard event file: %s", tb->path, strerror(errno));
    free(tb);
    return rc;
  }
  gf__pb ev = {0};
  gf__pb_double(&ev, 1, now);
  gf__pb_str(&ev, 3, "brain.Event:2");
  int rc = put_record(tb, &ev);
  gf__pb_free(&ev);
  if (rc < 0) { /* not even its first record: no file */
    unlink(tb->path);
    gf__tb_close(tb);
    return rc;
  }
  *out = tb;
  return 0;
}

static int put_summary(gf__tb *tb, long step, gf__pb *value) {
  gf__pb sum = {0}, ev = {0};
  gf__pb_msg(&sum, 1, value);
  gf__pb_double(&ev, 1, wall_now());
  gf__pb_int(&ev, 2, step);
  gf__pb_msg(&ev, 5, &sum);
  int rc = put_record(tb, &ev);
  gf__pb_free(&ev);
  return rc;
}

int gf__tb_scalar(gf__tb *tb, long step, const char *tag, double value) {
  if (!tb) return 0;
  gf__pb v = {0};
  gf__pb_str(&v, 1, tag);
  gf__pb_float(&v, 2, (float)value);
  return put_summary(tb, step, &v);
}

int gf__tb_scalars(gf__tb *tb, long step, const char *names, const double *v, int n) {
  const char *p = names;
  for (int i = 0; tb && i < n && *p; i++) {
    char tag[64];
    size_t k = strcspn(p, ",");
    snprintf(tag, sizeof tag, "%.*s", (int)(k < sizeof tag ? k : sizeof tag - 1), p);
    GF_TRY(gf__tb_scalar(tb, step, tag, v[i]));
    p += k + (p[k] == ',');
  }
  return 0;
}

int gf__tb_image_png(gf__tb *tb, long step, const char *tag, const char *png_path) {
  if (!tb) return 0;
  char *png;
  size_t len;
  GF_TRY(gf__read_file(png_path, &png, &len));
  const uint8_t *u = (const uint8_t *)png;
  /* IHDR: width and height big-endian at bytes 16 and 20, colour type at 25 */
  if (len < 33 || memcmp(u + 1, "PNG", 3) || memcmp(u + 12, "IHDR", 4)) {
    free(png);
    return gf__fail(GF_EFORMAT, "%s: not a PNG file", png_path);
  }
  uint32_t w = (uint32_t)u[16] << 24 | (uint32_t)u[17] << 16 | (uint32_t)u[18] << 8 | u[19];
  uint32_t h = (uint32_t)u[20] << 24 | (uint32_t)u[21] << 16 | (uint32_t)u[22] << 8 | u[23];
  int ctype = u[25], channels = ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 4 ? 2 : ctype == 6 ? 4 : 3;
  gf__pb img = {0}, v = {0};
  gf__pb_int(&img, 1, h);
  gf__pb_int(&img, 2, w);
  gf__pb_int(&img, 3, channels);
  gf__pb_lenbytes(&img, 4, png, len);
  free(png);
  gf__pb_str(&v, 1, tag);
  gf__pb_msg(&v, 4, &img);
  return put_summary(tb, step, &v);
}

int gf__tb_close(gf__tb *tb) {
  if (!tb) return 0;
  int rc = 0;
  if (tb->fd >= 0 && close(tb->fd) != 0) rc = gf__fail(GF_EIO, "%s: close failed: %s", tb->path, strerror(errno));
  free(tb);
  return rc;
}
