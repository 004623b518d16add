/* png.c: 8-bit PNG writing (atomic: tmp file, fsync, rename) and reading with libpng. */
#include "io/image.h"
#include "io/imgload.h"

#include "core/util.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* libpng's default handlers print to stderr; ours record the message and longjmp. */
typedef struct gf__png_ctx {
  char msg[256];
  const uint8_t *buf; /* in-memory source for reading */
  size_t len, pos;
  uint8_t *pix;          /* output image (freed on error) */
  png_bytep *rows;       /* row pointers */
} gf__png_ctx;

static void gf__png_error(png_structp png, png_const_charp msg) {
  gf__png_ctx *ctx = png_get_error_ptr(png);
  snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

static void gf__png_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void gf__png_read_mem(png_structp png, png_bytep out, size_t n) {
  gf__png_ctx *ctx = png_get_io_ptr(png);
  if (n > ctx->len - ctx->pos) png_error(png, "unexpected end of data (truncated file)");
  memcpy(out, ctx->buf + ctx->pos, n);
  ctx->pos += n;
}

/* The encoded file grows in memory; it reaches the disk in one atomic write. */
typedef struct gf__png_out {
  uint8_t *p;
  size_t len, cap;
} gf__png_out;

static void gf__png_write_mem(png_structp png, png_bytep data, size_t n) {
  gf__png_out *o = png_get_io_ptr(png);
  if (n > o->cap - o->len) {
    size_t cap = o->cap ? o->cap : 4096;
    while (n > cap - o->len) cap *= 2;
    uint8_t *q = realloc(o->p, cap);
    if (!q) png_error(png, "out of memory");
    o->p = q;
    o->cap = cap;
  }
  memcpy(o->p + o->len, data, n);
  o->len += n;
}

static void gf__png_flush_mem(png_structp png) { (void)png; }

int gf__png_write(const char *path, const uint8_t *pix, int w, int h, int channels) {
  return gf__png_write_level(path, pix, w, h, channels, -1);
}

int gf__png_write_level(const char *path, const uint8_t *pix, int w, int h, int channels, int level) {
  if (!path || !pix || w <= 0 || h <= 0 || (channels != 1 && channels != 3))
    return gf__fail(GF_EINVAL, "png write %s: bad arguments (%dx%d, %d channels)", path ? path : "(null)",
                    w, h, channels);
  gf__png_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  gf__png_out out = {NULL, 0, 0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, gf__png_error, gf__png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  ctx.rows = png && info ? malloc(sizeof(png_bytep) * (size_t)h) : NULL;
  if (!ctx.rows) {
    png_destroy_write_struct(&png, &info);
    return gf__fail(GF_ENOMEM, "%s: cannot create PNG writer", path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(ctx.rows);
    free(out.p);
    return gf__fail(GF_EIO, "%s: PNG encoding failed: %s", path, ctx.msg);
  }
  png_set_write_fn(png, &out, gf__png_write_mem, gf__png_flush_mem);
  if (level >= 0) png_set_compression_level(png, level > 9 ? 9 : level);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  for (int y = 0; y < h; y++) ctx.rows[y] = (png_bytep)(pix + (size_t)y * (size_t)w * (size_t)channels);
  png_write_info(png, info);
  png_write_image(png, ctx.rows);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  free(ctx.rows);
  int rc = gf__write_file_atomic(path, out.p, out.len);
  free(out.p);
  return rc;
}

int gf__png_decode_mem(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w,
                       int *h, int *channels) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (len < 8 || memcmp(buf, sig, 8) != 0) return gf__fail(GF_EFORMAT, "%s: not a PNG file", name);

  gf__png_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.buf = buf;
  ctx.len = len;
  ctx.pos = 8;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, gf__png_error, gf__png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, NULL);
    return gf__fail(GF_ENOMEM, "%s: cannot create PNG reader", name);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    free(ctx.rows);
    free(ctx.pix);
    return gf__fail(GF_EFORMAT, "%s: corrupt PNG: %s", name, ctx.msg);
  }
  png_set_read_fn(png, &ctx, gf__png_read_mem);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);

  png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
  int depth = png_get_bit_depth(png, info);
  int ctype = png_get_color_type(png, info);
  if (depth == 16) {
    png_destroy_read_struct(&png, &info, NULL);
    return gf__fail(GF_EFORMAT, "%s: 16-bit PNG not supported", name);
  }
  if (pw == 0 || ph == 0 || pw > 65535 || ph > 65535) {
    png_destroy_read_struct(&png, &info, NULL);
    return gf__fail(GF_EFORMAT, "%s: unsupported PNG size %ux%u", name, (unsigned)pw, (unsigned)ph);
  }
  if ((size_t)pw * ph > GF_IMAGE_MAX_PIXELS) {
    png_destroy_read_struct(&png, &info, NULL);
    return gf__fail(GF_EFORMAT, "%s: PNG of %ux%u pixels, over the limit of %zu (downscale it first)", name,
                    (unsigned)pw, (unsigned)ph, GF_IMAGE_MAX_PIXELS);
  }
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (ctype & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  int ch = png_get_channels(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if ((ch != 1 && ch != 3) || rowbytes != (size_t)pw * (size_t)ch) {
    png_destroy_read_struct(&png, &info, NULL);
    return gf__fail(GF_EFORMAT, "%s: unsupported PNG layout (color type %d, %d channels)", name, ctype, ch);
  }
  ctx.pix = malloc(rowbytes * ph);
  ctx.rows = malloc(sizeof(png_bytep) * ph);
  if (!ctx.pix || !ctx.rows) {
    png_destroy_read_struct(&png, &info, NULL);
    free(ctx.pix);
    free(ctx.rows);
    return gf__fail(GF_ENOMEM, "%s: out of memory for a %ux%u image", name, (unsigned)pw, (unsigned)ph);
  }
  for (png_uint_32 y = 0; y < ph; y++) ctx.rows[y] = ctx.pix + (size_t)y * rowbytes;
  png_read_image(png, ctx.rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(ctx.rows);
  *pix = ctx.pix;
  *w = (int)pw;
  *h = (int)ph;
  *channels = ch;
  return 0;
}

int gf__png_read(const char *path, uint8_t **pix, int *w, int *h, int *channels) {
  if (!path || !pix || !w || !h || !channels) return gf__fail(GF_EINVAL, "png read: null argument");
  char *buf;
  size_t len;
  GF_TRY(gf__read_file(path, &buf, &len));
  int rc = gf__png_decode_mem(path, (const uint8_t *)buf, len, pix, w, h, channels);
  free(buf);
  return rc;
}
