/* imgload.c: image loading by magic bytes (PNG, JPEG via libjpeg, binary PGM), resize and crop. */
#include "io/imgload.h"

#include "core/util.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

size_t gf__image_max_pixels = (size_t)1 << 26;

/* ---- JPEG ---------------------------------------------------------------------------------- */

/* libjpeg's default error_exit calls exit() and its messages go to stderr: ours longjmp back. */
typedef struct gf__jpeg_err {
  struct jpeg_error_mgr mgr;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX + 32];
  uint8_t *pix; /* output image; lives here (reachable through cinfo.err) so longjmp cannot lose it */
} gf__jpeg_err;

static void gf__jpeg_error_exit(j_common_ptr cinfo) {
  gf__jpeg_err *e = (gf__jpeg_err *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jb, 1);
}

static void gf__jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* Warnings are ignored (many real JPEGs carry stray bytes), except premature end of data:
   libjpeg would pad the image with grey and carry on, which hides a truncated file. */
static void gf__jpeg_emit_message(j_common_ptr cinfo, int level) {
  gf__jpeg_err *e = (gf__jpeg_err *)cinfo->err;
  if (level < 0) {
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
      snprintf(e->msg, sizeof e->msg, "truncated file (premature end of JPEG data)");
      longjmp(e->jb, 1);
    }
    cinfo->err->num_warnings++;
  }
}

int gf__jpeg_decode_mem(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w,
                        int *h, int *channels) {
  if (len < 3 || buf[0] != 0xFF || buf[1] != 0xD8) return gf__fail(GF_EFORMAT, "%s: not a JPEG file", name);
  if (len > ULONG_MAX) return gf__fail(GF_EFORMAT, "%s: JPEG too large", name);
  struct jpeg_decompress_struct cinfo;
  gf__jpeg_err err;
  memset(&err, 0, sizeof err);
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = gf__jpeg_error_exit;
  err.mgr.output_message = gf__jpeg_output_message;
  err.mgr.emit_message = gf__jpeg_emit_message;
  if (setjmp(err.jb)) {
    jpeg_destroy_decompress(&cinfo);
    free(err.pix);
    return gf__fail(GF_EFORMAT, "%s: corrupt JPEG: %s", name, err.msg);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, buf, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  if ((size_t)cinfo.image_width * cinfo.image_height > GF_IMAGE_MAX_PIXELS) {
    unsigned iw = cinfo.image_width, ih = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return gf__fail(GF_EFORMAT, "%s: JPEG of %ux%u pixels, over the limit of %zu (downscale it first)", name, iw, ih,
                    GF_IMAGE_MAX_PIXELS);
  }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return gf__fail(GF_EFORMAT, "%s: CMYK JPEG not supported (convert it to RGB)", name);
  }
  if (cinfo.num_components == 1) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (cinfo.num_components == 3) {
    cinfo.out_color_space = JCS_RGB;
  } else {
    int nc = cinfo.num_components;
    jpeg_destroy_decompress(&cinfo);
    return gf__fail(GF_EFORMAT, "%s: JPEG with %d components not supported (need 1 or 3)", name, nc);
  }
  jpeg_start_decompress(&cinfo);
  int ow = (int)cinfo.output_width, oh = (int)cinfo.output_height, oc = cinfo.output_components;
  if (ow <= 0 || oh <= 0 || ow > 65535 || oh > 65535 || (oc != 1 && oc != 3)) {
    jpeg_destroy_decompress(&cinfo);
    return gf__fail(GF_EFORMAT, "%s: unsupported JPEG size %dx%d x %d", name, ow, oh, oc);
  }
  size_t stride = (size_t)ow * (size_t)oc;
  err.pix = malloc(stride * (size_t)oh);
  if (!err.pix) {
    jpeg_destroy_decompress(&cinfo);
    return gf__fail(GF_ENOMEM, "%s: out of memory for a %dx%d image", name, ow, oh);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = err.pix + (size_t)cinfo.output_scanline * stride;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
      jpeg_destroy_decompress(&cinfo);
      free(err.pix);
      return gf__fail(GF_EFORMAT, "%s: corrupt JPEG: truncated scan data", name);
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  *pix = err.pix;
  *w = ow;
  *h = oh;
  *channels = oc;
  return 0;
}

/* ---- PGM (binary P5) --------------------------------------------------------------------- */

static int gf__pnm_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Reads one unsigned decimal header field, skipping whitespace and '#' comments. */
static int gf__pnm_field(const uint8_t *buf, size_t len, size_t *pos, long *val) {
  size_t p = *pos;
  for (;;) {
    while (p < len && gf__pnm_space(buf[p])) p++;
    if (p < len && buf[p] == '#') {
      while (p < len && buf[p] != '\n') p++;
      continue;
    }
    break;
  }
  if (p >= len || buf[p] < '0' || buf[p] > '9') return -1;
  long v = 0;
  while (p < len && buf[p] >= '0' && buf[p] <= '9') {
    v = v * 10 + (buf[p] - '0');
    if (v > 1000000) return -1;
    p++;
  }
  *val = v;
  *pos = p;
  return 0;
}

int gf__pgm_decode_mem(const char *name, const uint8_t *buf, size_t len, uint8_t **pix, int *w,
                       int *h, int *channels) {
  if (len < 2 || buf[0] != 'P' || buf[1] != '5') return gf__fail(GF_EFORMAT, "%s: not a binary PGM (P5) file", name);
  size_t pos = 2;
  long pw, ph, maxval;
  if (gf__pnm_field(buf, len, &pos, &pw) || gf__pnm_field(buf, len, &pos, &ph) ||
      gf__pnm_field(buf, len, &pos, &maxval))
    return gf__fail(GF_EFORMAT, "%s: bad or truncated PGM header", name);
  if (pos >= len || !gf__pnm_space(buf[pos]))
    return gf__fail(GF_EFORMAT, "%s: bad or truncated PGM header", name);
  pos++; /* exactly one whitespace byte before the raster */
  if (pw <= 0 || ph <= 0 || pw > 65535 || ph > 65535)
    return gf__fail(GF_EFORMAT, "%s: bad PGM size %ldx%ld", name, pw, ph);
  if ((size_t)pw * (size_t)ph > GF_IMAGE_MAX_PIXELS)
    return gf__fail(GF_EFORMAT, "%s: PGM of %ldx%ld pixels, over the limit of %zu (downscale it first)", name, pw, ph,
                    GF_IMAGE_MAX_PIXELS);
  if (maxval <= 0 || maxval > 255)
    return gf__fail(GF_EFORMAT, "%s: PGM maxval %ld not supported (8-bit only, 1..255)", name, maxval);
  size_t n = (size_t)pw * (size_t)ph;
  if (len - pos < n)
    return gf__fail(GF_EFORMAT, "%s: truncated PGM: %zu of %zu pixel bytes present", name, len - pos, n);
  uint8_t *p = malloc(n);
  if (!p) return gf__fail(GF_ENOMEM, "%s: out of memory for a %ldx%ld image", name, pw, ph);
  if (maxval == 255) {
    memcpy(p, buf + pos, n);
  } else {
    for (size_t i = 0; i < n; i++) {
      unsigned v = buf[pos + i] > maxval ? (unsigned)maxval : buf[pos + i];
      p[i] = (uint8_t)((v * 255u + (unsigned)maxval / 2) / (unsigned)maxval);
    }
  }
  *pix = p;
  *w = (int)pw;
  *h = (int)ph;
  *channels = 1;
  return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int gf__image_load(const char *path, uint8_t **pix, int *w, int *h, int *channels) {
  if (!path || !pix || !w || !h || !channels) return gf__fail(GF_EINVAL, "image load: null argument");
  char *raw;
  size_t len;
  GF_TRY(gf__read_file(path, &raw, &len));
  const uint8_t *b = (const uint8_t *)raw;
  int rc;
  if (len == 0) {
    rc = gf__fail(GF_EFORMAT, "%s: empty file (0 bytes)", path);
  } else if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
    rc = gf__png_decode_mem(path, b, len, pix, w, h, channels);
  } else if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
    rc = gf__jpeg_decode_mem(path, b, len, pix, w, h, channels);
  } else if (len >= 2 && b[0] == 'P' && b[1] == '5') {
    rc = gf__pgm_decode_mem(path, b, len, pix, w, h, channels);
  } else if (len >= 2 && b[0] == 'P' && b[1] == '2') {
    rc = gf__fail(GF_EFORMAT, "%s: ASCII PGM (P2) not supported, only binary P5", path);
  } else {
    rc = gf__fail(GF_EFORMAT, "%s: not a PNG, JPEG or PGM image", path);
  }
  free(raw);
  return rc;
}

/* ---- resize / crop ------------------------------------------------------------------------- */

int gf__image_resize_bilinear(const uint8_t *src, int sw, int sh, int c, uint8_t *dst, int dw, int dh) {
  if (!src || !dst || sw <= 0 || sh <= 0 || c <= 0 || dw <= 0 || dh <= 0)
    return gf__fail(GF_EINVAL, "resize: bad arguments (%dx%d -> %dx%d, %d channels)", sw, sh, dw, dh, c);
  int *x0 = malloc(sizeof(int) * 2 * (size_t)dw);
  float *fx = malloc(sizeof(float) * (size_t)dw);
  if (!x0 || !fx) {
    free(x0);
    free(fx);
    return gf__fail(GF_ENOMEM, "resize: out of memory");
  }
  int *x1 = x0 + dw;
  const float scx = (float)sw / (float)dw, scy = (float)sh / (float)dh;
  for (int x = 0; x < dw; x++) {
    float s = ((float)x + 0.5f) * scx - 0.5f;
    if (s < 0) s = 0;
    int i = (int)s;
    if (i > sw - 1) i = sw - 1;
    x0[x] = i;
    x1[x] = i + 1 < sw ? i + 1 : sw - 1;
    fx[x] = s - (float)i;
    if (fx[x] > 1) fx[x] = 1;
  }
  for (int y = 0; y < dh; y++) {
    float s = ((float)y + 0.5f) * scy - 0.5f;
    if (s < 0) s = 0;
    int j0 = (int)s;
    if (j0 > sh - 1) j0 = sh - 1;
    int j1 = j0 + 1 < sh ? j0 + 1 : sh - 1;
    float fy = s - (float)j0;
    if (fy > 1) fy = 1;
    const uint8_t *r0 = src + (size_t)j0 * (size_t)sw * (size_t)c;
    const uint8_t *r1 = src + (size_t)j1 * (size_t)sw * (size_t)c;
    uint8_t *o = dst + (size_t)y * (size_t)dw * (size_t)c;
    for (int x = 0; x < dw; x++) {
      const uint8_t *a = r0 + (size_t)x0[x] * c, *b = r0 + (size_t)x1[x] * c;
      const uint8_t *d = r1 + (size_t)x0[x] * c, *e = r1 + (size_t)x1[x] * c;
      float wx = fx[x];
      for (int k = 0; k < c; k++) {
        float top = a[k] + (b[k] - a[k]) * wx;
        float bot = d[k] + (e[k] - d[k]) * wx;
        float v = top + (bot - top) * fy + 0.5f;
        o[(size_t)x * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  }
  free(x0);
  free(fx);
  return 0;
}

int gf__image_center_crop(const uint8_t *src, int sw, int sh, int c, uint8_t *dst, int cw, int ch) {
  if (!src || !dst || sw <= 0 || sh <= 0 || c <= 0 || cw <= 0 || ch <= 0)
    return gf__fail(GF_EINVAL, "crop: bad arguments (%dx%d -> %dx%d, %d channels)", sw, sh, cw, ch, c);
  if (cw > sw || ch > sh)
    return gf__fail(GF_EINVAL, "crop: %dx%d window larger than the %dx%d image", cw, ch, sw, sh);
  int ox = (sw - cw) / 2, oy = (sh - ch) / 2;
  size_t rowb = (size_t)cw * (size_t)c;
  for (int y = 0; y < ch; y++)
    memcpy(dst + (size_t)y * rowb, src + ((size_t)(oy + y) * (size_t)sw + (size_t)ox) * (size_t)c, rowb);
  return 0;
}
